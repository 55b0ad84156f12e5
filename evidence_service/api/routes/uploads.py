"""tus 1.0 resumable uploads (core + creation + termination) at ``/uploads``.

Implemented here rather than with a tus server package because the bytes must be hashed
(SHA-256 + SM3) in the same pass as they are written, and the upload's offset must live in our
database beside the item it registers: see ``services/ingest.py``.
"""

from __future__ import annotations

from collections import deque
from functools import partial
from typing import Annotated

import anyio
from anyio.streams.memory import MemoryObjectReceiveStream
from fastapi import APIRouter, Header, HTTPException, Request, Response, status
from fastapi.responses import JSONResponse
from starlette.requests import ClientDisconnect

from evidence_service.api import metrics
from evidence_service.api.deps import CurrentPrincipal, ServicesDep
from evidence_service.api.guards import GuardedRoute
from evidence_service.api.schemas import ItemOut, UploadOut
from evidence_service.api.tus import TUS_EXTENSIONS, TUS_VERSION, new_upload_from_headers
from evidence_service.domain.errors import EvidenceError, InvalidInput
from evidence_service.domain.models import Upload
from evidence_service.services.ingest import IngestResult, UploadWriter

router = APIRouter(prefix="/uploads", tags=["uploads"], route_class=GuardedRoute)
_BUFFER = 1 << 20
_QUEUE = 4
_OFFSET_CT = "application/offset+octet-stream"


def _check_version(tus_resumable: str | None) -> None:
    """tus 1.0: an unsupported or missing version is answered 412 with ``Tus-Version``."""
    if tus_resumable != TUS_VERSION:
        raise HTTPException(status.HTTP_412_PRECONDITION_FAILED,
                            detail=f"Tus-Resumable must be {TUS_VERSION}",
                            headers={"Tus-Resumable": TUS_VERSION, "Tus-Version": TUS_VERSION})


def _tus_headers(upload: Upload, result_item: str | None = None) -> dict[str, str]:
    headers = {
        "Tus-Resumable": TUS_VERSION,
        "Upload-Offset": str(upload.offset),
        "Upload-Length": str(upload.length),
        "Upload-Expires": upload.expires_at.strftime("%a, %d %b %Y %H:%M:%S GMT"),
        "Cache-Control": "no-store",
        "Evidence-Item-Id": upload.item_id,
        "Evidence-Upload-Status": upload.status.value,
    }
    if result_item:
        headers["Evidence-Sha256"] = result_item
    return headers


@router.options("", status_code=status.HTTP_204_NO_CONTENT)
def tus_options(services: ServicesDep) -> Response:
    """tus capability discovery."""
    return Response(status_code=204, headers={
        "Tus-Resumable": TUS_VERSION, "Tus-Version": TUS_VERSION,
        "Tus-Extension": TUS_EXTENSIONS, "Tus-Max-Size": str(services.ingest.max_upload_bytes)})


@router.post("", status_code=status.HTTP_201_CREATED)
def create_upload(
    principal: CurrentPrincipal, services: ServicesDep,
    tus_resumable: Annotated[str | None, Header()] = None,
    upload_length: Annotated[str | None, Header()] = None,
    upload_metadata: Annotated[str | None, Header()] = None,
) -> JSONResponse:
    """tus creation: declare a file and its metadata; returns its upload URL."""
    _check_version(tus_resumable)
    new = new_upload_from_headers(length_header=upload_length, metadata=upload_metadata)
    result = services.ingest.create_upload(principal, new)
    if result.upload.status.value == "completed":
        metrics.ITEMS_STORED.inc()
    headers = _tus_headers(result.upload, result.item.sha256 if result.item else None)
    headers["Location"] = f"/uploads/{result.upload.id}"
    return JSONResponse(_body(result), status_code=201, headers=headers)


@router.head("/{upload_id}")
def upload_offset(upload_id: str, principal: CurrentPrincipal, services: ServicesDep,
                  tus_resumable: Annotated[str | None, Header()] = None) -> Response:
    """tus core: the offset to resume from."""
    _check_version(tus_resumable)
    upload = services.ingest.get_upload(principal, upload_id)
    return Response(status_code=200, headers=_tus_headers(upload))


@router.get("/{upload_id}", response_model=UploadOut)
def upload_status(upload_id: str, principal: CurrentPrincipal,
                  services: ServicesDep) -> UploadOut:
    """The upload's state as JSON (not part of tus)."""
    return UploadOut.model_validate(services.ingest.get_upload(principal, upload_id))


