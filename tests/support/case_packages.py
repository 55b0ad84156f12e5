"""Case packages for tests: in-memory items with real proof bundles over one RFC 9162 log.

``PackageLog`` appends registration and custody entries to a log (the test-local tree of
tests/support/proof_bundles.py), then ``write`` builds the ZIP with the service's
``write_case_package``. ``rewrite_zip`` copies a ZIP while changing entries, to tamper.
"""

from __future__ import annotations

import hashlib
import io
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO

from evidence_service.services.packages import (
    PackageArtefact,
    PackageCase,
    PackageChain,
    PackageDepartment,
    PackageEvent,
    PackageExporter,
    PackageItem,
    PackageSummary,
    write_case_package,
)
from tests.support.proof_bundles import bundle_for, canonical, registration, sm3_hex

CASE_ID = "5b6f0000-0000-4000-8000-000000000001"
DEPARTMENT_ID = "c14e0000-0000-4000-8000-000000000002"
EXPORTED_AT = datetime(2026, 11, 23, 8, 30, tzinfo=UTC)
CASE = PackageCase(id=CASE_ID, case_number="沪市监罚〔2026〕17号", title="无证经营案",
                   cause_of_action="无照经营", party="某某贸易有限公司",
                   department=PackageDepartment(id=DEPARTMENT_ID, code="SH-SJ",
                                                name="上海市市场监督管理局"))
EXPORTER = PackageExporter(department_id=DEPARTMENT_ID, user_id="u-0001")


def item_id(n: int) -> str:
    """The opaque id of item ``n`` (as tests/support/proof_bundles.registration makes it)."""
    return f"00000000-0000-4000-8000-{n:012d}"


def opener(content: bytes) -> Callable[[], Any]:
    """An ``open_bytes`` callable over in-memory bytes."""
    @contextmanager
    def open_bytes() -> Iterator[BinaryIO]:
        yield io.BytesIO(content)
    return open_bytes


@dataclass
class _Pending:
    kind: str
    n: int
    leaf: int
    name: str
    content: bytes
    derived_from: int | None = None


@dataclass
class PackageLog:
    """Items and custody events whose entries share one log; ``anchor`` covers all of them."""

    anchor: dict[str, Any] | None = None
    entries: list[bytes] = field(default_factory=list)
    pending_items: list[_Pending] = field(default_factory=list)
    events: list[tuple[int, dict[str, Any], str]] = field(default_factory=list)

    def add_item(self, name: str, content: bytes) -> int:
        n = len(self.pending_items)
        self.entries.append(canonical(registration(content, n)))
        self.pending_items.append(_Pending("item", n, len(self.entries) - 1, name, content))
        return len(self.entries) - 1

    def add_artefact(self, of: int, name: str, content: bytes) -> int:
        n = 100 + len(self.pending_items)
        entry = registration(content, n, kind="derived.registered")
        entry["derived_from"] = hashlib.sha256(self.pending_items[of].content).hexdigest()
        self.entries.append(canonical(entry))
        self.pending_items.append(_Pending("artefact", n, len(self.entries) - 1, name, content,
                                          derived_from=of))
        return len(self.entries) - 1

    def add_event(self, kind: str, item: int | None, summary: str) -> int:
        entry: dict[str, Any] = {"v": 1, "kind": kind, "case": CASE_ID,
                                 "department": DEPARTMENT_ID,
                                 "time": f"2026-11-22T09:00:{len(self.events):02d}.000000Z"}
        if item is not None:
            entry["item"] = item_id(item)
        self.entries.append(canonical(entry))
        self.events.append((len(self.entries) - 1, entry, summary))
        return len(self.entries) - 1

    def bundle(self, index: int) -> dict[str, Any]:
        return bundle_for(self.entries, index,
                          anchor=dict(self.anchor) if self.anchor else None)

    def package_items(self, corrupt: dict[int, bytes] | None = None) -> list[PackageItem]:
        """The items, with the bytes of item ``n`` replaced by ``corrupt[n]`` if given."""
        corrupt = corrupt or {}
        items: list[PackageItem] = []
        for pending in self.pending_items:
            if pending.kind != "item":
                continue
            derived = [self._artefact(a) for a in self.pending_items
                       if a.derived_from == pending.n]
            content = corrupt.get(pending.n, pending.content)
            items.append(PackageItem(
                item_id=item_id(pending.n), kind="audio-visual", original_filename=pending.name,
                media_type="video/mp4", size=len(pending.content),
                sha256=hashlib.sha256(pending.content).hexdigest(),
                sm3=sm3_hex(pending.content), classification="internal",
                open_bytes=opener(content), proof=self.bundle(pending.leaf),
                derived=derived))
        return items

    def _artefact(self, pending: _Pending) -> PackageArtefact:
        assert pending.derived_from is not None
        parent = self.pending_items[pending.derived_from].content
        return PackageArtefact(
            artefact_id=item_id(pending.n), name=pending.name, sha256=hashlib.sha256(
                pending.content).hexdigest(), sm3=sm3_hex(pending.content),
            size=len(pending.content), derived_from_sha256=hashlib.sha256(parent).hexdigest(),
            open_bytes=opener(pending.content), proof=self.bundle(pending.leaf))

    def package_events(self) -> list[PackageEvent]:
        return [PackageEvent(kind=entry["kind"], item_id=entry.get("item"),
                             time=datetime(2026, 11, 22, 9, 0, i, tzinfo=UTC),
                             department_id=DEPARTMENT_ID, actor_id="u-0001", summary=summary,
                             proof=self.bundle(leaf))
                for i, (leaf, entry, summary) in enumerate(self.events)]

    def write(self, path: Path, *, chain: PackageChain | None = None,
              corrupt: dict[int, bytes] | None = None) -> PackageSummary:
        if chain is None and self.anchor is not None:
            chain = PackageChain(chain_id=self.anchor["chain_id"],
                                 contract=self.anchor["contract"])
        with path.open("wb") as out:
            return write_case_package(out, case=CASE, items=self.package_items(corrupt),
                                      events=self.package_events(), chain=chain,
                                      exported_by=EXPORTER, exported_at=EXPORTED_AT)


def rewrite_zip(source: Path, target: Path, *,
                change: Callable[[str, bytes], bytes | None] = lambda name, data: data,
                extra: list[tuple[str, bytes]] | None = None) -> None:
    """Copy ``source`` to ``target``; ``change(name, data)`` returns new bytes or None to drop
    the entry; ``extra`` entries are appended as given (duplicates and odd names allowed)."""
    with zipfile.ZipFile(source) as old, zipfile.ZipFile(target, "w") as new:
        for info in old.infolist():
            data = change(info.filename, old.read(info))
            if data is not None:
                new.writestr(info.filename, data, compress_type=info.compress_type)
        for name, data in extra or []:
            info = zipfile.ZipInfo(name)
            new.writestr(info, data)
