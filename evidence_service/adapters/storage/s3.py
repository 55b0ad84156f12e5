"""S3 / MinIO object store: content-addressed, write-once, optionally under Object Lock.

Objects are streamed from the spool file with multipart uploads (``part_size`` bytes per part,
so memory stays bounded by a few parts, never the whole file). A key that already exists is
never written again. With ``retention_days > 0`` the bucket is created with Object Lock and a
default retention rule, so the server itself refuses to delete or overwrite a stored version
until the retention period ends (``COMPLIANCE``: not even the root account can shorten it).

Every SDK, HTTP or socket failure is raised as ``StorageUnavailable`` (chained with
``from exc``); a missing object is ``NotFound``. The HTTP client uses a short connect timeout
and few retries so that a dead endpoint fails in seconds instead of minutes.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import io
import logging
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, BinaryIO, cast

import urllib3
from minio import Minio
from minio.commonconfig import COMPLIANCE, ENABLED, GOVERNANCE, Filter
from minio.error import MinioException, S3Error
from minio.lifecycleconfig import AbortIncompleteMultipartUpload, LifecycleConfig, Rule
from minio.objectlockconfig import DAYS, ObjectLockConfig
from minio.versioningconfig import VersioningConfig

from evidence_service.domain.errors import InvalidInput, NotFound, StorageUnavailable

_logger = logging.getLogger(__name__)

_CONNECT_TIMEOUT_SECONDS = 3.0
#: Longest wait for one socket read. A healthy S3 answers a part upload in well under a
#: second after its last byte; a hung one must fail the request in seconds, not minutes
#: (with one read retry a stalled call ends after about twice this).
_READ_TIMEOUT_SECONDS = 20.0
_MISSING_OBJECT_CODES = frozenset({"NoSuchKey", "NoSuchObject", "NoSuchVersion"})
_BUCKET_ALREADY_THERE_CODES = frozenset({"BucketAlreadyOwnedByYou", "BucketAlreadyExists"})
_MIN_PART_SIZE = 5 * 1024 * 1024
_ABORT_RULE = "abort-incomplete-multipart-uploads"
_PUT_THREADS = 8  # concurrent small-object PUTs in put_many (urllib3's default pool holds 10)
_MAX_PART_SIZE = 5 * 1024 * 1024 * 1024


def _http_client(*, connect_timeout: float, read_timeout: float) -> urllib3.PoolManager:
    """Pool with a short connect timeout and few retries (the SDK default waits minutes)."""
    return urllib3.PoolManager(
        timeout=urllib3.Timeout(connect=connect_timeout, read=read_timeout),
        maxsize=10,
        cert_reqs="CERT_REQUIRED",
        retries=urllib3.Retry(
            total=2,
            connect=1,
            read=1,
            backoff_factor=0.2,
            status_forcelist=[500, 502, 503, 504],
        ),
    )


class _ContentMd5Minio(Minio):
    """Minio client that sends ``Content-MD5`` with every PutObject and UploadPart body.

    S3 requires ``Content-MD5`` (or a checksum header) on writes into a bucket with a default
    Object Lock retention; the SDK adds it only over HTTPS. It also lets the server reject a
    part corrupted in transit. Hooks the SDK's ``_put_object``, which every single-part and
    multipart upload goes through (stable across minio 7.2).
    """

    def _put_object(
        self,
        bucket_name: str,
        object_name: str,
        data: bytes,
        headers: dict[str, Any] | None = None,
        query_params: dict[str, Any] | None = None,
    ) -> Any:
        headers = dict(headers or {})
        if "Content-MD5" not in headers:
            digest = hashlib.md5(data, usedforsecurity=False).digest()
            headers["Content-MD5"] = base64.b64encode(digest).decode("ascii")
        return super()._put_object(
            bucket_name, object_name, data, headers=headers, query_params=query_params
        )


class S3ObjectStore:
    """Objects in one S3 bucket under their content-address keys (``sha256/ab/cd/<hex>``)."""

    name = "s3"

    def __init__(
        self,
        *,
        endpoint: str,
        access_key: str,
        secret_key: str,
        bucket: str,
        region: str = "us-east-1",
        secure: bool = False,
        retention_days: int = 0,
        retention_mode: str = COMPLIANCE,
        part_size: int = 64 * 1024 * 1024,
        connect_timeout: float = _CONNECT_TIMEOUT_SECONDS,
        read_timeout: float = _READ_TIMEOUT_SECONDS,
    ) -> None:
        """Configure the client; no network traffic happens here.

        ``endpoint`` is ``host:port`` without a scheme. ``connect_timeout`` and
        ``read_timeout`` (seconds) bound how long a dead or hung endpoint can hold a call
        before it fails with StorageUnavailable. Raises ValueError for a negative
        ``retention_days``, an unknown ``retention_mode`` or a ``part_size`` outside S3's
        5 MiB..5 GiB range.
        """
        if retention_days < 0:
            raise ValueError("retention_days must be >= 0")
        if retention_mode not in (COMPLIANCE, GOVERNANCE):
            raise ValueError(f"retention_mode must be {COMPLIANCE} or {GOVERNANCE}")
        if not _MIN_PART_SIZE <= part_size <= _MAX_PART_SIZE:
            raise ValueError("part_size must be between 5 MiB and 5 GiB")
        self.endpoint = endpoint
        self.bucket = bucket
        self.region = region
        self.retention_days = retention_days
        self.retention_mode = retention_mode
        self.part_size = part_size
        self._client = _ContentMd5Minio(
            endpoint,
            access_key=access_key,
            secret_key=secret_key,
            secure=secure,
            region=region,
            http_client=_http_client(connect_timeout=connect_timeout,
                                     read_timeout=read_timeout),
        )

    def __repr__(self) -> str:
        return f"S3ObjectStore(endpoint={self.endpoint!r}, bucket={self.bucket!r})"

    @contextlib.contextmanager
    def _translate(self, action: str) -> Iterator[None]:
        """Turn SDK, HTTP and socket failures into StorageUnavailable."""
        try:
            yield
        except (MinioException, urllib3.exceptions.HTTPError, OSError) as exc:
            _logger.warning(
                "object store %s failed bucket=%s error=%s",
                action,
                self.bucket,
                type(exc).__name__,
            )
            raise StorageUnavailable(f"object store {action} failed: {_describe(exc)}") from exc

    @staticmethod
    def _check_key(key: str) -> None:
        if not key or key.startswith("/"):
            raise InvalidInput("storage key must be a non-empty relative path")

    def ensure_bucket(self) -> None:
        """Create the bucket if missing, enable versioning and (if configured) Object Lock.

        With ``retention_days > 0`` a new bucket is created with Object Lock enabled and a
        default retention rule of ``retention_mode`` for ``retention_days`` days is set.
        Object Lock cannot be switched on for an existing bucket created without it; the
        server's refusal then surfaces as StorageUnavailable. Raises StorageUnavailable on any
        backend failure.
        """
        locked = self.retention_days > 0
        with self._translate("bucket setup"):
            if not self._client.bucket_exists(self.bucket):
                try:
                    self._client.make_bucket(self.bucket, object_lock=locked)
                    _logger.info("created bucket=%s object_lock=%s", self.bucket, locked)
                except S3Error as exc:
                    if exc.code not in _BUCKET_ALREADY_THERE_CODES:
                        raise
            self._client.set_bucket_versioning(self.bucket, VersioningConfig(ENABLED))
            # a multipart upload cut off by an outage (its abort failing too) would otherwise
            # keep its parts in the bucket for ever
            self._client.set_bucket_lifecycle(self.bucket, LifecycleConfig([Rule(
                ENABLED, rule_filter=Filter(prefix=""), rule_id=_ABORT_RULE,
                abort_incomplete_multipart_upload=AbortIncompleteMultipartUpload(
                    days_after_initiation=1))]))
            if locked and not self._retention_is_set():  # some servers refuse a re-set
                self._client.set_object_lock_config(
                    self.bucket,
                    ObjectLockConfig(
                        mode=self.retention_mode,
                        duration=self.retention_days,
                        duration_unit=DAYS,
                    ),
                )
                _logger.info(
                    "bucket=%s default retention mode=%s days=%d",
                    self.bucket,
                    self.retention_mode,
                    self.retention_days,
                )

    def _retention_is_set(self) -> bool:
        """Whether the bucket's default retention is already the configured one."""
        try:
            config = self._client.get_object_lock_config(self.bucket)
        except S3Error as exc:
            if exc.code == "ObjectLockConfigurationNotFoundError":
                return False
            raise
        return (config.mode, config.duration, (config.duration_unit or "").title()) == (
            self.retention_mode, self.retention_days, DAYS.title())

    def put_file(self, key: str, source: Path, *, size: int) -> bool:
        """Stream ``source`` to ``key``; False if the key already existed (nothing uploaded).

        ``source`` is left in place; the caller removes it once the registration is committed.
        Raises InvalidInput for a malformed key and StorageUnavailable on backend or
        I/O failures.
        """
        self._check_key(key)
        if self.exists(key):
            _logger.info("object already stored key=%s", key)
            return False
        with self._translate("upload"), source.open("rb") as handle:
            self._client.put_object(
                self.bucket,
                key,
                handle,
                length=size,
                part_size=self.part_size,
            )
        _logger.info("stored object key=%s size=%d", key, size)
        return True

    def put_many(self, objects: Sequence[tuple[str, bytes]]) -> set[str]:
        """Upload each new object (``_PUT_THREADS`` at a time); returns the keys written.

        Each PUT is durable when S3 acknowledges it. Raises InvalidInput for a malformed key and
        StorageUnavailable on backend failures (objects already written stay: they are
        content-addressed, so a retry finds them).
        """
        unique = dict(objects)
        for key in unique:
            self._check_key(key)

        def put(key: str) -> bool:
            if self.exists(key):
                return False
            data = unique[key]
            with self._translate("upload"):
                self._client.put_object(self.bucket, key, io.BytesIO(data), length=len(data))
            return True

        with ThreadPoolExecutor(max_workers=_PUT_THREADS,
                                thread_name_prefix="s3-put") as pool:
            written = {key for key, new in zip(unique, pool.map(put, unique), strict=True)
                       if new}
        _logger.info("stored %d objects (%d already present)", len(written),
                     len(unique) - len(written))
        return written

    def _stat_size(self, key: str) -> int | None:
        """Size of the object, or None when it does not exist."""
        self._check_key(key)
        with self._translate("stat"):
            try:
                stat = self._client.stat_object(self.bucket, key)
            except S3Error as exc:
                if exc.code in _MISSING_OBJECT_CODES:
                    return None
                raise
        if stat.size is None:
            raise StorageUnavailable("object store returned no size for an object")
        return stat.size

    def exists(self, key: str) -> bool:
        """Whether an object is stored under ``key``; raises StorageUnavailable."""
        return self._stat_size(key) is not None

    def size(self, key: str) -> int:
        """Size in bytes of the object at ``key``; raises NotFound and StorageUnavailable."""
        size = self._stat_size(key)
        if size is None:
            raise NotFound(f"object {key} not found")
        return size

    @contextlib.contextmanager
    def open(self, key: str, *, start: int = 0) -> Iterator[BinaryIO]:
        """Stream the object at ``key`` from byte ``start`` (an HTTP range request); the
        response is closed and released on exit.

        Raises NotFound when the object is absent and StorageUnavailable when the backend
        fails, including HTTP errors while the caller reads the stream.
        """
        self._check_key(key)
        with self._translate("download"):
            try:
                response = self._client.get_object(self.bucket, key, offset=start)
            except S3Error as exc:
                if exc.code in _MISSING_OBJECT_CODES:
                    raise NotFound(f"object {key} not found") from exc
                raise
        try:
            yield cast(BinaryIO, response)
        except urllib3.exceptions.HTTPError as exc:
            raise StorageUnavailable(f"object store read failed: {_describe(exc)}") from exc
        finally:
            response.close()
            response.release_conn()

    def check(self) -> None:
        """Raise StorageUnavailable unless the endpoint answers and the bucket exists."""
        with self._translate("health check"):
            found = self._client.bucket_exists(self.bucket)
        if not found:
            raise StorageUnavailable(f"object store bucket {self.bucket} does not exist")

    def list_keys(self, prefix: str) -> list[str]:
        """Keys (current versions) starting with ``prefix``, sorted; StorageUnavailable."""
        with self._translate("list"):
            names = [obj.object_name for obj in
                     self._client.list_objects(self.bucket, prefix=prefix, recursive=True)]
        return sorted(name for name in names if name is not None)


def _describe(exc: BaseException) -> str:
    """Short, secret-free description of a backend failure."""
    if isinstance(exc, S3Error):
        return f"{exc.code}: {exc.message}"
    return f"{type(exc).__name__}: {str(exc)[:200]}"
