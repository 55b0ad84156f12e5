"""Drive the real ``evidence upload`` CLI against a :class:`LiveServer` and watch its spool."""

from __future__ import annotations

import hashlib
import os
import subprocess
import time
from pathlib import Path

import requests

from evidence_service.domain.sm3 import new_sm3
from tests.support.live import EVIDENCE, LiveServer

MIB = 1 << 20


def digests(path: Path) -> tuple[str, str]:
    """SHA-256 and SM3 of the file at ``path``."""
    sha, sm3 = hashlib.sha256(), new_sm3()
    with path.open("rb") as fh:
        while block := fh.read(4 * MIB):
            sha.update(block)
            sm3.update(block)
    return sha.hexdigest(), sm3.hexdigest()


def cli_upload(server: LiveServer, token: str, state: Path,
               *args: str) -> subprocess.Popen[bytes]:
    """Start ``evidence upload ARGS`` as ``token``'s user, remembering uploads in ``state``."""
    env = {**os.environ, "EVIDENCE_SERVER": server.url, "EVIDENCE_TOKEN": token,
           "EVIDENCE_CLI_STATE": str(state), "COLUMNS": "120"}
    return subprocess.Popen([EVIDENCE, "upload", *args], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT)


def wait_for_spool(server: LiveServer, at_least: int, timeout: float = 60) -> int:
    """Wait until an upload's spool file holds ``at_least`` bytes; returns its size."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        parts = list((server.var_dir / "uploads").glob("*.part"))
        sizes = [p.stat().st_size for p in parts if p.exists()]
        if sizes and max(sizes) >= at_least:
            return max(sizes)
        time.sleep(0.05)
    raise AssertionError("upload never reached the expected size")


def write_large_file(path: Path, size: int) -> tuple[str, str]:
    """Write ``size`` bytes quickly (16 MiB of random bytes, each MiB stamped with its index
    so that no two MiB are alike) and return their SHA-256 and SM3."""
    base = bytearray(os.urandom(16 * MIB))
    sha, sm3 = hashlib.sha256(), new_sm3()
    with path.open("wb") as fh:
        written = 0
        while written < size:
            block = base[: min(16 * MIB, size - written)]
            for mib in range(0, len(block), MIB):
                block[mib:mib + 8] = ((written + mib) // MIB).to_bytes(8, "big")
            fh.write(block)
            sha.update(block)
            sm3.update(block)
            written += len(block)
    return sha.hexdigest(), sm3.hexdigest()


def create_case(server: LiveServer, token: str, number: str, title: str = "占道经营") -> str:
    """Open a case through the API; returns its id."""
    r = requests.post(server.url + "/cases", headers={"Authorization": f"Bearer {token}"},
                      json={"case_number": number, "title": title}, timeout=10)
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


def list_items(server: LiveServer, token: str, case_id: str) -> list[dict[str, object]]:
    """The case's items through the API."""
    r = requests.get(f"{server.url}/cases/{case_id}/items",
                     headers={"Authorization": f"Bearer {token}"}, timeout=10)
    assert r.status_code == 200, r.text
    return list(r.json())
