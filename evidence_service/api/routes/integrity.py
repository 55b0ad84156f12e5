"""The integrity scanner's state: last pass, coverage, the pass in progress, open alerts."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from fastapi import APIRouter
from pydantic import BaseModel

from evidence_service.api.deps import CurrentPrincipal, ServicesDep
from evidence_service.api.guards import GuardedRoute
from evidence_service.domain.models import IntegrityScan
from evidence_service.services.integrity import ScanStatus

router = APIRouter(tags=["integrity"], route_class=GuardedRoute)


class ScanOut(BaseModel):
    """One scan pass (counts across all departments; no ids)."""

    started_at: datetime
    finished_at: datetime | None
    status: Literal["running", "done", "failed"]
    items_total: int
    items_checked: int
    artefacts_total: int
    artefacts_checked: int
    coverage: float
    bytes_scanned: int
    mismatches: int

    @classmethod
    def of(cls, scan: IntegrityScan | None) -> ScanOut | None:
        if scan is None:
            return None
        return cls(**scan.model_dump(exclude={"id", "error"}), coverage=scan.coverage)


class IntegrityStatusOut(BaseModel):
    enabled: bool
    interval_seconds: float
    bytes_per_second: int
    last_scan: ScanOut | None
    current_scan: ScanOut | None
    open_alerts: int

    @classmethod
    def of(cls, status: ScanStatus) -> IntegrityStatusOut:
        return cls(enabled=status.enabled, interval_seconds=status.interval_seconds,
                   bytes_per_second=status.bytes_per_second, last_scan=ScanOut.of(status.last),
                   current_scan=ScanOut.of(status.current), open_alerts=status.open_alerts)


@router.get("/integrity/status", response_model=IntegrityStatusOut)
def integrity_status(principal: CurrentPrincipal, services: ServicesDep) -> IntegrityStatusOut:
    """Last scan time and coverage, the pass running now, and the department's open alerts.

    Review staff only (reviewer, department admin, auditor, system admin)."""
    return IntegrityStatusOut.of(services.integrity.status(principal))
