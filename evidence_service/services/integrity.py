"""Integrity scanning: re-hash every stored object and compare it with its row and log entry.

A pass walks every evidence item with stored bytes and every derived artefact, streams each
object through SHA-256 + SM3 (throttled to ``bytes_per_second`` so that ingest keeps the
disk), and compares the digests with the database row and with the append-only log entry the
row claims. A difference marks the item ``mismatch`` (which blocks transfers) and raises an
integrity alert (source ``scan``) for its department's review staff. Each pass is persisted
(``integrity_scans``) with its coverage, so the last scan time survives restarts.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar

from evidence_service.domain.canonical import artefact_entry
from evidence_service.domain.errors import NotFound, PermissionDenied, StorageUnavailable
from evidence_service.domain.hashing import DualHasher
from evidence_service.domain.merkle_log import leaf_hash
from evidence_service.domain.models import (
    DerivedArtefact,
    EvidenceItem,
    IntegrityScan,
    ItemStatus,
    LogLeaf,
    Principal,
    Role,
)
from evidence_service.ports import Clock, LeaderLock, ObjectStore, Repository, UnitOfWork
from evidence_service.services.custody import lineage, raise_alert
from evidence_service.services.verification import expected_registration

_Scanned = TypeVar("_Scanned", EvidenceItem, DerivedArtefact)  # what the scanner pages through
_logger = logging.getLogger(__name__)
#: Who may read the scanner's status: review staff, not the officers whose work it checks.
REVIEW_ROLES = (Role.REVIEWER, Role.DEPARTMENT_ADMIN, Role.AUDITOR, Role.SYSTEM_ADMIN)
_CHUNK = 1 << 20
_BATCH = 100
#: Digests of one storage key are reused within a pass (received copies share the bytes).
_DIGEST_CACHE = 10_000


class Throttle:
    """Caps the average read rate of one pass; waits on ``stop`` so a shutdown is prompt."""

    def __init__(self, bytes_per_second: int, stop: threading.Event) -> None:
        self._rate = bytes_per_second
        self._stop = stop
        self._start = time.monotonic()
        self._bytes = 0

    def consumed(self, size: int) -> None:
        """Account for ``size`` bytes read; sleeps while the pass is ahead of its budget."""
        self._bytes += size
        if self._rate <= 0:
            return
        ahead = self._bytes / self._rate - (time.monotonic() - self._start)
        if ahead > 0:
            self._stop.wait(ahead)


class ScanStopped(Exception):
    """The pass was asked to stop (process shutdown); it is recorded as failed."""


@dataclass(frozen=True)
class ScanStatus:
    """What review staff see: the last finished pass, the one running, open alerts."""

    enabled: bool
    interval_seconds: float
    bytes_per_second: int
    last: IntegrityScan | None
    current: IntegrityScan | None
    open_alerts: int


class IntegrityScanner:
    """Runs scan passes (``scan_once``) and reports their state (``status``)."""

    def __init__(self, *, uow: UnitOfWork, store: ObjectStore, clock: Clock,
                 bytes_per_second: int = 0, enabled: bool = True, interval: float = 3600.0,
                 on_bytes: Callable[[int], None] | None = None) -> None:
        self._uow = uow
        self._store = store
        self._clock = clock
        self._rate = bytes_per_second
        self._enabled = enabled
        self._interval = interval
        self._on_bytes = on_bytes
        self.stop_event = threading.Event()
        self._pass_lock = threading.Lock()

    # -- reading ----------------------------------------------------------------------------
    def status(self, principal: Principal) -> ScanStatus:
        """The scanner's state; raises PermissionDenied for roles other than review staff."""
        if not principal.has_any(*REVIEW_ROLES):
            raise PermissionDenied("reading the integrity scan status needs a review role")
        with self._uow(read_only=True) as repo:
            last = repo.latest_scan(finished=True)
            latest = repo.latest_scan(finished=False)
            alerts = len(repo.list_alerts(principal.department_id, open_only=True))
        current = latest if latest is not None and latest.status == "running" else None
        return ScanStatus(enabled=self._enabled, interval_seconds=self._interval,
                          bytes_per_second=self._rate, last=last, current=current,
                          open_alerts=alerts)

    def last_finished_at(self) -> float:
        """Unix time the last pass finished (0 if none); for the metrics scrape."""
        with self._uow(read_only=True) as repo:
            last = repo.latest_scan(finished=True)
        return 0.0 if last is None or last.finished_at is None else last.finished_at.timestamp()

    def last_coverage(self) -> float:
        """Coverage of the last finished pass (0 if none); for the metrics scrape."""
        with self._uow(read_only=True) as repo:
            last = repo.latest_scan(finished=True)
        return 0.0 if last is None else last.coverage

    def open_alerts(self) -> float:
        """Open integrity alerts of every department; for the metrics scrape."""
        with self._uow(read_only=True) as repo:
            return float(repo.count_open_alerts())

    # -- scanning ---------------------------------------------------------------------------
    def scan_once(self) -> IntegrityScan:
        """One full pass over every stored item and artefact; returns the finished record.

        Raises StorageUnavailable when the store cannot be read (the pass is recorded as
        failed and nothing is flagged), ScanStopped when ``stop_event`` is set mid-pass.
        """
        with self._pass_lock:
            with self._uow() as repo:
                items_total, artefacts_total = repo.count_scannable()
                scan = IntegrityScan(id=str(uuid.uuid4()), started_at=self._clock.now(),
                                     items_total=items_total, artefacts_total=artefacts_total)
                repo.save_scan(scan)
            run = _Pass(self, scan)
            try:
                run.items()
                run.artefacts()
            except (StorageUnavailable, ScanStopped) as exc:
                self._save(run.scan.model_copy(update={
                    "status": "failed", "finished_at": self._clock.now(), "error": str(exc)}))
                raise
            done = run.scan.model_copy(update={"status": "done",
                                               "finished_at": self._clock.now()})
            self._save(done)
        _logger.info("integrity scan %s: %d/%d items, %d/%d artefacts, %d bytes, %d mismatches",
                     done.id, done.items_checked, done.items_total, done.artefacts_checked,
                     done.artefacts_total, done.bytes_scanned, done.mismatches)
        return done

    def _save(self, scan: IntegrityScan) -> None:
        with self._uow() as repo:
            repo.save_scan(scan)

    def _digest(self, key: str, throttle: Throttle) -> tuple[str, str, int] | None:
        """(sha256, sm3, size) of the stored object, or None if it is missing."""
        hasher, size = DualHasher(), 0
        try:
            with self._store.open(key) as handle:
                while chunk := handle.read(_CHUNK):
                    if self.stop_event.is_set():
                        raise ScanStopped("integrity scan stopped")
                    hasher.update(chunk)
                    size += len(chunk)
                    throttle.consumed(len(chunk))
                    if self._on_bytes is not None:
                        self._on_bytes(len(chunk))
        except NotFound:
            return None
        return hasher.sha256().value, hasher.sm3().value, size


