"""Object storage adapters: a local filesystem store and an S3/MinIO store."""

from evidence_service.adapters.storage.filesystem import FilesystemObjectStore

__all__ = ["FilesystemObjectStore"]
