"""Canonical bytes of evidence-log entries (docs/proof-format.md §2, version 1).

Version 1 entries hold only strings, non-negative integers below 2**53 and nested objects with
ASCII keys. For those values RFC 8785 (JCS) canonical JSON is exactly ``json.dumps`` with sorted
keys and no whitespace, which is what :func:`canonical_bytes` produces after checking the types.
Changing a byte here breaks every proof already issued.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

ENTRY_VERSION = 1
_MAX_INT = 2**53 - 1


def _check(value: Any, path: str) -> None:
    if isinstance(value, bool) or value is None:
        raise ValueError(f"{path}: booleans and nulls are not allowed in log entries")
    if isinstance(value, int):
        if not 0 <= value <= _MAX_INT:
            raise ValueError(f"{path}: integers must be in [0, 2**53)")
    elif isinstance(value, Mapping):
        for key, inner in value.items():
            if not isinstance(key, str) or not key.isascii():
                raise ValueError(f"{path}: keys must be ASCII strings")
            _check(inner, f"{path}.{key}")
    elif not isinstance(value, str):
        raise ValueError(f"{path}: {type(value).__name__} is not allowed in log entries")


def canonical_bytes(entry: Mapping[str, Any]) -> bytes:
    """JCS bytes of a version-1 entry; raises ValueError for values outside the v1 subset."""
    _check(entry, "entry")
    if entry.get("v") != ENTRY_VERSION or not isinstance(entry.get("kind"), str):
        raise ValueError("an entry needs v=1 and a kind")
    return json.dumps(entry, sort_keys=True, separators=(",", ":"),
                      ensure_ascii=False).encode("utf-8")


def format_time(moment: datetime) -> str:
    """UTC time as ``YYYY-MM-DDTHH:MM:SS.ffffffZ``; raises ValueError for naive datetimes."""
    if moment.tzinfo is None:
        raise ValueError("entry times must be timezone-aware")
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def registration_entry(*, sha256: str, sm3: str, size: int, item_id: str, case_id: str,
                       department_id: str, at: datetime) -> bytes:
    """The ``evidence.registered`` entry of a newly stored item."""
    return canonical_bytes({
        "v": ENTRY_VERSION, "kind": "evidence.registered", "sha256": sha256, "sm3": sm3,
        "size": size, "item": item_id, "case": case_id, "department": department_id,
        "time": format_time(at),
    })


def artefact_entry(*, sha256: str, sm3: str, size: int, artefact_id: str, artefact_kind: str,
                   item_id: str, case_id: str, department_id: str, derived_from_sha256: str,
                   at: datetime) -> bytes:
    """The ``artefact.registered`` entry of a derived artefact (docs/proof-format.md §8)."""
    return canonical_bytes({
        "v": ENTRY_VERSION, "kind": "artefact.registered", "sha256": sha256, "sm3": sm3,
        "size": size, "artefact": artefact_id, "artefact_kind": artefact_kind,
        "item": item_id, "case": case_id, "department": department_id,
        "derived_from": derived_from_sha256, "time": format_time(at),
    })
