"""Cases and evidence items of the caller's department."""

from __future__ import annotations

from fastapi import APIRouter, status

from evidence_service.api.deps import ClientDep, CurrentPrincipal, ServicesDep
from evidence_service.api.guards import GuardedRoute
from evidence_service.api.schemas import CaseIn, CaseOut, ItemOut
from evidence_service.domain.custody import CustodyKind

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
def list_items(case_id: str, principal: CurrentPrincipal, services: ServicesDep,
               client: ClientDep) -> list[ItemOut]:
    """Evidence items of one case (recorded as a ``viewed`` event of the case)."""
    items = services.cases.list_items(principal, case_id)
    services.custody.record_case_read(principal, case_id, client=client)
    return [ItemOut.model_validate(i) for i in items]


@router.get("/items/{item_id}", response_model=ItemOut)
def get_item(item_id: str, principal: CurrentPrincipal, services: ServicesDep,
             client: ClientDep) -> ItemOut:
    """One evidence item with its hashes and status (recorded as a ``viewed`` event)."""
    item = services.cases.get_item(principal, item_id)
    services.custody.record_read(principal, item, kind=CustodyKind.VIEWED, client=client)
    return ItemOut.model_validate(item)
