"""Security headers on every response, and CORS only for the origins configured."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    # Pages (evidence_service/web) load only our own scripts and styles; hash-wasm compiles
    # WebAssembly ('wasm-unsafe-eval', not 'unsafe-eval'); media and images may be blob: URLs
    # of bytes fetched with the bearer token.
    "Content-Security-Policy": ("default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; "
                                "style-src 'self'; img-src 'self' blob:; media-src 'self' blob:; "
                                "connect-src 'self'; object-src 'none'; base-uri 'none'; "
                                "form-action 'self'; frame-ancestors 'none'"),
    "Referrer-Policy": "no-referrer",
}
_HSTS = "max-age=31536000; includeSubDomains"
#: FastAPI's interactive docs load Swagger UI / ReDoc from their CDN with an inline script;
#: only they keep the looser policy.
_DOCS_PATHS = ("/docs", "/redoc")
_DOCS_CSP = "frame-ancestors 'none'"


class SecurityHeaders:
    """Adds the security headers to every HTTP response: pure ASGI, wrapping only ``send``.

    Not ``@app.middleware("http")``: Starlette's ``BaseHTTPMiddleware`` wraps ``receive`` too
    and spawns a task group for every chunk of a request body, which on a multi-GB upload
    costs more CPU than parsing the HTTP itself.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        docs = scope["path"].startswith(_DOCS_PATHS)
        https = scope.get("scheme") == "https"

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                if docs:
                    headers.setdefault("Content-Security-Policy", _DOCS_CSP)
                for name, value in _HEADERS.items():
                    headers.setdefault(name, value)
                if headers.get("content-type", "").startswith("application/json"):
                    headers.setdefault("Cache-Control", "no-store")
                if https:
                    headers.setdefault("Strict-Transport-Security", _HSTS)
            await send(message)

        await self.app(scope, receive, send_with_headers)


def install(app: FastAPI, *, cors_origins: list[str]) -> None:
    """Add the header middleware; CORS only when ``cors_origins`` names any (none by default)."""
    app.add_middleware(SecurityHeaders)
    if cors_origins:
        app.add_middleware(CORSMiddleware, allow_origins=cors_origins, allow_credentials=False,
                           allow_methods=["GET", "POST", "PATCH", "PUT", "DELETE", "HEAD",
                                          "OPTIONS"],
                           allow_headers=["Authorization", "Content-Type", "Tus-Resumable",
                                          "Upload-Length", "Upload-Offset", "Upload-Metadata",
                                          "Batch-Id", "Batch-Metadata"],
                           expose_headers=["Location", "Upload-Offset", "Upload-Length",
                                           "Tus-Resumable", "Evidence-Item-Id"])
