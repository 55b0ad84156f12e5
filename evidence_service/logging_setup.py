"""Logging configuration, applied only by ``create_app`` and the CLIs."""

from __future__ import annotations

import logging


def configure(level: str = "INFO") -> None:
    """Send log records to stderr with timestamps; idempotent."""
    root = logging.getLogger()
    if any(getattr(h, "_evidence", False) for h in root.handlers):
        root.setLevel(level)
        return
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler._evidence = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(level)