class _Pass:
    """The state of one pass: progress counters and the digests of keys already read."""

    def __init__(self, scanner: IntegrityScanner, scan: IntegrityScan) -> None:
        self._s = scanner
        self.scan = scan
        self._throttle = Throttle(scanner._rate, scanner.stop_event)
        self._digests: dict[str, tuple[str, str, int] | None] = {}

    def _read(self, key: str) -> tuple[str, str, int] | None:
        if key in self._digests:
            return self._digests[key]
        found = self._s._digest(key, self._throttle)
        if found is not None:
            self._bump(bytes_scanned=found[2])
        if len(self._digests) < _DIGEST_CACHE:
            self._digests[key] = found
        return found

    def _bump(self, **counts: int) -> None:
        self.scan = self.scan.model_copy(update={
            name: getattr(self.scan, name) + value for name, value in counts.items()})

    def items(self) -> None:
        self._walk(lambda repo, after: repo.scannable_items(after=after, limit=_BATCH),
                   self._check_item)

    def artefacts(self) -> None:
        self._walk(lambda repo, after: repo.scannable_artefacts(after=after, limit=_BATCH),
                   self._check_artefact)

    def _walk(self, fetch: Callable[[Repository, str | None], Sequence[_Scanned]],
              check: Callable[[_Scanned], None]) -> None:
        """Check every record ``fetch`` pages through (by id), saving progress per page."""
        after: str | None = None
        while True:
            with self._s._uow(read_only=True) as repo:
                page = fetch(repo, after)
            if not page:
                return
            for record in page:
                check(record)
            after = page[-1].id
            self._s._save(self.scan)

    def _check_item(self, item: EvidenceItem) -> None:
        assert item.storage_key is not None and item.log_index is not None
        found = self._read(item.storage_key)
        reasons = _byte_reasons(found, item.sha256, item.sm3, item.size)
        with self._s._uow() as repo:
            leaf = repo.get_log_leaf(item.log_index)
            reasons += _log_reasons(leaf, found)
            if leaf is not None and leaf.entry != expected_registration(
                    lineage(repo, item)[-1], leaf):
                reasons.append("the database row differs from its log entry")
            self._bump(items_checked=1)
            current = repo.get_item(item.id, item.department_id)
            if not reasons or current is None:
                return
            self._bump(mismatches=1)
            if current.status is ItemStatus.MISMATCH:
                return  # already flagged (and alerted) by an earlier pass or a re-check
            repo.save_item(current.model_copy(update={"status": ItemStatus.MISMATCH}))
            raise_alert(repo, department_id=item.department_id, item_id=item.id,
                        source="scan", reason="; ".join(reasons), at=self._s._clock.now())

    def _check_artefact(self, artefact: DerivedArtefact) -> None:
        found = self._read(artefact.storage_key)
        reasons = _byte_reasons(found, artefact.sha256, artefact.sm3, artefact.size)
        with self._s._uow() as repo:
            leaf = repo.get_log_leaf(artefact.log_index)
            reasons += _log_reasons(leaf, found)
            item = repo.get_item(artefact.item_id, artefact.department_id)
            if leaf is not None and item is not None and leaf.entry != artefact_entry(
                    sha256=artefact.sha256, sm3=artefact.sm3, size=artefact.size,
                    artefact_id=artefact.id, artefact_kind=artefact.kind, item_id=item.id,
                    case_id=item.case_id, department_id=artefact.department_id,
                    derived_from_sha256=artefact.derived_from_sha256, at=leaf.created_at):
                reasons.append("the artefact's row differs from its log entry")
            self._bump(artefacts_checked=1)
            if not reasons:
                return
            self._bump(mismatches=1)
            reason = f"derived artefact {artefact.id} ({artefact.kind}): " + "; ".join(reasons)
            if any(a.reason == reason and a.source == "scan" for a in repo.list_alerts(
                    artefact.department_id, open_only=True)):
                return
            raise_alert(repo, department_id=artefact.department_id, item_id=artefact.item_id,
                        source="scan", reason=reason, at=self._s._clock.now())


