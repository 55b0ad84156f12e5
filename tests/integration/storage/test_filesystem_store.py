"""FilesystemObjectStore: both on-disk layouts, and put_many (two syncs, nothing half-written).

A store created in an empty directory writes the layout marker and keeps content addresses one
level deep (``sha256/ab/<hex>``); a store created before the marker existed (a non-empty root
without it) keeps the two-level layout (``sha256/ab/cd/<hex>``). The keys are the same in both.
"""

from __future__ import annotations

import hashlib
import stat
from pathlib import Path

import pytest

from evidence_service.adapters.storage import LAYOUT_FILE, FilesystemObjectStore
from evidence_service.adapters.storage import filesystem as fs_module
from evidence_service.domain.errors import InvalidInput, NotFound, StorageUnavailable
from evidence_service.domain.rules import content_key

LAYOUTS = ["one-level", "two-level"]


#: put_many writes objects larger than this as files (smaller ones: test_packed_objects.py)
LOOSE = fs_module.PACKED_MAX_BYTES + 1


def _objects(count: int, start: int = 0, size: int = LOOSE) -> list[tuple[str, bytes]]:
    blobs = [f"photo {n}|".encode().ljust(size, b".") for n in range(start, start + count)]
    return [(content_key(hashlib.sha256(b).hexdigest()), b) for b in blobs]


def _temp_files(root: Path) -> list[Path]:
    return [p for p in root.rglob(".*.tmp")]


def _legacy_store(root: Path) -> FilesystemObjectStore:
    """A store as an earlier version left it: one object in the two-level layout, no marker."""
    data = b"stored before the layout marker"
    key = content_key(hashlib.sha256(data).hexdigest())
    (root / key).parent.mkdir(parents=True)
    (root / key).write_bytes(data)
    (root / key).chmod(0o444)
    store = FilesystemObjectStore(root)
    assert not store.one_level
    return store


def _store(root: Path, layout: str) -> FilesystemObjectStore:
    if layout == "two-level":
        return _legacy_store(root)
    store = FilesystemObjectStore(root)
    assert store.one_level
    return store


def _on_disk(store: FilesystemObjectStore, key: str) -> Path:
    digest = key.rsplit("/", 1)[-1]
    if store.one_level:
        return store.root / "sha256" / digest[:2] / digest
    return store.root / "sha256" / digest[:2] / digest[2:4] / digest


def test_a_new_store_writes_the_marker_and_stores_one_level_deep(tmp_path: Path) -> None:
    store = FilesystemObjectStore(tmp_path / "objects")
    assert (store.root / LAYOUT_FILE).read_text() == fs_module.ONE_LEVEL_LAYOUT
    [(key, data)] = _objects(1)
    assert store.put_many([(key, data)]) == {key}
    digest = key.rsplit("/", 1)[-1]
    assert (store.root / "sha256" / digest[:2] / digest).read_bytes() == data
    assert not (store.root / key).exists()
    assert sorted(p.name for p in (store.root / "sha256" / digest[:2]).iterdir()) == [digest]
    assert store.list_keys("sha256/") == [key]
    assert store.list_keys("") == [key]  # the marker is not a key

    reopened = FilesystemObjectStore(store.root)
    assert reopened.one_level and reopened.exists(key) and reopened.size(key) == len(data)


def test_an_existing_empty_directory_becomes_a_one_level_store(tmp_path: Path) -> None:
    (tmp_path / "objects").mkdir()
    assert FilesystemObjectStore(tmp_path / "objects").one_level


def test_a_marker_left_half_written_by_a_crash_does_not_make_a_two_level_store(
        tmp_path: Path) -> None:
    (tmp_path / "objects").mkdir()
    (tmp_path / "objects" / f".{LAYOUT_FILE}.0123abcd.tmp").write_text("evid")
    store = FilesystemObjectStore(tmp_path / "objects")
    assert store.one_level
    assert (store.root / LAYOUT_FILE).read_text() == fs_module.ONE_LEVEL_LAYOUT