@router.patch("/{upload_id}", status_code=status.HTTP_204_NO_CONTENT)
async def append_bytes(
    upload_id: str, request: Request, principal: CurrentPrincipal, services: ServicesDep,
    tus_resumable: Annotated[str | None, Header()] = None,
    upload_offset: Annotated[str | None, Header()] = None,
    content_type: Annotated[str | None, Header()] = None,
    content_length: Annotated[str | None, Header()] = None,
) -> Response:
    """tus core: append bytes at ``Upload-Offset``; hashed and written as they arrive."""
    _check_version(tus_resumable)
    if (content_type or "").split(";")[0].strip().lower() != _OFFSET_CT:
        return JSONResponse({"error": {"code": "unsupported_media_type",
                                       "message": f"Content-Type must be {_OFFSET_CT}"}},
                            status_code=415, headers={"Tus-Resumable": TUS_VERSION})
    offset = _header_int(upload_offset, "Upload-Offset")
    length = _header_int(content_length, "Content-Length") if content_length else None
    writer: UploadWriter = await anyio.to_thread.run_sync(
        lambda: services.ingest.open_writer(principal, upload_id, offset=offset,
                                            content_length=length))
    buffers = _Buffers()
    try:
        await _pump(request, writer, buffers)
    except ClientDisconnect:
        pass  # keep what arrived; the client resumes from the committed offset
    finally:
        result: IngestResult = await anyio.to_thread.run_sync(writer.close)
        buffers.close()  # everything is hashed now: no buffer comes back after this
    if result.item is not None and result.item.sha256:
        metrics.ITEMS_STORED.inc()
    return Response(status_code=204, headers=_tus_headers(
        result.upload, result.item.sha256 if result.item else None))


@router.delete("/{upload_id}", status_code=status.HTTP_204_NO_CONTENT)
def terminate_upload(upload_id: str, principal: CurrentPrincipal, services: ServicesDep,
                     tus_resumable: Annotated[str | None, Header()] = None) -> Response:
    """tus termination: abandon an unfinished upload (completed evidence is never deleted)."""
    _check_version(tus_resumable)
    services.ingest.terminate(principal, upload_id)
    return Response(status_code=204, headers={"Tus-Resumable": TUS_VERSION})


class _Buffers:
    """The rotating receive buffers of one PATCH request (see :func:`_pump`).

    Buffers come back from the writer's hashing threads (deque appends and pops are atomic).
    Once closed, the pool lets go of them: a worker thread may hold on to the last call it
    ran, and with it a reference to this pool, long after the request.
    """

    def __init__(self) -> None:
        # in flight at most: the queue, one at the writer and those it is still hashing, the
        # one being filled; a buffer is allocated only when none is free
        self._free = deque(bytearray(_BUFFER) for _ in range(_QUEUE + 2))
        self._open = True

    def take(self) -> bytearray:
        return self._free.popleft() if self._free else bytearray(_BUFFER)

    def give_back(self, view: memoryview) -> None:
        """Return the buffer under ``view`` (written and hashed), and release ``view``: the
        calls that saw it may outlive the request, they must not keep the buffer alive."""
        buffer = view.obj
        view.release()
        if self._open and isinstance(buffer, bytearray):
            self._free.append(buffer)

    def close(self) -> None:
        self._open = False
        self._free.clear()


async def _pump(request: Request, writer: UploadWriter, buffers: _Buffers) -> None:
    """Receive on the event loop while a worker thread writes and hashes the previous buffers.

    A few preallocated buffers rotate between this loop, which fills them, and the writer,
    whose hashing threads hand each back once it is written and hashed: a few MiB at most,
    so memory stays flat however large the upload, and nothing is reallocated or
    page-faulted in per chunk. When the disk or the hashers fall behind, the queue fills and
    TCP back-pressure slows the client.
    """
    send, receive = anyio.create_memory_object_stream[tuple[bytearray, int]](
        max_buffer_size=_QUEUE)
    try:
        async with anyio.create_task_group() as tg:
            tg.start_soon(_write_all, receive, writer, buffers)
            async with send:
                buffer, filled = buffers.take(), 0
                async for chunk in request.stream():
                    view = memoryview(chunk)
                    while view:
                        take = min(len(view), _BUFFER - filled)
                        buffer[filled:filled + take] = view[:take]
                        filled, view = filled + take, view[take:]
                        if filled == _BUFFER:
                            await send.send((buffer, filled))
                            buffer, filled = buffers.take(), 0
                if filled:
                    await send.send((buffer, filled))
    except BaseExceptionGroup as group:  # surface the first real error, not the group
        raise _first_error(group) from None


async def _write_all(receive: MemoryObjectReceiveStream[tuple[bytearray, int]],
                     writer: UploadWriter, buffers: _Buffers) -> None:
    async with receive:
        async for buffer, filled in receive:
            data = memoryview(buffer)[:filled]
            await anyio.to_thread.run_sync(
                partial(writer.write, data, release=partial(buffers.give_back, data)))
            metrics.BYTES_INGESTED.inc(filled)


def _first_error(group: BaseExceptionGroup[BaseException]) -> BaseException:
    leaves: list[BaseException] = []
    stack: list[BaseException] = [group]
    while stack:
        exc = stack.pop()
        if isinstance(exc, BaseExceptionGroup):
            stack.extend(reversed(exc.exceptions))
        else:
            leaves.append(exc)
    for exc in leaves:
        if isinstance(exc, EvidenceError):
            return exc
    return leaves[0]


def _header_int(value: str | None, name: str) -> int:
    if value is None or not (value.isascii() and value.isdigit()) or len(value) > 19:
        raise InvalidInput(f"{name} must be a non-negative integer")
    return int(value)


def _body(result: IngestResult) -> dict[str, object]:
    body: dict[str, object] = {"upload": UploadOut.model_validate(result.upload).model_dump(
        mode="json")}
    if result.item is not None:
        body["item"] = ItemOut.model_validate(result.item).model_dump(mode="json")
    return body
