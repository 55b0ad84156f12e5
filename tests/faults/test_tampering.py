"""Tampering behind the service's back, with ``evidence serve`` and its own chain running.

1. One byte of a stored object is flipped on disk: the background integrity scan flags it
   (an alert for review staff), re-verification answers ``mismatch``, and sending the case to
   another department is refused.
2. A database row's recorded hash (and size) is rewritten by SQL: verification against the
   anchored log catches it; the public lookup answers from the log (original ``verified``
   on-chain, forged hash ``unknown``), and the scan flags it too.

The time to recover is the time to detection: from the tampering to the scan's alert.
"""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from evidence_service.adapters.storage import FilesystemObjectStore
from evidence_service.domain.rules import content_key
from tests.faults.common import Client, query, wait_until
from tests.faults.conftest import FaultReport
from tests.support.live import LiveServer

pytestmark = [pytest.mark.ledger, pytest.mark.slow, pytest.mark.faults]
SCAN_INTERVAL_SECONDS = 1.0


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    live = LiveServer(var_dir=tmp_path_factory.mktemp("tampering") / "var", env={
        "EVIDENCE_LEDGER__KEYSTORE_SCRYPT_N": str(2**10),
        "EVIDENCE_ANCHOR_INTERVAL": "0.3", "EVIDENCE_ANALYSIS__ENABLED": "false",
        "EVIDENCE_INTEGRITY__INTERVAL_SECONDS": str(SCAN_INTERVAL_SECONDS),
        "EVIDENCE_INTEGRITY__BYTES_PER_SECOND": "0"})
    live.start()
    yield live
    live.stop()


def _anchored_items(client: Client, case_id: str, data: list[bytes]) -> list[dict[str, Any]]:
    ids = [client.upload(case_id, blob, name=f"scene-{n}.jpg") for n, blob in enumerate(data)]
    wait_until(lambda: {i["status"] for i in client.items(case_id)} == {"anchored"},
               timeout=30, poll=0.2, what="anchoring")
    by_id = {i["id"]: i for i in client.items(case_id)}
    return [by_id[i] for i in ids]


def _alerts(client: Client, reviewer: dict[str, str]) -> list[dict[str, Any]]:
    r = requests.get(client.url("/alerts"), headers=reviewer, timeout=10)
    assert r.status_code == 200, r.text
    return list(r.json())


def _verify(client: Client, item_id: str) -> dict[str, Any]:
    r = requests.post(client.url(f"/items/{item_id}/verify"), headers=client.auth, timeout=30)
    assert r.status_code == 200, r.text
    return dict(r.json())


def test_a_flipped_stored_byte_is_flagged_and_the_case_cannot_leave(
        server: LiveServer, fault_report: FaultReport) -> None:
    client = Client(server)
    reviewer = {"Authorization": f"Bearer {server.token('enf-reviewer')}"}
    case_id = client.case("ENF-2026-FLIP")
    good, bad = _anchored_items(client, case_id, [os.urandom(40_000), os.urandom(40_000)])
    stored = FilesystemObjectStore(server.var_dir / "objects").object_path(
        content_key(bad["sha256"]))
    stored.chmod(0o600)
    data = bytearray(stored.read_bytes())
    data[12_345] ^= 0x01
    stored.write_bytes(bytes(data))
    flipped = time.monotonic()

    detected_in = wait_until(lambda: any(a["item_id"] == bad["id"]
                                         for a in _alerts(client, reviewer)),
                             timeout=30, poll=0.2, what="the scan's alert")
    [alert] = [a for a in _alerts(client, reviewer) if a["item_id"] == bad["id"]]
    assert (alert["item_id"], alert["source"]) == (bad["id"], "scan")
    assert "stored bytes" in alert["reason"]
    verdict = _verify(client, bad["id"])
    assert verdict["verdict"] == "mismatch"
    assert "stored bytes no longer match the recorded hashes" in verdict["reasons"]
    assert _verify(client, good["id"])["verdict"] == "verified"

    sent = requests.post(client.url(f"/cases/{case_id}/transfers"), headers=client.auth,
                         json={"to_department": "PEN"}, timeout=30)
    assert sent.status_code == 409, sent.text
    assert sent.json()["error"]["code"] == "transfer_blocked"
    assert bad["id"] in sent.text and "failed its last integrity check" in sent.text
    assert query(server, "SELECT count(*) FROM transfers WHERE case_id = :c", c=case_id) == [
        (0,)]
    fault_report.record(scan_interval_s=SCAN_INTERVAL_SECONDS, detected_by_scan_in_s=detected_in,
                        refused_transfer_after_s=time.monotonic() - flipped)


def test_a_doctored_row_hash_is_caught_against_the_anchored_log(
        server: LiveServer, fault_report: FaultReport) -> None:
    client = Client(server)
    reviewer = {"Authorization": f"Bearer {server.token('enf-reviewer')}"}
    case_id = client.case("ENF-2026-ROW")
    [item] = _anchored_items(client, case_id, [os.urandom(8_000)])
    forged = hashlib.sha256(b"substituted").hexdigest()
    query(server, "UPDATE evidence_items SET sha256 = :h, size = 11 WHERE id = :i",
          h=forged, i=item["id"])
    doctored = time.monotonic()

    verdict = _verify(client, item["id"])
    caught_in = time.monotonic() - doctored
    assert verdict["verdict"] == "mismatch"
    assert "the database row differs from its log entry" in verdict["reasons"]
    public = requests.get(client.url(f"/verify/{item['sha256']}"), timeout=10).json()
    assert public["verdict"] == "verified"  # the anchored log still proves the original
    assert requests.get(client.url(f"/verify/{forged}"), timeout=10).json()["verdict"] == (
        "unknown")
    detected_in = wait_until(lambda: any(
        a["item_id"] == item["id"] and "differs from its log entry" in a["reason"]
        for a in _alerts(client, reviewer)), timeout=30, poll=0.2, what="the scan's alert")
    fault_report.record(caught_by_verify_in_s=caught_in, detected_by_scan_in_s=detected_in)
