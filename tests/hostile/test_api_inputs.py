"""Hostile requests to the HTTP API: each is refused with a 4xx reason and changes nothing."""

from __future__ import annotations

import time
import uuid
from typing import Any

import jwt
import pytest

from tests.hostile.conftest import World, assert_refused
from tests.support.api import OFFSET_CT, TUS, encode_metadata


def _secret(world: World) -> str:
    return world.settings.resolved_jwt_secret()


def _claims(world: World, **overrides: Any) -> dict[str, Any]:
    services = world.api.client.app.state.services  # type: ignore[attr-defined]
    with services.uow(read_only=True) as repo:
        user = repo.get_user_by_username("officer")
    now = int(time.time())
    return {"sub": user.id, "dept": user.department_id, "typ": "user", "iat": now,
            "exp": now + 600, "jti": uuid.uuid4().hex, **overrides}


TOKENS = {
    "forged-secret": lambda w: jwt.encode(_claims(w), "not-the-secret", algorithm="HS256"),
    "expired": lambda w: jwt.encode(_claims(w, exp=int(time.time()) - 5), _secret(w),
                                    algorithm="HS256"),
    "alg-none": lambda w: jwt.encode(_claims(w), key=None, algorithm="none"),
    "no-exp": lambda w: jwt.encode({k: v for k, v in _claims(w).items() if k != "exp"},
                                   _secret(w), algorithm="HS256"),
    "wrong-department-claim": lambda w: jwt.encode(
        _claims(w, dept=w.api.departments["PEN"]), _secret(w), algorithm="HS256"),
    "unknown-user": lambda w: jwt.encode(_claims(w, sub=str(uuid.uuid4())), _secret(w),
                                         algorithm="HS256"),
    "hs512-confusion": lambda w: jwt.encode(_claims(w), _secret(w), algorithm="HS512"),
    "truncated-signature": lambda w: jwt.encode(_claims(w), _secret(w),
                                                algorithm="HS256")[:-4],
    "device-prefix-guess": lambda w: "evd_" + "A" * 43,
    "latin1-bytes": lambda w: "\u00e9\u00e9.\u00e9.\u00e9",
}


@pytest.mark.parametrize("kind", sorted(TOKENS))
def test_bad_token_cannot_create_a_case(world: World, kind: str) -> None:
    before = world.snapshot()
    token = TOKENS[kind](world)
    r = world.api.client.post("/cases", json={"case_number": f"X-{kind}", "title": "t"},
                              headers={"Authorization": f"Bearer {token}".encode("latin-1")})
    assert_refused(world, before, r, 401, "unauthenticated")
    assert r.headers["WWW-Authenticate"] == "Bearer"


@pytest.mark.parametrize("kind", ["forged-secret", "expired", "alg-none", "unknown-user"])
def test_bad_token_cannot_append_bytes(world: World, kind: str) -> None:
    before = world.snapshot()
    headers = {**TUS, **OFFSET_CT, "Upload-Offset": "4",
               "Authorization": f"Bearer {TOKENS[kind](world)}"}
    r = world.api.client.patch(world.upload, headers=headers, content=b"456789")
    assert_refused(world, before, r, 401, "unauthenticated")


@pytest.mark.parametrize(("method", "path"), [
    ("PATCH", "upload"), ("DELETE", "upload"), ("PATCH", "grading"), ("POST", "approvals"),
    ("POST", "analysis"), ("POST", "verify"),
])
def test_other_departments_token_changes_nothing(world: World, method: str, path: str) -> None:
    before = world.snapshot()
    item = world.item["id"]
    url = {"upload": world.upload, "grading": f"/items/{item}/grading",
           "approvals": f"/items/{item}/approvals", "analysis": f"/items/{item}/analysis",
           "verify": f"/items/{item}/verify"}[path]
    headers = {**TUS, "Upload-Offset": "4", **world.api.auth("pen_officer")}
    if path == "upload":
        headers.update(OFFSET_CT)
    body = {"grading": {"classification": "public"}, "approvals": {"purpose": "transfer"},
            "analysis": {}}.get(path)
    kwargs: dict[str, Any] = {"content": b"456789"} if path == "upload" else {"json": body}
    r = world.api.client.request(method, url, headers=headers, **kwargs)
    # grading and approvals need a department admin: the role check answers first
    status, code = (403, "forbidden") if path in ("grading", "approvals") else (404, "not_found")
    assert_refused(world, before, r, status, code)


@pytest.mark.parametrize("offset", ["0", "3", "5", "10", "11", "-4", "4.0", "0x4", " 4", "٤",
                                    "99999999999999999999"])
def test_wrong_upload_offset(world: World, offset: str) -> None:
    before = world.snapshot()
    headers: dict[str, str | bytes] = {**TUS, **OFFSET_CT, **world.api.auth("officer"),
                                       "Upload-Offset": offset.encode("utf-8")}
    r = world.api.client.patch(world.upload, headers=headers, content=b"45")
    assert r.status_code in (400, 409), r.text
    assert_refused(world, before, r, r.status_code, None, "offset")


