"""Tag search over the caller's department's items, and the relationship graph of a case."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from evidence_service.api.deps import CurrentPrincipal, ServicesDep
from evidence_service.api.guards import GuardedRoute
from evidence_service.api.schemas import CaseGraphOut, ItemOut, ItemSearchQuery

router = APIRouter(tags=["graph"], route_class=GuardedRoute)


@router.get("/items/search", response_model=list[ItemOut])
def search_items(query: Annotated[ItemSearchQuery, Query()], principal: CurrentPrincipal,
                 services: ServicesDep) -> list[ItemOut]:
    """Items matching every given tag filter; 400 when none is given or the range is inverted."""
    items = services.graph.search_items(principal, **query.model_dump())
    return [ItemOut.model_validate(i) for i in items]


@router.get("/cases/{case_id}/graph", response_model=CaseGraphOut)
def case_graph(case_id: str, principal: CurrentPrincipal, services: ServicesDep) -> CaseGraphOut:
    """Nodes and edges of one case; 404 for unknown ids and other departments' cases alike."""
    return CaseGraphOut.model_validate(services.graph.case_graph(principal, case_id))
