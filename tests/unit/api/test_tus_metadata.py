"""tus creation headers into a NewUpload: ``parse_metadata`` and ``new_upload_from_headers``."""

from __future__ import annotations

import base64
import hashlib
from datetime import UTC, datetime, timedelta

import pytest

from evidence_service.api.tus import new_upload_from_headers as build
from evidence_service.api.tus import parse_metadata
from evidence_service.domain.errors import InvalidFileName, InvalidInput, PayloadTooLarge
from evidence_service.domain.models import Classification, EvidenceKind

CASE = "5b0e8f0e-3a53-4c36-9b3e-6f2f4b1f7a10"


def b64(value: str | bytes) -> str:
    raw = value.encode("utf-8") if isinstance(value, str) else value
    return base64.b64encode(raw).decode("ascii")


def header(**meta: str | bytes) -> str:
    base: dict[str, str | bytes] = {"case_id": CASE, "filename": "clip.mp4",
                                    "kind": "audio_visual"}
    return ",".join(f"{k} {b64(v)}" for k, v in {**base, **meta}.items())


# -- parse_metadata ----------------------------------------------------------------------------
def test_parse_metadata_decodes_pairs() -> None:
    parsed = parse_metadata(f"filename {b64('证据.mp4')}, empty,kind  {b64('x')} ")
    assert parsed == {"filename": "证据.mp4".encode(), "empty": b"", "kind": b"x"}


@pytest.mark.parametrize("value", [None, ""])
def test_parse_metadata_empty(value: str | None) -> None:
    assert parse_metadata(value) == {}


@pytest.mark.parametrize(("value", "match"), [
    ("filename !!!", "not base64"), ("filename abc", "not base64"),
    ("filename dGVzdA", "not base64"), ("filename dGVz dA==", "not base64"),
    ("filename dé==", "not base64"), ("bad-key dGVzdA==", "bad Upload-Metadata key"),
    ("kéy dGVzdA==", "bad Upload-Metadata key"), (" , ", "bad Upload-Metadata key"),
    ("a dGVzdA==,,b dGVzdA==", "bad Upload-Metadata key"),
    ("kind eA==,kind eQ==", "duplicate Upload-Metadata key 'kind'"),
    ("note " + "A" * 20_000, "too long"),
])
def test_parse_metadata_rejects(value: str, match: str) -> None:
    with pytest.raises(InvalidInput, match=match):
        parse_metadata(value)


# -- new_upload_from_headers -------------------------------------------------------------------
def test_full_metadata() -> None:
    sha = hashlib.sha256(b"x").hexdigest()
    new = build(length_header="1048576", metadata=header(
        filename="Cafe\u0301.mp4", filetype="Video/MP4", sha256=sha.upper(),
        classification="restricted", recorder_id="DSJ-0042", badge_number="310115",
        captured_at="2026-11-20T09:30:00+08:00", location="31.2304,121.4737",
        tag_party="某餐饮店", tag_penalty_number="沪罚〔2026〕12号", note="ignored"))
    assert (new.case_id, new.filename, new.media_type) == (CASE, "Café.mp4", "video/mp4")
    assert (new.kind, new.length, new.declared_sha256) == (
        EvidenceKind.AUDIO_VISUAL, 1_048_576, sha)
    assert new.classification is Classification.RESTRICTED
    assert new.capture.recorder_id == "DSJ-0042"
    assert new.capture.captured_at == datetime(2026, 11, 20, 1, 30, tzinfo=UTC)
    assert new.capture.captured_at.utcoffset() == timedelta(hours=8)  # type: ignore[union-attr]
    assert new.tags.party == "某餐饮店"
    assert new.tags.penalty_number == "沪罚〔2026〕12号"


def test_defaults() -> None:
    new = build(length_header="0", metadata=header())
    assert new.media_type == "application/octet-stream"
    assert new.classification is Classification.INTERNAL
    assert new.declared_sha256 is None
    assert new.capture.captured_at is None
    assert new.length == 0


def test_empty_optional_values_count_as_absent() -> None:
    new = build(length_header="5", metadata=header(sha256="", captured_at="", filetype=""))
    assert (new.declared_sha256, new.capture.captured_at) == (None, None)