@pytest.mark.parametrize("length", ["7", "abc", "-6", "1" * 25])
def test_wrong_content_length_on_a_chunk(world: World, length: str) -> None:
    """A declared Content-Length past the upload's end, or not a number, is refused."""
    before = world.snapshot()
    headers = {**TUS, **OFFSET_CT, **world.api.auth("officer"), "Upload-Offset": "4",
               "Content-Length": length}
    r = world.api.client.patch(world.upload, headers=headers, content=b"4567890")
    assert r.status_code in (400, 413), r.text
    assert_refused(world, before, r, r.status_code)


def test_chunk_longer_than_the_upload(world: World) -> None:
    before = world.snapshot()
    headers = {**TUS, **OFFSET_CT, **world.api.auth("officer"), "Upload-Offset": "4"}
    r = world.api.client.patch(world.upload, headers=headers, content=b"x" * 7)
    assert_refused(world, before, r, 413, "too_large")


CASE_BODIES = {
    "invalid-utf8": b'{"case_number": "\xff\xfe", "title": "t"}',
    "overlong-utf8": b'{"case_number": "\xc0\xaf", "title": "t"}',
    "lone-surrogate": b'{"case_number": "\xed\xa0\x80", "title": "t"}',
    "utf16-invalid": b'\xff\xfe{\x00"\x00',
    "truncated": b'{"case_number": "A", "tit',
    "nan": b'{"case_number": NaN, "title": "t"}',
    "duplicate-extra-field": b'{"case_number": "A", "title": "t", "department_id": "x"}',
    "array": b'[{"case_number": "A", "title": "t"}]',
    "number-title": b'{"case_number": "A", "title": 5}',
    "control-in-title": b'{"case_number": "A", "title": "a\\u0000b"}',
    "newline-number": b'{"case_number": "A\\nB", "title": "t"}',
    "deep-nesting": b'{"case_number": "A", "title": ' + b"[" * 40 + b"]" * 40 + b"}",
}


@pytest.mark.parametrize("kind", sorted(CASE_BODIES))
def test_hostile_case_body(world: World, kind: str) -> None:
    before = world.snapshot()
    r = world.api.client.post("/cases", content=CASE_BODIES[kind], headers={
        **world.api.auth("officer"), "Content-Type": "application/json"})
    assert r.status_code in (400, 422), r.text
    assert_refused(world, before, r, r.status_code)


@pytest.mark.parametrize("path", ["/cases", "/auth/login", "/departments",
                                  "/device-tokens"])
def test_oversized_json(world: World, path: str) -> None:
    before = world.snapshot()
    body = b'{"title": "' + b"x" * (2 << 20) + b'"}'
    r = world.api.client.post(path, content=body, headers={
        **world.api.auth("officer"), "Content-Type": "application/json"})
    assert_refused(world, before, r, 413, "too_large")


def test_oversized_declared_length_is_refused_before_reading(world: World) -> None:
    before = world.snapshot()
    r = world.api.client.post("/cases", content=b"{}", headers={
        **world.api.auth("officer"), "Content-Type": "application/json",
        "Content-Length": str(10**12)})
    assert r.status_code in (400, 413), r.text
    assert_refused(world, before, r, r.status_code)


@pytest.mark.parametrize("meta", [
    {"filename": "../../../var/objects/x"}, {"filename": "..\\..\\boot.ini"},
    {"filename": "clip.mp4\r\nX-Injected: 1"}, {"filename": b"\xf0\x28\x8c\x28.mp4"},
    {"tag_party": "a\x00b"}, {"tag_place": "\x1b]0;pwned\x07"},
    {"case_id": "../" + "x" * 40}, {"case_id": "' OR 1=1 --"},
    {"filetype": "video/mp4\r\nSet-Cookie: a=b"}, {"captured_at": "2026-13-45T99:99:99Z"},
])
def test_hostile_upload_metadata(world: World, meta: dict[str, str | bytes]) -> None:
    before = world.snapshot()
    metadata: dict[str, str | bytes] = {"case_id": world.case_id, "filename": "a.mp4",
                                        "kind": "audio_visual", **meta}
    r = world.api.client.post("/uploads", headers={
        **TUS, **world.api.auth("officer"), "Upload-Length": "10",
        "Upload-Metadata": encode_metadata(metadata)})
    assert r.status_code in (400, 404), r.text
    assert_refused(world, before, r, r.status_code)


@pytest.mark.parametrize("length", ["-1", "1e9", "0x10", str(2**70), ""])
def test_absurd_upload_length(world: World, length: str) -> None:
    before = world.snapshot()
    r = world.api.client.post("/uploads", headers={
        **TUS, **world.api.auth("officer"), "Upload-Length": length,
        "Upload-Metadata": encode_metadata({"case_id": world.case_id, "filename": "a.mp4",
                                            "kind": "audio_visual"})})
    assert r.status_code in (400, 413), r.text
    assert_refused(world, before, r, r.status_code)


@pytest.mark.parametrize("path", ["/items/..%2f..%2fetc%2fpasswd", "/items/%00",
                                  "/cases/..%5c..%5cwin.ini", "/uploads/%2e%2e"])
def test_traversal_in_ids(world: World, path: str) -> None:
    before = world.snapshot()
    r = world.api.client.get(path, headers={**TUS, **world.api.auth("officer")})
    assert_refused(world, before, r, 404)
