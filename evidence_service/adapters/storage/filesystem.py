"""Local filesystem object store: temp name, fsync, rename, read-only; content-addressed.

The write-once guarantee here is as strong as the host's file permissions: files are made
read-only (0444) and directories are fsynced, but root can still change them. That is why the
evidence log is anchored on-chain and the integrity scanner re-hashes stored objects.

Keys are logical (``sha256/ab/cd/<hex>``, ``log-segments/…``); where a content address lives
on disk depends on the store's layout, fixed when the store is created:

- ``sha256/ab/<hex>`` (256 directories, like Git's ``objects/ab/…``) in a store whose root holds
  the layout marker ``.layout``, written when the store is created in an empty directory.
  Nearly every small object stored in the two-level layout also created a new leaf directory
  (65 536 of them), several times the kernel cost of the file itself;
- ``sha256/ab/cd/<hex>``, the key itself, in a store created before the marker existed (a
  non-empty root without it). Such a store keeps that layout; the two are never mixed.

Content objects of at most ``PACKED_MAX_BYTES`` stored through ``put_many`` (a batch's small
files) are kept instead in one SQLite file in the root, ``.packed.sqlite3`` (see
``packed.py``): a new inode per few-kilobyte file cost more than the rest of its
registration. Reads look for a loose file first, then in the pack.
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

from evidence_service.adapters.storage.packed import PackedObjects
from evidence_service.domain.errors import InvalidInput, NotFound, StorageUnavailable

_logger = logging.getLogger(__name__)
_CONTENT_KEY = re.compile(r"sha256/[0-9a-f]{2}/[0-9a-f]{2}/[0-9a-f]{64}")
#: a content address whose fan-out directories are the first bytes of its digest
_CONSISTENT_KEY = re.compile(r"sha256/([0-9a-f]{2})/([0-9a-f]{2})/(\1\2[0-9a-f]{60})")
_STORED_ONE_LEVEL = re.compile(r"sha256/([0-9a-f]{2})/(\1[0-9a-f]{62})")
_CONTENT_PREFIX = "sha256/"
LAYOUT_FILE = ".layout"
#: the marker's content: the one-level layout, version 1
ONE_LEVEL_LAYOUT = "evidence-object-store sha256/ab/<hex> 1\n"
#: put_many keeps content objects up to this size in the store's SQLite pack (packed.py)
PACKED_MAX_BYTES = 64 << 10
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
    """Objects under ``root``, found by their logical keys (see the module for the layout)."""

    name = "filesystem"

    def __init__(self, root: Path) -> None:
        """Open the store at ``root``, creating it (with the one-level layout) when it is
        missing or empty. Raises StorageUnavailable when the root cannot be created or its
        layout marker is unreadable or names a layout this version does not know."""
        self.root = root.resolve()
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            self.one_level = self._read_layout()
        except OSError as exc:
            raise StorageUnavailable(f"object store root {self.root} is unusable: {exc}") from exc
        self.packed = PackedObjects(self.root)

    def _read_layout(self) -> bool:
        """True for the one-level layout (marker present or written now), False for the
        two-level one of a store created before the marker (a non-empty root without it)."""
        marker = self.root / LAYOUT_FILE
        if not marker.exists():
            # a marker's temporary file (a crash while creating the store) does not count
            if any(not (p.name.startswith(f".{LAYOUT_FILE}.") and p.name.endswith(".tmp"))
                   for p in self.root.iterdir()):
                return False
            tmp = self.root / f".{LAYOUT_FILE}.{uuid.uuid4().hex}.tmp"
            _write_new(tmp, ONE_LEVEL_LAYOUT.encode())
            try:
                with open(tmp, "rb") as fh:
                    os.fsync(fh.fileno())
                with contextlib.suppress(FileExistsError):  # another process was first
                    os.link(tmp, marker)
            finally:
                tmp.unlink()
            _fsync_dir(self.root)
            _logger.info("new object store root=%s layout=sha256/ab/<hex>", self.root)
        found = marker.read_text(encoding="ascii", errors="replace")
        if found != ONE_LEVEL_LAYOUT:
            raise StorageUnavailable(f"object store root {self.root} has an unknown layout "
                                     f"marker {found[:80]!r}")
        return True

    def object_path(self, key: str) -> Path:
        """The file that holds (or would hold) ``key``. Raises InvalidInput for a key that
        escapes the root, names the layout marker, or (one-level layout) is under
        ``sha256/`` without being a content address whose directories match its digest."""
        if self.one_level:
            if key.startswith(_CONTENT_PREFIX):
                match = _CONSISTENT_KEY.fullmatch(key)
                if match is None:
                    raise InvalidInput("a sha256/ storage key must be a content address")
                return self.root / "sha256" / match[1] / match[3]
        elif _CONTENT_KEY.fullmatch(key):  # the common case: cannot escape, no need to resolve
            return self.root / key
        path = (self.root / key).resolve()
        if (not key or key.startswith("/") or not path.is_relative_to(self.root)
                or path == self.root / LAYOUT_FILE):
            raise InvalidInput("storage key escapes the store root")
        return path

    def _key_of(self, relative: str) -> str:
        """The logical key of a stored file (path relative to the root, POSIX)."""
        if self.one_level and (match := _STORED_ONE_LEVEL.fullmatch(relative)):
            digest = match[2]
            return f"sha256/{digest[:2]}/{digest[2:4]}/{digest}"
        return relative

    def put_file(self, key: str, source: Path, *, size: int) -> bool:
        """Copy (hard-link when possible) ``source`` to ``key``; False if already stored.

        Raises StorageUnavailable on I/O errors.
        """
        target = self.object_path(key)
        try:
            if self.exists(key):
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
        """Store each new object; returns the keys newly written.

        Content objects of at most ``PACKED_MAX_BYTES`` go into the SQLite pack, in one
        committed transaction. The others are each written to a temporary name, synced,
        renamed and synced again. Two filesystem-wide syncs per call (``syncfs``) replace two
        ``fsync`` per object: the first makes every temporary file's bytes durable before any
        is renamed into place, the second makes the renames durable. Where ``syncfs`` is
        missing, each file and directory is fsynced. Raises StorageUnavailable on I/O errors
        (temporary files are removed).
        """
        staged: dict[str, tuple[Path, Path, bytes]] = {}
        small: dict[str, bytes] = {}
        for key, data in objects:
            if key in staged or key in small:
                continue
            target = self.object_path(key)
            if target.exists():
                continue
            if len(data) <= PACKED_MAX_BYTES and key.startswith(_CONTENT_PREFIX):
                small[key] = data
            else:
                staged[key] = (target.parent / f".{target.name}.{uuid.uuid4().hex}.tmp",
                               target, data)
        packed = self.packed.put(list(small.items())) if small else set()
        written = self._put_files(staged)
        _logger.info("stored %d objects (%d packed, %d already present)",
                     len(packed) + len(written), len(packed),
                     len(objects) - len(packed) - len(written))
        return packed | written

    def _put_files(self, staged: dict[str, tuple[Path, Path, bytes]]) -> set[str]:
        """Write each staged object as its own file (see put_many); returns their keys."""
        entries = list(staged.values())
        if not entries:
            return set()
        slices = [entries[n::_WRITERS] for n in range(_WRITERS)]

        def write(part: list[tuple[Path, Path, bytes]]) -> None:
            for tmp, _, data in part:
                _write_new(tmp, data)

        def rename(part: list[tuple[Path, Path, bytes]]) -> None:
            for tmp, target, _ in part:
                os.replace(tmp, target)

        try:
            folders = self._make_folders({target.parent for _, target, _ in entries})
            with ThreadPoolExecutor(_WRITERS, thread_name_prefix="fs-put") as pool:
                list(pool.map(write, slices))
                self._sync(tmp for tmp, _, _ in entries)
                list(pool.map(rename, slices))
            self._sync(folders)
        except OSError as exc:
            for tmp, _, _ in entries:
                with contextlib.suppress(OSError):  # e.g. its directory was never made
                    tmp.unlink(missing_ok=True)
            raise StorageUnavailable(f"filesystem store failed to write objects: {exc}") from exc
        return set(staged)

    def _make_folders(self, folders: set[Path]) -> set[Path]:
        """Create the missing ``folders`` (once each, not once per object); returns them with
        the parents whose entries changed, the directories to sync after the renames."""
        changed = set(folders)
        for folder in folders:
            if folder.is_dir():
                continue
            missing = [folder, *(p for p in folder.parents if p.is_relative_to(self.root)
                                 and not p.is_dir())]
            folder.mkdir(parents=True, exist_ok=True)
            changed.update(p.parent for p in missing)
        return changed

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
        if self.object_path(key).is_file():
            return True
        return key.startswith(_CONTENT_PREFIX) and bool(self.packed.present([key]))

    def size(self, key: str) -> int:
        """Size of the stored object; raises NotFound."""
        try:
            return self.object_path(key).stat().st_size
        except FileNotFoundError as exc:
            size = self.packed.size(key) if key.startswith(_CONTENT_PREFIX) else None
            if size is None:
                raise NotFound(f"object {key} not found") from exc
            return size

    @contextlib.contextmanager
    def open(self, key: str, *, start: int = 0) -> Iterator[BinaryIO]:
        """Open the stored object for reading from byte ``start``; raises NotFound."""
        handle: BinaryIO | None
        try:
            handle = open(self.object_path(key), "rb")  # noqa: SIM115 - closed below
        except FileNotFoundError as exc:
            handle = self.packed.open(key) if key.startswith(_CONTENT_PREFIX) else None
            if handle is None:
                raise NotFound(f"object {key} not found") from exc
        with handle:
            if start:
                handle.seek(start)
            yield handle

    def check(self) -> None:
        """Raise StorageUnavailable unless the root is a writable directory."""
        if not self.root.is_dir() or not os.access(self.root, os.W_OK):
            raise StorageUnavailable(f"object store root {self.root} is not writable")

    def list_keys(self, prefix: str) -> list[str]:
        """Stored keys starting with ``prefix``, sorted (temporary files excluded).

        Raises StorageUnavailable when the directory cannot be read.
        """
        folder = prefix.split("/", 1)[0] if "/" in prefix else ""
        base = self.root / folder if folder and folder not in (".", "..") else self.root
        try:
            found = [self._key_of(path.relative_to(self.root).as_posix())
                     for path in base.rglob("*") if path.is_file()]
        except OSError as exc:
            raise StorageUnavailable(f"filesystem store failed to list {prefix}: {exc}") from exc
        loose = {key for key in found if key.startswith(prefix) and key != LAYOUT_FILE
                 and not key.rsplit("/", 1)[-1].startswith(".")}
        return sorted(loose.union(self.packed.keys(prefix)))
