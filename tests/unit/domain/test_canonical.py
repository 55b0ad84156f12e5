"""Entry encoding: RFC 8785 canonical JSON for the version-1 subset (cross-checked with rfc8785)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
import rfc8785

from evidence_service.domain.canonical import canonical_bytes, format_time, registration_entry

AT = datetime(2026, 11, 22, 0, 55, 43, 610000, tzinfo=UTC)


def test_registration_entry_vector() -> None:
    """A fixed vector: changing it breaks every issued proof (see docs/proof-format.md)."""
    entry = registration_entry(
        sha256="e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        sm3="1ab21d8355cfa17f8e61194831e81a8f22bec8c728fefb747ed035eb5082aa2b", size=0,
        item_id="0a1b", case_id="5b6f", department_id="c14e", at=AT)
    assert entry == (
        b'{"case":"5b6f","department":"c14e","item":"0a1b","kind":"evidence.registered",'
        b'"sha256":"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",'
        b'"size":0,"sm3":"1ab21d8355cfa17f8e61194831e81a8f22bec8c728fefb747ed035eb5082aa2b",'
        b'"time":"2026-11-22T00:55:43.610000Z","v":1}')


def test_matches_rfc8785_reference() -> None:
    entry = {"v": 1, "kind": "x", "b": {"z": "é", "a": 2**53 - 1}, "a": "\u2028"}
    assert canonical_bytes(entry) == rfc8785.dumps(entry)


@pytest.mark.parametrize("bad", [
    {"v": 1, "kind": "x", "f": 1.5}, {"v": 1, "kind": "x", "b": True},
    {"v": 1, "kind": "x", "n": None}, {"v": 1, "kind": "x", "i": 2**53},
    {"v": 1, "kind": "x", "i": -1}, {"v": 2, "kind": "x"}, {"v": 1},
    {"v": 1, "kind": "x", "ключ": "v"}, {"v": 1, "kind": "x", "l": ["a"]},
])
def test_values_outside_the_v1_subset_are_refused(bad: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        canonical_bytes(bad)


def test_times_are_utc_with_microseconds() -> None:
    east8 = timezone(timedelta(hours=8))
    assert format_time(datetime(2026, 1, 1, 8, 0, tzinfo=east8)) == "2026-01-01T00:00:00.000000Z"
    with pytest.raises(ValueError, match="timezone"):
        format_time(datetime(2026, 1, 1))
