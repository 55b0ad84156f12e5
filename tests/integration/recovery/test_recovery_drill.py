"""The recovery drill with real components: the service fills and anchors the log on its
embedded anvil, stops, its database is deleted, and ``evidence recover-log`` rebuilds the log
from the sealed segments in object storage and proves every anchored head on-chain.

Also: a flipped byte in a segment, a missing middle segment, and a consistently forged segment
(hashes recomputed, so only the chain can tell) are each refused with a clear message and a
non-zero exit, and leave the database empty.
"""

from __future__ import annotations

import shutil
import sqlite3
from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

import pytest

from evidence_service.adapters.db import SqlUnitOfWork, make_engine, make_session_factory
from evidence_service.domain import merkle_log
from evidence_service.domain.log_segment import decode_segment, encode_segment
from evidence_service.services.verification import leaf_bundle
from evidence_verify import verify_bundle
from tests.integration.recovery.drill import (
    FAST,
    LogSnapshot,
    fill_log,
    recover,
    segment_files,
    snapshot,
)
from tests.support.live import LiveServer

pytestmark = [pytest.mark.ledger, pytest.mark.slow]


@dataclass(frozen=True)
class Drill:
    """A stopped service whose log was anchored, and what its database held."""

    var_dir: Path
    backup: Path
    original: LogSnapshot

    @property
    def database(self) -> Path:
        return self.var_dir / "evidence.db"

    @property
    def env(self) -> dict[str, str]:
        return {"EVIDENCE_VAR_DIR": str(self.var_dir), **FAST}


@pytest.fixture(scope="module")
def drill(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Drill]:
    tmp = tmp_path_factory.mktemp("drill")
    server = LiveServer(var_dir=tmp / "var", env=FAST)
    server.start()

    def back_up() -> None:  # an online backup that will be older than the last anchor
        with closing(sqlite3.connect(server.var_dir / "evidence.db")) as source, \
                closing(sqlite3.connect(tmp / "backup.db")) as target:
            source.backup(target)

    try:
        fill_log(server, uploads=3, after_first=back_up)
    finally:
        server.stop()
    done = Drill(var_dir=server.var_dir, backup=tmp / "backup.db",
                 original=snapshot(f"sqlite:///{server.var_dir}/evidence.db"))
    assert len(done.original.anchors) >= 3 and len(done.original.leaves) >= 6
    for suffix in ("", "-wal", "-shm"):  # the database is lost
        Path(f"{done.database}{suffix}").unlink(missing_ok=True)
    yield done


def _scratch(drill: Drill, tmp_path: Path) -> tuple[dict[str, str], Path]:
    """Settings for a fresh database and a writable copy of the segments."""
    objects = tmp_path / "objects"
    shutil.copytree(drill.var_dir / "objects" / "log-segments", objects / "log-segments")
    for path in segment_files(objects):
        path.chmod(0o644)
    env = {**drill.env, "EVIDENCE_OBJECTS_DIR": str(objects),
           "EVIDENCE_DATABASE_URL": f"sqlite:///{tmp_path}/scratch.db"}
    return env, objects


def test_log_is_rebuilt_from_segments_and_equals_the_chain(drill: Drill) -> None:
    done = recover(drill.env)

    assert done.returncode == 0, done.stdout + done.stderr
    assert "RECOVERED: every anchored head equals the root on-chain" in done.stdout
    for size, root, _tx, block in drill.original.anchors:
        line = next(x for x in done.stdout.splitlines() if x.startswith(f"  size {size:>8} "))
        assert f"block {block:>8}" in line and line.count(str(root)) == 2, line
        assert line.endswith("equal"), line
    rebuilt = snapshot(f"sqlite:///{drill.database}")
    assert rebuilt.leaves == drill.original.leaves  # entry bytes, hashes, kinds, items, times
    assert rebuilt.anchors == drill.original.anchors  # sizes, roots, tx hashes, blocks

    _bundles_verify(drill)

    again = recover(drill.env)
    assert again.returncode == 1
    assert "already holds an evidence log" in again.stderr + again.stdout
    assert snapshot(f"sqlite:///{drill.database}") == rebuilt


def _bundles_verify(drill: Drill) -> None:
    """Proof bundles issued from the rebuilt log verify (offline) against the anchored roots."""
    engine = make_engine(f"sqlite:///{drill.database}")
    uow = SqlUnitOfWork(make_session_factory(engine))
    roots = {size: root for size, root, _tx, _block in drill.original.anchors}
    try:
        with uow(read_only=True) as repo:
            for index, *_rest in drill.original.leaves:
                bundle = leaf_bundle(repo, int(index))  # type: ignore[call-overload]
                assert bundle["anchor"] is not None
                assert roots[bundle["tree_size"]] == bundle["root"]
                assert verify_bundle(bundle).verdict == "verified"
    finally:
        engine.dispose()


