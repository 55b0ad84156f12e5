"""Input rules that do not depend on any framework: file names, media types, lengths."""

from __future__ import annotations

import re
import unicodedata
import uuid

from evidence_service.domain.errors import InvalidFileName, InvalidInput, PayloadTooLarge

MAX_FILENAME_BYTES = 255
_FORBIDDEN_NAMES = {".", ".."}


def validate_filename(raw: bytes | str) -> str:
    """Return a safe original file name or raise :class:`InvalidFileName`.

    Rejects invalid UTF-8, path separators, control and format characters, reserved names and
    names longer than 255 bytes. The name is recorded as given (NFC-normalised), never used as
    a storage path: objects are stored under their content address.
    """
    if isinstance(raw, bytes):
        try:
            name = raw.decode("utf-8", errors="strict")
        except UnicodeDecodeError as exc:
            raise InvalidFileName("file name is not valid UTF-8") from exc
    else:
        name = raw
    name = unicodedata.normalize("NFC", name)
    if not name or not name.strip():
        raise InvalidFileName("file name is empty")
    if len(name.encode("utf-8", errors="surrogatepass")) > MAX_FILENAME_BYTES:
        raise InvalidFileName(f"file name is longer than {MAX_FILENAME_BYTES} bytes")
    if "/" in name or "\\" in name:
        raise InvalidFileName("file name must not contain path separators")
    if name in _FORBIDDEN_NAMES:
        raise InvalidFileName("file name must not be '.' or '..'")
    for ch in name:
        category = unicodedata.category(ch)
        if category in ("Cc", "Cf", "Cs", "Zl", "Zp"):
            raise InvalidFileName(f"file name contains a control character (U+{ord(ch):04X})")
    return name


def validate_media_type(value: str | None) -> str:
    """Return a plausible ``type/subtype`` media type, defaulting to octet-stream."""
    if not value:
        return "application/octet-stream"
    value = value.strip().lower()
    major, sep, minor = value.partition("/")
    allowed = set("abcdefghijklmnopqrstuvwxyz0123456789!#$&^_.+-")
    if not sep or not major or not minor or len(value) > 127 or not set(major + minor) <= allowed:
        raise InvalidInput("media type must look like 'type/subtype'")
    return value


def validate_declared_length(length: int, *, max_length: int) -> int:
    """Check a declared upload length against the configured maximum."""
    if length < 0:
        raise InvalidInput("declared length must not be negative")
    if length > max_length:
        raise PayloadTooLarge(f"declared length {length} exceeds the maximum of {max_length} bytes")
    return length


def is_canonical_uuid(value: str) -> bool:
    """True if ``value`` is a UUID in the lowercase hyphenated form the service issues as ids.

    Lookups check this first, so an id that cannot exist (a NUL byte, a megabyte of text) is
    simply not found instead of reaching a database that rejects it with an error.
    """
    try:
        return str(uuid.UUID(value)) == value
    except ValueError:
        return False


def content_key(sha256_hex: str) -> str:
    """The content address of bytes with this SHA-256: ``sha256/ab/cd/abcd…``."""
    return f"sha256/{sha256_hex[:2]}/{sha256_hex[2:4]}/{sha256_hex}"


_LABEL = re.compile(r"^[a-z0-9_]{1,64}$")
MAX_LABELS = 16


def validate_labels(raw: str | None) -> frozenset[str]:
    """Parse comma-separated material labels (``[a-z0-9_]``, at most 16); raises InvalidInput."""
    if not raw:
        return frozenset()
    labels = [part.strip() for part in raw.split(",") if part.strip()]
    bad = [label for label in labels if not _LABEL.match(label)]
    if bad:
        raise InvalidInput(f"label {bad[0][:64]!r} must be 1-64 characters of a-z, 0-9 and _")
    if len(set(labels)) > MAX_LABELS:
        raise InvalidInput(f"at most {MAX_LABELS} labels")
    return frozenset(labels)
