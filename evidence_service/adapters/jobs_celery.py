"""Celery on Redis as the transport of analysis work between API processes and workers.

The database stays the only record of job state: jobs are rows, claimed with one conditional
UPDATE and kept alive by heartbeats (``AnalysisService.run_next``). Celery carries nothing but
"there is work" nudges. Each nudge makes one worker run ``run_next`` once, so N waiting jobs
become N nudges that the broker hands to whichever workers are free, and the jobs spread.

- ``CeleryDispatcher`` runs in each API process: every ``interval`` seconds it compares the
  number of claimable jobs (queued, or abandoned by a dead worker) with the nudges still
  waiting in the broker queue and sends the difference. A nudge too many costs one empty
  ``run_next``; a lost nudge (a worker killed while holding one) is replaced on the next
  tick once the job's heartbeat is stale, so no job depends on a message surviving.
- ``CeleryJobWorker`` is the worker side: it binds the task to a factory of job runners
  (built lazily in each worker process, after any fork) and starts ``celery worker``.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable

from celery import Celery

_logger = logging.getLogger(__name__)

#: The one task: claim and run one analysis job, if any is waiting.
RUN_NEXT_TASK = "evidence.analysis.run_next"
#: At most this many nudges are sent per dispatcher tick.
MAX_NUDGES_PER_TICK = 64


def celery_app(*, broker_url: str, queue: str) -> Celery:
    """A Celery app on ``broker_url`` whose tasks go to ``queue``; results are not kept.

    Messages are acknowledged after the task ran and a worker takes one at a time, so a
    long analysis never holds nudges that idle workers could run.
    """
    app = Celery("evidence", broker=broker_url, set_as_current=False)
    app.conf.update(
        task_default_queue=queue,
        task_ignore_result=True,
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        worker_hijack_root_logger=False,
        worker_redirect_stdouts=False,
        broker_connection_retry_on_startup=True,
        task_serializer="json",
        accept_content=["json"],
    )
    return app


class CeleryDispatcher:
    """API side: nudges the workers while claimable jobs outnumber the nudges in the queue."""

    def __init__(self, app: Celery, *, waiting: Callable[[], int], queue: str,
                 interval: float = 1.0) -> None:
        self._app = app
        self._waiting = waiting
        self._queue = queue
        self._interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="jobs-dispatch", daemon=True)

    def start(self) -> None:
        self._thread.start()
        _logger.info("analysis jobs go to celery queue %s", self._queue)

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._thread.join(timeout)

    def queued(self) -> int:
        """Nudges waiting in the broker queue (not yet taken by a worker).

        Raises the broker client's error (kombu/redis ``OperationalError``) when the broker
        is unreachable.
        """
        with self._app.connection_for_read() as conn:
            declared = conn.default_channel.queue_declare(queue=self._queue, passive=False,
                                                          durable=True, auto_delete=False)
            return int(declared.message_count)

    def tick(self) -> int:
        """Send the nudges that are missing; returns how many were sent.

        Raises what ``waiting`` raises (the database is away) and the broker client's error.
        """
        missing = min(self._waiting() - self.queued(), MAX_NUDGES_PER_TICK)
        for _ in range(max(0, missing)):
            self._app.send_task(RUN_NEXT_TASK, queue=self._queue)
        if missing > 0:
            _logger.debug("sent %d analysis nudge(s)", missing)
        return max(0, missing)

    def _loop(self) -> None:
        while not self._stop.wait(self._interval):
            try:
                self.tick()
            except Exception as exc:  # the broker or database may be briefly away
                _logger.warning("could not dispatch analysis jobs: %s", exc)


class CeleryJobWorker:
    """Worker side: the task that runs one job, and the ``celery worker`` that serves it."""

    def __init__(self, app: Celery, *, runner_factory: Callable[[str], Callable[[], bool]],
                 queue: str) -> None:
        """``runner_factory(worker_id)`` builds the job runner of one worker process."""
        self._app = app
        self._factory = runner_factory
        self._queue = queue
        self._name = "evidence-worker"
        self._runners: dict[int, Callable[[], bool]] = {}
        app.task(name=RUN_NEXT_TASK)(self.run_one)

    def worker_id(self) -> str:
        """This process's identity as recorded on the jobs it claims: ``name:pid``."""
        return f"{self._name}:{os.getpid()}"

    def run_one(self) -> bool:
        """Claim and run one job in this worker process; False when none was waiting.

        Never raises: a failure outside the job's own (recorded) errors is logged, and the
        job is taken up again once its heartbeat is stale.
        """
        pid = os.getpid()
        if pid not in self._runners:  # one set of connections per (forked) process
            self._runners[pid] = self._factory(self.worker_id())
        try:
            return self._runners[pid]()
        except Exception:
            _logger.exception("analysis job crashed; it is retried when its heartbeat "
                              "goes stale")
            return False

    def serve(self, *, name: str, concurrency: int = 1, loglevel: str = "INFO") -> None:
        """Run ``celery worker`` in this process until it is stopped (SIGTERM: warm stop).

        ``concurrency`` 1 runs jobs in this process (solo pool); more forks that many child
        processes. Raises what Celery raises when the broker cannot be reached at all.
        """
        self._name = name
        pool = "solo" if concurrency == 1 else "prefork"
        self._app.worker_main(argv=[
            "worker", f"--hostname={name}@%h", f"--queues={self._queue}",
            f"--concurrency={concurrency}", f"--pool={pool}", f"--loglevel={loglevel}",
            "--without-gossip", "--without-mingle", "--without-heartbeat", "-O", "fair"])
