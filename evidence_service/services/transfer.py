"""One-click transfer of a case's evidence to another department, recorded on-chain.

Sending builds a manifest (an RFC 9162 root over the items' digests and log positions) and
sends ``openTransfer`` signed by the sender's own key. Accepting first re-verifies every item
(bytes re-hashed, database row against its log entry, inclusion proof against the root the
chain holds, the manifest against the on-chain transfer); only then ``acceptTransfer`` is
sent, signed by the receiver, and the receiver gets the case with the original hashes and
history. Any mismatch blocks acceptance, names the item and raises an integrity alert.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from evidence_service.domain import merkle_log
from evidence_service.domain.custody import (
    CustodyKind,
    id_hash,
    manifest_leaf,
    manifest_root,
    reason_hash,
)
from evidence_service.domain.errors import (
    ChainUnavailable,
    Conflict,
    IntegrityFailure,
    InvalidInput,
    NotFound,
    PermissionDenied,
    TransferBlocked,
)
from evidence_service.domain.hashing import DualHasher
from evidence_service.domain.merkle_log import leaf_hash as leaf_hash_of
from evidence_service.domain.models import (
    Case,
    ChainStep,
    EvidenceItem,
    ItemCheck,
    ItemStatus,
    Principal,
    Role,
    Transfer,
    TransferStatus,
)
from evidence_service.domain.policy import ItemContext, NegativeEntry, sharing_policy
from evidence_service.domain.rules import is_canonical_uuid
from evidence_service.ports import (
    AnchorReceipt,
    Clock,
    DepartmentLedger,
    LedgerAnchor,
    ObjectStore,
    Repository,
    UnitOfWork,
    iter_file,
)
from evidence_service.services.cases import READ_ROLES, WRITE_ROLES, require
from evidence_service.services.custody import lineage, raise_alert, record_event
from evidence_service.services.verification import expected_registration
from evidence_verify import ProofError, verify_inclusion

_logger = logging.getLogger(__name__)
#: Roles that may accept or reject what another department sends.
DECIDE_ROLES = (Role.DEPARTMENT_ADMIN, Role.OFFICER, Role.REVIEWER, Role.VERIFIER)
_MAX_REASON = 2000


def _step(receipt: AnchorReceipt) -> ChainStep:
    return ChainStep(tx_hash=receipt.tx_hash, block_number=receipt.block_number,
                     block_time=receipt.block_time)


@dataclass(frozen=True)
class Verification:
    """The receiver's checks: one per item, plus problems with the transfer as a whole."""

    items: tuple[ItemCheck, ...]
    transfer_reasons: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return not self.transfer_reasons and all(c.ok for c in self.items)


