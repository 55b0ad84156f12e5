"""Login throttling: too many failed passwords lock a username, or a client address, out.

Counted in this process (a sliding window per key). With several API replicas each counts
its own failures, so an attacker gets at most ``replicas × limit`` guesses per window; a
shared counter (Redis or the database) is the next step for large deployments.
"""

from __future__ import annotations

import threading
from collections import deque
from datetime import datetime, timedelta

from evidence_service.domain.errors import TooManyAttempts


class LoginThrottle:
    """``limit`` failures within ``window`` lock the key for ``lockout``."""

    def __init__(self, *, limit: int = 5, window: timedelta = timedelta(minutes=15),
                 lockout: timedelta = timedelta(minutes=15), max_keys: int = 100_000) -> None:
        self._limit = limit
        self._window = window
        self._lockout = lockout
        self._max_keys = max_keys
        self._failures: dict[str, deque[datetime]] = {}
        self._locked_until: dict[str, datetime] = {}
        self._lock = threading.Lock()

    def check(self, keys: list[str], now: datetime) -> None:
        """Raise TooManyAttempts (with the seconds to wait) while any key is locked."""
        with self._lock:
            waits = [(until - now).total_seconds() for key in keys
                     if (until := self._locked_until.get(key)) is not None and until > now]
        if waits:
            raise TooManyAttempts("too many failed logins; try again later",
                                  retry_after=max(1, int(max(waits)) + 1))

    def failed(self, keys: list[str], now: datetime) -> None:
        """Count a failure for every key; lock those that reached the limit."""
        with self._lock:
            if len(self._failures) > self._max_keys:
                self._failures.clear()  # bounded memory under a flood of random names
            for key in keys:
                recent = self._failures.setdefault(key, deque())
                recent.append(now)
                while recent and recent[0] <= now - self._window:
                    recent.popleft()
                if len(recent) >= self._limit:
                    self._locked_until[key] = now + self._lockout
                    recent.clear()

    def succeeded(self, keys: list[str]) -> None:
        """A correct password clears the failures counted for these keys."""
        with self._lock:
            for key in keys:
                self._failures.pop(key, None)
