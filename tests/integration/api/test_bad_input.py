"""Bad input gets a 4xx JSON error that names the problem, never a 500, and changes nothing.

Each test starts from a world where one good item is already stored (``stored``) and checks
at the end that the item and its case are exactly as they were.
"""

from __future__ import annotations

import hashlib
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import jwt
import pytest

from evidence_service.domain.models import Classification, EvidenceKind
from tests.support.api import OFFSET_CT, TUS, Api, encode_metadata

GOOD = b"good evidence " * 100
@dataclass(frozen=True)
class Stored:
    case_id: str
    item: dict[str, Any]


@pytest.fixture
def stored(api: Api) -> Stored:
    case_id = api.create_case("officer", "ENF-GOOD-001")
    item = api.upload("officer", case_id, GOOD, filename="good.jpg", kind="documentary")
    return Stored(case_id=case_id, item=item)


def assert_error(r: httpx.Response, status: int, code: str | None, *mentions: str) -> str:
    """Check the status and the ``{"error": {"code", "message"}}`` body; returns the message."""
    assert r.status_code == status, r.text
    body = r.json()
    assert set(body) == {"error"}, body
    assert {"code", "message"} <= set(body["error"]), body
    message = body["error"]["message"]
    assert isinstance(message, str) and message
    if code is not None:
        assert body["error"]["code"] == code, body
    for word in mentions:
        assert word.lower() in message.lower(), (word, message)
    return str(message)


def assert_unchanged(api: Api, stored: Stored, *, no_pending: bool = True) -> None:
    r = api.client.get(f"/items/{stored.item['id']}", headers=api.auth("officer"))
    assert r.status_code == 200, r.text
    assert r.json() == stored.item
    r = api.client.get(f"/cases/{stored.case_id}/items", headers=api.auth("officer"))
    assert r.json() == [stored.item]
    if no_pending:
        services = api.client.app.state.services  # type: ignore[attr-defined]
        with services.uow() as repo:
            assert list(repo.list_uploads("receiving")) == []
        assert list(services.settings.resolved_spool_dir.iterdir()) == []


@pytest.fixture
def other_case(api: Api) -> str:
    """A second case of ENF, for uploads left open or completed during a test."""
    return api.create_case("officer", "ENF-OTHER-001")


def _meta(case_id: str, **extra: str | bytes) -> dict[str, str | bytes]:
    return {"case_id": case_id, "filename": "clip.mp4", "kind": "audio_visual", **extra}


def _create(api: Api, length: str | bytes | None, metadata: str | bytes,
            **headers: str | bytes) -> httpx.Response:
    h: dict[str, Any] = {**TUS, **api.auth("officer"), "Upload-Metadata": metadata, **headers}
    if length is not None:
        h["Upload-Length"] = length
    return api.client.post("/uploads", headers=h)


def _open(api: Api, case_id: str, length: int, **meta: str | bytes) -> tuple[str, str]:
    r = api.tus_create("officer", case_id, length, **meta)
    assert r.status_code == 201, r.text
    return r.headers["Location"], r.json()["upload"]["item_id"]


# -- declared length and tus headers ---------------------------------------------------------
@pytest.mark.parametrize("length", [None, "-1", "abc", "1.5", "0x10", "1e3", "+5", "", "²"])
def test_missing_or_malformed_upload_length(api: Api, stored: Stored, length: str | None) -> None:
    header = None if length is None else length.encode("latin-1")
    r = _create(api, header, encode_metadata(_meta(stored.case_id)))
    assert_error(r, 400, "invalid_input", "Upload-Length")
    assert_unchanged(api, stored)


@pytest.mark.parametrize("excess", ["max+1", "10**18", "9*25"])
def test_absurdly_large_upload_length(api: Api, stored: Stored, excess: str) -> None:
    limit = api.client.app.state.services.ingest.max_upload_bytes  # type: ignore[attr-defined]
    length = {"max+1": str(limit + 1), "10**18": str(10**18), "9*25": "9" * 25}[excess]
    r = _create(api, length, encode_metadata(_meta(stored.case_id)))
    assert_error(r, 413, "too_large")
    assert_unchanged(api, stored)


