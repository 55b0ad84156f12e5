"""The integrity scanner on both worlds: altered bytes and doctored rows are found and flagged."""

from __future__ import annotations

import io
import os
import sqlite3
import time
from typing import Any

from sqlalchemy import text

from evidence_service.adapters.storage import FilesystemObjectStore
from evidence_service.adapters.storage.packed import FILE_NAME
from evidence_service.api.deps import Services
from evidence_service.domain.rules import content_key
from tests.support.api import Api


def _services(api: Api) -> Services:
    services: Services = api.client.app.state.services  # type: ignore[attr-defined]
    return services


def _flip_byte(services: Services, key: str, at: int) -> None:
    """Change one stored byte behind the service's back (chmod+write, or a new S3 version)."""
    store: Any = services.store
    if isinstance(store, FilesystemObjectStore) and not store.object_path(key).exists():
        _flip_packed_byte(store, key, at)
        return
    if isinstance(store, FilesystemObjectStore):
        path = store.object_path(key)
        path.chmod(0o600)
        data = bytearray(path.read_bytes())
        data[at] ^= 0x01
        path.write_bytes(bytes(data))
        return
    with store.open(key) as handle:
        data = bytearray(handle.read())
    data[at] ^= 0x01
    store._client.put_object(store.bucket, key, io.BytesIO(bytes(data)), len(data))


def _flip_packed_byte(store: FilesystemObjectStore, key: str, at: int) -> None:
    """Change a byte of a packed object as someone with the file would: the write-once
    triggers only stop SQL through our code, so drop them first."""
    with sqlite3.connect(store.root / FILE_NAME) as db:
        db.execute("DROP TRIGGER objects_write_once_update")
        [(data,)] = db.execute("SELECT data FROM objects WHERE key = ?", (key,)).fetchall()
        changed = bytearray(data)
        changed[at] ^= 0x01
        db.execute("UPDATE objects SET data = ? WHERE key = ?", (bytes(changed), key))


def _alerts(api: Api, user: str = "reviewer") -> list[dict[str, Any]]:
    r = api.client.get("/alerts", headers=api.auth(user))
    assert r.status_code == 200, r.text
    return list(r.json())


def test_a_flipped_byte_is_flagged_once_and_verification_agrees(api: Api) -> None:
    case_id = api.create_case("officer")
    good = api.upload("officer", case_id, os.urandom(30_000))
    bad = api.upload("officer", case_id, os.urandom(30_000))
    services = _services(api)
    clean = services.integrity.scan_once()
    assert (clean.status, clean.items_checked, clean.items_total, clean.mismatches) == (
        "done", 2, 2, 0)
    assert clean.bytes_scanned == 60_000 and clean.coverage == 1.0
    assert _alerts(api) == []

    _flip_byte(services, content_key(bad["sha256"]), 12_345)
    found = services.integrity.scan_once()
    assert (found.items_checked, found.mismatches) == (2, 1)
    alerts = _alerts(api)
    assert [(a["item_id"], a["source"]) for a in alerts] == [(bad["id"], "scan")]
    assert "stored bytes" in alerts[0]["reason"]
    item = api.client.get(f"/items/{bad['id']}", headers=api.auth("officer")).json()
    assert item["status"] == "mismatch"
    assert api.client.get(f"/items/{good['id']}",
                          headers=api.auth("officer")).json()["status"] == "stored"
    verdict = api.client.post(f"/items/{bad['id']}/verify", headers=api.auth("officer")).json()
    assert verdict["verdict"] == "mismatch"
    assert "stored bytes no longer match the recorded hashes" in verdict["reasons"]

    again = services.integrity.scan_once()  # still wrong, but not alerted twice by the scan
    assert again.mismatches == 1
    assert [a["source"] for a in _alerts(api)].count("scan") == 1
    assert _alerts(api, "pen_officer") == []  # the other department sees nothing of it


