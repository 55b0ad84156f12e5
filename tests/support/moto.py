"""Start and stop a throwaway ``moto_server`` (an in-memory S3 endpoint) on 127.0.0.1."""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

_HOST = "127.0.0.1"
_START_TIMEOUT_SECONDS = 30.0
_START_ATTEMPTS = 3


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((_HOST, 0))
        return int(sock.getsockname()[1])


def _command(port: int) -> list[str]:
    script = Path(sys.executable).with_name("moto_server")
    if script.exists():
        return [str(script), "-H", _HOST, "-p", str(port)]
    if found := shutil.which("moto_server"):
        return [found, "-H", _HOST, "-p", str(port)]
    return [sys.executable, "-m", "moto.server", "-H", _HOST, "-p", str(port)]


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1):
            return True
    except urllib.error.HTTPError:
        return True  # any HTTP status means the server is up
    except OSError:
        return False


def start_moto_server() -> tuple[str, subprocess.Popen[bytes]]:
    """Start ``moto_server`` on a free port; return its base URL and the process.

    Waits until the server answers HTTP. Raises RuntimeError (with the server's output tail)
    when it exits early or does not answer in time.
    """
    tail = b""
    for _ in range(_START_ATTEMPTS):  # the free port can be taken before moto binds it
        port = _free_port()
        url = f"http://{_HOST}:{port}"
        # A file, not a pipe: moto logs every request and a full pipe would block the server.
        with tempfile.TemporaryFile() as log:
            process = subprocess.Popen(_command(port), stdout=log, stderr=subprocess.STDOUT)
            deadline = time.monotonic() + _START_TIMEOUT_SECONDS
            while time.monotonic() < deadline and process.poll() is None:
                if _answers(url):
                    return url, process
                time.sleep(0.1)
            stop(process)
            log.seek(0)
            tail = log.read()[-2000:]
    raise RuntimeError(f"moto_server did not start: {tail.decode(errors='replace')}")


def stop(process: subprocess.Popen[bytes]) -> None:
    """Terminate the server started by ``start_moto_server`` and reap it."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


@dataclass(frozen=True)
class S3Endpoint:
    """Where an S3-compatible server listens, and its credentials."""

    endpoint: str
    access_key: str
    secret_key: str
    secure: bool


def parse_test_url(url: str) -> S3Endpoint:
    """Parse ``TEST_S3_URL`` (``http://ACCESS:SECRET@host:port``)."""
    parts = urlsplit(url)
    if not (parts.hostname and parts.port and parts.username and parts.password):
        raise ValueError("TEST_S3_URL must look like http://ACCESS:SECRET@host:port")
    return S3Endpoint(
        endpoint=f"{parts.hostname}:{parts.port}",
        access_key=unquote(parts.username),
        secret_key=unquote(parts.password),
        secure=parts.scheme == "https",
    )
