"""Interfaces the services need from the outside world (implemented in ``adapters``)."""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import BinaryIO, Protocol

from evidence_service.domain.log_segment import LogSegment
from evidence_service.domain.models import (
    AnalysisJob,
    AnalysisOptions,
    Anchor,
    Approval,
    Batch,
    Case,
    CustodyEvent,
    Department,
    DerivedArtefact,
    DeviceToken,
    EvidenceItem,
    IntegrityAlert,
    IntegrityScan,
    LogLeaf,
    Transfer,
    Upload,
    User,
)
from evidence_service.domain.search import ItemSearch


class ObjectStore(Protocol):
    """Write-once, content-addressed object storage.

    Keys are content addresses (``sha256/ab/cd/<hex>``), or the range a sealed log segment holds
    (``log-segments/<first>-<end>.jsonl``); an existing key is never overwritten.
    Implementations raise ``StorageUnavailable`` when the backend cannot be reached.
    """

    name: str

    def put_file(self, key: str, source: Path, *, size: int) -> bool:
        """Store the file at ``source`` under ``key``; returns False if the key already existed.

        ``source`` is left in place; the caller removes it once the registration is committed.
        """
        ...

    def put_many(self, objects: Sequence[tuple[str, bytes]]) -> set[str]:
        """Store many small objects at once (key, bytes); returns the keys newly written.

        Durable on return, like ``put_file`` for each, but with a sync per call rather than per
        object. Keys already stored are left alone.
        """
        ...

    def exists(self, key: str) -> bool:
        """Whether an object is stored under ``key``."""
        ...

    def size(self, key: str) -> int:
        """Size in bytes of the object at ``key``; raises NotFound."""
        ...

    def open(self, key: str, *, start: int = 0) -> AbstractContextManager[BinaryIO]:
        """Open the object for streaming reads from byte ``start``; raises NotFound."""
        ...

    def check(self) -> None:
        """Raise StorageUnavailable unless the backend is reachable and writable."""
        ...

    def list_keys(self, prefix: str) -> list[str]:
        """Every stored key starting with ``prefix``, sorted; raises StorageUnavailable."""
        ...


@dataclass(frozen=True)
class NewLogLeaf:
    """A leaf to append in bulk (log recovery): its entry and the row's columns."""

    entry: bytes
    leaf_hash: bytes
    kind: str
    item_id: str | None
    at: datetime
    sha256: str | None = None
    sm3: str | None = None


