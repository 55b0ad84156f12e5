"""Streaming file digests: SHA-256 always, SM3 (GB/T 32905) when OpenSSL provides it."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

__all__ = ["BLOCK_SIZE", "FileDigests", "hash_file", "hash_stream", "sm3_available"]

#: Files are read in blocks of this many bytes (1 MiB), never whole.
BLOCK_SIZE = 1 << 20


@dataclass(frozen=True)
class FileDigests:
    """Lowercase hex digests and size of a file; ``sm3`` is None when SM3 is unavailable."""

    sha256: str
    sm3: str | None
    size: int


def sm3_available() -> bool:
    """True when ``hashlib.new("sm3")`` works in this Python (OpenSSL built with SM3)."""
    return _new_sm3() is not None


def hash_file(path: Path) -> FileDigests:
    """SHA-256, SM3 (if available) and size of ``path`` in one streaming pass.

    Raises OSError when the file cannot be read.
    """
    with path.open("rb") as stream:
        return hash_stream(stream)


def hash_stream(stream: IO[bytes], *, sm3: bool = True, limit: int | None = None) -> FileDigests:
    """SHA-256, SM3 (when ``sm3`` and available) and size of what ``stream`` yields.

    Reads blocks of :data:`BLOCK_SIZE` until EOF. With ``limit``, raises ValueError as soon as
    more than ``limit`` bytes arrive (the caller expected at most that many). Raises OSError
    (or the stream's own errors) when reading fails.
    """
    sha256, sm3_hash, size = hashlib.sha256(), _new_sm3() if sm3 else None, 0
    while block := stream.read(BLOCK_SIZE):
        size += len(block)
        if limit is not None and size > limit:
            raise ValueError(f"more than the expected {limit} bytes")
        sha256.update(block)
        if sm3_hash is not None:
            sm3_hash.update(block)
    return FileDigests(sha256=sha256.hexdigest(),
                       sm3=sm3_hash.hexdigest() if sm3_hash is not None else None, size=size)


def _new_sm3() -> Any:
    try:
        return hashlib.new("sm3")
    except ValueError:  # unsupported hash type: OpenSSL without SM3
        return None
