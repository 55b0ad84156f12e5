"""SM3 (GB/T 32905-2016) hash objects: the fastest implementation this machine has.

SM3 sets the ceiling of ingest: no CPU has instructions for it, and OpenSSL's SM3 is plain
C on x86-64. libgcrypt (GnuPG's crypto library, on every Debian system as ``libgcrypt20``)
has an AVX/BMI2 assembly SM3 since 1.10, measured 25-35 % faster per byte than OpenSSL's on
the machines here (``docs/benchmarks.md``). So, in order of preference:

1. libgcrypt >= 1.10, through ``ctypes`` (a foreign call releases the GIL, as hashlib's
   large updates do), used only after it reproduces the standard's test vectors and
   OpenSSL's digest of a large random buffer at import;
2. OpenSSL's, through ``hashlib``;
3. the one bundled with ``cryptography``, for a Python whose OpenSSL lacks SM3.

:data:`SM3_IMPLEMENTATION` names the one in use. ``EVIDENCE_SM3_IMPLEMENTATION=openssl``
forces OpenSSL's (a benchmark's baseline, or a way out should libgcrypt misbehave).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import hashlib
import os
import weakref
from collections.abc import Callable
from typing import Protocol


class SM3Hash(Protocol):
    def update(self, data: bytes | bytearray | memoryview, /) -> None: ...
    def hexdigest(self) -> str: ...


#: Test vectors of GB/T 32905-2016, appendix A: "abc" and "abcd" repeated 16 times.
_VECTORS = (
    (b"abc", "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0"),
    (b"abcd" * 16, "debe9ff92275b8a138604889c18e5a4d6fdb70e5387e5765293dcba39c0c5732"),
)
_GCRY_MD_SM3 = 326  # enum gcry_md_algos in gcrypt.h
_GCRYCTL_DISABLE_SECMEM = 37
_GCRYCTL_INITIALIZATION_FINISHED = 38
_MIN_GCRYPT = (1, 10, 0)  # the first release with the AVX/BMI2 SM3


class _Gcrypt:
    """The few libgcrypt calls a message digest needs."""

    def __init__(self, lib: ctypes.CDLL) -> None:
        lib.gcry_md_open.argtypes = [ctypes.POINTER(ctypes.c_void_p), ctypes.c_int,
                                     ctypes.c_uint]
        lib.gcry_md_open.restype = ctypes.c_uint
        lib.gcry_md_write.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_size_t]
        lib.gcry_md_write.restype = None
        lib.gcry_md_read.argtypes = [ctypes.c_void_p, ctypes.c_int]
        lib.gcry_md_read.restype = ctypes.POINTER(ctypes.c_ubyte * 32)
        lib.gcry_md_close.argtypes = [ctypes.c_void_p]
        lib.gcry_md_close.restype = None
        self.open = lib.gcry_md_open
        self.write = lib.gcry_md_write
        self.read = lib.gcry_md_read
        self.close = lib.gcry_md_close


def _load_gcrypt() -> _Gcrypt | None:
    name = ctypes.util.find_library("gcrypt") or "libgcrypt.so.20"
    try:
        lib = ctypes.CDLL(name)
    except OSError:
        return None
    lib.gcry_check_version.argtypes = [ctypes.c_char_p]
    lib.gcry_check_version.restype = ctypes.c_char_p
    wanted = ".".join(map(str, _MIN_GCRYPT)).encode()  # "1.10.0": it wants all three parts
    if not lib.gcry_check_version(wanted):  # also initialises the library, as it must be
        return None
    # digests need no secure memory; without this libgcrypt warns about it on first use
    lib.gcry_control(_GCRYCTL_DISABLE_SECMEM, 0)
    lib.gcry_control(_GCRYCTL_INITIALIZATION_FINISHED, 0)
    return _Gcrypt(lib)


class _GcryptSM3:
    """hashlib-like SM3 object over a libgcrypt message-digest handle."""

    _lib: _Gcrypt

    def __init__(self) -> None:
        handle = ctypes.c_void_p()
        if self._lib.open(ctypes.byref(handle), _GCRY_MD_SM3, 0) != 0:
            raise ValueError("libgcrypt refused to open an SM3 context")
        self._handle = handle
        self._hex: str | None = None
        self._closer = weakref.finalize(self, self._lib.close, handle)

    def update(self, data: bytes | bytearray | memoryview, /) -> None:
        if self._hex is not None:
            raise ValueError("update() after hexdigest()")
        size = len(data) if not isinstance(data, memoryview) else data.nbytes
        if not size:
            return
        if isinstance(data, bytes):
            self._lib.write(self._handle, data, size)
            return
        view = data if isinstance(data, memoryview) else memoryview(data)
        if view.readonly or not view.c_contiguous:
            self._lib.write(self._handle, bytes(view), size)
            return
        # the caller's buffer itself, no copy; the view keeps it alive during the call
        self._lib.write(self._handle, (ctypes.c_char * size).from_buffer(view.cast("B")),
                        size)

    def hexdigest(self) -> str:
        if self._hex is None:
            self._hex = bytes(self._lib.read(self._handle, _GCRY_MD_SM3).contents).hex()
            self._closer()
        return self._hex


class _CryptographySM3:
    """SM3 from ``cryptography``, for a Python whose OpenSSL was built without it."""

    def __init__(self) -> None:
        from cryptography.hazmat.primitives import hashes

        self._h = hashes.Hash(hashes.SM3())
        self._hex: str | None = None

    def update(self, data: bytes | bytearray | memoryview, /) -> None:
        self._h.update(bytes(data))

    def hexdigest(self) -> str:
        if self._hex is None:
            self._hex = self._h.finalize().hex()
        return self._hex


def _openssl() -> tuple[str, Callable[[], SM3Hash]]:
    try:
        hashlib.new("sm3")
    except ValueError:
        return "cryptography", _CryptographySM3
    return "openssl", lambda: hashlib.new("sm3")


def _agrees(candidate: Callable[[], SM3Hash], reference: Callable[[], SM3Hash]) -> bool:
    """The standard's vectors, and the reference's digest of 1 MiB fed in odd pieces."""
    for message, expected in _VECTORS:
        h = candidate()
        h.update(message)
        if h.hexdigest() != expected:
            return False
    sample = os.urandom(1 << 20)
    ours, theirs = candidate(), reference()
    theirs.update(sample)
    for start, end in ((0, 1), (1, 65), (65, 4097), (4097, 1 << 20)):
        ours.update(memoryview(bytearray(sample[start:end])))
    return ours.hexdigest() == theirs.hexdigest()


def _choose() -> tuple[str, Callable[[], SM3Hash]]:
    fallback = _openssl()
    if os.environ.get("EVIDENCE_SM3_IMPLEMENTATION", "").lower() in {"openssl", "hashlib"}:
        return fallback
    gcrypt = _load_gcrypt()
    if gcrypt is None:
        return fallback
    _GcryptSM3._lib = gcrypt
    try:
        usable = _agrees(_GcryptSM3, fallback[1])
    except (OSError, ValueError, AttributeError):
        usable = False
    return ("libgcrypt", _GcryptSM3) if usable else fallback


SM3_IMPLEMENTATION, new_sm3 = _choose()
_SMALL = 64 << 10  # below this a hash object's set-up outweighs libgcrypt's faster rounds


def _small_sm3() -> Callable[[], SM3Hash]:
    """The cheapest SM3 object to set up: OpenSSL's is one C call, libgcrypt's four foreign
    calls and a finaliser. Either gives the same digest (checked above when both load)."""
    name, factory = _openssl()
    return factory if name == "openssl" else new_sm3


_new_small_sm3 = _small_sm3()


def sm3_hex(data: bytes) -> str:
    """The SM3 digest of ``data`` (held in memory), in lowercase hex."""
    h = _new_small_sm3() if len(data) < _SMALL else new_sm3()
    h.update(data)
    return h.hexdigest()


__all__ = ["SM3_IMPLEMENTATION", "SM3Hash", "new_sm3", "sm3_hex"]
