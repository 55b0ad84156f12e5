"""Adapters: the database (``db``) and object storage (``storage``) behind the core's ports."""
