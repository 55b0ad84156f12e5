"""Request guards that run before FastAPI parses a body.

A JSON body is parsed recursively by the standard library. Some dependencies raise the
interpreter's recursion limit at import (``py_ecc``, pulled in by ``web3``, sets it to
100 000), and a deeply nested body such as ``[[[[…`` can then overflow the C stack of the
worker thread and kill the process. So every non-upload body is size-capped and its nesting
depth checked, cheaply, before anything parses it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute

from evidence_service.domain.errors import PayloadTooLarge

MAX_JSON_BYTES = 1 << 20
MAX_JSON_DEPTH = 32
_STRINGS = re.compile(rb'"(?:\\.|[^"\\])*"')
_BRACKETS = bytes(range(256)).translate(None, b"[]{}")
_STREAMED = ("application/offset+octet-stream", "application/octet-stream",
             "application/x-tar")


def json_depth_exceeds(body: bytes, limit: int) -> bool:
    """Whether ``body`` nests arrays/objects deeper than ``limit`` (strings are skipped)."""
    depth = 0
    for byte in _STRINGS.sub(b"", body).translate(None, _BRACKETS):
        depth += 1 if byte in b"[{" else -1
        if depth > limit:
            return True
    return False


class GuardedRoute(APIRoute):
    """An APIRoute that refuses oversized or too deeply nested bodies with a 4xx."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def guarded(request: Request) -> Response:
            content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
            if request.method in ("POST", "PUT", "PATCH") and content_type not in _STREAMED:
                declared = request.headers.get("content-length", "")
                if declared.isascii() and declared.isdigit() and int(declared) > MAX_JSON_BYTES:
                    raise PayloadTooLarge(f"request body over {MAX_JSON_BYTES} bytes")
                body = await request.body()
                if len(body) > MAX_JSON_BYTES:
                    raise PayloadTooLarge(f"request body over {MAX_JSON_BYTES} bytes")
                if json_depth_exceeds(body, MAX_JSON_DEPTH):
                    raise RequestValidationError([{
                        "loc": ("body",), "type": "json_too_deep",
                        "msg": f"JSON nests deeper than {MAX_JSON_DEPTH} levels"}])
            return await handler(request)

        return guarded
