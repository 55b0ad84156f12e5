"""FastAPI dependencies: the wired services and the authenticated principal."""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import Engine

from evidence_service.config import Settings
from evidence_service.domain.models import Principal
from evidence_service.ports import LeaderLock, ObjectStore, UnitOfWork
from evidence_service.services.analysis import AnalysisService
from evidence_service.services.anchoring import AnchoringService
from evidence_service.services.batch_ingest import BatchIngestService
from evidence_service.services.cases import CaseService
from evidence_service.services.custody import CustodyService
from evidence_service.services.export import ExportResult, ExportService
from evidence_service.services.grading import GradingService
from evidence_service.services.graph import GraphService
from evidence_service.services.identity import IdentityService
from evidence_service.services.ingest import IngestService
from evidence_service.services.integrity import IntegrityScanner
from evidence_service.services.transfer import TransferService
from evidence_service.services.verification import VerificationService

if TYPE_CHECKING:
    from evidence_service.adapters.ledger_runtime import LedgerRuntime
    from evidence_service.api.batch_workers import BatchWorkers


@dataclass
class Services:
    """Everything ``create_app`` wires together, kept on ``app.state.services``."""

    settings: Settings
    engine: Engine
    store: ObjectStore
    identity: IdentityService
    cases: CaseService
    ingest: IngestService
    batches: BatchIngestService
    uow: UnitOfWork
    ledger: LedgerRuntime | None
    anchoring: AnchoringService | None
    verification: VerificationService
    anchor_lock: LeaderLock
    custody: CustodyService
    export: ExportService
    grading: GradingService
    transfers: TransferService
    graph: GraphService
    analysis: AnalysisService
    integrity: IntegrityScanner
    integrity_lock: LeaderLock
    #: Worker processes registering batches; None: in this process (``batch_processes=0``).
    batch_workers: BatchWorkers | None = None

    def close(self) -> None:
        """Stop the batch workers and the supervised chain node (if any), and close
        database connections."""
        if self.batch_workers is not None:
            self.batch_workers.close()
        if self.ledger is not None:
            self.ledger.close()
        self.engine.dispose()

    def uploads_in_progress(self) -> float:
        """Number of uploads still receiving bytes (read at each metrics scrape)."""
        try:
            with self.uow() as repo:
                return float(len(repo.list_uploads("receiving")))
        except Exception:  # a scrape must not fail because the database is briefly away
            return float("nan")


def get_services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


_bearer = HTTPBearer(auto_error=False, description="JWT from /auth/login or a device token")


def get_principal(
    services: Annotated[Services, Depends(get_services)],
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    """Authenticate the bearer token; raises AuthenticationError (401)."""
    return services.identity.authenticate(credentials.credentials if credentials else None)


def get_client(request: Request) -> str:
    """Who is calling from where, for custody events: address and user agent."""
    host = request.client.host if request.client else "unknown"
    agent = request.headers.get("user-agent", "")[:256]
    return f"{host} {agent}".strip()


ServicesDep = Annotated[Services, Depends(get_services)]
ClientDep = Annotated[str, Depends(get_client)]
CurrentPrincipal = Annotated[Principal, Depends(get_principal)]


def write_package(services: Services, principal: Principal, case_id: str, *,
                  client: str) -> tuple[Path, ExportResult]:
    """Write a case package to a private temporary file; removed again on any error."""
    spool = services.settings.resolved_spool_dir
    spool.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix="package-", suffix=".zip", dir=spool)
    path = Path(name)
    try:
        with os.fdopen(fd, "wb") as out:
            result = services.export.export_case(principal, case_id, out, client=client)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return path, result
