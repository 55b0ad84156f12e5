"""Resumable ingest: bytes go to a spool file and through SHA-256 + SM3 in one pass.

Life of an upload (tus 1.0 semantics, see ``api/routes/uploads.py``):

1. ``create_upload`` validates the metadata, opens an item in status ``receiving`` and an
   upload row at offset 0.
2. ``open_writer`` locks the upload (``flock`` on its spool file, so a second writer in any
   process gets ``UploadBusy``), checks the client's offset against the stored one and resumes
   the hash state. After a restart the hash state is rebuilt by re-reading the spool up to the
   committed offset; bytes past that offset (written but never committed) are dropped.
3. ``UploadWriter.write`` appends and hashes; every ``checkpoint_bytes`` it fsyncs the spool,
   then commits the new offset, so a crash loses at most one checkpoint of progress.
4. When the offset reaches the declared length the upload is finalised: the declared SHA-256
   is checked, the spool is stored under its content address, and in one transaction the item
   becomes ``stored`` with its hashes, its ``evidence.registered`` entry is appended to the
   evidence log, and the upload becomes ``completed``.
"""

from __future__ import annotations

import fcntl
import logging
import os
import uuid
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from threading import Lock
from typing import BinaryIO

from evidence_service.domain.canonical import registration_entry
from evidence_service.domain.errors import (
    Conflict,
    DigestMismatch,
    NotFound,
    PayloadTooLarge,
    StorageUnavailable,
    UploadBusy,
    UploadOffsetMismatch,
)
from evidence_service.domain.hashing import DualHasher
from evidence_service.domain.merkle_log import leaf_hash
from evidence_service.domain.models import (
    AnalysisOptions,
    EvidenceItem,
    ItemFlag,
    ItemStatus,
    NewUpload,
    Principal,
    Role,
    Upload,
    UploadStatus,
)
from evidence_service.domain.rules import (
    content_key,
    is_canonical_uuid,
    validate_declared_length,
)
from evidence_service.ports import Clock, ObjectStore, UnitOfWork
from evidence_service.services.analysis import enqueue, is_video
from evidence_service.services.cases import READ_ROLES, WRITE_ROLES, require
from evidence_service.services.spool import SpoolAppender

_logger = logging.getLogger(__name__)
UPLOAD_ROLES = (*WRITE_ROLES, Role.DEVICE)
_checkpoints = ThreadPoolExecutor(max_workers=4, thread_name_prefix="upload-fsync")
#: Buffers a writer lets the hashers lag behind its disk writes (each is a PATCH buffer).
_HASHING_AHEAD = 2


@dataclass(frozen=True)
class IngestResult:
    upload: Upload
    item: EvidenceItem | None


class _HashStates:
    """In-process cache of running hashers, keyed by upload id (rebuilt after restarts)."""

    def __init__(self) -> None:
        self._states: dict[str, tuple[int, DualHasher]] = {}
        self._lock = Lock()

    def take(self, upload_id: str, offset: int) -> DualHasher | None:
        with self._lock:
            state = self._states.pop(upload_id, None)
        return state[1] if state and state[0] == offset else None

    def put(self, upload_id: str, offset: int, hasher: DualHasher) -> None:
        with self._lock:
            self._states[upload_id] = (offset, hasher)

    def drop(self, upload_id: str) -> None:
        with self._lock:
            self._states.pop(upload_id, None)


