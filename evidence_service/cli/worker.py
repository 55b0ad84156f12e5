"""``evidence worker``: a Celery worker process that runs video analysis jobs.

Run as many as the footage needs, on any machine that reaches the database, the object store
and the broker (``EVIDENCE_JOBS__BROKER_URL``). API processes started with
``EVIDENCE_JOBS__BACKEND=celery`` then run no analysis themselves and only nudge the workers.
"""

from __future__ import annotations

import logging
import socket
from collections.abc import Callable

import typer

from evidence_service.config import get_settings
from evidence_service.logging_setup import configure

_logger = logging.getLogger(__name__)


def worker(
    name: str = typer.Option("", help="Worker name recorded on the jobs it runs "
                             "(default: worker-HOSTNAME)"),
    concurrency: int = typer.Option(1, min=1, max=64,
                                    help="Jobs run at once (more than 1 forks processes)"),
) -> None:
    """Run analysis jobs from the Celery queue until stopped (SIGTERM finishes the current
    job; a killed worker's job is taken up by another once its heartbeat is stale)."""
    from evidence_service.adapters.db import SqlUnitOfWork, make_engine, make_session_factory
    from evidence_service.adapters.jobs_celery import CeleryJobWorker, celery_app
    from evidence_service.api.app import build_analysis
    from evidence_service.api.stores import build_store
    from evidence_service.services.clock import SystemClock

    settings = get_settings()
    configure(settings.log_level)
    jobs = settings.jobs

    def runner(worker_id: str) -> Callable[[], bool]:
        engine = make_engine(settings.resolved_database_url)
        uow = SqlUnitOfWork(make_session_factory(engine))
        analysis = build_analysis(settings, uow=uow, store=build_store(settings),
                                  clock=SystemClock(), worker=worker_id)
        _logger.info("worker %s runs analysis jobs from %s", worker_id,
                     settings.resolved_database_url.split("://")[0])
        return analysis.run_next

    app = celery_app(broker_url=jobs.broker_url, queue=jobs.queue)
    CeleryJobWorker(app, runner_factory=runner, queue=jobs.queue).serve(
        name=name or f"worker-{socket.gethostname()}", concurrency=concurrency,
        loglevel=settings.log_level)
