"""Department isolation and role checks.

PEN's officer must not be able to tell ENF's cases, items and uploads from ids that do not
exist: every answer is the same 404 as for an unknown id. Each role may do only what it is for.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from tests.integration.api.conftest import PASSWORD
from tests.support.api import OFFSET_CT, TUS, Api, encode_metadata

ENF_DATA = b"ENF body-worn camera footage " * 64
SECRETS = ("ENF-2026-SECRET", "某餐饮店", hashlib.sha256(ENF_DATA).hexdigest())


@dataclass(frozen=True)
class Enf:
    """ENF's case with one stored item, its completed upload and an upload at 4 of 10 bytes."""

    case: str
    item: dict[str, Any]
    done: str
    open: str
    listing: list[dict[str, Any]]

    @property
    def ids(self) -> dict[str, str]:
        return {"case": self.case, "item": self.item["id"], "done": self.done, "open": self.open}


@pytest.fixture
def enf(api: Api) -> Enf:
    case_id = api.create_case("officer", SECRETS[0], party=SECRETS[1])
    r = api.tus_create("officer", case_id, len(ENF_DATA))
    done, item_id = r.headers["Location"], r.json()["upload"]["item_id"]
    assert api.tus_patch("officer", done, 0, ENF_DATA).status_code == 204
    item = api.client.get(f"/items/{item_id}", headers=api.auth("officer")).json()
    pending = api.tus_create("officer", case_id, 10).headers["Location"]
    assert api.tus_patch("officer", pending, 0, b"0123").status_code == 204
    listing = api.client.get(f"/cases/{case_id}/items", headers=api.auth("officer")).json()
    assert [i["status"] for i in listing] == ["stored", "receiving"]
    return Enf(case=case_id, item=item, done=done.rsplit("/", 1)[1],
               open=pending.rsplit("/", 1)[1], listing=listing)


def assert_enf_intact(api: Api, enf: Enf) -> None:
    officer = api.auth("officer")
    assert api.client.get(f"/items/{enf.item['id']}", headers=officer).json() == enf.item
    assert api.client.get(f"/cases/{enf.case}/items", headers=officer).json() == enf.listing
    head = api.tus_head("officer", f"/uploads/{enf.open}")
    assert (head.headers["Upload-Offset"], head.headers["Evidence-Upload-Status"]) == (
        "4", "receiving")
    assert api.client.get(f"/uploads/{enf.done}", headers=officer).json()["status"] == "completed"


ENDPOINTS = [
    ("GET", "/cases/{case}"), ("GET", "/cases/{case}/items"), ("GET", "/items/{item}"),
    *[(method, f"/uploads/{{{which}}}") for which in ("open", "done")
      for method in ("HEAD", "GET", "PATCH", "DELETE")],
    ("POST", "/uploads"),
]


def _call(api: Api, method: str, template: str, ids: dict[str, str]) -> httpx.Response:
    if method == "POST":
        return api.tus_create("pen_officer", ids["case"], 10)
    headers = {**TUS, **api.auth("pen_officer")}
    content = None
    if method == "PATCH":
        headers.update({**OFFSET_CT, "Upload-Offset": "4"})
        content = b"456789"
    return api.client.request(method, template.format(**ids), headers=headers, content=content)


def _answer(r: httpx.Response) -> tuple[int, bytes, dict[str, str]]:
    return r.status_code, r.content, dict(r.headers)


@pytest.mark.parametrize(("method", "template"), ENDPOINTS,
                         ids=[f"{m} {t}" for m, t in ENDPOINTS])
def test_other_departments_objects_look_absent(api: Api, enf: Enf, method: str,
                                               template: str) -> None:
    real = _call(api, method, template, enf.ids)
    assert real.status_code == 404, real.text
    if method != "HEAD":
        assert real.json()["error"]["code"] == "not_found"
    for unknown in (str(uuid.uuid4()), "not-a-uuid", "a%00b"):
        fake = _call(api, method, template, dict.fromkeys(enf.ids, unknown))
        assert _answer(fake) == _answer(real), unknown
    leaked = real.text + str(real.headers)
    for secret in (*SECRETS, enf.item["id"], enf.done, enf.open):
        assert secret not in leaked
    assert_enf_intact(api, enf)


def test_case_list_holds_only_the_callers_department(api: Api, enf: Enf) -> None:
    pen_case = api.create_case("pen_officer", "PEN-2026-001")
    r = api.client.get("/cases", headers=api.auth("pen_officer"))
    assert [c["id"] for c in r.json()] == [pen_case]
    for secret in (*SECRETS, enf.case):
        assert secret not in r.text
    r = api.client.get("/cases", headers=api.auth("officer"))
    assert [c["id"] for c in r.json()] == [enf.case]


def test_duplicate_flag_does_not_reveal_other_departments_items(api: Api, enf: Enf) -> None:
    pen_case = api.create_case("pen_officer", "PEN-2026-002")
    item = api.upload("pen_officer", pen_case, ENF_DATA)
    assert item["flags"] == []


