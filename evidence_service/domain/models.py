"""Value objects of the evidence service (frozen pydantic models, tz-aware UTC times)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Digest(_Frozen):
    """A content digest: algorithm name plus lowercase hex value."""

    algorithm: Literal["sha256", "sm3"]
    value: str


class DepartmentKind(StrEnum):
    ENFORCEMENT = "enforcement"
    REVIEW = "review"
    COURT = "court"
    RECONSIDERATION = "reconsideration"
    GOVERNANCE = "governance"


class Role(StrEnum):
    SYSTEM_ADMIN = "system_admin"
    DEPARTMENT_ADMIN = "department_admin"
    OFFICER = "officer"
    REVIEWER = "reviewer"
    VERIFIER = "verifier"
    AUDITOR = "auditor"
    #: Recorder docking stations authenticate with device tokens and hold only this role.
    DEVICE = "device"


class EvidenceKind(StrEnum):
    """Statutory evidence categories (行政执法证据种类)."""

    DOCUMENTARY = "documentary"  # 书证
    PHYSICAL = "physical"  # 物证
    AUDIO_VISUAL = "audio_visual"  # 视听资料
    ELECTRONIC_DATA = "electronic_data"  # 电子数据
    WITNESS_TESTIMONY = "witness_testimony"  # 证人证言
    PARTY_STATEMENT = "party_statement"  # 当事人陈述
    EXPERT_OPINION = "expert_opinion"  # 鉴定意见
    SITE_DRAWING = "site_drawing"  # 勘验笔录、现场笔录 / 现场图
    REMOTE_VIDEO_RECORD = "remote_video_record"  # 远程视频记录


class Classification(StrEnum):
    PUBLIC = "public"
    INTERNAL = "internal"
    RESTRICTED = "restricted"


class CaseStatus(StrEnum):
    OPEN = "open"
    CLOSED = "closed"


class ItemStatus(StrEnum):
    RECEIVING = "receiving"
    STORED = "stored"
    ANCHORED = "anchored"
    VERIFIED = "verified"
    MISMATCH = "mismatch"


class UploadStatus(StrEnum):
    RECEIVING = "receiving"
    COMPLETED = "completed"
    REJECTED = "rejected"
    TERMINATED = "terminated"


class ItemFlag(StrEnum):
    EMPTY_FILE = "empty_file"
    DUPLICATE_CONTENT = "duplicate_content"


class Department(_Frozen):
    id: str
    code: str
    name: str
    kind: DepartmentKind
    created_at: datetime
    #: The department's signing account on the chain (its key is in an encrypted keystore).
    chain_address: str | None = None


class User(_Frozen):
    id: str
    department_id: str
    username: str
    display_name: str
    roles: frozenset[Role]
    badge_number: str | None = None
    active: bool = True
    password_hash: str = Field(repr=False)
    created_at: datetime


class DeviceToken(_Frozen):
    id: str
    department_id: str
    device_id: str
    label: str
    token_sha256: str = Field(repr=False)
    created_by: str
    created_at: datetime
    revoked_at: datetime | None = None


class Principal(_Frozen):
    """Who is calling: a user or a recorder device, always bound to one department."""

    kind: Literal["user", "device"]
    id: str
    department_id: str
    roles: frozenset[Role]
    name: str

    def has_any(self, *roles: Role) -> bool:
        return bool(self.roles.intersection(roles))


class AnalysisOptions(_Frozen):
    """What an analysis is told: detector geometry as the video pipeline's CLI spells it.

    ``zones`` and ``lines`` are ``name=x1,y1,x2,y2,…`` in normalised coordinates, ``marks``
    are times in seconds (``name=12.5``); ``task`` ``analyze`` or ``redact``.
    """

    task: Literal["analyze", "redact"] = "analyze"
    mode: Literal["fast", "full"] = "fast"
    zones: tuple[str, ...] = ()
    lines: tuple[str, ...] = ()
    marks: tuple[str, ...] = ()


class Case(_Frozen):
    id: str
    department_id: str
    case_number: str
    title: str
    cause_of_action: str | None = None
    party: str | None = None
    classification: Classification = Classification.INTERNAL
    status: CaseStatus = CaseStatus.OPEN
    created_by: str
    created_at: datetime
    #: For a case received through a transfer: the sender's case and the transfer.
    origin_case_id: str | None = None
    transfer_id: str | None = None
    #: Zones, lines and marks every video of the case is analysed with (None: defaults).
    analysis_options: AnalysisOptions | None = None


class CaptureMetadata(_Frozen):
    """Where and by whom the evidence was captured."""

    recorder_id: str | None = Field(default=None, max_length=128)
    badge_number: str | None = Field(default=None, max_length=64)
    captured_at: datetime | None = None
    location: str | None = Field(default=None, max_length=512)


class EvidenceTags(_Frozen):
    """Searchable tags: party, place, time, cause of action, inspection or penalty number."""

    party: str | None = Field(default=None, max_length=256)
    place: str | None = Field(default=None, max_length=256)
    time: str | None = Field(default=None, max_length=64)
    cause_of_action: str | None = Field(default=None, max_length=256)
    inspection_number: str | None = Field(default=None, max_length=128)
    penalty_number: str | None = Field(default=None, max_length=128)


class EvidenceItem(_Frozen):
    id: str
    case_id: str
    department_id: str
    kind: EvidenceKind
    original_filename: str
    media_type: str
    declared_size: int
    size: int | None = None
    sha256: str | None = None
    sm3: str | None = None
    storage_key: str | None = None
    capture: CaptureMetadata = CaptureMetadata()
    tags: EvidenceTags = EvidenceTags()
    classification: Classification = Classification.INTERNAL
    status: ItemStatus = ItemStatus.RECEIVING
    flags: frozenset[ItemFlag] = frozenset()
    created_by: str
    created_at: datetime
    stored_at: datetime | None = None
    log_index: int | None = None
    #: Material labels the negative list matches (e.g. ``unclosed_complaint_clue``).
    labels: frozenset[str] = frozenset()
    #: For an item received through a transfer: the sender's item (same bytes, same log entry).
    origin_item_id: str | None = None


class Upload(_Frozen):
    """A resumable upload of one item's bytes (tus 1.0)."""

    id: str
    item_id: str
    department_id: str
    created_by: str
    length: int
    offset: int = 0
    declared_sha256: str | None = None
    status: UploadStatus = UploadStatus.RECEIVING
    reason: str | None = None
    created_at: datetime
    updated_at: datetime
    expires_at: datetime


