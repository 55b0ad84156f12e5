"""Custody timelines, downloads, grading, approvals and integrity alerts."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Cookie, Header, Query, Request, Response, status
from fastapi.responses import FileResponse, StreamingResponse
from starlette.background import BackgroundTask

from evidence_service.api.custody_schemas import (
    AlertOut,
    ApprovalIn,
    ApprovalOut,
    CustodyEventOut,
    GradingIn,
    PlaybackOut,
)
from evidence_service.api.deps import ClientDep, CurrentPrincipal, ServicesDep, write_package
from evidence_service.api.guards import GuardedRoute
from evidence_service.api.ranges import byte_range
from evidence_service.api.schemas import ItemOut
from evidence_service.domain.errors import Conflict
from evidence_service.domain.rules import validate_labels
from evidence_service.services.identity import MEDIA_GRANT_TTL

router = APIRouter(tags=["custody"], route_class=GuardedRoute)
MEDIA_COOKIE = "evidence_media"


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


@router.post("/items/{item_id}/playback", response_model=PlaybackOut)
def grant_playback(item_id: str, principal: CurrentPrincipal, services: ServicesDep,
                   client: ClientDep, request: Request, response: Response) -> PlaybackOut:
    """Let this browser's media player read the item's bytes (a ``viewed`` custody event).

    A ``<video>`` element cannot send a bearer header, and seeking needs range requests, so
    the grant is an HttpOnly, SameSite=Strict cookie valid for one hour and sent only to
    ``url``, the item's media path. It names the user and the item: it opens nothing else,
    and it is not a bearer token."""
    item = services.cases.get_item(principal, item_id)
    token, expires = services.identity.grant_media(principal, item.id)
    services.custody.grant_playback(principal, item, client=client)
    url = f"/items/{item.id}/media"
    response.set_cookie(MEDIA_COOKIE, token, path=url, httponly=True, samesite="strict",
                        max_age=int(MEDIA_GRANT_TTL.total_seconds()),
                        secure=request.url.scheme == "https")
    return PlaybackOut(url=url, expires_at=expires)


@router.get("/items/{item_id}/media", response_class=StreamingResponse,
            responses={206: {"description": "the requested byte range"},
                       416: {"description": "the range starts past the end"}})
def play(item_id: str, services: ServicesDep,
         grant: Annotated[str | None, Cookie(alias=MEDIA_COOKIE)] = None,
         range_header: Annotated[str | None, Header(alias="range")] = None,
         ) -> StreamingResponse:
    """The item's bytes for a media player holding a playback grant, whole or one range."""
    principal = services.identity.authenticate_media(grant, item_id)
    item = services.cases.get_item(principal, item_id)
    if item.size is None or item.storage_key is None:
        raise Conflict("the item's bytes have not been received completely")
    span = byte_range(range_header, item.size)
    start, length = span if span is not None else (0, item.size)
    headers = {"Accept-Ranges": "bytes", "Content-Length": str(length),
               "X-Content-SHA256": item.sha256 or ""}
    if span is not None:
        headers["Content-Range"] = f"bytes {start}-{start + length - 1}/{item.size}"
    return StreamingResponse(services.custody.read_range(item, start, length),
                             status_code=206 if span is not None else 200,
                             media_type=item.media_type, headers=headers)


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
