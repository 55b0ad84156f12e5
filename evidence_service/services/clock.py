"""The system clock behind the ``Clock`` port."""

from __future__ import annotations

from datetime import UTC, datetime


class SystemClock:
    """Tz-aware UTC wall clock."""

    def now(self) -> datetime:
        return datetime.now(UTC)