class Batch(_Frozen):
    """A batch registration (a docking station's offload): the items it registered at once.

    Its id is the client's idempotency key: sending the same batch again returns these items
    instead of registering them twice.
    """

    id: str
    department_id: str
    case_id: str
    created_by: str
    created_at: datetime
    item_ids: tuple[str, ...]  # stored sorted: the items' log indexes give the archive order


class NewUpload(_Frozen):
    """What a client declares when it starts an upload."""

    case_id: str
    filename: str
    media_type: str
    kind: EvidenceKind
    length: int
    declared_sha256: str | None = None
    capture: CaptureMetadata = CaptureMetadata()
    tags: EvidenceTags = EvidenceTags()
    classification: Classification = Classification.INTERNAL
    labels: frozenset[str] = frozenset()


class LogLeaf(_Frozen):
    """One entry of the append-only evidence log."""

    index: int
    leaf_hash: str
    entry: bytes
    kind: str
    item_id: str | None = None
    created_at: datetime


class Anchor(_Frozen):
    """A tree head published on-chain."""

    tree_size: int
    root: str
    tx_hash: str
    block_number: int
    block_time: datetime
    chain_id: int
    contract_address: str
    created_at: datetime


class TreeHead(_Frozen):
    size: int
    root: str


class CustodyEvent(_Frozen):
    """One use of evidence, recorded in the database and as a leaf of the evidence log."""

    id: str
    log_index: int
    kind: str
    item_id: str | None
    case_id: str
    department_id: str
    actor_id: str
    actor_name: str
    client: str
    at: datetime
    subject: str | None = None
    note: str | None = None


