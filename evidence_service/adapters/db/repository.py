"""SQLAlchemy implementation of the ``Repository`` port and its unit of work."""

from __future__ import annotations

from collections.abc import Collection, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from pydantic import BaseModel
from sqlalchemy import ColumnElement, func, or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from evidence_service.adapters.db.engine import READ_ONLY
from evidence_service.adapters.db.log_records import LogRecords
from evidence_service.adapters.db.orm import (
    AnalysisJobRow,
    ApprovalRow,
    BatchRow,
    CaseRow,
    CustodyEventRow,
    DepartmentRow,
    DerivedArtefactRow,
    DeviceTokenRow,
    EvidenceItemRow,
    IntegrityAlertRow,
    IntegrityScanRow,
    TransferRow,
    UploadRow,
    UserRow,
)
from evidence_service.adapters.db.rows import (
    bulk_insert,
    core_table,
    row_values,
    to_model,
    to_models,
)
from evidence_service.domain.models import (
    AnalysisJob,
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
    Transfer,
    Upload,
    User,
)
from evidence_service.domain.search import ItemSearch, fold_term

_IN_CHUNK = 500
_ITEM_JSON_FIELDS = {"capture", "tags", "flags", "labels"}


def _item_values(item: EvidenceItem, shared: dict[int, dict[str, Any]]) -> dict[str, Any]:
    """``row_values(item)``, faster for many items: the capture and tags objects items share
    (a batch's members often do) are dumped once, through ``shared`` (object id -> dump;
    the items, alive throughout, keep those ids unique)."""
    values = item.model_dump(exclude=_ITEM_JSON_FIELDS)
    for name in ("capture", "tags"):
        part: BaseModel = getattr(item, name)
        dumped = shared.get(id(part))
        if dumped is None:
            dumped = shared[id(part)] = part.model_dump(mode="json")
        values[name] = dumped
    values["flags"] = sorted(flag.value for flag in item.flags)
    values["labels"] = sorted(item.labels)
    return values


def _search_values(item: EvidenceItem) -> dict[str, Any]:
    """The search columns of an item's row, derived from its tags and capture metadata."""

    def folded(value: str | None) -> str | None:
        return fold_term(value) or None if value else None

    tags, capture = item.tags, item.capture
    return {"search_party": folded(tags.party), "search_place": folded(tags.place),
            "search_location": folded(capture.location),
            "search_cause": folded(tags.cause_of_action),
            "inspection_number": tags.inspection_number or None,
            "penalty_number": tags.penalty_number or None,
            "captured_at": capture.captured_at}


def _claimable(stale_before: datetime) -> ColumnElement[bool]:
    """Jobs waiting for a worker: queued, or running under a worker that stopped beating."""
    row = AnalysisJobRow
    return (row.status == "queued") | (
        (row.status == "running") & (row.heartbeat_at < stale_before))


