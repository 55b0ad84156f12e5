"""The service's HTTP protocol on a real uvicorn server: kept answers and coalesced writes.

A uvicorn server runs in a thread on uvloop with ``answering_protocol``, in front of the
real ``VerifyFastPath`` and ``VerdictCache`` and a small application; requests go over real
sockets, as raw bytes, so pipelining, HTTP/1.0 and odd headers are exactly what is sent.
"""

from __future__ import annotations

import asyncio
import json
import logging
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, BinaryIO

import pytest
import uvicorn
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from evidence_service.api.routes.verify import VerdictCache, VerifyFastPath
from evidence_service.cli.http_protocol import CoalescingTransport, answering_protocol
from tests.support.live import free_port

DIGEST = "ab" * 32
SLOW = "5" + "c" * 63  # the application takes 0.2 s to answer this one
LARGE = "7" + "d" * 63  # answered with 32 KiB
LINGER = "9" + "e" * 63  # answered after 1.5 s, longer than the keep-alive timeout
STREAM_CHUNKS, STREAM_CHUNK = 64, 64 * 1024


class Application:
    """Answers ``/verify/{digest}`` as verified; ``/stream`` writes 4 MiB without yielding."""

    def __init__(self) -> None:
        self.calls = 0

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        self.calls += 1
        path = scope["path"]
        if path == "/stream":
            await send({"type": "http.response.start", "status": 200, "headers": []})
            for n in range(STREAM_CHUNKS):
                await send({"type": "http.response.body", "more_body": True,
                            "body": bytes([n]) * STREAM_CHUNK})
            await send({"type": "http.response.body", "body": b""})
            return
        digest = path.rsplit("/", 1)[-1].lower()
        if digest in (SLOW, LINGER):
            await asyncio.sleep(0.2 if digest == SLOW else 1.5)
        padding = "x" * (32 * 1024 if digest == LARGE else 0)
        body = json.dumps({"verdict": "verified", "digest": digest, "padding": padding}).encode()
        headers = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(body)),
                   (b"x-frame-options", b"DENY")]
        if scope["scheme"] == "https":  # as the service's HSTS header
            headers.append((b"strict-transport-security", b"max-age=63072000"))
        origin = dict(scope["headers"]).get(b"origin")
        if origin is not None:  # as CORS: the answer names the caller's origin
            headers.append((b"access-control-allow-origin", origin))
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body})


class Recorder:
    """Outermost: every request that reaches the ASGI stack at all."""

    def __init__(self, app: Any) -> None:
        self.app, self.seen = app, 0

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        self.seen += 1
        await self.app(scope, receive, send)


class Served:
    def __init__(self) -> None:
        self.application = Application()
        self.cache = VerdictCache()
        self.stack = Recorder(VerifyFastPath(self.application, self.cache))
        self.port = free_port()


@contextmanager
def running(stack: Any, port: int, http: Any) -> Iterator[None]:
    """A uvicorn server on uvloop in a thread, serving ``stack`` with protocol ``http``."""
    config = uvicorn.Config(stack, host="127.0.0.1", port=port, loop="uvloop", lifespan="off",
                            log_level="info", timeout_keep_alive=1, http=http)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.02)
    try:
        yield
    finally:
        server.should_exit = True
        thread.join(10)


@pytest.fixture
def served() -> Iterator[Served]:
    s = Served()
    with running(s.stack, s.port, answering_protocol(s.cache)):
        yield s


def request(target: str, *extra: str, version: str = "1.1") -> bytes:
    lines = [f"GET {target} HTTP/{version}", "Host: 127.0.0.1", *extra, "", ""]
    return "\r\n".join(lines).encode()


def read_response(stream: BinaryIO) -> tuple[int, list[tuple[str, str]], bytes]:
    status = int(stream.readline().split()[1])
    headers = []
    while (line := stream.readline().rstrip(b"\r\n")):
        name, _, value = line.decode().partition(":")
        headers.append((name.lower(), value.strip()))
    fields = dict(headers)
    if "content-length" in fields:
        return status, headers, stream.read(int(fields["content-length"]))
    assert fields.get("transfer-encoding") == "chunked", headers
    body = b""
    while (size := int(stream.readline().strip(), 16)):
        body += stream.read(size)
        assert stream.readline() == b"\r\n"
    assert stream.readline() == b"\r\n"
    return status, headers, body


