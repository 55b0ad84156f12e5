"""Object storage adapters: a local filesystem store and an S3/MinIO store."""

from evidence_service.adapters.storage.filesystem import LAYOUT_FILE, FilesystemObjectStore

__all__ = ["LAYOUT_FILE", "FilesystemObjectStore"]
