"""Streaming SHA-256 (primary) and SM3 (GB/T 32905, computed alongside) in one pass.

SHA-256 and SM3 are fed the same buffers. SM3 is the slow one (no CPU has instructions for
it), so each :class:`DualHasher` runs it in a *lane*: a queue of updates that run one after
another, in order, on a small shared thread pool, while SHA-256 runs on the caller's thread.
Both release the GIL on large updates (SM3 comes from :mod:`evidence_service.domain.sm3`:
libgcrypt's assembly where present, else OpenSSL's), so the two run in parallel, and
:meth:`DualHasher.feed` returns without waiting for SM3: the caller goes on (writes the
buffer to disk, takes the next one) while SM3 catches up, and the two cores of a small
server both hash all the time instead of one waiting for the other.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from threading import Lock
from typing import Literal

from evidence_service.domain.models import Digest
from evidence_service.domain.sm3 import SM3Hash, new_sm3, sm3_hex

_HEX64 = re.compile(r"^[0-9a-f]{64}$")
#: Below this size a thread hand-off costs more than it saves.
_PARALLEL_MIN = 256 * 1024


_pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="sm3")


class _Lane:
    """Runs calls one after another, in submission order, on the shared pool.

    A call starts when the one before it has finished, so one hash object is never updated
    by two threads at once and sees its buffers in order; no pool thread ever waits for
    another. Once a call fails, every later call of the lane fails with the same error (the
    hash state is no longer that of the bytes fed).
    """

    def __init__(self) -> None:
        self._lock = Lock()
        self._tail: Future[None] | None = None

    def submit(self, fn: Callable[[bytes | bytearray | memoryview], object],
               data: bytes | bytearray | memoryview) -> Future[None]:
        done: Future[None] = Future()

        def run() -> None:
            if not done.set_running_or_notify_cancel():
                return
            failed = previous.exception() if previous is not None else None
            if failed is not None:
                done.set_exception(failed)
                return
            try:
                fn(data)
            except BaseException as exc:  # handed to whoever waits for this update
                done.set_exception(exc)
            else:
                done.set_result(None)

        with self._lock:
            previous, self._tail = self._tail, done
        if previous is None:
            _pool.submit(run)
        else:
            previous.add_done_callback(lambda _: _pool.submit(run))
        return done

    def idle(self) -> bool:
        """True when no call is queued or running."""
        with self._lock:
            return self._tail is None or self._tail.done()

    def wait(self) -> None:
        """Wait for every call submitted so far; raises the lane's error, if any."""
        with self._lock:
            tail = self._tail
        if tail is not None:
            tail.result()


class DualHasher:
    """Feed bytes once, get SHA-256 and SM3 digests.

    Not thread-safe: one feeder at a time (uploads are serialised per upload id).
    """

    def __init__(self, *, with_sm3: bool = True) -> None:
        self._sha256 = hashlib.sha256()
        self._sm3: SM3Hash | None = new_sm3() if with_sm3 else None
        self._lane: _Lane | None = None
        self.length = 0

    def feed(self, data: bytes | bytearray | memoryview) -> Future[None]:
        """Hash ``data``: SHA-256 now, SM3 on the lane; the future completes once SM3 has it.

        ``data`` must not change until then (a rotating buffer goes back to its pool from
        the future's callback). Small buffers, when nothing is queued, are hashed by SM3 here
        too. A failed future means the hasher is broken: the caller must discard it.
        """
        self.length += len(data)
        if self._sm3 is not None and len(data) >= _PARALLEL_MIN:
            if self._lane is None:
                self._lane = _Lane()
            sm3_done = self._lane.submit(self._sm3.update, data)
            self._sha256.update(data)
            return sm3_done
        self._sha256.update(data)
        if self._sm3 is not None:
            if self._lane is not None and not self._lane.idle():
                return self._lane.submit(self._sm3.update, data)
            self._sm3.update(data)
        done: Future[None] = Future()
        done.set_result(None)
        return done

    def update(self, data: bytes | bytearray | memoryview, *,
               alongside: Callable[[], object] | None = None) -> None:
        """Hash ``data`` and return once it is hashed.

        ``alongside`` (for example, writing ``data`` to disk) runs on the calling thread
        while SM3 runs. If it raises, the hasher has consumed ``data`` anyway: the caller
        must discard this hasher.
        """
        done = self.feed(data)
        try:
            if alongside is not None:
                alongside()
        finally:
            done.result()

    def drain(self) -> None:
        """Wait until everything fed so far is hashed; raises the lane's error, if any.

        The lane is then let go: its last future holds the callbacks of the last update
        (and through them, perhaps, a caller's buffer), and a hasher may be kept for a long
        time between two of an upload's requests.
        """
        if self._lane is not None:
            self._lane.wait()
            self._lane = None

    def sha256(self) -> Digest:
        """The SHA-256 digest of everything fed so far."""
        self.drain()
        return Digest(algorithm="sha256", value=self._sha256.hexdigest())

    def sm3(self) -> Digest:
        """The SM3 digest of everything fed so far; raises ValueError if SM3 was disabled."""
        if self._sm3 is None:
            raise ValueError("this hasher was created without SM3")
        self.drain()
        return Digest(algorithm="sm3", value=self._sm3.hexdigest())


def hash_bytes(data: bytes) -> tuple[str, str]:
    """SHA-256 and SM3 of ``data`` held in memory, as lowercase hex (a batch's small files:
    no hasher, lane or future to set up for each)."""
    return hashlib.sha256(data).hexdigest(), sm3_hex(data)


def hash_stream(chunks: Iterable[bytes]) -> tuple[Digest, Digest, int]:
    """Hash an iterable of byte chunks; returns (sha256, sm3, length)."""
    hasher = DualHasher()
    for chunk in chunks:
        hasher.update(chunk)
    return hasher.sha256(), hasher.sm3(), hasher.length


def parse_hex_digest(value: str, *, algorithm: Literal["sha256", "sm3"]) -> Digest:
    """Parse a 64-hex-digit digest (case-insensitive); raises ValueError if malformed."""
    normalised = value.strip().lower()
    if not _HEX64.match(normalised):
        raise ValueError(f"{algorithm} must be 64 hexadecimal digits")
    return Digest(algorithm=algorithm, value=normalised)
