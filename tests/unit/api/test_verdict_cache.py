"""The public verdict cache: only final ``verified`` answers are replayed, byte for byte."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from evidence_service.api.routes.verify import VerdictCache, VerifyFastPath

DIGEST = "ab" * 32


class Inner:
    """A stand-in for the rest of the application: answers with the verdict it is told."""

    def __init__(self) -> None:
        self.verdict, self.status, self.calls = "verified", 200, 0

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        self.calls += 1
        body = json.dumps({"verdict": self.verdict, "n": self.calls}).encode()
        await send({"type": "http.response.start", "status": self.status, "headers": [
            (b"content-type", b"application/json"), (b"content-length", b"%d" % len(body)),
            (b"x-frame-options", b"DENY")]})
        await send({"type": "http.response.body", "body": body})


def call(app: VerifyFastPath, path: str = f"/verify/{DIGEST}", *, method: str = "GET",
         headers: list[tuple[bytes, bytes]] | None = None, scheme: str = "http",
         query: bytes = b"") -> tuple[int, list[Any], bytes]:
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b""}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {"type": "http", "method": method, "path": path, "scheme": scheme,
             "query_string": query, "headers": headers or []}
    asyncio.run(app(scope, receive, send))
    return (sent[0]["status"], list(sent[0]["headers"]),
            b"".join(m.get("body", b"") for m in sent[1:]))


@pytest.fixture
def inner() -> Inner:
    return Inner()


def test_a_verified_answer_is_replayed_with_its_headers(inner: Inner) -> None:
    app = VerifyFastPath(inner, VerdictCache())
    first = call(app)
    assert call(app) == first == call(app, f"/verify/{DIGEST.upper()}")
    assert inner.calls == 1
    assert (b"x-frame-options", b"DENY") in first[1]


@pytest.mark.parametrize(("verdict", "status"), [
    ("pending", 200), ("unknown", 200), ("mismatch", 200), ("verified", 503)])
def test_answers_that_can_change_are_never_kept(inner: Inner, verdict: str,
                                                status: int) -> None:
    inner.verdict, inner.status = verdict, status
    cache = VerdictCache()
    app = VerifyFastPath(inner, cache)
    call(app)
    inner.verdict, inner.status = "verified", 200  # e.g. the item got anchored meanwhile
    assert json.loads(call(app)[2]) == {"verdict": "verified", "n": 2}
    assert inner.calls == 2 and len(cache) == 1


@pytest.mark.parametrize("request_kwargs", [
    {"method": "POST"}, {"path": "/verify/xyz"}, {"path": f"/verify/{DIGEST}/x"},
    {"path": f"/evidence/{DIGEST}"}, {"query": b"a=1"},
    {"headers": [(b"origin", b"https://court.example")]}])
def test_other_requests_always_reach_the_application(inner: Inner,
                                                     request_kwargs: dict[str, Any]) -> None:
    cache = VerdictCache()
    app = VerifyFastPath(inner, cache)
    call(app, **request_kwargs)
    call(app, **request_kwargs)
    assert inner.calls == 2 and len(cache) == 0


def test_schemes_are_kept_apart(inner: Inner) -> None:  # HSTS is sent over https only
    app = VerifyFastPath(inner, VerdictCache())
    call(app, scheme="http")
    call(app, scheme="https")
    assert inner.calls == 2


def test_the_cache_is_bounded_least_recently_used_first(inner: Inner) -> None:
    cache = VerdictCache(limit=2)
    app = VerifyFastPath(inner, cache)
    a, b, c = "aa" * 32, "bb" * 32, "cc" * 32
    for digest in (a, b, a, c):  # a is used again before c arrives, so b goes
        call(app, f"/verify/{digest}")
    assert len(cache) == 2 and inner.calls == 3
    call(app, f"/verify/{a}")
    assert inner.calls == 3
    call(app, f"/verify/{b}")
    assert inner.calls == 4


def test_a_kept_answer_is_rendered_for_the_server_protocol(inner: Inner) -> None:
    cache = VerdictCache()
    app = VerifyFastPath(inner, cache)
    _, headers, body = call(app)
    target = f"/verify/{DIGEST}".encode()
    rendered = cache.ready_answer("http", "GET", target, [(b"host", b"x")])
    assert rendered is not None
    head, _, rest = rendered.partition(b"\r\n\r\n")
    assert rest == body
    assert head.split(b"\r\n") == [b"%s: %s" % (name, value) for name, value in headers]
    # the same rules as the middleware, plus: no query and no escapes in the raw target
    for scheme, method, raw, extra in [
            ("https", "GET", target, []), ("http", "HEAD", target, []),
            ("http", "GET", target + b"?a=1", []), ("http", "GET", target[:-2] + b"%61%62", []),
            ("http", "GET", target, [(b"origin", b"https://court.example")])]:
        assert cache.ready_answer(scheme, method, raw, extra) is None


def test_an_answer_without_a_length_is_left_to_the_server(inner: Inner) -> None:
    cache = VerdictCache()
    cache.put(("http", DIGEST), [(b"content-type", b"application/json")], b'{"verdict":"verified"}')
    assert cache.get(("http", DIGEST)) is not None
    assert cache.ready_answer("http", "GET", f"/verify/{DIGEST}".encode(), []) is None
