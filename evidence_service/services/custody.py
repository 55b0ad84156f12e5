"""Custody: every use of evidence becomes a log entry, and timelines show them with proofs.

``record_event`` is called inside the caller's unit of work, so the event commits (or not)
together with what it records. Timelines follow an item back through the transfers it came
by: a received item shows the sender's history too (mutual recognition, no re-collection).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from evidence_service.domain import merkle_log
from evidence_service.domain.custody import CustodyKind, custody_entry
from evidence_service.domain.errors import Conflict, NotFound
from evidence_service.domain.merkle_log import leaf_hash
from evidence_service.domain.models import (
    Anchor,
    CustodyEvent,
    DerivedArtefact,
    EvidenceItem,
    IntegrityAlert,
    Principal,
)
from evidence_service.domain.rules import is_canonical_uuid
from evidence_service.ports import Clock, ObjectStore, Repository, UnitOfWork, iter_file
from evidence_service.services.cases import READ_ROLES, require

_logger = logging.getLogger(__name__)
#: Longest client description kept (address and user agent).
_CLIENT_MAX = 512


def record_event(repo: Repository, *, kind: CustodyKind, principal: Principal, client: str,
                 at: datetime, case_id: str, item: EvidenceItem | None = None,
                 subject: str | None = None, note: str | None = None) -> CustodyEvent:
    """Append a custody event to the log and the database in ``repo``'s transaction."""
    client = client[:_CLIENT_MAX]
    entry = custody_entry(kind=kind, item_id=item.id if item else None, case_id=case_id,
                          department_id=principal.department_id, actor_id=principal.id,
                          client=client, at=at, content_sha256=item.sha256 if item else None,
                          subject=subject)
    index = repo.append_log_leaf(entry=entry, leaf_hash=leaf_hash(entry), kind=kind.entry_kind,
                                 item_id=item.id if item else None, at=at)
    event = CustodyEvent(id=str(uuid.uuid4()), log_index=index, kind=kind.value,
                         item_id=item.id if item else None, case_id=case_id,
                         department_id=principal.department_id, actor_id=principal.id,
                         actor_name=principal.name, client=client, at=at, subject=subject,
                         note=note)
    repo.add_custody_event(event)
    return event


def raise_alert(repo: Repository, *, department_id: str, item_id: str, source: str,
                reason: str, at: datetime) -> IntegrityAlert:
    """Record an integrity alert for review staff (in ``repo``'s transaction)."""
    alert = IntegrityAlert(id=str(uuid.uuid4()), department_id=department_id, item_id=item_id,
                           source=source, reason=reason, raised_at=at)
    repo.add_alert(alert)
    _logger.warning("integrity alert item=%s source=%s: %s", item_id, source, reason)
    return alert


def lineage(repo: Repository, item: EvidenceItem) -> list[EvidenceItem]:
    """The item and the items it was received from, newest first, ending at the original."""
    chain = [item]
    while chain[-1].origin_item_id is not None and len(chain) < 64:
        origin = repo.get_item_by_id(chain[-1].origin_item_id)
        if origin is None:
            break
        chain.append(origin)
    return chain


@dataclass(frozen=True)
class TimelineEntry:
    """One custody event with its place in the log and, once anchored, its proof."""

    event: CustodyEvent
    leaf_hash: str
    anchored: bool
    tree_size: int | None = None
    root: str | None = None
    inclusion_proof: list[str] = field(default_factory=list)
    anchor: Anchor | None = None


