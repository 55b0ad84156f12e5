"""IngestService on SQLite + the filesystem store: locking, crash recovery, store outages."""

from __future__ import annotations

import errno
import hashlib
import os
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from evidence_service.adapters.db import SqlUnitOfWork, make_engine, make_session_factory, upgrade
from evidence_service.adapters.storage import FilesystemObjectStore
from evidence_service.domain.errors import StorageUnavailable, UploadBusy
from evidence_service.domain.models import (
    DepartmentKind,
    EvidenceKind,
    NewUpload,
    Principal,
    Role,
    UploadStatus,
)
from evidence_service.services.cases import CaseService
from evidence_service.services.clock import SystemClock
from evidence_service.services.identity import IdentityService
from evidence_service.services.ingest import IngestService


class _FlakyStore(FilesystemObjectStore):
    """A real filesystem store whose writes fail while ``down`` is set (an outage)."""

    down = False

    def put_file(self, key: str, source: Path, *, size: int) -> bool:
        if self.down:
            raise StorageUnavailable("object store unreachable")
        return super().put_file(key, source, size=size)


@pytest.fixture
def world(tmp_path: Path) -> Iterator[tuple[IngestService, Principal, str, _FlakyStore]]:
    engine = make_engine(f"sqlite:///{tmp_path / 'db.sqlite'}")
    upgrade(engine)
    uow = SqlUnitOfWork(make_session_factory(engine))
    clock = SystemClock()
    identity = IdentityService(uow=uow, clock=clock, jwt_secret="s" * 32,
                               jwt_ttl=timedelta(hours=1))
    dept = identity.create_department(None, code="ENF", name="执法",
                                      kind=DepartmentKind.ENFORCEMENT)
    user = identity.create_user(None, department_id=dept.id, username="o",
                                password="long enough password", roles=[Role.OFFICER])
    officer = Principal(kind="user", id=user.id, department_id=dept.id,
                        roles=frozenset({Role.OFFICER}), name="o")
    case = CaseService(uow=uow, clock=clock).create_case(officer, case_number="C1", title="t")
    store = _FlakyStore(tmp_path / "objects")
    ingest = IngestService(uow=uow, store=store, spool_dir=tmp_path / "spool", clock=clock,
                           max_upload_bytes=1 << 30, expiry=timedelta(hours=1),
                           checkpoint_bytes=64 * 1024)
    yield ingest, officer, case.id, store
    engine.dispose()


def _new(case_id: str, data: bytes) -> NewUpload:
    return NewUpload(case_id=case_id, filename="a.mp4", media_type="video/mp4",
                     kind=EvidenceKind.AUDIO_VISUAL, length=len(data),
                     declared_sha256=hashlib.sha256(data).hexdigest())


def test_second_writer_is_refused_while_first_holds_the_upload(world) -> None:  # type: ignore[no-untyped-def]
    ingest, officer, case_id, _ = world
    upload = ingest.create_upload(officer, _new(case_id, b"x" * 100)).upload
    first = ingest.open_writer(officer, upload.id, offset=0)
    with pytest.raises(UploadBusy):
        ingest.open_writer(officer, upload.id, offset=0)
    first.write(b"x" * 100)
    assert first.close().upload.status is UploadStatus.COMPLETED


def test_crash_before_finalise_is_recovered_on_start(world) -> None:  # type: ignore[no-untyped-def]
    ingest, officer, case_id, _ = world
    data = os.urandom(300_000)
    upload = ingest.create_upload(officer, _new(case_id, data)).upload
    writer = ingest.open_writer(officer, upload.id, offset=0)
    writer.write(data)
    writer.checkpoint()  # every byte durable and committed ...
    writer._handle.close()  # ... then the process dies before finalising
    ingest._hashes.drop(upload.id)
    assert ingest.recover() == 1
    status = ingest.get_upload(officer, upload.id)
    assert status.status is UploadStatus.COMPLETED


