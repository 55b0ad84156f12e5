"""Batch registration: ``POST /cases/{case_id}/batches`` with a tar archive of many files.

For recorder docking stations and other bulk offloads (see ``services/batch_ingest.py``).
Request:

- ``Content-Type: application/x-tar``: an uncompressed POSIX (ustar/pax) archive;
- ``Batch-Id`` (optional): a UUID the client chooses; sending the same batch again returns the
  first result (``replayed: true``) instead of registering its files twice;
- ``Batch-Metadata`` (optional): defaults for every file, encoded as tus ``Upload-Metadata``
  (``key base64value,…``) with the keys of ``api/tus.py``, except ``filename``, ``sha256`` and
  ``case_id``;
- per file, pax extended headers ``EVIDENCE.<key>`` override the defaults (for example
  ``EVIDENCE.sha256``, ``EVIDENCE.captured_at``, ``EVIDENCE.kind``).

The answer (201, or 200 for a replay) lists the registered items in archive order.
"""

from __future__ import annotations

from typing import Annotated

import anyio
from anyio import AsyncFile
from fastapi import APIRouter, Header, Request, status
from fastapi.responses import JSONResponse, Response
from starlette.requests import ClientDisconnect

from evidence_service.api import metrics
from evidence_service.api.batch_metadata import describer
from evidence_service.api.deps import CurrentPrincipal, ServicesDep
from evidence_service.api.guards import GuardedRoute
from evidence_service.api.schemas import BatchOut
from evidence_service.domain.errors import InvalidInput, PayloadTooLarge

router = APIRouter(tags=["uploads"], route_class=GuardedRoute)
_TAR = "application/x-tar"
_BUFFER = 1 << 20


@router.post("/cases/{case_id}/batches", status_code=status.HTTP_201_CREATED,
             response_model=BatchOut)
async def register_batch(
    case_id: str, request: Request, principal: CurrentPrincipal, services: ServicesDep,
    content_type: Annotated[str | None, Header()] = None,
    batch_id: Annotated[str | None, Header()] = None,
    batch_metadata: Annotated[str | None, Header()] = None,
) -> Response:
    """Register every file of a tar archive as an item of the case, all or nothing."""
    if (content_type or "").split(";")[0].strip().lower() != _TAR:
        return JSONResponse({"error": {"code": "unsupported_media_type",
                                       "message": f"Content-Type must be {_TAR}"}},
                            status_code=415)
    describe = describer(case_id, batch_metadata)  # a bad header fails before the body
    workers = services.batch_workers
    if workers is not None:  # registered by the first free worker process
        async with anyio.wrap_file(workers.archive_file()) as archive:
            await _receive(request, archive, limit=services.settings.max_upload_bytes)
            await archive.flush()
            result = await workers.register(principal, case_id=case_id,
                                            archive=archive.wrapped.name,
                                            metadata=batch_metadata, batch_id=batch_id)
    else:
        batches = services.batches
        # a nameless file (O_TMPFILE): nothing to clean up after a crash mid-request
        async with anyio.wrap_file(batches.archive_file()) as archive:
            await _receive(request, archive, limit=services.settings.max_upload_bytes)
            await archive.seek(0)
            result = await anyio.to_thread.run_sync(lambda: batches.register(
                principal, case_id=case_id, archive=archive.wrapped, describe=describe,
                batch_id=batch_id))
    if not result.replayed:
        metrics.ITEMS_STORED.inc(len(result.items))
    # one validation call for the whole answer: the items are read from their attributes
    body = BatchOut.model_validate({
        "batch_id": result.batch.id, "case_id": result.batch.case_id,
        "created_at": result.batch.created_at, "replayed": result.replayed,
        "count": len(result.items), "items": result.items})
    # serialised by pydantic's compiled serializer: json.dumps of thousands of dicts took a
    # tenth of a large batch's time
    return Response(body.model_dump_json(), media_type="application/json",
                    status_code=200 if result.replayed else 201)


async def _receive(request: Request, archive: AsyncFile[bytes], *, limit: int) -> None:
    """Stream the request body into ``archive``, refusing more than ``limit`` bytes."""
    declared = request.headers.get("content-length", "")
    if declared.isascii() and declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge("the batch is larger than the maximum upload size")
    received = 0
    buffer = bytearray()
    try:
        async for chunk in request.stream():
            received += len(chunk)
            if received > limit:
                raise PayloadTooLarge("the batch is larger than the maximum upload size")
            buffer += chunk
            if len(buffer) >= _BUFFER:
                await archive.write(bytes(buffer))
                buffer.clear()
    except ClientDisconnect as exc:
        raise InvalidInput("the client disconnected before the batch was complete; "
                           "nothing was registered: send it again") from exc
    await archive.write(bytes(buffer))
