"""Chunked tus uploads end to end through the app, on both backend pairs."""

from __future__ import annotations

import hashlib
import os

from evidence_service.domain.sm3 import new_sm3
from tests.support.api import Api


def test_chunked_upload_is_stored_with_both_hashes(api: Api) -> None:
    case_id = api.create_case("officer")
    data = os.urandom(3 * 1024 * 1024 + 17)
    item = api.upload("officer", case_id, data, chunk=700_000, recorder_id="DSJ-0042",
                      badge_number="310115", captured_at="2026-11-20T09:30:00+08:00",
                      location="31.2304,121.4737", tag_party="某餐饮店")
    sm3 = new_sm3()
    sm3.update(data)
    assert item["status"] == "stored"
    assert item["size"] == len(data)
    assert item["sha256"] == hashlib.sha256(data).hexdigest()
    assert item["sm3"] == sm3.hexdigest()
    assert item["capture"]["recorder_id"] == "DSJ-0042"
    assert item["tags"]["party"] == "某餐饮店"
    assert item["flags"] == []


def test_stored_bytes_match_hashes(api: Api) -> None:
    case_id = api.create_case("officer")
    data = os.urandom(200_000)
    item = api.upload("officer", case_id, data)
    services = api.client.app.state.services  # type: ignore[attr-defined]
    key = f"sha256/{item['sha256'][:2]}/{item['sha256'][2:4]}/{item['sha256']}"
    with services.store.open(key) as handle:
        assert hashlib.sha256(handle.read()).hexdigest() == hashlib.sha256(data).hexdigest()


def test_identical_bytes_are_stored_once_and_flagged(api: Api) -> None:
    case_id = api.create_case("officer")
    data = os.urandom(50_000)
    first = api.upload("officer", case_id, data, filename="a.jpg")
    second = api.upload("officer", case_id, data, filename="b.jpg")
    assert first["id"] != second["id"]
    assert first["sha256"] == second["sha256"]
    assert second["flags"] == ["duplicate_content"]


def test_zero_byte_file_is_accepted_and_flagged(api: Api) -> None:
    case_id = api.create_case("officer")
    r = api.tus_create("officer", case_id, 0, filename="empty.txt", kind="documentary")
    assert r.status_code == 201, r.text
    item = r.json()["item"]
    assert item["status"] == "stored"
    assert item["flags"] == ["empty_file"]
    assert item["sha256"] == hashlib.sha256(b"").hexdigest()


def test_resume_after_partial_patch(api: Api) -> None:
    case_id = api.create_case("officer")
    data = os.urandom(2_000_000)
    r = api.tus_create("officer", case_id, len(data))
    location = r.headers["Location"]
    assert api.tus_patch("officer", location, 0, data[:1_234_567]).status_code == 204
    head = api.tus_head("officer", location)
    assert head.headers["Upload-Offset"] == "1234567"
    assert head.headers["Upload-Length"] == str(len(data))
    r = api.tus_patch("officer", location, 1_234_567, data[1_234_567:])
    assert r.status_code == 204
    assert r.headers["Evidence-Sha256"] == hashlib.sha256(data).hexdigest()
    assert r.headers["Evidence-Upload-Status"] == "completed"


def test_hash_state_is_rebuilt_when_the_cache_is_lost(api: Api) -> None:
    """Simulates a server restart between two PATCHes: the hasher is rebuilt from the spool."""
    case_id = api.create_case("officer")
    data = os.urandom(1_500_000)
    location = api.tus_create("officer", case_id, len(data)).headers["Location"]
    api.tus_patch("officer", location, 0, data[:600_000])
    ingest = api.client.app.state.services.ingest  # type: ignore[attr-defined]
    ingest._hashes._states.clear()
    r = api.tus_patch("officer", location, 600_000, data[600_000:])
    assert r.headers["Evidence-Sha256"] == hashlib.sha256(data).hexdigest()


def test_terminated_upload_leaves_no_item(api: Api) -> None:
    case_id = api.create_case("officer")
    r = api.tus_create("officer", case_id, 1000)
    location, item_id = r.headers["Location"], r.json()["upload"]["item_id"]
    api.tus_patch("officer", location, 0, b"x" * 500)
    r = api.client.delete(location, headers={"Tus-Resumable": "1.0.0", **api.auth("officer")})
    assert r.status_code == 204
    assert api.client.get(f"/items/{item_id}", headers=api.auth("officer")).status_code == 404
    items = api.client.get(f"/cases/{case_id}/items", headers=api.auth("officer")).json()
    assert items == []


def test_completed_upload_cannot_be_terminated(api: Api) -> None:
    case_id = api.create_case("officer")
    r = api.tus_create("officer", case_id, 10)
    location = r.headers["Location"]
    api.tus_patch("officer", location, 0, b"0123456789")
    r = api.client.delete(location, headers={"Tus-Resumable": "1.0.0", **api.auth("officer")})
    assert r.status_code == 409
    assert r.json()["error"]["code"] == "conflict"


def test_health_and_metrics(api: Api) -> None:
    assert api.client.get("/healthz").json() == {"status": "ok"}
    ready = api.client.get("/readyz")
    assert ready.status_code == 200, ready.text
    case_id = api.create_case("officer")
    api.upload("officer", case_id, b"z" * 4096)
    text = api.client.get("/metrics").text
    assert "evidence_bytes_ingested_total" in text
    assert "evidence_uploads_in_progress" in text
