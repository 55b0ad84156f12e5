"""Playback: a grant is a custody event and a cookie for one item's media path; the media
path answers byte ranges from the stored bytes (filesystem and S3), and nothing else opens it.
"""

from __future__ import annotations

import hashlib
import os
import time
from http.cookies import SimpleCookie

import jwt
import pytest

from tests.support.api import Api

SIZE = 50_000


def _grant(api: Api, item_id: str, user: str = "officer") -> str:
    """POST the grant, check the cookie's scope, return its value (the jar is emptied)."""
    r = api.client.post(f"/items/{item_id}/playback", headers=api.auth(user))
    assert r.status_code == 200, r.text
    assert r.json()["url"] == f"/items/{item_id}/media"
    cookie = SimpleCookie(r.headers["set-cookie"])["evidence_media"]
    assert cookie["path"] == f"/items/{item_id}/media"
    assert cookie["httponly"] and cookie["samesite"].lower() == "strict"
    assert cookie["max-age"] == "3600" and not cookie["secure"]  # plain http here
    api.client.cookies.clear()
    return cookie.value


def _media(api: Api, item_id: str, grant: str | None, **headers: str):  # type: ignore[no-untyped-def]
    if grant is not None:
        headers["Cookie"] = f"evidence_media={grant}"
    return api.client.get(f"/items/{item_id}/media", headers=headers)


def _kinds(api: Api, item_id: str) -> list[str]:
    r = api.client.get(f"/items/{item_id}/custody", headers=api.auth("officer"))
    return [e["kind"] for e in r.json()]


@pytest.fixture
def stored(api: Api) -> tuple[str, bytes]:
    data = os.urandom(SIZE)
    case_id = api.create_case("officer")
    return api.upload("officer", case_id, data, filetype="video/mp4")["id"], data


def test_a_grant_is_one_viewed_event_and_ranges_read_the_stored_bytes(
        api: Api, stored: tuple[str, bytes]) -> None:
    item_id, data = stored
    before = _kinds(api, item_id)
    grant = _grant(api, item_id, "reviewer")
    assert _kinds(api, item_id) == [*before, "viewed"]

    whole = _media(api, item_id, grant)
    assert whole.status_code == 200 and whole.content == data
    assert whole.headers["accept-ranges"] == "bytes"
    assert whole.headers["content-length"] == str(SIZE)
    assert whole.headers["content-type"] == "video/mp4"
    assert whole.headers["x-content-sha256"] == hashlib.sha256(data).hexdigest()
    for header, start, end in [("bytes=0-", 0, SIZE - 1), ("bytes=10-19", 10, 19),
                               ("bytes=49990-99999", 49990, SIZE - 1), ("bytes=-7", SIZE - 7,
                               SIZE - 1), ("bytes=-90000", 0, SIZE - 1),
                               ("bytes=40000-", 40000, SIZE - 1), ("BYTES = 5-5", 5, 5)]:
        r = _media(api, item_id, grant, Range=header)
        assert r.status_code == 206, (header, r.text)
        assert r.content == data[start:end + 1], header
        assert r.headers["content-range"] == f"bytes {start}-{end}/{SIZE}", header
        assert r.headers["content-length"] == str(end - start + 1)
    # what a server may ignore is ignored: the whole object
    for header in ("bytes=0-1,5-6", "bytes=abc", "items=0-1", "bytes=9-3", "bytes"):
        r = _media(api, item_id, grant, Range=header)
        assert (r.status_code, r.content) == (200, data), header
    for header in (f"bytes={SIZE}-", f"bytes={10**30}-", "bytes=-0"):
        r = _media(api, item_id, grant, Range=header)
        assert r.status_code == 416, header
        assert r.json()["error"]["code"] == "range_not_satisfiable"
        assert r.headers["content-range"] == f"bytes */{SIZE}"
    assert _kinds(api, item_id) == [*before, "viewed"], "reading ranges adds no events"


def test_nothing_but_a_grant_for_this_item_opens_its_media(
        api: Api, stored: tuple[str, bytes]) -> None:
    item_id, _ = stored
    other = api.upload("officer", api.create_case("officer", "ENF-2026-002"), b"other")["id"]
    grant_for_other = _grant(api, other)
    bearer = api.tokens["officer"]
    for cookie in (None, "", "garbage", grant_for_other, bearer):
        r = _media(api, item_id, cookie)
        assert r.status_code == 401, (cookie, r.text)
        assert r.json()["error"]["code"] == "unauthenticated"
    r = _media(api, item_id, None, Authorization=f"Bearer {bearer}")
    assert r.status_code == 401, "the media path does not take bearer tokens"
    grant = _grant(api, item_id)
    r = api.client.get("/auth/me", headers={"Authorization": f"Bearer {grant}"})
    assert r.status_code == 401, "a grant is not a bearer token"
    r = api.client.get(f"/items/{item_id}/content", headers={"Authorization": f"Bearer {grant}"})
    assert r.status_code == 401


def test_another_department_gets_no_grant_and_an_expired_grant_ends(
        api: Api, stored: tuple[str, bytes]) -> None:
    item_id, _ = stored
    r = api.client.post(f"/items/{item_id}/playback", headers=api.auth("pen_officer"))
    assert r.status_code == 404
    services = api.client.app.state.services  # type: ignore[attr-defined]
    claims = jwt.decode(_grant(api, item_id), options={"verify_signature": False})
    past = int(time.time()) - 60
    expired = jwt.encode({**claims, "iat": past - 60, "exp": past},
                         services.settings.resolved_jwt_secret(), algorithm="HS256")
    r = _media(api, item_id, expired)
    assert r.status_code == 401 and r.json()["error"]["message"] == "token expired"
    # a grant names its user: one from PEN for this item finds nothing in PEN
    pen = jwt.decode(api.tokens["pen_officer"], options={"verify_signature": False})
    theirs = jwt.encode({**claims, "sub": pen["sub"], "dept": pen["dept"]},
                        services.settings.resolved_jwt_secret(), algorithm="HS256")
    assert _media(api, item_id, theirs).status_code == 404
