"""Custody timelines, downloads, grading, approvals and integrity alerts."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Query, status
from fastapi.responses import FileResponse, StreamingResponse
from starlette.background import BackgroundTask

from evidence_service.api.custody_schemas import (
    AlertOut,
    ApprovalIn,
    ApprovalOut,
    CustodyEventOut,
    GradingIn,
)
from evidence_service.api.deps import ClientDep, CurrentPrincipal, ServicesDep, write_package
from evidence_service.api.guards import GuardedRoute
from evidence_service.api.schemas import ItemOut
from evidence_service.domain.rules import validate_labels

router = APIRouter(tags=["custody"], route_class=GuardedRoute)


@router.get("/items/{item_id}/custody", response_model=list[CustodyEventOut])
def item_custody(item_id: str, principal: CurrentPrincipal,
                 services: ServicesDep) -> list[CustodyEventOut]:
    """The item's custody timeline (including its history before it was transferred here)."""
    return [CustodyEventOut.of(e) for e in services.custody.item_timeline(principal, item_id)]


@router.get("/cases/{case_id}/custody", response_model=list[CustodyEventOut])
def case_custody(case_id: str, principal: CurrentPrincipal,
                 services: ServicesDep) -> list[CustodyEventOut]:
    """The case's custody timeline: every event of the case and its items."""
    return [CustodyEventOut.of(e) for e in services.custody.case_timeline(principal, case_id)]


@router.get("/items/{item_id}/content", response_class=StreamingResponse)
def download(item_id: str, principal: CurrentPrincipal, services: ServicesDep,
             client: ClientDep) -> StreamingResponse:
    """The item's original bytes (recorded as a ``downloaded`` custody event)."""
    item = services.cases.get_item(principal, item_id)
    chunks = services.custody.download(principal, item, client=client)
    name = quote(item.original_filename)
    return StreamingResponse(chunks, media_type=item.media_type, headers={
        "Content-Disposition": f"attachment; filename*=UTF-8''{name}",
        "Content-Length": str(item.size), "X-Content-SHA256": item.sha256 or ""})


@router.post("/items/{item_id}/approvals", response_model=ApprovalOut,
             status_code=status.HTTP_201_CREATED)
def approve(item_id: str, body: ApprovalIn, principal: CurrentPrincipal,
            services: ServicesDep, client: ClientDep) -> ApprovalOut:
    """A department admin approves a (restricted) item for transfer or export."""
    approval = services.grading.approve(principal, item_id, purpose=body.purpose,
                                        note=body.note, client=client)
    return ApprovalOut.model_validate(approval.model_dump())


@router.patch("/items/{item_id}/grading", response_model=ItemOut)
def regrade(item_id: str, body: GradingIn, principal: CurrentPrincipal,
            services: ServicesDep, client: ClientDep) -> ItemOut:
    """Change an item's classification or material labels (a custody event)."""
    labels = None if body.labels is None else validate_labels(",".join(body.labels))
    item = services.grading.regrade(principal, item_id, classification=body.classification,
                                    labels=labels, client=client)
    return ItemOut.model_validate(item)


@router.get("/cases/{case_id}/package", response_class=FileResponse)
def export_package(case_id: str, principal: CurrentPrincipal, services: ServicesDep,
                   client: ClientDep) -> FileResponse:
    """The court-ready case package (ZIP): files, proofs, custody history, report."""
    path, result = write_package(services, principal, case_id, client=client)
    return FileResponse(path, media_type="application/zip", filename=f"case-{case_id}.zip",
                        headers={"X-Package-SHA256": result.sha256},
                        background=BackgroundTask(path.unlink, missing_ok=True))


@router.get("/alerts", response_model=list[AlertOut])
def alerts(principal: CurrentPrincipal, services: ServicesDep,
           include_resolved: Annotated[bool, Query()] = False) -> list[AlertOut]:
    """Integrity alerts of the caller's department (open ones unless asked otherwise)."""
    found = services.custody.alerts(principal, open_only=not include_resolved)
    return [AlertOut.of(a) for a in found]
