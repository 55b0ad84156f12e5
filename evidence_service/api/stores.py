"""The object store the settings select (shared by the API, its batch workers and the CLI)."""

from __future__ import annotations

from evidence_service.config import Settings
from evidence_service.ports import ObjectStore


def build_store(settings: Settings, *, setup: bool = True) -> ObjectStore:
    """The object store the settings select; ``setup`` creates and configures the bucket
    (off for readers such as log recovery, which only check that it answers)."""
    if settings.storage_backend == "s3":
        from evidence_service.adapters.storage.s3 import S3ObjectStore

        s3 = settings.s3
        store = S3ObjectStore(
            endpoint=s3.endpoint, access_key=s3.access_key.get_secret_value(),
            secret_key=s3.secret_key.get_secret_value(), bucket=s3.bucket, region=s3.region,
            secure=s3.secure, retention_days=s3.retention_days, retention_mode=s3.retention_mode,
            part_size=s3.part_size, connect_timeout=s3.connect_timeout_seconds,
            read_timeout=s3.read_timeout_seconds)
        if setup:
            store.ensure_bucket()
        else:
            store.check()
        return store
    from evidence_service.adapters.storage import FilesystemObjectStore

    return FilesystemObjectStore(settings.resolved_objects_dir)


__all__ = ["build_store"]
