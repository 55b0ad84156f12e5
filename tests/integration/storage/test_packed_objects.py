"""Small content objects stored through put_many go into the store's SQLite pack.

They are found, sized, read and listed like loose files; a loose copy is never duplicated;
rows cannot be rewritten through SQL; concurrent writers store each object once; a store that
never packed anything has no pack file.
"""

from __future__ import annotations

import hashlib
import sqlite3
import threading
from pathlib import Path

import pytest

from evidence_service.adapters.storage import FilesystemObjectStore
from evidence_service.adapters.storage import filesystem as fs_module
from evidence_service.adapters.storage.packed import FILE_NAME
from evidence_service.domain.errors import NotFound
from evidence_service.domain.rules import content_key

SMALL = fs_module.PACKED_MAX_BYTES


def _object(n: int, size: int = 100) -> tuple[str, bytes]:
    data = f"note {n}|".encode().ljust(size, b".")
    return content_key(hashlib.sha256(data).hexdigest()), data


def test_small_objects_are_packed_and_read_back_like_files(tmp_path: Path) -> None:
    store = FilesystemObjectStore(tmp_path / "objects")
    small = [_object(n) for n in range(20)] + [_object(99, SMALL)]  # the largest packed
    large = _object(100, SMALL + 1)

    assert store.put_many([*small, large, small[3]]) == {k for k, _ in [*small, large]}

    assert (store.root / FILE_NAME).is_file()
    assert sorted(p.name for p in store.root.rglob("*") if p.is_file()
                  and not p.name.startswith(".")) == [large[0].rsplit("/", 1)[-1]]
    for key, data in [*small, large]:
        assert store.exists(key) and store.size(key) == len(data)
        with store.open(key) as fh:
            assert fh.read() == data
        with store.open(key, start=7) as fh:  # a player's range, packed or loose
            assert fh.read() == data[7:]
    assert store.list_keys("sha256/") == sorted(k for k, _ in [*small, large])
    assert store.list_keys(small[0][0][:10]) == sorted(
        k for k, _ in [*small, large] if k.startswith(small[0][0][:10]))
    assert store.put_many(small) == set()  # nothing new

    reopened = FilesystemObjectStore(store.root)  # another process, say
    assert reopened.exists(small[0][0])
    with reopened.open(small[0][0]) as fh:
        assert fh.read() == small[0][1]


def test_missing_objects_are_not_found_with_or_without_a_pack(tmp_path: Path) -> None:
    store = FilesystemObjectStore(tmp_path / "objects")
    missing, _ = _object(1)
    assert not store.exists(missing)
    assert not (store.root / FILE_NAME).exists()  # reads never create the pack
    store.put_many([_object(2)])
    assert not store.exists(missing)
    with pytest.raises(NotFound):
        store.size(missing)
    with pytest.raises(NotFound), store.open(missing):
        pass


def test_an_object_stored_as_a_file_is_not_packed_again_nor_the_reverse(
        tmp_path: Path) -> None:
    store = FilesystemObjectStore(tmp_path / "objects")
    key, data = _object(1)
    source = tmp_path / "upload.part"
    source.write_bytes(data)
    assert store.put_file(key, source, size=len(data))
    assert store.put_many([(key, data)]) == set()
    assert store.list_keys("sha256/") == [key]

    packed_key, packed = _object(2)
    assert store.put_many([(packed_key, packed)]) == {packed_key}
    source.write_bytes(packed)
    assert store.put_file(packed_key, source, size=len(packed)) is False
    assert not store.object_path(packed_key).exists()


def test_other_keys_are_never_packed(tmp_path: Path) -> None:
    store = FilesystemObjectStore(tmp_path / "objects")
    assert store.put_many([("log-segments/0000-0002.json", b"{}")]) == {
        "log-segments/0000-0002.json"}
    assert (store.root / "log-segments" / "0000-0002.json").read_bytes() == b"{}"
    assert not (store.root / FILE_NAME).exists()


def test_packed_rows_cannot_be_rewritten_or_deleted_through_sql(tmp_path: Path) -> None:
    store = FilesystemObjectStore(tmp_path / "objects")
    key, data = _object(1)
    store.put_many([(key, data)])
    with sqlite3.connect(store.root / FILE_NAME) as db:
        for statement in ("UPDATE objects SET data = x'00' WHERE key = ?",
                          "DELETE FROM objects WHERE key = ?"):
            with pytest.raises(sqlite3.IntegrityError, match="write-once"):
                db.execute(statement, (key,))
        with pytest.raises(sqlite3.IntegrityError):  # a second row for the key
            db.execute("INSERT INTO objects (key, data) VALUES (?, x'00')", (key,))
    with store.open(key) as fh:
        assert fh.read() == data


def test_concurrent_writers_store_each_object_once(tmp_path: Path) -> None:
    root = tmp_path / "objects"
    objects = [_object(n) for n in range(300)]
    stores = [FilesystemObjectStore(root) for _ in range(4)]  # as four processes would
    results: list[set[str]] = []
    barrier = threading.Barrier(len(stores))

    def write(store: FilesystemObjectStore, part: list[tuple[str, bytes]]) -> None:
        barrier.wait()
        results.append(store.put_many(part))

    threads = [threading.Thread(target=write, args=(s, objects[n * 50:n * 50 + 200]))
               for n, s in enumerate(stores)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    written = [key for result in results for key in result]
    assert sorted(written) == sorted(k for k, _ in objects[:350])  # each key by one writer
    assert FilesystemObjectStore(root).list_keys("sha256/") == sorted(written)
