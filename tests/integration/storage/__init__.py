"""Integration tests of the object store adapters."""
