"""S3ObjectStore against a real S3 endpoint: a throwaway moto_server, or ``TEST_S3_URL``.

``TEST_S3_URL`` has the form ``http://ACCESS:SECRET@host:port`` (``https://`` for TLS).
"""

from __future__ import annotations

import hashlib
import random
import socket
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from minio.commonconfig import COMPLIANCE, ENABLED
from minio.error import S3Error
from minio.objectlockconfig import DAYS

from evidence_service.adapters.storage.s3 import S3ObjectStore
from evidence_service.domain.errors import NotFound, StorageUnavailable
from tests.support.moto import S3Endpoint

pytestmark = pytest.mark.minio

MIB = 1024 * 1024
PART_SIZE = 5 * MIB
DEAD_ENDPOINT_MAX_SECONDS = 10.0


StoreFactory = Callable[..., S3ObjectStore]


@pytest.fixture
def make_store(s3_endpoint: S3Endpoint) -> StoreFactory:
    """``make_store(retention_days=0, ...)``: a store on a fresh bucket, already ensured."""

    def make(*, ensure: bool = True, **overrides: object) -> S3ObjectStore:
        options: dict[str, object] = {
            "endpoint": s3_endpoint.endpoint,
            "access_key": s3_endpoint.access_key,
            "secret_key": s3_endpoint.secret_key,
            "secure": s3_endpoint.secure,
            "bucket": f"evidence-test-{uuid.uuid4().hex[:12]}",
            "part_size": PART_SIZE,
        }
        options.update(overrides)
        store = S3ObjectStore(**options)  # type: ignore[arg-type]
        if ensure:
            store.ensure_bucket()
        return store

    return make


@pytest.fixture
def write_file(tmp_path: Path) -> Callable[[str, int, int], tuple[Path, str]]:
    """``write_file(name, size, seed)``: a file of reproducible random bytes and its sha256."""

    def write(name: str, size: int, seed: int) -> tuple[Path, str]:
        data = random.Random(seed).randbytes(size)
        path = tmp_path / name
        path.write_bytes(data)
        return path, hashlib.sha256(data).hexdigest()

    return write


def _key(sha256: str) -> str:
    return f"sha256/{sha256[:2]}/{sha256[2:4]}/{sha256}"


def _stored_sha256(store: S3ObjectStore, key: str) -> str:
    digest = hashlib.sha256()
    with store.open(key) as handle:
        while chunk := handle.read(MIB):
            digest.update(chunk)
    return digest.hexdigest()


def _versions(store: S3ObjectStore, key: str) -> list[str | None]:
    objects = store._client.list_objects(store.bucket, prefix=key, include_version=True)
    return [obj.version_id for obj in objects if obj.object_name == key]


def test_multipart_round_trip_preserves_bytes(make_store: StoreFactory, write_file) -> None:
    store = make_store()
    size = 12 * MIB  # three parts of at most 5 MiB
    source, sha256 = write_file("video.bin", size, 1)
    key = _key(sha256)

    assert store.put_file(key, source, size=size) is True

    assert source.exists()  # the caller removes the spool after committing
    assert store.exists(key)
    assert store.size(key) == size
    assert _stored_sha256(store, key) == sha256


def test_put_existing_key_returns_false_and_keeps_stored_object(
    make_store: StoreFactory, write_file
) -> None:
    store = make_store()
    first, sha256 = write_file("first.bin", 1000, 2)
    key = _key(sha256)
    assert store.put_file(key, first, size=1000) is True
    versions = _versions(store, key)
    second, _ = write_file("second.bin", 2000, 3)

    assert store.put_file(key, second, size=2000) is False

    assert _versions(store, key) == versions  # nothing was uploaded
    assert store.size(key) == 1000
    assert _stored_sha256(store, key) == sha256
    assert second.exists()  # left for the caller, as the filesystem store does


def test_put_many_stores_new_objects_once_and_skips_stored_ones(make_store: StoreFactory) -> None:
    store = make_store()
    blobs = [f"photo {n}".encode() for n in range(20)]
    keys = [_key(hashlib.sha256(b).hexdigest()) for b in blobs]
    assert store.put_many(list(zip(keys[:5], blobs[:5], strict=True))) == set(keys[:5])
    versions = _versions(store, keys[0])

    written = store.put_many([*zip(keys, blobs, strict=True), (keys[7], blobs[7])])

    assert written == set(keys[5:])
    assert _versions(store, keys[0]) == versions  # already stored: not uploaded again
    assert all(_stored_sha256(store, k) == k.rsplit("/", 1)[-1] for k in keys)
    with store.open(keys[3], start=2) as fh:  # a player's range
        assert fh.read() == blobs[3][2:]