class Repository(Protocol):
    """Persistence for departments, users, cases, items and uploads (one unit of work)."""

    # departments and identity
    def add_department(self, department: Department) -> None: ...
    def get_department(self, department_id: str) -> Department | None: ...
    def get_department_by_code(self, code: str) -> Department | None: ...
    def list_departments(self) -> Sequence[Department]: ...
    def add_user(self, user: User) -> None: ...
    def get_user(self, user_id: str) -> User | None: ...
    def get_user_by_username(self, username: str) -> User | None: ...
    def list_users(self, department_id: str) -> Sequence[User]: ...
    def add_device_token(self, token: DeviceToken) -> None: ...
    def get_device_token_by_hash(self, token_sha256: str) -> DeviceToken | None: ...
    def revoke_device_token(self, token_id: str, department_id: str, at: datetime) -> bool: ...

    # cases and items
    def add_case(self, case: Case) -> None: ...
    def get_case(self, case_id: str, department_id: str) -> Case | None: ...
    def get_case_by_number(self, case_number: str, department_id: str) -> Case | None: ...
    def list_cases(self, department_id: str) -> Sequence[Case]: ...
    def add_item(self, item: EvidenceItem) -> None: ...
    def save_item(self, item: EvidenceItem) -> None: ...
    def delete_item(self, item_id: str) -> None: ...
    def get_item(self, item_id: str, department_id: str) -> EvidenceItem | None: ...
    def list_items(self, case_id: str, department_id: str) -> Sequence[EvidenceItem]: ...
    def count_items_with_sha256(self, sha256: str, department_id: str) -> int: ...
    def add_items(self, items: Sequence[EvidenceItem]) -> None:
        """Insert many new items at once (batched inserts)."""
        ...
    def sha256s_present(self, sha256s: Collection[str], department_id: str) -> set[str]:
        """Those of ``sha256s`` that some item of the department already holds."""
        ...

    # batches
    def add_batch(self, batch: Batch) -> None: ...
    def get_batch(self, batch_id: str) -> Batch | None: ...

    # uploads
    def add_upload(self, upload: Upload) -> None: ...
    def get_upload(self, upload_id: str, *, for_update: bool = False) -> Upload | None: ...
    def save_upload(self, upload: Upload) -> None: ...
    def advance_upload_offset(self, upload_id: str, *, expected: int, new: int,
                              at: datetime) -> bool: ...
    def list_uploads(self, status: str) -> Sequence[Upload]: ...

    # evidence log (append-only) and anchors
    def append_log_leaf(self, *, entry: bytes, leaf_hash: bytes, kind: str,
                        item_id: str | None, at: datetime, sha256: str | None = None,
                        sm3: str | None = None) -> int:
        """Append a leaf, storing every perfect subtree it completes; returns its index.

        Serialised across processes: the caller's transaction holds the log head until commit.
        """
        ...
    def log_size(self) -> int: ...
    def log_node(self, level: int, index: int) -> bytes: ...
    def get_log_leaf(self, index: int) -> LogLeaf | None: ...
    def first_leaf_with_digest(self, *, sha256: str | None = None,
                               sm3: str | None = None) -> LogLeaf | None:
        """The earliest log entry naming these content digests (the log is the truth)."""
        ...
    def find_items_by_digest(self, *, sha256: str | None = None,
                             sm3: str | None = None) -> Sequence[EvidenceItem]: ...
    def add_anchor(self, anchor: Anchor) -> None: ...
    def latest_anchor(self) -> Anchor | None: ...
    def anchor_covering(self, index: int) -> Anchor | None:
        """The smallest anchored head whose tree contains leaf ``index``."""
        ...
    def get_anchor(self, tree_size: int) -> Anchor | None: ...
    def mark_items_anchored(self, tree_size: int) -> int: ...

    # sealed log segments in object storage (services/log_archive.py)
    def append_log_leaves(self, leaves: Sequence[NewLogLeaf]) -> int:
        """Append ``leaves`` in order, as ``append_log_leaf`` would one by one (one head lock,
        batched inserts); returns the index of the first."""
        ...
    def log_entries(self, start: int, end: int) -> list[bytes]:
        """The entry bytes of leaves ``[start, end)`` in index order; LookupError if any
        is missing."""
        ...
    def add_log_segment(self, segment: LogSegment) -> None: ...
    def last_log_segment(self) -> LogSegment | None: ...
    def mark_log_segment_stored(self, first_index: int, at: datetime) -> None: ...

    # custody, transfers, approvals, alerts
    def set_department_address(self, department_id: str, address: str) -> None: ...
    def save_case(self, case: Case) -> None: ...
    def get_case_by_id(self, case_id: str) -> Case | None:
        """Any department's case: for provenance only, never for display."""
        ...
    def get_item_by_id(self, item_id: str) -> EvidenceItem | None:
        """Any department's item: for provenance and transfer checks only, never for display."""
        ...
    def add_custody_event(self, event: CustodyEvent) -> None: ...
    def list_custody_events(self, *, item_ids: Sequence[str] = (),
                            case_ids: Sequence[str] = ()) -> Sequence[CustodyEvent]: ...
    def add_transfer(self, transfer: Transfer) -> None: ...
    def save_transfer(self, transfer: Transfer) -> None: ...
    def get_transfer(self, transfer_id: str, department_id: str, *,
                     for_update: bool = False) -> Transfer | None:
        """A transfer the department sent or receives; None for anyone else's."""
        ...
    def list_transfers(self, department_id: str, *, incoming: bool) -> Sequence[Transfer]: ...
    def add_approval(self, approval: Approval) -> None: ...
    def list_approvals(self, item_id: str, department_id: str) -> Sequence[Approval]: ...
    def add_alert(self, alert: IntegrityAlert) -> None: ...
    def list_alerts(self, department_id: str, *,
                    open_only: bool = True) -> Sequence[IntegrityAlert]: ...
    # tag search
    def search_items(self, department_id: str, search: ItemSearch, *, limit: int,
                     offset: int) -> Sequence[EvidenceItem]:
        """Items of one department matching every criterion, oldest first (then by id)."""
        ...

    # analysis jobs and derived artefacts
    def add_job(self, job: AnalysisJob) -> None: ...
    def save_job(self, job: AnalysisJob) -> None: ...
    def get_job(self, job_id: str) -> AnalysisJob | None: ...
    def list_jobs(self, item_id: str, department_id: str) -> Sequence[AnalysisJob]: ...
    def claim_job(self, *, stale_before: datetime, at: datetime,
                  worker: str | None = None) -> AnalysisJob | None:
        """Take the oldest queued job, or a running one whose worker stopped beating before
        ``stale_before`` (it died), recording ``worker`` as its claimer; None when there is
        nothing to do or another took it."""
        ...
    def count_claimable_jobs(self, *, stale_before: datetime) -> int:
        """How many jobs ``claim_job`` could take now (queued, or running but stale)."""
        ...
    def touch_job(self, job_id: str, *, stage: str, progress: float, at: datetime) -> None: ...
    def add_artefact(self, artefact: DerivedArtefact) -> None: ...
    def list_artefacts(self, item_ids: Sequence[str]) -> Sequence[DerivedArtefact]: ...
    def get_artefact(self, artefact_id: str) -> DerivedArtefact | None:
        """Any department's artefact: the caller checks access through its item."""
        ...

    # integrity scanning: across departments, for the scanner only (never for display)
    def scannable_items(self, *, after: str | None, limit: int) -> Sequence[EvidenceItem]:
        """Items with stored bytes and a log entry, ordered by id, after ``after``."""
        ...
    def scannable_artefacts(self, *, after: str | None, limit: int) -> Sequence[DerivedArtefact]:
        ...
    def count_scannable(self) -> tuple[int, int]:
        """(items, derived artefacts) the scanner would check now."""
        ...
    def count_open_alerts(self) -> int: ...
    def save_scan(self, scan: IntegrityScan) -> None: ...
    def latest_scan(self, *, finished: bool) -> IntegrityScan | None: ...