def test_uncommitted_tail_is_dropped_on_resume(world) -> None:  # type: ignore[no-untyped-def]
    ingest, officer, case_id, _ = world
    data = os.urandom(200_000)
    upload = ingest.create_upload(officer, _new(case_id, data)).upload
    writer = ingest.open_writer(officer, upload.id, offset=0)
    writer.write(data[:70_000])
    writer.checkpoint()  # durable and committed
    writer.write(data[70_000:100_000])  # written but not committed (under 64 KiB more)
    committed = ingest.get_upload(officer, upload.id).offset
    writer._spool.flush()  # the uncommitted bytes reached the file, then more, then a crash
    writer._handle.seek(0, os.SEEK_END)
    writer._handle.write(b"garbage that was never committed")
    writer._spool.close()
    writer._handle.close()
    ingest._hashes.drop(upload.id)
    assert committed == 70_000
    with ingest.open_writer(officer, upload.id, offset=committed) as resumed:
        resumed.write(data[committed:])
    done = ingest.get_upload(officer, upload.id)
    assert done.status is UploadStatus.COMPLETED
    with ingest._uow() as repo:
        item = repo.get_item(done.item_id, officer.department_id)
    assert item is not None and item.sha256 == hashlib.sha256(data).hexdigest()


def test_store_outage_keeps_upload_and_completes_later(world) -> None:  # type: ignore[no-untyped-def]
    ingest, officer, case_id, store = world
    data = os.urandom(150_000)
    created = ingest.create_upload(officer, _new(case_id, data))
    store.down = True
    writer = ingest.open_writer(officer, created.upload.id, offset=0)
    writer.write(data)
    with pytest.raises(StorageUnavailable):
        writer.close()
    with ingest._uow() as repo:  # nothing half-registered: the item is still receiving
        item = repo.get_item(created.item.id, officer.department_id)
    assert item is not None and item.status.value == "receiving" and item.sha256 is None
    with pytest.raises(StorageUnavailable):  # HEAD retries finalising and still fails
        ingest.get_upload(officer, created.upload.id)
    store.down = False
    done = ingest.get_upload(officer, created.upload.id)
    assert done.status is UploadStatus.COMPLETED
    digest = hashlib.sha256(data).hexdigest()
    assert store.exists(f"sha256/{digest[:2]}/{digest[2:4]}/{digest}")


@pytest.mark.parametrize("failing", ["append", "flush"])
def test_failed_disk_write_discards_hash_state(world, failing: str) -> None:  # type: ignore[no-untyped-def]
    """A write that fails after SM3 consumed the bytes must not leave a stale hasher behind,
    whether the disk fails as bytes are appended or as they are flushed at a checkpoint."""
    ingest, officer, case_id, _ = world
    data = os.urandom(600_000)
    upload = ingest.create_upload(officer, _new(case_id, data)).upload
    writer = ingest.open_writer(officer, upload.id, offset=0)
    writer.write(data[:30_000])

    def broken(*_: object) -> None:
        raise OSError(errno.EIO, "Input/output error")

    setattr(writer._spool, failing, broken)  # the disk goes away under the writer
    with pytest.raises(StorageUnavailable):
        writer.write(data[30_000:])  # past checkpoint_bytes: flushed, then checkpointed
    writer.close()
    assert ingest._hashes.take(upload.id, writer.offset) is None
    offset = ingest.get_upload(officer, upload.id).offset
    assert offset == 0
    with ingest.open_writer(officer, upload.id, offset=offset) as resumed:
        resumed.write(data[offset:])
    done = ingest.get_upload(officer, upload.id)
    assert done.status is UploadStatus.COMPLETED
    with ingest._uow() as repo:
        item = repo.get_item(done.item_id, officer.department_id)
    assert item is not None and item.sha256 == hashlib.sha256(data).hexdigest()


