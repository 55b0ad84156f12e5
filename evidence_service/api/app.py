"""``create_app``: the composition root that wires adapters into services."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import TYPE_CHECKING

from fastapi import FastAPI
from pydantic import SecretStr

from evidence_service import __version__
from evidence_service.adapters.db import SqlUnitOfWork, make_engine, make_session_factory, upgrade
from evidence_service.adapters.jobs import InProcessJobRunner
from evidence_service.adapters.locks import SCAN_LOCK_KEY, leader_lock
from evidence_service.adapters.video import VideoPipelineAnalyzer
from evidence_service.api import errors, metrics, security
from evidence_service.api.batch_workers import BatchWorkers, default_processes
from evidence_service.api.deps import Services
from evidence_service.api.routes import (
    analysis,
    auth,
    batches,
    cases,
    custody,
    health,
    integrity,
    package_verify,
    transfers,
    uploads,
    verify,
)
from evidence_service.api.routes import graph as graph_routes
from evidence_service.api.stores import build_store
from evidence_service.config import Settings, get_settings
from evidence_service.domain.errors import InvalidInput
from evidence_service.logging_setup import configure
from evidence_service.ports import Clock, ObjectStore, UnitOfWork
from evidence_service.services.analysis import AnalysisService
from evidence_service.services.anchoring import AnchoringService, AnchoringWorker
from evidence_service.services.batch_ingest import BatchIngestService
from evidence_service.services.cases import CaseService
from evidence_service.services.clock import SystemClock
from evidence_service.services.custody import CustodyService
from evidence_service.services.export import ExportService
from evidence_service.services.grading import GradingService
from evidence_service.services.graph import GraphService
from evidence_service.services.identity import IdentityService
from evidence_service.services.ingest import IngestService
from evidence_service.services.integrity import IntegrityScanner, IntegrityWorker
from evidence_service.services.log_archive import LogArchive
from evidence_service.services.transfer import TransferService
from evidence_service.services.verification import VerificationService
from evidence_service.web import install as install_pages

if TYPE_CHECKING:
    from evidence_service.adapters.jobs_celery import CeleryDispatcher
    from evidence_service.adapters.ledger_runtime import LedgerRuntime

_logger = logging.getLogger(__name__)


def build_ledger(settings: Settings, *, attach_rpc: str | None = None) -> LedgerRuntime | None:
    """Start (embedded) or bind (external) the chain, or None when the ledger is off.

    ``attach_rpc``: the embedded node another process of this service already runs there
    (a replica of ``evidence serve --workers``); bind to it instead of starting one.

    The chain client (web3) is imported only here, so a process without a ledger never loads it.
    """
    ledger = settings.ledger
    if ledger.mode == "off":
        return None
    from evidence_service.adapters.ledger_runtime import (
        DepartmentKeys,
        attach_embedded,
        connect_external,
        start_embedded,
    )

    keys = DepartmentKeys(keystore_dir=settings.department_keystore_dir,
                          password=settings.resolved_department_password(),
                          scrypt_n=ledger.keystore_scrypt_n)
    if ledger.mode == "embedded" and attach_rpc is not None:
        return attach_embedded(rpc_url=attach_rpc, ledger_dir=settings.ledger_dir, keys=keys)
    if ledger.mode == "embedded":
        return start_embedded(ledger_dir=settings.ledger_dir, port=ledger.port,
                              block_time=ledger.block_time, keys=keys)

    def secret(value: SecretStr | None) -> str | None:
        return value.get_secret_value() if value else None

    contract_address = ledger.contract_address
    if contract_address is None and ledger.deployment_file is not None:
        from ledger_node import DeploymentRecord, LedgerError

        try:
            contract_address = DeploymentRecord.load(ledger.deployment_file).address
        except LedgerError as exc:
            raise InvalidInput(str(exc)) from exc
    return connect_external(rpc_url=ledger.rpc_url, contract_address=contract_address,
                            chain_id=ledger.chain_id, keystore=ledger.keystore,
                            password=secret(ledger.keystore_password),
                            admin_keystore=ledger.admin_keystore,
                            admin_password=secret(ledger.admin_keystore_password), keys=keys)


def build_services(settings: Settings, *, migrate: bool = True,
                   attach_rpc: str | None = None) -> Services:
    """Wire the database, object store, chain and services for ``settings``."""
    engine = make_engine(settings.resolved_database_url)
    if migrate:
        upgrade(engine)
    uow = SqlUnitOfWork(make_session_factory(engine))
    clock = SystemClock()
    store = build_store(settings)
    ledger = build_ledger(settings, attach_rpc=attach_rpc)
    custody = CustodyService(uow=uow, clock=clock, store=store)
    archive = LogArchive(uow=uow, store=store, clock=clock,
                         work_dir=settings.resolved_spool_dir / "segments")
    anchoring = (AnchoringService(uow=uow, ledger=ledger.anchor, clock=clock, archive=archive)
                 if ledger is not None else None)
    return Services(
        settings=settings, engine=engine, store=store,
        identity=IdentityService(uow=uow, clock=clock, jwt_secret=settings.resolved_jwt_secret(),
                                 jwt_ttl=timedelta(seconds=settings.jwt_ttl_seconds),
                                 previous_secrets=[s.get_secret_value()
                                                   for s in settings.jwt_previous_secrets]),
        cases=CaseService(uow=uow, clock=clock),
        ingest=IngestService(uow=uow, store=store, spool_dir=settings.resolved_spool_dir,
                             clock=clock, max_upload_bytes=settings.max_upload_bytes,
                             expiry=timedelta(hours=settings.upload_expiry_hours),
                             analyse_video=settings.analysis.enabled),
        batches=BatchIngestService(uow=uow, store=store, clock=clock,
                                   spool_dir=settings.resolved_spool_dir,
                                   max_files=settings.batch_max_files,
                                   max_file_bytes=settings.max_upload_bytes,
                                   analyse_video=settings.analysis.enabled),
        uow=uow,
        ledger=ledger,
        anchoring=anchoring,
        anchor_lock=leader_lock(engine, settings.var_dir),
        verification=VerificationService(uow=uow, store=store, clock=clock,
                                         ledger=ledger.anchor if ledger else None),
        custody=custody,
        export=ExportService(uow=uow, store=store, clock=clock, custody=custody,
                             ledger=ledger.anchor if ledger else None),
        grading=GradingService(uow=uow, clock=clock),
        transfers=TransferService(
            uow=uow, store=store, clock=clock,
            ledger=ledger.departments if ledger else None,
            anchors=ledger.anchor if ledger else None,
            negative_list=settings.resolved_negative_list),
        graph=GraphService(uow=uow),
        analysis=build_analysis(settings, uow=uow, store=store, clock=clock),
        integrity=IntegrityScanner(uow=uow, store=store, clock=clock,
                                   bytes_per_second=settings.integrity.bytes_per_second,
                                   enabled=settings.integrity.enabled,
                                   interval=settings.integrity.interval_seconds,
                                   on_bytes=metrics.INTEGRITY_BYTES_SCANNED.inc),
        integrity_lock=leader_lock(engine, settings.var_dir, key=SCAN_LOCK_KEY,
                                   name="integrity"),
        batch_workers=_batch_workers(settings),
    )


def _batch_workers(settings: Settings) -> BatchWorkers | None:
    processes = (default_processes() if settings.batch_processes is None
                 else settings.batch_processes)
    return BatchWorkers(settings, processes) if processes else None


def build_analysis(settings: Settings, *, uow: UnitOfWork, store: ObjectStore,
                   clock: Clock, worker: str | None = None) -> AnalysisService:
    """The analysis service (requests, progress, and running jobs as ``worker``)."""
    return AnalysisService(uow=uow, store=store, clock=clock,
                           analyzer=VideoPipelineAnalyzer(
                               workers=settings.analysis.pipeline_workers),
                           work_dir=settings.analysis_dir,
                           stale_after=settings.analysis.stale_seconds, worker=worker)


def start_job_runner(settings: Settings, analysis: AnalysisService
                     ) -> InProcessJobRunner | CeleryDispatcher | None:
    """Start what runs analysis jobs for this API process: worker threads (``inprocess``),
    a dispatcher of nudges to Celery workers (``celery``), or nothing (analysis off)."""
    if not settings.analysis.enabled:
        return None
    if settings.jobs.backend == "celery":
        from evidence_service.adapters.jobs_celery import CeleryDispatcher, celery_app

        jobs = settings.jobs
        dispatcher = CeleryDispatcher(celery_app(broker_url=jobs.broker_url, queue=jobs.queue),
                                      waiting=analysis.waiting, queue=jobs.queue,
                                      interval=jobs.dispatch_interval)
        dispatcher.start()
        return dispatcher
    if not settings.analysis.workers:
        return None
    runner = InProcessJobRunner(analysis.run_next, workers=settings.analysis.workers)
    runner.start()
    return runner


def create_app(settings: Settings | None = None, *, replica_of: str | None = None,
               migrate: bool = True) -> FastAPI:
    """Build the FastAPI application; reads settings from the environment when not given.

    ``migrate=False`` when the schema was just brought to head by another process
    (``evidence serve`` runs ``evidence init`` first), so this one never loads Alembic.

    ``replica_of``: this is an extra API process of ``evidence serve --workers``, and the first
    process runs the embedded chain node at this RPC URL. A replica does not migrate, start a
    node, finalise interrupted uploads or run in-process analysis jobs (the first process does);
    its anchoring and scanning workers run, but the leader locks let only one of each work.
    """
    settings = settings or get_settings()
    configure(settings.log_level)
    replica = replica_of is not None
    services = build_services(settings, migrate=migrate and not replica,
                              attach_rpc=replica_of)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        recovered = 0 if replica else services.ingest.recover()
        if recovered:
            _logger.info("finalised %d uploads that completed before a restart", recovered)
        worker = None
        if services.anchoring is not None:
            worker = AnchoringWorker(services.anchoring, services.anchor_lock,
                                     interval=settings.anchor_interval)
            worker.start()
        runner = None if replica else start_job_runner(settings, services.analysis)
        scanner = None
        if settings.integrity.enabled:
            scanner = IntegrityWorker(services.integrity, services.integrity_lock,
                                      interval=settings.integrity.interval_seconds)
            scanner.start()
        try:
            yield
        finally:
            if scanner is not None:
                scanner.stop()
            if runner is not None:
                runner.stop()
            if worker is not None:
                worker.stop()
            services.close()

    app = FastAPI(title="Evidence custody service", version=__version__, lifespan=lifespan)
    app.state.services = services
    errors.install(app)
    security.install(app, cors_origins=settings.cors_origins)
    # outermost: repeated public lookups of final verdicts skip the stack (routes/verify.py)
    app.state.verdict_cache = verify.VerdictCache()
    app.add_middleware(verify.VerifyFastPath, cache=app.state.verdict_cache)
    app.include_router(graph_routes.router)  # before cases: /items/search beats /items/{id}
    for module in (health, auth, cases, custody, transfers, analysis, uploads, batches, verify,
                   integrity):
        app.include_router(module.router)
    app.include_router(package_verify.router)  # the portal's package check (issue 6)
    install_pages(app)  # the web pages under /ui (issue 6)
    metrics.UPLOADS_IN_PROGRESS.set_function(services.uploads_in_progress)
    metrics.bind_integrity(services.integrity)
    return app
