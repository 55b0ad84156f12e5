"""Every read leaves a trace: views, downloads, listings, searches and graphs are custody
events with who, which department, when and from which client (ledger off: pending)."""

from __future__ import annotations

import hashlib
import os
import uuid

import pytest

from tests.support.api import Api


def _timeline(api: Api, item_id: str, user: str = "officer") -> list[dict[str, object]]:
    r = api.client.get(f"/items/{item_id}/custody", headers=api.auth(user))
    assert r.status_code == 200, r.text
    return list(r.json())


def test_views_downloads_searches_and_graphs_are_recorded(api: Api) -> None:
    case_id = api.create_case("officer", party="某公司")
    data = os.urandom(50_000)
    item = api.upload("officer", case_id, data, tag_party="某公司")
    before = [e["kind"] for e in _timeline(api, item["id"])]
    assert before == ["uploaded", "viewed"]  # the upload helper read the item back

    agent = {"User-Agent": "court-viewer/2.1"}
    r = api.client.get(f"/items/{item['id']}/content", headers={**api.auth("reviewer"), **agent})
    assert r.status_code == 200
    assert hashlib.sha256(r.content).hexdigest() == item["sha256"] == r.headers["X-Content-SHA256"]
    assert "attachment" in r.headers["Content-Disposition"]
    api.client.get("/items/search", params={"party": "某公司"}, headers=api.auth("reviewer"))
    api.client.get(f"/cases/{case_id}/graph", headers=api.auth("reviewer"))
    api.client.get(f"/cases/{case_id}/items", headers=api.auth("reviewer"))

    events = _timeline(api, item["id"])
    assert [e["kind"] for e in events] == ["uploaded", "viewed", "downloaded", "viewed"]
    download = events[2]
    assert download["actor_name"] == "reviewer" and "court-viewer/2.1" in str(download["client"])
    assert download["department_id"] == api.departments["ENF"]
    assert download["anchored"] is False and download["anchor"] is None
    case_events = api.client.get(f"/cases/{case_id}/custody", headers=api.auth("officer")).json()
    case_level = [e for e in case_events if e["item_id"] is None]
    assert len(case_level) == 2  # the graph and the item listing
    indexes = [e["log_index"] for e in case_events]
    assert indexes == sorted(indexes) and len(set(indexes)) == len(indexes)


def test_custody_of_other_departments_is_not_found(api: Api) -> None:
    case_id = api.create_case("officer")
    item = api.upload("officer", case_id, b"x" * 100)
    for path in (f"/items/{item['id']}/custody", f"/cases/{case_id}/custody",
                 f"/items/{item['id']}/content", f"/cases/{case_id}/package"):
        theirs = api.client.get(path, headers=api.auth("pen_officer"))
        assert theirs.status_code == 404, path
    unknown = api.client.get(f"/items/{uuid.uuid4()}/custody", headers=api.auth("officer"))
    assert unknown.json() == api.client.get(f"/items/{item['id']}/custody",
                                            headers=api.auth("pen_officer")).json()


def test_only_department_admins_approve_and_grade(api: Api) -> None:
    case_id = api.create_case("officer")
    item = api.upload("officer", case_id, b"y" * 100, classification="restricted")
    for user in ("officer", "reviewer"):
        r = api.client.post(f"/items/{item['id']}/approvals", json={"purpose": "export"},
                            headers=api.auth(user))
        assert r.status_code == 403
    bad = api.client.post(f"/items/{item['id']}/approvals", json={"purpose": "sell"},
                          headers=api.auth("admin"))
    assert bad.status_code == 422
    ok = api.client.post(f"/items/{item['id']}/approvals", json={"purpose": "export"},
                         headers=api.auth("admin"))
    assert ok.status_code == 201
    graded = api.client.patch(f"/items/{item['id']}/grading",
                              json={"classification": "internal",
                                    "labels": ["personal_privacy"]},
                              headers=api.auth("admin"))
    assert graded.status_code == 200, graded.text
    assert graded.json()["labels"] == ["personal_privacy"]
    bad_label = api.client.patch(f"/items/{item['id']}/grading", json={"labels": ["Bad Label"]},
                                 headers=api.auth("admin"))
    assert bad_label.status_code == 400
    kinds = [e["kind"] for e in _timeline(api, item["id"], "admin")]
    assert "approval_granted" in kinds and "graded" in kinds


def test_export_refuses_restricted_items_without_approval(api: Api) -> None:
    case_id = api.create_case("officer")
    item = api.upload("officer", case_id, b"z" * 100, classification="restricted")
    r = api.client.get(f"/cases/{case_id}/package", headers=api.auth("reviewer"))
    assert r.status_code == 409 and r.json()["error"]["details"][0]["item_id"] == item["id"]
    api.client.post(f"/items/{item['id']}/approvals", json={"purpose": "export"},
                    headers=api.auth("admin"))
    r = api.client.get(f"/cases/{case_id}/package", headers=api.auth("reviewer"))
    assert r.status_code == 200 and r.content[:2] == b"PK"
    assert "exported" in [e["kind"] for e in _timeline(api, item["id"])]


@pytest.mark.expect_error_logs
def test_transfers_without_a_chain_answer_503(api: Api) -> None:
    case_id = api.create_case("officer")
    api.upload("officer", case_id, b"q" * 100)
    r = api.client.post(f"/cases/{case_id}/transfers", json={"to_department": "PEN"},
                        headers=api.auth("officer"))
    assert r.status_code == 503 and r.json()["error"]["code"] == "chain_unavailable"
    assert r.headers["Retry-After"]


def test_bad_transfer_requests_are_clear_4xx(api: Api) -> None:
    case_id = api.create_case("officer")
    for body in ({}, {"to_department": ""}, {"to_department": "PEN", "items": []},
                 {"to_department": "PEN", "extra": 1}):
        r = api.client.post(f"/cases/{case_id}/transfers", json=body,
                            headers=api.auth("officer"))
        assert r.status_code == 422, body
    for transfer_id in ("x", "../../etc", str(uuid.uuid4())):
        r = api.client.get(f"/transfers/{transfer_id}", headers=api.auth("officer"))
        assert r.status_code == 404
    r = api.client.get("/transfers?direction=sideways", headers=api.auth("officer"))
    assert r.status_code == 422
