"""Run the real service (``evidence serve``) in a subprocess for end-to-end tests."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import requests

EVIDENCE = str(Path(sys.executable).with_name("evidence"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class LiveServer:
    """One service process on 127.0.0.1 with its own ``var`` directory."""

    var_dir: Path
    port: int = field(default_factory=free_port)
    ledger_port: int = field(default_factory=free_port)
    env: dict[str, str] = field(default_factory=dict)
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 60) -> None:
        env = {**os.environ, "EVIDENCE_VAR_DIR": str(self.var_dir), "EVIDENCE_LOG_LEVEL": "INFO",
               "EVIDENCE_LEDGER__PORT": str(self.ledger_port), **self.env}
        self.var_dir.mkdir(parents=True, exist_ok=True)
        log = open(self.var_dir.parent / f"server-{self.port}.log", "ab")  # noqa: SIM115
        self.process = subprocess.Popen([EVIDENCE, "serve", "--port", str(self.port)], env=env,
                                        stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited early: {self.log_tail()}")
            try:
                if requests.get(self.url + "/readyz", timeout=1).status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"server not ready in {timeout}s: {self.log_tail()}")

    def kill(self) -> None:
        """SIGKILL: no shutdown hooks run, as in a crash."""
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(10)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.kill()

    def log_tail(self, n: int = 3000) -> str:
        path = self.var_dir.parent / f"server-{self.port}.log"
        return path.read_text(errors="replace")[-n:] if path.exists() else ""

    def credentials(self) -> dict[str, str]:
        """Demo usernames -> passwords, as printed on first start."""
        lines = (self.var_dir / "demo-credentials.txt").read_text().splitlines()[1:]
        return {line.split("\t")[0]: line.split("\t")[1] for line in lines}

    def token(self, username: str) -> str:
        r = requests.post(self.url + "/auth/login", timeout=10, json={
            "username": username, "password": self.credentials()[username]})
        r.raise_for_status()
        return str(r.json()["access_token"])
