"""Reading a case package ZIP safely: entry names, sizes and compression ratios are checked
before a single byte is decompressed, and every read is bounded.

:func:`open_package` refuses (with :class:`PackageFormatError` naming the entry) absolute
paths, ``..``/``.``/empty components, backslashes, control characters, duplicates, directory
and symlink entries, encryption, compression methods other than stored/deflate, entries past
:class:`ZipLimits` and deflated entries whose ratio marks a zip bomb.
"""

from __future__ import annotations

import stat
import unicodedata
import zipfile
from dataclasses import dataclass
from pathlib import Path

from evidence_verify.digests import FileDigests, hash_stream
from evidence_verify.errors import PackageFormatError

__all__ = ["ZipLimits", "hash_member", "open_package", "read_member"]

_ALLOWED_METHODS = (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED)


@dataclass(frozen=True)
class ZipLimits:
    """Bounds a package must stay within (defaults suit multi-GB video evidence).

    ``max_ratio`` applies to compressed entries larger than ``ratio_floor`` bytes: a deflated
    entry may not expand more than ``max_ratio`` times. Stored entries cannot expand.
    """

    max_entries: int = 100_000
    max_entry_size: int = 1 << 40
    max_total_size: int = 1 << 42
    max_json_size: int = 64 << 20
    max_ratio: int = 200
    ratio_floor: int = 1 << 20


def open_package(
    path: Path, limits: ZipLimits
) -> tuple[zipfile.ZipFile, dict[str, zipfile.ZipInfo]]:
    """Open ``path`` and check every entry; return the archive and its entries by name.

    Raises PackageFormatError (not a ZIP, or an unsafe entry, named), OSError when the file
    cannot be read.
    """
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, zipfile.LargeZipFile) as exc:
        raise PackageFormatError(f"{path.name} is not a readable ZIP archive: {exc}") from exc
    try:
        return archive, _entries(archive, limits)
    except PackageFormatError:
        archive.close()
        raise


def _entries(archive: zipfile.ZipFile, limits: ZipLimits) -> dict[str, zipfile.ZipInfo]:
    infos = archive.infolist()
    if len(infos) > limits.max_entries:
        raise PackageFormatError(f"the package has {len(infos)} entries; at most "
                                 f"{limits.max_entries} are allowed")
    entries: dict[str, zipfile.ZipInfo] = {}
    total = 0
    for info in infos:
        name = info.filename
        _check_name(name)
        if name in entries:
            raise PackageFormatError(f"entry {name!r} appears more than once in the ZIP")
        _check_entry(info, limits)
        total += info.file_size
        if total > limits.max_total_size:
            raise PackageFormatError(f"the package expands to more than "
                                     f"{limits.max_total_size} bytes")
        entries[name] = info
    return entries


def _check_name(name: str) -> None:
    shown = repr(name)
    if not name:
        raise PackageFormatError("an entry has an empty name")
    if "\\" in name:
        raise PackageFormatError(f"entry {shown} contains a backslash")
    if name.startswith("/") or (len(name) > 1 and name[1] == ":"):
        raise PackageFormatError(f"entry {shown} is an absolute path")
    if name.endswith("/"):
        raise PackageFormatError(f"entry {shown} is a directory entry")
    parts = name.split("/")
    if ".." in parts:
        raise PackageFormatError(f"entry {shown} leaves the package ('..' path traversal)")
    if any(part in ("", ".") for part in parts):
        raise PackageFormatError(f"entry {shown} has an empty or '.' path component")
    if any(unicodedata.category(ch) in ("Cc", "Cf", "Cs") for ch in name):
        raise PackageFormatError(f"entry {shown} contains control or format characters")


def _check_entry(info: zipfile.ZipInfo, limits: ZipLimits) -> None:
    name = repr(info.filename)
    if stat.S_ISLNK(info.external_attr >> 16):
        raise PackageFormatError(f"entry {name} is a symbolic link")
    if info.flag_bits & 0x1:
        raise PackageFormatError(f"entry {name} is encrypted")
    if info.compress_type not in _ALLOWED_METHODS:
        raise PackageFormatError(f"entry {name} uses compression method {info.compress_type}; "
                                 f"only stored (0) and deflate (8) are allowed")
    if info.file_size > limits.max_entry_size:
        raise PackageFormatError(f"entry {name} expands to {info.file_size} bytes, more than "
                                 f"the limit of {limits.max_entry_size}")
    if info.compress_type == zipfile.ZIP_STORED:
        if info.compress_size != info.file_size:
            raise PackageFormatError(f"stored entry {name} claims {info.file_size} bytes but "
                                     f"holds {info.compress_size}")
        return
    if (info.file_size > limits.ratio_floor
            and info.file_size > limits.max_ratio * max(info.compress_size, 1)):
        raise PackageFormatError(
            f"entry {name} expands {info.compress_size} bytes to {info.file_size} (ratio over "
            f"{limits.max_ratio}): refused as a possible zip bomb")


def read_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo, limits: ZipLimits) -> bytes:
    """The bytes of a small (JSON) entry, at most ``limits.max_json_size``.

    Raises PackageFormatError when it is larger or its data are corrupt (CRC, inflate).
    """
    if info.file_size > limits.max_json_size:
        raise PackageFormatError(f"entry {info.filename!r} is {info.file_size} bytes; at most "
                                 f"{limits.max_json_size} are allowed for JSON")
    try:
        with archive.open(info) as stream:
            data = stream.read(limits.max_json_size + 1)
    except (zipfile.BadZipFile, OSError, EOFError, ValueError) as exc:
        raise PackageFormatError(f"entry {info.filename!r} is corrupt: {exc}") from exc
    if len(data) > limits.max_json_size:
        raise PackageFormatError(f"entry {info.filename!r} is larger than it claims")
    return data


def hash_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo, *, sm3: bool) -> FileDigests:
    """SHA-256 (and SM3 when ``sm3``) of an entry, streamed, never past its declared size.

    Raises PackageFormatError when the entry's data are corrupt (CRC, inflate) or longer than
    the directory says.
    """
    try:
        with archive.open(info) as stream:
            return hash_stream(stream, sm3=sm3, limit=info.file_size)
    except (zipfile.BadZipFile, OSError, EOFError, ValueError) as exc:
        raise PackageFormatError(f"entry {info.filename!r} is corrupt: {exc}") from exc