@pytest.mark.parametrize("version", [None, "", "0.2.2", "1.0", "2.0.0"])
def test_wrong_tus_resumable(api: Api, stored: Stored, other_case: str,
                            version: str | None) -> None:
    location, _ = _open(api, other_case, 10)
    auth = api.auth("officer")
    h = {} if version is None else {"Tus-Resumable": version}
    requests = [
        ("POST", "/uploads", {"Upload-Length": "10",
                              "Upload-Metadata": encode_metadata(_meta(stored.case_id))}, b""),
        ("PATCH", location, {**OFFSET_CT, "Upload-Offset": "0"}, b"0123456789"),
        ("DELETE", location, {}, b""),
        ("HEAD", location, {}, b""),
    ]
    for method, url, extra, content in requests:
        r = api.client.request(method, url, headers={**auth, **extra, **h}, content=content)
        assert r.status_code == 412, (method, r.status_code, r.text)
        assert r.headers["Tus-Version"] == "1.0.0"
        if method != "HEAD":
            assert_error(r, 412, None, "Tus-Resumable")
    head = api.tus_head("officer", location)
    assert head.headers["Upload-Offset"] == "0"
    assert head.headers["Evidence-Upload-Status"] == "receiving"
    assert_unchanged(api, stored, no_pending=False)


# -- declared digest ---------------------------------------------------------------------------
@pytest.mark.parametrize("sha", ["abc", "g" * 64, "a" * 63, "a" * 65, "a" * 32 + " " + "a" * 31])
def test_malformed_declared_sha256(api: Api, stored: Stored, sha: str) -> None:
    r = api.tus_create("officer", stored.case_id, 10, sha256=sha)
    assert_error(r, 400, "invalid_input", "sha256")
    assert_unchanged(api, stored)


def test_declared_sha256_mismatch_rejects_the_item(api: Api, stored: Stored) -> None:
    case_id = api.create_case("officer", "ENF-MISMATCH-1")
    data = b"the real bytes " * 1000
    declared = hashlib.sha256(b"other bytes").hexdigest()
    location, item_id = _open(api, case_id, len(data), sha256=declared)
    assert api.tus_patch("officer", location, 0, data[:5000]).status_code == 204
    r = api.tus_patch("officer", location, 5000, data[5000:])
    assert_error(r, 422, "digest_mismatch", declared)
    assert_error(api.client.get(f"/items/{item_id}", headers=api.auth("officer")), 404,
                 "not_found")
    assert api.client.get(f"/cases/{case_id}/items", headers=api.auth("officer")).json() == []
    status = api.client.get(location, headers=api.auth("officer")).json()
    assert status["status"] == "rejected"
    assert declared in status["reason"]
    assert_error(api.tus_patch("officer", location, len(data), b"x"), 409, "conflict")
    services = api.client.app.state.services  # type: ignore[attr-defined]
    actual = hashlib.sha256(data).hexdigest()
    assert not services.store.exists(f"sha256/{actual[:2]}/{actual[2:4]}/{actual}")
    assert_unchanged(api, stored)


# -- PATCH -------------------------------------------------------------------------------------
@pytest.mark.parametrize("progress", [0, 4])
@pytest.mark.parametrize("sent", [1, 3, 9, 10])
def test_patch_with_wrong_offset(api: Api, stored: Stored, other_case: str, progress: int,
                                 sent: int) -> None:
    location, _ = _open(api, other_case, 10)
    if progress:
        assert api.tus_patch("officer", location, 0, b"0123"[:progress]).status_code == 204
    r = api.tus_patch("officer", location, sent, b"x")
    assert_error(r, 409, "offset_mismatch", str(sent), str(progress))
    assert r.headers["Upload-Offset"] == str(progress)
    assert api.tus_head("officer", location).headers["Upload-Offset"] == str(progress)
    assert_unchanged(api, stored, no_pending=False)


