"""FilesystemObjectStore.put_many: many small objects, two syncs, nothing half-written."""

from __future__ import annotations

import hashlib
import stat
from pathlib import Path

import pytest

from evidence_service.adapters.storage import FilesystemObjectStore
from evidence_service.adapters.storage import filesystem as fs_module
from evidence_service.domain.errors import StorageUnavailable
from evidence_service.domain.rules import content_key


def _objects(count: int, start: int = 0) -> list[tuple[str, bytes]]:
    blobs = [f"photo {n}".encode() * 10 for n in range(start, start + count)]
    return [(content_key(hashlib.sha256(b).hexdigest()), b) for b in blobs]


def _temp_files(root: Path) -> list[Path]:
    return [p for p in root.rglob(".*.tmp")]


@pytest.mark.parametrize("syncfs", [True, False], ids=["syncfs", "fsync-each"])
def test_put_many_writes_read_only_objects_and_skips_stored_ones(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, syncfs: bool) -> None:
    if not syncfs:
        monkeypatch.setattr(fs_module, "_syncfs", None)
    store = FilesystemObjectStore(tmp_path / "objects")
    objects = _objects(30)
    assert store.put_many(objects[:10]) == {k for k, _ in objects[:10]}

    written = store.put_many([*objects, objects[15]])  # a repeat within one call

    assert written == {k for k, _ in objects[10:]}
    for key, data in objects:
        with store.open(key) as fh:
            assert fh.read() == data
        assert stat.S_IMODE((store.root / key).stat().st_mode) == 0o444
    assert _temp_files(store.root) == []


def test_a_failed_put_many_leaves_no_temporary_files(tmp_path: Path) -> None:
    store = FilesystemObjectStore(tmp_path / "objects")
    objects = _objects(5)
    blocked = "sha256/zz/zz/" + "f" * 64
    (store.root / "sha256" / "zz").mkdir(parents=True)
    (store.root / "sha256" / "zz" / "zz").write_bytes(b"a file where a directory must go")

    with pytest.raises(StorageUnavailable):
        store.put_many([*objects, (blocked, b"x")])

    assert _temp_files(store.root) == []
    assert not any(store.exists(k) for k, _ in objects)
