"""Request and response bodies of the HTTP API."""

from __future__ import annotations

import unicodedata
from datetime import datetime
from typing import Annotated

from pydantic import AfterValidator, AwareDatetime, BaseModel, BeforeValidator, ConfigDict, Field

from evidence_service.domain.graph import NodeType
from evidence_service.domain.models import (
    CaptureMetadata,
    CaseStatus,
    Classification,
    DepartmentKind,
    EvidenceKind,
    EvidenceTags,
    ItemFlag,
    ItemStatus,
    Role,
    UploadStatus,
)
from evidence_service.domain.search import DEFAULT_SEARCH_LIMIT, MAX_SEARCH_LIMIT


def _no_controls(value: str) -> str:
    if any(unicodedata.category(ch) == "Cc" for ch in value):
        raise ValueError("must not contain control characters")
    return value


#: Free text that is stored and shown: no NUL or other control characters.
_Text = Annotated[str, AfterValidator(_no_controls)]
_Code = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class _Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class LoginIn(_In):
    username: _Text = Field(min_length=1, max_length=128)
    password: str = Field(min_length=1, max_length=1024)


class TokenOut(BaseModel):
    access_token: str
    token_type: str = "bearer"
    expires_in: int
    user_id: str
    department_id: str
    roles: list[Role]


class PrincipalOut(BaseModel):
    kind: str
    id: str
    name: str
    department_id: str
    roles: list[Role]


class DepartmentIn(_In):
    code: str = _Code
    name: _Text = Field(min_length=1, max_length=256)
    kind: DepartmentKind


class DepartmentOut(_Out):
    id: str
    code: str
    name: str
    kind: DepartmentKind
    created_at: datetime
    chain_address: str | None = None


class UserIn(_In):
    username: str = Field(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9_.@-]+$")
    password: str = Field(min_length=10, max_length=1024)
    roles: list[Role] = Field(min_length=1)
    display_name: _Text | None = Field(default=None, max_length=256)
    badge_number: _Text | None = Field(default=None, max_length=64)


class UserOut(_Out):
    id: str
    department_id: str
    username: str
    display_name: str
    roles: list[Role]
    badge_number: str | None
    active: bool


class DeviceTokenIn(_In):
    device_id: _Text = Field(min_length=1, max_length=128)
    label: _Text = Field(default="", max_length=256)


class DeviceTokenOut(_Out):
    id: str
    department_id: str
    device_id: str
    label: str
    created_at: datetime
    revoked_at: datetime | None


class DeviceTokenCreated(DeviceTokenOut):
    token: str = Field(description="Shown once; store it on the docking station")


class CaseIn(_In):
    case_number: _Text = Field(min_length=1, max_length=128)
    title: _Text = Field(min_length=1, max_length=512)
    cause_of_action: _Text | None = Field(default=None, max_length=512)
    party: _Text | None = Field(default=None, max_length=512)
    classification: Classification = Classification.INTERNAL


class CaseOut(_Out):
    id: str
    department_id: str
    case_number: str
    title: str
    cause_of_action: str | None
    party: str | None
    classification: Classification
    status: CaseStatus
    created_at: datetime
    origin_case_id: str | None = None
    transfer_id: str | None = None


class ItemOut(_Out):
    id: str
    case_id: str
    kind: EvidenceKind
    original_filename: str
    media_type: str
    declared_size: int
    size: int | None
    sha256: str | None
    sm3: str | None
    capture: CaptureMetadata
    tags: EvidenceTags
    classification: Classification
    status: ItemStatus
    flags: list[ItemFlag]
    labels: list[str]
    created_at: datetime
    stored_at: datetime | None
    origin_item_id: str | None = None


class UploadOut(_Out):
    id: str
    item_id: str
    length: int
    offset: int
    status: UploadStatus
    reason: str | None
    expires_at: datetime


# -- tag search and the case graph -------------------------------------------------------------
def _iso_time(value: object) -> object:
    """Accept only ISO 8601 text (pydantic alone would also take epoch seconds)."""
    if not isinstance(value, str):
        return value
    try:
        return datetime.fromisoformat(value)
    except ValueError as exc:
        raise ValueError("must be an ISO 8601 time with a timezone offset, such as "
                         "2026-11-20T09:30:00+08:00 (send '+' as %2B in a URL)") from exc


_AwareTime = Annotated[AwareDatetime, BeforeValidator(_iso_time)]


class ItemSearchQuery(_In):
    """Query parameters of ``GET /items/search``; unknown parameters are refused (422)."""

    party: _Text | None = Field(default=None, max_length=256)
    place: _Text | None = Field(default=None, max_length=512)
    cause_of_action: _Text | None = Field(default=None, max_length=256)
    inspection_number: _Text | None = Field(default=None, max_length=128)
    penalty_number: _Text | None = Field(default=None, max_length=128)
    captured_from: _AwareTime | None = None
    captured_to: _AwareTime | None = None
    case_id: str | None = Field(default=None, max_length=64)
    limit: int = Field(default=DEFAULT_SEARCH_LIMIT, ge=1, le=MAX_SEARCH_LIMIT)
    offset: int = Field(default=0, ge=0, le=1_000_000_000)


class GraphNodeOut(_Out):
    id: str
    type: NodeType
    label: str
    attributes: dict[str, str]


class GraphEdgeOut(_Out):
    source: str
    target: str
    relation: str
    via: str | None


class CaseGraphOut(_Out):
    nodes: list[GraphNodeOut]
    edges: list[GraphEdgeOut]
    pairwise_omitted: list[str] = Field(
        description="Shared nodes whose items are too many for pairwise item edges")


class BatchItemOut(_Out):
    """An item a batch registered, in the order of the archive's members."""

    id: str
    original_filename: str
    size: int | None
    sha256: str | None
    sm3: str | None
    status: ItemStatus
    flags: list[ItemFlag]
    log_index: int | None


class BatchOut(BaseModel):
    batch_id: str
    case_id: str
    created_at: datetime
    replayed: bool  # True when this Batch-Id had already been registered: nothing new
    count: int
    items: list[BatchItemOut]
