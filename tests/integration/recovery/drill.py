"""The recovery drill's moving parts: a live service that fills the log, then snapshots of
what it wrote (leaves and anchors), and ``evidence recover-log`` run as a subprocess."""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx
from sqlalchemy import create_engine, text

from tests.support.api import Api
from tests.support.live import EVIDENCE, LiveServer, free_port

#: Settings that keep a drill fast: quick anchoring, cheap keystores, no background jobs.
FAST = {"EVIDENCE_ANCHOR_INTERVAL": "0.3", "EVIDENCE_ANALYSIS__ENABLED": "false",
        "EVIDENCE_INTEGRITY__ENABLED": "false", "EVIDENCE_LEDGER__KEYSTORE_SCRYPT_N": "1024"}


@dataclass(frozen=True)
class LogSnapshot:
    """The log as the database held it: (index, entry, leaf hash, kind, item, time) rows and
    (size, root, tx hash, block) anchors."""

    leaves: list[tuple[object, ...]]
    anchors: list[tuple[object, ...]]


def snapshot(database_url: str) -> LogSnapshot:
    """Read the log and anchor tables of ``database_url``."""
    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            leaves = [tuple(row) for row in conn.execute(text(
                'SELECT "index", entry, leaf_hash, kind, item_id, sha256, sm3, created_at '
                "FROM log_entries ORDER BY 1"))]
            anchors = [tuple(row) for row in conn.execute(text(
                "SELECT tree_size, root, tx_hash, block_number FROM anchors ORDER BY 1"))]
    finally:
        engine.dispose()
    return LogSnapshot(leaves=[(*row[:7], str(row[7])[:26]) for row in leaves], anchors=anchors)


def wait(predicate: object, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():  # type: ignore[operator]
            return
        time.sleep(0.1)
    raise AssertionError(f"{what} did not happen within {timeout} s")


def fill_log(server: LiveServer, *, uploads: int,
             after_first: Callable[[], None] | None = None) -> None:
    """Register ``uploads`` items one after the other (each read once: a custody event),
    each anchored before the next, so the log is sealed in several segments; call
    ``after_first`` once the first is anchored."""
    with httpx.Client(base_url=server.url, timeout=30) as client:
        api = Api(client=client)  # type: ignore[arg-type]
        api.tokens["officer"] = server.token("enf-officer")
        case_id = api.create_case("officer", number=f"ENF-DRILL-{os.getpid()}")
        for n in range(uploads):
            api.upload("officer", case_id, os.urandom(2000 + n), filename=f"photo{n}.jpg",
                       kind="electronic_data")
            wait(lambda: _fully_anchored(client), 15, f"anchoring of upload {n}")
            if n == 0 and after_first is not None:
                after_first()


def _fully_anchored(client: httpx.Client) -> bool:
    head = client.get("/log/head").json()
    return bool(head["anchored"]) and head["anchored"]["tree_size"] == head["log_size"]


def recover(env: dict[str, str], *extra: str) -> subprocess.CompletedProcess[str]:
    """``evidence recover-log`` with the service's settings ``env`` (plus a free node port)."""
    full = {**os.environ, "EVIDENCE_LEDGER__PORT": str(free_port()), "COLUMNS": "250", **env}
    return subprocess.run([EVIDENCE, "recover-log", *extra], env=full, capture_output=True,
                          text=True, timeout=120)


def segment_files(objects: Path) -> list[Path]:
    return sorted((objects / "log-segments").iterdir())