def _byte_reasons(found: tuple[str, str, int] | None, sha256: str | None, sm3: str | None,
                  size: int | None) -> list[str]:
    if found is None:
        return ["the stored object is missing"]
    if (found[0], found[1], found[2]) != (sha256, sm3, size):
        return ["stored bytes no longer match the recorded hashes"]
    return []


def _log_reasons(leaf: LogLeaf | None, found: tuple[str, str, int] | None) -> list[str]:
    """Compare the log entry with itself and, when the bytes were read, with their digests."""
    if leaf is None:
        return ["log entry missing"]
    if leaf_hash(leaf.entry).hex() != leaf.leaf_hash:
        return ["the log entry no longer hashes to its leaf"]
    if found is None:
        return []
    entry = json.loads(leaf.entry)
    if (entry.get("sha256"), entry.get("sm3")) != (found[0], found[1]):
        return ["stored bytes differ from the digests in the log"]
    return []


class IntegrityWorker:
    """A thread that runs a pass every ``interval`` seconds while it holds the leader lock."""

    def __init__(self, scanner: IntegrityScanner, lock: LeaderLock, *, interval: float,
                 retry: float = 60.0) -> None:
        self._scanner = scanner
        self._lock = lock
        self._interval = interval
        self._retry = retry
        self._thread = threading.Thread(target=self._run, name="integrity-scan", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Interrupt a pass in progress and wait for the thread."""
        self._scanner.stop_event.set()
        self._thread.join(timeout)
        self._lock.release()

    def _run(self) -> None:
        stop = self._scanner.stop_event
        while not stop.is_set():
            delay = self._interval
            try:
                if self._lock.try_acquire():
                    self._scanner.scan_once()
            except ScanStopped:
                return
            except StorageUnavailable as exc:
                delay = min(self._retry, self._interval)
                _logger.warning("integrity scan paused, store unavailable: %s", exc)
            except Exception:  # keep the worker alive; the error is logged with its cause
                delay = min(self._retry, self._interval)
                _logger.exception("integrity scan failed")
            stop.wait(delay)