@pytest.mark.parametrize("offset", [None, "", "-1", "abc", "1.0", "²", "9" * 30])
def test_patch_with_malformed_offset(api: Api, stored: Stored, other_case: str,
                                     offset: str | None) -> None:
    location, _ = _open(api, other_case, 10)
    h: dict[str, Any] = {**TUS, **OFFSET_CT, **api.auth("officer")}
    if offset is not None:
        h["Upload-Offset"] = offset.encode("latin-1")
    r = api.client.patch(location, headers=h, content=b"0123456789")
    assert_error(r, 400, "invalid_input", "Upload-Offset")
    assert api.tus_head("officer", location).headers["Upload-Offset"] == "0"
    assert_unchanged(api, stored, no_pending=False)


def _chunks(data: bytes) -> Iterator[bytes]:
    yield data[:3]
    yield data[3:]


@pytest.mark.parametrize("framing", ["content-length", "chunked"])
@pytest.mark.parametrize("progress", [0, 4])
def test_chunk_past_declared_length(api: Api, stored: Stored, other_case: str, framing: str,
                                    progress: int) -> None:
    data = b"0123456789"
    location, item_id = _open(api, other_case, len(data),
                              sha256=hashlib.sha256(data).hexdigest())
    if progress:
        assert api.tus_patch("officer", location, 0, data[:progress]).status_code == 204
    too_much = data[progress:] + b"EXTRA"
    h = {**TUS, **OFFSET_CT, **api.auth("officer"), "Upload-Offset": str(progress)}
    body = too_much if framing == "content-length" else _chunks(too_much)
    r = api.client.patch(location, headers=h, content=body)
    assert_error(r, 413, "too_large", "declared length")
    assert api.tus_head("officer", location).headers["Upload-Offset"] == str(progress)
    r = api.tus_patch("officer", location, progress, data[progress:])
    assert r.status_code == 204, r.text
    assert r.headers["Evidence-Sha256"] == hashlib.sha256(data).hexdigest()
    item = api.client.get(f"/items/{item_id}", headers=api.auth("officer")).json()
    assert (item["status"], item["size"]) == ("stored", len(data))
    assert_unchanged(api, stored)


@pytest.mark.parametrize("content_type", [None, "application/octet-stream", "text/plain",
                                          "application/json", "application/offset"])
def test_patch_with_wrong_content_type(api: Api, stored: Stored, other_case: str,
                                       content_type: str | None) -> None:
    location, _ = _open(api, other_case, 10)
    h = {**TUS, **api.auth("officer"), "Upload-Offset": "0"}
    if content_type is not None:
        h["Content-Type"] = content_type
    r = api.client.patch(location, headers=h, content=b"0123456789")
    assert_error(r, 415, "unsupported_media_type", "application/offset+octet-stream")
    assert api.tus_head("officer", location).headers["Upload-Offset"] == "0"
    assert_unchanged(api, stored, no_pending=False)


# -- case ids ----------------------------------------------------------------------------------
def test_inaccessible_case_ids_are_indistinguishable(api: Api, stored: Stored) -> None:
    r = api.client.post("/cases", headers=api.auth("pen_officer"),
                        json={"case_number": "PEN-SECRET-77", "title": "机密处罚案件"})
    pen_case = r.json()["id"]
    candidates = {"unknown": "5b0e8f0e-3a53-4c36-9b3e-6f2f4b1f7a10", "not-a-uuid": "not-a-uuid",
                  "traversal": "../../etc/passwd", "long": "x" * 2000, "nul": "a\x00b",
                  "sql": "' OR '1'='1", "other-department": pen_case}
    bodies = {}
    for name, case_id in candidates.items():
        r = api.tus_create("officer", case_id, 10)
        assert_error(r, 404, "not_found", "case")
        bodies[name] = r.content
        for word in ("PEN-SECRET-77", "机密处罚案件", pen_case, "PEN"):
            assert word not in r.text
    assert len(set(bodies.values())) == 1, bodies
    assert_unchanged(api, stored)


