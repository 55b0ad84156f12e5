"""DualHasher (SHA-256 + SM3 in one pass) and digest parsing, against published vectors."""

from __future__ import annotations

import hashlib
import random
from collections.abc import Iterator

import pytest
from cryptography.hazmat.primitives import hashes

from evidence_service.domain.hashing import DualHasher, hash_stream, parse_hex_digest

#: GB/T 32905-2016 appendix A: example 1 ("abc") and example 2 ("abcd" × 16).
SM3_VECTORS = [
    (b"abc", "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0"),
    (b"abcd" * 16, "debe9ff92275b8a138604889c18e5a4d6fdb70e5387e5765293dcba39c0c5732"),
]
SHA256_ABC = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
SHA256_EMPTY = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
SM3_EMPTY = "1ab21d8355cfa17f8e61194831e81a8f22bec8c728fefb747ed035eb5082aa2b"
ODD_SIZES = (1, 2, 3, 5, 63, 64, 65, 127, 4099, 65_537, 262_143, 262_144, 262_145, 300_007)


def _pieces(data: bytes, sizes: tuple[int, ...] = ODD_SIZES) -> Iterator[bytes]:
    """``data`` cut into pieces of the given sizes in turn (the last one is whatever is left)."""
    offset, turn = 0, 0
    while offset < len(data):
        size = sizes[turn % len(sizes)]
        yield data[offset:offset + size]
        offset, turn = offset + size, turn + 1


def _reference_sm3(data: bytes) -> str:
    """SM3 from `cryptography` in one call: independent of hashlib and of any chunking."""
    digest = hashes.Hash(hashes.SM3())
    digest.update(data)
    return digest.finalize().hex()


@pytest.mark.parametrize(("data", "sm3"), SM3_VECTORS, ids=["abc", "abcd*16"])
def test_sm3_published_vectors(data: bytes, sm3: str) -> None:
    whole = DualHasher()
    whole.update(data)
    pieces = DualHasher()
    for piece in _pieces(data, (1, 2, 3, 7)):
        pieces.update(piece)
    for hasher in (whole, pieces):
        assert hasher.sm3().value == sm3
        assert hasher.sm3().algorithm == "sm3"
        assert hasher.sha256().value == hashlib.sha256(data).hexdigest()
        assert hasher.length == len(data)


def test_reference_sm3_agrees_with_the_vectors() -> None:
    for data, sm3 in SM3_VECTORS:
        assert _reference_sm3(data) == sm3


def test_sha256_abc_and_empty() -> None:
    hasher = DualHasher()
    hasher.update(b"a")
    hasher.update(memoryview(b"bc"))
    assert hasher.sha256().value == SHA256_ABC
    empty = DualHasher()
    assert (empty.sha256().value, empty.sm3().value, empty.length) == (SHA256_EMPTY, SM3_EMPTY, 0)


@pytest.mark.parametrize("size", [1, 1000, 262_143, 262_144, 262_145, 1_048_576 + 13,
                                  3 * 1_048_576 + 7])
def test_large_inputs_in_odd_pieces_match_one_shot_hashes(size: int) -> None:
    data = random.Random(size).randbytes(size)
    expected = (hashlib.sha256(data).hexdigest(), _reference_sm3(data))
    hasher = DualHasher()
    for piece in _pieces(data):
        hasher.update(piece)
    assert (hasher.sha256().value, hasher.sm3().value) == expected
    one_block = DualHasher()
    one_block.update(memoryview(data))  # a single update above the parallel threshold
    assert (one_block.sha256().value, one_block.sm3().value) == expected
    assert hasher.length == one_block.length == size


def test_digests_can_be_read_before_more_data_arrives() -> None:
    data = random.Random(7).randbytes(600_000)
    hasher = DualHasher()
    hasher.update(data[:300_000])
    assert hasher.sha256().value == hashlib.sha256(data[:300_000]).hexdigest()
    hasher.update(data[300_000:])
    assert hasher.sha256().value == hashlib.sha256(data).hexdigest()


def test_fed_buffers_are_hashed_in_order_while_the_caller_goes_on() -> None:
    """feed() returns before the lanes finish; rotating buffers are reused only after their
    future completes, and the digests are those of the bytes in feed order."""
    rng = random.Random(7)
    data = rng.randbytes(6 * (1 << 20) + 12_345)
    pieces = list(_pieces(data, (1 << 20, 300_007, 100, 2 << 20, 5)))
    hasher = DualHasher()
    released: list[int] = []
    pending = []
    for number, piece in enumerate(pieces):
        buffer = bytearray(piece)  # a buffer the caller will overwrite once it is released
        done = hasher.feed(buffer)
        done.add_done_callback(lambda _, n=number, b=buffer: (released.append(n), b.__setitem__(
            slice(None), bytes(len(b)))))
        pending.append(done)
    for done in pending:
        done.result()
    assert sorted(released) == list(range(len(pieces)))
    assert hasher.length == len(data)
    assert hasher.sha256().value == hashlib.sha256(data).hexdigest()
    assert hasher.sm3().value == _reference_sm3(data)


def test_a_failed_update_fails_every_later_one_and_the_digests() -> None:
    hasher = DualHasher()
    hasher.feed(bytes(1 << 20)).result()

    class Boom(Exception):
        pass

    def broken(_: object) -> None:
        raise Boom

    hasher._sm3 = type("Broken", (), {"update": staticmethod(broken),  # type: ignore[assignment]
                                      "hexdigest": staticmethod(lambda: "")})()
    first = hasher.feed(bytes(1 << 20))
    later = hasher.feed(bytes(1 << 20))
    with pytest.raises(Boom):
        first.result()
    with pytest.raises(Boom):
        later.result()
    with pytest.raises(Boom):
        hasher.sm3()


def test_hash_stream() -> None:
    data = random.Random(3).randbytes(500_001)
    sha256, sm3, length = hash_stream(_pieces(data))
    assert (sha256.value, sm3.value, length) == (
        hashlib.sha256(data).hexdigest(), _reference_sm3(data), len(data))


def test_without_sm3() -> None:
    hasher = DualHasher(with_sm3=False)
    hasher.update(b"abc")
    assert hasher.sha256().value == SHA256_ABC
    with pytest.raises(ValueError, match="without SM3"):
        hasher.sm3()


def test_parse_hex_digest_normalises() -> None:
    digest = parse_hex_digest(f"  {SHA256_ABC.upper()}\n", algorithm="sha256")
    assert (digest.algorithm, digest.value) == ("sha256", SHA256_ABC)
    assert parse_hex_digest(SM3_VECTORS[0][1], algorithm="sm3").algorithm == "sm3"


@pytest.mark.parametrize("value", [
    "", "abc", SHA256_ABC[:-1], SHA256_ABC + "0", "g" * 64, SHA256_ABC[:32] + " " + SHA256_ABC[33:],
    "0x" + SHA256_ABC[2:], "０" * 64, SHA256_ABC[:63] + "\x00",
])
def test_parse_hex_digest_rejects(value: str) -> None:
    with pytest.raises(ValueError, match="sha256 must be 64 hexadecimal digits"):
        parse_hex_digest(value, algorithm="sha256")
