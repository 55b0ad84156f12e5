"""SpoolAppender: direct (page-cache-free) appends give exactly the bytes of plain writes."""

from __future__ import annotations

import errno
import fcntl
import os
import random
from pathlib import Path

import pytest

from evidence_service.domain.errors import StorageUnavailable
from evidence_service.services.spool import BLOCK, STAGE, SpoolAppender


def _direct_io_works(folder: Path) -> bool:
    """Whether ``folder`` takes O_DIRECT; CI machines' disks must (ingest speed rests on it)."""
    probe = folder / "probe"
    probe.touch()
    try:
        os.close(os.open(probe, os.O_WRONLY | getattr(os, "O_DIRECT", 0)))
    except OSError:
        works = False
    else:
        works = bool(getattr(os, "O_DIRECT", 0))
    assert works or not os.environ.get("CI"), f"{folder} refuses O_DIRECT on a CI machine"
    return works


def _append_randomly(path: Path, start: bytes, pieces: int, seed: int,
                     direct: bool = True) -> tuple[bytes, SpoolAppender]:
    """Append random pieces (odd sizes, flushes between some) after ``start``; returns the
    bytes the file must hold, and the appender (flushed, not closed)."""
    rng = random.Random(seed)
    path.write_bytes(start)
    expected = bytearray(start)
    with open(path, "r+b", buffering=0) as handle:
        appender = SpoolAppender(handle, len(start), direct=direct)
        buffer = bytearray(3 * STAGE)
        for _ in range(pieces):
            size = rng.choice((1, 511, BLOCK - 1, BLOCK, BLOCK + 1, 70_000, STAGE - 3, STAGE,
                               STAGE + 5, 2 * STAGE + 17))
            chunk = rng.randbytes(size)
            buffer[:size] = chunk
            appender.append(memoryview(buffer)[:size])
            buffer[:size] = b"\xff" * size  # the caller reuses its buffer at once
            expected += chunk
            if rng.random() < 0.3:
                appender.flush()
                assert path.stat().st_size == len(expected)  # no padding, nothing missing
        appender.flush()
    return bytes(expected), appender


@pytest.mark.parametrize("start_size", [0, 1, BLOCK - 1, BLOCK, 3 * BLOCK + 100, STAGE + 7])
def test_appends_from_any_offset_give_the_exact_bytes(tmp_path: Path, start_size: int) -> None:
    start = random.Random(start_size).randbytes(start_size)
    expected, appender = _append_randomly(tmp_path / "spool.part", start, 40, seed=start_size)
    appender.close()
    assert (tmp_path / "spool.part").read_bytes() == expected


def test_writes_bypass_the_page_cache_where_the_filesystem_allows(tmp_path: Path) -> None:
    if not _direct_io_works(tmp_path):
        pytest.skip(f"{tmp_path} refuses O_DIRECT (tmpfs?): the page-cache path is tested")
    path = tmp_path / "spool.part"
    path.touch()
    with open(path, "r+b", buffering=0) as handle:
        appender = SpoolAppender(handle, 0)
        assert appender.direct
        appender.close()


def test_without_direct_io_the_same_bytes_go_through_the_page_cache(tmp_path: Path) -> None:
    expected, appender = _append_randomly(tmp_path / "spool.part", b"head", 30, seed=7,
                                          direct=False)
    assert not appender.direct
    appender.close()
    assert (tmp_path / "spool.part").read_bytes() == expected


def test_a_device_refusing_the_alignment_falls_back_without_losing_a_byte(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    if not _direct_io_works(tmp_path):
        pytest.skip(f"{tmp_path} refuses O_DIRECT: there is nothing to fall back from")
    real = SpoolAppender._write_all
    refused: list[int] = []

    def picky(fd: int, view: memoryview, offset: int) -> None:
        if fd not in refused and _is_direct(fd):
            refused.append(fd)
            raise OSError(errno.EINVAL, "Invalid argument")
        real(fd, view, offset)

    monkeypatch.setattr(SpoolAppender, "_write_all", staticmethod(picky))
    expected, appender = _append_randomly(tmp_path / "spool.part", b"x" * 5000, 25, seed=3)
    assert refused  # the first direct write was refused…
    assert not appender.direct  # …and the appender went on through the page cache
    appender.close()
    assert (tmp_path / "spool.part").read_bytes() == expected


def _is_direct(fd: int) -> bool:
    return bool(fcntl.fcntl(fd, fcntl.F_GETFL) & getattr(os, "O_DIRECT", 0))


def test_a_spool_shorter_than_its_offset_is_refused(tmp_path: Path) -> None:
    if not _direct_io_works(tmp_path):
        pytest.skip(f"{tmp_path} refuses O_DIRECT: offsets are not read back")
    path = tmp_path / "spool.part"
    path.write_bytes(b"abc")
    with open(path, "r+b", buffering=0) as handle, \
            pytest.raises(StorageUnavailable, match="shorter"):
        SpoolAppender(handle, 10)
