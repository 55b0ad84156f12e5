"""Batch registration: many files in one request (a recorder docking station's offload).

At the end of a shift a docking station offloads hundreds or thousands of photos, clips and
documents. Through tus each file costs two HTTP requests and two database transactions; a
batch sends them as one uncompressed tar archive (POSIX ustar/pax) and registers all of them
in one transaction with one evidence-log append. Long recordings still belong in tus, which
resumes; a batch is resent whole, and its id makes the resend idempotent.

``BatchIngestService.register``:

1. reads the archive member by member. Only regular files are accepted (directories are
   skipped); a member's name is recorded (its last component) and never used as a path;
2. hashes each member (SHA-256 + SM3) as it is read; a declared ``sha256`` must match;
3. stores each under its content address: small members are grouped into one
   ``ObjectStore.put_many`` (one sync per group), large ones are spooled and stored alone;
4. in one transaction writes the batch, the items (``stored``), their
   ``evidence.registered`` log entries (one log-head lock for all) and analysis jobs for video.

Nothing is registered unless every member passes. Objects already stored for a refused batch
stay where they are: they are content-addressed, and a corrected resend finds them.
"""

from __future__ import annotations

import logging
import posixpath
import tarfile
import tempfile
import uuid
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import IO

from evidence_service.domain.canonical import registration_entry
from evidence_service.domain.errors import (
    Conflict,
    DigestMismatch,
    InvalidInput,
    NotFound,
    PayloadTooLarge,
)
from evidence_service.domain.hashing import DualHasher, hash_bytes
from evidence_service.domain.merkle_log import leaf_hash
from evidence_service.domain.models import (
    AnalysisOptions,
    Batch,
    EvidenceItem,
    ItemFlag,
    ItemStatus,
    NewUpload,
    Principal,
)
from evidence_service.domain.rules import content_key, is_canonical_uuid
from evidence_service.ports import Clock, NewLogLeaf, ObjectStore, Repository, UnitOfWork
from evidence_service.services.analysis import enqueue, is_video
from evidence_service.services.cases import require
from evidence_service.services.ingest import UPLOAD_ROLES
from evidence_service.services.spool import SpoolAppender

_logger = logging.getLogger(__name__)
#: pax header prefix of per-file metadata: ``EVIDENCE.kind``, ``EVIDENCE.sha256``, …
PAX_PREFIX = "EVIDENCE."
_INLINE_BYTES = 4 << 20  # members up to this size are read into memory and grouped
_GROUP_BYTES = 32 << 20  # a group is stored (one put_many) once it holds this much
_GROUP_FILES = 2_000
_READ = 1 << 20
_EXTENDED_TYPES = (tarfile.XHDTYPE, tarfile.XGLTYPE, tarfile.GNUTYPE_LONGNAME,
                   tarfile.GNUTYPE_LONGLINK)
_MAX_EXTENDED_HEADER = 64 << 10


@dataclass(frozen=True)
class BatchMember:
    """One file of an archive as the metadata parser sees it."""

    path: str  # the member's name in the archive
    filename: str  # its last component, recorded as the original file name
    size: int
    metadata: dict[str, bytes]  # the member's ``EVIDENCE.*`` pax headers, prefix removed


#: Builds the upload a member declares (kind, capture metadata, declared hash…) for a case.
Describe = Callable[[BatchMember], NewUpload]


@dataclass(frozen=True)
class BatchResult:
    batch: Batch
    items: list[EvidenceItem]
    replayed: bool  # True when the batch id had already been registered


@dataclass
class _Staged:
    new: NewUpload
    sha256: str
    sm3: str
    size: int


@dataclass
class _Group:
    objects: dict[str, bytes] = field(default_factory=dict)
    size: int = 0


