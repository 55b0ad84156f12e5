"""Log entries (docs/proof-format.md §2, ``jcs-json`` version 1): decoding and checking.

An entry is the canonical JSON (RFC 8785) of an object holding only strings, non-negative
integers below 2**53 and nested objects, with ``"v": 1`` and a ``"kind"``. Entries of kind
``evidence.registered`` carry the file's SHA-256, SM3 and size.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from evidence_verify import _fields as f
from evidence_verify.errors import BundleFormatError

__all__ = ["ENTRY_VERSION", "KIND_REGISTERED", "parse_entry"]

ENTRY_VERSION = 1
KIND_REGISTERED = "evidence.registered"
_MAX_INT = 2**53 - 1
_TIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z")
_REGISTERED_KEYS = ("v", "kind", "sha256", "sm3", "size", "item", "case", "department", "time")


def parse_entry(entry_bytes: bytes) -> dict[str, Any]:
    """Decode and check version-1 entry bytes; return the entry's fields.

    Raises BundleFormatError when the bytes are not a canonical JCS JSON object of the
    version-1 value subset, ``v`` is not 1, ``kind`` is missing, or an
    ``evidence.registered`` entry lacks a field or has a malformed digest or size.
    """
    entry = f.loads_json(entry_bytes, "entry")
    if not isinstance(entry, dict):
        raise BundleFormatError(f"entry must be a JSON object, not {f.type_name(entry)}")
    if "v" not in entry:
        raise BundleFormatError("entry is missing field 'v' (the entry version)")
    if type(entry["v"]) is not int or entry["v"] != ENTRY_VERSION:
        raise BundleFormatError(f"entry.v is {json.dumps(entry['v'])}; this verifier reads "
                                f"entry version {ENTRY_VERSION} only")
    if "kind" not in entry:
        raise BundleFormatError("entry is missing field 'kind'")
    kind = f.string(entry["kind"], "entry.kind")
    _check_values(entry, "entry")
    canonical = json.dumps(entry, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    if canonical.encode("utf-8") != entry_bytes:
        raise BundleFormatError("entry bytes are not in canonical JCS form "
                                "(sorted keys, no whitespace, minimal escapes)")
    if kind == KIND_REGISTERED:
        _check_registered(entry)
    return entry


def _check_values(value: object, where: str) -> None:
    if isinstance(value, Mapping):
        for key, inner in value.items():
            _check_values(inner, f"{where}.{key}")
    elif type(value) is int:
        f.integer(value, where, maximum=_MAX_INT)
    elif not isinstance(value, str):
        raise BundleFormatError(f"{where} is {f.type_name(value)}: version-1 entries hold "
                                f"only strings, integers and objects")


def _check_registered(entry: Mapping[str, Any]) -> None:
    f.fields(entry, f"entry ({KIND_REGISTERED})", required=_REGISTERED_KEYS)
    f.hex32(entry["sha256"], "entry.sha256")
    f.hex32(entry["sm3"], "entry.sm3")
    f.integer(entry["size"], "entry.size", maximum=_MAX_INT)
    for key in ("item", "case", "department"):
        f.string(entry[key], f"entry.{key}")
    if not _TIME.fullmatch(f.string(entry["time"], "entry.time")):
        raise BundleFormatError(f"entry.time {f.shorten(entry['time'], 40)!r} is not "
                                f"YYYY-MM-DDTHH:MM:SS.ffffffZ")
