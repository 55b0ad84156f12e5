"""Fault suite: a worker and an API process killed in a scale-out, with real processes: two
API processes, two Celery workers, one Redis broker, one PostgreSQL and one anvil chain, all
on this machine.

The API processes run in ``external`` ledger mode with ``EVIDENCE_JOBS__BACKEND=celery``:
they run no analysis themselves and only nudge the workers. Shown here:

- analysis jobs spread across both workers (each job records the worker that ran it);
- a worker killed with SIGKILL mid-job loses no job: its heartbeat goes stale and the other
  worker runs it to the end (a second attempt);
- exactly one API process anchors at a time, and the other takes over when it is killed.
"""

from __future__ import annotations

import hashlib
import re
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.faults.conftest import FaultReport
from tests.support import video_media as vm
from tests.support.anvil import (
    Accounts,
    connect,
    deploy,
    external_ledger_env,
    node_config,
    require_anvil,
    running_node,
)
from tests.support.api import encode_metadata
from tests.support.live import LiveServer
from tests.support.postgres import scratch_database
from tests.support.workers import LiveWorker, require_redis

pytestmark = [pytest.mark.db, pytest.mark.ledger, pytest.mark.ffmpeg, pytest.mark.slow,
              pytest.mark.faults]
_ANCHORED = re.compile(r"head (\d+) anchored in block")
STALE_SECONDS = 3.0


@dataclass
class Stack:
    apis: tuple[LiveServer, LiveServer]
    workers: dict[str, LiveWorker]
    token: str
    case_id: str
    clips: Path


@pytest.fixture(scope="module")
def fresh_database(pg_database: str) -> Iterator[str]:
    """A PostgreSQL database of its own (the demo accounts are created on first start)."""
    with scratch_database(pg_database, prefix="evidence_scale") as url:
        yield url


@pytest.fixture(scope="module")
def stack(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory,
          fresh_database: str) -> Iterator[Stack]:
    broker = require_redis()
    binary = require_anvil(request.config)
    tmp = tmp_path_factory.mktemp("scale")
    with running_node(node_config(binary)) as node:
        record, _ = deploy(connect(node), Accounts.dev())
        env = {"EVIDENCE_DATABASE_URL": fresh_database,
               **external_ledger_env(node.rpc_url, record.address, tmp),
               "EVIDENCE_JWT_SECRET": "shared-secret-" + "x" * 32,
               "EVIDENCE_OBJECTS_DIR": str(tmp / "objects"),
               "EVIDENCE_ANCHOR_INTERVAL": "0.3",
               "EVIDENCE_JOBS__BACKEND": "celery", "EVIDENCE_JOBS__BROKER_URL": broker,
               # a queue of its own: other test runs may share this Redis
               "EVIDENCE_JOBS__QUEUE": f"evidence-test-{uuid.uuid4().hex[:8]}",
               "EVIDENCE_JOBS__DISPATCH_INTERVAL": "0.5",
               "EVIDENCE_ANALYSIS__STALE_SECONDS": str(STALE_SECONDS),
               "EVIDENCE_ANALYSIS__PIPELINE_WORKERS": "1"}
        first = LiveServer(var_dir=tmp / "a" / "var", env=env)
        second = LiveServer(var_dir=tmp / "b" / "var", env=env)
        workers = {name: LiveWorker(name=name, log_dir=tmp,
                                    env={**env, "EVIDENCE_VAR_DIR": str(tmp / name)})
                   for name in ("w1", "w2")}
        try:
            first.start()  # migrates the database and creates the demo accounts
            with ThreadPoolExecutor(3) as pool:  # then the rest, side by side
                for started in [pool.submit(second.start),
                                *(pool.submit(w.start) for w in workers.values())]:
                    started.result()
            token = first.token("enf-officer")
            case_id = requests.post(first.url + "/cases", timeout=10,
                                    json={"case_number": "C-SCALE", "title": "t"},
                                    headers={"Authorization": f"Bearer {token}"}).json()["id"]
            yield Stack(apis=(first, second), workers=workers, token=token, case_id=case_id,
                        clips=tmp_path_factory.mktemp("clips"))
        finally:
            for worker in workers.values():
                worker.stop()
            first.stop()
            second.stop()


def _upload(stack: Stack, server: LiveServer, data: bytes, *, filetype: str = "video/mp4",
            filename: str = "clip.mp4") -> str:
    auth = {"Authorization": f"Bearer {stack.token}", "Tus-Resumable": "1.0.0"}
    r = requests.post(server.url + "/uploads", timeout=10, headers={
        **auth, "Upload-Length": str(len(data)), "Upload-Metadata": encode_metadata(
            {"case_id": stack.case_id, "filename": filename, "kind": "audio_visual",
             "filetype": filetype, "sha256": hashlib.sha256(data).hexdigest()})})
    assert r.status_code == 201, r.text
    item_id = str(r.json()["upload"]["item_id"])
    r = requests.patch(server.url + r.headers["Location"], data=data, timeout=30, headers={
        **auth, "Upload-Offset": "0", "Content-Type": "application/offset+octet-stream"})
    assert r.status_code == 204, r.text
    return item_id


