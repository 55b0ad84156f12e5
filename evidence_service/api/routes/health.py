"""Liveness, readiness and Prometheus metrics (no token: aggregate figures only)."""

from __future__ import annotations

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from evidence_service.adapters.db import ping
from evidence_service.api.deps import ServicesDep
from evidence_service.api.guards import GuardedRoute
from evidence_service.domain.errors import StorageUnavailable

router = APIRouter(tags=["health"], route_class=GuardedRoute)


@router.get("/healthz")
def healthz() -> dict[str, str]:
    """The process is up."""
    return {"status": "ok"}


@router.get("/readyz")
def readyz(services: ServicesDep) -> JSONResponse:
    """The database and the object store answer."""
    checks: dict[str, str] = {}
    try:
        ping(services.engine)
        checks["database"] = "ok"
    except Exception:  # any driver error means "not ready"
        checks["database"] = "unavailable"
    try:
        services.store.check()
        checks["object_store"] = "ok"
    except StorageUnavailable:
        checks["object_store"] = "unavailable"
    ready = all(v == "ok" for v in checks.values())
    return JSONResponse({"status": "ready" if ready else "not_ready", "checks": checks},
                        status_code=200 if ready else 503)


@router.get("/metrics")
def prometheus_metrics() -> Response:
    """Prometheus text exposition."""
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