# -- authentication ----------------------------------------------------------------------------
def _authorization(api: Api, kind: str) -> dict[str, str]:
    """An Authorization header of the given badness (officer's claims unless stated)."""
    me = api.client.get("/auth/me", headers=api.auth("officer")).json()
    now = int(time.time())
    claims = {"sub": me["id"], "dept": me["department_id"], "typ": "user", "iat": now,
              "exp": now + 600, "jti": "x"}
    secret = api.client.app.state.services.settings.resolved_jwt_secret()  # type: ignore[attr-defined]
    signed = {
        "expired": ({**claims, "iat": now - 7200, "exp": now - 3600}, secret),
        "forged": (claims, "not-the-secret-" + secret[::-1]),
        "unknown-user": ({**claims, "sub": "5b0e8f0e-3a53-4c36-9b3e-6f2f4b1f7a10"}, secret),
        "other-department": ({**claims, "dept": api.departments["PEN"]}, secret),
        "no-exp": ({k: v for k, v in claims.items() if k != "exp"}, secret),
    }
    if kind in signed:
        token = jwt.encode(signed[kind][0], signed[kind][1], algorithm="HS256")
    elif kind == "alg-none":
        token = jwt.encode(claims, None, algorithm="none")
    elif kind == "missing":
        return {}
    elif kind == "basic":
        return {"Authorization": "Basic b2ZmaWNlcjpjb3JyZWN0IGhvcnNlIGJhdHRlcnk="}
    else:
        token = {"garbage": "garbage", "dots": "a.b.c", "device-prefix": "evd_not-a-token",
                 "empty": ""}[kind]
    return {"Authorization": f"Bearer {token}"}


@pytest.mark.parametrize("kind", ["missing", "expired", "forged", "alg-none", "garbage", "dots",
                                  "device-prefix", "empty", "basic", "unknown-user",
                                  "other-department", "no-exp"])
def test_bad_credentials_are_401(api: Api, stored: Stored, kind: str) -> None:
    auth = _authorization(api, kind)
    meta = encode_metadata(_meta(stored.case_id))
    for r in (api.client.get("/cases", headers=auth),
              api.client.get(f"/items/{stored.item['id']}", headers=auth),
              api.client.post("/uploads", headers={**TUS, **auth, "Upload-Length": "10",
                                                   "Upload-Metadata": meta})):
        assert_error(r, 401, "unauthenticated")
        assert r.headers["WWW-Authenticate"] == "Bearer"
        assert stored.item["sha256"] not in r.text
    assert_unchanged(api, stored)


def test_revoked_device_token_is_401(api: Api, stored: Stored) -> None:
    r = api.client.post("/device-tokens", headers=api.auth("admin"),
                        json={"device_id": "DOCK-01", "label": "dock"})
    token_id, token = r.json()["id"], r.json()["token"]
    device = {"Authorization": f"Bearer {token}"}
    assert api.client.get("/cases", headers=device).status_code == 200
    r = api.client.delete(f"/device-tokens/{token_id}", headers=api.auth("admin"))
    assert r.status_code == 204, r.text
    assert_error(api.client.get("/cases", headers=device), 401, "unauthenticated", "revoked")
    r = api.client.post("/uploads", headers={**TUS, **device, "Upload-Length": "10",
                                             "Upload-Metadata": encode_metadata(
                                                 _meta(stored.case_id))})
    assert_error(r, 401, "unauthenticated")
    for gone in (token_id, "a%00b", "5b0e8f0e-3a53-4c36-9b3e-6f2f4b1f7a10"):
        r = api.client.delete(f"/device-tokens/{gone}", headers=api.auth("admin"))
        assert_error(r, 404, "not_found", "device token")
    assert_unchanged(api, stored)


