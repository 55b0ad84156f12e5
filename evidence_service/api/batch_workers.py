"""Batch registration in worker processes: a docking station's offload uses every core.

Registering a batch (reading its tar archive, hashing, storing, writing thousands of rows) is
Python work under one interpreter lock. In the API process it uses one core, and with
``serve --workers N`` the kernel hands each connection to a process at random, so two
stations' batches can land on the same process while another idles. Here each API process
keeps a pool of ``EVIDENCE_BATCH_PROCESSES`` worker processes, started on the first batch:
the API process receives the archive into a spool file and the first free worker registers
it, with its own database connections and object store over the same settings.

Workers are started with ``spawn`` (never a fork of a process running threads). A worker
only registers batches: it runs no anchoring, scanning or analysis. Domain errors it raises
reach the caller as they were raised (``domain/errors.py`` pickles them whole); a worker
that dies fails the batch with StorageUnavailable (503: send it again, nothing was
registered, or it was registered whole and the resend replays it).
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
import tempfile
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import IO

from evidence_service.adapters.db import SqlUnitOfWork, make_engine, make_session_factory
from evidence_service.api.batch_metadata import describer
from evidence_service.api.stores import build_store
from evidence_service.config import Settings
from evidence_service.domain.errors import StorageUnavailable
from evidence_service.domain.models import Principal
from evidence_service.logging_setup import configure
from evidence_service.services.batch_ingest import BatchIngestService, BatchResult
from evidence_service.services.clock import SystemClock

_logger = logging.getLogger(__name__)
ARCHIVE_PREFIX = "batch-archive-"
_STALE_SECONDS = 24 * 3600  # an archive this old was left by a process that died


def build_batch_service(settings: Settings) -> BatchIngestService:
    """The batch service of ``settings``, on its own engine (one per process)."""
    uow = SqlUnitOfWork(make_session_factory(make_engine(settings.resolved_database_url)))
    return BatchIngestService(uow=uow, store=build_store(settings), clock=SystemClock(),
                              spool_dir=settings.resolved_spool_dir,
                              max_files=settings.batch_max_files,
                              max_file_bytes=settings.max_upload_bytes,
                              analyse_video=settings.analysis.enabled)


# -- in the worker process -------------------------------------------------------------------
_service: BatchIngestService | None = None


def _start_worker(settings: Settings) -> None:
    global _service
    configure(settings.log_level)
    _service = build_batch_service(settings)


def _register(principal: Principal, case_id: str, archive: str, metadata: str | None,
              batch_id: str | None) -> BatchResult:
    assert _service is not None, "worker started without its initializer"
    with open(archive, "rb") as handle:
        return _service.register(principal, case_id=case_id, archive=handle,
                                 describe=describer(case_id, metadata), batch_id=batch_id)


# -- in the API process ----------------------------------------------------------------------
class BatchWorkers:
    """The worker processes of one API process (started on the first batch)."""

    def __init__(self, settings: Settings, processes: int) -> None:
        self._settings = settings
        self._processes = processes
        self._spool = settings.resolved_spool_dir
        self._pool: ProcessPoolExecutor | None = None
        self._lock = threading.Lock()

    def archive_file(self) -> IO[bytes]:
        """A named spool file for an archive being received (removed when closed); the
        worker opens it by name."""
        self._spool.mkdir(parents=True, exist_ok=True)
        return tempfile.NamedTemporaryFile(dir=self._spool, prefix=ARCHIVE_PREFIX,
                                           suffix=".tar")

    def _executor(self) -> ProcessPoolExecutor:
        with self._lock:
            if self._pool is None:
                self._remove_stale_archives()
                self._pool = ProcessPoolExecutor(
                    self._processes, mp_context=multiprocessing.get_context("spawn"),
                    initializer=_start_worker, initargs=(self._settings,))
                _logger.info("batch workers: %d processes", self._processes)
            return self._pool

    async def register(self, principal: Principal, *, case_id: str, archive: str,
                       metadata: str | None, batch_id: str | None) -> BatchResult:
        """Register the archive at path ``archive`` in the first free worker."""
        try:
            future = self._executor().submit(_register, principal, case_id, archive, metadata,
                                             batch_id)
            return await asyncio.wrap_future(future)
        except BrokenProcessPool as exc:  # a worker died, now or before this batch
            self._replace_broken_pool()
            raise StorageUnavailable("a batch worker process died; send the batch again "
                                     "(with the same Batch-Id)") from exc

    def _replace_broken_pool(self) -> None:
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)

    def _remove_stale_archives(self) -> None:
        """Archives left in the spool by an API process that died mid-request."""
        cutoff = time.time() - _STALE_SECONDS
        for path in Path(self._spool).glob(f"{ARCHIVE_PREFIX}*.tar"):
            try:
                if path.stat().st_mtime < cutoff:
                    path.unlink()
                    _logger.warning("removed a stale batch archive %s", path.name)
            except OSError:
                continue

    def close(self) -> None:
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)


def default_processes() -> int:
    """Two, or one on a single-core machine (a worker would only add a copy of the data)."""
    return 1 if (os.cpu_count() or 1) < 2 else 2


__all__ = ["ARCHIVE_PREFIX", "BatchWorkers", "build_batch_service", "default_processes"]
