"""End to end, as ``make run`` runs it: ``evidence serve`` with its own anvil, the CLI, a court.

1. upload with one interruption and a resume; 2. anchored within 10 s; 3. verified by hash,
by file, by bundle offline and with --rpc; 4. a flipped byte in storage reads ``mismatch``;
5. with the chain node stopped for 20 s uploads go on, and afterwards everything is anchored,
each head once.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest
import requests

from tests.support.live import EVIDENCE, LiveServer

pytestmark = [pytest.mark.ledger, pytest.mark.slow]
MIB = 1 << 20


@pytest.fixture
def server(tmp_path: Path) -> Iterator[LiveServer]:
    live = LiveServer(var_dir=tmp_path / "var", env={"EVIDENCE_ANCHOR_INTERVAL": "0.5"})
    live.start()
    yield live
    live.stop()


def _run(server: LiveServer, token: str, state: Path, *args: str,
         check: bool = True) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "EVIDENCE_SERVER": server.url, "EVIDENCE_TOKEN": token,
           "EVIDENCE_CLI_STATE": str(state), "COLUMNS": "200"}
    done = subprocess.run([EVIDENCE, *args], env=env, capture_output=True, text=True,
                          timeout=180)
    if check:
        assert done.returncode == 0, done.stdout + done.stderr
    return done


def _get(server: LiveServer, token: str, path: str) -> object:
    r = requests.get(server.url + path, headers={"Authorization": f"Bearer {token}"}, timeout=10)
    assert r.status_code == 200, r.text
    return r.json()


def _wait(predicate: object, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():  # type: ignore[operator]
            return
        time.sleep(0.2)
    raise AssertionError(f"{what} did not happen within {timeout} s")


def _anvil(server: LiveServer) -> psutil.Process:
    assert server.process is not None
    children = psutil.Process(server.process.pid).children()
    return next(c for c in children if "anvil" in c.name())


def test_court_verifies_what_an_officer_uploaded(server: LiveServer, tmp_path: Path) -> None:
    token = server.token("enf-officer")
    r = requests.post(server.url + "/cases", headers={"Authorization": f"Bearer {token}"},
                      json={"case_number": "ENF-E2E-1", "title": "占道经营"}, timeout=10)
    case_id = r.json()["id"]
    clip = tmp_path / "shift.mp4"
    clip.write_bytes(os.urandom(12 * MIB))
    state = tmp_path / "cli"

    env = {**os.environ, "EVIDENCE_SERVER": server.url, "EVIDENCE_TOKEN": token,
           "EVIDENCE_CLI_STATE": str(state)}
    first = subprocess.Popen([EVIDENCE, "upload", str(clip), "--case", case_id, "--chunk-mb",
                              "1", "--limit-rate", "4M"], env=env,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _wait(lambda: any(p.stat().st_size > 3 * MIB
                      for p in (server.var_dir / "uploads").glob("*.part")), 30, "progress")
    first.send_signal(signal.SIGKILL)
    first.wait(10)
    _run(server, token, state, "upload", str(clip), "--case", case_id)
    item = _get(server, token, f"/cases/{case_id}/items")[0]  # type: ignore[index]

    started = time.monotonic()
    _wait(lambda: _get(server, token, f"/items/{item['id']}")["status"] == "anchored",  # type: ignore[index]
          10, "anchoring")
    assert time.monotonic() - started <= 10

    by_hash = _run(server, token, state, "verify", item["sha256"])
    assert "verified" in by_hash.stdout
    by_file = _run(server, token, state, "verify", str(clip))
    assert "verified" in by_file.stdout

    bundle = tmp_path / "bundle.json"
    bundle.write_text(json.dumps(_get(server, token, f"/evidence/{item['id']}/proof")))
    offline = _run(server, token, state, "verify-bundle", str(bundle), "--file", str(clip))
    assert "verified" in offline.stdout.lower()
    rpc = f"http://127.0.0.1:{server.ledger_port}"
    online = _run(server, token, state, "verify-bundle", str(bundle), "--file", str(clip),
                  "--rpc", rpc)
    assert "verified" in online.stdout.lower()
    tampered = tmp_path / "tampered.mp4"
    raw = bytearray(clip.read_bytes())
    raw[1234] ^= 0xFF
    tampered.write_bytes(bytes(raw))
    refused = _run(server, token, state, "verify-bundle", str(bundle), "--file", str(tampered),
                   check=False)
    assert refused.returncode == 1

    stored = (server.var_dir / "objects" / "sha256" / item["sha256"][:2] /
              item["sha256"][2:4] / item["sha256"])
    stored.chmod(0o644)
    data = bytearray(stored.read_bytes())
    data[99] ^= 0x01
    stored.write_bytes(bytes(data))
    r = requests.post(f"{server.url}/items/{item['id']}/verify",
                      headers={"Authorization": f"Bearer {token}"}, timeout=30)
    assert r.json()["verdict"] == "mismatch"


def test_chain_outage_delays_but_never_loses_or_doubles_anchors(server: LiveServer,
                                                                tmp_path: Path) -> None:
    token = server.token("enf-officer")
    r = requests.post(server.url + "/cases", headers={"Authorization": f"Bearer {token}"},
                      json={"case_number": "ENF-E2E-2", "title": "扬尘"}, timeout=10)
    case_id = r.json()["id"]
    anvil = _anvil(server)
    anvil.suspend()  # the node stops answering: SIGSTOP for 20 s
    try:
        files = []
        for i in range(4):
            path = tmp_path / f"photo{i}.jpg"
            path.write_bytes(os.urandom(200_000 + i))
            files.append(str(path))
        _run(server, token, tmp_path / "cli", "upload", *files, "--case", case_id)
        items = _get(server, token, f"/cases/{case_id}/items")
        assert {i["status"] for i in items} == {"stored"}  # type: ignore[index,union-attr]
        time.sleep(20 - 2)
    finally:
        anvil.resume()
    _wait(lambda: {i["status"] for i in _get(server, token, f"/cases/{case_id}/items")}  # type: ignore[union-attr]
          == {"anchored"}, 45, "anchoring after the outage")
    # listing the case is itself a custody event, so the log keeps growing while we poll;
    # once we stop reading, the anchorer catches up with every leaf
    def fully_anchored() -> bool:
        head = requests.get(server.url + "/log/head", timeout=10).json()
        return bool(head["anchored"]) and head["anchored"]["tree_size"] == head["log_size"]
    _wait(fully_anchored, 30, "the whole log anchored")
