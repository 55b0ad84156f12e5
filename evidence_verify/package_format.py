"""Case packages (``evidence-case-package`` version 1): names, paths and the manifest schema.

Shared by the service's package builder and by :mod:`evidence_verify.package`, so both apply
one rule for member names (:func:`safe_name`) and one schema (:func:`parse_manifest`,
:func:`parse_custody`). docs/package-format.md is the normative description. Every failure
raises :class:`PackageFormatError` naming the field by its path (``manifest.items[2].sha256``).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from evidence_verify import _fields as f
from evidence_verify.errors import BundleFormatError, PackageFormatError

__all__ = [
    "CUSTODY_FORMAT",
    "CUSTODY_PATH",
    "CUSTODY_PREFIXES",
    "MANIFEST_PATH",
    "PACKAGE_FORMAT",
    "PACKAGE_VERSION",
    "REPORT_PATH",
    "CustodyEventRecord",
    "Manifest",
    "ManifestArtefact",
    "ManifestItem",
    "parse_custody",
    "parse_manifest",
    "safe_id",
    "safe_name",
]

PACKAGE_FORMAT = "evidence-case-package"
PACKAGE_VERSION = 1
CUSTODY_FORMAT = "evidence-custody-history"
MANIFEST_PATH = "manifest.json"
CUSTODY_PATH = "custody.json"
REPORT_PATH = "report.html"
#: Entry kinds a custody event may have.
CUSTODY_PREFIXES = ("evidence.registered", "artefact.registered", "custody.")
_MAX_NAME = 200
_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")
_HEX64 = re.compile(r"[0-9a-f]{64}")
_ADDRESS = re.compile(r"0x[0-9a-fA-F]{40}")
_UTC = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?Z")
_MAX_SIZE = 2**53 - 1
_MANIFEST_KEYS = ("format", "version", "case", "exported_at", "exported_by", "chain", "items",
                  "custody", "files")
_CASE_KEYS = ("id", "case_number", "title", "cause_of_action", "party", "department")
_ITEM_KEYS = ("item_id", "origin_item_ids", "kind", "original_filename", "media_type", "size",
              "sha256", "sm3", "classification", "file", "proof", "derived")
_ARTEFACT_KEYS = ("artefact_id", "name", "sha256", "sm3", "size", "derived_from_sha256", "file",
                  "proof")
_EVENT_KEYS = ("kind", "item_id", "time", "department_id", "actor_id", "summary", "proof")


def safe_name(original: str, fallback: str) -> str:
    """The member name under which a file called ``original`` is stored.

    Keeps the last path component (after ``/`` or ``\\``), drops control and format characters
    (Unicode categories Cc, Cf, Cs, Co, Cn; this removes bidi overrides too), trims spaces and
    dots at both ends and cuts the result to 200 characters. An empty result, or one that
    ``safe_id`` refuses as a directory name (``.``/``..``), becomes ``fallback``. Raises nothing.
    """
    base = re.split(r"[/\\]", original)[-1]
    kept = "".join(ch for ch in base if not unicodedata.category(ch).startswith("C"))
    kept = kept.strip(" .")[:_MAX_NAME].strip(" .")
    return kept or fallback


def safe_id(value: object, where: str) -> str:
    """An identifier usable as one path component: 1-128 of ``A-Za-z0-9._-``, starting with a
    letter or digit. Raises PackageFormatError naming ``where``."""
    text = _string(value, where)
    if not _ID.fullmatch(text):
        raise PackageFormatError(f"{where} {f.shorten(text, 40)!r} is not a safe identifier "
                                 f"(1-128 of A-Z a-z 0-9 . _ -, starting with a letter or digit)")
    return text


@dataclass(frozen=True)
class ManifestArtefact:
    """A derived artefact of an item, as the manifest lists it."""

    artefact_id: str
    name: str
    sha256: str
    sm3: str
    size: int
    derived_from_sha256: str
    file: str
    proof: str


@dataclass(frozen=True)
class ManifestItem:
    """An evidence item, as the manifest lists it."""

    item_id: str
    kind: str
    original_filename: str
    media_type: str
    size: int
    sha256: str
    sm3: str
    classification: str
    file: str
    proof: str
    derived: tuple[ManifestArtefact, ...]
    #: The ids this evidence had in the departments it was received from (newest first; the
    #: last one is the id it was registered under in the log).
    origin_item_ids: tuple[str, ...] = ()


@dataclass(frozen=True)
class Manifest:
    """A parsed version-1 manifest. ``raw`` is the decoded JSON object itself."""

    case: Mapping[str, Any]
    exported_at: str
    exported_by: Mapping[str, str]
    chain: tuple[int, str] | None
    items: tuple[ManifestItem, ...]
    custody: str
    files: Mapping[str, str]
    raw: Mapping[str, Any]

    def same_evidence(self, first: str, second: str) -> bool:
        """Whether two ids name the same evidence (an item and the ids it was received as)."""
        for item in self.items:
            ids = {item.item_id, *item.origin_item_ids}
            if first in ids and second in ids:
                return True
        return False

    @property
    def known_ids(self) -> frozenset[str]:
        """Every item and artefact id of the package."""
        ids = {item.item_id for item in self.items}
        ids |= {origin for item in self.items for origin in item.origin_item_ids}
        ids |= {art.artefact_id for item in self.items for art in item.derived}
        return frozenset(ids)


@dataclass(frozen=True)
class CustodyEventRecord:
    """One event of custody.json; ``proof`` is the undecoded proof bundle object."""

    kind: str
    item_id: str | None
    time: str
    department_id: str
    actor_id: str
    summary: str
    proof: Mapping[str, Any]


def parse_manifest(obj: object) -> Manifest:
    """Check a decoded manifest.json against the version-1 schema.

    Unknown fields are refused; paths must be the ones the format prescribes for each id
    (``files/<item_id>/<safe name>``, ``proofs/<id>.json``, …), ids must be unique and every
    path named by an item or ``custody`` must be listed in ``files``. Raises PackageFormatError.
    """
    data = _fields(obj, "manifest", _MANIFEST_KEYS)
    fmt = _string(data["format"], "manifest.format")
    if fmt != PACKAGE_FORMAT:
        raise PackageFormatError(f"manifest.format is {f.shorten(fmt, 40)!r}, "
                                 f"expected {PACKAGE_FORMAT!r}")
    version = _integer(data["version"], "manifest.version")
    if version != PACKAGE_VERSION:
        raise PackageFormatError(f"manifest.version is {version}; this verifier reads "
                                 f"version {PACKAGE_VERSION} only")
    files = _files(data["files"])
    items = _items(data["items"])
    custody = _string(data["custody"], "manifest.custody")
    if custody != CUSTODY_PATH:
        raise PackageFormatError(f"manifest.custody must be {CUSTODY_PATH!r}")
    _check_listed(items, files)
    return Manifest(case=_case(data["case"]), exported_at=_utc(data["exported_at"],
                    "manifest.exported_at"), exported_by=_exported_by(data["exported_by"]),
                    chain=_chain(data["chain"]), items=items, custody=custody, files=files,
                    raw=data)


def _case(value: object) -> Mapping[str, Any]:
    case = _fields(value, "manifest.case", _CASE_KEYS)
    safe_id(case["id"], "manifest.case.id")
    for key in ("case_number", "title"):
        _string(case[key], f"manifest.case.{key}")
    for key in ("cause_of_action", "party"):
        if case[key] is not None:
            _string(case[key], f"manifest.case.{key}")
    department = _fields(case["department"], "manifest.case.department", ("id", "code", "name"))
    for key in ("id", "code", "name"):
        _string(department[key], f"manifest.case.department.{key}")
    return case


def _exported_by(value: object) -> Mapping[str, str]:
    data = _fields(value, "manifest.exported_by", ("department_id", "user_id"))
    return {key: _string(data[key], f"manifest.exported_by.{key}") for key in data}


def _chain(value: object) -> tuple[int, str] | None:
    if value is None:
        return None
    data = _fields(value, "manifest.chain", ("chain_id", "contract"))
    contract = _string(data["contract"], "manifest.chain.contract")
    if not _ADDRESS.fullmatch(contract):
        raise PackageFormatError("manifest.chain.contract must be 0x and 40 hex digits")
    return _integer(data["chain_id"], "manifest.chain.chain_id", minimum=1), contract.lower()


def _files(value: object) -> dict[str, str]:
    if not isinstance(value, Mapping):
        raise PackageFormatError(f"manifest.files must be a JSON object, not {f.type_name(value)}")
    files = {}
    for path, digest in value.items():
        where = f"manifest.files[{path!r}]"
        if path == MANIFEST_PATH:
            raise PackageFormatError(f"{where}: the manifest cannot list itself")
        files[path] = _hex(digest, where)
    if REPORT_PATH not in files or CUSTODY_PATH not in files:
        raise PackageFormatError(f"manifest.files must list {REPORT_PATH} and {CUSTODY_PATH}")
    return files


def _items(value: object) -> tuple[ManifestItem, ...]:
    if not isinstance(value, list):
        raise PackageFormatError(f"manifest.items must be a JSON array, not {f.type_name(value)}")
    items = tuple(_item(raw, f"manifest.items[{i}]") for i, raw in enumerate(value))
    seen: set[str] = set()
    for item in items:
        for ident in (item.item_id, *(art.artefact_id for art in item.derived)):
            if ident in seen:
                raise PackageFormatError(f"manifest: id {ident!r} is listed twice")
            seen.add(ident)
    return items


def _item(value: object, where: str) -> ManifestItem:
    data = _fields(value, where, _ITEM_KEYS)
    item_id = safe_id(data["item_id"], f"{where}.item_id")
    original = _string(data["original_filename"], f"{where}.original_filename")
    file = _path(data["file"], f"{where}.file", "files", item_id)
    derived = data["derived"]
    if not isinstance(derived, list):
        raise PackageFormatError(f"{where}.derived must be a JSON array")
    origins = data["origin_item_ids"]
    if not isinstance(origins, list) or len(origins) > 64:
        raise PackageFormatError(f"{where}.origin_item_ids must be a JSON array of ids")
    return ManifestItem(
        origin_item_ids=tuple(safe_id(o, f"{where}.origin_item_ids[{i}]")
                              for i, o in enumerate(origins)),
        item_id=item_id, kind=_string(data["kind"], f"{where}.kind"),
        original_filename=original,
        media_type=_string(data["media_type"], f"{where}.media_type"),
        size=_integer(data["size"], f"{where}.size", maximum=_MAX_SIZE),
        sha256=_hex(data["sha256"], f"{where}.sha256"), sm3=_hex(data["sm3"], f"{where}.sm3"),
        classification=_string(data["classification"], f"{where}.classification"),
        file=file, proof=_proof_path(data["proof"], f"{where}.proof", item_id),
        derived=tuple(_artefact(raw, f"{where}.derived[{i}]", item_id)
                      for i, raw in enumerate(derived)),
    )


def _artefact(value: object, where: str, item_id: str) -> ManifestArtefact:
    data = _fields(value, where, _ARTEFACT_KEYS)
    artefact_id = safe_id(data["artefact_id"], f"{where}.artefact_id")
    name = _string(data["name"], f"{where}.name")
    file = _path(data["file"], f"{where}.file", "derived", item_id)
    if file.rsplit("/", 1)[-1] != name:
        raise PackageFormatError(f"{where}.file {file!r} does not end with its name {name!r}")
    return ManifestArtefact(
        artefact_id=artefact_id, name=name,
        sha256=_hex(data["sha256"], f"{where}.sha256"), sm3=_hex(data["sm3"], f"{where}.sm3"),
        size=_integer(data["size"], f"{where}.size", maximum=_MAX_SIZE),
        derived_from_sha256=_hex(data["derived_from_sha256"], f"{where}.derived_from_sha256"),
        file=file, proof=_proof_path(data["proof"], f"{where}.proof", artefact_id),
    )


def _path(value: object, where: str, folder: str, item_id: str) -> str:
    path = _string(value, where)
    prefix = f"{folder}/{item_id}/"
    name = path[len(prefix):]
    if not path.startswith(prefix) or not name or safe_name(name, "") != name:
        raise PackageFormatError(f"{where} {f.shorten(path, 60)!r} must be "
                                 f"{prefix}<safe name> (see safe_name)")
    return path


def _proof_path(value: object, where: str, ident: str) -> str:
    path = _string(value, where)
    if path != f"proofs/{ident}.json":
        raise PackageFormatError(f"{where} must be 'proofs/{ident}.json', got "
                                 f"{f.shorten(path, 60)!r}")
    return path


def _check_listed(items: tuple[ManifestItem, ...], files: Mapping[str, str]) -> None:
    seen: set[str] = {CUSTODY_PATH, REPORT_PATH}
    for i, item in enumerate(items):
        named = [(f"manifest.items[{i}].file", item.file),
                 (f"manifest.items[{i}].proof", item.proof)]
        for j, art in enumerate(item.derived):
            named += [(f"manifest.items[{i}].derived[{j}].file", art.file),
                      (f"manifest.items[{i}].derived[{j}].proof", art.proof)]
        for where, path in named:
            if path not in files:
                raise PackageFormatError(f"{where} {path!r} is not listed in manifest.files")
            if path in seen:
                raise PackageFormatError(f"{where} {path!r} is named twice in the manifest")
            seen.add(path)


def parse_custody(obj: object) -> tuple[CustodyEventRecord, ...]:
    """Check a decoded custody.json against the version-1 schema. Raises PackageFormatError."""
    data = _fields(obj, "custody", ("format", "version", "events"))
    if data["format"] != CUSTODY_FORMAT:
        raise PackageFormatError(f"custody.format must be {CUSTODY_FORMAT!r}")
    if _integer(data["version"], "custody.version") != PACKAGE_VERSION:
        raise PackageFormatError(f"custody.version must be {PACKAGE_VERSION}")
    events = data["events"]
    if not isinstance(events, list):
        raise PackageFormatError("custody.events must be a JSON array")
    return tuple(_event(raw, f"custody.events[{i}]") for i, raw in enumerate(events))


def _event(value: object, where: str) -> CustodyEventRecord:
    data = _fields(value, where, _EVENT_KEYS)
    kind = _string(data["kind"], f"{where}.kind")
    if not kind.startswith(CUSTODY_PREFIXES):
        raise PackageFormatError(f"{where}.kind {f.shorten(kind, 40)!r} is not a custody "
                                 f"event kind ({', '.join(p + '*' for p in CUSTODY_PREFIXES)})")
    item_id = data["item_id"]
    proof = data["proof"]
    if not isinstance(proof, Mapping):
        raise PackageFormatError(f"{where}.proof must be a JSON object (a proof bundle)")
    return CustodyEventRecord(
        kind=kind, item_id=None if item_id is None else _string(item_id, f"{where}.item_id"),
        time=_utc(data["time"], f"{where}.time"),
        department_id=_string(data["department_id"], f"{where}.department_id"),
        actor_id=_string(data["actor_id"], f"{where}.actor_id"),
        summary=_string(data["summary"], f"{where}.summary"), proof=proof)


def _fields(value: object, where: str, keys: tuple[str, ...]) -> Mapping[str, Any]:
    try:
        return f.fields(value, where, required=keys)
    except BundleFormatError as exc:
        raise PackageFormatError(str(exc)) from exc


def _string(value: object, where: str) -> str:
    if not isinstance(value, str):
        raise PackageFormatError(f"{where} must be a string, not {f.type_name(value)}")
    return value


def _integer(value: object, where: str, *, minimum: int = 0, maximum: int = _MAX_SIZE) -> int:
    try:
        return f.integer(value, where, minimum=minimum, maximum=maximum)
    except BundleFormatError as exc:
        raise PackageFormatError(str(exc)) from exc


def _hex(value: object, where: str) -> str:
    text = _string(value, where)
    if not _HEX64.fullmatch(text):
        raise PackageFormatError(f"{where} must be 64 lowercase hex digits, "
                                 f"got {f.shorten(text)!r}")
    return text


def _utc(value: object, where: str) -> str:
    text = _string(value, where)
    if not _UTC.fullmatch(text):
        raise PackageFormatError(f"{where} {f.shorten(text, 40)!r} is not a UTC time "
                                 f"YYYY-MM-DDTHH:MM:SS[.ffffff]Z")
    return text