class IngestService:
    """Creates uploads, receives their bytes and registers the finished items."""

    def __init__(self, *, uow: UnitOfWork, store: ObjectStore, spool_dir: Path, clock: Clock,
                 max_upload_bytes: int, expiry: timedelta,
                 checkpoint_bytes: int = 16 * 1024 * 1024, analyse_video: bool = False) -> None:
        self._uow = uow
        self._analyse_video = analyse_video
        self._store = store
        self._spool = spool_dir
        self._spool.mkdir(parents=True, exist_ok=True)
        self._clock = clock
        self.max_upload_bytes = max_upload_bytes
        self._expiry = expiry
        self._checkpoint = checkpoint_bytes
        self._hashes = _HashStates()

    def spool_path(self, upload_id: str) -> Path:
        return self._spool / f"{uuid.UUID(upload_id)}.part"

    # -- creation / status / termination ---------------------------------------------------
    def create_upload(self, principal: Principal, new: NewUpload) -> IngestResult:
        """Open an item in ``receiving`` and an upload for its bytes.

        Raises PermissionDenied, NotFound (case), InvalidInput, PayloadTooLarge, and the
        finalisation errors when the declared length is zero.
        """
        require(principal, UPLOAD_ROLES, "uploading evidence")
        validate_declared_length(new.length, max_length=self.max_upload_bytes)
        if not is_canonical_uuid(new.case_id):
            raise NotFound("case not found")
        now = self._clock.now()
        item = EvidenceItem(
            id=str(uuid.uuid4()), case_id=new.case_id, department_id=principal.department_id,
            kind=new.kind, original_filename=new.filename, media_type=new.media_type,
            declared_size=new.length, capture=new.capture, tags=new.tags,
            classification=new.classification, labels=new.labels, created_by=principal.id,
            created_at=now)
        upload = Upload(
            id=str(uuid.uuid4()), item_id=item.id, department_id=principal.department_id,
            created_by=principal.id, length=new.length, declared_sha256=new.declared_sha256,
            created_at=now, updated_at=now, expires_at=now + self._expiry)
        self.spool_path(upload.id).touch(exist_ok=False)
        try:
            with self._uow() as repo:
                if repo.get_case(new.case_id, principal.department_id) is None:
                    raise NotFound("case not found")
                repo.add_item(item)
                repo.add_upload(upload)
        except BaseException:  # not registered (or the database is away): leave no spool file
            self.spool_path(upload.id).unlink(missing_ok=True)
            raise
        _logger.info("upload created upload=%s item=%s length=%d", upload.id, item.id, new.length)
        if new.length == 0:
            return self._finalise(upload, DualHasher())
        return IngestResult(upload=upload, item=item)

    def get_upload(self, principal: Principal, upload_id: str) -> Upload:
        """The upload if it belongs to the caller's department; raises NotFound.

        A receiving upload whose bytes are all in is finalised here, so a client that lost
        the reply to its last PATCH sees the real outcome on its next HEAD. Raises
        PermissionDenied for roles that may neither upload nor read evidence (system admins).
        """
        require(principal, (*READ_ROLES, Role.DEVICE), "reading uploads")
        upload = self._load(principal, upload_id)
        if upload.status is UploadStatus.RECEIVING and upload.offset == upload.length:
            return self.open_writer(principal, upload_id, offset=upload.offset).close().upload
        return upload

    def terminate(self, principal: Principal, upload_id: str) -> None:
        """Abandon an unfinished upload; its item was never registered and is removed.

        Raises NotFound, Conflict (already completed: evidence is never deleted), UploadBusy.
        """
        require(principal, UPLOAD_ROLES, "terminating uploads")
        upload = self._load(principal, upload_id)
        if upload.status is not UploadStatus.RECEIVING:
            raise Conflict(f"upload is {upload.status.value} and cannot be terminated")
        with self._open_locked(upload.id):
            with self._uow() as repo:
                current = repo.get_upload(upload.id, for_update=True)
                if current is None or current.status is not UploadStatus.RECEIVING:
                    raise Conflict("upload is no longer receiving")
                repo.save_upload(current.model_copy(update={
                    "status": UploadStatus.TERMINATED, "updated_at": self._clock.now()}))
                repo.delete_item(current.item_id)
            self.spool_path(upload.id).unlink(missing_ok=True)
        self._hashes.drop(upload.id)
        _logger.info("upload terminated upload=%s", upload.id)

    # -- receiving bytes ------------------------------------------------------------------
    def open_writer(self, principal: Principal, upload_id: str, *, offset: int,
                    content_length: int | None = None) -> UploadWriter:
        """Lock the upload and prepare to append at ``offset``.

        Raises NotFound, Conflict (not receiving), UploadBusy, UploadOffsetMismatch,
        PayloadTooLarge (the declared chunk would pass the declared length).
        """
        require(principal, UPLOAD_ROLES, "uploading evidence")
        try:  # lock first, then read the upload once: no other writer can move it meanwhile
            handle = self._open_locked(self._checked_id(upload_id))
        except (Conflict, UploadBusy):  # no spool (finished, unknown) or busy: say which
            self._check_writable(self._load(principal, upload_id))
            raise
        try:
            with self._uow(read_only=True) as repo:
                fresh = repo.get_upload(upload_id)
            if fresh is None or fresh.department_id != principal.department_id:
                raise NotFound("upload not found")
            self._check_writable(fresh)
            if offset != fresh.offset:
                raise UploadOffsetMismatch(
                    f"Upload-Offset {offset} does not match the stored offset {fresh.offset}",
                    expected=fresh.offset)
            if content_length is not None and offset + content_length > fresh.length:
                raise PayloadTooLarge(
                    f"chunk of {content_length} bytes at offset {offset} passes the declared "
                    f"length {fresh.length}")
            hasher = self._resume_hasher(fresh, handle)
            writer = UploadWriter(self, fresh, handle, hasher)
        except BaseException:
            handle.close()
            raise
        return writer

    def _check_writable(self, upload: Upload) -> None:
        if upload.status is not UploadStatus.RECEIVING:
            raise Conflict(f"upload is {upload.status.value}")
        if upload.expires_at <= self._clock.now():
            raise Conflict("upload has expired")

    @staticmethod
    def _checked_id(upload_id: str) -> str:
        try:
            return str(uuid.UUID(upload_id))
        except ValueError as exc:
            raise NotFound("upload not found") from exc

    def _resume_hasher(self, upload: Upload, handle: BinaryIO) -> DualHasher:
        handle.truncate(upload.offset)  # drop bytes written after the last committed offset
        hasher = self._hashes.take(upload.id, upload.offset)
        if hasher is None:
            _logger.info("rebuilding hash state upload=%s offset=%d", upload.id, upload.offset)
            hasher = DualHasher()
            handle.seek(0)
            remaining = upload.offset
            while remaining:
                block = handle.read(min(remaining, 8 << 20))
                if not block:
                    raise Conflict("spool file is shorter than the committed offset")
                hasher.update(block)
                remaining -= len(block)
        handle.seek(upload.offset)
        return hasher

    def _load(self, principal: Principal, upload_id: str) -> Upload:
        try:
            uuid.UUID(upload_id)
        except ValueError as exc:
            raise NotFound("upload not found") from exc
        with self._uow(read_only=True) as repo:
            upload = repo.get_upload(upload_id)
        if upload is None or upload.department_id != principal.department_id:
            raise NotFound("upload not found")
        return upload

    def _open_locked(self, upload_id: str) -> BinaryIO:
        path = self.spool_path(upload_id)
        try:
            handle = open(path, "r+b", buffering=0)  # noqa: SIM115 - owned by the UploadWriter
        except FileNotFoundError as exc:
            raise Conflict("upload data is missing") from exc
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            handle.close()
            raise UploadBusy("another request is writing this upload") from exc
        return handle

    def _commit_offset(self, upload: Upload, new_offset: int) -> Upload:
        with self._uow() as repo:
            moved = repo.advance_upload_offset(upload.id, expected=upload.offset, new=new_offset,
                                               at=self._clock.now())
        if not moved:
            raise Conflict("upload changed while it was being written")
        return upload.model_copy(update={"offset": new_offset})

    def _finalise(self, upload: Upload, hasher: DualHasher) -> IngestResult:
        sha256, sm3 = hasher.sha256().value, hasher.sm3().value
        spool = self.spool_path(upload.id)
        if upload.declared_sha256 and upload.declared_sha256 != sha256:
            self._reject(upload, f"declared sha256 {upload.declared_sha256} but received {sha256}")
            raise DigestMismatch(
                f"received bytes hash to {sha256}, not the declared {upload.declared_sha256}; "
                "the item was not registered")
        key = content_key(sha256)
        newly_stored = self._store.put_file(key, spool, size=upload.length)
        now = self._clock.now()
        with self._uow() as repo:
            item = repo.get_item(upload.item_id, upload.department_id)
            if item is None:
                raise Conflict("the item of this upload no longer exists")
            flags = set(item.flags)
            if upload.length == 0:
                flags.add(ItemFlag.EMPTY_FILE)
            if repo.count_items_with_sha256(sha256, upload.department_id):
                flags.add(ItemFlag.DUPLICATE_CONTENT)
            entry = registration_entry(
                sha256=sha256, sm3=sm3, size=upload.length, item_id=item.id,
                case_id=item.case_id, department_id=item.department_id, at=now)
            log_index = repo.append_log_leaf(entry=entry, leaf_hash=leaf_hash(entry),
                                             kind="evidence.registered", item_id=item.id, at=now,
                                             sha256=sha256, sm3=sm3)
            item = item.model_copy(update={
                "status": ItemStatus.STORED, "size": upload.length, "sha256": sha256,
                "sm3": sm3, "storage_key": key, "stored_at": now, "flags": frozenset(flags),
                "log_index": log_index})
            upload = upload.model_copy(update={
                "status": UploadStatus.COMPLETED, "offset": upload.length, "updated_at": now})
            repo.save_item(item)
            repo.save_upload(upload)
            if self._analyse_video and is_video(item) and upload.length > 0:
                case = repo.get_case(item.case_id, item.department_id)
                options = (case.analysis_options if case else None) or AnalysisOptions()
                enqueue(repo, item=item, options=options, requested_by=item.created_by,
                        at=now)
        spool.unlink(missing_ok=True)
        self._hashes.drop(upload.id)
        _logger.info("item stored item=%s sha256=%s size=%d new_object=%s",
                     item.id, sha256, upload.length, newly_stored)
        return IngestResult(upload=upload, item=item)

    def _reject(self, upload: Upload, reason: str) -> None:
        with self._uow() as repo:
            repo.save_upload(upload.model_copy(update={
                "status": UploadStatus.REJECTED, "reason": reason,
                "updated_at": self._clock.now()}))
            repo.delete_item(upload.item_id)
        self.spool_path(upload.id).unlink(missing_ok=True)
        self._hashes.drop(upload.id)
        _logger.warning("upload rejected upload=%s reason=%s", upload.id, reason)

    def recover(self) -> int:
        """Finalise uploads whose bytes all arrived before a crash; returns how many."""
        done = 0
        with self._uow() as repo:
            pending = [u for u in repo.list_uploads(UploadStatus.RECEIVING.value)
                       if u.offset == u.length]
        for upload in pending:
            try:
                handle = self._open_locked(upload.id)
            except (UploadBusy, Conflict):
                continue
            try:
                hasher = self._resume_hasher(upload, handle)
                self._finalise(upload, hasher)
                done += 1
            except DigestMismatch:
                done += 1
            finally:
                handle.close()
        return done


