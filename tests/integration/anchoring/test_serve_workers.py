"""``evidence serve --workers 2``: two API processes on one port and one embedded chain node.

The replica attaches to the first process's node, serves requests on its own, is restarted
when it dies and goes when the first process goes; the leader lock lets only one anchor.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import signal
import time
from pathlib import Path

import pytest
import requests

from tests.support.api import encode_metadata
from tests.support.live import LiveServer

pytestmark = [pytest.mark.ledger, pytest.mark.slow]
_ANCHORED = re.compile(r"head (\d+) anchored in block")


def _replicas(pid: int) -> list[int]:
    found = []  # children forked by any thread (the watcher thread restarts replicas)
    children = [c for task in Path(f"/proc/{pid}/task").iterdir()
                for c in (task / "children").read_text().split()]
    for child in children:
        try:
            if b"--replica-of" in Path(f"/proc/{child}/cmdline").read_bytes():
                found.append(int(child))
        except OSError:
            continue
    return found


def _wait(condition: object, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():  # type: ignore[operator]
            return
        time.sleep(0.2)
    raise AssertionError(f"{what} within {timeout}s")


def _alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def _upload(server: LiveServer, token: str, case_id: str, data: bytes) -> None:
    auth = {"Authorization": f"Bearer {token}", "Tus-Resumable": "1.0.0"}
    r = requests.post(server.url + "/uploads", timeout=10, headers={
        **auth, "Upload-Length": str(len(data)), "Upload-Metadata": encode_metadata(
            {"case_id": case_id, "filename": "a.txt", "kind": "documentary"})})
    assert r.status_code == 201, r.text
    r = requests.patch(server.url + r.headers["Location"], data=data, timeout=10, headers={
        **auth, "Upload-Offset": "0", "Content-Type": "application/offset+octet-stream"})
    assert r.status_code == 204, r.text


def test_two_api_processes_share_the_port_and_one_anchors(tmp_path: Path) -> None:
    server = LiveServer(var_dir=tmp_path / "var", env={
        "EVIDENCE_WORKERS": "2", "EVIDENCE_ANCHOR_INTERVAL": "0.3",
        "EVIDENCE_ANALYSIS__ENABLED": "false"})
    server.start()
    try:
        assert server.process is not None
        primary = server.process.pid
        _wait(lambda: len(_replicas(primary)) == 1, 30, "one replica started")
        (replica,) = _replicas(primary)
        token = server.token("enf-officer")
        case_id = requests.post(server.url + "/cases", timeout=10, json={
            "case_number": "W-1", "title": "t"},
            headers={"Authorization": f"Bearer {token}"}).json()["id"]

        # with the first process stopped, the replica alone answers new connections
        _wait(lambda: requests.get(server.url + "/readyz", timeout=5).ok, 30, "ready")
        os.kill(primary, signal.SIGSTOP)
        try:
            answered = 0
            for _ in range(20):  # each a new connection: the kernel spreads them by hash
                with contextlib.suppress(requests.RequestException):
                    answered += requests.get(server.url + "/healthz", timeout=0.5).ok
            assert answered > 0, "the replica never answered"
        finally:
            os.kill(primary, signal.SIGCONT)

        datas = [os.urandom(500 + i) for i in range(6)]
        for data in datas:
            _upload(server, token, case_id, data)
        _wait(lambda: (requests.get(server.url + "/log/head", timeout=5).json()["anchored"]
                       or {}).get("tree_size", 0) >= 6, 20, "all anchored")
        for data in datas:
            digest = hashlib.sha256(data).hexdigest()
            assert requests.get(f"{server.url}/verify/{digest}",
                                timeout=5).json()["verdict"] == "verified"
        sizes = [int(m) for m in _ANCHORED.findall(server.log_tail(10**7))]
        assert sizes and len(sizes) == len(set(sizes)) and sizes == sorted(sizes)

        os.kill(replica, signal.SIGKILL)  # a dead replica is replaced
        _wait(lambda: _replicas(primary) and _replicas(primary) != [replica], 30,
              "the replica restarted")
        (replacement,) = _replicas(primary)
        server.kill()  # kill -9 the first process: its replica goes with it
        _wait(lambda: not _alive(replacement), 20, "the replica exited with its parent")
    finally:
        server.stop()