def test_an_older_backup_gets_the_whole_log_back(drill: Drill, tmp_path: Path) -> None:
    database = tmp_path / "restored.db"
    shutil.copyfile(drill.backup, database)
    with closing(sqlite3.connect(database)) as conn, conn:  # docs/operations.md, as written
        for table in ("log_entries", "log_nodes", "anchors", "log_segments"):
            conn.execute(f"DELETE FROM {table}")
        conn.execute("UPDATE log_head SET size = 0")
        items_before = conn.execute("SELECT id, log_index FROM evidence_items").fetchall()
    assert len(items_before) == 1  # the backup knows the first upload only

    done = recover({**drill.env, "EVIDENCE_DATABASE_URL": f"sqlite:///{database}"})

    assert done.returncode == 0, done.stdout + done.stderr
    restored = snapshot(f"sqlite:///{database}")
    assert (restored.leaves, restored.anchors) == (drill.original.leaves,
                                                   drill.original.anchors)
    with closing(sqlite3.connect(database)) as conn:
        items = conn.execute("SELECT id, log_index, status FROM evidence_items").fetchall()
    assert [(i, n) for i, n, _status in items] == items_before
    assert {status for *_key, status in items} == {"anchored"}


def test_a_flipped_byte_in_a_segment_is_refused(drill: Drill, tmp_path: Path) -> None:
    env, objects = _scratch(drill, tmp_path)
    victim = segment_files(objects)[1]
    data = bytearray(victim.read_bytes())
    data[len(data) // 2] ^= 0x01
    victim.write_bytes(bytes(data))

    done = recover(env)

    assert done.returncode == 1
    out = done.stdout + done.stderr
    assert f"segment log-segments/{victim.name} is corrupt" in out.replace("\n", "")
    assert snapshot(env["EVIDENCE_DATABASE_URL"]).leaves == []


def test_a_missing_middle_segment_is_refused(drill: Drill, tmp_path: Path) -> None:
    env, objects = _scratch(drill, tmp_path)
    middle = segment_files(objects)[1]
    first, end = (int(n) for n in middle.stem.split("-"))
    middle.unlink()

    done = recover(env)

    assert done.returncode == 1
    assert (f"no segment holds log entries {first}..{end - 1}"
            in (done.stdout + done.stderr).replace("\n", ""))
    assert snapshot(env["EVIDENCE_DATABASE_URL"]).leaves == []


def test_a_forged_but_self_consistent_log_differs_from_the_chain(drill: Drill,
                                                                 tmp_path: Path) -> None:
    env, objects = _scratch(drill, tmp_path)
    files = segment_files(objects)
    segments = [decode_segment(path.read_bytes(), name=path.name) for path in files]
    entries = [entry for segment in segments for entry in segment.entries]
    forged_at = segments[1].first_index
    forged = entries[forged_at].replace(b'"time":"2', b'"time":"1', 1)  # every entry has one
    assert forged != entries[forged_at]
    entries[forged_at] = forged
    leaves = [merkle_log.leaf_hash(entry) for entry in entries]
    for path, segment in zip(files[1:], segments[1:], strict=True):  # rewrite from there on
        path.write_bytes(encode_segment(
            first_index=segment.first_index,
            entries=entries[segment.first_index:segment.end_index],
            root=_mth(leaves[:segment.end_index])))

    done = recover(env)

    assert done.returncode == 1, done.stdout + done.stderr
    assert "DIFFERENT" in done.stdout and "FAILED" in done.stdout
    first_size = drill.original.anchors[0][0]
    assert any(x.startswith(f"  size {first_size:>8} ") and x.endswith("equal")
               for x in done.stdout.splitlines()) == (first_size <= forged_at)
    assert snapshot(env["EVIDENCE_DATABASE_URL"]).leaves == []


def _mth(leaves: list[bytes]) -> bytes:
    """RFC 9162 MTH over leaf hashes (the forger's own tree)."""
    if len(leaves) == 1:
        return leaves[0]
    k = 1 << ((len(leaves) - 1).bit_length() - 1)
    return merkle_log.node_hash(_mth(leaves[:k]), _mth(leaves[k:]))


