"""Sealed segments of the evidence log in object storage (docs/proof-format.md §9, version 1).

A segment holds the entries ``[first_index, first_index + count)`` byte for byte as the log
hashes them, so that the log can be rebuilt from object storage alone and its tree heads
compared with the roots anchored on-chain. The encoding is deterministic: sealing the same
range of the same log again yields the same bytes under the same key. Layout (``\\n`` ends
every line)::

    {"count":…,"entry_encoding":"jcs-json","first_index":…,"format":"evidence-log-segment",
     "root":"<hex MTH(D[tree_size])>","tree_size":…,"version":1}
    <entry bytes of leaf first_index>
    …
    <entry bytes of leaf first_index + count - 1>
    {"sha256":"<hex SHA-256 of every byte above this line>"}

Version-1 entries are RFC 8785 JSON, which escapes every control character, so an entry never
contains a newline byte. Decoding raises :class:`CorruptSegment` for anything else.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict

from evidence_service.domain.errors import CorruptSegment

SEGMENT_FORMAT = "evidence-log-segment"
SEGMENT_VERSION = 1
#: Where segments live in the object store; the rest of the key is the range (fixed width,
#: so that listing order is index order).
SEGMENT_PREFIX = "log-segments/"
_KEY = re.compile(r"^log-segments/(\d{20})-(\d{20})\.jsonl$")
_HEX64 = re.compile(r"^[0-9a-f]{64}$")
_HEADER_KEYS = {"count", "entry_encoding", "first_index", "format", "root", "tree_size",
                "version"}


class LogSegment(BaseModel):
    """A sealed range ``[first_index, end_index)`` of the log, as the database records it.

    ``stored_at`` is None while the object is not yet known to be in storage (sealing
    records the range first, then writes the object, then marks it stored).
    """

    model_config = ConfigDict(frozen=True)

    first_index: int
    end_index: int
    key: str
    sha256: str
    root: str
    created_at: datetime
    stored_at: datetime | None = None


@dataclass(frozen=True)
class DecodedSegment:
    """A segment's content: its entries, the tree head at its end, and the SHA-256 of the
    whole object (what ``sha256sum`` prints; the trailer covers every byte before it)."""

    first_index: int
    entries: tuple[bytes, ...]
    root: bytes
    sha256: str

    @property
    def end_index(self) -> int:
        return self.first_index + len(self.entries)


def segment_key(first_index: int, end_index: int) -> str:
    """The object key of the segment holding ``[first_index, end_index)``."""
    return f"{SEGMENT_PREFIX}{first_index:020d}-{end_index:020d}.jsonl"


def parse_segment_key(key: str) -> tuple[int, int] | None:
    """``(first_index, end_index)`` named by a segment key, or None for any other key."""
    match = _KEY.match(key)
    if match is None:
        return None
    first, end = int(match.group(1)), int(match.group(2))
    return (first, end) if end > first else None


def _json_line(value: dict[str, object]) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":")).encode("ascii") + b"\n"


def encode_segment(*, first_index: int, entries: list[bytes], root: bytes) -> bytes:
    """The segment bytes of ``entries`` (leaves ``first_index``…) with the head at their end.

    Raises ValueError for an empty range, a root that is not 32 bytes, or an entry holding a
    newline (never the case for version-1 entries).
    """
    if not entries or first_index < 0:
        raise ValueError("a segment holds at least one entry from a non-negative index")
    if len(root) != 32:
        raise ValueError("the tree head root must be 32 bytes")
    header = _json_line({
        "format": SEGMENT_FORMAT, "version": SEGMENT_VERSION, "entry_encoding": "jcs-json",
        "first_index": first_index, "count": len(entries),
        "tree_size": first_index + len(entries), "root": root.hex()})
    parts = [header]
    for offset, entry in enumerate(entries):
        if not entry or b"\n" in entry:
            raise ValueError(f"entry {first_index + offset} is empty or holds a newline")
        parts.append(entry + b"\n")
    body = b"".join(parts)
    return body + _json_line({"sha256": hashlib.sha256(body).hexdigest()})


def decode_segment(data: bytes, *, name: str) -> DecodedSegment:
    """Check and decode segment bytes; ``name`` (its key) only appears in error messages.

    Raises CorruptSegment when the trailer's SHA-256 does not match the bytes, the header is
    not a version-1 segment header, or the entry count differs from the header's.
    """
    if not data.endswith(b"\n"):
        raise CorruptSegment(f"segment {name} is truncated (no final newline)")
    body, _, trailer_line = data[:-1].rpartition(b"\n")
    body += b"\n"
    actual = hashlib.sha256(body).hexdigest()
    try:
        trailer = json.loads(trailer_line)
    except ValueError as exc:
        raise CorruptSegment(f"segment {name} has no readable SHA-256 trailer") from exc
    if not isinstance(trailer, dict) or set(trailer) != {"sha256"}:
        raise CorruptSegment(f"segment {name} has no readable SHA-256 trailer")
    if trailer["sha256"] != actual:
        raise CorruptSegment(f"segment {name} is corrupt: its bytes hash to {actual}, its "
                             f"trailer records {trailer['sha256']}")
    lines = body[:-1].split(b"\n")
    header = _header(lines[0], name)
    entries = tuple(lines[1:])
    if len(entries) != header["count"] or not all(entries):
        raise CorruptSegment(f"segment {name} holds {len(entries)} entries, its header says "
                             f"{header['count']}")
    return DecodedSegment(first_index=header["first_index"], entries=entries,
                          root=bytes.fromhex(header["root"]),
                          sha256=hashlib.sha256(data).hexdigest())


def _header(line: bytes, name: str) -> dict[str, Any]:
    try:
        header = json.loads(line)
    except ValueError as exc:
        raise CorruptSegment(f"segment {name} has an unreadable header") from exc
    if not isinstance(header, dict) or set(header) != _HEADER_KEYS:
        raise CorruptSegment(f"segment {name}: the header is not a segment header")
    if header["format"] != SEGMENT_FORMAT or header["version"] != SEGMENT_VERSION:
        raise CorruptSegment(f"segment {name}: format {header['format']!r} version "
                             f"{header['version']!r} is not {SEGMENT_FORMAT} {SEGMENT_VERSION}")
    numbers = ("first_index", "count", "tree_size")
    if (not all(type(header[k]) is int and header[k] >= 0 for k in numbers)
            or header["count"] < 1 or header["tree_size"] != header["first_index"] + header["count"]
            or header["entry_encoding"] != "jcs-json"
            or not isinstance(header["root"], str) or not _HEX64.match(header["root"])):
        raise CorruptSegment(f"segment {name}: the header's fields are inconsistent")
    return header
