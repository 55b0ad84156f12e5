"""Seal the evidence log into append-only segments in object storage, before each anchor.

Rule: before the anchoring worker publishes a head of size ``n``, every entry below ``n`` is in
a sealed segment. :meth:`LogArchive.seal` seals ``[end of the last sealed segment, n)`` (split
into segments of at most ``max_entries``) and returns only once the objects are stored, so a
head on-chain is always covered by segments in storage. Segments never overlap and follow
each other without gaps; the object store is write-once (object lock on S3/MinIO).

Crash safety: a segment is first recorded in the database (``log_segments``: range, SHA-256,
root), then written, then marked stored. A crash before the write leaves a recorded but
unstored segment, which the next call writes again with the same bytes under the same key
(the encoding is deterministic and the entries never change); a crash after the write finds the
object already there and checks it holds exactly those bytes. Sealing more entries later always
starts at the recorded end, so no entry is sealed twice or skipped.
"""

from __future__ import annotations

import hashlib
import logging
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from evidence_service.domain import merkle_log
from evidence_service.domain.errors import Conflict, CorruptSegment, NotFound, SegmentGap
from evidence_service.domain.log_segment import (
    SEGMENT_PREFIX,
    DecodedSegment,
    LogSegment,
    decode_segment,
    encode_segment,
    parse_segment_key,
    segment_key,
)
from evidence_service.ports import Clock, ObjectStore, Repository, UnitOfWork

_logger = logging.getLogger(__name__)

#: Entries per segment at most (a first seal of a long log is split into several).
MAX_SEGMENT_ENTRIES = 10_000
#: Largest segment object read back (a corrupt listing must not exhaust memory).
_MAX_SEGMENT_BYTES = 256 * 1024 * 1024


@dataclass(frozen=True)
class _RepoNodes:
    repo: Repository

    def node(self, level: int, index: int) -> bytes:
        return self.repo.log_node(level, index)


class LogArchive:
    """Writes sealed segments of the log to the object store and reads them back."""

    def __init__(self, *, uow: UnitOfWork, store: ObjectStore, clock: Clock, work_dir: Path,
                 max_entries: int = MAX_SEGMENT_ENTRIES) -> None:
        if max_entries < 1:
            raise ValueError("max_entries must be >= 1")
        self._uow = uow
        self.store = store
        self._clock = clock
        self._work_dir = work_dir
        self._max_entries = max_entries

    def seal(self, size: int) -> list[LogSegment]:
        """Make sure the entries ``[0, size)`` are in stored segments; returns those added.

        Raises StorageUnavailable when the store fails (nothing may then be anchored),
        Conflict when a segment's key already holds other bytes, ValueError when ``size``
        exceeds the log.
        """
        with self._uow(read_only=True) as repo:
            last = repo.last_log_segment()
            if size > repo.log_size():
                raise ValueError(f"cannot seal {size} entries: the log holds {repo.log_size()}")
        if last is not None and last.stored_at is None:
            self._write(last)  # recorded before a crash, maybe never written
        added: list[LogSegment] = []
        start = last.end_index if last is not None else 0
        while start < size:
            segment, data = self._record(start, min(size, start + self._max_entries))
            self._write(segment, data)
            added.append(segment)
            start = segment.end_index
        return added

    def _record(self, start: int, end: int) -> tuple[LogSegment, bytes]:
        with self._uow() as repo:
            root = merkle_log.root(_RepoNodes(repo), end)
            data = encode_segment(first_index=start, entries=repo.log_entries(start, end),
                                  root=root)
            segment = LogSegment(first_index=start, end_index=end, key=segment_key(start, end),
                                 sha256=hashlib.sha256(data).hexdigest(), root=root.hex(),
                                 created_at=self._clock.now())
            repo.add_log_segment(segment)
        return segment, data

    @staticmethod
    def _encode(repo: Repository, start: int, end: int) -> bytes:
        return encode_segment(first_index=start, entries=repo.log_entries(start, end),
                              root=merkle_log.root(_RepoNodes(repo), end))

    def _write(self, segment: LogSegment, data: bytes | None = None) -> None:
        if data is None:
            with self._uow(read_only=True) as repo:
                data = self._encode(repo, segment.first_index, segment.end_index)
        if hashlib.sha256(data).hexdigest() != segment.sha256:
            raise Conflict(f"segment {segment.key} no longer encodes to its recorded SHA-256: "
                           "the log's entries in the database changed")
        self._work_dir.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=self._work_dir) as tmp:
            path = Path(tmp) / "segment"
            path.write_bytes(data)
            created = self.store.put_file(segment.key, path, size=len(data))
        if not created and self._stored_sha256(segment.key) != segment.sha256:
            raise Conflict(f"segment {segment.key} already holds other bytes: does another "
                           "log write to this bucket?")
        with self._uow() as repo:
            repo.mark_log_segment_stored(segment.first_index, self._clock.now())
        _logger.info("sealed log entries %d..%d as %s (sha256 %s)", segment.first_index,
                     segment.end_index - 1, segment.key, segment.sha256)

    def _stored_sha256(self, key: str) -> str:
        digest = hashlib.sha256()
        with self.store.open(key) as handle:
            while chunk := handle.read(1 << 20):
                digest.update(chunk)
        return digest.hexdigest()

    def segment_keys(self) -> list[tuple[int, int, str]]:
        """``(first, end, key)`` of every stored segment, checked to cover ``[0, end)``.

        Raises SegmentGap when segments are missing (naming the missing range) or overlap,
        and CorruptSegment for a key under the segment prefix that names no range.
        """
        ranges: list[tuple[int, int, str]] = []
        for key in self.store.list_keys(SEGMENT_PREFIX):
            named = parse_segment_key(key)
            if named is None:
                raise CorruptSegment(f"object {key} is under {SEGMENT_PREFIX} but is not a "
                                     "segment name")
            ranges.append((*named, key))
        expected = 0
        for first, end, key in sorted(ranges):
            if first > expected:
                raise SegmentGap(f"no segment holds log entries {expected}..{first - 1} "
                                 f"(the next segment is {key}): segments are missing")
            if first < expected:
                raise SegmentGap(f"segment {key} overlaps entries already in the previous "
                                 f"segment (which ends at {expected - 1})")
            expected = end
        return sorted(ranges)

    def read(self, key: str) -> DecodedSegment:
        """Read and check one segment; raises CorruptSegment, NotFound, StorageUnavailable."""
        with self.store.open(key) as handle:
            data = handle.read(_MAX_SEGMENT_BYTES + 1)
        if len(data) > _MAX_SEGMENT_BYTES:
            raise CorruptSegment(f"segment {key} is larger than {_MAX_SEGMENT_BYTES} bytes")
        return decode_segment(data, name=key)

    def read_all(self) -> Iterator[tuple[str, DecodedSegment]]:
        """Every stored segment in index order, each checked against its name.

        Raises SegmentGap, CorruptSegment (also when a segment holds another range than its
        name says), NotFound when a listed segment disappeared, StorageUnavailable.
        """
        for first, end, key in self.segment_keys():
            try:
                decoded = self.read(key)
            except NotFound as exc:
                raise SegmentGap(f"segment {key} was listed but cannot be read") from exc
            if (decoded.first_index, decoded.end_index) != (first, end):
                raise CorruptSegment(f"segment {key} holds entries {decoded.first_index}.."
                                     f"{decoded.end_index - 1}, not the range its name says")
            yield key, decoded
