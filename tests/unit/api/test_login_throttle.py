"""Login throttling: failures lock a username (5) or a client address (30) for 15 minutes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from evidence_service.domain.errors import TooManyAttempts
from evidence_service.services.throttle import LoginThrottle

T0 = datetime(2026, 11, 22, 4, 0, tzinfo=UTC)


def test_the_fifth_failure_locks_for_the_lockout_period() -> None:
    throttle = LoginThrottle(limit=5)
    for i in range(4):
        throttle.failed(["alice"], T0 + timedelta(seconds=i))
    throttle.check(["alice"], T0 + timedelta(seconds=5))  # four failures: still allowed
    throttle.failed(["alice"], T0 + timedelta(seconds=5))
    with pytest.raises(TooManyAttempts, match="too many failed logins") as caught:
        throttle.check(["alice"], T0 + timedelta(seconds=6))
    assert 14 * 60 < caught.value.retry_after <= 15 * 60 + 1
    throttle.check(["alice"], T0 + timedelta(minutes=16))  # the lockout has passed
    throttle.check(["bob"], T0 + timedelta(seconds=6))  # other names are not affected


def test_old_failures_fall_out_of_the_window_and_success_clears_them() -> None:
    throttle = LoginThrottle(limit=3, window=timedelta(minutes=1))
    throttle.failed(["k"], T0)
    throttle.failed(["k"], T0 + timedelta(seconds=10))
    throttle.failed(["k"], T0 + timedelta(minutes=2))  # the first two are out of the window
    throttle.check(["k"], T0 + timedelta(minutes=2))
    throttle.succeeded(["k"])
    throttle.failed(["k"], T0 + timedelta(minutes=2, seconds=1))
    throttle.failed(["k"], T0 + timedelta(minutes=2, seconds=2))
    throttle.check(["k"], T0 + timedelta(minutes=2, seconds=3))