def exchange(port: int, *requests: bytes) -> list[tuple[int, list[tuple[str, str]], bytes]]:
    """Sends ``requests`` back to back on one connection (pipelined), reads every answer."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(b"".join(requests))
        stream = sock.makefile("rb")
        return [read_response(stream) for _ in requests]


def without_date(headers: list[tuple[str, str]]) -> list[tuple[str, str]]:
    return [(name, value) for name, value in headers if name != "date"]


def test_a_kept_answer_is_written_by_the_protocol_with_the_applications_bytes(
        served: Served, caplog: pytest.LogCaptureFixture) -> None:
    first = exchange(served.port, request(f"/verify/{DIGEST}"))[0]
    assert (served.stack.seen, served.application.calls) == (1, 1)
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="uvicorn.access"):
        again = exchange(served.port, request(f"/verify/{DIGEST}"),
                         request(f"/verify/{DIGEST.upper()}"))
    assert served.stack.seen == 1, "the kept answers went through the ASGI stack"
    for status, headers, body in again:
        assert (status, body) == (first[0], first[2])
        assert without_date(headers) == without_date(first[1])
        assert [name for name, _ in headers].count("date") == 1
        assert ("server", "uvicorn") in headers
    logged = [r.getMessage() for r in caplog.records if r.name == "uvicorn.access"]
    assert [line.split(" - ", 1)[1] for line in logged] == [
        f'"GET /verify/{DIGEST} HTTP/1.1" 200', f'"GET /verify/{DIGEST.upper()} HTTP/1.1" 200'
    ], "each kept answer is in the access log, as uvicorn writes it"


def test_pipelined_requests_keep_their_order(served: Served) -> None:
    exchange(served.port, request(f"/verify/{DIGEST}"))
    answers = exchange(served.port, request(f"/verify/{DIGEST}"), request(f"/verify/{SLOW}"),
                       request(f"/verify/{DIGEST}"), request(f"/verify/{SLOW}"))
    digests = [json.loads(body)["digest"] for _, _, body in answers]
    assert digests == [DIGEST, SLOW, DIGEST, SLOW]
    # the third waited for the slow second one; the fourth came from the kept answer
    assert served.application.calls == 2


def test_a_request_behind_a_kept_answer_is_not_cut_by_the_idle_timer(served: Served) -> None:
    exchange(served.port, request(f"/verify/{DIGEST}"))
    answers = exchange(served.port, request(f"/verify/{DIGEST}"), request(f"/verify/{LINGER}"))
    assert [json.loads(body)["digest"] for _, _, body in answers] == [DIGEST, LINGER]


@pytest.mark.parametrize("extra", [
    {"extra": ("Connection: close",)},
    {"version": "1.0"},
    {"extra": ("X-Forwarded-Proto: https",)},
    {"extra": ("Forwarded: proto=https",)},
    {"extra": ("Origin: https://court.example",)},
    {"extra": ("Content-Length: 0",)},
    {"target": f"/verify/{DIGEST}?x=1"},
    {"target": f"/verify/{DIGEST[:-2]}%61%62"},
    {"target": f"http://127.0.0.1/verify/{DIGEST}"},
], ids=["close", "http10", "x-forwarded", "forwarded", "origin", "body", "query", "escaped",
        "absolute"])
def test_requests_that_are_not_plain_go_through_the_asgi_stack(served: Served,
                                                               extra: dict[str, Any]) -> None:
    exchange(served.port, request(f"/verify/{DIGEST}"))
    target = extra.get("target", f"/verify/{DIGEST}")
    answer = exchange(served.port, request(target, *extra.get("extra", ()),
                                           version=extra.get("version", "1.1")))[0]
    assert answer[0] == 200
    assert json.loads(answer[2])["verdict"] == "verified"
    assert served.stack.seen == 2


def test_a_client_that_does_not_read_gets_backpressure_not_a_growing_buffer(
        served: Served) -> None:
    exchange(served.port, request(f"/verify/{LARGE}"))
    count = 400  # 13 MiB of answers: more than the kernel holds for this connection
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)  # no autotuning
        sock.settimeout(30)
        sock.connect(("127.0.0.1", served.port))
        sender = threading.Thread(target=sock.sendall,
                                  args=(request(f"/verify/{LARGE}") * count,))
        sender.start()
        time.sleep(1.5)  # nobody reads meanwhile
        assert served.stack.seen > 1, "past the high-water mark requests took uvicorn's path"
        stream = sock.makefile("rb")
        answers = [read_response(stream) for _ in range(count)]
        sender.join(10)
    assert all(json.loads(body)["digest"] == LARGE for _, _, body in answers)
    assert served.application.calls == 1, "the kept answer still served every request"


def test_an_idle_connection_still_closes_after_a_kept_answer(served: Served) -> None:
    exchange(served.port, request(f"/verify/{DIGEST}"))
    with socket.create_connection(("127.0.0.1", served.port), timeout=10) as sock:
        sock.sendall(request(f"/verify/{DIGEST}"))
        stream = sock.makefile("rb")
        assert read_response(stream)[0] == 200
        started = time.monotonic()
        assert stream.read() == b"", "the keep-alive timeout closes the connection"
        assert time.monotonic() - started < 5
    assert served.stack.seen == 1


def test_a_body_written_without_yielding_arrives_whole_and_in_order(served: Served) -> None:
    status, _, body = exchange(served.port, request("/stream"))[0]
    assert status == 200 and len(body) == STREAM_CHUNKS * STREAM_CHUNK
    assert body == b"".join(bytes([n]) * STREAM_CHUNK for n in range(STREAM_CHUNKS))
    status, _, body = exchange(served.port, request("/stream", "Connection: close"))[0]
    assert len(body) == STREAM_CHUNKS * STREAM_CHUNK, "a close sends what is held first"


def test_the_coalescing_transport_holds_one_pass_at_most_its_limit() -> None:
    received = bytearray()

    async def scenario() -> None:
        loop = asyncio.get_running_loop()
        ours, theirs = socket.socketpair()
        transport, _ = await loop.create_connection(asyncio.Protocol, sock=ours)
        coalescing = CoalescingTransport(transport, loop)  # type: ignore[arg-type]
        for n in range(100):  # one pass: no await in between
            coalescing.write(bytes([n]) * 10_000)
            assert coalescing.held_bytes < CoalescingTransport.HOLD_LIMIT
        coalescing.write(memoryview(b"tail"))
        assert coalescing.held_bytes > 0
        await asyncio.sleep(0)
        assert coalescing.held_bytes == 0, "the end of the pass hands everything on"
        coalescing.write(b"!")
        coalescing.close()
        theirs.setblocking(False)
        reader, _ = await asyncio.open_connection(sock=theirs)
        received.extend(await reader.read())

    asyncio.run(scenario())
    expected = b"".join(bytes([n]) * 10_000 for n in range(100)) + b"tail!"
    assert bytes(received) == expected


# One connection's worth of requests, pipelined: targets and headers that do and do not
# qualify for a kept answer, HTTP/1.0, and requests that end the connection.
_TARGETS = [f"/verify/{DIGEST}", f"/verify/{DIGEST.upper()}", f"/verify/{'0f' * 32}",
            f"/verify/{DIGEST}?x=1", f"/verify/{DIGEST[:-2]}%61%62", "/verify/xyz",
            f"/verify/{DIGEST}/", f"http://127.0.0.1/verify/{DIGEST}"]
_HEADERS = ["Connection: close", "Connection: keep-alive", "Origin: https://court.example",
            "X-Forwarded-Proto: https", "Content-Length: 0", "Accept: */*",
            "User-Agent: court-viewer/2.1", "Forwarded: proto=https"]
_REQUESTS = st.lists(st.tuples(st.sampled_from(_TARGETS),
                               st.lists(st.sampled_from(_HEADERS), max_size=3, unique=True),
                               st.sampled_from(["1.1", "1.1", "1.1", "1.0"])),
                     min_size=1, max_size=6)


def _answers(port: int, requests: list[bytes]) -> list[tuple[int, list[tuple[str, str]], bytes]]:
    """What the server answers to ``requests`` sent back to back, up to its closing."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(b"".join(requests))
        stream = sock.makefile("rb")
        answers = []
        for _ in requests:
            if not stream.peek(1):
                break  # the server closed the connection (close, HTTP/1.0)
            answers.append(read_response(stream))
        return answers


