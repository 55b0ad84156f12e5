"""The segment encoding (docs/proof-format.md §9): deterministic, and every damage refused."""

from __future__ import annotations

import hashlib
import json

import pytest

from evidence_service.domain.errors import CorruptSegment
from evidence_service.domain.log_segment import (
    decode_segment,
    encode_segment,
    parse_segment_key,
    segment_key,
)

ENTRIES = [b'{"kind":"evidence.registered","size":1,"v":1}',
           b'{"kind":"custody.viewed","note":"\\u2028 \\n","v":1}']
ROOT = bytes(range(32))


def _segment() -> bytes:
    return encode_segment(first_index=7, entries=ENTRIES, root=ROOT)


def test_vector() -> None:
    data = _segment()
    lines = data.split(b"\n")
    assert lines[0] == (b'{"count":2,"entry_encoding":"jcs-json","first_index":7,'
                        b'"format":"evidence-log-segment","root":"' + ROOT.hex().encode()
                        + b'","tree_size":9,"version":1}')
    assert lines[1:3] == ENTRIES
    body = b"\n".join(lines[:3]) + b"\n"
    assert json.loads(lines[3]) == {"sha256": hashlib.sha256(body).hexdigest()}
    assert lines[4] == b""


def test_round_trip_and_determinism() -> None:
    assert _segment() == _segment()
    decoded = decode_segment(_segment(), name="s")
    assert (decoded.first_index, decoded.end_index, decoded.root) == (7, 9, ROOT)
    assert list(decoded.entries) == ENTRIES
    assert decoded.sha256 == hashlib.sha256(_segment()).hexdigest()


def test_keys_sort_by_index_and_parse_back() -> None:
    assert segment_key(9, 10) > segment_key(2, 9)
    assert parse_segment_key(segment_key(2, 9)) == (2, 9)
    assert parse_segment_key("log-segments/1-2.jsonl") is None
    assert parse_segment_key(segment_key(5, 5)) is None


def test_a_flipped_byte_is_refused() -> None:
    data = bytearray(_segment())
    data[60] ^= 0x01
    with pytest.raises(CorruptSegment, match="s is corrupt: its bytes hash to"):
        decode_segment(bytes(data), name="s")


def test_a_truncated_segment_is_refused() -> None:
    with pytest.raises(CorruptSegment, match="truncated"):
        decode_segment(_segment()[:-1], name="s")
    with pytest.raises(CorruptSegment, match="no readable SHA-256 trailer"):
        decode_segment(_segment().rsplit(b"\n", 2)[0] + b"\n", name="s")


def _resealed(body: bytes) -> bytes:
    return body + json.dumps({"sha256": hashlib.sha256(body).hexdigest()}).encode() + b"\n"


def test_a_missing_entry_is_refused_even_with_a_recomputed_hash() -> None:
    lines = _segment().split(b"\n")
    with pytest.raises(CorruptSegment, match="holds 1 entries, its header says 2"):
        decode_segment(_resealed(lines[0] + b"\n" + lines[1] + b"\n"), name="s")


def test_another_format_or_version_is_refused() -> None:
    header, rest = _segment().split(b"\n", 1)
    body = header.replace(b'"version":1', b'"version":2') + b"\n" + rest.rsplit(b"\n", 2)[0]
    with pytest.raises(CorruptSegment, match="version 2 is not evidence-log-segment 1"):
        decode_segment(_resealed(body + b"\n"), name="s")


def test_inconsistent_header_fields_are_refused() -> None:
    header, rest = _segment().split(b"\n", 1)
    body = header.replace(b'"tree_size":9', b'"tree_size":10') + b"\n" + rest.rsplit(b"\n", 2)[0]
    with pytest.raises(CorruptSegment, match="inconsistent"):
        decode_segment(_resealed(body + b"\n"), name="s")


def test_encoding_refuses_what_it_cannot_represent() -> None:
    with pytest.raises(ValueError, match="at least one entry"):
        encode_segment(first_index=0, entries=[], root=ROOT)
    with pytest.raises(ValueError, match="newline"):
        encode_segment(first_index=0, entries=[b"a\nb"], root=ROOT)
    with pytest.raises(ValueError, match="32 bytes"):
        encode_segment(first_index=0, entries=[b"a"], root=b"x")
