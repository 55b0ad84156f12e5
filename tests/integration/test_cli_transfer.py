"""The command line, as officers and clerks use it against ``evidence serve`` (embedded chain).

ENF uploads and sends a case to PEN with ``evidence transfer send``; PEN accepts with
``evidence transfer accept``; both see the custody timeline with ``evidence custody``; PEN
exports the package with ``evidence export`` and a court checks it with
``evidence verify-package --rpc``. The demo departments get their chain accounts in
``evidence init``.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.support.live import EVIDENCE, LiveServer

pytestmark = [pytest.mark.ledger, pytest.mark.slow]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    live = LiveServer(var_dir=tmp_path_factory.mktemp("cli-transfer") / "var",
                      env={"EVIDENCE_ANCHOR_INTERVAL": "0.3",
                           "EVIDENCE_LEDGER__KEYSTORE_SCRYPT_N": "1024"})
    live.start(timeout=120)
    yield live
    live.stop()


def _cli(server: LiveServer, user: str, tmp: Path, *args: str,
         expect: int = 0) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "EVIDENCE_SERVER": server.url, "EVIDENCE_TOKEN": server.token(user),
           "EVIDENCE_CLI_STATE": str(tmp / user), "COLUMNS": "250"}
    done = subprocess.run([EVIDENCE, *args], env=env, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == expect, done.stdout + done.stderr
    return done


def _wait_anchored(server: LiveServer) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        head = requests.get(server.url + "/log/head", timeout=5).json()
        if head["anchored"] and head["anchored"]["tree_size"] == head["log_size"]:
            return
        time.sleep(0.2)
    raise AssertionError("not anchored within 30 s")


def test_send_accept_timeline_export_and_verify(server: LiveServer, tmp_path: Path) -> None:
    departments = requests.get(server.url + "/departments", timeout=5, headers={
        "Authorization": f"Bearer {server.token('enf-officer')}"}).json()
    assert all(d["chain_address"] for d in departments), departments

    evidence = tmp_path / "recorder.mp4"
    evidence.write_bytes(os.urandom(2_000_000))
    token = server.token("enf-officer")
    case = requests.post(server.url + "/cases", json={"case_number": "ENF-CLI-7",
                                                      "title": "扬尘污染"},
                         headers={"Authorization": f"Bearer {token}"}, timeout=10).json()
    _cli(server, "enf-officer", tmp_path, "upload", str(evidence), "--case", "ENF-CLI-7")
    _wait_anchored(server)

    sent = _cli(server, "enf-officer", tmp_path, "transfer", "send", "ENF-CLI-7", "--to", "PEN")
    transfer_id = re.search(r"transfer ([0-9a-f-]{36}) opened", sent.stdout)
    assert transfer_id, sent.stdout
    inbox = _cli(server, "pen-admin", tmp_path, "transfer", "list")
    assert transfer_id.group(1) in inbox.stdout and "open" in inbox.stdout
    accepted = _cli(server, "pen-admin", tmp_path, "transfer", "accept", transfer_id.group(1))
    assert "accepted: case" in accepted.stdout
    again = _cli(server, "pen-admin", tmp_path, "transfer", "accept", transfer_id.group(1),
                 expect=1)
    assert "already accepted" in again.stderr

    timeline = _cli(server, "enf-officer", tmp_path, "custody", "ENF-CLI-7", "--case")
    for kind in ("uploaded", "transfer_sent"):
        assert kind in timeline.stdout
    proofs = json.loads(_cli(server, "enf-officer", tmp_path, "custody", "ENF-CLI-7", "--case",
                             "--json").stdout)
    anchored = [e for e in proofs if e["anchored"]]
    assert anchored and all(e["root"] and e["anchor"]["tx_hash"] for e in anchored)
    package = tmp_path / "case.zip"
    pen_case = re.search(r"accepted: case ([0-9a-f-]{36})", accepted.stdout)
    assert pen_case
    _wait_anchored(server)
    _cli(server, "pen-admin", tmp_path, "export", pen_case.group(1), "--out", str(package))
    ledger = json.loads((server.var_dir / "ledger" / "deployment.json").read_text())
    assert ledger["address"]
    verified = _cli(server, "crt-verifier", tmp_path, "verify-package", str(package), "--rpc",
                    f"http://127.0.0.1:{server.ledger_port}")
    assert "FAILED" not in verified.stdout
    assert case["id"]


@pytest.mark.ffmpeg
def test_analysis_progress_and_rerun_from_the_cli(server: LiveServer, tmp_path: Path) -> None:
    from tests.support import video_media as vm

    clip = vm.write_recorder_clip(tmp_path / "patrol.mp4", width=320, height=180, seconds=4.0,
                                  cut_times=(2.1,))
    token = server.token("enf-officer")
    headers = {"Authorization": f"Bearer {token}"}
    case = requests.post(server.url + "/cases", json={"case_number": "ENF-CLI-V",
                                                      "title": "道路巡查"},
                         headers=headers, timeout=10).json()
    _cli(server, "enf-officer", tmp_path, "upload", str(clip.path), "--case", "ENF-CLI-V")
    item = requests.get(f"{server.url}/cases/{case['id']}/items", headers=headers,
                        timeout=10).json()[0]
    watched = _cli(server, "enf-officer", tmp_path, "analysis", item["id"], "--watch")
    assert "done" in watched.stdout and "timeline" in watched.stdout
    rerun = _cli(server, "enf-officer", tmp_path, "analyze", item["id"], "--line",
                 "kerb=0,0.8,1,0.8", "--mark", "1.5=whistle")
    assert "queued job" in rerun.stdout and rerun.stdout.count("done") >= 2
    bad = _cli(server, "enf-officer", tmp_path, "analyze", item["id"], "--zone", "x=0.1,0.1",
               expect=1)
    assert "at least 3 points" in bad.stderr