def test_a_flipped_byte_in_a_small_batch_file_is_flagged(api: Api) -> None:
    case_id = api.create_case("officer")
    files = {f"notes/{n}.txt": f"inspection note {n}".encode() * 20 for n in range(3)}
    r = api.post_batch("officer", case_id, files)
    assert r.status_code == 201, r.text
    items = r.json()["items"]
    services = _services(api)
    assert services.integrity.scan_once().mismatches == 0

    _flip_byte(services, content_key(items[1]["sha256"]), 7)  # packed, on the filesystem
    assert services.integrity.scan_once().mismatches == 1
    assert [a["item_id"] for a in _alerts(api)] == [items[1]["id"]]


def test_a_doctored_row_hash_disagrees_with_the_log(api: Api) -> None:
    case_id = api.create_case("officer")
    item = api.upload("officer", case_id, os.urandom(10_000))
    services = _services(api)
    forged = "ab" * 32
    with services.engine.begin() as conn:
        conn.execute(text("UPDATE evidence_items SET sha256 = :h WHERE id = :i"),
                     {"h": forged, "i": item["id"]})
    scan = services.integrity.scan_once()
    assert scan.mismatches == 1
    [alert] = _alerts(api)
    assert alert["item_id"] == item["id"]
    assert "the database row differs from its log entry" in alert["reason"]
    verdict = api.client.post(f"/items/{item['id']}/verify", headers=api.auth("officer")).json()
    assert verdict["verdict"] == "mismatch"
    assert "the database row differs from its log entry" in verdict["reasons"]
    # the public lookup answers from the log, so the forged digest is unknown
    assert api.client.get(f"/verify/{forged}").json()["verdict"] == "unknown"
    assert api.client.get(f"/verify/{item['sha256']}").json()["verdict"] == "pending"


def test_a_missing_object_is_flagged(api: Api) -> None:
    case_id = api.create_case("officer")
    item = api.upload("officer", case_id, b"will vanish " * 100)
    services = _services(api)
    store: Any = services.store
    if isinstance(store, FilesystemObjectStore):
        store.object_path(content_key(item["sha256"])).unlink()
    else:
        store._client.remove_object(store.bucket, content_key(item["sha256"]))
    assert services.integrity.scan_once().mismatches == 1
    [alert] = _alerts(api)
    assert alert["reason"].startswith("the stored object is missing")


def test_the_worker_scans_at_startup(api: Api) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        body = api.client.get("/integrity/status", headers=api.auth("admin")).json()
        if body["last_scan"] is not None:
            break
        time.sleep(0.05)
    assert body["last_scan"]["status"] == "done", body


def test_status_endpoint_and_metrics(api: Api) -> None:
    case_id = api.create_case("officer")
    api.upload("officer", case_id, b"x" * 5000)
    services = _services(api)
    services.integrity.scan_once()
    r = api.client.get("/integrity/status", headers=api.auth("reviewer"))
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["last_scan"]["coverage"] == 1.0
    assert (body["last_scan"]["items_checked"], body["last_scan"]["items_total"]) == (1, 1)
    assert body["last_scan"]["bytes_scanned"] == 5000 and body["open_alerts"] == 0
    assert body["current_scan"] is None and body["enabled"] is True
    for user in ("officer",):
        denied = api.client.get("/integrity/status", headers=api.auth(user))
        assert denied.status_code == 403 and denied.json()["error"]["code"] == "forbidden"
    assert api.client.get("/integrity/status").status_code == 401
    metrics = api.client.get("/metrics").text
    last = [line for line in metrics.splitlines()
            if line.startswith("evidence_integrity_last_scan_timestamp_seconds ")]
    assert last and float(last[0].split()[1]) > 0
    assert "evidence_integrity_alerts_open 0.0" in metrics
    assert "evidence_integrity_scan_coverage_ratio 1.0" in metrics
    assert "evidence_integrity_bytes_scanned_total" in metrics
