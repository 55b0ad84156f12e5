"""Video analysis as persisted background jobs, and the derived artefacts they register.

Stored video is queued for analysis when it is registered. A job reads the *stored* bytes
(checking their hash on the way), runs the analyzer, stores every output content-addressed
and registers it in the evidence log as an ``artefact.registered`` entry linked to the
original's hash, so it is anchored like an original. The original is never modified. Jobs
live in the database: a restart, or a worker that dies, leaves a job whose heartbeat goes
stale, and the next worker takes it up again.
"""

from __future__ import annotations

import logging
import os
import shutil
import socket
import tempfile
import threading
import uuid
from collections.abc import Iterator, Sequence
from datetime import datetime, timedelta
from pathlib import Path

from evidence_service.domain.canonical import artefact_entry
from evidence_service.domain.custody import CustodyKind
from evidence_service.domain.errors import (
    AnalysisFailed,
    Conflict,
    DigestMismatch,
    EvidenceError,
    MediaRejected,
    NotFound,
)
from evidence_service.domain.hashing import DualHasher
from evidence_service.domain.merkle_log import leaf_hash
from evidence_service.domain.models import (
    AnalysisJob,
    AnalysisOptions,
    DerivedArtefact,
    EvidenceItem,
    JobStatus,
    Principal,
    Role,
)
from evidence_service.domain.rules import content_key, is_canonical_uuid
from evidence_service.ports import (
    Clock,
    MediaAnalyzer,
    ObjectStore,
    ProducedFile,
    Repository,
    UnitOfWork,
    iter_file,
)
from evidence_service.services.cases import READ_ROLES, WRITE_ROLES, require
from evidence_service.services.custody import lineage, record_event
from evidence_service.services.verification import leaf_bundle

_logger = logging.getLogger(__name__)
#: A job is given up after this many workers died on it.
MAX_ATTEMPTS = 3
_HEARTBEAT_SECONDS = 5.0


def is_video(item: EvidenceItem) -> bool:
    """Whether an item's declared media type is video (what the pipeline analyses)."""
    return item.media_type.startswith("video/")


def enqueue(repo: Repository, *, item: EvidenceItem, options: AnalysisOptions,
            requested_by: str, at: datetime) -> AnalysisJob:
    """Queue an analysis of ``item`` in ``repo``'s transaction."""
    job = AnalysisJob(id=str(uuid.uuid4()), item_id=item.id, department_id=item.department_id,
                      options=options, requested_by=requested_by, created_at=at)
    repo.add_job(job)
    return job


