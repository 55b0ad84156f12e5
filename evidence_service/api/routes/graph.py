"""Tag search over the caller's department's items, and the relationship graph of a case."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from evidence_service.api.deps import ClientDep, CurrentPrincipal, ServicesDep
from evidence_service.api.guards import GuardedRoute
from evidence_service.api.schemas import CaseGraphOut, ItemOut, ItemSearchQuery

router = APIRouter(tags=["graph"], route_class=GuardedRoute)


@router.get("/items/search", response_model=list[ItemOut])
def search_items(query: Annotated[ItemSearchQuery, Query()], principal: CurrentPrincipal,
                 services: ServicesDep, client: ClientDep) -> list[ItemOut]:
    """Items matching every given tag filter; 400 when none is given or the range is inverted.

    Each item returned is a ``viewed`` custody event."""
    items = services.graph.search_items(principal, **query.model_dump())
    services.custody.record_reads(principal, items, client=client)
    return [ItemOut.model_validate(i) for i in items]


@router.get("/cases/{case_id}/graph", response_model=CaseGraphOut)
def case_graph(case_id: str, principal: CurrentPrincipal, services: ServicesDep,
               client: ClientDep) -> CaseGraphOut:
    """Nodes and edges of one case; 404 for unknown ids and other departments' cases alike.

    Recorded as a ``viewed`` custody event of the case."""
    graph = services.graph.case_graph(principal, case_id)
    services.custody.record_case_read(principal, case_id, client=client)
    return CaseGraphOut.model_validate(graph)
