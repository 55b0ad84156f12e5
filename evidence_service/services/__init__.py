"""Use cases, one per module. They talk to the outside world only through ``ports``."""
