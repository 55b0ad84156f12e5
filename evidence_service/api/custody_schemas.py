"""Request and response bodies of custody, grading and transfer endpoints."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from evidence_service.domain.models import (
    Anchor,
    ChainStep,
    Classification,
    IntegrityAlert,
    ItemCheck,
    Transfer,
    TransferStatus,
)
from evidence_service.services.custody import TimelineEntry


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class AnchorOut(BaseModel):
    """An anchored tree head: where and when the chain recorded it."""

    tree_size: int
    root: str
    tx_hash: str
    block_number: int
    block_time: datetime
    chain_id: int
    contract: str

    @classmethod
    def of(cls, anchor: Anchor) -> AnchorOut:
        return cls(tree_size=anchor.tree_size, root=anchor.root, tx_hash=anchor.tx_hash,
                   block_number=anchor.block_number, block_time=anchor.block_time,
                   chain_id=anchor.chain_id, contract=anchor.contract_address)


class CustodyEventOut(BaseModel):
    """One custody event: who did what, when, from where, and its proof in the log."""

    kind: str
    item_id: str | None
    case_id: str
    department_id: str
    actor_id: str
    actor_name: str
    client: str
    at: datetime
    subject: str | None
    note: str | None
    log_index: int
    leaf_hash: str
    anchored: bool
    tree_size: int | None
    root: str | None
    inclusion_proof: list[str]
    anchor: AnchorOut | None

    @classmethod
    def of(cls, entry: TimelineEntry) -> CustodyEventOut:
        e, a = entry.event, entry.anchor
        return cls(kind=e.kind, item_id=e.item_id, case_id=e.case_id,
                   department_id=e.department_id, actor_id=e.actor_id,
                   actor_name=e.actor_name, client=e.client, at=e.at, subject=e.subject,
                   note=e.note, log_index=e.log_index, leaf_hash=entry.leaf_hash,
                   anchored=entry.anchored, tree_size=entry.tree_size, root=entry.root,
                   inclusion_proof=entry.inclusion_proof,
                   anchor=None if a is None else AnchorOut.of(a))


class ApprovalIn(_In):
    purpose: Literal["transfer", "export"]
    note: str | None = Field(default=None, max_length=1000)


class ApprovalOut(BaseModel):
    id: str
    item_id: str
    purpose: str
    granted_by: str
    granted_at: datetime
    log_index: int
    note: str | None


class GradingIn(_In):
    classification: Classification | None = None
    labels: list[str] | None = Field(default=None, max_length=16)


class AlertOut(BaseModel):
    id: str
    item_id: str
    source: str
    reason: str
    raised_at: datetime
    resolved_at: datetime | None

    @classmethod
    def of(cls, alert: IntegrityAlert) -> AlertOut:
        return cls.model_validate(alert.model_dump(exclude={"department_id"}))


class TransferIn(_In):
    to_department: str = Field(min_length=1, max_length=64,
                               description="Receiving department: its id or code")
    items: list[str] | None = Field(default=None, min_length=1, max_length=10_000,
                                    description="Item ids (default: every item of the case)")


class RejectIn(_In):
    reason: str = Field(min_length=1, max_length=2000)


class TransferOut(BaseModel):
    id: str
    case_id: str
    from_department_id: str
    to_department_id: str
    item_ids: list[str]
    manifest_root: str
    status: TransferStatus
    created_by: str
    created_at: datetime
    opened: ChainStep
    decided: ChainStep | None
    decided_by: str | None
    decided_at: datetime | None
    reason: str | None
    checks: list[ItemCheck]
    checked_at: datetime | None
    received_case_id: str | None

    @classmethod
    def of(cls, transfer: Transfer) -> TransferOut:
        return cls.model_validate(transfer.model_dump())


class VerificationOut(BaseModel):
    ok: bool
    items: list[ItemCheck]
    transfer_reasons: list[str]


class PlaybackOut(BaseModel):
    """Where this browser's media player may read the item's bytes, and until when."""

    url: str
    expires_at: datetime
