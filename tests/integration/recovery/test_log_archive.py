"""Sealing the log into segments (SQLite + the filesystem store, no chain): the rule, and
crashes between recording, writing and anchoring that neither lose nor duplicate entries."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import text

from evidence_service.adapters.db import SqlUnitOfWork, make_engine, make_session_factory, upgrade
from evidence_service.adapters.storage import FilesystemObjectStore
from evidence_service.domain import merkle_log
from evidence_service.domain.canonical import registration_entry
from evidence_service.domain.errors import Conflict, SegmentGap, StorageUnavailable
from evidence_service.domain.log_segment import SEGMENT_PREFIX, segment_key
from evidence_service.ports import NewLogLeaf
from evidence_service.services.clock import SystemClock
from evidence_service.services.log_archive import LogArchive


class _World:
    def __init__(self, tmp: Path) -> None:
        self.engine = make_engine(f"sqlite:///{tmp}/log.db")
        upgrade(self.engine)
        self.uow = SqlUnitOfWork(make_session_factory(self.engine))
        self.store = FilesystemObjectStore(tmp / "objects")
        self.archive = LogArchive(uow=self.uow, store=self.store, clock=SystemClock(),
                                  work_dir=tmp / "spool", max_entries=4)

    def append(self, count: int) -> None:
        with self.uow() as repo:
            for _ in range(count):
                entry = registration_entry(
                    sha256="ab" * 32, sm3="cd" * 32, size=1, item_id=str(uuid.uuid4()),
                    case_id=str(uuid.uuid4()), department_id=str(uuid.uuid4()),
                    at=datetime.now(UTC))
                repo.append_log_leaf(entry=entry, leaf_hash=merkle_log.leaf_hash(entry),
                                     kind="evidence.registered", item_id=None,
                                     at=datetime.now(UTC))

    def entries(self) -> list[bytes]:
        return [entry for _key, segment in self.archive.read_all()
                for entry in segment.entries]

    def log(self) -> list[bytes]:
        with self.uow() as repo:
            return repo.log_entries(0, repo.log_size())


@pytest.fixture
def world(tmp_path: Path) -> _World:
    return _World(tmp_path)


def test_seals_exactly_up_to_each_head_in_capped_segments(world: _World) -> None:
    world.append(3)
    assert [s.key for s in world.archive.seal(3)] == [segment_key(0, 3)]
    world.append(7)
    assert [s.key for s in world.archive.seal(10)] == [segment_key(3, 7), segment_key(7, 10)]
    assert world.archive.seal(10) == []  # nothing new: nothing written
    assert world.entries() == world.log()
    with world.uow() as repo:
        last = repo.last_log_segment()
        assert last is not None and last.stored_at is not None
        assert last.root == merkle_log.root(_Nodes(repo), 10).hex()


def test_a_crash_before_the_write_is_healed_with_the_same_bytes(world: _World,
                                                                tmp_path: Path) -> None:
    world.append(2)
    (tmp_path / "objects" / SEGMENT_PREFIX.rstrip("/")).write_bytes(b"")  # store cannot write
    with pytest.raises(StorageUnavailable):
        world.archive.seal(2)
    (tmp_path / "objects" / SEGMENT_PREFIX.rstrip("/")).unlink()
    with world.uow() as repo:  # the range was recorded first, so it is not lost
        recorded = repo.last_log_segment()
        assert recorded is not None and recorded.stored_at is None
    world.append(1)

    added = world.archive.seal(3)

    assert [s.key for s in added] == [segment_key(2, 3)]
    keys = world.store.list_keys(SEGMENT_PREFIX)
    assert keys == [segment_key(0, 2), segment_key(2, 3)]  # no overlap, no gap
    assert world.entries() == world.log()
    first = world.archive.read(segment_key(0, 2))
    assert first.sha256 == recorded.sha256


def test_a_crash_after_the_write_finds_the_object_and_checks_it(world: _World) -> None:
    world.append(2)
    world.archive.seal(2)
    with world.engine.begin() as conn:  # as if the process died before marking it stored
        conn.execute(text("UPDATE log_segments SET stored_at = NULL"))

    assert world.archive.seal(2) == []

    with world.uow() as repo:
        last = repo.last_log_segment()
        assert last is not None and last.stored_at is not None
    assert world.store.list_keys(SEGMENT_PREFIX) == [segment_key(0, 2)]


def test_other_bytes_under_a_segment_key_are_a_conflict(world: _World, tmp_path: Path) -> None:
    world.append(2)
    other = tmp_path / "other"
    other.write_bytes(b"not this log\n")
    world.store.put_file(segment_key(0, 2), other, size=other.stat().st_size)

    with pytest.raises(Conflict, match="already holds other bytes"):
        world.archive.seal(2)


def test_listing_reports_the_missing_range(world: _World, tmp_path: Path) -> None:
    world.append(9)
    world.archive.seal(9)
    path = tmp_path / "objects" / segment_key(4, 8)
    path.unlink()

    with pytest.raises(SegmentGap, match=r"no segment holds log entries 4\.\.7"):
        world.archive.segment_keys()


class _Nodes:
    def __init__(self, repo: object) -> None:
        self.repo = repo

    def node(self, level: int, index: int) -> bytes:
        return self.repo.log_node(level, index)  # type: ignore[attr-defined,no-any-return]


def test_bulk_append_stores_what_single_appends_store(world: _World, tmp_path: Path) -> None:
    world.append(13)
    other = _World(tmp_path / "other")
    with world.uow() as repo:
        leaves = [NewLogLeaf(entry=e, leaf_hash=merkle_log.leaf_hash(e),
                             kind="evidence.registered", item_id=None, at=datetime.now(UTC))
                  for e in repo.log_entries(0, 13)]
    with other.uow() as repo:
        assert repo.append_log_leaves(leaves[:5]) == 0
        assert repo.append_log_leaves(leaves[5:]) == 5

    def nodes(w: _World) -> list[tuple[object, ...]]:
        with w.engine.connect() as conn:
            return [tuple(r) for r in conn.execute(text(
                "SELECT level, idx, hash FROM log_nodes ORDER BY 1, 2"))]

    assert nodes(other) == nodes(world)
    assert other.log() == world.log()
