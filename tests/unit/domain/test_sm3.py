"""The SM3 implementations: libgcrypt's (through ctypes) against OpenSSL's and the standard."""

from __future__ import annotations

import gc
import hashlib
import os
import random
import subprocess
import sys

import pytest
from cryptography.hazmat.primitives import hashes

from evidence_service.domain import sm3
from evidence_service.domain.hashing import hash_bytes

VECTORS = [
    (b"abc", "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0"),
    (b"abcd" * 16, "debe9ff92275b8a138604889c18e5a4d6fdb70e5387e5765293dcba39c0c5732"),
    (b"", "1ab21d8355cfa17f8e61194831e81a8f22bec8c728fefb747ed035eb5082aa2b"),
]

needs_gcrypt = pytest.mark.skipif(
    sm3.SM3_IMPLEMENTATION != "libgcrypt" and not os.environ.get("CI"),
    reason="libgcrypt >= 1.10 is not on this machine (Debian's libgcrypt20); SM3 runs on "
           "OpenSSL here",
)


def _reference(data: bytes) -> str:
    digest = hashes.Hash(hashes.SM3())
    digest.update(data)
    return digest.finalize().hex()


@needs_gcrypt
def test_ci_machines_hash_sm3_with_libgcrypt() -> None:
    # Debian 12 ships libgcrypt 1.10: losing it would silently cost a quarter of ingest speed
    assert sm3.SM3_IMPLEMENTATION == "libgcrypt"


@pytest.mark.parametrize(("data", "expected"), VECTORS, ids=["abc", "abcd*16", "empty"])
def test_the_chosen_implementation_gives_the_standards_digests(data: bytes,
                                                               expected: str) -> None:
    h = sm3.new_sm3()
    h.update(data)
    assert h.hexdigest() == expected
    assert h.hexdigest() == expected  # asking twice gives the same answer


@needs_gcrypt
def test_libgcrypt_agrees_with_openssl_whatever_the_pieces_and_buffer_types() -> None:
    rng = random.Random(32905)
    data = rng.randbytes(3 << 20)
    for _ in range(5):
        h = sm3.new_sm3()
        offset = 0
        while offset < len(data):
            size = rng.choice((1, 63, 64, 65, 4096, 65_537, 1 << 20))
            piece = data[offset:offset + size]
            kind = rng.randrange(4)
            if kind == 0:
                h.update(piece)  # bytes
            elif kind == 1:
                h.update(bytearray(piece))
            elif kind == 2:
                buffer = bytearray(b"x" * 7 + piece + b"y" * 9)
                h.update(memoryview(buffer)[7:7 + len(piece)])  # a window of a larger buffer
            else:
                h.update(memoryview(piece))  # read-only view
            offset += size
        assert h.hexdigest() == _reference(data)


@needs_gcrypt
def test_a_strided_view_hashes_the_bytes_it_shows() -> None:
    data = bytes(range(256)) * 64
    h = sm3.new_sm3()
    h.update(memoryview(bytearray(data))[::2])
    assert h.hexdigest() == _reference(data[::2])


@needs_gcrypt
def test_libgcrypt_contexts_are_closed_and_finished_objects_refuse_more_data() -> None:
    h = sm3.new_sm3()
    h.update(b"abc")
    closer = h._closer  # type: ignore[attr-defined]
    assert closer.alive
    assert h.hexdigest() == VECTORS[0][1]
    assert not closer.alive  # the C context is freed as soon as the digest is read
    with pytest.raises(ValueError, match="after hexdigest"):
        h.update(b"more")
    abandoned = sm3.new_sm3()
    abandoned.update(b"never finished")
    abandoned_closer = abandoned._closer  # type: ignore[attr-defined]
    del abandoned
    gc.collect()
    assert not abandoned_closer.alive  # and when the object is dropped unfinished


def test_openssl_can_be_forced() -> None:
    code = "from evidence_service.domain import sm3; print(sm3.SM3_IMPLEMENTATION)"
    env = {**os.environ, "EVIDENCE_SM3_IMPLEMENTATION": "openssl"}
    out = subprocess.run([sys.executable, "-c", code], env=env, check=True,
                         capture_output=True, text=True).stdout.strip()
    expected = "openssl" if "sm3" in hashlib.algorithms_available else "cryptography"
    assert out == expected


@pytest.mark.parametrize("size", [0, 3, 64, (64 << 10) - 1, 64 << 10, (64 << 10) + 1])
def test_one_shot_digests_match_the_streaming_object_on_both_sides_of_the_threshold(
        size: int) -> None:
    data = os.urandom(size)
    streaming = sm3.new_sm3()
    streaming.update(data)
    assert sm3.sm3_hex(data) == streaming.hexdigest()
    assert hash_bytes(data) == (hashlib.sha256(data).hexdigest(), streaming.hexdigest())
