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
from datetime import datetime

from pydantic import ValidationError

from evidence_service.domain.errors import InvalidInput
from evidence_service.domain.hashing import parse_hex_digest
from evidence_service.domain.models import (
    CaptureMetadata,
    Classification,
    EvidenceKind,
    EvidenceTags,
    NewUpload,
)
from evidence_service.domain.rules import validate_filename, validate_media_type

TUS_VERSION = "1.0.0"
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
        return raw.decode("utf-8", errors="strict")
    except UnicodeDecodeError as exc:
        raise InvalidInput(f"Upload-Metadata {key!r} is not valid UTF-8") from exc


def _required(meta: dict[str, bytes], key: str) -> str:
    value = _text(meta, key)
    if value is None:
        raise InvalidInput(f"Upload-Metadata must include {key!r}")
    return value


def _enum(value: str, enum: type[EvidenceKind] | type[Classification], what: str) -> object:
    try:
        return enum(value)
    except ValueError as exc:
        allowed = ", ".join(m.value for m in enum)
        raise InvalidInput(f"unknown {what} {value[:40]!r}; expected one of: {allowed}") from exc


def new_upload_from_headers(*, length_header: str | None, metadata: str | None) -> NewUpload:
    """Build a :class:`NewUpload` from tus creation headers; raises InvalidInput."""
    if length_header is None:
        raise InvalidInput("Upload-Length is required (deferred length is not supported)")
    if not length_header.isdigit() or len(length_header) > 19:
        raise InvalidInput("Upload-Length must be a non-negative integer")
    meta = parse_metadata(metadata)
    if "filename" not in meta:
        raise InvalidInput("Upload-Metadata must include 'filename'")
    filename = validate_filename(meta["filename"])
    kind = _enum(_required(meta, "kind"), EvidenceKind, "evidence kind")
    sha = _text(meta, "sha256")
    captured = _text(meta, "captured_at")
    try:
        capture = CaptureMetadata(
            captured_at=datetime.fromisoformat(captured) if captured else None,
            **{k: _text(meta, k) for k in _CAPTURE})
        if capture.captured_at is not None and capture.captured_at.tzinfo is None:
            raise InvalidInput("captured_at must include a timezone offset")
        tags = EvidenceTags(**{k: _text(meta, f"tag_{k}") for k in _TAGS})
        return NewUpload(
            case_id=_required(meta, "case_id"), filename=filename,
            media_type=validate_media_type(_text(meta, "filetype")),
            kind=kind,  # type: ignore[arg-type]
            length=int(length_header),
            declared_sha256=parse_hex_digest(sha, algorithm="sha256").value if sha else None,
            capture=capture, tags=tags,
            classification=_enum(_text(meta, "classification") or "internal",  # type: ignore[arg-type]
                                 Classification, "classification"))
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ()))
        raise InvalidInput(f"invalid upload metadata {where}: {first.get('msg')}") from exc
    except ValueError as exc:  # fromisoformat, parse_hex_digest
        if isinstance(exc, InvalidInput):
            raise
        raise InvalidInput(f"invalid upload metadata: {exc}") from exc
