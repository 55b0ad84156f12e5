"""Small content-addressed objects packed in one SQLite file beside the loose ones.

A docking station's offload can hold thousands of files of a few kilobytes (notes, forms,
thumbnails). As loose files each costs a new inode, and on the disks here inode allocation
cost 50-700 µs of kernel time per file, more than everything else a registration does
(docs/benchmarks.md, "Seventh session"). SQLite stores small blobs faster than a filesystem
(https://www.sqlite.org/fasterthanfs.html), in one file, with one fsync per transaction.

The file is ``.packed.sqlite3`` in the store's root (hidden: never listed as a key). Its one
table maps a content key to the object's bytes:

- rows are only ever inserted: triggers refuse ``UPDATE`` and ``DELETE``, so even code of
  ours cannot rewrite an object through SQL (root still can edit the file, as it can edit a
  loose file; the anchored log and the integrity scanner catch that);
- a ``put`` commits before it returns (``synchronous=FULL``, WAL): the items that name these
  objects are committed after them, never before;
- several processes may share it: SQLite's locks serialise writers.
"""

from __future__ import annotations

import io
import sqlite3
import threading
from collections.abc import Iterable, Sequence
from pathlib import Path

from evidence_service.domain.errors import StorageUnavailable

FILE_NAME = ".packed.sqlite3"
_SCHEMA = """
CREATE TABLE IF NOT EXISTS objects (key TEXT PRIMARY KEY, data BLOB NOT NULL) WITHOUT ROWID;
CREATE TRIGGER IF NOT EXISTS objects_write_once_update BEFORE UPDATE ON objects
BEGIN SELECT RAISE(ABORT, 'packed objects are write-once'); END;
CREATE TRIGGER IF NOT EXISTS objects_write_once_delete BEFORE DELETE ON objects
BEGIN SELECT RAISE(ABORT, 'packed objects are write-once'); END;
"""
_IN_CHUNK = 500  # keys per IN (...) query, under SQLite's bound-parameter cap


class PackedObjects:
    """The packed small objects of one store root."""

    def __init__(self, root: Path) -> None:
        self.path = root / FILE_NAME
        self._local = threading.local()  # one connection per thread

    def _connection(self, *, create: bool) -> sqlite3.Connection | None:
        """This thread's connection; None when the file does not exist and ``create`` is
        False (a store that never packed anything answers without creating it)."""
        connection: sqlite3.Connection | None = getattr(self._local, "connection", None)
        if connection is not None:
            return connection
        if not create and not self.path.exists():
            return None
        try:
            connection = sqlite3.connect(self.path, timeout=30, isolation_level=None)
            connection.execute("PRAGMA journal_mode=WAL")
            connection.execute("PRAGMA synchronous=FULL")
            connection.executescript(_SCHEMA)  # another process may have just created it
        except sqlite3.Error as exc:
            raise StorageUnavailable(f"packed object file {self.path} is unusable: {exc}") \
                from exc
        self._local.connection = connection
        return connection

    def present(self, keys: Iterable[str]) -> set[str]:
        """Which of ``keys`` are stored here."""
        connection = self._connection(create=False)
        if connection is None:
            return set()
        wanted, found = list(keys), set[str]()
        try:
            for start in range(0, len(wanted), _IN_CHUNK):
                chunk = wanted[start:start + _IN_CHUNK]
                marks = ",".join("?" * len(chunk))
                found.update(row[0] for row in connection.execute(
                    f"SELECT key FROM objects WHERE key IN ({marks})", chunk))
        except sqlite3.Error as exc:
            raise StorageUnavailable(f"packed object file {self.path}: {exc}") from exc
        return found

    def put(self, objects: Sequence[tuple[str, bytes]]) -> set[str]:
        """Store the objects not yet here, in one transaction; returns their keys."""
        connection = self._connection(create=True)
        assert connection is not None
        try:
            connection.execute("BEGIN IMMEDIATE")  # no other writer between check and insert
            try:
                stored = self.present(key for key, _ in objects)
                new = {key: data for key, data in objects if key not in stored}
                connection.executemany("INSERT INTO objects (key, data) VALUES (?, ?)",
                                       new.items())
                connection.execute("COMMIT")
            except BaseException:
                connection.execute("ROLLBACK")
                raise
        except sqlite3.Error as exc:
            raise StorageUnavailable(f"packed object file {self.path}: {exc}") from exc
        return set(new)

    def read(self, key: str) -> bytes | None:
        """The object's bytes, or None when it is not stored here."""
        connection = self._connection(create=False)
        if connection is None:
            return None
        try:
            row = connection.execute("SELECT data FROM objects WHERE key = ?", (key,)).fetchone()
        except sqlite3.Error as exc:
            raise StorageUnavailable(f"packed object file {self.path}: {exc}") from exc
        return None if row is None else bytes(row[0])

    def size(self, key: str) -> int | None:
        connection = self._connection(create=False)
        if connection is None:
            return None
        try:
            row = connection.execute("SELECT length(data) FROM objects WHERE key = ?",
                                     (key,)).fetchone()
        except sqlite3.Error as exc:
            raise StorageUnavailable(f"packed object file {self.path}: {exc}") from exc
        return None if row is None else int(row[0])

    def open(self, key: str) -> io.BytesIO | None:
        data = self.read(key)
        return None if data is None else io.BytesIO(data)

    def keys(self, prefix: str) -> list[str]:
        """Stored keys starting with ``prefix``, sorted."""
        connection = self._connection(create=False)
        if connection is None:
            return []
        try:
            rows = connection.execute(
                "SELECT key FROM objects WHERE substr(key, 1, ?) = ? ORDER BY key",
                (len(prefix), prefix)).fetchall()
        except sqlite3.Error as exc:
            raise StorageUnavailable(f"packed object file {self.path}: {exc}") from exc
        return [row[0] for row in rows]


__all__ = ["FILE_NAME", "PackedObjects"]
