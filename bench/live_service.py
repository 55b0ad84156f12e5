"""Shared by the bench scripts: run ``evidence serve`` on embedded defaults and log in."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(var: Path, port: int, ledger_port: int,
                 interval: float) -> subprocess.Popen[bytes]:
    """Start the service with its own anvil and wait until it is ready (log beside ``var``)."""
    # video analysis is measured on its own (bench/video.py): keep it out of these figures
    env = {**os.environ, "EVIDENCE_VAR_DIR": str(var), "EVIDENCE_LOG_LEVEL": "WARNING",
           "EVIDENCE_LEDGER__PORT": str(ledger_port), "EVIDENCE_ANCHOR_INTERVAL": str(interval),
           "EVIDENCE_ANALYSIS__ENABLED": "false"}
    evidence = str(Path(sys.executable).with_name("evidence"))
    log = (var.parent / "server.log").open("wb")
    proc = subprocess.Popen([evidence, "serve", "--port", str(port)], env=env,
                            stdout=log, stderr=subprocess.STDOUT)
    for _ in range(600):
        if proc.poll() is not None:
            raise SystemExit(f"service exited: {(var.parent / 'server.log').read_text()[-2000:]}")
        try:
            if requests.get(f"http://127.0.0.1:{port}/readyz", timeout=1).ok:
                return proc
        except requests.RequestException:
            pass
        time.sleep(0.2)
    raise SystemExit("service did not start")


def login(base: str, var: Path, username: str) -> str:
    """A token for one of the demo accounts printed on first start."""
    creds = dict(line.split("\t")[:2] for line in
                 (var / "demo-credentials.txt").read_text().splitlines()[1:])
    r = requests.post(f"{base}/auth/login", timeout=10,
                      json={"username": username, "password": creds[username]})
    r.raise_for_status()
    return str(r.json()["access_token"])
