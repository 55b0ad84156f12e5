"""The evidence log's rows: leaves, tree nodes, anchors and sealed segments.

Part of :class:`~evidence_service.adapters.db.repository.SqlRepository` (a base class over
the same session), kept apart because the log is its own concern.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from evidence_service.adapters.db.orm import (
    AnchorRow,
    EvidenceItemRow,
    LogEntryRow,
    LogHeadRow,
    LogNodeRow,
    LogSegmentRow,
)
from evidence_service.adapters.db.rows import (
    bulk_insert,
    core_table,
    row_values,
    to_model,
    to_models,
)
from evidence_service.domain.log_segment import LogSegment
from evidence_service.domain.merkle_log import nodes_completed_by
from evidence_service.domain.models import Anchor, EvidenceItem, LogLeaf
from evidence_service.ports import NewLogLeaf


class LogRecords:
    """The evidence log's part of the repository (one SQLAlchemy session)."""

    _s: Session

    # evidence log and anchors
    def append_log_leaf(self, *, entry: bytes, leaf_hash: bytes, kind: str,
                        item_id: str | None, at: datetime, sha256: str | None = None,
                        sm3: str | None = None) -> int:
        head = self._s.scalar(select(LogHeadRow).where(LogHeadRow.id == 1).with_for_update())
        if head is None:
            raise LookupError("log head row missing: run the migrations")
        index = head.size
        self._s.add(LogEntryRow(index=index, leaf_hash=leaf_hash.hex(), entry=entry, kind=kind,
                                item_id=item_id, sha256=sha256, sm3=sm3, created_at=at))
        for level, idx, digest in nodes_completed_by(index, leaf_hash, self.log_node):
            self._s.add(LogNodeRow(level=level, idx=idx, hash=digest.hex()))
        head.size = index + 1
        self._s.flush()
        return index

    def log_size(self) -> int:
        return int(self._s.scalar(select(LogHeadRow.size).where(LogHeadRow.id == 1)) or 0)

    def log_node(self, level: int, index: int) -> bytes:
        row = self._s.get(LogNodeRow, (level, index))
        if row is None:
            raise LookupError(f"log node ({level}, {index}) is missing")
        return bytes.fromhex(row.hash)

    def get_log_leaf(self, index: int) -> LogLeaf | None:
        row = self._s.get(LogEntryRow, index)
        if row is None:
            return None
        return LogLeaf(index=row.index, leaf_hash=row.leaf_hash, entry=row.entry, kind=row.kind,
                       item_id=row.item_id, created_at=row.created_at)

    def first_leaf_with_digest(self, *, sha256: str | None = None,
                               sm3: str | None = None) -> LogLeaf | None:
        q = select(LogEntryRow.index)
        if sha256 is not None:
            q = q.where(LogEntryRow.sha256 == sha256)
        if sm3 is not None:
            q = q.where(LogEntryRow.sm3 == sm3)
        index = self._s.scalar(q.order_by(LogEntryRow.index).limit(1))
        return None if index is None else self.get_log_leaf(int(index))

    def find_items_by_digest(self, *, sha256: str | None = None,
                             sm3: str | None = None) -> Sequence[EvidenceItem]:
        q = select(EvidenceItemRow).where(EvidenceItemRow.log_index.is_not(None))
        if sha256 is not None:
            q = q.where(EvidenceItemRow.sha256 == sha256)
        if sm3 is not None:
            q = q.where(EvidenceItemRow.sm3 == sm3)
        return to_models(EvidenceItem, self._s.scalars(q.order_by(EvidenceItemRow.log_index)).all())

    def add_anchor(self, anchor: Anchor) -> None:
        self._s.add(AnchorRow(**row_values(anchor)))
        self._s.flush()

    def latest_anchor(self) -> Anchor | None:
        row = self._s.scalar(select(AnchorRow).order_by(AnchorRow.tree_size.desc()).limit(1))
        return to_model(Anchor, row)

    def anchor_covering(self, index: int) -> Anchor | None:
        q = select(AnchorRow).where(AnchorRow.tree_size > index).order_by(AnchorRow.tree_size)
        return to_model(Anchor, self._s.scalar(q.limit(1)))

    def get_anchor(self, tree_size: int) -> Anchor | None:
        return to_model(Anchor, self._s.get(AnchorRow, tree_size))

    def mark_items_anchored(self, tree_size: int) -> int:
        q = (update(EvidenceItemRow)
             .where(EvidenceItemRow.status == "stored", EvidenceItemRow.log_index < tree_size)
             .values(status="anchored"))
        return int(self._s.execute(q).rowcount)  # type: ignore[attr-defined]

    # sealed log segments
    def append_log_leaves(self, leaves: Sequence[NewLogLeaf]) -> int:
        head = self._s.scalar(select(LogHeadRow).where(LogHeadRow.id == 1).with_for_update())
        if head is None:
            raise LookupError("log head row missing: run the migrations")
        first = head.size
        fresh: dict[tuple[int, int], bytes] = {}

        def sibling(level: int, index: int) -> bytes:
            return fresh.get((level, index)) or self.log_node(level, index)

        entries, nodes = [], []
        for index, leaf in enumerate(leaves, start=first):
            entries.append({"index": index, "leaf_hash": leaf.leaf_hash.hex(),
                            "entry": leaf.entry, "kind": leaf.kind, "item_id": leaf.item_id,
                            "sha256": leaf.sha256, "sm3": leaf.sm3, "created_at": leaf.at})
            for level, idx, digest in nodes_completed_by(index, leaf.leaf_hash, sibling):
                fresh[(level, idx)] = digest
                nodes.append({"level": level, "idx": idx, "hash": digest.hex()})
        if entries:
            bulk_insert(self._s, core_table(LogEntryRow), entries)
            bulk_insert(self._s, core_table(LogNodeRow), nodes)
        head.size = first + len(entries)
        self._s.flush()
        return first

    def log_entries(self, start: int, end: int) -> list[bytes]:
        q = (select(LogEntryRow.index, LogEntryRow.entry)
             .where(LogEntryRow.index >= start, LogEntryRow.index < end)
             .order_by(LogEntryRow.index))
        rows = self._s.execute(q).all()
        if [row[0] for row in rows] != list(range(start, end)):
            raise LookupError(f"log entries {start}..{end - 1} are not all in the database")
        return [bytes(row[1]) for row in rows]

    def add_log_segment(self, segment: LogSegment) -> None:
        self._s.add(LogSegmentRow(**row_values(segment)))
        self._s.flush()

    def last_log_segment(self) -> LogSegment | None:
        q = select(LogSegmentRow).order_by(LogSegmentRow.first_index.desc()).limit(1)
        return to_model(LogSegment, self._s.scalar(q))

    def mark_log_segment_stored(self, first_index: int, at: datetime) -> None:
        self._s.execute(update(LogSegmentRow).where(LogSegmentRow.first_index == first_index)
                        .values(stored_at=at))
