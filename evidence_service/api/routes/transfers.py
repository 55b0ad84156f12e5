"""One-click transfers between departments: send, inbox, verify, accept, reject."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, status

from evidence_service.api.custody_schemas import (
    RejectIn,
    TransferIn,
    TransferOut,
    VerificationOut,
)
from evidence_service.api.deps import ClientDep, CurrentPrincipal, ServicesDep
from evidence_service.api.guards import GuardedRoute

router = APIRouter(tags=["transfers"], route_class=GuardedRoute)


@router.post("/cases/{case_id}/transfers", response_model=TransferOut,
             status_code=status.HTTP_201_CREATED)
def send(case_id: str, body: TransferIn, principal: CurrentPrincipal, services: ServicesDep,
         client: ClientDep) -> TransferOut:
    """Send the case's evidence (all items by default) to another department, on-chain."""
    transfer = services.transfers.send(principal, case_id, to_department=body.to_department,
                                       item_ids=body.items, client=client)
    return TransferOut.of(transfer)


@router.get("/transfers", response_model=list[TransferOut])
def inbox(principal: CurrentPrincipal, services: ServicesDep,
          direction: Annotated[Literal["incoming", "outgoing"], Query()] = "incoming",
          ) -> list[TransferOut]:
    """Transfers addressed to the caller's department (or, ``outgoing``, sent by it)."""
    found = services.transfers.list_transfers(principal, incoming=direction == "incoming")
    return [TransferOut.of(t) for t in found]


@router.get("/transfers/{transfer_id}", response_model=TransferOut)
def get_transfer(transfer_id: str, principal: CurrentPrincipal,
                 services: ServicesDep) -> TransferOut:
    """One transfer the caller's department sent or receives."""
    return TransferOut.of(services.transfers.get(principal, transfer_id))


@router.post("/transfers/{transfer_id}/verify", response_model=VerificationOut)
def verify(transfer_id: str, principal: CurrentPrincipal,
           services: ServicesDep) -> VerificationOut:
    """Re-verify every item of an incoming transfer without deciding (the receiver)."""
    result = services.transfers.verify(principal, transfer_id)
    return VerificationOut(ok=result.ok, items=list(result.items),
                           transfer_reasons=list(result.transfer_reasons))


@router.post("/transfers/{transfer_id}/accept", response_model=TransferOut)
def accept(transfer_id: str, principal: CurrentPrincipal, services: ServicesDep,
           client: ClientDep) -> TransferOut:
    """Verify everything, then accept on-chain and receive the case (409 on any mismatch)."""
    return TransferOut.of(services.transfers.accept(principal, transfer_id, client=client))


@router.post("/transfers/{transfer_id}/reject", response_model=TransferOut)
def reject(transfer_id: str, body: RejectIn, principal: CurrentPrincipal,
           services: ServicesDep, client: ClientDep) -> TransferOut:
    """Reject an incoming transfer with a reason (its hash goes on-chain)."""
    return TransferOut.of(services.transfers.reject(principal, transfer_id,
                                                    reason=body.reason, client=client))
