"""Public: check a case package (ZIP) with the reference verifier, for the web portal.

The body is spooled to a temporary file (bounded by ``max_upload_bytes``), checked with
``evidence_verify.verify_package`` — the same code a court runs offline — against this
service's chain endpoint, and deleted. The answer is the verifier's own report.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import anyio
from fastapi import APIRouter, Request

from evidence_service.api.deps import ServicesDep
from evidence_service.api.guards import GuardedRoute
from evidence_service.domain.errors import InvalidInput, PayloadTooLarge
from evidence_verify import PackageFormatError, verify_package

router = APIRouter(tags=["verification"], route_class=GuardedRoute)


@router.post("/verify/package")
async def verify_case_package(request: Request, services: ServicesDep) -> dict[str, Any]:
    """Public: send a case package ZIP as the body (``application/octet-stream``, streamed to
    a temporary file); returns the reference verifier's report."""
    limit = services.ingest.max_upload_bytes
    with tempfile.TemporaryDirectory(prefix="package-") as tmp:
        path = Path(tmp) / "package.zip"
        size = 0
        with path.open("wb") as out:
            async for chunk in request.stream():
                size += len(chunk)
                if size > limit:
                    raise PayloadTooLarge("the package exceeds the maximum upload size")
                await anyio.to_thread.run_sync(out.write, chunk)
        if size == 0:
            raise InvalidInput("send the case package ZIP as the request body")
        rpc_url = services.settings.ledger.rpc_url
        if rpc_url is None and services.ledger is not None and services.ledger.node is not None:
            rpc_url = services.ledger.node.rpc_url
        try:
            report = await anyio.to_thread.run_sync(
                lambda: verify_package(path, rpc_url=rpc_url))
        except PackageFormatError as exc:
            raise InvalidInput(f"not a valid case package: {exc}") from exc
    return report.to_dict()
