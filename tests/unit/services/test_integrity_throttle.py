"""The scanner's read throttle and its settings."""

from __future__ import annotations

import threading
import time

import pytest

from evidence_service.config import Settings
from evidence_service.services.integrity import Throttle


def test_throttle_holds_the_average_rate() -> None:
    throttle = Throttle(10 << 20, threading.Event())
    start = time.monotonic()
    for _ in range(3):
        throttle.consumed(1 << 20)
    assert 0.28 <= time.monotonic() - start < 1.0


def test_unthrottled_and_stopped_throttles_do_not_wait() -> None:
    start = time.monotonic()
    Throttle(0, threading.Event()).consumed(1 << 30)
    stop = threading.Event()
    stop.set()
    Throttle(1, stop).consumed(1 << 20)  # would be 12 days at 1 B/s
    assert time.monotonic() - start < 0.5


def test_integrity_settings_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EVIDENCE_INTEGRITY__INTERVAL_SECONDS", "90")
    monkeypatch.setenv("EVIDENCE_INTEGRITY__BYTES_PER_SECOND", "1048576")
    monkeypatch.setenv("EVIDENCE_INTEGRITY__ENABLED", "false")
    integrity = Settings().integrity
    assert (integrity.interval_seconds, integrity.bytes_per_second, integrity.enabled) == (
        90.0, 1 << 20, False)