class UploadWriter:
    """Appends one PATCH request's bytes to a locked upload. Use as a context manager."""

    def __init__(self, service: IngestService, upload: Upload, handle: BinaryIO,
                 hasher: DualHasher) -> None:
        self._svc = service
        self.upload = upload
        self._handle = handle
        self._hasher = hasher
        self.offset = upload.offset
        self.item: EvidenceItem | None = None
        self._closed = False
        self._pending: Future[Upload] | None = None
        self._poisoned = False
        self._last_checkpoint = upload.offset
        self._hashing: deque[Future[None]] = deque()
        self._spool = SpoolAppender(handle, upload.offset)

    def __enter__(self) -> UploadWriter:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def write(self, data: bytes | bytearray | memoryview, *,
              release: Callable[[], object] | None = None) -> None:
        """Append ``data`` and start hashing it; raises PayloadTooLarge (nothing of ``data``
        is kept) past the end.

        The hashers run on their own threads while this one writes to disk, and go on after
        this returns: ``data`` must not change until ``release`` is called (once ``data`` is
        on disk and both algorithms have it; on a hashing thread or this one). At most
        ``_HASHING_AHEAD`` buffers are hashed behind the writes; past that, this waits.
        Every ``checkpoint_bytes`` a background checkpoint starts: fdatasync, then commit
        the offset, so the disk flush overlaps too.
        """
        size = len(data)  # ``release`` may release ``data`` before this returns
        if self.offset + size > self.upload.length:
            raise PayloadTooLarge(
                f"data passes the declared length of {self.upload.length} bytes")
        try:
            hashed = self._hasher.feed(data)
            self._hashing.append(hashed)
            self._spool.append(data)
            if release is not None:  # free once written (now) and hashed (maybe later)
                hashed.add_done_callback(lambda _: release())
            while len(self._hashing) > _HASHING_AHEAD:
                self._hashing.popleft().result()
        except OSError as exc:
            self._poisoned = True  # hasher and file may disagree: never cache this state
            raise StorageUnavailable(f"could not write the upload spool: {exc.strerror}") from exc
        except BaseException:
            self._poisoned = True
            raise
        self.offset += size
        if self.offset - self._last_checkpoint >= self._svc._checkpoint:
            self._await_checkpoint()
            self._flush_spool()
            self._last_checkpoint = self.offset
            self._pending = _checkpoints.submit(self._make_durable, self.upload, self.offset)

    def _flush_spool(self) -> None:
        try:
            self._spool.flush()
        except OSError as exc:
            self._poisoned = True
            raise StorageUnavailable(f"could not write the upload spool: {exc.strerror}") from exc

    def _make_durable(self, upload: Upload, offset: int) -> Upload:
        os.fdatasync(self._handle.fileno())  # covers every byte written up to ``offset``
        return self._svc._commit_offset(upload, offset)

    def _await_checkpoint(self) -> None:
        if self._pending is not None:
            pending, self._pending = self._pending, None
            self.upload = pending.result()

    def _finish_hashing(self) -> None:
        """Wait for the buffers still being hashed; a hashing failure poisons the writer."""
        while self._hashing:
            failed = self._hashing.popleft().exception()
            if failed is not None:
                self._poisoned = True
                _logger.error("hashing failed upload=%s: %r", self.upload.id, failed)
        if not self._poisoned:
            self._hasher.drain()

    def checkpoint(self) -> None:
        """Make the bytes so far durable and commit the offset, now."""
        self._await_checkpoint()
        self._flush_spool()
        if self.offset != self.upload.offset:
            self.upload = self._make_durable(self.upload, self.offset)
        self._last_checkpoint = self.offset

    def close(self) -> IngestResult:
        """Commit progress, finalise if complete, and release the lock (idempotent)."""
        if self._closed:
            return IngestResult(upload=self.upload, item=self.item)
        try:
            self._finish_hashing()
            if self._poisoned:  # drop the unhashed tail; the next writer rebuilds from disk
                if self._pending is not None:  # the write error is what the caller sees
                    self._pending.exception()
                    self._pending = None
                self._svc._hashes.drop(self.upload.id)
                return IngestResult(upload=self.upload, item=self.item)
            if self.offset == self.upload.length:
                # complete: finalising commits the offset with the registration, in one
                # transaction, and the object store syncs the bytes, so no checkpoint first.
                # If finalising fails, the client resends at most the bytes since the last
                # checkpoint (under ``checkpoint_bytes``), as after a crash.
                self._await_checkpoint()
                self._flush_spool()
                self._svc._hashes.put(self.upload.id, self.offset, self._hasher)
                result = self._svc._finalise(self.upload, self._hasher)
                self.upload, self.item = result.upload, result.item
            else:
                self.checkpoint()
                self._svc._hashes.put(self.upload.id, self.offset, self._hasher)
        finally:
            self._closed = True
            if self._pending is not None:  # an error cut the checkpoint short: let it finish
                self._pending.exception()
            self._spool.close()
            self._handle.close()
        return IngestResult(upload=self.upload, item=self.item)