def _job(stack: Stack, item_id: str) -> dict[str, Any]:
    r = requests.get(stack.apis[0].url + f"/items/{item_id}/analysis", timeout=10,
                     headers={"Authorization": f"Bearer {stack.token}"})
    assert r.status_code == 200, r.text
    jobs = r.json()["jobs"]
    assert len(jobs) == 1, jobs
    return dict(jobs[0])


def _wait(stack: Stack, item_id: str, until: set[str], *, timeout: float = 90,
          poll: float = 0.2) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        job = _job(stack, item_id)
        if job["status"] in until or time.monotonic() > deadline:
            return job
        time.sleep(poll)


def _clip(stack: Stack, seed: int, *, seconds: float, fps: int = 15) -> bytes:
    path = stack.clips / f"clip-{seed}.mp4"
    vm.write_recorder_clip(path, width=320, height=180, fps=fps, seconds=seconds,
                           cut_times=(seconds / 2,), seed=seed, gop=fps)
    return path.read_bytes()


def _worker_name(job: dict[str, Any]) -> str:
    assert job["worker"], job
    return str(job["worker"]).split(":")[0]


def test_analysis_jobs_spread_across_both_workers(stack: Stack) -> None:
    items = [_upload(stack, stack.apis[i % 2], _clip(stack, seed=10 + i, seconds=2.0))
             for i in range(4)]
    jobs = [_wait(stack, item_id, {"done", "failed"}) for item_id in items]
    assert [j["status"] for j in jobs] == ["done"] * 4, jobs
    ran_by = {_worker_name(j) for j in jobs}
    assert ran_by == {"w1", "w2"}, [j["worker"] for j in jobs]
    for name, worker in stack.workers.items():  # the recorded identity is that process
        assert all(j["worker"] == f"{name}:{worker.pid}" for j in jobs
                   if _worker_name(j) == name)


def test_a_worker_killed_mid_job_loses_no_job(stack: Stack, fault_report: FaultReport) -> None:
    # two minutes of footage: about 2 s of analysis here, ample time to catch it running
    item_id = _upload(stack, stack.apis[1], _clip(stack, seed=30, seconds=120.0, fps=5))
    job = _wait(stack, item_id, {"running", "done", "failed"}, poll=0.05)
    assert job["status"] == "running", job
    victim = _worker_name(job)
    survivor = ({"w1", "w2"} - {victim}).pop()
    stack.workers[victim].kill()
    killed = time.monotonic()
    assert _job(stack, item_id)["status"] == "running"  # killed mid-job, not after it

    done = _wait(stack, item_id, {"done", "failed"}, timeout=120)
    fault_report.record(stale_seconds=STALE_SECONDS,
                        job_done_after_kill_s=time.monotonic() - killed)
    assert done["status"] == "done", done
    assert _worker_name(done) == survivor
    assert done["attempts"] == 2
    assert f"analysis job={done['id']}" in stack.workers[survivor].log_tail(10**6)


def _anchored_sizes(server: LiveServer) -> list[int]:
    return [int(m) for m in _ANCHORED.findall(server.log_tail(10**7))]


def _anchored_size(server: LiveServer) -> int:
    head = requests.get(server.url + "/log/head", timeout=5).json()
    return int(head["anchored"]["tree_size"]) if head["anchored"] else 0


def _tree_size(server: LiveServer) -> int:
    return int(requests.get(server.url + "/log/head", timeout=5).json()["log_size"])


def test_exactly_one_api_process_anchors_and_the_other_takes_over(
        stack: Stack, fault_report: FaultReport) -> None:
    first, second = stack.apis
    size = _tree_size(first)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and _anchored_size(first) < size:
        time.sleep(0.2)
    assert _anchored_size(first) >= size
    a, b = _anchored_sizes(first), _anchored_sizes(second)
    assert bool(a) != bool(b), f"both or neither anchored: {a} / {b}"
    leader, follower = (first, second) if a else (second, first)

    leader.kill()
    killed = time.monotonic()
    _upload(stack, follower, b"not a video " + uuid.uuid4().bytes,
            filetype="application/octet-stream", filename="note.bin")
    grown = _tree_size(follower)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and _anchored_size(follower) < grown:
        time.sleep(0.2)
    taken_over = _anchored_sizes(follower)
    fault_report.record(anchored_by_the_other_after_kill_s=time.monotonic() - killed)
    assert taken_over and taken_over[-1] >= grown
    every = _anchored_sizes(leader) + taken_over
    assert len(every) == len(set(every)) and every == sorted(every)
