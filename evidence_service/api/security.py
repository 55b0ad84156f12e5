"""Security headers on every response, and CORS only for the origins configured."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fastapi import FastAPI, Request, Response
from fastapi.middleware.cors import CORSMiddleware

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


def install(app: FastAPI, *, cors_origins: list[str]) -> None:
    """Add the header middleware; CORS only when ``cors_origins`` names any (none by default)."""

    @app.middleware("http")
    async def security_headers(request: Request,
                               call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        response = await call_next(request)
        if request.url.path.startswith(_DOCS_PATHS):
            response.headers.setdefault("Content-Security-Policy", _DOCS_CSP)
        for name, value in _HEADERS.items():
            response.headers.setdefault(name, value)
        if response.headers.get("content-type", "").startswith("application/json"):
            response.headers.setdefault("Cache-Control", "no-store")
        if request.url.scheme == "https":
            response.headers.setdefault("Strict-Transport-Security", _HSTS)
        return response

    if cors_origins:
        app.add_middleware(CORSMiddleware, allow_origins=cors_origins, allow_credentials=False,
                           allow_methods=["GET", "POST", "PATCH", "PUT", "DELETE", "HEAD",
                                          "OPTIONS"],
                           allow_headers=["Authorization", "Content-Type", "Tus-Resumable",
                                          "Upload-Length", "Upload-Offset", "Upload-Metadata"],
                           expose_headers=["Location", "Upload-Offset", "Upload-Length",
                                           "Tus-Resumable", "Evidence-Item-Id"])