def test_a_spool_that_cannot_be_read_back_releases_the_upload(world, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """If the writer cannot be set up (the spool's last partial block unreadable), the request
    fails with 503 material and the upload's lock is let go: a retry is not told it is busy."""
    ingest, officer, case_id, _ = world
    data = os.urandom(100_000)
    upload = ingest.create_upload(officer, _new(case_id, data)).upload
    with ingest.open_writer(officer, upload.id, offset=0) as writer:
        writer.write(data[:70_001])  # past checkpoint_bytes, not on a block boundary
    offset = ingest.get_upload(officer, upload.id).offset
    assert offset == 70_001

    def unreadable(*_: object) -> int:
        raise OSError(errno.EIO, "Input/output error")

    with monkeypatch.context() as patch:
        patch.setattr(os, "preadv", unreadable)
        with pytest.raises(StorageUnavailable) as failed:  # kept: its frames stay alive
            ingest.open_writer(officer, upload.id, offset=offset)
    with ingest.open_writer(officer, upload.id, offset=offset) as resumed:  # not UploadBusy
        resumed.write(data[offset:])
    assert "could not read the upload spool" in str(failed.value)
    done = ingest.get_upload(officer, upload.id)
    with ingest._uow() as repo:
        item = repo.get_item(done.item_id, officer.department_id)
    assert item is not None and item.sha256 == hashlib.sha256(data).hexdigest()


def test_a_finishing_request_commits_its_offset_only_with_the_registration(world) -> None:  # type: ignore[no-untyped-def]
    """The last request of an upload is not checkpointed first (one transaction less): when
    finalising fails, the committed offset stays at the last checkpoint and the client
    resends the tail, which then registers the right bytes."""
    ingest, officer, case_id, store = world
    data = os.urandom(100_000)
    upload = ingest.create_upload(officer, _new(case_id, data)).upload
    with ingest.open_writer(officer, upload.id, offset=0) as writer:
        writer.write(data[:70_000])  # past checkpoint_bytes (64 KiB): committed at 70 000
    store.down = True
    writer = ingest.open_writer(officer, upload.id, offset=70_000)
    writer.write(data[70_000:])
    with pytest.raises(StorageUnavailable):
        writer.close()
    assert ingest.get_upload(officer, upload.id).offset == 70_000
    store.down = False
    with ingest.open_writer(officer, upload.id, offset=70_000) as resumed:
        resumed.write(data[70_000:])
    done = ingest.get_upload(officer, upload.id)
    assert (done.status, done.offset) == (UploadStatus.COMPLETED, 100_000)
    with ingest._uow() as repo:
        item = repo.get_item(done.item_id, officer.department_id)
    assert item is not None and item.sha256 == hashlib.sha256(data).hexdigest()


def test_rotating_buffers_come_back_only_once_written_and_hashed(world) -> None:  # type: ignore[no-untyped-def]
    """As the PATCH route uses the writer: each buffer is handed back through ``release``,
    which releases its view (the route's pool does) and refills it at once. The stored item
    must still be the uploaded bytes, for small pieces (hashed on the writer's thread, so
    released before ``write`` returns) and large ones (hashed on the lanes, behind it)."""
    ingest, officer, case_id, _ = world
    data = os.urandom(3 * (1 << 20) + 4_321)
    upload = ingest.create_upload(officer, _new(case_id, data)).upload
    released: list[int] = []

    def give_back(view: memoryview, buffer: bytearray) -> None:
        view.release()
        buffer[:] = bytes(len(buffer))  # reused at once: must not reach the file or hashes
        released.append(len(buffer))

    pieces, offset = [], 0
    for size in (1_000, 700_000, 1 << 20, 10, 1 << 20, 2_000_000):
        pieces.append(data[offset:offset + size])
        offset += size
    with ingest.open_writer(officer, upload.id, offset=0) as writer:
        for piece in pieces:
            buffer = bytearray(piece)
            view = memoryview(buffer)
            writer.write(view, release=lambda v=view, b=buffer: give_back(v, b))
    assert sorted(released) == sorted(len(p) for p in pieces if p)
    done = ingest.get_upload(officer, upload.id)
    assert (done.status, done.offset) == (UploadStatus.COMPLETED, len(data))
    with ingest._uow() as repo:
        item = repo.get_item(done.item_id, officer.department_id)
    assert item is not None and item.sha256 == hashlib.sha256(data).hexdigest()
