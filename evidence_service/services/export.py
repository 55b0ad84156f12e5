"""Export a case as a court-ready package (docs/package-format.md).

Collects the case's stored items, their proof bundles and the full custody history (with the
history the evidence had in departments it came from), checks the grading rules, writes the
ZIP through ``write_case_package`` (which re-hashes every file as it goes) and records an
``exported`` custody event per item naming the package's SHA-256.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import BinaryIO, cast

from evidence_service.domain.custody import CustodyKind
from evidence_service.domain.errors import InvalidInput, NotFound, TransferBlocked
from evidence_service.domain.models import (
    Case,
    CustodyEvent,
    DerivedArtefact,
    EvidenceItem,
    Principal,
)
from evidence_service.domain.policy import ItemContext, sharing_policy
from evidence_service.domain.rules import is_canonical_uuid
from evidence_service.ports import Clock, LedgerAnchor, ObjectStore, Repository, UnitOfWork
from evidence_service.services.cases import READ_ROLES, require
from evidence_service.services.custody import CustodyService, lineage, record_event
from evidence_service.services.packages import (
    PackageArtefact,
    PackageCase,
    PackageChain,
    PackageDepartment,
    PackageEvent,
    PackageExporter,
    PackageItem,
    PackageSummary,
    write_case_package,
)
from evidence_service.services.verification import leaf_bundle

_logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ExportResult:
    summary: PackageSummary
    sha256: str
    size: int


class _HashingWriter:
    """Passes writes through to ``out`` while hashing them."""

    def __init__(self, out: BinaryIO) -> None:
        self._out = out
        self.hash = hashlib.sha256()
        self.size = 0

    def write(self, data: bytes) -> int:
        self.hash.update(data)
        self.size += len(data)
        return self._out.write(data)

    def flush(self) -> None:
        self._out.flush()


class ExportService:
    """Builds case packages for courts and reconsideration bodies."""

    def __init__(self, *, uow: UnitOfWork, store: ObjectStore, clock: Clock,
                 custody: CustodyService, ledger: LedgerAnchor | None) -> None:
        self._uow = uow
        self._store = store
        self._clock = clock
        self._custody = custody
        self._ledger = ledger

    def export_case(self, principal: Principal, case_id: str, out: BinaryIO, *,
                    client: str) -> ExportResult:
        """Write the case package to ``out``; on any error the output must be discarded.

        Raises NotFound, PermissionDenied, InvalidInput (nothing to export), TransferBlocked
        (restricted items without an export approval), DigestMismatch (stored bytes altered),
        StorageUnavailable.
        """
        require(principal, READ_ROLES, "exporting cases")
        case, items, department = self._gather(principal, case_id)
        events = [self._event(e.event) for e in
                  self._custody.case_timeline(principal, case.id)]
        with self._uow(read_only=True) as repo:
            package_items = [self._item(repo, item) for item in items]
        writer = _HashingWriter(out)
        summary = write_case_package(
            cast(BinaryIO, writer),
            case=PackageCase(id=case.id, case_number=case.case_number, title=case.title,
                             cause_of_action=case.cause_of_action, party=case.party,
                             department=department),
            items=package_items, events=events, chain=self._chain(),
            exported_by=PackageExporter(department_id=principal.department_id,
                                        user_id=principal.id),
            exported_at=self._clock.now())
        digest = writer.hash.hexdigest()
        now = self._clock.now()
        with self._uow() as repo:
            for item in items:
                record_event(repo, kind=CustodyKind.EXPORTED, principal=principal, client=client,
                             at=now, case_id=case.id, item=item, subject=digest)
        _logger.info("case exported case=%s items=%d sha256=%s", case.id, len(items), digest)
        return ExportResult(summary=summary, sha256=digest, size=writer.size)

    def _gather(self, principal: Principal, case_id: str
                ) -> tuple[Case, list[EvidenceItem], PackageDepartment]:
        with self._uow(read_only=True) as repo:
            case = repo.get_case(case_id, principal.department_id) if is_canonical_uuid(
                case_id) else None
            if case is None:
                raise NotFound("case not found")
            items = [i for i in repo.list_items(case.id, principal.department_id)
                     if i.log_index is not None and i.storage_key is not None]
            dept = repo.get_department(principal.department_id)
            assert dept is not None
            approvals = {i.id: {a.purpose for a in repo.list_approvals(
                i.id, principal.department_id)} for i in items}
        if not items:
            raise InvalidInput("the case has no stored evidence to export")
        policy = sharing_policy((), purpose="export")
        blocks = [b for i in items for b in policy.check(ItemContext(i, approvals[i.id]),
                                                         "export")]
        if blocks:
            raise TransferBlocked(
                f"item {blocks[0].item_id} cannot be exported: {blocks[0].reason}",
                details=[{"item_id": b.item_id, "rule": b.rule, "reason": b.reason}
                         for b in blocks])
        return case, items, PackageDepartment(id=dept.id, code=dept.code, name=dept.name)

    def _item(self, repo: Repository, item: EvidenceItem) -> PackageItem:
        assert item.log_index is not None and item.storage_key is not None
        key = item.storage_key

        def open_bytes() -> AbstractContextManager[BinaryIO]:
            return self._store.open(key)

        origins = lineage(repo, item)
        derived = [self._artefact(repo, a)
                   for a in repo.list_artefacts([i.id for i in origins])]
        return PackageItem(
            item_id=item.id, kind=item.kind.value, original_filename=item.original_filename,
            media_type=item.media_type, size=item.size or 0, sha256=item.sha256 or "",
            sm3=item.sm3 or "", classification=item.classification.value,
            open_bytes=open_bytes, proof=leaf_bundle(repo, item.log_index),
            origin_item_ids=[i.id for i in origins[1:]], derived=derived)

    def _artefact(self, repo: Repository, artefact: DerivedArtefact) -> PackageArtefact:
        key = artefact.storage_key

        def open_bytes() -> AbstractContextManager[BinaryIO]:
            return self._store.open(key)

        return PackageArtefact(
            artefact_id=artefact.id, name=f"{artefact.job_id[:8]}-{artefact.name}",
            sha256=artefact.sha256, sm3=artefact.sm3, size=artefact.size,
            derived_from_sha256=artefact.derived_from_sha256, open_bytes=open_bytes,
            proof=leaf_bundle(repo, artefact.log_index))

    def _event(self, event: CustodyEvent) -> PackageEvent:
        with self._uow(read_only=True) as repo:
            proof = leaf_bundle(repo, event.log_index)
        kind = {CustodyKind.UPLOADED.value: "evidence.registered",
                CustodyKind.DERIVED_ADDED.value: "artefact.registered"}.get(
            event.kind) or CustodyKind(event.kind).entry_kind
        summary = f"{event.kind} by {event.actor_name}"
        if event.note:
            summary += f": {event.note}"
        return PackageEvent(kind=kind, item_id=event.item_id, time=event.at,
                            department_id=event.department_id, actor_id=event.actor_id,
                            summary=summary, proof=proof)

    def _chain(self) -> PackageChain | None:
        if self._ledger is None:
            return None
        return PackageChain(chain_id=self._ledger.chain_id,
                            contract=self._ledger.contract_address)


__all__: Sequence[str] = ["ExportResult", "ExportService"]