# -- roles -------------------------------------------------------------------------------------
def _forbidden(r: httpx.Response) -> None:
    assert r.status_code == 403, r.text
    assert r.json()["error"]["code"] == "forbidden"


def test_reviewer_reads_but_cannot_create_cases_or_uploads(api: Api, enf: Enf) -> None:
    reviewer = api.auth("reviewer")
    _forbidden(api.client.post("/cases", headers=reviewer,
                               json={"case_number": "ENF-R-1", "title": "x"}))
    _forbidden(api.tus_create("reviewer", enf.case, 10))
    r = api.client.delete(f"/uploads/{enf.open}", headers={**TUS, **reviewer})
    _forbidden(r)
    assert [c["id"] for c in api.client.get("/cases", headers=reviewer).json()] == [enf.case]
    assert api.client.get(f"/items/{enf.item['id']}", headers=reviewer).json() == enf.item
    assert_enf_intact(api, enf)


@pytest.fixture
def device(api: Api) -> dict[str, str]:
    r = api.client.post("/device-tokens", headers=api.auth("admin"),
                        json={"device_id": "DSJ-DOCK-7", "label": "dock 7"})
    assert r.status_code == 201, r.text
    assert r.json()["token"].startswith("evd_")
    return {"Authorization": f"Bearer {r.json()['token']}"}


def _device_meta(case_id: str) -> str:
    return encode_metadata({"case_id": case_id, "filename": "dsj.mp4", "kind": "audio_visual"})


def test_device_uploads_and_lists_cases_but_cannot_read_items(
        api: Api, enf: Enf, device: dict[str, str]) -> None:
    assert [c["id"] for c in api.client.get("/cases", headers=device).json()] == [enf.case]
    data = b"docking station upload"
    meta = _device_meta(enf.case)
    r = api.client.post("/uploads", headers={**TUS, **device, "Upload-Length": str(len(data)),
                                             "Upload-Metadata": meta})
    assert r.status_code == 201, r.text
    location, item_id = r.headers["Location"], r.json()["upload"]["item_id"]
    r = api.client.patch(location, content=data,
                         headers={**TUS, **OFFSET_CT, **device, "Upload-Offset": "0"})
    assert r.status_code == 204, r.text
    assert r.headers["Evidence-Sha256"] == hashlib.sha256(data).hexdigest()
    assert api.client.get(location, headers=device).json()["status"] == "completed"
    # its own upload's item it may read back; nothing else of the department's evidence
    assert api.client.get(f"/items/{item_id}", headers=device).status_code == 200
    _forbidden(api.client.get(f"/items/{enf.item['id']}", headers=device))
    _forbidden(api.client.get(f"/cases/{enf.case}/items", headers=device))
    _forbidden(api.client.post("/cases", headers=device,
                               json={"case_number": "ENF-D-1", "title": "x"}))
    _forbidden(api.client.post("/device-tokens", headers=device, json={"device_id": "x"}))
    officer_items = api.client.get(f"/cases/{enf.case}/items", headers=api.auth("officer"))
    assert [i["id"] for i in officer_items.json()] == [i["id"] for i in enf.listing] + [item_id]


def test_device_cannot_upload_into_another_department(api: Api, device: dict[str, str]) -> None:
    pen_case = api.create_case("pen_officer", "PEN-2026-003")
    meta = _device_meta(pen_case)
    r = api.client.post("/uploads", headers={**TUS, **device, "Upload-Length": "10",
                                             "Upload-Metadata": meta})
    assert r.status_code == 404, r.text
    assert r.json()["error"] == {"code": "not_found", "message": "case not found"}
    assert api.client.get(f"/cases/{pen_case}/items",
                          headers=api.auth("pen_officer")).json() == []


@pytest.mark.parametrize("user", ["officer", "reviewer", "pen_officer"])
def test_only_department_admins_create_device_tokens(api: Api, user: str) -> None:
    _forbidden(api.client.post("/device-tokens", headers=api.auth(user),
                               json={"device_id": "DSJ-1"}))


def _new_user(api: Api, department: str, roles: list[str]) -> httpx.Response:
    return api.client.post(
        f"/departments/{api.departments[department]}/users", headers=api.auth("admin"),
        json={"username": f"u{uuid.uuid4().hex[:8]}", "password": PASSWORD, "roles": roles})


def test_department_admin_creates_users_only_in_own_department(api: Api) -> None:
    assert _new_user(api, "ENF", ["officer"]).status_code == 201
    _forbidden(_new_user(api, "PEN", ["officer"]))
    _forbidden(_new_user(api, "PEN", ["department_admin"]))
    pen_users = api.client.get(f"/departments/{api.departments['PEN']}/users",
                               headers=api.auth("admin"))
    assert pen_users.status_code == 404


@pytest.mark.parametrize("roles", [["system_admin"], ["officer", "system_admin"]])
def test_department_admin_cannot_grant_system_admin(api: Api, roles: list[str]) -> None:
    _forbidden(_new_user(api, "ENF", roles))
    users = api.client.get(f"/departments/{api.departments['ENF']}/users",
                           headers=api.auth("admin")).json()
    assert all("system_admin" not in u["roles"] for u in users)