class SqlRepository(LogRecords):
    """Repository over one SQLAlchemy session; every lookup is scoped by department."""

    def __init__(self, session: Session) -> None:
        self._s = session

    # departments and identity
    def add_department(self, department: Department) -> None:
        self._s.add(DepartmentRow(**row_values(department)))
        self._s.flush()

    def get_department(self, department_id: str) -> Department | None:
        return to_model(Department, self._s.get(DepartmentRow, department_id))

    def get_department_by_code(self, code: str) -> Department | None:
        row = self._s.scalar(select(DepartmentRow).where(DepartmentRow.code == code))
        return to_model(Department, row)

    def list_departments(self) -> Sequence[Department]:
        return to_models(Department, self._s.scalars(select(DepartmentRow).order_by("code")).all())

    def add_user(self, user: User) -> None:
        self._s.add(UserRow(**row_values(user)))
        self._s.flush()

    def get_user(self, user_id: str) -> User | None:
        return to_model(User, self._s.get(UserRow, user_id))

    def get_user_by_username(self, username: str) -> User | None:
        return to_model(User, self._s.scalar(select(UserRow).where(UserRow.username == username)))

    def list_users(self, department_id: str) -> Sequence[User]:
        q = select(UserRow).where(UserRow.department_id == department_id).order_by("username")
        return to_models(User, self._s.scalars(q).all())

    def add_device_token(self, token: DeviceToken) -> None:
        self._s.add(DeviceTokenRow(**row_values(token)))
        self._s.flush()

    def get_device_token_by_hash(self, token_sha256: str) -> DeviceToken | None:
        q = select(DeviceTokenRow).where(DeviceTokenRow.token_sha256 == token_sha256)
        return to_model(DeviceToken, self._s.scalar(q))

    def revoke_device_token(self, token_id: str, department_id: str, at: datetime) -> bool:
        q = (
            update(DeviceTokenRow)
            .where(DeviceTokenRow.id == token_id, DeviceTokenRow.department_id == department_id)
            .where(DeviceTokenRow.revoked_at.is_(None))
            .values(revoked_at=at)
        )
        return bool(self._s.execute(q).rowcount)  # type: ignore[attr-defined]

    # cases and items
    def add_case(self, case: Case) -> None:
        self._s.add(CaseRow(**row_values(case)))
        self._s.flush()

    def get_case(self, case_id: str, department_id: str) -> Case | None:
        q = select(CaseRow).where(CaseRow.id == case_id, CaseRow.department_id == department_id)
        return to_model(Case, self._s.scalar(q))

    def get_case_by_number(self, case_number: str, department_id: str) -> Case | None:
        q = select(CaseRow).where(
            CaseRow.case_number == case_number, CaseRow.department_id == department_id
        )
        return to_model(Case, self._s.scalar(q))

    def list_cases(self, department_id: str) -> Sequence[Case]:
        q = select(CaseRow).where(CaseRow.department_id == department_id)
        return to_models(Case, self._s.scalars(q.order_by(CaseRow.created_at)).all())

    def add_item(self, item: EvidenceItem) -> None:
        self._s.add(EvidenceItemRow(**row_values(item), **_search_values(item)))
        self._s.flush()

    def save_item(self, item: EvidenceItem) -> None:
        self._s.merge(EvidenceItemRow(**row_values(item), **_search_values(item)))
        self._s.flush()

    def delete_item(self, item_id: str) -> None:
        row = self._s.get(EvidenceItemRow, item_id)
        if row is not None:
            self._s.delete(row)
            self._s.flush()

    def get_item(self, item_id: str, department_id: str) -> EvidenceItem | None:
        q = select(EvidenceItemRow).where(
            EvidenceItemRow.id == item_id, EvidenceItemRow.department_id == department_id
        )
        return to_model(EvidenceItem, self._s.scalar(q))

    def list_items(self, case_id: str, department_id: str) -> Sequence[EvidenceItem]:
        q = select(EvidenceItemRow).where(
            EvidenceItemRow.case_id == case_id, EvidenceItemRow.department_id == department_id
        )
        rows = self._s.scalars(q.order_by(EvidenceItemRow.created_at)).all()
        return to_models(EvidenceItem, rows)

    def count_items_with_sha256(self, sha256: str, department_id: str) -> int:
        # by the digest's index, then the department (see sha256s_present)
        q = select(EvidenceItemRow.department_id).where(EvidenceItemRow.sha256 == sha256)
        return sum(department == department_id for department in self._s.scalars(q))

    # uploads
    def add_items(self, items: Sequence[EvidenceItem]) -> None:
        if items:
            shared: dict[int, dict[str, Any]] = {}
            bulk_insert(self._s, core_table(EvidenceItemRow),
                        [{**_item_values(i, shared), **_search_values(i)} for i in items])

    def sha256s_present(self, sha256s: Collection[str], department_id: str) -> set[str]:
        wanted, found = sorted(set(sha256s)), set[str]()
        for start in range(0, len(wanted), _IN_CHUNK):  # stay under SQLite's bound-parameter cap
            # by the digest alone, then the department here: given both, SQLite's planner
            # walked the department's index, every item the department holds, per batch
            q = select(EvidenceItemRow.sha256, EvidenceItemRow.department_id).where(
                EvidenceItemRow.sha256.in_(wanted[start:start + _IN_CHUNK]))
            found.update(sha256 for sha256, department in self._s.execute(q)
                         if sha256 and department == department_id)
        return found

    # batches
    def add_batch(self, batch: Batch) -> None:
        self._s.add(BatchRow(**row_values(batch)))
        self._s.flush()

    def get_batch(self, batch_id: str) -> Batch | None:
        return to_model(Batch, self._s.get(BatchRow, batch_id))

    def add_upload(self, upload: Upload) -> None:
        self._s.add(UploadRow(**row_values(upload)))
        self._s.flush()

    def get_upload(self, upload_id: str, *, for_update: bool = False) -> Upload | None:
        q = select(UploadRow).where(UploadRow.id == upload_id)
        if for_update:
            q = q.with_for_update()
        return to_model(Upload, self._s.scalar(q))

    def save_upload(self, upload: Upload) -> None:
        self._s.merge(UploadRow(**row_values(upload)))
        self._s.flush()

    def advance_upload_offset(self, upload_id: str, *, expected: int, new: int,
                              at: datetime) -> bool:
        q = (
            update(UploadRow)
            .where(UploadRow.id == upload_id, UploadRow.offset == expected)
            .where(UploadRow.status == "receiving")
            .values(offset=new, updated_at=at)
        )
        return bool(self._s.execute(q).rowcount)  # type: ignore[attr-defined]

    def list_uploads(self, status: str) -> Sequence[Upload]:
        q = select(UploadRow).where(UploadRow.status == status)
        return to_models(Upload, self._s.scalars(q).all())


    # custody, transfers, approvals, alerts
    def set_department_address(self, department_id: str, address: str) -> None:
        self._s.execute(update(DepartmentRow).where(DepartmentRow.id == department_id)
                        .values(chain_address=address))

    def save_case(self, case: Case) -> None:
        self._s.merge(CaseRow(**row_values(case)))
        self._s.flush()

    def get_case_by_id(self, case_id: str) -> Case | None:
        return to_model(Case, self._s.get(CaseRow, case_id))

    def get_item_by_id(self, item_id: str) -> EvidenceItem | None:
        return to_model(EvidenceItem, self._s.get(EvidenceItemRow, item_id))

    def add_custody_event(self, event: CustodyEvent) -> None:
        self._s.add(CustodyEventRow(**row_values(event)))
        self._s.flush()

    def list_custody_events(self, *, item_ids: Sequence[str] = (),
                            case_ids: Sequence[str] = ()) -> Sequence[CustodyEvent]:
        q = select(CustodyEventRow)
        if item_ids:
            q = q.where(CustodyEventRow.item_id.in_(list(item_ids)))
        if case_ids:
            q = q.where(CustodyEventRow.case_id.in_(list(case_ids)))
        return to_models(CustodyEvent, self._s.scalars(q.order_by(CustodyEventRow.log_index)).all())

    def add_transfer(self, transfer: Transfer) -> None:
        self._s.add(TransferRow(**row_values(transfer)))
        self._s.flush()

    def save_transfer(self, transfer: Transfer) -> None:
        self._s.merge(TransferRow(**row_values(transfer)))
        self._s.flush()

    def get_transfer(self, transfer_id: str, department_id: str, *,
                     for_update: bool = False) -> Transfer | None:
        q = select(TransferRow).where(TransferRow.id == transfer_id).where(
            (TransferRow.from_department_id == department_id)
            | (TransferRow.to_department_id == department_id))
        if for_update:
            q = q.with_for_update()
        return to_model(Transfer, self._s.scalar(q))

    def list_transfers(self, department_id: str, *, incoming: bool) -> Sequence[Transfer]:
        column = TransferRow.to_department_id if incoming else TransferRow.from_department_id
        q = select(TransferRow).where(column == department_id)
        return to_models(Transfer, self._s.scalars(q.order_by(TransferRow.created_at.desc())).all())

    def add_approval(self, approval: Approval) -> None:
        self._s.add(ApprovalRow(**row_values(approval)))
        self._s.flush()

    def list_approvals(self, item_id: str, department_id: str) -> Sequence[Approval]:
        q = select(ApprovalRow).where(ApprovalRow.item_id == item_id,
                                      ApprovalRow.department_id == department_id)
        return to_models(Approval, self._s.scalars(q.order_by(ApprovalRow.granted_at)).all())

    def add_alert(self, alert: IntegrityAlert) -> None:
        self._s.add(IntegrityAlertRow(**row_values(alert)))
        self._s.flush()

    def list_alerts(self, department_id: str, *, open_only: bool = True
                    ) -> Sequence[IntegrityAlert]:
        q = select(IntegrityAlertRow).where(IntegrityAlertRow.department_id == department_id)
        if open_only:
            q = q.where(IntegrityAlertRow.resolved_at.is_(None))
        return to_models(IntegrityAlert,
                       self._s.scalars(q.order_by(IntegrityAlertRow.raised_at.desc())).all())
    # tag search
    def search_items(self, department_id: str, search: ItemSearch, *, limit: int,
                     offset: int) -> Sequence[EvidenceItem]:
        row = EvidenceItemRow
        q = select(row).where(row.department_id == department_id)
        if search.party is not None:
            q = q.where(row.search_party.contains(search.party, autoescape=True))
        if search.place is not None:
            q = q.where(or_(row.search_place.contains(search.place, autoescape=True),
                            row.search_location.contains(search.place, autoescape=True)))
        if search.cause_of_action is not None:
            q = q.where(row.search_cause.contains(search.cause_of_action, autoescape=True))
        if search.inspection_number is not None:
            q = q.where(row.inspection_number == search.inspection_number)
        if search.penalty_number is not None:
            q = q.where(row.penalty_number == search.penalty_number)
        if search.captured_from is not None:
            q = q.where(row.captured_at >= search.captured_from)
        if search.captured_to is not None:
            q = q.where(row.captured_at <= search.captured_to)
        if search.case_id is not None:
            q = q.where(row.case_id == search.case_id)
        q = q.order_by(row.created_at, row.id).limit(limit).offset(offset)
        return to_models(EvidenceItem, self._s.scalars(q).all())

    # analysis jobs and derived artefacts
    def add_job(self, job: AnalysisJob) -> None:
        self._s.add(AnalysisJobRow(**row_values(job)))
        self._s.flush()

    def save_job(self, job: AnalysisJob) -> None:
        self._s.merge(AnalysisJobRow(**row_values(job)))
        self._s.flush()

    def get_job(self, job_id: str) -> AnalysisJob | None:
        return to_model(AnalysisJob, self._s.get(AnalysisJobRow, job_id))

    def list_jobs(self, item_id: str, department_id: str) -> Sequence[AnalysisJob]:
        q = select(AnalysisJobRow).where(AnalysisJobRow.item_id == item_id,
                                         AnalysisJobRow.department_id == department_id)
        return to_models(AnalysisJob, self._s.scalars(q.order_by(AnalysisJobRow.created_at)).all())

    def claim_job(self, *, stale_before: datetime, at: datetime,
                  worker: str | None = None) -> AnalysisJob | None:
        row = AnalysisJobRow
        waiting = _claimable(stale_before)
        candidate = self._s.scalar(select(row.id).where(waiting)
                                   .order_by(row.created_at).limit(1))
        if candidate is None:
            return None
        claimed = self._s.execute(
            update(row).where(row.id == candidate).where(waiting)
            .values(status="running", started_at=at, heartbeat_at=at,
                    attempts=row.attempts + 1, worker=worker))
        if not claimed.rowcount:  # type: ignore[attr-defined]
            return None
        self._s.flush()
        return self.get_job(candidate)

    def count_claimable_jobs(self, *, stale_before: datetime) -> int:
        q = select(func.count()).select_from(AnalysisJobRow).where(_claimable(stale_before))
        return int(self._s.scalar(q) or 0)

    def touch_job(self, job_id: str, *, stage: str, progress: float, at: datetime) -> None:
        self._s.execute(update(AnalysisJobRow).where(AnalysisJobRow.id == job_id)
                        .values(stage=stage, progress=progress, heartbeat_at=at))

    def add_artefact(self, artefact: DerivedArtefact) -> None:
        self._s.add(DerivedArtefactRow(**row_values(artefact)))
        self._s.flush()

    def list_artefacts(self, item_ids: Sequence[str]) -> Sequence[DerivedArtefact]:
        q = select(DerivedArtefactRow).where(DerivedArtefactRow.item_id.in_(list(item_ids)))
        return to_models(DerivedArtefact,
                       self._s.scalars(q.order_by(DerivedArtefactRow.log_index)).all())

    def get_artefact(self, artefact_id: str) -> DerivedArtefact | None:
        return to_model(DerivedArtefact, self._s.get(DerivedArtefactRow, artefact_id))


    # integrity scanning (across departments: the scanner is the service itself)
    def scannable_items(self, *, after: str | None, limit: int) -> Sequence[EvidenceItem]:
        q = select(EvidenceItemRow).where(EvidenceItemRow.storage_key.is_not(None),
                                          EvidenceItemRow.log_index.is_not(None))
        if after is not None:
            q = q.where(EvidenceItemRow.id > after)
        return to_models(EvidenceItem,
                       self._s.scalars(q.order_by(EvidenceItemRow.id).limit(limit)).all())

    def scannable_artefacts(self, *, after: str | None, limit: int) -> Sequence[DerivedArtefact]:
        q = select(DerivedArtefactRow)
        if after is not None:
            q = q.where(DerivedArtefactRow.id > after)
        return to_models(DerivedArtefact,
                       self._s.scalars(q.order_by(DerivedArtefactRow.id).limit(limit)).all())

    def count_scannable(self) -> tuple[int, int]:
        items = self._s.scalar(select(func.count()).where(
            EvidenceItemRow.storage_key.is_not(None), EvidenceItemRow.log_index.is_not(None)))
        artefacts = self._s.scalar(select(func.count()).select_from(DerivedArtefactRow))
        return int(items or 0), int(artefacts or 0)

    def count_open_alerts(self) -> int:
        q = select(func.count()).where(IntegrityAlertRow.resolved_at.is_(None))
        return int(self._s.scalar(q) or 0)

    def save_scan(self, scan: IntegrityScan) -> None:
        self._s.merge(IntegrityScanRow(**row_values(scan)))
        self._s.flush()

    def latest_scan(self, *, finished: bool) -> IntegrityScan | None:
        q = select(IntegrityScanRow)
        if finished:
            q = q.where(IntegrityScanRow.finished_at.is_not(None))
        return to_model(IntegrityScan, self._s.scalar(
            q.order_by(IntegrityScanRow.started_at.desc()).limit(1)))


class SqlUnitOfWork:
    """Callable that opens a transaction and yields a :class:`SqlRepository`."""

    def __init__(self, factory: sessionmaker[Session]) -> None:
        self._factory = factory

    @contextmanager
    def __call__(self, *, read_only: bool = False) -> Iterator[SqlRepository]:
        with self._factory.begin() as session:
            if read_only:
                session.connection(execution_options={READ_ONLY: True})
            yield SqlRepository(session)
