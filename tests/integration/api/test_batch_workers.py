"""Batches registered by worker processes (``EVIDENCE_BATCH_PROCESSES``) or in the API process.

Both give the same answer; a worker that dies fails its batch with a 503 (nothing half
registered) and the next batch gets a fresh pool; domain errors raised in a worker keep their
class and details; archives a dead process left in the spool are removed.
"""

from __future__ import annotations

import multiprocessing
import os
import pickle
import signal
import time
from pathlib import Path

import pytest

from evidence_service.api.batch_workers import ARCHIVE_PREFIX, BatchWorkers
from evidence_service.config import Settings
from evidence_service.domain.errors import InvalidInput, UploadOffsetMismatch
from tests.support.api import Api


@pytest.fixture(params=[0, 2], ids=["in-process", "workers"])
def batch_processes(request: pytest.FixtureRequest) -> int:
    return int(request.param)


@pytest.fixture
def settings(settings: Settings, batch_processes: int) -> Settings:
    settings.batch_processes = batch_processes
    return settings


def _post(api: Api, case_id: str, files: dict[str, bytes]):  # type: ignore[no-untyped-def]
    return api.post_batch("officer", case_id, files)


def test_a_batch_is_registered_where_the_settings_say(api: Api, settings: Settings) -> None:
    services = api.client.app.state.services  # type: ignore[attr-defined]
    assert (services.batch_workers is None) == (settings.batch_processes == 0)
    case_id = api.create_case("officer")
    files = {f"notes/{n}.txt": f"note {n}".encode() * 30 for n in range(5)}
    r = _post(api, case_id, files)
    assert r.status_code == 201, r.text
    items = r.json()["items"]
    assert [i["original_filename"] for i in items] == [f"{n}.txt" for n in range(5)]
    listed = api.client.get(f"/cases/{case_id}/items", headers=api.auth("officer")).json()
    assert {i["id"] for i in listed} == {i["id"] for i in items}
    assert sorted(i["log_index"] for i in items) == list(
        range(items[0]["log_index"], items[0]["log_index"] + 5))
    # a member with a hostile name: the worker's InvalidInput is answered as a 400
    bad = _post(api, case_id, {"../escape.txt": b"x"})
    assert bad.status_code == 400 and "escaping path" in bad.json()["error"]["message"]


@pytest.mark.expect_error_logs  # the 503 is logged as an error
@pytest.mark.parametrize("batch_processes", [2], indirect=True, ids=["workers"])
def test_a_dead_worker_fails_its_batch_with_503_and_the_next_batch_succeeds(api: Api) -> None:
    case_id = api.create_case("officer")
    assert _post(api, case_id, {"a.txt": b"first"}).status_code == 201  # starts the pool
    children = multiprocessing.active_children()
    assert children, "the batch workers are child processes"
    for child in children:
        os.kill(child.pid, signal.SIGKILL)  # type: ignore[arg-type]
    deadline = time.monotonic() + 10
    while any(c.is_alive() for c in children) and time.monotonic() < deadline:
        time.sleep(0.05)

    failed = _post(api, case_id, {"b.txt": b"second"})
    assert failed.status_code == 503, failed.text
    assert failed.json()["error"]["code"] == "storage_unavailable"
    again = _post(api, case_id, {"b.txt": b"second"})
    assert again.status_code == 201, again.text
    listed = api.client.get(f"/cases/{case_id}/items", headers=api.auth("officer")).json()
    assert sorted(i["original_filename"] for i in listed) == ["a.txt", "b.txt"]


def test_domain_errors_cross_processes_whole() -> None:
    error = InvalidInput("bad member", details=[{"member": "x"}])
    back = pickle.loads(pickle.dumps(error))
    assert type(back) is InvalidInput and str(back) == "bad member"
    assert back.details == [{"member": "x"}]
    offset = pickle.loads(pickle.dumps(UploadOffsetMismatch("moved", expected=7)))
    assert offset.expected == 7 and str(offset) == "moved"


def test_archives_left_by_a_dead_process_are_removed_when_the_pool_starts(
        tmp_path: Path) -> None:
    settings = Settings(var_dir=tmp_path / "var", batch_processes=1)
    spool = settings.resolved_spool_dir
    spool.mkdir(parents=True)
    stale, fresh = spool / f"{ARCHIVE_PREFIX}old.tar", spool / f"{ARCHIVE_PREFIX}new.tar"
    stale.write_bytes(b"left behind")
    fresh.write_bytes(b"being received by another process")
    os.utime(stale, (time.time() - 2 * 86400, time.time() - 2 * 86400))
    workers = BatchWorkers(settings, 1)
    try:
        workers._executor()  # started as by the first batch
        assert not stale.exists() and fresh.exists()
        with workers.archive_file() as archive:
            assert Path(archive.name).parent == spool
            assert Path(archive.name).name.startswith(ARCHIVE_PREFIX)
        assert not Path(archive.name).exists()
    finally:
        workers.close()
