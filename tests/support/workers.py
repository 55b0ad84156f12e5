"""Run ``evidence worker`` (a Celery analysis worker) in a subprocess, and a Redis for it."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import redis

from tests.support.anvil import unavailable
from tests.support.live import EVIDENCE

DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"


def require_redis() -> str:
    """``TEST_REDIS_URL`` (default the local Redis), or skip (fail under ``CI=true``)."""
    url = os.environ.get("TEST_REDIS_URL", DEFAULT_REDIS_URL)
    try:
        redis.Redis.from_url(url, socket_connect_timeout=2).ping()
    except redis.RedisError as exc:
        unavailable(f"Celery test needs Redis at TEST_REDIS_URL={url}: {exc}")
    return url


@dataclass
class LiveWorker:
    """One ``evidence worker`` process; its log is ``log_dir/worker-NAME.log``."""

    name: str
    log_dir: Path
    env: dict[str, str]
    process: subprocess.Popen[bytes] | None = None

    @property
    def log_path(self) -> Path:
        return self.log_dir / f"worker-{self.name}.log"

    def start(self, timeout: float = 60) -> None:
        """Start the worker and wait until Celery reports it ready."""
        log = open(self.log_path, "ab")  # noqa: SIM115 - the child writes to it
        self.process = subprocess.Popen([EVIDENCE, "worker", "--name", self.name],
                                        env={**os.environ, **self.env}, stdout=log,
                                        stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"worker exited early: {self.log_tail()}")
            if " ready." in self.log_tail(10**6):
                return
            time.sleep(0.2)
        raise RuntimeError(f"worker not ready in {timeout}s: {self.log_tail()}")

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def kill(self) -> None:
        """SIGKILL: the job it runs is abandoned mid-way, as in a crash."""
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(10)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.kill()

    def log_tail(self, n: int = 3000) -> str:
        return self.log_path.read_text(errors="replace")[-n:] if self.log_path.exists() else ""