def test_a_restart_on_a_locked_bucket_that_holds_objects_keeps_working(
        make_store: StoreFactory, write_file) -> None:
    """ensure_bucket runs at every start: on a non-empty locked bucket it must not fail."""
    store = make_store(retention_days=1)
    source, sha256 = write_file("kept.bin", 100, 6)
    store.put_file(_key(sha256), source, size=100)

    again = make_store(retention_days=1, ensure=False, bucket=store.bucket)
    again.ensure_bucket()  # moto refuses to set object-lock rules on a non-empty bucket

    assert again.exists(_key(sha256))
    lock = again._client.get_object_lock_config(again.bucket)
    assert (lock.mode, lock.duration) == (COMPLIANCE, 1)


def test_incomplete_multipart_uploads_expire(make_store: StoreFactory) -> None:
    store = make_store()
    rules = store._client.get_bucket_lifecycle(store.bucket).rules
    abort = [r for r in rules if r.abort_incomplete_multipart_upload is not None]
    assert len(abort) == 1 and abort[0].status == "Enabled"
    assert abort[0].abort_incomplete_multipart_upload.days_after_initiation == 1


def test_missing_key_is_not_found(make_store: StoreFactory) -> None:
    store = make_store()
    key = _key("0" * 64)

    assert store.exists(key) is False
    with pytest.raises(NotFound, match="not found"):
        store.size(key)
    with pytest.raises(NotFound, match="not found"), store.open(key):
        pass


def test_ensure_bucket_with_retention_enables_object_lock(
    make_store: StoreFactory, write_file
) -> None:
    store = make_store(retention_days=1)
    store.ensure_bucket()  # idempotent on an existing locked bucket
    client = store._client

    lock = client.get_object_lock_config(store.bucket)
    assert (lock.mode, lock.duration, lock.duration_unit) == (COMPLIANCE, 1, DAYS)
    assert client.get_bucket_versioning(store.bucket).status == ENABLED

    # Both paths must carry Content-MD5, which S3 requires under a default retention.
    small, small_sha256 = write_file("small.bin", 100, 4)
    assert store.put_file(_key(small_sha256), small, size=100) is True
    large, large_sha256 = write_file("large.bin", 6 * MIB, 5)
    assert store.put_file(_key(large_sha256), large, size=6 * MIB) is True
    assert _stored_sha256(store, _key(large_sha256)) == large_sha256

    key = _key(small_sha256)
    (version_id,) = _versions(store, key)
    stat = client.stat_object(store.bucket, key, version_id=version_id)
    assert stat.metadata["x-amz-object-lock-mode"] == COMPLIANCE
    with pytest.raises(S3Error, match="AccessDenied"):
        client.remove_object(store.bucket, key, version_id=version_id)
    assert _stored_sha256(store, key) == small_sha256
    # moto 5.2 applies the default retention to PutObject only, not to multipart uploads.


def test_ensure_bucket_without_retention_enables_versioning_only(
    make_store: StoreFactory,
) -> None:
    store = make_store(retention_days=0)
    client = store._client

    assert client.get_bucket_versioning(store.bucket).status == ENABLED
    with pytest.raises(S3Error, match="ObjectLockConfigurationNotFound"):
        client.get_object_lock_config(store.bucket)


def test_check_passes_for_existing_bucket(make_store: StoreFactory) -> None:
    make_store().check()


def test_check_fails_for_missing_bucket(make_store: StoreFactory) -> None:
    store = make_store(ensure=False)

    with pytest.raises(StorageUnavailable, match="does not exist"):
        store.check()


@pytest.fixture
def dead_store(make_store: StoreFactory) -> Iterator[S3ObjectStore]:
    """A store whose endpoint is a bound port nobody listens on (connections are refused)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        yield make_store(ensure=False, endpoint=f"127.0.0.1:{port}", secure=False)


def _read(store: S3ObjectStore, key: str) -> None:
    with store.open(key) as handle:
        handle.read()


@pytest.mark.parametrize(
    "operation",
    [
        lambda store, key: store.check(),
        lambda store, key: store.ensure_bucket(),
        lambda store, key: store.exists(key),
        lambda store, key: store.size(key),
        _read,
    ],
    ids=["check", "ensure_bucket", "exists", "size", "open"],
)
def test_dead_endpoint_fails_fast(dead_store: S3ObjectStore, operation) -> None:
    started = time.monotonic()

    with pytest.raises(StorageUnavailable, match="failed"):
        operation(dead_store, _key("1" * 64))

    assert time.monotonic() - started < DEAD_ENDPOINT_MAX_SECONDS


def test_put_to_dead_endpoint_fails_fast_and_keeps_source(
    dead_store: S3ObjectStore, write_file
) -> None:
    source, sha256 = write_file("kept.bin", 100, 6)
    started = time.monotonic()

    with pytest.raises(StorageUnavailable, match="failed"):
        dead_store.put_file(_key(sha256), source, size=100)

    assert time.monotonic() - started < DEAD_ENDPOINT_MAX_SECONDS
    assert source.exists()
