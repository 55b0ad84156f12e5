"""Local filesystem object store: temp name, fsync, rename, read-only; content-addressed.

The write-once guarantee here is as strong as the host's file permissions: files are made
read-only (0444) and directories are fsynced, but root can still change them. That is why the
evidence log is anchored on-chain and the integrity scanner re-hashes stored objects.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from evidence_service.domain.errors import InvalidInput, NotFound, StorageUnavailable

_logger = logging.getLogger(__name__)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class FilesystemObjectStore:
    """Objects under ``root/<key>``; keys are relative content addresses."""

    name = "filesystem"

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()
        self.root.mkdir(parents=True, exist_ok=True)

    def _path(self, key: str) -> Path:
        path = (self.root / key).resolve()
        if not key or key.startswith("/") or not path.is_relative_to(self.root):
            raise InvalidInput("storage key escapes the store root")
        return path

    def put_file(self, key: str, source: Path, *, size: int) -> bool:
        """Copy (hard-link when possible) ``source`` to ``key``; False if already stored.

        Raises StorageUnavailable on I/O errors.
        """
        target = self._path(key)
        try:
            if target.exists():
                return False
            target.parent.mkdir(parents=True, exist_ok=True)
            tmp = target.parent / f".{target.name}.{uuid.uuid4().hex}.tmp"
            try:
                os.link(source, tmp)  # same filesystem: no copy
            except OSError:
                shutil.copyfile(source, tmp)
            with open(tmp, "rb+") as fh:
                os.fsync(fh.fileno())
            os.chmod(tmp, 0o444)
            os.replace(tmp, target)
            _fsync_dir(target.parent)
        except OSError as exc:
            raise StorageUnavailable(f"filesystem store failed to write object: {exc}") from exc
        _logger.info("stored object key=%s size=%d", key, size)
        return True

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def size(self, key: str) -> int:
        """Size of the stored object; raises NotFound."""
        try:
            return self._path(key).stat().st_size
        except FileNotFoundError as exc:
            raise NotFound(f"object {key} not found") from exc

    @contextlib.contextmanager
    def open(self, key: str) -> Iterator[BinaryIO]:
        """Open the stored object for reading; raises NotFound."""
        try:
            handle = open(self._path(key), "rb")  # noqa: SIM115 - closed below
        except FileNotFoundError as exc:
            raise NotFound(f"object {key} not found") from exc
        with handle:
            yield handle

    def check(self) -> None:
        """Raise StorageUnavailable unless the root is a writable directory."""
        if not self.root.is_dir() or not os.access(self.root, os.W_OK):
            raise StorageUnavailable(f"object store root {self.root} is not writable")

    def list_keys(self, prefix: str) -> list[str]:
        """Stored keys starting with ``prefix``, sorted (temporary files excluded).

        Raises StorageUnavailable when the directory cannot be read.
        """
        folder = prefix.rsplit("/", 1)[0] if "/" in prefix else ""
        base = self._path(folder) if folder else self.root
        try:
            found = [path.relative_to(self.root).as_posix()
                     for path in base.rglob("*") if path.is_file()]
        except OSError as exc:
            raise StorageUnavailable(f"filesystem store failed to list {prefix}: {exc}") from exc
        return sorted(key for key in found
                      if key.startswith(prefix) and not key.rsplit("/", 1)[-1].startswith("."))