# -- upload metadata ---------------------------------------------------------------------------
@pytest.mark.parametrize("name", [
    b"a/b.mp4", b"/etc/passwd", b"a\\b.mp4", b"..", b".", b"../../x", b"", b"   ",
    b"a\x00b.mp4", b"a\x1b[31mb.mp4", b"a\nb.mp4", b"a\rb.mp4", b"a\x7fb.mp4",
    "evil\u202egnp.exe".encode(), "a\u2028b".encode(), "\ufeffa.mp4".encode(),
    b"\xff\xfe.mp4", b"\xc3\x28.mp4", b"\xed\xa0\x80.mp4", b"a" * 256, "证".encode() * 86,
], ids=lambda n: repr(n)[:30])
def test_bad_file_name(api: Api, stored: Stored, name: bytes) -> None:
    r = api.tus_create("officer", stored.case_id, 10, filename=name)
    assert_error(r, 400, "invalid_file_name", "file name")
    assert_unchanged(api, stored)


def test_unknown_evidence_kind_names_the_allowed_kinds(api: Api, stored: Stored) -> None:
    r = api.tus_create("officer", stored.case_id, 10, kind="hearsay")
    assert_error(r, 400, "invalid_input", "hearsay", *[k.value for k in EvidenceKind])
    assert_unchanged(api, stored)


@pytest.mark.parametrize("bad", [
    b"note !!!notbase64", b"note abc", b"note dGVzdA", b"note d\xc3\xa9", b"bad-key dGVzdA==",
    b"k\xc3\xa9y dGVzdA==", b"kind YXVkaW9fdmlzdWFs", b" , ", b"note dGVzdA== extra",
])
def test_malformed_upload_metadata(api: Api, stored: Stored, bad: bytes) -> None:
    header = encode_metadata(_meta(stored.case_id)).encode("ascii") + b"," + bad
    r = _create(api, "10", header)
    assert_error(r, 400, "invalid_input", "Upload-Metadata")
    assert_unchanged(api, stored)


@pytest.mark.parametrize("key", ["case_id", "kind"])
def test_missing_required_metadata(api: Api, stored: Stored, key: str) -> None:
    meta = {k: v for k, v in _meta(stored.case_id).items() if k != key}
    assert_error(_create(api, "10", encode_metadata(meta)), 400, "invalid_input", key)
    assert_unchanged(api, stored)


@pytest.mark.parametrize("value", ["2026-11-20T09:30:00", "2026-11-20", "yesterday",
                                   "2026-13-40T99:00:00+08:00", "\x00"])
def test_bad_captured_at(api: Api, stored: Stored, value: str) -> None:
    r = api.tus_create("officer", stored.case_id, 10, captured_at=value)
    assert_error(r, 400, "invalid_input", "captured_at")
    assert_unchanged(api, stored)


@pytest.mark.parametrize("value", ["secret", "PUBLIC", " internal"])
def test_unknown_classification(api: Api, stored: Stored, value: str) -> None:
    r = api.tus_create("officer", stored.case_id, 10, classification=value)
    assert_error(r, 400, "invalid_input", "classification",
                 *[c.value for c in Classification])
    assert_unchanged(api, stored)


@pytest.mark.parametrize("filetype", ["video", "video/", "video/mp4; codecs=x", "a\x00/b"])
def test_bad_filetype(api: Api, stored: Stored, filetype: str) -> None:
    r = api.tus_create("officer", stored.case_id, 10, filetype=filetype)
    assert_error(r, 400, "invalid_input", "media type")
    assert_unchanged(api, stored)


@pytest.mark.parametrize("field", ["recorder_id", "tag_party", "tag_penalty_number"])
def test_overlong_metadata_value(api: Api, stored: Stored, field: str) -> None:
    r = api.tus_create("officer", stored.case_id, 10, **{field: "x" * 1000})
    assert_error(r, 400, "invalid_input", field.removeprefix("tag_"))
    assert_unchanged(api, stored)