class AnalysisService:
    """Request analyses, report their progress, and run them (one job per call)."""

    def __init__(self, *, uow: UnitOfWork, store: ObjectStore, clock: Clock,
                 analyzer: MediaAnalyzer, work_dir: Path, stale_after: float = 30.0,
                 worker: str | None = None) -> None:
        self._uow = uow
        self._worker = worker or f"{socket.gethostname()}:{os.getpid()}"
        self._store = store
        self._clock = clock
        self._analyzer = analyzer
        self._work_dir = work_dir
        self._stale_after = timedelta(seconds=stale_after)

    # -- requests and reads --------------------------------------------------------------
    def request(self, principal: Principal, item_id: str, options: AnalysisOptions
                ) -> AnalysisJob:
        """Queue a (re-)analysis or redaction of a stored video item.

        Raises NotFound, PermissionDenied, InvalidInput (bad geometry), Conflict (not a
        stored video).
        """
        require(principal, (*WRITE_ROLES, Role.REVIEWER), "requesting analyses")
        self._analyzer.check(options)
        with self._uow() as repo:
            item = self._item(repo, principal, item_id)
            if item.storage_key is None:
                raise Conflict("the item's bytes have not been received completely")
            if not is_video(item):
                raise Conflict(f"only video is analysed; this item is {item.media_type}")
            return enqueue(repo, item=item, options=options, requested_by=principal.id,
                           at=self._clock.now())

    def set_case_options(self, principal: Principal, case_id: str, options: AnalysisOptions,
                         *, rerun: bool) -> list[AnalysisJob]:
        """Set the zones, lines and marks a case's videos are analysed with; with ``rerun``,
        queue a new analysis of every stored video of the case. Raises NotFound,
        PermissionDenied, InvalidInput."""
        require(principal, (*WRITE_ROLES, Role.REVIEWER), "setting analysis options")
        self._analyzer.check(options)
        now = self._clock.now()
        with self._uow() as repo:
            case = repo.get_case(case_id, principal.department_id) if is_canonical_uuid(
                case_id) else None
            if case is None:
                raise NotFound("case not found")
            repo.save_case(case.model_copy(update={"analysis_options": options}))
            if not rerun:
                return []
            return [enqueue(repo, item=item, options=options, requested_by=principal.id,
                            at=now)
                    for item in repo.list_items(case.id, principal.department_id)
                    if item.storage_key is not None and is_video(item)]

    def artefact_proof(self, principal: Principal, artefact_id: str) -> dict[str, object]:
        """The version-1 proof bundle of an artefact's registration entry; NotFound."""
        require(principal, READ_ROLES, "reading proofs")
        with self._uow(read_only=True) as repo:
            artefact = repo.get_artefact(artefact_id) if is_canonical_uuid(
                artefact_id) else None
            if artefact is None or self._visible_owner(repo, principal, artefact) is None:
                raise NotFound("artefact not found")
            return leaf_bundle(repo, artefact.log_index)

    def jobs(self, principal: Principal, item_id: str) -> Sequence[AnalysisJob]:
        """The item's analysis jobs, oldest first; raises NotFound."""
        require(principal, READ_ROLES, "reading analyses")
        with self._uow(read_only=True) as repo:
            item = self._item(repo, principal, item_id)
            return repo.list_jobs(item.id, principal.department_id)

    def artefacts(self, principal: Principal, item_id: str) -> Sequence[DerivedArtefact]:
        """Derived artefacts of the item and of the originals it was received as."""
        require(principal, READ_ROLES, "reading derived artefacts")
        with self._uow(read_only=True) as repo:
            item = self._item(repo, principal, item_id)
            return repo.list_artefacts([i.id for i in lineage(repo, item)])

    def open_artefact(self, principal: Principal, artefact_id: str, *,
                      client: str) -> tuple[DerivedArtefact, Iterator[bytes]]:
        """An artefact's bytes (a ``downloaded`` custody event of its item); NotFound."""
        require(principal, READ_ROLES, "reading derived artefacts")
        with self._uow() as repo:
            artefact = repo.get_artefact(artefact_id) if is_canonical_uuid(
                artefact_id) else None
            item = self._visible_owner(repo, principal, artefact)
            if artefact is None or item is None:
                raise NotFound("artefact not found")
            record_event(repo, kind=CustodyKind.DOWNLOADED, principal=principal,
                         client=client, at=self._clock.now(), case_id=item.case_id, item=item,
                         subject=artefact.id)
        key = artefact.storage_key

        def chunks() -> Iterator[bytes]:
            with self._store.open(key) as handle:
                yield from iter_file(handle)
        return artefact, chunks()

    @staticmethod
    def _visible_owner(repo: Repository, principal: Principal,
                       artefact: DerivedArtefact | None) -> EvidenceItem | None:
        """The caller's item whose lineage includes the artefact's item, if any."""
        if artefact is None:
            return None
        own = repo.get_item(artefact.item_id, principal.department_id)
        if own is not None:
            return own
        for candidate in repo.find_items_by_digest(sha256=artefact.derived_from_sha256):
            if candidate.department_id == principal.department_id and artefact.item_id in {
                    i.id for i in lineage(repo, candidate)}:
                return candidate
        return None

    @staticmethod
    def _item(repo: Repository, principal: Principal, item_id: str) -> EvidenceItem:
        item = repo.get_item(item_id, principal.department_id) if is_canonical_uuid(
            item_id) else None
        if item is None:
            raise NotFound("evidence item not found")
        return item

    # -- running -------------------------------------------------------------------------
    def run_next(self) -> bool:
        """Claim and run one job as this service's worker; False when none is waiting.

        A job's own failures are recorded on the job; anything else (the database is away,
        a bug) propagates, and the job is taken up again once its heartbeat is stale.
        """
        now = self._clock.now()
        with self._uow() as repo:
            job = repo.claim_job(stale_before=now - self._stale_after, at=now,
                                 worker=self._worker)
        if job is None:
            return False
        if job.attempts > MAX_ATTEMPTS:
            self._finish(job, JobStatus.FAILED,
                         f"gave up after {MAX_ATTEMPTS} attempts: the worker kept stopping")
            return True
        beat = _Heartbeat(self, job.id)
        try:
            self._run(job, beat)
        except MediaRejected as exc:
            self._finish(job, JobStatus.FAILED, f"the file cannot be analysed: {exc}")
        except (AnalysisFailed, DigestMismatch, EvidenceError) as exc:
            _logger.warning("analysis job=%s failed: %s", job.id, exc)
            self._finish(job, JobStatus.FAILED, str(exc))
        finally:
            beat.stop()
        return True

    def waiting(self) -> int:
        """How many jobs a worker could claim now (queued, or abandoned by a dead worker)."""
        with self._uow(read_only=True) as repo:
            return repo.count_claimable_jobs(
                stale_before=self._clock.now() - self._stale_after)

    def touch(self, job_id: str, stage: str, progress: float) -> None:
        """Record progress (and that the worker is alive)."""
        with self._uow() as repo:
            repo.touch_job(job_id, stage=stage, progress=progress, at=self._clock.now())

    def _run(self, job: AnalysisJob, beat: _Heartbeat) -> None:
        with self._uow(read_only=True) as repo:
            item = repo.get_item(job.item_id, job.department_id)
        if item is None or item.storage_key is None or item.sha256 is None:
            raise MediaRejected("the item is gone or was never stored")
        self._work_dir.mkdir(parents=True, exist_ok=True)
        work = Path(tempfile.mkdtemp(prefix=f"job-{job.id[:8]}-", dir=self._work_dir))
        try:
            source = self._fetch(item, work / "source")
            out = work / "out"
            out.mkdir()
            produced = self._analyzer.run(source, out, options=job.options,
                                          source_sha256=item.sha256, progress=beat.progress)
            self._register(job, item, produced)
        finally:
            shutil.rmtree(work, ignore_errors=True)

    def _fetch(self, item: EvidenceItem, target: Path) -> Path:
        """Copy the stored bytes for the analyzer, checking they still hash as registered."""
        assert item.storage_key is not None
        hasher = DualHasher()
        with self._store.open(item.storage_key) as handle, target.open("wb") as out:
            for chunk in iter_file(handle, chunk_size=4 << 20):
                hasher.update(chunk)
                out.write(chunk)
        if hasher.sha256().value != item.sha256:
            raise DigestMismatch("the stored bytes no longer match the registered hash; "
                                 "nothing was analysed")
        return target

    def _register(self, job: AnalysisJob, item: EvidenceItem,
                  produced: Sequence[ProducedFile]) -> None:
        stored = []
        for output in produced:
            hasher = DualHasher()
            with output.path.open("rb") as handle:
                for chunk in iter_file(handle):
                    hasher.update(chunk)
            sha256, sm3 = hasher.sha256().value, hasher.sm3().value
            size = output.path.stat().st_size
            self._store.put_file(content_key(sha256), output.path, size=size)
            stored.append((output, sha256, sm3, size))
        now = self._clock.now()
        with self._uow() as repo:
            for output, sha256, sm3, size in stored:
                self._add_artefact(repo, job, item, output, sha256=sha256, sm3=sm3, size=size,
                                   at=now)
            actor = Principal(kind="user", id=job.requested_by, department_id=job.department_id,
                              roles=frozenset(), name="analysis")
            record_event(repo, kind=CustodyKind.ANALYSED, principal=actor, client="analysis",
                         at=now, case_id=item.case_id, item=item, subject=job.id,
                         note=f"{job.options.task}: {len(stored)} derived files")
            repo.save_job(job.model_copy(update={
                "status": JobStatus.DONE, "stage": "done", "progress": 1.0,
                "finished_at": now, "heartbeat_at": now}))
        _logger.info("analysis job=%s item=%s done: %d artefacts", job.id, item.id, len(stored))

    @staticmethod
    def _add_artefact(repo: Repository, job: AnalysisJob, item: EvidenceItem,
                      output: ProducedFile, *, sha256: str, sm3: str, size: int,
                      at: datetime) -> None:
        artefact_id = str(uuid.uuid4())
        assert item.sha256 is not None
        entry = artefact_entry(sha256=sha256, sm3=sm3, size=size, artefact_id=artefact_id,
                               artefact_kind=output.kind, item_id=item.id, case_id=item.case_id,
                               department_id=item.department_id,
                               derived_from_sha256=item.sha256, at=at)
        index = repo.append_log_leaf(entry=entry, leaf_hash=leaf_hash(entry),
                                     kind="artefact.registered", item_id=item.id, at=at)
        repo.add_artefact(DerivedArtefact(
            id=artefact_id, item_id=item.id, department_id=item.department_id, job_id=job.id,
            kind=output.kind, name=output.path.name, media_type=output.media_type, size=size,
            sha256=sha256, sm3=sm3, storage_key=content_key(sha256),
            derived_from_sha256=item.sha256, log_index=index, created_at=at))

    def _finish(self, job: AnalysisJob, status: JobStatus, reason: str | None) -> None:
        now = self._clock.now()
        with self._uow() as repo:
            current = repo.get_job(job.id) or job
            repo.save_job(current.model_copy(update={
                "status": status, "reason": reason, "finished_at": now, "heartbeat_at": now}))
        _logger.info("analysis job=%s %s: %s", job.id, status.value, reason)


class _Heartbeat:
    """Keeps a running job's heartbeat fresh and forwards throttled progress."""

    def __init__(self, service: AnalysisService, job_id: str) -> None:
        self._service = service
        self._job_id = job_id
        self._stage, self._fraction = "starting", 0.0
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._loop, name=f"heartbeat-{job_id[:8]}",
                                        daemon=True)
        self._thread.start()

    def progress(self, stage: str, fraction: float) -> None:
        self._stage, self._fraction = stage, max(0.0, min(1.0, fraction))

    def _loop(self) -> None:
        while not self._stopped.wait(_HEARTBEAT_SECONDS / 5):
            try:
                self._service.touch(self._job_id, self._stage, self._fraction)
            except Exception as exc:  # the database may be briefly away; try again next beat
                _logger.warning("heartbeat of job=%s failed: %s", self._job_id, exc)

    def stop(self) -> None:
        self._stopped.set()
        self._thread.join(timeout=5)