class TransferService:
    """Send, list, verify, accept and reject transfers between departments."""

    def __init__(self, *, uow: UnitOfWork, store: ObjectStore, clock: Clock,
                 ledger: DepartmentLedger | None, anchors: LedgerAnchor | None,
                 negative_list: Sequence[NegativeEntry]) -> None:
        self._uow = uow
        self._store = store
        self._clock = clock
        self._ledger = ledger
        self._anchors = anchors
        self._negative = tuple(negative_list)

    # -- department accounts -------------------------------------------------------------
    def provision_department(self, department_id: str) -> str:
        """Give a department its chain account (once); returns the address.

        Raises ChainUnavailable when there is no chain or it cannot be reached.
        """
        ledger = self._require_ledger()
        address = ledger.ensure_department(department_id, id_hash(department_id))
        with self._uow() as repo:
            repo.set_department_address(department_id, address)
        return address

    def _address(self, repo: Repository, department_id: str) -> str:
        department = repo.get_department(department_id)
        assert department is not None
        return department.chain_address or self.provision_department(department_id)

    def _require_ledger(self) -> DepartmentLedger:
        if self._ledger is None or self._anchors is None:
            raise ChainUnavailable("transfers need the chain; this service runs without one")
        return self._ledger

    # -- sending -------------------------------------------------------------------------
    def send(self, principal: Principal, case_id: str, *, to_department: str,
             item_ids: Sequence[str] | None, client: str) -> Transfer:
        """Offer a case's items (all by default) to another department.

        Raises NotFound, PermissionDenied, InvalidInput, TransferBlocked (grading, approval or
        the negative list), Conflict (the chain refused) and ChainUnavailable.
        """
        require(principal, WRITE_ROLES, "sending evidence to another department")
        ledger = self._require_ledger()
        case, items, receiver = self._gather(principal, case_id, to_department, item_ids)
        self._enforce_policy(principal, items)
        leaves = [manifest_leaf(item_id=i.id, sha256=i.sha256 or "", sm3=i.sm3 or "",
                                size=i.size or 0, log_index=i.log_index or 0) for i in items]
        root = manifest_root(leaves)
        transfer_id = str(uuid.uuid4())
        with self._uow(read_only=True) as repo:
            self._address(repo, principal.department_id)
            to_address = self._address(repo, receiver)
        receipt = ledger.open_transfer(department_id=principal.department_id,
                                       transfer_id=id_hash(transfer_id), case_hash=id_hash(case.id),
                                       manifest_root=root, to_address=to_address)
        now = self._clock.now()
        transfer = Transfer(id=transfer_id, case_id=case.id,
                            from_department_id=principal.department_id,
                            to_department_id=receiver, item_ids=tuple(i.id for i in items),
                            manifest_root=root.hex(), created_by=principal.id, created_at=now,
                            opened=_step(receipt))
        with self._uow() as repo:
            repo.add_transfer(transfer)
            for item in items:
                record_event(repo, kind=CustodyKind.TRANSFER_SENT, principal=principal,
                             client=client, at=now, case_id=case.id, item=item,
                             subject=transfer_id)
        _logger.info("transfer opened id=%s case=%s items=%d tx_hash=%s", transfer_id, case.id,
                     len(items), receipt.tx_hash)
        return transfer

    def _gather(self, principal: Principal, case_id: str, to_department: str,
                item_ids: Sequence[str] | None) -> tuple[Case, list[EvidenceItem], str]:
        with self._uow(read_only=True) as repo:
            case = repo.get_case(case_id, principal.department_id) if is_canonical_uuid(
                case_id) else None
            if case is None:
                raise NotFound("case not found")
            receiver = (repo.get_department(to_department) if is_canonical_uuid(to_department)
                        else repo.get_department_by_code(to_department))
            if receiver is None:
                raise InvalidInput(f"no department {to_department!r}")
            if receiver.id == principal.department_id:
                raise InvalidInput("a department cannot transfer evidence to itself")
            available = {i.id: i for i in repo.list_items(case.id, principal.department_id)}
        if item_ids is None:
            items = list(available.values())
        else:
            unknown = [i for i in item_ids if i not in available]
            if unknown:
                raise NotFound(f"evidence item {unknown[0]!r} is not in this case")
            items = [available[i] for i in dict.fromkeys(item_ids)]
        if not items:
            raise InvalidInput("the case has no evidence to transfer")
        return case, sorted(items, key=lambda i: i.id), receiver.id

    def _enforce_policy(self, principal: Principal, items: Sequence[EvidenceItem]) -> None:
        policy = sharing_policy(self._negative, purpose="transfer")
        blocks = []
        with self._uow(read_only=True) as repo:
            for item in items:
                approved = {a.purpose for a in repo.list_approvals(item.id,
                                                                   principal.department_id)}
                blocks += policy.check(ItemContext(item, approved), "transfer")
        if blocks:
            first = blocks[0]
            raise TransferBlocked(
                f"item {first.item_id} cannot be transferred: {first.reason}",
                details=[{"item_id": b.item_id, "rule": b.rule, "reason": b.reason}
                         for b in blocks])

    # -- reading -------------------------------------------------------------------------
    def list_transfers(self, principal: Principal, *, incoming: bool) -> Sequence[Transfer]:
        """The department's inbox (``incoming``) or outbox."""
        require(principal, READ_ROLES, "reading transfers")
        with self._uow(read_only=True) as repo:
            return repo.list_transfers(principal.department_id, incoming=incoming)

    def get(self, principal: Principal, transfer_id: str) -> Transfer:
        """A transfer the caller's department sent or receives; NotFound for any other."""
        require(principal, READ_ROLES, "reading transfers")
        with self._uow(read_only=True) as repo:
            return self._load(repo, principal, transfer_id)

    @staticmethod
    def _load(repo: Repository, principal: Principal, transfer_id: str, *,
              for_update: bool = False) -> Transfer:
        found = repo.get_transfer(transfer_id, principal.department_id,
                                  for_update=for_update) if is_canonical_uuid(
            transfer_id) else None
        if found is None:
            raise NotFound("transfer not found")
        return found

    def _decidable(self, principal: Principal, transfer_id: str) -> Transfer:
        require(principal, DECIDE_ROLES, "accepting or rejecting transfers")
        self._require_ledger()
        transfer = self.get(principal, transfer_id)
        if transfer.to_department_id != principal.department_id:
            raise PermissionDenied("only the receiving department may accept or reject")
        if transfer.status is not TransferStatus.OPEN:
            raise Conflict(f"the transfer is already {transfer.status.value}")
        return transfer

    # -- verifying and deciding ----------------------------------------------------------
    def verify(self, principal: Principal, transfer_id: str) -> Verification:
        """Re-verify every item of an incoming transfer and store the result.

        Mismatches raise integrity alerts in both departments. Raises NotFound,
        PermissionDenied, Conflict (not open), ChainUnavailable, StorageUnavailable.
        """
        transfer = self._decidable(principal, transfer_id)
        result = self._check(transfer)
        now = self._clock.now()
        with self._uow() as repo:
            repo.save_transfer(transfer.model_copy(update={"checks": result.items,
                                                           "checked_at": now}))
            for check in result.items:
                if not check.ok:
                    self._flag(repo, transfer, check, at=now)
        return result

    @staticmethod
    def _flag(repo: Repository, transfer: Transfer, check: ItemCheck, *, at: datetime) -> None:
        reason = "; ".join(check.reasons)
        for department in (transfer.from_department_id, transfer.to_department_id):
            raise_alert(repo, department_id=department, item_id=check.item_id,
                        source=f"transfer:{transfer.id}", reason=reason, at=at)
        item = repo.get_item_by_id(check.item_id)
        if item is not None and item.status is not ItemStatus.MISMATCH:
            repo.save_item(item.model_copy(update={"status": ItemStatus.MISMATCH}))

    def accept(self, principal: Principal, transfer_id: str, *, client: str) -> Transfer:
        """Verify every item, then accept on-chain and receive the case.

        Raises IntegrityFailure (naming each failing item) when any check fails; nothing is
        accepted then. Also NotFound, PermissionDenied, Conflict, ChainUnavailable.
        """
        result = self.verify(principal, transfer_id)
        if not result.ok:
            failed = [c for c in result.items if not c.ok]
            names = ", ".join(c.item_id for c in failed) or "the manifest"
            details: list[dict[str, object]] = [
                {"item_id": c.item_id, "reasons": list(c.reasons)} for c in failed]
            details += [{"item_id": None, "reasons": [r]} for r in result.transfer_reasons]
            raise IntegrityFailure(
                f"verification failed for {names}; the transfer was not accepted",
                details=details)
        transfer = self._decidable(principal, transfer_id)
        receipt = self._require_ledger().accept_transfer(
            department_id=principal.department_id, transfer_id=id_hash(transfer.id))
        now = self._clock.now()
        with self._uow() as repo:
            transfer = self._load(repo, principal, transfer_id, for_update=True)
            case = self._receive(repo, principal, transfer)
            transfer = transfer.model_copy(update={
                "status": TransferStatus.ACCEPTED, "decided": _step(receipt),
                "decided_by": principal.id, "decided_at": now, "received_case_id": case.id})
            repo.save_transfer(transfer)
        _logger.info("transfer accepted id=%s tx_hash=%s", transfer.id, receipt.tx_hash)
        return transfer

    def reject(self, principal: Principal, transfer_id: str, *, reason: str,
               client: str) -> Transfer:
        """Reject an incoming transfer on-chain with a reason (its SHA-256 goes on-chain)."""
        reason = reason.strip()
        if not reason or len(reason) > _MAX_REASON:
            raise InvalidInput(f"a rejection needs a reason of 1 to {_MAX_REASON} characters")
        transfer = self._decidable(principal, transfer_id)
        receipt = self._require_ledger().reject_transfer(
            department_id=principal.department_id, transfer_id=id_hash(transfer.id),
            reason_hash=reason_hash(reason))
        now = self._clock.now()
        with self._uow() as repo:
            transfer = self._load(repo, principal, transfer_id, for_update=True)
            transfer = transfer.model_copy(update={
                "status": TransferStatus.REJECTED, "decided": _step(receipt),
                "decided_by": principal.id, "decided_at": now, "reason": reason})
            repo.save_transfer(transfer)
            for item_id in transfer.item_ids:
                item = repo.get_item_by_id(item_id)
                if item is not None:
                    record_event(repo, kind=CustodyKind.TRANSFER_REJECTED, principal=principal,
                                 client=client, at=now, case_id=transfer.case_id, item=item,
                                 subject=transfer.id, note=reason)
        return transfer

    def _receive(self, repo: Repository, principal: Principal, transfer: Transfer) -> Case:
        """Create the receiver's case and items: same bytes, hashes and log entries."""
        origin = repo.get_case_by_id(transfer.case_id)
        assert origin is not None
        number = origin.case_number
        if repo.get_case_by_number(number, principal.department_id) is not None:
            number = f"{number} ({transfer.id[:8]})"
        now = self._clock.now()
        case = origin.model_copy(update={
            "id": str(uuid.uuid4()), "department_id": principal.department_id,
            "case_number": number, "created_by": principal.id, "created_at": now,
            "origin_case_id": origin.id, "transfer_id": transfer.id})
        repo.add_case(case)
        for item_id in transfer.item_ids:
            sent = repo.get_item_by_id(item_id)
            assert sent is not None
            copy = sent.model_copy(update={
                "id": str(uuid.uuid4()), "case_id": case.id,
                "department_id": principal.department_id, "origin_item_id": sent.id,
                "created_at": now})
            repo.add_item(copy)
            record_event(repo, kind=CustodyKind.TRANSFER_ACCEPTED, principal=principal,
                         client="", at=now, case_id=case.id, item=copy, subject=transfer.id)
        return case

    # -- the checks ----------------------------------------------------------------------
    def _check(self, transfer: Transfer) -> Verification:
        assert self._ledger is not None and self._anchors is not None
        on_chain = self._ledger.transfer_of(id_hash(transfer.id))
        reasons: list[str] = []
        leaves: list[bytes] = []
        checks = []
        with self._uow(read_only=True) as repo:
            receiver = repo.get_department(transfer.to_department_id)
            items = [repo.get_item_by_id(i) for i in transfer.item_ids]
        for item_id, item in zip(transfer.item_ids, items, strict=True):
            if item is None or item.department_id != transfer.from_department_id:
                checks.append(ItemCheck(item_id=item_id, ok=False,
                                        reasons=("the sent item no longer exists",)))
                continue
            checks.append(self._check_item(item))
            leaves.append(manifest_leaf(item_id=item.id, sha256=item.sha256 or "",
                                        sm3=item.sm3 or "", size=item.size or 0,
                                        log_index=item.log_index or 0))
        if on_chain is None:
            reasons.append("the chain has no record of this transfer")
        else:
            if on_chain.status != "open":
                reasons.append(f"the chain records the transfer as {on_chain.status}")
            if receiver is None or (receiver.chain_address or "").lower() != \
                    on_chain.to_address.lower():
                reasons.append("the chain addresses the transfer to another department")
            if on_chain.case_hash != id_hash(transfer.case_id):
                reasons.append("the chain records another case for this transfer")
            if len(leaves) == len(transfer.item_ids) and (
                    manifest_root(leaves) != on_chain.manifest_root):
                reasons.append("the items no longer match the manifest root on the chain")
        return Verification(items=tuple(checks), transfer_reasons=tuple(reasons))

    def _check_item(self, item: EvidenceItem) -> ItemCheck:
        """Re-hash the bytes; check row, log entry, inclusion proof and the on-chain root."""
        assert self._anchors is not None
        reasons: list[str] = []
        with self._uow(read_only=True) as repo:
            origin = lineage(repo, item)[-1]
            leaf = repo.get_log_leaf(origin.log_index) if origin.log_index is not None else None
            anchor = repo.anchor_covering(leaf.index) if leaf is not None else None
            path = (merkle_log.inclusion_path(_Nodes(repo), leaf.index, anchor.tree_size)
                    if leaf is not None and anchor is not None else [])
        if leaf is None or item.storage_key is None:
            return ItemCheck(item_id=item.id, ok=False, reasons=("the item was never registered",))
        if (item.sha256, item.sm3, item.size) != (origin.sha256, origin.sm3, origin.size):
            reasons.append("the item's recorded hashes differ from the original's")
        if leaf.entry != expected_registration(origin, leaf):
            reasons.append("the database row differs from its log entry")
        if anchor is None:
            reasons.append("the registration is not anchored yet")
        else:
            reasons += self._check_anchor(leaf_hash_of(leaf.entry).hex(), leaf.index,
                                          anchor.tree_size, anchor.root, path)
        hasher = DualHasher()
        with self._store.open(item.storage_key) as handle:
            for chunk in iter_file(handle, chunk_size=4 << 20):
                hasher.update(chunk)
        if (hasher.sha256().value, hasher.sm3().value) != (origin.sha256, origin.sm3):
            reasons.append("the stored bytes no longer match the registered hashes")
        return ItemCheck(item_id=item.id, ok=not reasons, reasons=tuple(reasons),
                         tree_size=anchor.tree_size if anchor else None)

    def _check_anchor(self, leaf_hex: str, index: int, tree_size: int, root_hex: str,
                      path: Sequence[bytes]) -> list[str]:
        assert self._anchors is not None
        found = self._anchors.anchored(tree_size)
        if found is None:
            return [f"tree size {tree_size} is not anchored on the chain"]
        chain_root = found[0]
        reasons = []
        if chain_root.hex() != root_hex:
            reasons.append("the recorded anchor differs from the root on the chain")
        try:
            verify_inclusion(leaf_index=index, tree_size=tree_size,
                             leaf_hash=bytes.fromhex(leaf_hex), path=path, root=chain_root)
        except ProofError as exc:
            reasons.append(f"the inclusion proof does not lead to the on-chain root: {exc}")
        return reasons


@dataclass(frozen=True)
class _Nodes:
    repo: Repository

    def node(self, level: int, index: int) -> bytes:
        return self.repo.log_node(level, index)
