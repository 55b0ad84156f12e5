"""Shared by the bench scripts: run ``evidence serve`` on embedded defaults and log in."""

from __future__ import annotations

import contextlib
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


def start_server(var: Path, port: int, ledger_port: int, interval: float, *,
                 workers: int = 1) -> subprocess.Popen[bytes]:
    """Start the service with its own anvil and wait until it is ready (log beside ``var``).

    ``workers`` > 1: ``evidence serve --workers``; ready once every API process answers."""
    # video analysis is measured on its own (bench/video.py): keep it out of these figures
    env = {**os.environ, "EVIDENCE_VAR_DIR": str(var), "EVIDENCE_LOG_LEVEL": "WARNING",
           "EVIDENCE_LEDGER__PORT": str(ledger_port), "EVIDENCE_ANCHOR_INTERVAL": str(interval),
           "EVIDENCE_ANALYSIS__ENABLED": "false"}
    evidence = str(Path(sys.executable).with_name("evidence"))
    log = (var.parent / "server.log").open("wb")
    proc = subprocess.Popen([evidence, "serve", "--port", str(port), "--workers", str(workers)],
                            env=env, stdout=log, stderr=subprocess.STDOUT)
    for _ in range(600):
        if proc.poll() is not None:
            raise SystemExit(f"service exited: {(var.parent / 'server.log').read_text()[-2000:]}")
        try:
            if (requests.get(f"http://127.0.0.1:{port}/readyz", timeout=1).ok
                    and len(pids := api_pids(proc.pid)) >= workers
                    and all(_listens(p) for p in pids)):
                return proc
        except requests.RequestException:
            pass
        time.sleep(0.2)
    raise SystemExit("service did not start")


def api_pids(pid: int) -> list[int]:
    """The service's API processes: ``pid`` and its ``serve`` children that listen (replicas),
    once they do; not the chain node or ``evidence init``."""
    found = [pid]
    children = []  # forked by any thread: the watcher thread restarts replicas
    for task in Path(f"/proc/{pid}/task").iterdir():
        with contextlib.suppress(OSError):
            children += (task / "children").read_text().split()
    for child in children:
        try:
            cmdline = Path(f"/proc/{child}/cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"--replica-of" in cmdline and _listens(int(child)):
            found.append(int(child))
    return found


def _listens(pid: int) -> bool:
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    for table in ("tcp", "tcp6"):
        for line in Path(f"/proc/{pid}/net/{table}").read_text().splitlines()[1:]:
            parts = line.split()
            if parts[3] == "0A" and parts[9] in inodes:  # state LISTEN
                return True
    return False


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU seconds of these processes so far (0 for one that has gone)."""
    total = 0.0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def login(base: str, var: Path, username: str) -> str:
    """A token for one of the demo accounts printed on first start."""
    creds = dict(line.split("\t")[:2] for line in
                 (var / "demo-credentials.txt").read_text().splitlines()[1:])
    r = requests.post(f"{base}/auth/login", timeout=10,
                      json={"username": username, "password": creds[username]})
    r.raise_for_status()
    return str(r.json()["access_token"])
