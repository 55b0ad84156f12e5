"""Court-ready case packages: one ZIP with the files, their proofs and the custody history.

:func:`write_case_package` writes an ``evidence-case-package`` version-1 ZIP
(docs/package-format.md) from plain data: it knows nothing of HTTP, the database or the object
store. Each item's bytes come from its ``open_bytes`` callable and are streamed into the ZIP
in 1 MiB blocks while SHA-256 and SM3 are computed: a file is never held whole in memory. If
the bytes do not hash to the item's recorded digests, :class:`PackageContentMismatch` is
raised naming the item, and nothing more is written: the output then holds a truncated ZIP
without a central directory, which no reader accepts, and the caller must discard it.

The ZIP is always written in streaming mode (sizes and CRC in data descriptors after each
entry), so ``out`` needs only ``write`` (and ``flush``): a pipe, a socket or a spooled file.
``manifest.json`` is written last, after ``report.html``, and lists the SHA-256 of every other
entry.
"""

from __future__ import annotations

import hashlib
import json
import logging
import zipfile
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from typing import Any, BinaryIO

from evidence_service.domain.errors import DigestMismatch, InvalidInput
from evidence_service.domain.hashing import DualHasher
from evidence_verify import (
    CUSTODY_FORMAT,
    CUSTODY_PATH,
    MANIFEST_PATH,
    PACKAGE_FORMAT,
    PACKAGE_VERSION,
    REPORT_PATH,
    VerificationError,
    parse_bundle,
    parse_entry,
    render_package_html,
    safe_id,
    safe_name,
)

__all__ = [
    "OpenBytes",
    "PackageArtefact",
    "PackageCase",
    "PackageChain",
    "PackageContentMismatch",
    "PackageDepartment",
    "PackageEvent",
    "PackageExporter",
    "PackageItem",
    "PackageSummary",
    "write_case_package",
]

_logger = logging.getLogger(__name__)
_BLOCK = 1 << 20
#: Entries this large or larger are written as ZIP64 from the start (streaming cannot go back).
_ZIP64_FROM = int(zipfile.ZIP64_LIMIT * 0.95)

#: Opens an item's stored bytes for reading, e.g. ``lambda: store.open(key)``.
OpenBytes = Callable[[], AbstractContextManager[BinaryIO]]


class PackageContentMismatch(DigestMismatch):
    """An item's bytes do not hash to its recorded SHA-256/SM3/size: it is not exported.

    ``subject`` is the item or artefact id.
    """

    def __init__(self, message: str, *, subject: str) -> None:
        super().__init__(message)
        self.subject = subject


@dataclass(frozen=True)
class PackageDepartment:
    """The department that holds the case."""

    id: str
    code: str
    name: str


@dataclass(frozen=True)
class PackageCase:
    """The case facts printed in the manifest and the report."""

    id: str
    case_number: str
    title: str
    cause_of_action: str | None
    party: str | None
    department: PackageDepartment


@dataclass(frozen=True)
class PackageArtefact:
    """A derived artefact (key frames, timeline, …) with its bytes and proof bundle."""

    artefact_id: str
    name: str
    sha256: str
    sm3: str
    size: int
    derived_from_sha256: str
    open_bytes: OpenBytes
    proof: dict[str, Any]


@dataclass(frozen=True)
class PackageItem:
    """An evidence item: recorded metadata and digests, its bytes, its proof bundle."""

    item_id: str
    kind: str
    original_filename: str
    media_type: str
    size: int
    sha256: str
    sm3: str
    classification: str
    open_bytes: OpenBytes
    proof: dict[str, Any]
    derived: Sequence[PackageArtefact] = ()
    #: Ids the item had in the departments it was received from (newest first).
    origin_item_ids: Sequence[str] = ()


@dataclass(frozen=True)
class PackageEvent:
    """A custody event and the proof bundle of its log entry. ``time`` is tz-aware."""

    kind: str
    item_id: str | None
    time: datetime
    department_id: str
    actor_id: str
    summary: str
    proof: dict[str, Any]


@dataclass(frozen=True)
class PackageChain:
    """The chain and registry the proofs are anchored on."""

    chain_id: int
    contract: str


@dataclass(frozen=True)
class PackageExporter:
    """Who exported the package."""

    department_id: str
    user_id: str


@dataclass(frozen=True)
class PackageSummary:
    """What was written: ``files`` maps every entry but the manifest to its SHA-256."""

    files: dict[str, str]
    manifest_sha256: str
    items: int
    artefacts: int
    events: int
    bytes_written: int = field(default=0)


