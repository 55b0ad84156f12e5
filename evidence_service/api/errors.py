"""One table from core error class to HTTP status and public message (rekor ``error.go``)."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy import exc as sa_exc
from starlette.exceptions import HTTPException as StarletteHTTPException

from evidence_service.api import metrics
from evidence_service.domain import errors as e

_logger = logging.getLogger(__name__)

#: error class -> (status, stable error code). The message is the exception's own text,
#: which the core writes for the caller: it never holds keys, paths or other departments' data.
ERROR_TABLE: list[tuple[type[e.EvidenceError], int, str]] = [
    (e.UploadOffsetMismatch, 409, "offset_mismatch"),
    (e.RangeNotSatisfiable, 416, "range_not_satisfiable"),
    (e.InvalidFileName, 400, "invalid_file_name"),
    (e.InvalidInput, 400, "invalid_input"),
    (e.PayloadTooLarge, 413, "too_large"),
    (e.DigestMismatch, 422, "digest_mismatch"),
    (e.NotFound, 404, "not_found"),
    (e.UploadBusy, 423, "upload_busy"),
    (e.TransferBlocked, 409, "transfer_blocked"),
    (e.IntegrityFailure, 409, "integrity_failure"),
    (e.Conflict, 409, "conflict"),
    (e.TooManyAttempts, 429, "too_many_attempts"),
    (e.AuthenticationError, 401, "unauthenticated"),
    (e.PermissionDenied, 403, "forbidden"),
    (e.StorageUnavailable, 503, "storage_unavailable"),
    (e.ChainUnavailable, 503, "chain_unavailable"),
]


def _lookup(exc: e.EvidenceError) -> tuple[int, str]:
    for cls, status, code in ERROR_TABLE:
        if isinstance(exc, cls):
            return status, code
    return 500, "internal_error"


def error_body(code: str, message: str, **extra: object) -> dict[str, object]:
    return {"error": {"code": code, "message": message, **extra}}


def _headers(exc: e.EvidenceError, status: int) -> dict[str, str]:
    headers = {"Tus-Resumable": "1.0.0"}
    if status == 401:
        headers["WWW-Authenticate"] = "Bearer"
    if status == 503:
        headers["Retry-After"] = "5"
    if isinstance(exc, e.TooManyAttempts):
        headers["Retry-After"] = str(exc.retry_after)
    if isinstance(exc, e.UploadOffsetMismatch):
        headers["Upload-Offset"] = str(exc.expected)
    if isinstance(exc, e.RangeNotSatisfiable):
        headers["Content-Range"] = f"bytes */{exc.size}"
    return headers


async def _evidence_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, e.EvidenceError)
    status, code = _lookup(exc)
    metrics.ERRORS.labels(kind=code).inc()
    level = logging.ERROR if status >= 500 else logging.WARNING
    _logger.log(level, "%s %s -> %d %s: %s", request.method, request.url.path, status, code, exc,
                exc_info=status >= 500 and status != 503)
    extra = {"details": exc.details} if exc.details else {}
    return JSONResponse(error_body(code, str(exc), **extra), status_code=status,
                        headers=_headers(exc, status))


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    metrics.ERRORS.labels(kind="invalid_request").inc()
    details = [{"loc": list(err.get("loc", ())), "msg": err.get("msg", "")}
               for err in exc.errors()]
    _logger.warning("%s %s -> 422 invalid_request", request.method, request.url.path)
    return JSONResponse(error_body("invalid_request", "request failed validation",
                                   details=details), status_code=422)


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    if exc.status_code == 400 and isinstance(exc.__cause__, (ValueError, RecursionError)):
        # FastAPI answers a JSON body that is not UTF-8 (or nests too deep) with a bare 400;
        # report it like any other body that is not valid JSON.
        reason = ("body is not valid UTF-8" if isinstance(exc.__cause__, UnicodeDecodeError)
                  else "body could not be parsed")
        return await _validation_error(request, RequestValidationError(
            [{"type": "json_invalid", "loc": ("body",), "msg": reason}]))
    metrics.ERRORS.labels(kind=f"http_{exc.status_code}").inc()
    return JSONResponse(error_body(f"http_{exc.status_code}", str(exc.detail)),
                        status_code=exc.status_code, headers=exc.headers)


#: Driver errors that mean "the database is away" (down, restarting, connection dropped), not
#: a bug: the request may be retried as it is.
_DB_UNAVAILABLE = (sa_exc.OperationalError, sa_exc.InterfaceError, sa_exc.DisconnectionError)
DB_RETRY_AFTER_SECONDS = 5


def _database_unavailable(exc: BaseException) -> bool:
    if isinstance(exc, _DB_UNAVAILABLE):
        return True
    return isinstance(exc, sa_exc.DBAPIError) and exc.connection_invalidated


async def _database_error(request: Request, exc: Exception) -> JSONResponse:
    if not _database_unavailable(exc):
        return await _unexpected(request, exc)
    metrics.ERRORS.labels(kind="database_unavailable").inc()
    _logger.error("%s %s -> 503 database_unavailable: %s", request.method, request.url.path,
                  type(exc.__cause__ or exc).__name__)
    return JSONResponse(
        error_body("database_unavailable", "the database is unavailable; retry later"),
        status_code=503, headers={"Retry-After": str(DB_RETRY_AFTER_SECONDS),
                                  "Tus-Resumable": "1.0.0"})


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    metrics.ERRORS.labels(kind="internal_error").inc()
    _logger.error("%s %s -> 500", request.method, request.url.path, exc_info=exc)
    return JSONResponse(error_body("internal_error", "internal error; see the server log"),
                        status_code=500)


def install(app: FastAPI) -> None:
    """Register the handlers on ``app``."""
    app.add_exception_handler(e.EvidenceError, _evidence_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(sa_exc.DBAPIError, _database_error)
    app.add_exception_handler(sa_exc.DisconnectionError, _database_error)
    app.add_exception_handler(Exception, _unexpected)
