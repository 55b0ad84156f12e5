"""Video analysis: progress, re-runs with zones and lines, derived artefacts and their proofs."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Query, status
from fastapi.responses import StreamingResponse

from evidence_service.api.analysis_schemas import (
    AnalysisIn,
    AnalysisOut,
    ArtefactOut,
    CaseAnalysisIn,
    JobOut,
)
from evidence_service.api.deps import ClientDep, CurrentPrincipal, ServicesDep
from evidence_service.api.guards import GuardedRoute

router = APIRouter(tags=["analysis"], route_class=GuardedRoute)


@router.get("/items/{item_id}/analysis", response_model=AnalysisOut)
def analysis(item_id: str, principal: CurrentPrincipal, services: ServicesDep) -> AnalysisOut:
    """The item's analysis jobs (status, stage, progress, reason) and derived artefacts."""
    jobs = services.analysis.jobs(principal, item_id)
    artefacts = services.analysis.artefacts(principal, item_id)
    return AnalysisOut(jobs=[JobOut.of(j) for j in jobs],
                       artefacts=[ArtefactOut.of(a) for a in artefacts])


@router.post("/items/{item_id}/analysis", response_model=JobOut,
             status_code=status.HTTP_202_ACCEPTED)
def reanalyse(item_id: str, body: AnalysisIn, principal: CurrentPrincipal,
              services: ServicesDep) -> JobOut:
    """Queue a new analysis (or a face-blurred disclosure copy, ``task: redact``)."""
    return JobOut.of(services.analysis.request(principal, item_id, body.options()))


@router.put("/cases/{case_id}/analysis-options", response_model=list[JobOut])
def case_options(case_id: str, body: CaseAnalysisIn, principal: CurrentPrincipal,
                 services: ServicesDep) -> list[JobOut]:
    """Zones, lines and marks for every video of the case; ``rerun`` re-queues them all."""
    jobs = services.analysis.set_case_options(principal, case_id, body.options(),
                                              rerun=body.rerun)
    return [JobOut.of(j) for j in jobs]


@router.get("/artefacts/{artefact_id}/content", response_class=StreamingResponse)
def artefact_content(artefact_id: str, principal: CurrentPrincipal, services: ServicesDep,
                     client: ClientDep,
                     inline: Annotated[bool, Query()] = False) -> StreamingResponse:
    """A derived artefact's bytes (a custody event of its item)."""
    artefact, chunks = services.analysis.open_artefact(principal, artefact_id, client=client)
    disposition = "inline" if inline else "attachment"
    return StreamingResponse(chunks, media_type=artefact.media_type, headers={
        "Content-Disposition": f"{disposition}; filename*=UTF-8''{quote(artefact.name)}",
        "Content-Length": str(artefact.size), "X-Content-SHA256": artefact.sha256})


@router.get("/artefacts/{artefact_id}/proof")
def artefact_proof(artefact_id: str, principal: CurrentPrincipal,
                   services: ServicesDep) -> dict[str, Any]:
    """The artefact's proof bundle (docs/proof-format.md §4; entry kind artefact.registered)."""
    return services.analysis.artefact_proof(principal, artefact_id)