def write_case_package(
    out: BinaryIO,
    *,
    case: PackageCase,
    items: Sequence[PackageItem],
    events: Sequence[PackageEvent],
    chain: PackageChain | None,
    exported_by: PackageExporter,
    exported_at: datetime,
) -> PackageSummary:
    """Write the case package ZIP to ``out`` (which needs only ``write``).

    Raises InvalidInput (no items, a naive datetime, an unsafe id, a proof bundle that is
    malformed or names other digests, two derived files with one name),
    PackageContentMismatch (an item's bytes differ from its recorded digests; ``out`` then
    holds an unusable partial ZIP), and whatever ``open_bytes`` or ``out`` raise (OSError,
    StorageUnavailable).
    """
    _check_inputs(case, items, exported_at)
    sink = _Sink(out)
    writer = _Writer(sink, _zip_time(exported_at))
    with zipfile.ZipFile(sink, "w", allowZip64=True) as archive:
        try:
            writer.archive = archive
            manifest = _write_body(writer, case, items, events, chain, exported_by, exported_at)
            manifest_bytes = _json_bytes(manifest)
            writer.add_bytes(MANIFEST_PATH, manifest_bytes, listed=False)
        except BaseException:
            sink.poisoned = True  # nothing more reaches ``out``: no central directory
            raise
    _logger.info("case package written: case_id=%s items=%d events=%d bytes=%d", case.id,
                 len(items), len(events), sink.count)
    return PackageSummary(files=dict(writer.files),
                          manifest_sha256=hashlib.sha256(manifest_bytes).hexdigest(),
                          items=len(items), artefacts=sum(len(i.derived) for i in items),
                          events=len(events), bytes_written=sink.count)


def _write_body(writer: _Writer, case: PackageCase, items: Sequence[PackageItem],
                events: Sequence[PackageEvent], chain: PackageChain | None,
                exported_by: PackageExporter, exported_at: datetime) -> dict[str, Any]:
    records = [_write_item(writer, item) for item in items]
    event_records = [_event_record(event) for event in events]
    history = {"format": CUSTODY_FORMAT, "version": PACKAGE_VERSION, "events": event_records}
    writer.add_bytes(CUSTODY_PATH, _json_bytes(history))
    manifest: dict[str, Any] = {
        "format": PACKAGE_FORMAT, "version": PACKAGE_VERSION,
        "case": {"id": case.id, "case_number": case.case_number, "title": case.title,
                 "cause_of_action": case.cause_of_action, "party": case.party,
                 "department": {"id": case.department.id, "code": case.department.code,
                                "name": case.department.name}},
        "exported_at": _utc_text(exported_at),
        "exported_by": {"department_id": exported_by.department_id,
                        "user_id": exported_by.user_id},
        "chain": None if chain is None else {"chain_id": chain.chain_id,
                                             "contract": chain.contract},
        "items": records, "custody": CUSTODY_PATH,
    }
    proofs = {item.item_id: item.proof for item in items}
    proofs.update({art.artefact_id: art.proof for item in items for art in item.derived})
    html = render_package_html(manifest, proofs, event_records)
    writer.add_bytes(REPORT_PATH, html.encode("utf-8"))
    manifest["files"] = dict(writer.files)
    return manifest


def _write_item(writer: _Writer, item: PackageItem) -> dict[str, Any]:
    file = f"files/{item.item_id}/{safe_name(item.original_filename, item.item_id)}"
    writer.add_checked(file, item.open_bytes, subject=f"item {item.item_id}",
                       sha256=item.sha256, sm3=item.sm3, size=item.size)
    proof_path = f"proofs/{item.item_id}.json"
    writer.add_bytes(proof_path, _json_bytes(item.proof))
    derived = []
    for art in item.derived:
        art_file = f"derived/{item.item_id}/{art.name}"
        writer.add_checked(art_file, art.open_bytes, subject=f"artefact {art.artefact_id}",
                           sha256=art.sha256, sm3=art.sm3, size=art.size)
        art_proof = f"proofs/{art.artefact_id}.json"
        writer.add_bytes(art_proof, _json_bytes(art.proof))
        derived.append({"artefact_id": art.artefact_id, "name": art.name, "sha256": art.sha256,
                        "sm3": art.sm3, "size": art.size,
                        "derived_from_sha256": art.derived_from_sha256, "file": art_file,
                        "proof": art_proof})
    return {"item_id": item.item_id, "origin_item_ids": list(item.origin_item_ids),
            "kind": item.kind,
            "original_filename": item.original_filename, "media_type": item.media_type,
            "size": item.size, "sha256": item.sha256, "sm3": item.sm3,
            "classification": item.classification, "file": file, "proof": proof_path,
            "derived": derived}


def _event_record(event: PackageEvent) -> dict[str, Any]:
    if event.time.tzinfo is None:
        raise InvalidInput(f"custody event {event.kind} has a naive time")
    return {"kind": event.kind, "item_id": event.item_id, "time": _utc_text(event.time),
            "department_id": event.department_id, "actor_id": event.actor_id,
            "summary": event.summary, "proof": event.proof}