class UnitOfWork(Protocol):
    """Opens a transaction; the repository it yields commits on clean exit."""

    def __call__(self, *, read_only: bool = False) -> AbstractContextManager[Repository]:
        """``read_only`` units of work never wait for writers (and must not write)."""
        ...


class AnchorReceipt(Protocol):
    @property
    def tx_hash(self) -> str: ...
    @property
    def block_number(self) -> int: ...
    @property
    def block_time(self) -> datetime: ...


class LedgerAnchor(Protocol):
    """The chain side of anchoring: publishes tree heads and reads them back."""

    @property
    def chain_id(self) -> int: ...
    @property
    def contract_address(self) -> str: ...

    def publish(self, tree_size: int, root: bytes) -> AnchorReceipt:
        """Send ``anchor(tree_size, root)`` and wait for its receipt; ChainUnavailable if down."""
        ...

    def latest_tree_size(self) -> int:
        """The largest tree size anchored on-chain (0 if none)."""
        ...

    def anchored(self, tree_size: int) -> tuple[bytes, AnchorReceipt] | None:
        """Root and receipt facts of an on-chain head, or None if that size was never anchored."""
        ...


@dataclass(frozen=True)
class AnchoredHead:
    """A tree head as the registry's ``Anchored`` event records it."""

    tree_size: int
    root: bytes
    tx_hash: str
    block_number: int
    block_time: datetime


class AnchorHistory(Protocol):
    """Read-only view of every head the registry holds (log recovery compares with it).

    Every method raises ChainUnavailable when the node cannot be reached.
    """

    @property
    def chain_id(self) -> int: ...
    @property
    def contract_address(self) -> str: ...

    def anchored_heads(self, *, from_block: int = 0) -> Sequence[AnchoredHead]:
        """Every anchored head, by increasing tree size (the ``Anchored`` events from
        ``from_block`` on, e.g. the registry's deployment block)."""
        ...

    def anchored_root(self, tree_size: int) -> bytes | None:
        """The root ``anchorOf(tree_size)`` returns now, or None if never anchored."""
        ...


@dataclass(frozen=True)
class OnChainTransfer:
    """A transfer as the registry records it (``status``: open, accepted or rejected)."""

    case_hash: bytes
    manifest_root: bytes
    from_address: str
    to_address: str
    status: str
    opened_at: int
    closed_at: int
    reason_hash: bytes


class DepartmentLedger(Protocol):
    """Department accounts and the transfer steps each department signs with its own key.

    Every method raises ChainUnavailable when the node cannot be reached and Conflict when the
    registry refuses a step (wrong party, not open any more, replay).
    """

    def ensure_department(self, department_id: str, department_hash: bytes) -> str:
        """Create (once) the department's keystore, register its account; return the address."""
        ...

    def open_transfer(self, *, department_id: str, transfer_id: bytes, case_hash: bytes,
                      manifest_root: bytes, to_address: str) -> AnchorReceipt: ...

    def accept_transfer(self, *, department_id: str, transfer_id: bytes) -> AnchorReceipt: ...

    def reject_transfer(self, *, department_id: str, transfer_id: bytes,
                        reason_hash: bytes) -> AnchorReceipt: ...

    def transfer_of(self, transfer_id: bytes) -> OnChainTransfer | None: ...


@dataclass(frozen=True)
class ProducedFile:
    """A file an analysis wrote: what it is (``timeline``, ``keyframe``, …) and its type."""

    kind: str
    path: Path
    media_type: str


class MediaAnalyzer(Protocol):
    """Turns a stored video into derived files (the video pipeline behind a small interface).

    Raises MediaRejected when the file cannot be analysed (its fault: corrupt, not video, …),
    InvalidInput for bad zones/lines/marks, AnalysisFailed when the tools failed.
    """

    def check(self, options: AnalysisOptions) -> None:
        """Raise InvalidInput unless ``options`` can be parsed."""
        ...

    def run(self, source: Path, out_dir: Path, *, options: AnalysisOptions,
            source_sha256: str, progress: Callable[[str, float], None]
            ) -> list[ProducedFile]: ...


class LeaderLock(Protocol):
    """Held by at most one process at a time; lost when the holder dies."""

    def try_acquire(self) -> bool: ...
    def release(self) -> None: ...


class Clock(Protocol):
    def now(self) -> datetime: ...


def iter_file(handle: BinaryIO, *, chunk_size: int = 1 << 20) -> Iterator[bytes]:
    """Yield a binary handle's content in chunks."""
    while chunk := handle.read(chunk_size):
        yield chunk
