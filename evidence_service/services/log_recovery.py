"""Rebuild the evidence log from its sealed segments and prove it against the chain.

After the database is lost, :class:`LogRecovery` restores every log entry from the segments in
object storage (``services/log_archive.py``) into a fresh, empty database, recomputes the tree
head at every size the registry anchored, and compares it with the root ``anchorOf`` returns
on-chain. Everything happens in one transaction: the entries, the segment records and the
anchored-head records are committed only when every anchored head equals its on-chain root;
otherwise the database stays empty and the report says which head differs.

What the log cannot give back: cases, items, users, departments, custody rows and transfers
(names, numbers, parties, storage keys) live only in the database and come from its backup.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from evidence_service.domain import merkle_log
from evidence_service.domain.errors import Conflict, CorruptSegment
from evidence_service.domain.log_segment import LogSegment
from evidence_service.domain.models import Anchor
from evidence_service.ports import (
    AnchoredHead,
    AnchorHistory,
    Clock,
    NewLogLeaf,
    Repository,
    UnitOfWork,
)
from evidence_service.services.log_archive import LogArchive

_TIME_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"


@dataclass(frozen=True)
class SegmentSummary:
    """One checked segment: its key, range and SHA-256."""

    key: str
    first_index: int
    end_index: int
    sha256: str


@dataclass(frozen=True)
class HeadCheck:
    """One anchored head: the root the rebuilt log gives for its size against the chain's.

    ``local_root`` is None when the rebuilt log is shorter than the head (segments missing);
    ``chain_root`` is what ``anchorOf(tree_size)`` returns (None if it returns nothing), and
    ``event_root`` what the ``Anchored`` event recorded.
    """

    tree_size: int
    local_root: str | None
    chain_root: str | None
    event_root: str
    block_number: int
    block_time: datetime
    tx_hash: str

    @property
    def equal(self) -> bool:
        return self.local_root is not None and self.local_root == self.chain_root == \
            self.event_root


@dataclass(frozen=True)
class RecoveryReport:
    """What a recovery found; ``restored`` tells whether it was committed."""

    segments: tuple[SegmentSummary, ...]
    entries: int
    heads: tuple[HeadCheck, ...]
    chain_id: int
    contract_address: str
    restored: bool

    @property
    def ok(self) -> bool:
        """Every anchored head equals its on-chain root (and the log is not empty)."""
        return all(head.equal for head in self.heads) and (bool(self.heads) or not self.entries)

    @property
    def unanchored(self) -> int:
        """Entries after the largest anchored head (sealed, not yet anchored)."""
        return max(0, self.entries - max((h.tree_size for h in self.heads), default=0))


class _Rollback(Exception):
    def __init__(self, report: RecoveryReport) -> None:
        super().__init__("recovered log differs from the chain")
        self.report = report


@dataclass(frozen=True)
class _RepoNodes:
    repo: Repository

    def node(self, level: int, index: int) -> bytes:
        return self.repo.log_node(level, index)


class LogRecovery:
    """Restores the log into an empty database from ``archive`` and checks it on-chain."""

    def __init__(self, *, uow: UnitOfWork, archive: LogArchive, clock: Clock) -> None:
        self._uow = uow
        self._archive = archive
        self._clock = clock

    def ensure_empty(self) -> None:
        """Raise Conflict unless the database holds no log entry, anchor or segment record."""
        with self._uow(read_only=True) as repo:
            _refuse_non_empty(repo)

    def check_segments(self) -> list[SegmentSummary]:
        """Read every segment and check names, contiguity, hashes and entry counts.

        Raises SegmentGap, CorruptSegment or StorageUnavailable; writes nothing.
        """
        return [SegmentSummary(key=key, first_index=seg.first_index, end_index=seg.end_index,
                               sha256=seg.sha256) for key, seg in self._archive.read_all()]

    def restore(self, checked: list[SegmentSummary], history: AnchorHistory, *,
                from_block: int = 0) -> RecoveryReport:
        """Restore the ``checked`` segments, compare every anchored head, commit if all equal.

        Raises Conflict for a non-empty database, CorruptSegment when a segment changed since
        it was checked or its entries do not give the root it records, SegmentGap,
        ChainUnavailable and StorageUnavailable; on any of them nothing is written.
        """
        expected = {s.key: s.sha256 for s in checked}
        try:
            with self._uow() as repo:
                _refuse_non_empty(repo)
                for key, segment in self._archive.read_all():
                    if expected.get(key) != segment.sha256:
                        raise CorruptSegment(f"segment {key} changed while recovering")
                    self._restore_segment(repo, key, segment.entries, segment.first_index,
                                          segment.root, segment.sha256)
                size = repo.log_size()
                heads = tuple(_check(repo, history, head, size)
                              for head in history.anchored_heads(from_block=from_block))
                report = RecoveryReport(segments=tuple(checked), entries=size, heads=heads,
                                        chain_id=history.chain_id,
                                        contract_address=history.contract_address,
                                        restored=True)
                if not report.ok:
                    raise _Rollback(report)
                self._record_anchors(repo, history, heads)
        except _Rollback as rollback:
            return replace(rollback.report, restored=False)
        return report

    def _restore_segment(self, repo: Repository, key: str, entries: tuple[bytes, ...],
                         first: int, root: bytes, sha256: str) -> None:
        leaves = []
        for offset, entry in enumerate(entries):
            row = _columns(entry, key, first + offset)
            leaves.append(NewLogLeaf(entry=entry, leaf_hash=merkle_log.leaf_hash(entry),
                                     kind=row.kind, item_id=row.item_id, at=row.at,
                                     sha256=row.sha256, sm3=row.sm3))
        if repo.append_log_leaves(leaves) != first:
            raise CorruptSegment(f"segment {key} does not start where the log ends")
        end = first + len(entries)
        if merkle_log.root(_RepoNodes(repo), end) != root:
            raise CorruptSegment(f"segment {key}: its entries do not give the tree head it "
                                 f"records for size {end}")
        now = self._clock.now()
        repo.add_log_segment(LogSegment(first_index=first, end_index=end, key=key,
                                        sha256=sha256, root=root.hex(), created_at=now,
                                        stored_at=now))

    def _record_anchors(self, repo: Repository, history: AnchorHistory,
                        heads: tuple[HeadCheck, ...]) -> None:
        now = self._clock.now()
        if heads:  # rows restored from an older backup beside the rebuilt log
            repo.mark_items_anchored(max(head.tree_size for head in heads))
        for head in heads:
            assert head.local_root is not None  # equal heads have one
            repo.add_anchor(Anchor(
                tree_size=head.tree_size, root=head.local_root, tx_hash=head.tx_hash,
                block_number=head.block_number, block_time=head.block_time,
                chain_id=history.chain_id, contract_address=history.contract_address,
                created_at=now))


def _refuse_non_empty(repo: Repository) -> None:
    size = repo.log_size()
    if size or repo.latest_anchor() is not None or repo.last_log_segment() is not None:
        raise Conflict(f"this database already holds an evidence log ({size} entries): "
                       "recovery only fills an empty database and never overwrites a log")


def _check(repo: Repository, history: AnchorHistory, head: AnchoredHead,
           size: int) -> HeadCheck:
    local = (merkle_log.root(_RepoNodes(repo), head.tree_size).hex()
             if 0 < head.tree_size <= size else None)
    on_chain = history.anchored_root(head.tree_size)
    return HeadCheck(tree_size=head.tree_size, local_root=local,
                     chain_root=on_chain.hex() if on_chain is not None else None,
                     event_root=head.root.hex(), block_number=head.block_number,
                     block_time=head.block_time, tx_hash=head.tx_hash)


@dataclass(frozen=True)
class _Row:
    kind: str
    item_id: str | None
    at: datetime
    sha256: str | None = None
    sm3: str | None = None


def _columns(entry: bytes, key: str, index: int) -> _Row:
    """The database columns an entry's row had (kind, item, digests, time), from the entry."""
    try:
        value = json.loads(entry)
        kind, moment = value["kind"], value["time"]
        at = datetime.strptime(moment, _TIME_FORMAT).replace(tzinfo=UTC)
    except (ValueError, KeyError, TypeError) as exc:
        raise CorruptSegment(f"segment {key}: entry {index} is not a version-1 entry") from exc
    if not isinstance(kind, str) or not isinstance(value, dict):
        raise CorruptSegment(f"segment {key}: entry {index} has no kind")
    item = value.get("item")
    row = _Row(kind=kind, item_id=item if isinstance(item, str) else None, at=at)
    if kind == "evidence.registered":  # only registrations are looked up by content digest
        row = replace(row, sha256=value.get("sha256"), sm3=value.get("sm3"))
    return row
