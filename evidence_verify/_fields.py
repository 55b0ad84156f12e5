"""Strict JSON reading and field checks shared by the bundle and consistency parsers.

Every failure raises :class:`BundleFormatError` with a message that names the field by its
path (``bundle.anchor.chain_id``, ``bundle.inclusion_path[3]``), so the issuer can be told
exactly what is wrong.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from typing import Any

from evidence_verify.errors import BundleFormatError

UINT64_MAX = 2**64 - 1
_HEX32 = re.compile(r"[0-9a-f]{64}")


def loads_json(data: bytes | str, what: str) -> Any:
    """Parse JSON text, refusing duplicate keys, NaN/Infinity and non-UTF-8 bytes.

    Raises BundleFormatError naming ``what``.
    """
    try:
        text = data.decode("utf-8") if isinstance(data, bytes) else data
        return json.loads(text, object_pairs_hook=_unique_keys, parse_constant=_no_constant)
    except UnicodeDecodeError as exc:
        raise BundleFormatError(f"{what} is not UTF-8 text: {exc}") from exc
    except json.JSONDecodeError as exc:
        raise BundleFormatError(f"{what} is not valid JSON: {exc}") from exc
    except ValueError as exc:  # raised by the hooks below
        raise BundleFormatError(f"{what}: {exc}") from exc


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise ValueError(f"duplicate key {key!r}")
        result[key] = value
    return result


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not allowed")


def fields(
    value: object, where: str, *, required: Iterable[str], optional: Iterable[str] = ()
) -> Mapping[str, Any]:
    """``value`` as a JSON object with all ``required`` keys and no keys outside both lists.

    Raises BundleFormatError naming the missing or unknown keys.
    """
    if not isinstance(value, Mapping):
        raise BundleFormatError(f"{where} must be a JSON object, not {type_name(value)}")
    required = tuple(required)
    missing = [key for key in required if key not in value]
    if missing:
        raise BundleFormatError(f"{where} is missing field(s): {', '.join(missing)}")
    known = set(required) | set(optional)
    unknown = sorted(str(key) for key in value if key not in known)
    if unknown:
        raise BundleFormatError(f"{where} has unknown field(s): {', '.join(unknown)}")
    return value


def integer(value: object, where: str, *, minimum: int = 0, maximum: int = UINT64_MAX) -> int:
    """``value`` as an int in ``[minimum, maximum]`` (booleans are not integers).

    Raises BundleFormatError naming ``where``.
    """
    if type(value) is not int:
        raise BundleFormatError(f"{where} must be an integer, not {type_name(value)}")
    if not minimum <= value <= maximum:
        raise BundleFormatError(f"{where} is {value}, outside [{minimum}, {maximum}]")
    return value


def string(value: object, where: str) -> str:
    """``value`` as a str. Raises BundleFormatError naming ``where``."""
    if not isinstance(value, str):
        raise BundleFormatError(f"{where} must be a string, not {type_name(value)}")
    return value


def hex32(value: object, where: str) -> bytes:
    """A 32-byte hash given as exactly 64 lowercase hex digits (no ``0x``).

    Raises BundleFormatError naming ``where``.
    """
    text = string(value, where)
    if not _HEX32.fullmatch(text):
        raise BundleFormatError(
            f"{where} must be 64 lowercase hex digits, got {shorten(text)!r} ({len(text)} chars)"
        )
    return bytes.fromhex(text)


def hex32_list(value: object, where: str) -> tuple[bytes, ...]:
    """A JSON array of :func:`hex32` hashes. Raises BundleFormatError naming the element."""
    if not isinstance(value, list):
        raise BundleFormatError(f"{where} must be a JSON array, not {type_name(value)}")
    return tuple(hex32(item, f"{where}[{i}]") for i, item in enumerate(value))


def type_name(value: object) -> str:
    """The JSON name of ``value``'s type, for messages."""
    names = {bool: "a boolean", int: "an integer", float: "a number", str: "a string",
             list: "an array", dict: "an object", type(None): "null"}
    return names.get(type(value), type(value).__name__)


def shorten(text: str, limit: int = 20) -> str:
    """``text`` cut to ``limit`` characters with an ellipsis, for messages."""
    return text if len(text) <= limit else text[:limit] + "…"