# -- JSON bodies -------------------------------------------------------------------------------
@pytest.mark.parametrize("body", [
    b"{", b"not json", b'{"case_number": "A-1", "title": "x",}', b"\xff\xfe\x00{",
    b'{"case_number": "A-\xff", "title": "x"}', b'{"case_number": "\xe4\xb8", "title": "x"}',
    b"[]", b'"A-1"', b"null", b'{"case_number": 1, "title": "x"}',
    b'{"case_number": "A-1", "title": "x", "status": "closed"}',
    b'{"case_number": "A-1", "title": "x", "classification": "secret"}',
], ids=lambda b: repr(b)[:30])
def test_bad_json_body_to_create_case(api: Api, stored: Stored, body: bytes) -> None:
    r = api.client.post("/cases", content=body,
                        headers={**api.auth("officer"), "Content-Type": "application/json"})
    assert_error(r, 422, "invalid_request")
    cases = api.client.get("/cases", headers=api.auth("officer")).json()
    assert [c["id"] for c in cases] == [stored.case_id]
    assert_unchanged(api, stored)


@pytest.mark.parametrize("body", [b"[" * 100_000, b'{"a":' * 50_000, b"[" * 33 + b"]" * 33])
def test_deeply_nested_json_is_refused_before_parsing(api: Api, stored: Stored,
                                                      body: bytes) -> None:
    """py_ecc (imported with web3) raises the recursion limit to 100 000; parsing such a body
    in a worker thread would then overflow the C stack and kill the server."""
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(100_000)
    try:
        r = api.client.post("/cases", content=body,
                            headers={**api.auth("officer"), "Content-Type": "application/json"})
    finally:
        sys.setrecursionlimit(limit)
    assert_error(r, 422, "invalid_request")
    assert "deeper than" in r.text
    assert_unchanged(api, stored)


def test_oversized_json_body_is_refused(api: Api, stored: Stored) -> None:
    body = b'{"case_number": "A-1", "title": "' + b"x" * (2 << 20) + b'"}'
    r = api.client.post("/cases", content=body,
                        headers={**api.auth("officer"), "Content-Type": "application/json"})
    assert_error(r, 413, "too_large")
    assert_unchanged(api, stored)


@pytest.mark.parametrize(("path", "user", "body"), [
    ("/cases", "officer", {"case_number": "A\x00-1", "title": "x"}),
    ("/cases", "officer", {"case_number": "A-1", "title": "bad\x1bvalue"}),
    ("/cases", "officer", {"case_number": "A-1", "title": "x", "party": "a\x00b"}),
    ("/auth/login", None, {"username": "off\x00icer", "password": "correct horse battery"}),
    ("/device-tokens", "admin", {"device_id": "DOCK\x00-1"}),
], ids=["case_number", "title", "party", "login", "device"])
def test_control_characters_in_json_text(api: Api, stored: Stored, path: str, user: str | None,
                                         body: dict[str, str]) -> None:
    r = api.client.post(path, json=body, headers=api.auth(user) if user else {})
    assert_error(r, 422, "invalid_request")
    cases = api.client.get("/cases", headers=api.auth("officer")).json()
    assert [c["id"] for c in cases] == [stored.case_id]


def test_repeated_failed_logins_lock_the_username_with_429(api: Api) -> None:
    for _ in range(5):
        r = api.client.post("/auth/login", json={"username": "reviewer", "password": "nope"})
        assert r.status_code == 401
    locked = api.client.post("/auth/login",
                             json={"username": "reviewer", "password": "correct horse battery"})
    assert locked.status_code == 429
    assert locked.json()["error"]["code"] == "too_many_attempts"
    assert int(locked.headers["Retry-After"]) > 0
    other = api.client.post("/auth/login",
                            json={"username": "officer", "password": "correct horse battery"})
    assert other.status_code == 200