def _check_extended_headers(archive: IO[bytes]) -> None:
    """Refuse pax and GNU long-name headers over ``_MAX_EXTENDED_HEADER`` before ``tarfile``
    reads them: it holds each one whole in memory, so a hostile archive could make it
    allocate gigabytes. Walks the 512-byte headers only; leaves the file at its start."""
    start = archive.tell()
    try:
        while len(block := archive.read(tarfile.BLOCKSIZE)) == tarfile.BLOCKSIZE:
            if block == tarfile.NUL * tarfile.BLOCKSIZE:
                return
            size = _header_size(block[124:136])
            if size is None:
                return  # malformed: tarfile reports it itself
            if block[156:157] in _EXTENDED_TYPES and size > _MAX_EXTENDED_HEADER:
                raise InvalidInput(f"an extended (pax or long-name) header of {size} bytes; "
                                   f"at most {_MAX_EXTENDED_HEADER} are accepted")
            archive.seek(-(-size // tarfile.BLOCKSIZE) * tarfile.BLOCKSIZE, 1)
    finally:
        archive.seek(start)


def _header_size(field: bytes) -> int | None:
    """The size field of a tar header: octal text, or GNU base-256; None when malformed."""
    if field[:1] == b"\x80":
        return int.from_bytes(field[1:], "big")
    try:
        return int(field.split(b"\0", 1)[0].strip() or b"0", 8)
    except ValueError:
        return None


def _check_declared(member: BatchMember, new: NewUpload, sha256: str) -> None:
    if new.declared_sha256 and new.declared_sha256 != sha256:
        raise DigestMismatch(
            f"member {member.path[:80]!r} hashes to {sha256}, not the declared "
            f"{new.declared_sha256}; nothing in the batch was registered")


class BatchIngestService:
    """Registers the files of one tar archive as items of one case, all or nothing."""

    def __init__(self, *, uow: UnitOfWork, store: ObjectStore, clock: Clock, spool_dir: Path,
                 max_files: int, max_file_bytes: int, analyse_video: bool = False) -> None:
        self._uow = uow
        self._store = store
        self._clock = clock
        self._spool = spool_dir
        self._spool.mkdir(parents=True, exist_ok=True)
        self.max_files = max_files
        self._max_file_bytes = max_file_bytes
        self._analyse_video = analyse_video

    def archive_file(self) -> IO[bytes]:
        """A nameless read/write file in the spool directory for an archive being received
        (gone on close or on a crash)."""
        return tempfile.TemporaryFile(dir=self._spool)

    def _spool_path(self) -> Path:
        """A fresh file name for a large member on its way to the store."""
        return self._spool / f"batch-{uuid.uuid4()}.part"

    def register(self, principal: Principal, *, case_id: str, archive: IO[bytes],
                 describe: Describe, batch_id: str | None = None) -> BatchResult:
        """Register every file of the tar ``archive`` (an open file, read from where it is)
        in case ``case_id``.

        ``batch_id`` (a UUID chosen by the client) makes a resend return the first result.
        Raises PermissionDenied, NotFound (case), InvalidInput (not an uncompressed tar, a
        member that is not a regular file, a hostile or repeated name, bad metadata, no files),
        PayloadTooLarge (too many files), DigestMismatch (a declared hash), Conflict (a batch
        id in use elsewhere) and StorageUnavailable.
        """
        require(principal, UPLOAD_ROLES, "uploading evidence")
        if batch_id is not None and not is_canonical_uuid(batch_id):
            raise InvalidInput("Batch-Id must be a UUID in canonical form")
        if not is_canonical_uuid(case_id):
            raise NotFound("case not found")
        with self._uow(read_only=True) as repo:
            if repo.get_case(case_id, principal.department_id) is None:
                raise NotFound("case not found")
            earlier = self._earlier(repo, principal, batch_id)
        if earlier is not None:
            return earlier
        staged = self._store_members(archive, describe)
        return self._commit(principal, case_id, batch_id or str(uuid.uuid4()), staged)

    @staticmethod
    def _earlier(repo: Repository, principal: Principal,
                 batch_id: str | None) -> BatchResult | None:
        if batch_id is None:
            return None
        batch = repo.get_batch(batch_id)
        if batch is None:
            return None
        if batch.department_id != principal.department_id:
            raise Conflict("this Batch-Id is already in use; choose a new one")
        found = [repo.get_item(i, principal.department_id) for i in batch.item_ids]
        items = sorted((i for i in found if i is not None), key=lambda i: i.log_index or 0)
        return BatchResult(batch=batch, items=items, replayed=True)  # in archive (log) order

    # -- reading, hashing and storing ------------------------------------------------------
    def _store_members(self, archive: IO[bytes], describe: Describe) -> list[_Staged]:
        _check_extended_headers(archive)
        staged: list[_Staged] = []
        seen: set[str] = set()
        group = _Group()
        # one group is stored in the background while the next is read and hashed
        with ThreadPoolExecutor(1, thread_name_prefix="batch-store") as storer:
            pending: Future[set[str]] | None = None
            try:
                with tarfile.open(fileobj=archive, mode="r:") as tar:
                    for info in tar:
                        member = self._member(info, seen)
                        if member is None:
                            continue
                        if len(staged) >= self.max_files:
                            raise PayloadTooLarge(
                                f"a batch holds at most {self.max_files} files")
                        new = describe(member)
                        source = tar.extractfile(info)
                        if source is None:  # pragma: no cover - regular files have data
                            raise InvalidInput(f"member {member.path!r} has no data")
                        with source:
                            staged.append(self._stage(member, new, source, group))
                        if group.size >= _GROUP_BYTES or len(group.objects) >= _GROUP_FILES:
                            pending = self._flush(storer, pending, group)
                            group = _Group()
            except (tarfile.TarError, EOFError) as exc:
                raise InvalidInput("the batch is not a complete, uncompressed tar archive: "
                                   f"{exc}") from exc
            finally:
                if pending is not None:
                    pending.result()  # StorageUnavailable surfaces here
            self._flush(storer, None, group).result()
        if not staged:
            raise InvalidInput("the batch archive holds no files")
        return staged

    def _member(self, info: tarfile.TarInfo, seen: set[str]) -> BatchMember | None:
        if info.isdir():
            return None
        path = info.name
        shown = path[:80].encode("utf-8", errors="backslashreplace").decode()
        if not info.isreg():
            raise InvalidInput(f"member {shown!r} is not a regular file (links, devices and "
                               "pipes are refused)")
        parts = path.split("/")
        if path.startswith("/") or ".." in parts:
            raise InvalidInput(f"member {shown!r} has an absolute or escaping path")
        normal = posixpath.normpath(path)
        if normal in seen:
            raise InvalidInput(f"member {shown!r} appears twice in the archive")
        seen.add(normal)
        if info.size > self._max_file_bytes:
            raise PayloadTooLarge(f"member {shown!r} is larger than the maximum upload size")
        metadata = {key[len(PAX_PREFIX):]: value.encode("utf-8", errors="surrogateescape")
                    for key, value in info.pax_headers.items() if key.startswith(PAX_PREFIX)}
        return BatchMember(path=path, filename=parts[-1], size=info.size, metadata=metadata)

    def _stage(self, member: BatchMember, new: NewUpload, source: IO[bytes],
               group: _Group) -> _Staged:
        if member.size > _INLINE_BYTES:
            return self._stage_large(member, new, source)
        data = source.read()
        if len(data) != member.size:
            raise InvalidInput(f"member {member.path[:80]!r} is truncated")
        sha256, sm3 = hash_bytes(data)
        _check_declared(member, new, sha256)
        key = content_key(sha256)
        if key not in group.objects:
            group.objects[key] = data
            group.size += len(data)
        return _Staged(new=new, sha256=sha256, sm3=sm3, size=member.size)

    def _stage_large(self, member: BatchMember, new: NewUpload, source: IO[bytes]) -> _Staged:
        """Spool a large member past the page cache (as tus uploads are), hash it on the way
        and store it alone."""
        spool = self._spool_path()
        try:
            hasher = DualHasher()
            with spool.open("xb", buffering=0) as out:
                appender = SpoolAppender(out, 0)
                try:
                    while chunk := source.read(_READ):
                        appender.append(chunk)
                        hasher.update(chunk)
                    appender.flush()
                finally:
                    appender.close()
            if hasher.length != member.size:
                raise InvalidInput(f"member {member.path[:80]!r} is truncated")
            sha256 = hasher.sha256().value
            _check_declared(member, new, sha256)
            self._store.put_file(content_key(sha256), spool, size=member.size)
        finally:
            spool.unlink(missing_ok=True)
        return _Staged(new=new, sha256=sha256, sm3=hasher.sm3().value, size=member.size)

    def _flush(self, storer: ThreadPoolExecutor, pending: Future[set[str]] | None,
               group: _Group) -> Future[set[str]]:
        """Wait for the previous group's store, then start storing ``group``."""
        if pending is not None:
            pending.result()
        return storer.submit(self._store.put_many, list(group.objects.items()))

    # -- registering -----------------------------------------------------------------------
    def _commit(self, principal: Principal, case_id: str, batch_id: str,
                staged: list[_Staged]) -> BatchResult:
        now = self._clock.now()
        with self._uow() as repo:
            case = repo.get_case(case_id, principal.department_id)
            if case is None:
                raise NotFound("case not found")
            earlier = self._earlier(repo, principal, batch_id)
            if earlier is not None:  # the same batch finished meanwhile, from another request
                return earlier
            present = repo.sha256s_present({s.sha256 for s in staged}, principal.department_id)
            ids = [str(uuid.uuid4()) for _ in staged]
            first = repo.append_log_leaves([
                self._leaf(principal, case_id, item_id, s, now)
                for item_id, s in zip(ids, staged, strict=True)])
            items = [self._item(principal, case_id, item_id, s, present, now, first + n)
                     for n, (item_id, s) in enumerate(zip(ids, staged, strict=True))]
            repo.add_items(items)
            batch = Batch(id=batch_id, department_id=principal.department_id, case_id=case_id,
                          created_by=principal.id, created_at=now,
                          item_ids=tuple(item.id for item in items))
            repo.add_batch(batch)
            if self._analyse_video:
                options = case.analysis_options or AnalysisOptions()
                for item in items:
                    if is_video(item) and item.size:
                        enqueue(repo, item=item, options=options, requested_by=principal.id,
                                at=now)
        _logger.info("batch registered batch=%s case=%s items=%d log=%d..%d", batch_id,
                     case_id, len(items), first, first + len(items))
        return BatchResult(batch=batch, items=items, replayed=False)

    @staticmethod
    def _item(principal: Principal, case_id: str, item_id: str, staged: _Staged,
              present: set[str], now: datetime, log_index: int) -> EvidenceItem:
        flags: set[ItemFlag] = set()
        if staged.size == 0:
            flags.add(ItemFlag.EMPTY_FILE)
        if staged.sha256 in present:
            flags.add(ItemFlag.DUPLICATE_CONTENT)
        present.add(staged.sha256)  # a second copy within the batch is a duplicate too
        new = staged.new
        # every value is already validated (a NewUpload, our own hashes, ids and clock): build
        # the model without validating it again, thousands of times per batch
        return EvidenceItem.model_construct(
            id=item_id, case_id=case_id, department_id=principal.department_id,
            kind=new.kind, original_filename=new.filename, media_type=new.media_type,
            declared_size=staged.size, capture=new.capture, tags=new.tags,
            classification=new.classification, labels=new.labels, created_by=principal.id,
            created_at=now, status=ItemStatus.STORED, size=staged.size, sha256=staged.sha256,
            sm3=staged.sm3, storage_key=content_key(staged.sha256), stored_at=now,
            flags=frozenset(flags), log_index=log_index, origin_item_id=None)

    @staticmethod
    def _leaf(principal: Principal, case_id: str, item_id: str, staged: _Staged,
              now: datetime) -> NewLogLeaf:
        entry = registration_entry(sha256=staged.sha256, sm3=staged.sm3, size=staged.size,
                                   item_id=item_id, case_id=case_id,
                                   department_id=principal.department_id, at=now)
        return NewLogLeaf(entry=entry, leaf_hash=leaf_hash(entry), kind="evidence.registered",
                          item_id=item_id, at=now, sha256=staged.sha256, sm3=staged.sm3)


__all__ = ["PAX_PREFIX", "BatchIngestService", "BatchMember", "BatchResult", "Describe"]
