"""Appending an upload's bytes to its spool file without going through the page cache.

Copying into the page cache was as costly as SM3 itself on the virtual machines we measured
(``copy_folio_from_iter_atomic`` took 31 % of the service's CPU during a 1 GiB upload; a
plain ``write`` + ``fdatasync`` loop used 1.1-2.6 s of system time per GiB buffered, against
0.1 s with ``O_DIRECT``; ``docs/benchmarks.md``). The spool is written once and read back
only to rebuild a hash state after a restart, so caching it buys nothing.

``O_DIRECT`` wants the memory, the length and the file offset of every write aligned to the
device's block. :class:`SpoolAppender` copies the bytes it is given into a small aligned
staging buffer (a copy between two hot buffers costs far less than faulting in fresh
page-cache pages) and writes the buffer whole, at an aligned offset, each time it fills.
:meth:`SpoolAppender.flush` writes what is left: the aligned part directly, the last partial
block through an ordinary descriptor. The next direct write starts at that block again and
rewrites it (the kernel writes back and drops cached pages of a range before a direct write
to it). So after ``flush`` the file holds exactly the bytes appended, as with plain writes,
and ``fdatasync`` of either descriptor makes them durable.

Where the filesystem refuses ``O_DIRECT`` (tmpfs, some network filesystems) the appender
writes through the page cache, as before.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import mmap
import os
from typing import BinaryIO

from evidence_service.domain.errors import StorageUnavailable

_logger = logging.getLogger(__name__)
#: Alignment of direct writes: the largest logical block size in common use.
BLOCK = 4096
#: Staging buffer: each direct write is this large (measured: 1 MiB writes reach the disk's
#: speed here), and a writer holds only this much more memory.
STAGE = 1 << 20
_O_DIRECT = getattr(os, "O_DIRECT", 0)


class SpoolAppender:
    """Appends to ``handle`` (a spool file opened read/write, unbuffered) from ``offset``.

    Not thread-safe: one writer at a time, which the upload's lock guarantees. ``close``
    frees the staging buffer; it does not close ``handle``.
    """

    def __init__(self, handle: BinaryIO, offset: int, *, direct: bool = True) -> None:
        self._fd = handle.fileno()
        self._direct_fd: int | None = None
        self._stage: mmap.mmap | None = None
        self._base = offset  # file offset of the staging buffer's first byte
        self._fill = 0
        if direct and _O_DIRECT:
            self._open_direct(handle.name, offset)

    @property
    def direct(self) -> bool:
        """Whether writes bypass the page cache."""
        return self._direct_fd is not None

    def _open_direct(self, path: object, offset: int) -> None:
        if not isinstance(path, str | bytes | os.PathLike):
            return
        try:
            self._direct_fd = os.open(path, os.O_WRONLY | _O_DIRECT)
        except OSError as exc:  # EINVAL: this filesystem has no direct I/O
            _logger.debug("spool writes go through the page cache: %s", exc)
            return
        self._stage = mmap.mmap(-1, STAGE)  # page-aligned, hence block-aligned
        # start at the block holding ``offset``: its first bytes are already in the file
        self._base = offset - offset % BLOCK
        head = offset - self._base
        if head:
            try:
                self._fill = os.preadv(self._fd, [memoryview(self._stage)[:head]], self._base)
            except OSError as exc:
                self.close()
                raise StorageUnavailable(f"could not read the upload spool: {exc}") from exc
            if self._fill != head:
                self.close()
                raise StorageUnavailable("the upload spool file is shorter than its offset")

    def append(self, data: bytes | bytearray | memoryview) -> None:
        """Append ``data``; it may be reused as soon as this returns."""
        view = memoryview(data).cast("B")
        while view:
            if self._stage is None:  # through the page cache
                self._write_all(self._fd, view, self._base)
                self._base += len(view)
                return
            take = min(len(view), STAGE - self._fill)
            self._stage[self._fill:self._fill + take] = view[:take]
            self._fill += take
            view = view[take:]
            if self._fill == STAGE and self._write_direct(STAGE):
                self._base += STAGE
                self._fill = 0

    def flush(self) -> None:
        """Put every byte appended so far into the file (durable after ``fdatasync``)."""
        if self._stage is None or not self._fill:
            return
        aligned = self._fill - self._fill % BLOCK
        if aligned and not self._write_direct(aligned):
            return  # the fallback has written everything
        tail = self._fill - aligned
        if tail:
            self._write_all(self._fd, memoryview(self._stage)[aligned:self._fill],
                            self._base + aligned)
        if aligned:  # keep the partial block: the next direct write starts with it again
            self._stage.move(0, aligned, tail)
            self._base += aligned
            self._fill = tail

    def _write_direct(self, length: int) -> bool:
        """Write the first ``length`` staged bytes directly; False if the device refused
        and everything staged went through the page cache instead."""
        assert self._stage is not None and self._direct_fd is not None
        try:
            self._write_all(self._direct_fd, memoryview(self._stage)[:length], self._base)
        except OSError as exc:
            if exc.errno != errno.EINVAL:
                raise
            self._fallback(exc)  # an alignment this device refuses
            return False
        return True

    def _fallback(self, reason: OSError) -> None:
        """Stop writing directly: what is staged goes through the page cache, now."""
        _logger.warning("spool direct writes refused (%s); using the page cache", reason)
        stage, self._stage = self._stage, None
        self._close_direct()
        if stage is not None:
            try:
                self._write_all(self._fd, memoryview(stage)[:self._fill], self._base)
            finally:
                _free(stage)
        self._base += self._fill
        self._fill = 0

    @staticmethod
    def _write_all(fd: int, view: memoryview, offset: int) -> None:
        while view:  # a write may be partial
            done = os.pwrite(fd, view, offset)
            view, offset = view[done:], offset + done

    def _close_direct(self) -> None:
        if self._direct_fd is not None:
            fd, self._direct_fd = self._direct_fd, None
            os.close(fd)

    def close(self) -> None:
        """Free the staging buffer and the direct descriptor (call ``flush`` first)."""
        self._close_direct()
        if self._stage is not None:
            stage, self._stage = self._stage, None
            _free(stage)


def _free(stage: mmap.mmap) -> None:
    """Unmap ``stage`` now, or, while a view of it is still alive (an exception being
    handled holds the frame of a failed write), when the last view goes."""
    with contextlib.suppress(BufferError):
        stage.close()


__all__ = ["BLOCK", "STAGE", "SpoolAppender"]
