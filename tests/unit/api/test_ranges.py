"""Byte ranges a media player asks for (RFC 9110 §14)."""

from __future__ import annotations

import pytest

from evidence_service.api.ranges import byte_range
from evidence_service.domain.errors import RangeNotSatisfiable


@pytest.mark.parametrize(("header", "size", "expected"), [
    (None, 100, None),
    ("bytes=0-", 100, (0, 100)), ("bytes=0-0", 100, (0, 1)), ("bytes=99-", 100, (99, 1)),
    ("bytes=10-19", 100, (10, 10)), ("bytes=90-1000", 100, (90, 10)),
    ("bytes=-1", 100, (99, 1)), ("bytes=-100", 100, (0, 100)), ("bytes=-500", 100, (0, 100)),
    (" Bytes = 3 - 4 ", 100, (3, 2)),
    # ignored: the whole object
    ("bytes=0-1,5-6", 100, None), ("bytes=5-2", 100, None), ("bytes=a-", 100, None),
    ("bytes=-a", 100, None), ("bytes=1-b", 100, None), ("bytes=²-3", 100, None),
    ("bytes=-", 100, None), ("bytes", 100, None), ("items=0-1", 100, None), ("", 100, None),
    ("bytes=+1-2", 100, None), ("bytes=1_0-20", 100, None),
])
def test_ranges(header: str | None, size: int, expected: tuple[int, int] | None) -> None:
    assert byte_range(header, size) == expected


@pytest.mark.parametrize(("header", "size"), [
    ("bytes=100-", 100), ("bytes=100-200", 100), (f"bytes={10**40}-", 100), ("bytes=-0", 100),
    ("bytes=0-", 0), ("bytes=-5", 0),
])
def test_ranges_past_the_end_are_not_satisfiable(header: str, size: int) -> None:
    with pytest.raises(RangeNotSatisfiable) as caught:
        byte_range(header, size)
    assert caught.value.size == size
