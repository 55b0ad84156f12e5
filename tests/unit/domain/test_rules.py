"""File name, media type, length and id rules (pure functions)."""

from __future__ import annotations

import unicodedata
import uuid

import pytest

from evidence_service.domain.errors import InvalidFileName, InvalidInput, PayloadTooLarge
from evidence_service.domain.rules import (
    MAX_FILENAME_BYTES,
    content_key,
    is_canonical_uuid,
    validate_declared_length,
    validate_filename,
    validate_media_type,
)


@pytest.mark.parametrize("name", [
    "clip.mp4", "执法记录仪_20261120.MP4", "a b (1).jpg", "...", "..x", "x..", ".hidden",
    "a" * MAX_FILENAME_BYTES, "证" * (MAX_FILENAME_BYTES // 3), "emoji 📷.png", "tab-less",
])
def test_accepts_ordinary_names(name: str) -> None:
    assert validate_filename(name) == name
    assert validate_filename(name.encode("utf-8")) == name


def test_decomposed_name_is_nfc_normalised() -> None:
    decomposed = "Cafe\u0301 re\u0301sume\u0301.pdf"
    assert unicodedata.is_normalized("NFD", decomposed)
    result = validate_filename(decomposed.encode("utf-8"))
    assert result == "Café résumé.pdf"
    assert result == unicodedata.normalize("NFC", decomposed)
    assert len(result) < len(decomposed)


def test_length_limit_counts_bytes_after_normalisation() -> None:
    # 128 × "é" decomposed is 384 bytes, composed 256 bytes: still one byte too long
    with pytest.raises(InvalidFileName, match="longer than 255 bytes"):
        validate_filename("e\u0301" * 128)
    assert validate_filename("e\u0301" * 127) == "é" * 127


@pytest.mark.parametrize(("name", "match"), [
    (b"", "empty"), (b"   ", "empty"), ("", "empty"),
    (b"a/b.mp4", "path separators"), (b"/etc/passwd", "path separators"),
    (b"a\\b.mp4", "path separators"), (b"../x", "path separators"),
    (b"..", "'.' or '..'"), (b".", "'.' or '..'"),
    (b"a\x00b", "U\\+0000"), (b"a\x1bb", "U\\+001B"), (b"a\nb", "U\\+000A"),
    (b"a\tb", "U\\+0009"), (b"a\x7fb", "U\\+007F"), ("a\x85b", "U\\+0085"),
    ("evil\u202egnp.exe", "U\\+202E"), ("\ufeffa.txt", "U\\+FEFF"), ("a\u200bb", "U\\+200B"),
    ("a\u2028b", "U\\+2028"), ("a\u2029b", "U\\+2029"), ("a\ud800b", "U\\+D800"),
    (b"\xff\xfe.mp4", "not valid UTF-8"), (b"\xc3\x28", "not valid UTF-8"),
    (b"\xed\xa0\x80", "not valid UTF-8"), (b"\xc0\xaf", "not valid UTF-8"),
    (b"a" * (MAX_FILENAME_BYTES + 1), "longer than 255 bytes"),
    ("证" * 86, "longer than 255 bytes"),
])
def test_rejects_unsafe_names(name: bytes | str, match: str) -> None:
    with pytest.raises(InvalidFileName, match=match):
        validate_filename(name)


def test_invalid_file_name_is_invalid_input() -> None:
    with pytest.raises(InvalidInput):
        validate_filename(b"a/b")
    assert issubclass(InvalidFileName, ValueError)


@pytest.mark.parametrize(("value", "expected"), [
    (None, "application/octet-stream"), ("", "application/octet-stream"),
    ("video/mp4", "video/mp4"), ("Video/MP4", "video/mp4"), (" image/jpeg ", "image/jpeg"),
    ("application/vnd.ms-excel", "application/vnd.ms-excel"),
    ("application/ld+json", "application/ld+json"), ("audio/x-wav", "audio/x-wav"),
])
def test_media_type_accepted(value: str | None, expected: str) -> None:
    assert validate_media_type(value) == expected


@pytest.mark.parametrize("value", [
    "video", "video/", "/mp4", "video/mp4; codecs=avc1", "video mp4", "vidéo/mp4",
    "video/mp4\x00", "a/b/c/" + "x" * 130, "text/pla\nin", "*/*(", "x/" + "y" * 130,
])
def test_media_type_rejected(value: str) -> None:
    with pytest.raises(InvalidInput, match="type/subtype"):
        validate_media_type(value)


def test_declared_length_limits() -> None:
    assert validate_declared_length(0, max_length=10) == 0
    assert validate_declared_length(10, max_length=10) == 10
    with pytest.raises(PayloadTooLarge, match="exceeds the maximum of 10 bytes"):
        validate_declared_length(11, max_length=10)
    with pytest.raises(InvalidInput, match="negative"):
        validate_declared_length(-1, max_length=10)


def test_content_key_is_the_sharded_content_address() -> None:
    sha = "ab" + "cd" + "e" * 60
    assert content_key(sha) == f"sha256/ab/cd/{sha}"
    empty = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    assert content_key(empty) == f"sha256/e3/b0/{empty}"


def test_canonical_uuid() -> None:
    value = str(uuid.uuid4())
    assert is_canonical_uuid(value)
    for other in (value.upper(), value.replace("-", ""), "{" + value + "}", "urn:uuid:" + value,
                  "", "not-a-uuid", value + "\x00", "a\x00b", "x" * 10_000):
        assert not is_canonical_uuid(other), other
