"""Hostile case packages given to the court's verifier: refused with a reason, nothing written."""

from __future__ import annotations

import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest

from evidence_verify import PackageFormatError, verify_package


def _zip(path: Path, entries: dict[str, bytes], *, method: int = zipfile.ZIP_DEFLATED) -> Path:
    with zipfile.ZipFile(path, "w", compression=method) as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return path


def _bomb(path: Path) -> Path:
    with (zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive,
          archive.open("files/zeros.bin", "w", force_zip64=True) as member):
        for _ in range(100):  # 100 MB of zeros in about 100 kB
            member.write(bytes(1 << 20))
    return path


def _duplicate(path: Path) -> Path:
    with zipfile.ZipFile(path, "w") as archive, pytest.warns(UserWarning, match="Duplicate"):
        archive.writestr("manifest.json", b"{}")
        archive.writestr("manifest.json", b'{"other": 1}')
    return path


def _symlink(path: Path) -> Path:
    info = zipfile.ZipInfo("files/link")
    info.external_attr = (0o120777 << 16)
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr(info, "/etc/passwd")
    return path


CASES: dict[str, tuple[Callable[[Path], Path], str]] = {
    "traversal": (lambda p: _zip(p, {"../../evil.txt": b"x"}), "path traversal"),
    "absolute": (lambda p: _zip(p, {"/etc/cron.d/evil": b"x"}), "absolute path"),
    "backslash": (lambda p: _zip(p, {"..\\..\\evil.txt": b"x"}), "backslash"),
    "control-name": (lambda p: _zip(p, {"files/a\x1b[2Jb.txt": b"x"}), "control"),
    "symlink": (_symlink, "symbolic link"),
    "not-a-zip": (lambda p: (p.write_bytes(b"PK\x03\x04 truncated"), p)[1], "not a readable"),
    "empty-file": (lambda p: (p.write_bytes(b""), p)[1], "not a readable"),
    "duplicate-entry": (_duplicate, "more than once"),
}


@pytest.mark.parametrize("kind", sorted(CASES))
def test_hostile_package_is_refused(tmp_path: Path, kind: str) -> None:
    make, reason = CASES[kind]
    package = make(tmp_path / "case.zip")
    before = sorted(p.name for p in tmp_path.rglob("*"))
    with pytest.raises(PackageFormatError, match=reason):
        verify_package(package)
    assert sorted(p.name for p in tmp_path.rglob("*")) == before
    assert not (tmp_path.parent / "evil.txt").exists()


def test_zip_bomb_is_refused_without_expanding_it(tmp_path: Path) -> None:
    package = _bomb(tmp_path / "bomb.zip")
    assert package.stat().st_size < 1 << 20
    with pytest.raises(PackageFormatError, match="zip bomb"):
        verify_package(package)