class ChainStep(_Frozen):
    """An on-chain transaction of a transfer step."""

    tx_hash: str
    block_number: int
    block_time: datetime


class TransferStatus(StrEnum):
    OPEN = "open"
    ACCEPTED = "accepted"
    REJECTED = "rejected"


class ItemCheck(_Frozen):
    """The receiver's verification of one transferred item."""

    item_id: str
    ok: bool
    reasons: tuple[str, ...] = ()
    tree_size: int | None = None


class Transfer(_Frozen):
    """A case (or some of its items) sent from one department to another."""

    id: str
    case_id: str
    from_department_id: str
    to_department_id: str
    item_ids: tuple[str, ...]
    manifest_root: str
    status: TransferStatus = TransferStatus.OPEN
    created_by: str
    created_at: datetime
    opened: ChainStep
    decided: ChainStep | None = None
    decided_by: str | None = None
    decided_at: datetime | None = None
    reason: str | None = None
    checks: tuple[ItemCheck, ...] = ()
    checked_at: datetime | None = None
    received_case_id: str | None = None


class Approval(_Frozen):
    """A department admin's approval for a restricted item to leave the department."""

    id: str
    item_id: str
    department_id: str
    purpose: Literal["transfer", "export"]
    granted_by: str
    granted_at: datetime
    log_index: int
    note: str | None = None


class IntegrityAlert(_Frozen):
    """Evidence that no longer matches its record, shown to review staff until resolved."""

    id: str
    department_id: str
    item_id: str
    source: str
    reason: str
    raised_at: datetime
    resolved_at: datetime | None = None


class JobStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


class AnalysisJob(_Frozen):
    """A background analysis of one stored item; persisted so a restart resumes it."""

    id: str
    item_id: str
    department_id: str
    options: AnalysisOptions
    status: JobStatus = JobStatus.QUEUED
    stage: str | None = None
    progress: float = 0.0
    reason: str | None = None
    attempts: int = 0
    requested_by: str
    created_at: datetime
    started_at: datetime | None = None
    heartbeat_at: datetime | None = None
    finished_at: datetime | None = None
    #: The worker that claimed the job last (``host:pid`` or a Celery node name).
    worker: str | None = None


class DerivedArtefact(_Frozen):
    """A file made from an original (key frame, timeline, summary, redacted copy, …).

    Hashed, stored content-addressed and registered in the evidence log like an original;
    ``derived_from_sha256`` links it to the original's bytes, which are never modified.
    """

    id: str
    item_id: str
    department_id: str
    job_id: str
    kind: str
    name: str
    media_type: str
    size: int
    sha256: str
    sm3: str
    storage_key: str
    derived_from_sha256: str
    log_index: int
    created_at: datetime


class IntegrityScan(_Frozen):
    """One pass of the integrity scanner over every stored object (``running`` until done).

    ``items_checked`` / ``items_total`` (and the same for artefacts) is the pass's coverage.
    """

    id: str
    started_at: datetime
    finished_at: datetime | None = None
    status: Literal["running", "done", "failed"] = "running"
    items_total: int = 0
    items_checked: int = 0
    artefacts_total: int = 0
    artefacts_checked: int = 0
    bytes_scanned: int = 0
    mismatches: int = 0
    error: str | None = None

    @property
    def coverage(self) -> float:
        """Objects checked / objects that existed when the pass started (1.0 when none)."""
        total = self.items_total + self.artefacts_total
        return 1.0 if total == 0 else (self.items_checked + self.artefacts_checked) / total
