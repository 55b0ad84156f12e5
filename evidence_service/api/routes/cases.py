"""Cases and evidence items of the caller's department."""

from __future__ import annotations

from fastapi import APIRouter, status

from evidence_service.api.deps import CurrentPrincipal, ServicesDep
from evidence_service.api.guards import GuardedRoute
from evidence_service.api.schemas import CaseIn, CaseOut, ItemOut

router = APIRouter(tags=["cases"], route_class=GuardedRoute)


@router.post("/cases", response_model=CaseOut, status_code=status.HTTP_201_CREATED)
def create_case(body: CaseIn, principal: CurrentPrincipal, services: ServicesDep) -> CaseOut:
    """Open a case in the caller's department."""
    case = services.cases.create_case(principal, **body.model_dump())
    return CaseOut.model_validate(case)


@router.get("/cases", response_model=list[CaseOut])
def list_cases(principal: CurrentPrincipal, services: ServicesDep) -> list[CaseOut]:
    """Cases of the caller's department."""
    return [CaseOut.model_validate(c) for c in services.cases.list_cases(principal)]


@router.get("/cases/{case_id}", response_model=CaseOut)
def get_case(case_id: str, principal: CurrentPrincipal, services: ServicesDep) -> CaseOut:
    """One case; 404 for unknown ids and for other departments' cases alike."""
    return CaseOut.model_validate(services.cases.get_case(principal, case_id))


@router.get("/cases/{case_id}/items", response_model=list[ItemOut])
def list_items(case_id: str, principal: CurrentPrincipal, services: ServicesDep) -> list[ItemOut]:
    """Evidence items of one case."""
    return [ItemOut.model_validate(i) for i in services.cases.list_items(principal, case_id)]


@router.get("/items/{item_id}", response_model=ItemOut)
def get_item(item_id: str, principal: CurrentPrincipal, services: ServicesDep) -> ItemOut:
    """One evidence item with its hashes and status."""
    return ItemOut.model_validate(services.cases.get_item(principal, item_id))