def test_length_with_leading_zeros() -> None:
    assert build(length_header="000123", metadata=header()).length == 123


@pytest.mark.parametrize("length", ["", "-1", "+1", "1.0", "0x10", "1e3", " 1", "²", "١٢"])
def test_malformed_length(length: str) -> None:
    with pytest.raises(InvalidInput, match="Upload-Length must be a non-negative integer"):
        build(length_header=length, metadata=header())


def test_missing_length() -> None:
    with pytest.raises(InvalidInput, match="Upload-Length is required"):
        build(length_header=None, metadata=header())


@pytest.mark.parametrize("length", ["9" * 20, "1" + "0" * 40])
def test_astronomical_length_is_too_large(length: str) -> None:
    with pytest.raises(PayloadTooLarge, match="maximum"):
        build(length_header=length, metadata=header())


@pytest.mark.parametrize("key", ["case_id", "filename", "kind"])
def test_required_keys(key: str) -> None:
    meta = ",".join(p for p in header().split(",") if not p.startswith(key + " "))
    with pytest.raises(InvalidInput, match=f"must include '{key}'"):
        build(length_header="1", metadata=meta)


def test_bad_file_name_is_reported_as_such() -> None:
    with pytest.raises(InvalidFileName, match="path separators"):
        build(length_header="1", metadata=header(filename="../etc/passwd"))
    with pytest.raises(InvalidFileName, match="not valid UTF-8"):
        build(length_header="1", metadata=header(filename=b"\xff.mp4"))


def test_unknown_kind_lists_the_allowed_kinds() -> None:
    with pytest.raises(InvalidInput, match="unknown evidence kind 'hearsay'") as info:
        build(length_header="1", metadata=header(kind="hearsay"))
    for kind in EvidenceKind:
        assert kind.value in str(info.value)


@pytest.mark.parametrize("value", ["secret", "PUBLIC", " internal"])
def test_unknown_classification(value: str) -> None:
    with pytest.raises(InvalidInput, match="unknown classification") as info:
        build(length_header="1", metadata=header(classification=value))
    assert "public, internal, restricted" in str(info.value)


@pytest.mark.parametrize(("value", "match"), [
    ("2026-11-20T09:30:00", "captured_at must include a timezone offset"),
    ("2026-11-20", "captured_at must include a timezone offset"),
    ("yesterday", "captured_at must be an ISO 8601 time"),
    ("2026-13-01T00:00:00+08:00", "captured_at must be an ISO 8601 time"),
])
def test_bad_captured_at(value: str, match: str) -> None:
    with pytest.raises(InvalidInput, match=match):
        build(length_header="1", metadata=header(captured_at=value))


@pytest.mark.parametrize("value", ["2026-11-20T09:30:00Z", "2026-11-20T09:30:00-05:30"])
def test_captured_at_keeps_its_offset(value: str) -> None:
    new = build(length_header="1", metadata=header(captured_at=value))
    parsed = datetime.fromisoformat(value)
    assert new.capture.captured_at == parsed
    assert new.capture.captured_at.utcoffset() == parsed.utcoffset()  # type: ignore[union-attr]


@pytest.mark.parametrize("sha", ["abc", "g" * 64, "a" * 63, "a" * 65])
def test_malformed_sha256(sha: str) -> None:
    with pytest.raises(InvalidInput, match="sha256 must be 64 hexadecimal digits"):
        build(length_header="1", metadata=header(sha256=sha))


@pytest.mark.parametrize(("key", "field"), [("recorder_id", "recorder_id"),
                                             ("tag_party", "party"), ("location", "location")])
def test_overlong_values(key: str, field: str) -> None:
    with pytest.raises(InvalidInput, match=f"invalid upload metadata {field}"):
        build(length_header="1", metadata=header(**{key: "x" * 1000}))


def test_text_value_must_be_utf8() -> None:
    with pytest.raises(InvalidInput, match="'recorder_id' is not valid UTF-8"):
        build(length_header="1", metadata=header(recorder_id=b"\xff\xfe"))


def test_bad_media_type() -> None:
    with pytest.raises(InvalidInput, match="type/subtype"):
        build(length_header="1", metadata=header(filetype="video"))