class CustodyService:
    """Records reads and shows custody timelines of items and cases."""

    def __init__(self, *, uow: UnitOfWork, clock: Clock, store: ObjectStore) -> None:
        self._uow = uow
        self._clock = clock
        self._store = store

    def download(self, principal: Principal, item: EvidenceItem, *,
                 client: str) -> Iterator[bytes]:
        """Record a ``downloaded`` event, then stream the item's stored bytes.

        ``item`` must come from a scoped lookup. Raises Conflict while it is still being
        received, StorageUnavailable when the store cannot be read.
        """
        if item.storage_key is None:
            raise Conflict("the item's bytes have not been received completely")
        key = item.storage_key
        self.record_read(principal, item, kind=CustodyKind.DOWNLOADED, client=client)

        def chunks() -> Iterator[bytes]:
            with self._store.open(key) as handle:
                yield from iter_file(handle, chunk_size=1 << 20)
        return chunks()

    def grant_playback(self, principal: Principal, item: EvidenceItem, *, client: str) -> None:
        """Record a ``viewed`` event before a player is let read the item's bytes.

        One event per grant, not per range the player asks for while seeking. ``item``
        must come from a scoped lookup; raises Conflict while it is still being received."""
        if item.storage_key is None:
            raise Conflict("the item's bytes have not been received completely")
        self.record_read(principal, item, kind=CustodyKind.VIEWED, client=client)

    def read_range(self, item: EvidenceItem, start: int, length: int) -> Iterator[bytes]:
        """Stream ``length`` stored bytes of ``item`` from ``start`` (a player's range).

        ``item`` must come from a scoped lookup for a principal holding a playback grant
        (``grant_playback`` recorded the view). Raises Conflict while it is still being
        received; the stream raises StorageUnavailable when the store fails mid-way."""
        if item.storage_key is None:
            raise Conflict("the item's bytes have not been received completely")
        key = item.storage_key

        def chunks() -> Iterator[bytes]:
            left = length
            with self._store.open(key, start=start) as handle:
                while left > 0 and (chunk := handle.read(min(left, 1 << 20))):
                    left -= len(chunk)
                    yield chunk
        return chunks()

    def record_read(self, principal: Principal, item: EvidenceItem, *, kind: CustodyKind,
                    client: str) -> CustodyEvent:
        """Record that ``principal`` viewed or downloaded ``item``."""
        with self._uow() as repo:
            return record_event(repo, kind=kind, principal=principal, client=client,
                                at=self._clock.now(), case_id=item.case_id, item=item)

    def record_reads(self, principal: Principal, items: Sequence[EvidenceItem], *,
                     client: str) -> None:
        """Record a ``viewed`` event for each item of a listing (one transaction)."""
        if not items:
            return
        with self._uow() as repo:
            now = self._clock.now()
            for item in items:
                record_event(repo, kind=CustodyKind.VIEWED, principal=principal, client=client,
                             at=now, case_id=item.case_id, item=item)

    def record_case_read(self, principal: Principal, case_id: str, *,
                         client: str) -> CustodyEvent:
        """Record that ``principal`` listed the evidence of a case it may read."""
        with self._uow() as repo:
            return record_event(repo, kind=CustodyKind.VIEWED, principal=principal,
                                client=client, at=self._clock.now(), case_id=case_id)

    def item_timeline(self, principal: Principal, item_id: str) -> list[TimelineEntry]:
        """Every custody event of the item and its origins; raises NotFound."""
        require(principal, READ_ROLES, "reading custody history")
        with self._uow(read_only=True) as repo:
            item = repo.get_item(item_id, principal.department_id) if is_canonical_uuid(
                item_id) else None
            if item is None:
                raise NotFound("evidence item not found")
            items = [i for i in lineage(repo, item) if i.log_index is not None]
            ids = [i.id for i in items]
            cases = {i.id: i.case_id for i in items}
            events = [*(_registration(i) for i in items if i.origin_item_id is None),
                      *(_derivation(a, cases[a.item_id]) for a in repo.list_artefacts(ids)),
                      *repo.list_custody_events(item_ids=ids)]
            return self._with_proofs(repo, events)

    def case_timeline(self, principal: Principal, case_id: str) -> list[TimelineEntry]:
        """Every custody event of the case, its items and the cases it came from."""
        require(principal, READ_ROLES, "reading custody history")
        with self._uow(read_only=True) as repo:
            case = repo.get_case(case_id, principal.department_id) if is_canonical_uuid(
                case_id) else None
            if case is None:
                raise NotFound("case not found")
            cases = [case]
            while cases[-1].origin_case_id is not None and len(cases) < 64:
                origin = repo.get_case_by_id(cases[-1].origin_case_id)
                if origin is None:
                    break
                cases.append(origin)
            items = [i for c in cases for i in repo.list_items(c.id, c.department_id)
                     if i.log_index is not None]
            events = [_registration(i) for i in items if i.origin_item_id is None]
            case_of = {i.id: i.case_id for i in items}
            events += [_derivation(a, case_of[a.item_id])
                       for a in repo.list_artefacts(list(case_of))]
            events += repo.list_custody_events(case_ids=[c.id for c in cases])
            return self._with_proofs(repo, events)

    def alerts(self, principal: Principal, *, open_only: bool = True) -> Sequence[IntegrityAlert]:
        """Integrity alerts of the caller's department."""
        require(principal, READ_ROLES, "reading integrity alerts")
        with self._uow(read_only=True) as repo:
            return repo.list_alerts(principal.department_id, open_only=open_only)

    @staticmethod
    def _with_proofs(repo: Repository, events: Sequence[CustodyEvent]) -> list[TimelineEntry]:
        result = []
        for event in sorted(events, key=lambda e: e.log_index):
            leaf = repo.get_log_leaf(event.log_index)
            assert leaf is not None
            anchor = repo.anchor_covering(event.log_index)
            if anchor is None:
                result.append(TimelineEntry(event=event, leaf_hash=leaf.leaf_hash,
                                            anchored=False))
                continue
            nodes = _RepoNodes(repo)
            path = merkle_log.inclusion_path(nodes, event.log_index, anchor.tree_size)
            result.append(TimelineEntry(
                event=event, leaf_hash=leaf.leaf_hash, anchored=True,
                tree_size=anchor.tree_size, root=anchor.root,
                inclusion_proof=[p.hex() for p in path], anchor=anchor))
        return result


def _registration(item: EvidenceItem) -> CustodyEvent:
    """The ``uploaded`` event of an item: its registration entry is that event's leaf."""
    assert item.log_index is not None and item.stored_at is not None
    return CustodyEvent(id=f"registration:{item.id}", log_index=item.log_index,
                        kind=CustodyKind.UPLOADED.value, item_id=item.id, case_id=item.case_id,
                        department_id=item.department_id, actor_id=item.created_by,
                        actor_name=item.created_by, client="", at=item.stored_at)


def _derivation(artefact: DerivedArtefact, case_id: str) -> CustodyEvent:
    """The ``derived_added`` event: the artefact's registration entry is its leaf."""
    return CustodyEvent(id=f"artefact:{artefact.id}", log_index=artefact.log_index,
                        kind=CustodyKind.DERIVED_ADDED.value, item_id=artefact.item_id,
                        case_id=case_id, department_id=artefact.department_id,
                        actor_id=artefact.job_id, actor_name="analysis", client="",
                        at=artefact.created_at, subject=artefact.id,
                        note=f"{artefact.kind} {artefact.name}")


@dataclass(frozen=True)
class _RepoNodes:
    repo: Repository

    def node(self, level: int, index: int) -> bytes:
        return self.repo.log_node(level, index)
