"""Local filesystem object store: temp name, fsync, rename, read-only; content-addressed.

The write-once guarantee here is as strong as the host's file permissions: files are made
read-only (0444) and directories are fsynced, but root can still change them. That is why the
evidence log is anchored on-chain and the integrity scanner re-hashes stored objects.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import os
import re
import shutil
import uuid
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import BinaryIO

from evidence_service.domain.errors import InvalidInput, NotFound, StorageUnavailable

_logger = logging.getLogger(__name__)
_CONTENT_KEY = re.compile(r"sha256/[0-9a-f]{2}/[0-9a-f]{2}/[0-9a-f]{64}")
_WRITERS = 4  # threads creating files in put_many: the kernel's work overlaps across cores


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _load_syncfs() -> Callable[[int], int] | None:
    """glibc's ``syncfs(2)`` (Linux): one call makes every write on a filesystem durable."""
    try:
        function = ctypes.CDLL(None, use_errno=True).syncfs
    except (OSError, AttributeError):
        return None
    function.argtypes = [ctypes.c_int]
    return function


_syncfs = _load_syncfs()


def _write_new(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o444)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
    finally:
        os.close(fd)


class FilesystemObjectStore:
    """Objects under ``root/<key>``; keys are relative content addresses."""

    name = "filesystem"

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()
        self.root.mkdir(parents=True, exist_ok=True)

    def _path(self, key: str) -> Path:
        if _CONTENT_KEY.fullmatch(key):  # the common case: cannot escape, no need to resolve
            return self.root / key
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

    def put_many(self, objects: Sequence[tuple[str, bytes]]) -> set[str]:
        """Write each new object to a temporary name, sync, rename, sync; returns new keys.

        Two filesystem-wide syncs per call (``syncfs``) replace two ``fsync`` per object: the
        first makes every temporary file's bytes durable before any is renamed into place, the
        second makes the renames durable. Where ``syncfs`` is missing, each file and directory
        is fsynced. Raises StorageUnavailable on I/O errors (temporary files are removed).
        """
        staged: dict[str, tuple[Path, Path, bytes]] = {}
        for key, data in objects:
            target = self._path(key)
            if key not in staged and not target.exists():
                staged[key] = (target.parent / f".{target.name}.{uuid.uuid4().hex}.tmp",
                               target, data)

        entries = list(staged.values())
        if not entries:
            return set()
        slices = [entries[n::_WRITERS] for n in range(_WRITERS)]

        def write(part: list[tuple[Path, Path, bytes]]) -> None:
            for tmp, target, data in part:
                target.parent.mkdir(parents=True, exist_ok=True)
                _write_new(tmp, data)

        def rename(part: list[tuple[Path, Path, bytes]]) -> None:
            for tmp, target, _ in part:
                os.replace(tmp, target)

        try:
            with ThreadPoolExecutor(_WRITERS, thread_name_prefix="fs-put") as pool:
                list(pool.map(write, slices))
                self._sync(tmp for tmp, _, _ in entries)
                list(pool.map(rename, slices))
            self._sync({target.parent for _, target, _ in entries})
        except OSError as exc:
            for tmp, _, _ in entries:
                with contextlib.suppress(OSError):  # e.g. its directory was never made
                    tmp.unlink(missing_ok=True)
            raise StorageUnavailable(f"filesystem store failed to write objects: {exc}") from exc
        _logger.info("stored %d objects (%d already present)", len(staged),
                     len(objects) - len(staged))
        return set(staged)

    def _sync(self, paths: Iterator[Path] | set[Path]) -> None:
        if _syncfs is not None:
            fd = os.open(self.root, os.O_RDONLY)
            try:
                if _syncfs(fd) != 0:
                    raise OSError(ctypes.get_errno(), "syncfs failed")
            finally:
                os.close(fd)
            return
        for path in paths:
            if path.is_dir():
                _fsync_dir(path)
            else:
                with open(path, "rb") as fh:
                    os.fsync(fh.fileno())

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