def test_a_store_without_the_marker_keeps_the_two_level_layout(tmp_path: Path) -> None:
    store = _legacy_store(tmp_path / "objects")
    [old_key] = store.list_keys("sha256/")
    assert store.exists(old_key)
    with store.open(old_key) as fh:
        assert fh.read() == b"stored before the layout marker"
    [(key, data)] = _objects(1)
    source = tmp_path / "big.bin"
    source.write_bytes(b"a large member" * 1000)
    big = content_key(hashlib.sha256(source.read_bytes()).hexdigest())
    assert store.put_many([(key, data)]) == {key}
    assert store.put_file(big, source, size=source.stat().st_size)

    for k in (key, big):
        assert (store.root / k).is_file()  # the two-level path, as before
    assert not (store.root / LAYOUT_FILE).exists()
    assert not FilesystemObjectStore(store.root).one_level  # and it stays so
    assert store.list_keys("sha256/") == sorted([old_key, key, big])


def test_an_unknown_layout_marker_is_refused(tmp_path: Path) -> None:
    (tmp_path / "objects").mkdir()
    (tmp_path / "objects" / LAYOUT_FILE).write_text("some future layout 9\n")
    with pytest.raises(StorageUnavailable, match="unknown layout"):
        FilesystemObjectStore(tmp_path / "objects")


def test_one_level_keys_must_be_consistent_content_addresses(tmp_path: Path) -> None:
    store = FilesystemObjectStore(tmp_path / "objects")
    digest = "ab" + "0" * 62
    for bad in (f"sha256/00/00/{digest}",  # directories that are not the digest's
                f"sha256/ab/{digest}", "sha256/ab/00/short", "sha256/x"):
        with pytest.raises(InvalidInput):
            store.exists(bad)
    for escaping in ("../outside", "/etc/passwd", LAYOUT_FILE):
        with pytest.raises(InvalidInput):
            store.exists(escaping)
    with pytest.raises(NotFound):
        store.size(f"sha256/ab/00/{digest}")


@pytest.mark.parametrize("layout", LAYOUTS)
def test_other_keys_are_stored_under_their_own_path(tmp_path: Path, layout: str) -> None:
    store = _store(tmp_path / "objects", layout)
    source = tmp_path / "segment.jsonl"
    source.write_bytes(b'{"leaf": 1}\n')
    assert store.put_file("log-segments/0-1.jsonl", source, size=12)
    assert (store.root / "log-segments" / "0-1.jsonl").read_bytes() == b'{"leaf": 1}\n'
    assert store.list_keys("log-segments/") == ["log-segments/0-1.jsonl"]


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("syncfs", [True, False], ids=["syncfs", "fsync-each"])
def test_put_many_writes_read_only_objects_and_skips_stored_ones(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, syncfs: bool, layout: str) -> None:
    if not syncfs:
        monkeypatch.setattr(fs_module, "_syncfs", None)
    store = _store(tmp_path / "objects", layout)
    before = set(store.list_keys("sha256/"))
    objects = _objects(30)
    assert store.put_many(objects[:10]) == {k for k, _ in objects[:10]}

    written = store.put_many([*objects, objects[15]])  # a repeat within one call

    assert written == {k for k, _ in objects[10:]}
    for key, data in objects:
        with store.open(key) as fh:
            assert fh.read() == data
        assert store.object_path(key) == _on_disk(store, key)
        assert stat.S_IMODE(_on_disk(store, key).stat().st_mode) == 0o444
    assert _temp_files(store.root) == []
    assert set(store.list_keys("sha256/")) == before | {k for k, _ in objects}


@pytest.mark.parametrize("layout", LAYOUTS)
def test_a_failed_put_many_leaves_no_temporary_files(tmp_path: Path, layout: str) -> None:
    store = _store(tmp_path / "objects", layout)
    objects = _objects(5)
    blocked = content_key("ff" * 32)
    folder = _on_disk(store, blocked).parent
    folder.parent.mkdir(parents=True, exist_ok=True)
    folder.write_bytes(b"a file where a directory must go")

    with pytest.raises(StorageUnavailable):
        store.put_many([*objects, (blocked, b"x" * LOOSE)])

    assert _temp_files(store.root) == []
    assert not any(store.exists(k) for k, _ in objects)
