"""Verification: public lookups by hash or file, the log head, consistency; proofs and re-checks.

The public endpoints need no token and reveal only the verdict, registration time and chain
facts: never a case, party or department.
"""

from __future__ import annotations

import json
import re
from collections import OrderedDict
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any

import anyio
from fastapi import APIRouter, Query, Request
from pydantic import BaseModel

from evidence_service.api.custody_schemas import AnchorOut
from evidence_service.api.deps import ClientDep, CurrentPrincipal, ServicesDep
from evidence_service.api.guards import GuardedRoute
from evidence_service.domain.errors import InvalidInput
from evidence_service.services.verification import Verdict

if TYPE_CHECKING:
    from starlette.types import ASGIApp, Message, Receive, Scope, Send

router = APIRouter(tags=["verification"], route_class=GuardedRoute)
_HEX64 = re.compile(r"^[0-9a-fA-F]{64}$")
_VERIFY_PREFIX = "/verify/"


class VerdictOut(BaseModel):
    verdict: str
    reasons: list[str]
    sha256: str | None = None
    sm3: str | None = None
    registered_at: datetime | None = None
    leaf_index: int | None = None
    tree_size: int | None = None
    root: str | None = None
    inclusion_proof: list[str]
    anchor: AnchorOut | None = None

    @classmethod
    def of(cls, v: Verdict, **digests: str | None) -> VerdictOut:
        a = v.anchor
        return cls(verdict=v.verdict, reasons=v.reasons, registered_at=v.registered_at,
                   leaf_index=v.leaf_index, tree_size=v.tree_size, root=v.root,
                   inclusion_proof=v.inclusion_proof, **digests,
                   anchor=None if a is None else AnchorOut.of(a))


@router.get("/verify/{digest}", response_model=VerdictOut)
def verify_digest(digest: str, services: ServicesDep) -> VerdictOut:
    """Public: is evidence with this SHA-256 (or SM3) registered and anchored?"""
    if not _HEX64.match(digest):
        raise InvalidInput("a digest is 64 hexadecimal digits (SHA-256 or SM3)")
    digest = digest.lower()
    verdict = services.verification.verify_digest(sha256=digest)
    if verdict.verdict == "unknown":
        verdict = services.verification.verify_digest(sm3=digest)
    return VerdictOut.of(verdict)


@router.post("/verify", response_model=VerdictOut)
async def verify_file(request: Request, services: ServicesDep) -> VerdictOut:
    """Public: send the file's bytes (any length, streamed, never stored) to be checked."""
    sha256, sm3, verdict = await _StreamBridge(request).run(
        services.verification.verify_stream)
    return VerdictOut.of(verdict, sha256=sha256, sm3=sm3)


class _StreamBridge:
    """Feeds an async request body to a blocking consumer in bounded 2 MiB pieces."""

    def __init__(self, request: Request) -> None:
        self._request = request

    async def run(self, consume: Any) -> Any:
        send, receive = anyio.create_memory_object_stream[bytes](max_buffer_size=2)

        def blocking() -> Any:
            def chunks() -> Any:
                while True:
                    try:
                        yield anyio.from_thread.run(receive.receive)
                    except anyio.EndOfStream:
                        return
            return consume(chunks())

        async with anyio.create_task_group() as tg:
            result: list[Any] = []

            async def worker() -> None:
                result.append(await anyio.to_thread.run_sync(blocking))

            tg.start_soon(worker)
            async with send:
                buffer = bytearray()
                async for chunk in self._request.stream():
                    buffer += chunk
                    if len(buffer) >= 2 << 20:
                        await send.send(bytes(buffer))
                        buffer = bytearray()
                if buffer:
                    await send.send(bytes(buffer))
        return result[0]


@router.get("/log/head")
def log_head(services: ServicesDep) -> dict[str, Any]:
    """Public: the evidence log's size and its latest anchored head."""
    return services.verification.head()


@router.get("/log/consistency")
def log_consistency(services: ServicesDep,
                    from_: Annotated[int, Query(alias="from", ge=1)],
                    to: Annotated[int, Query(ge=1)]) -> dict[str, Any]:
    """Public: RFC 9162 consistency proof between two anchored heads."""
    return services.verification.consistency(from_, to)


@router.get("/evidence/{item_id}/proof")
def proof_bundle(item_id: str, principal: CurrentPrincipal,
                 services: ServicesDep) -> dict[str, Any]:
    """The item's self-contained proof bundle (docs/proof-format.md)."""
    return services.verification.proof_bundle(principal, item_id)


@router.post("/items/{item_id}/verify", response_model=VerdictOut)
def recheck_item(item_id: str, principal: CurrentPrincipal, services: ServicesDep,
                 client: ClientDep) -> VerdictOut:
    """Re-read the stored bytes and check them, the database row and the anchored log.

    Recorded as a ``verified`` custody event; a mismatch raises an integrity alert."""
    return VerdictOut.of(services.verification.recheck_item(principal, item_id, client=client))


