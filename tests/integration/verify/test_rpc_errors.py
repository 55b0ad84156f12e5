"""ChainUnavailable from misbehaving JSON-RPC endpoints: real local HTTP servers (stdlib)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from evidence_verify import ChainUnavailable
from evidence_verify.rpc import chain_id, transaction_receipt

Responder = Callable[[BaseHTTPRequestHandler], None]


@pytest.fixture
def serve() -> Iterator[Callable[[Responder], str]]:
    """Start a local HTTP server answering every POST with ``respond``; yields its URL."""
    servers: list[ThreadingHTTPServer] = []

    def start(respond: Responder) -> str:
        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length", 0)))
                respond(self)

            def log_message(self, format: str, *args: object) -> None:
                pass

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        server.daemon_threads = True
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                         daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}/"

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def reply(status: int, body: bytes) -> Responder:
    def respond(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(status)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)
    return respond


def test_http_error(serve: Callable[[Responder], str]) -> None:
    url = serve(reply(503, b"busy"))
    with pytest.raises(ChainUnavailable, match=r"eth_chainId at .*: HTTP 503"):
        chain_id(url)


def test_json_rpc_error(serve: Callable[[Responder], str]) -> None:
    error = {"jsonrpc": "2.0", "id": 1, "error": {"code": -32601, "message": "no such method"}}
    url = serve(reply(200, json.dumps(error).encode()))
    with pytest.raises(ChainUnavailable, match="JSON-RPC error -32601: no such method"):
        chain_id(url)


@pytest.mark.parametrize(("body", "match"), [
    (b"<html>", "reply is not JSON"),
    (b"[1]", "reply is not a JSON-RPC object"),
    (b'{"jsonrpc":"2.0","id":1}', "reply has no result"),
    (b'{"jsonrpc":"2.0","id":1,"result":"31337"}', "expected a hex quantity"),
])
def test_malformed_reply(serve: Callable[[Responder], str], body: bytes, match: str) -> None:
    with pytest.raises(ChainUnavailable, match=match):
        chain_id(serve(reply(200, body)))


def test_malformed_receipt(serve: Callable[[Responder], str]) -> None:
    body = b'{"jsonrpc":"2.0","id":1,"result":{"status":"0x1","blockNumber":7}}'
    with pytest.raises(ChainUnavailable, match="receipt blockNumber: expected a hex quantity"):
        transaction_receipt(serve(reply(200, body)), "0x" + "ab" * 32)


def test_slow_node_times_out(serve: Callable[[Responder], str]) -> None:
    def stall(handler: BaseHTTPRequestHandler) -> None:
        time.sleep(3)
        reply(200, b'{"jsonrpc":"2.0","id":1,"result":"0x1"}')(handler)

    url = serve(stall)
    started = time.monotonic()
    with pytest.raises(ChainUnavailable, match="node unreachable"):
        chain_id(url, timeout=0.5)
    assert time.monotonic() - started < 2.5
