"""Streaming SHA-256 (primary) and SM3 (GB/T 32905, computed alongside) in one pass.

SHA-256 and SM3 are fed the same buffers. Both hashlib objects release the GIL on large
updates, so :class:`DualHasher` runs SM3 on a helper thread while SHA-256 runs on the caller's
thread: the two cores of a small server then hash in parallel instead of back to back.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Literal, Protocol

from evidence_service.domain.models import Digest

_HEX64 = re.compile(r"^[0-9a-f]{64}$")
#: Below this size a thread hand-off costs more than it saves.
_PARALLEL_MIN = 256 * 1024


class _Hash(Protocol):
    def update(self, data: bytes | bytearray | memoryview, /) -> None: ...
    def hexdigest(self) -> str: ...


def _sm3_factory() -> Callable[[], _Hash]:
    try:
        hashlib.new("sm3")
    except ValueError:  # OpenSSL built without SM3: use the one bundled with `cryptography`
        from cryptography.hazmat.primitives import hashes

        class _CryptographySM3:
            def __init__(self) -> None:
                self._h = hashes.Hash(hashes.SM3())
                self._hex: str | None = None

            def update(self, data: bytes | bytearray | memoryview, /) -> None:
                self._h.update(bytes(data))

            def hexdigest(self) -> str:
                if self._hex is None:
                    self._hex = self._h.finalize().hex()
                return self._hex

        return _CryptographySM3
    return lambda: hashlib.new("sm3")


new_sm3 = _sm3_factory()
_pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="sm3")


class DualHasher:
    """Feed bytes once, get SHA-256 and SM3 digests.

    Not thread-safe: one writer at a time (uploads are serialised per upload id).
    """

    def __init__(self, *, with_sm3: bool = True) -> None:
        self._sha256 = hashlib.sha256()
        self._sm3: _Hash | None = new_sm3() if with_sm3 else None
        self.length = 0

    def update(self, data: bytes | bytearray | memoryview, *,
               alongside: Callable[[], object] | None = None) -> None:
        """Hash ``data``; large buffers are hashed by both algorithms in parallel.

        ``alongside`` (for example, writing ``data`` to disk) runs on the calling thread while
        SM3 runs on the helper thread. If it raises, the hasher has consumed ``data`` anyway:
        the caller must discard this hasher.
        """
        self.length += len(data)
        if self._sm3 is None or len(data) < _PARALLEL_MIN:
            if alongside is not None:
                alongside()
            self._sha256.update(data)
            if self._sm3 is not None:
                self._sm3.update(data)
            return
        pending: Future[None] = _pool.submit(self._sm3.update, data)
        try:
            if alongside is not None:
                alongside()
            self._sha256.update(data)
        finally:
            pending.result()

    def sha256(self) -> Digest:
        """The SHA-256 digest of everything fed so far."""
        return Digest(algorithm="sha256", value=self._sha256.hexdigest())

    def sm3(self) -> Digest:
        """The SM3 digest of everything fed so far; raises ValueError if SM3 was disabled."""
        if self._sm3 is None:
            raise ValueError("this hasher was created without SM3")
        return Digest(algorithm="sm3", value=self._sm3.hexdigest())


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