class VerdictCache:
    """The exact responses (status line headers and body) of ``verified`` public lookups.

    A ``verified`` answer is final: it names the smallest anchored head that covers the
    entry, and the log is append-only and anchors only grow, so nothing later can change it.
    The cached bytes carry their own proof (inclusion path and on-chain anchor), which anyone
    can check against the chain without trusting this server. ``pending``, ``unknown`` and
    ``mismatch`` answers are never kept: they are recomputed on every request, so an item
    reads ``verified`` from the first request after its anchor is recorded, and a pending
    answer is never served stale. Bounded: least recently used entries are dropped first.
    Used only from the event loop thread, so it needs no lock.

    Each entry also keeps its HTTP/1.1 rendering (header lines, blank line, body), which the
    server's protocol writes without entering the ASGI application (:meth:`ready_answer`).
    """

    def __init__(self, limit: int = 4096) -> None:
        self._limit = limit
        self._entries: OrderedDict[tuple[str, str], _Answer] = OrderedDict()

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key: tuple[str, str]) -> tuple[list[Any], bytes] | None:
        found = self._entries.get(key)
        if found is None:
            return None
        self._entries.move_to_end(key)
        return found.headers, found.body

    def put(self, key: tuple[str, str], headers: list[Any], body: bytes) -> None:
        self._entries[key] = _Answer(headers, body)
        self._entries.move_to_end(key)
        while len(self._entries) > self._limit:
            self._entries.popitem(last=False)

    def ready_answer(self, scheme: str, method: str, target: bytes,
                     headers: list[tuple[bytes, bytes]]) -> bytes | None:
        """The kept answer to an HTTP/1.1 request, rendered after its status line, or None.

        ``target`` is the raw request target and ``headers`` the request's headers with
        lower-case names. None unless the request is one :class:`VerifyFastPath` would replay
        (same rules, :func:`public_lookup_key`) and its answer is kept; a target with a query
        or a percent-escape is left to the application."""
        if b"%" in target or b"?" in target:
            return None
        key = public_lookup_key(scheme, method, target.decode("latin-1"), b"", headers)
        if key is None:
            return None
        found = self._entries.get(key)
        if found is None:
            return None
        if found.rendered is not None:
            self._entries.move_to_end(key)
        return found.rendered


class _Answer:
    """One kept response: its ASGI headers and body, and both rendered for HTTP/1.1."""

    __slots__ = ("body", "headers", "rendered")

    def __init__(self, headers: list[Any], body: bytes) -> None:
        self.headers = headers
        self.body = body
        pairs = [(bytes(name).lower(), bytes(value)) for name, value in headers]
        # without a length the server would have to frame the body itself
        self.rendered = (b"".join(b"%s: %s\r\n" % pair for pair in pairs) + b"\r\n" + body
                         if any(name == b"content-length" for name, _ in pairs) else None)


def public_lookup_key(scheme: str, method: str, path: str, query: bytes,
                      headers: list[tuple[bytes, bytes]]) -> tuple[str, str] | None:
    """The verdict cache's key for a request, or None when its answer must not be replayed.

    Only ``GET /verify/{64 hex digits}`` without a query and without an ``Origin`` header
    (CORS answers differ per origin); the scheme is part of the key (HSTS differs)."""
    if method != "GET" or query or not path.startswith(_VERIFY_PREFIX):
        return None
    digest = path[len(_VERIFY_PREFIX):]
    if not _HEX64.match(digest):
        return None
    if any(name == b"origin" for name, _ in headers):
        return None
    return scheme, digest.lower()


def _is_final(body: bytes) -> bool:
    try:
        return bool(json.loads(body).get("verdict") == "verified")
    except (ValueError, AttributeError):
        return False


class VerifyFastPath:
    """ASGI middleware, outermost: answers a repeated ``GET /verify/{hash}`` from the cache.

    On a miss the request goes through the whole application (routing, security headers,
    error handling) and, when the answer is a final ``verified`` verdict, its status, headers
    and body are kept and replayed byte for byte to later identical requests: same path,
    same scheme (HSTS differs), no ``Origin`` header (CORS answers differ per origin). A hit
    costs no thread hop, no database query and no serialisation.
    """

    def __init__(self, app: ASGIApp, cache: VerdictCache) -> None:
        self.app = app
        self.cache = cache

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        key = self._key(scope)
        if key is None:
            await self.app(scope, receive, send)
            return
        hit = self.cache.get(key)
        if hit is not None:
            await send({"type": "http.response.start", "status": 200, "headers": hit[0]})
            await send({"type": "http.response.body", "body": hit[1]})
            return
        start: dict[str, Any] = {}
        body: list[bytes] = []

        async def keep(message: Message) -> None:
            if message["type"] == "http.response.start":
                start.update(message)
            elif message["type"] == "http.response.body":
                body.append(message.get("body", b""))
            await send(message)

        await self.app(scope, receive, keep)
        answer = b"".join(body)
        if start.get("status") == 200 and _is_final(answer):
            self.cache.put(key, list(start.get("headers", [])), answer)

    @staticmethod
    def _key(scope: Scope) -> tuple[str, str] | None:
        if scope["type"] != "http":
            return None
        return public_lookup_key(str(scope.get("scheme", "http")), scope["method"],
                                 scope["path"], scope.get("query_string", b""),
                                 scope["headers"])
