"""Prometheus metrics of the API process."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

from prometheus_client import Counter, Gauge

if TYPE_CHECKING:
    from evidence_service.services.integrity import IntegrityScanner

_logger = logging.getLogger(__name__)

BYTES_INGESTED = Counter("evidence_bytes_ingested", "Evidence bytes received through uploads")
UPLOADS_IN_PROGRESS = Gauge("evidence_uploads_in_progress",
                            "Uploads that are receiving bytes (from the database)")
ITEMS_STORED = Counter("evidence_items_stored", "Evidence items that completed ingest")
ERRORS = Counter("evidence_errors", "Requests that failed, by error kind", ["kind"])
INTEGRITY_BYTES_SCANNED = Counter("evidence_integrity_bytes_scanned",
                                  "Stored bytes re-hashed by the integrity scanner")
INTEGRITY_LAST_SCAN = Gauge("evidence_integrity_last_scan_timestamp_seconds",
                            "Unix time the last integrity scan pass finished (0: never)")
INTEGRITY_COVERAGE = Gauge("evidence_integrity_scan_coverage_ratio",
                           "Objects checked / objects present in the last finished pass")
INTEGRITY_ALERTS_OPEN = Gauge("evidence_integrity_alerts_open",
                              "Integrity alerts not yet resolved (all departments)")


def _safe(read: Callable[[], float]) -> Callable[[], float]:
    """A scrape must not fail because the database is briefly away: NaN instead."""
    def value() -> float:
        try:
            return float(read())
        except Exception:
            _logger.warning("metrics: %s unavailable", getattr(read, "__name__", "value"))
            return float("nan")
    return value


def bind_integrity(scanner: IntegrityScanner) -> None:
    """Read the integrity gauges from ``scanner`` (the latest app's) at each scrape."""
    INTEGRITY_LAST_SCAN.set_function(_safe(scanner.last_finished_at))
    INTEGRITY_COVERAGE.set_function(_safe(scanner.last_coverage))
    INTEGRITY_ALERTS_OPEN.set_function(_safe(scanner.open_alerts))
