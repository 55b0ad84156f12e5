"""HTTP byte ranges (RFC 9110 §14): the one range a media player asks of an object.

Browsers' media elements ask for one range at a time (``bytes=0-``, then ``bytes=N-`` when
seeking). A header this module does not take (another unit, several ranges, bad syntax) is
ignored and the whole object is sent, which RFC 9110 §14.2 allows. A range that starts at or
past the end is refused with 416 (``RangeNotSatisfiable``).
"""

from __future__ import annotations

from evidence_service.domain.errors import RangeNotSatisfiable


def _number(text: str) -> int | None:
    text = text.strip()
    return int(text) if text.isascii() and text.isdigit() else None


def byte_range(header: str | None, size: int) -> tuple[int, int] | None:
    """``(start, length)`` that ``header`` asks of an object of ``size`` bytes, or None for
    the whole object. Raises RangeNotSatisfiable for a range that starts at or past ``size``.
    """
    if header is None:
        return None
    unit, _, spec = header.partition("=")
    first, dash, last = spec.partition("-")
    if unit.strip().lower() != "bytes" or not dash or "," in spec:
        return None
    start, end = _number(first), _number(last)
    if not first.strip():  # a suffix: the last N bytes
        if end is None:
            return None
        if end == 0 or size == 0:
            raise RangeNotSatisfiable("the range asks for no bytes", size=size)
        return size - min(end, size), min(end, size)
    if start is None or (last.strip() and (end is None or end < start)):
        return None
    if start >= size:
        raise RangeNotSatisfiable(f"the range starts at byte {start}, the item has {size}",
                                  size=size)
    end = size - 1 if end is None else min(end, size - 1)
    return start, end - start + 1