class _Sink:
    """Counts what is written to ``out``; once poisoned, drops everything (see module doc).

    It has ``tell`` but no ``seek``, so ``zipfile`` writes in streaming mode.
    """

    def __init__(self, out: BinaryIO) -> None:
        self._out = out
        self.count = 0
        self.poisoned = False

    def write(self, data: bytes) -> int:
        if not self.poisoned:
            self._out.write(data)
            self.count += len(data)
        return len(data)

    def tell(self) -> int:
        return self.count

    def flush(self) -> None:
        if not self.poisoned:
            self._out.flush()

    def close(self) -> None:
        """``out`` belongs to the caller: it is not closed here."""


class _Writer:
    """Adds entries to the archive and records each entry's SHA-256."""

    def __init__(self, sink: _Sink, date_time: tuple[int, int, int, int, int, int]) -> None:
        self.sink = sink
        self.date_time = date_time
        self.archive: zipfile.ZipFile | None = None
        self.files: dict[str, str] = {}

    def _info(self, name: str, compress_type: int) -> zipfile.ZipInfo:
        if name in self.files:
            raise InvalidInput(f"two package entries would be named {name!r}")
        info = zipfile.ZipInfo(name, date_time=self.date_time)
        info.compress_type = compress_type
        info.external_attr = 0o100444 << 16  # a read-only regular file
        return info

    def add_bytes(self, name: str, data: bytes, *, listed: bool = True) -> None:
        assert self.archive is not None
        info = self._info(name, zipfile.ZIP_DEFLATED)
        self.archive.writestr(info, data)
        if listed:
            self.files[name] = hashlib.sha256(data).hexdigest()

    def add_checked(self, name: str, open_bytes: OpenBytes, *, subject: str, sha256: str,
                    sm3: str, size: int) -> None:
        """Stream the bytes in, hashing them; raise PackageContentMismatch if they differ."""
        assert self.archive is not None
        info = self._info(name, zipfile.ZIP_STORED)
        info.file_size = size
        hasher = DualHasher()
        with open_bytes() as source, \
                self.archive.open(info, "w", force_zip64=size >= _ZIP64_FROM) as target:
            while block := source.read(_BLOCK):
                if hasher.length + len(block) > size:
                    raise self._mismatch(subject, f"more than the recorded {size} bytes")
                hasher.update(block, alongside=partial(target.write, block))
            found = (hasher.sha256().value, hasher.sm3().value, hasher.length)
            if found != (sha256, sm3, size):
                raise self._mismatch(
                    subject, f"SHA-256 {found[0]}, SM3 {found[1]}, {found[2]} bytes; recorded "
                    f"SHA-256 {sha256}, SM3 {sm3}, {size} bytes")
        self.files[name] = sha256

    def _mismatch(self, subject: str, detail: str) -> PackageContentMismatch:
        self.sink.poisoned = True  # before the entry is closed: nothing more reaches ``out``
        _logger.warning("refusing to export altered bytes: %s", subject)
        return PackageContentMismatch(
            f"the stored bytes of {subject} no longer match its recorded digests ({detail}): "
            f"refusing to export them", subject=subject.split(" ", 1)[1])


def _check_inputs(case: PackageCase, items: Sequence[PackageItem], exported_at: datetime) -> None:
    if not items:
        raise InvalidInput("a case package needs at least one item")
    if exported_at.tzinfo is None:
        raise InvalidInput("exported_at must be timezone-aware (UTC)")
    try:
        safe_id(case.id, "case.id")
        for item in items:
            safe_id(item.item_id, "item_id")
            _check_proof(item.item_id, item.proof, item.sha256, item.sm3, item.size)
            for art in item.derived:
                safe_id(art.artefact_id, "artefact_id")
                if safe_name(art.name, "") != art.name:
                    raise InvalidInput(f"artefact {art.artefact_id} has an unsafe name "
                                       f"{art.name!r}")
                _check_proof(art.artefact_id, art.proof, art.sha256, art.sm3, art.size)
    except VerificationError as exc:
        raise InvalidInput(str(exc)) from exc


def _check_proof(ident: str, proof: dict[str, Any], sha256: str, sm3: str, size: int) -> None:
    """The proof bundle must be well formed and its entry must name the recorded digests."""
    entry = parse_entry(parse_bundle(proof).entry_bytes)
    named = (entry.get("sha256"), entry.get("sm3"), entry.get("size"))
    if named != (sha256, sm3, size):
        raise InvalidInput(f"the proof bundle of {ident} is for other bytes: its entry names "
                           f"{named}, the record says {(sha256, sm3, size)}")


def _json_bytes(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, indent=1, sort_keys=True).encode("utf-8")


def _utc_text(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _zip_time(moment: datetime) -> tuple[int, int, int, int, int, int]:
    when = moment.astimezone(UTC)
    return (max(when.year, 1980), when.month, when.day, when.hour, when.minute, when.second)
