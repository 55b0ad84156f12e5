"""uvicorn's httptools protocol: writes sent together, and kept answers written without ASGI.

First, uvicorn writes a response's status line and headers, then its body, each as its own
``transport.write``; on an idle socket each is its own ``send`` system call and its own TCP
segment, and the client wakes for each. :class:`CoalescingTransport` keeps what is written
during one pass of the event loop and hands it to the real transport at the end of that
pass, as one ``writelines`` (a single ``writev`` on uvloop, no copy). Nothing waits longer
than the pass that wrote it: the flush is scheduled with ``call_soon``, at most
``HOLD_LIMIT`` bytes are held, and a close flushes first (an abort discards). Flow control
is unchanged: the real transport still calls the protocol's ``pause_writing`` when its
buffer passes the high-water mark. Measured with ``bench/verify.py --workers 1``: 0.045 to
0.040 ms of service CPU per public verification, 0.020 to 0.013 ms for the client.

Second, :class:`AnsweringHttpToolsProtocol` asks a :class:`ReadyAnswers` (the public verdict
cache) for each request before starting the ASGI application. A request it can answer is
answered from the parser callback: status line, uvicorn's ``date`` and ``server`` headers,
then the kept bytes, in one write. That skips the per-request task, scope, ASGI messages and
header checks: 0.037 to 0.013 ms of service CPU per public verification
(``bench/verify.py --workers 2``, docs/benchmarks.md). Only plain requests qualify:
HTTP/1.1 keep-alive, no body, no ``Expect``, no upgrade, no proxy headers (uvicorn's
proxy-headers middleware could change the scheme), a target in origin form, no earlier
response still being written on the connection (pipelined requests stay in order), and a
client that reads its answers: past the write buffer's high-water mark the request takes
uvicorn's path, which waits for the client and stops reading from it, so a client that
pipelines without reading cannot grow the server's buffer.
Everything else takes uvicorn's own path, unchanged, and the ASGI-level ``VerifyFastPath``
still replays kept answers there.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, ClassVar, Protocol

from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol
from uvicorn.protocols.utils import get_client_addr

# request headers that mean the request is not a plain one (framing, proxies)
_NOT_PLAIN = frozenset({b"content-length", b"transfer-encoding", b"expect", b"upgrade",
                        b"forwarded"})


class CoalescingTransport(asyncio.Transport):
    """A transport that sends what one event-loop pass wrote to it in one call.

    At most ``HOLD_LIMIT`` bytes are held: a larger pass is handed on as it comes."""

    HOLD_LIMIT = 64 * 1024

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        super().__init__()
        self._transport = transport
        self._loop = loop
        self._pending: list[bytes] = []
        self._held = 0

    @property
    def held_bytes(self) -> int:
        """Bytes written but not yet handed to the real transport."""
        return self._held

    def write(self, data: bytes | bytearray | memoryview) -> None:
        if not data:
            return
        if not self._pending:
            self._loop.call_soon(self._flush)
        self._pending.append(data if isinstance(data, bytes) else bytes(data))
        self._held += len(data)
        if self._held >= self.HOLD_LIMIT:
            self._flush()

    def writelines(self, list_of_data: Any) -> None:
        for data in list_of_data:
            self.write(data)

    def _flush(self) -> None:
        pending, self._pending, self._held = self._pending, [], 0
        if not pending or self._transport.is_closing():
            return
        if len(pending) == 1:
            self._transport.write(pending[0])
        else:
            self._transport.writelines(pending)

    def close(self) -> None:
        self._flush()
        self._transport.close()

    def abort(self) -> None:
        self._pending, self._held = [], 0
        self._transport.abort()

    def write_eof(self) -> None:
        self._flush()
        self._transport.write_eof()

    def can_write_eof(self) -> bool:
        return self._transport.can_write_eof()

    def is_closing(self) -> bool:
        return self._transport.is_closing()

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return self._transport.get_extra_info(name, default)

    def pause_reading(self) -> None:
        self._transport.pause_reading()

    def resume_reading(self) -> None:
        self._transport.resume_reading()

    def is_reading(self) -> bool:
        return self._transport.is_reading()

    def set_protocol(self, protocol: asyncio.BaseProtocol) -> None:
        self._transport.set_protocol(protocol)

    def get_protocol(self) -> asyncio.BaseProtocol:
        return self._transport.get_protocol()

    def get_write_buffer_size(self) -> int:
        return self._transport.get_write_buffer_size() + self._held

    def get_write_buffer_limits(self) -> tuple[int, int]:
        return self._transport.get_write_buffer_limits()

    def set_write_buffer_limits(self, high: int | None = None, low: int | None = None) -> None:
        self._transport.set_write_buffer_limits(high, low)


class CoalescingHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol over a :class:`CoalescingTransport`."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(CoalescingTransport(transport, self.loop))


class ReadyAnswers(Protocol):
    """Answers kept for plain requests, rendered after the status line (headers, body)."""

    def ready_answer(self, scheme: str, method: str, target: bytes,
                     headers: list[tuple[bytes, bytes]]) -> bytes | None: ...


class AnsweringHttpToolsProtocol(CoalescingHttpToolsProtocol):
    """Writes :attr:`answers`' kept answers itself; see the module's docstring.

    Use :func:`answering_protocol` to bind the answers: uvicorn builds one protocol object
    per connection from the class it is given."""

    answers: ClassVar[ReadyAnswers | None] = None
    _head_for: ClassVar[tuple[object, bytes]] = (None, b"")
    _answered = False

    def on_message_begin(self) -> None:
        self._answered = False
        super().on_message_begin()

    def on_headers_complete(self) -> None:
        answer = self._ready_answer()
        if answer is None:
            # a kept answer earlier in the same read armed the idle timer: this one is not idle
            self._unset_keepalive_if_required()
            super().on_headers_complete()
            return
        self._answered = True
        self.transport.write(self._head() + answer)
        if self.access_log and self.access_logger.isEnabledFor(logging.INFO):
            self.access_logger.info('%s - "%s %s HTTP/%s" %d', get_client_addr(self.scope),
                                    "GET", self.url.decode("latin-1"), "1.1", 200)
        self.on_response_complete()

    def on_message_complete(self) -> None:
        if not self._answered:
            super().on_message_complete()

    def _ready_answer(self) -> bytes | None:
        answers = self.answers
        parser = self.parser
        if (answers is None or self.root_path or self.pipeline or self.flow.write_paused
                or (self.cycle is not None and not self.cycle.response_complete)
                or parser.get_http_version() != "1.1" or not parser.should_keep_alive()
                or parser.should_upgrade() or not self.url.startswith(b"/")):
            return None
        for name, _ in self.headers:
            if name in _NOT_PLAIN or name.startswith(b"x-forwarded-"):
                return None
        return answers.ready_answer(self.scheme or "http", parser.get_method().decode("ascii"),
                                    self.url, self.headers)

    def _head(self) -> bytes:
        """``200 OK`` and uvicorn's default headers (``date`` changes once a second)."""
        defaults = self.server_state.default_headers
        seen, head = type(self)._head_for
        if seen is not defaults:
            head = STATUS_LINE[200] + b"".join(b"%s: %s\r\n" % (name.lower(), value)
                                               for name, value in defaults)
            type(self)._head_for = (defaults, head)
        return head


def answering_protocol(answers: ReadyAnswers) -> type[AnsweringHttpToolsProtocol]:
    """A protocol class for ``uvicorn.Config(http=...)`` that writes ``answers``' answers."""
    return type("AnsweringHttpToolsProtocol", (AnsweringHttpToolsProtocol,),
                {"answers": answers})
