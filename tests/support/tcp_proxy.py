"""A small TCP proxy that a fault test can cut, stall and reopen.

Put it between the service and a server whose state must survive the outage (moto_server
keeps its buckets only in memory, so stopping it would lose them). :meth:`TcpProxy.cut`
resets every open connection and stops listening, so new connections are refused, exactly
as when the server process is gone; :meth:`TcpProxy.stall` accepts connections and never
answers (a hung server); :meth:`TcpProxy.restore` forwards again on the same port.
"""

from __future__ import annotations

import contextlib
import socket
import struct
import threading
import time
from typing import Literal

_Mode = Literal["forward", "cut", "stall"]


def _reset(sock: socket.socket) -> None:
    """Close with RST (linger 0), as a dead peer's kernel would answer."""
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    with contextlib.suppress(OSError):
        sock.close()


class TcpProxy:
    """Forwards ``127.0.0.1:port`` to ``target`` (``host:port``) on threads."""

    def __init__(self, target: str, *, port: int = 0) -> None:
        host, _, target_port = target.rpartition(":")
        self._target = (host, int(target_port))
        self._lock = threading.Lock()
        self._open: set[socket.socket] = set()
        self._listener: socket.socket | None = None
        self.mode: _Mode = "cut"
        self.port = port
        self.connections = 0
        self.restore()

    @property
    def endpoint(self) -> str:
        return f"127.0.0.1:{self.port}"

    # -- switching ---------------------------------------------------------------------------
    def restore(self) -> None:
        """Forward again (listening on the same port as before)."""
        with self._lock:
            self.mode = "forward"
            if self._listener is None:
                self._listen()

    def stall(self) -> None:
        """Accept connections but never forward or answer: a hung server."""
        with self._lock:
            self.mode = "stall"
            if self._listener is None:
                self._listen()
            self._reset_all()

    def cut(self) -> None:
        """Reset every open connection and refuse new ones: a dead server."""
        with self._lock:
            self.mode = "cut"
            listener, self._listener = self._listener, None
            self._reset_all()
        if listener is not None:
            with contextlib.suppress(OSError):
                listener.shutdown(socket.SHUT_RDWR)
            listener.close()

    def close(self) -> None:
        self.cut()

    # -- internals -----------------------------------------------------------------------------
    def _listen(self) -> None:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        deadline = time.monotonic() + 10
        while True:
            try:
                listener.bind(("127.0.0.1", self.port))
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        listener.listen(128)
        self.port = listener.getsockname()[1]
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True,
                         name="tcp-proxy-accept").start()

    def _reset_all(self) -> None:
        for sock in list(self._open):
            _reset(sock)
        self._open.clear()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return  # the listener was closed by cut()
            with self._lock:
                mode = self.mode
                if listener is not self._listener or mode == "cut":
                    _reset(client)
                    continue
                self.connections += 1
                self._open.add(client)
            if mode == "stall":
                continue  # held open, never answered, until cut() or restore()+reset
            threading.Thread(target=self._connect, args=(client,), daemon=True,
                             name="tcp-proxy-conn").start()

    def _connect(self, client: socket.socket) -> None:
        try:
            upstream = socket.create_connection(self._target, timeout=5)
        except OSError:
            _reset(client)
            return
        upstream.settimeout(None)
        with self._lock:
            if self.mode != "forward":
                _reset(client)
                _reset(upstream)
                return
            self._open.add(upstream)
        for source, sink in ((client, upstream), (upstream, client)):
            threading.Thread(target=self._pump, args=(source, sink), daemon=True,
                             name="tcp-proxy-pump").start()

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(1 << 16):
                sink.sendall(data)
            with contextlib.suppress(OSError):
                sink.shutdown(socket.SHUT_WR)
        except OSError:
            _reset(sink)
            _reset(source)
        finally:
            with self._lock:
                self._open.discard(source)
