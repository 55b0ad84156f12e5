"""The in-process job runner: worker threads that take persisted jobs from the database.

Jobs live in the database, not in this process, so a restart loses nothing: a job that was
running when the process died is taken up again once its heartbeat is stale. Several
processes (or, in production, Celery workers calling the same ``run_next``) can share the
queue: claiming a job is one conditional UPDATE.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

_logger = logging.getLogger(__name__)


class InProcessJobRunner:
    """Runs ``run_next`` in ``workers`` threads until stopped; idles ``idle`` s when empty."""

    def __init__(self, run_next: Callable[[], bool], *, workers: int = 1,
                 idle: float = 1.0) -> None:
        self._run_next = run_next
        self._idle = idle
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._loop, name=f"jobs-{i}", daemon=True)
                         for i in range(workers)]

    def start(self) -> None:
        for thread in self._threads:
            thread.start()
        _logger.info("job runner started with %d worker(s)", len(self._threads))

    def stop(self, timeout: float = 10.0) -> None:
        """Ask the workers to stop after their current job (it resumes after a restart)."""
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout)

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                worked = self._run_next()
            except Exception:  # a bug in one job must not stop the runner
                _logger.exception("analysis job crashed; it is retried when its heartbeat "
                                  "goes stale")
                worked = False
            if not worked:
                self._stop.wait(self._idle)
