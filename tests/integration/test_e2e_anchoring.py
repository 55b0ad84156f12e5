"""End to end, as ``make run`` runs it: ``evidence serve`` with its own anvil, the CLI, a court.

1. upload with one interruption and a resume; 2. anchored within 10 s; 3. verified by hash,
by file, by bundle offline and with --rpc; 4. a flipped byte in storage reads ``mismatch``.
The chain outage (node hung, then stopped, for 60 s) is in ``tests/faults/test_chain_outage.py``.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from evidence_service.adapters.storage import FilesystemObjectStore
from evidence_service.domain.rules import content_key
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

    stored = FilesystemObjectStore(server.var_dir / "objects").object_path(
        content_key(item["sha256"]))
    stored.chmod(0o644)
    data = bytearray(stored.read_bytes())
    data[99] ^= 0x01
    stored.write_bytes(bytes(data))
    r = requests.post(f"{server.url}/items/{item['id']}/verify",
                      headers={"Authorization": f"Bearer {token}"}, timeout=30)
    assert r.json()["verdict"] == "mismatch"
