"""Prometheus metrics of the API process."""

from __future__ import annotations

from prometheus_client import Counter, Gauge

BYTES_INGESTED = Counter("evidence_bytes_ingested", "Evidence bytes received through uploads")
UPLOADS_IN_PROGRESS = Gauge("evidence_uploads_in_progress",
                            "Uploads that are receiving bytes (from the database)")
ITEMS_STORED = Counter("evidence_items_stored", "Evidence items that completed ingest")
ERRORS = Counter("evidence_errors", "Requests that failed, by error kind", ["kind"])