@pytest.fixture(scope="module")
def twins() -> Iterator[tuple[Served, int]]:
    """One stack and cache behind two servers: ours, and uvicorn's own httptools protocol."""
    s = Served()
    plain_port = free_port()
    with running(s.stack, s.port, answering_protocol(s.cache)), \
            running(s.stack, plain_port, "httptools"):
        yield s, plain_port


@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(sequence=_REQUESTS)
@example(sequence=[(f"/verify/{DIGEST}", [], "1.1"),  # keeps the plain http answer
                   (f"/verify/{DIGEST}", ["X-Forwarded-Proto: https"], "1.1"),  # not for https
                   (f"/verify/{DIGEST}", ["Connection: close"], "1.1"),
                   (f"/verify/{DIGEST}", [], "1.1")])  # never answered: the connection closed
def test_kept_answers_are_what_uvicorn_itself_would_send(
        twins: tuple[Served, int], sequence: list[tuple[str, list[str], str]]) -> None:
    served, plain_port = twins
    requests = [request(target, *headers, version=version)
                for target, headers, version in sequence]
    ours = _answers(served.port, requests)
    theirs = _answers(plain_port, requests)
    assert [(status, without_date(headers), body) for status, headers, body in ours] == [
        (status, without_date(headers), body) for status, headers, body in theirs]
