"""tus 1.0 header parsing: ``Upload-Metadata`` into a :class:`NewUpload`.

Metadata keys (values base64, as the tus protocol says):

=====================  ========  ===================================================
key                    required  meaning
=====================  ========  ===================================================
case_id                yes       the case, which must belong to the caller's department
filename               yes       original file name (UTF-8; no separators or controls)
kind                   yes       evidence kind, e.g. ``audio_visual`` (see EvidenceKind)
filetype               no        media type, default ``application/octet-stream``
sha256                 no        SHA-256 the client computed; a mismatch rejects the item
classification         no        public | internal | restricted (default internal)
labels                 no        comma-separated material labels the negative list
                                 matches, e.g. ``personal_privacy``
recorder_id            no        body-worn recorder or device serial
badge_number           no        officer badge number
captured_at            no        ISO 8601 time of capture, with a timezone
location               no        free text or "lat,lon"
tag_<name>             no        party, place, time, cause_of_action, inspection_number,
                                 penalty_number
=====================  ========  ===================================================
"""

from __future__ import annotations

import base64
import binascii
import unicodedata
from datetime import datetime
from enum import StrEnum
from typing import TypeVar

from pydantic import ValidationError

from evidence_service.domain.errors import InvalidInput, PayloadTooLarge
from evidence_service.domain.hashing import parse_hex_digest
from evidence_service.domain.models import (
    CaptureMetadata,
    Classification,
    EvidenceKind,
    EvidenceTags,
    NewUpload,
)
from evidence_service.domain.rules import validate_filename, validate_labels, validate_media_type

TUS_VERSION = "1.0.0"
_E = TypeVar("_E", bound=StrEnum)
TUS_EXTENSIONS = "creation,termination"
_TAGS = set(EvidenceTags.model_fields)
_CAPTURE = {"recorder_id", "badge_number", "location"}
_MAX_HEADER = 16 * 1024


def parse_metadata(header: str | None) -> dict[str, bytes]:
    """Decode an ``Upload-Metadata`` header; raises InvalidInput when malformed."""
    if not header:
        return {}
    if len(header) > _MAX_HEADER:
        raise InvalidInput("Upload-Metadata is too long")
    pairs: dict[str, bytes] = {}
    for part in header.split(","):
        key, _, value = part.strip().partition(" ")
        if not key or not key.isascii() or not key.replace("_", "").isalnum():
            raise InvalidInput(f"bad Upload-Metadata key {key[:40]!r}")
        if key in pairs:
            raise InvalidInput(f"duplicate Upload-Metadata key {key!r}")
        try:
            pairs[key] = base64.b64decode(value.strip(), validate=True) if value else b""
        except (binascii.Error, ValueError) as exc:
            raise InvalidInput(f"Upload-Metadata value of {key!r} is not base64") from exc
    return pairs


def _text(meta: dict[str, bytes], key: str) -> str | None:
    raw = meta.get(key)
    if raw is None or raw == b"":
        return None
    try:
        value = raw.decode("utf-8", errors="strict")
    except UnicodeDecodeError as exc:
        raise InvalidInput(f"Upload-Metadata {key!r} is not valid UTF-8") from exc
    # free-text values are stored and shown, and PostgreSQL cannot store NUL in text at all
    # (the file name, media type and case id have rules and errors of their own)
    free_text = key.startswith("tag_") or key in _CAPTURE
    if free_text and any(unicodedata.category(ch) == "Cc" for ch in value):
        raise InvalidInput(f"Upload-Metadata {key!r} contains control characters")
    return value


def _required(meta: dict[str, bytes], key: str) -> str:
    value = _text(meta, key)
    if value is None:
        raise InvalidInput(f"Upload-Metadata must include {key!r}")
    return value


def _enum(value: str, enum: type[_E], what: str) -> _E:
    try:
        return enum(value)
    except ValueError as exc:
        allowed = ", ".join(m.value for m in enum)
        raise InvalidInput(f"unknown {what} {value[:40]!r}; expected one of: {allowed}") from exc


def _timestamp(value: str | None, key: str) -> datetime | None:
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError as exc:
        raise InvalidInput(f"{key} must be an ISO 8601 time, not {value[:40]!r}") from exc
    if parsed.tzinfo is None:
        raise InvalidInput(f"{key} must include a timezone offset")
    return parsed


def new_upload_from_headers(*, length_header: str | None, metadata: str | None) -> NewUpload:
    """Build a :class:`NewUpload` from tus creation headers; raises InvalidInput."""
    if length_header is None:
        raise InvalidInput("Upload-Length is required (deferred length is not supported)")
    if not (length_header.isascii() and length_header.isdigit()):
        raise InvalidInput("Upload-Length must be a non-negative integer")
    if len(length_header.lstrip("0")) > 19:
        raise PayloadTooLarge("Upload-Length exceeds the maximum upload size")
    return new_upload_from_metadata(parse_metadata(metadata), length=int(length_header))


def member_name_and_hash(meta: dict[str, bytes]) -> tuple[str, str | None]:
    """The file name and declared SHA-256 of ``meta``, validated as
    :func:`new_upload_from_metadata` validates them; raises InvalidInput.

    For a batch's members, which share every other value: those are validated once."""
    if "filename" not in meta:
        raise InvalidInput("Upload-Metadata must include 'filename'")
    filename = validate_filename(meta["filename"])
    sha = _text(meta, "sha256")
    try:
        return filename, parse_hex_digest(sha, algorithm="sha256").value if sha else None
    except ValueError as exc:
        raise InvalidInput(f"invalid upload metadata: {exc}") from exc


def new_upload_from_metadata(meta: dict[str, bytes], *, length: int) -> NewUpload:
    """Build a :class:`NewUpload` from decoded metadata (keys above); raises InvalidInput.

    Shared by tus creation and batch registration, whose members carry the same keys.
    """
    if "filename" not in meta:
        raise InvalidInput("Upload-Metadata must include 'filename'")
    filename = validate_filename(meta["filename"])
    kind = _enum(_required(meta, "kind"), EvidenceKind, "evidence kind")
    sha = _text(meta, "sha256")
    captured_at = _timestamp(_text(meta, "captured_at"), "captured_at")
    try:
        capture = CaptureMetadata(captured_at=captured_at,
                                  **{k: _text(meta, k) for k in _CAPTURE})
        tags = EvidenceTags(**{k: _text(meta, f"tag_{k}") for k in _TAGS})
        return NewUpload(
            case_id=_required(meta, "case_id"), filename=filename,
            media_type=validate_media_type(_text(meta, "filetype")),
            kind=kind,
            length=length,
            declared_sha256=parse_hex_digest(sha, algorithm="sha256").value if sha else None,
            capture=capture, tags=tags,
            classification=_enum(_text(meta, "classification") or "internal",
                                 Classification, "classification"),
            labels=validate_labels(_text(meta, "labels")))
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ()))
        raise InvalidInput(f"invalid upload metadata {where}: {first.get('msg')}") from exc
    except ValueError as exc:  # parse_hex_digest
        if isinstance(exc, InvalidInput):
            raise
        raise InvalidInput(f"invalid upload metadata: {exc}") from exc
