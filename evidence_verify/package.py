"""Verifying a case package (``evidence-case-package`` version 1, docs/package-format.md).

:func:`verify_package` checks, with the standard library only:

1. the ZIP itself (:mod:`evidence_verify.package_zip`: no traversal, duplicates, symlinks,
   zip bombs) and the manifest schema (:mod:`evidence_verify.package_format`): a package
   that fails here raises :class:`PackageFormatError`;
2. that the ZIP holds exactly the files the manifest lists (each missing or added file is
   named) and that each hashes, streamed, to its listed SHA-256;
3. that each item's and artefact's bytes have the manifest's SHA-256, SM3 and size;
4. that each item's, artefact's and custody event's proof bundle verifies
   (:func:`evidence_verify.verify_bundle`: leaf hash, inclusion proof and, with ``rpc_url``,
   chain id, ``anchorOf`` and the anchoring receipt), was anchored on the manifest's chain,
   and that its entry names the same digests, size and id as the manifest.

Everything from step 2 on is a check in the returned :class:`PackageReport`: the run goes on
after a failure so the report names every culprit.
"""

from __future__ import annotations

import zipfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from evidence_verify import _fields
from evidence_verify.bundle import ProofBundle, parse_bundle, verify_bundle
from evidence_verify.digests import FileDigests
from evidence_verify.errors import ChainUnavailable, PackageFormatError, VerificationError
from evidence_verify.package_format import (
    CUSTODY_PATH,
    MANIFEST_PATH,
    CustodyEventRecord,
    Manifest,
    ManifestArtefact,
    ManifestItem,
    parse_custody,
    parse_manifest,
)
from evidence_verify.package_report import Outcome, PackageCheck, PackageReport
from evidence_verify.package_zip import ZipLimits, hash_member, open_package, read_member

__all__ = ["verify_package"]


def verify_package(
    path: Path,
    *,
    rpc_url: str | None = None,
    timeout: float = 10,
    limits: ZipLimits | None = None,
    on_check: Callable[[PackageCheck], None] | None = None,
) -> PackageReport:
    """Verify the case package at ``path``; with ``rpc_url`` also every anchor on chain.

    ``on_check`` is called with each check as soon as it is made (for progress displays).

    Returns a report whose verdict is ``verified``, ``pending`` (some entry not anchored yet),
    ``unavailable`` (the chain could not be asked) or ``failed`` (see ``report.culprits``).
    Raises PackageFormatError when the ZIP is unsafe or the manifest breaks the schema, OSError
    when ``path`` cannot be read.
    """
    archive, entries = open_package(path, limits or ZipLimits())
    with archive:
        run = _Run(archive, entries, limits or ZipLimits(), rpc_url, timeout, on_check)
        manifest = run.manifest()
        run.facts.update(_facts(path, manifest, rpc_url))
        run.check_file_set(manifest)
        for item in manifest.items:
            run.check_item(manifest, item)
        run.check_custody(manifest)
        if rpc_url is None:
            run.add("On-chain anchors", "链上锚定", "not_checked", "chain",
                    "no RPC endpoint given (--rpc): the anchors are the proofs' claim, not "
                    "checked on chain")
        return PackageReport(checks=tuple(run.checks), facts=run.facts)


def _facts(path: Path, manifest: Manifest, rpc_url: str | None) -> dict[str, Any]:
    case = manifest.case
    facts: dict[str, Any] = {
        "package": path.name, "case_id": case["id"], "case_number": case["case_number"],
        "title": case["title"], "department": case["department"]["name"],
        "exported_at": manifest.exported_at, "items": len(manifest.items),
        "derived": sum(len(item.derived) for item in manifest.items)}
    if manifest.chain is not None:
        facts["chain_id"], facts["contract"] = manifest.chain
    if rpc_url is not None:
        facts["rpc_url"] = rpc_url
    return facts


@dataclass
class _Run:
    archive: zipfile.ZipFile
    entries: dict[str, zipfile.ZipInfo]
    limits: ZipLimits
    rpc_url: str | None
    timeout: float
    on_check: Callable[[PackageCheck], None] | None
    chain_down: str | None = None
    checks: list[PackageCheck] = field(default_factory=list)
    facts: dict[str, Any] = field(default_factory=dict)
    digests: dict[str, FileDigests] = field(default_factory=dict)

    def add(self, name: str, name_zh: str, outcome: Outcome, subject: str, detail: str) -> None:
        check = PackageCheck(name, name_zh, outcome, subject, detail)
        self.checks.append(check)
        if self.on_check is not None:
            self.on_check(check)

    def manifest(self) -> Manifest:
        info = self.entries.get(MANIFEST_PATH)
        if info is None:
            raise PackageFormatError(f"the package has no {MANIFEST_PATH}")
        return parse_manifest(self._json(info))

    def _json(self, info: zipfile.ZipInfo) -> Any:
        try:
            return _fields.loads_json(read_member(self.archive, info, self.limits),
                                      info.filename)
        except PackageFormatError:
            raise
        except VerificationError as exc:
            raise PackageFormatError(str(exc)) from exc

    def check_file_set(self, manifest: Manifest) -> None:
        present = set(self.entries) - {MANIFEST_PATH}
        media = {item.file for item in manifest.items}
        media |= {art.file for item in manifest.items for art in item.derived}
        for path in sorted(set(manifest.files) - present):
            self.add("File present", "文件存在", "fail", path,
                     "listed in manifest.files but missing from the ZIP")
        for path in sorted(present - set(manifest.files)):
            self.add("File listed", "文件登记", "fail", path,
                     "in the ZIP but not listed in manifest.files: added after export")
        for path, want in manifest.files.items():
            if path in present:
                self._hash(path, want, sm3=path in media)

    def _hash(self, path: str, want: str, *, sm3: bool) -> None:
        try:
            digests = hash_member(self.archive, self.entries[path], sm3=sm3)
        except PackageFormatError as exc:
            self.add("File SHA-256", "文件 SHA-256", "fail", path, str(exc))
            return
        if digests.sha256 != want:
            self.add("File SHA-256", "文件 SHA-256", "fail", path,
                     f"hashes to {digests.sha256}, manifest.files lists {want}: altered")
            return
        self.digests[path] = digests
        self.add("File SHA-256", "文件 SHA-256", "pass", path, f"{want} matches manifest.files")

    def check_item(self, manifest: Manifest, item: ManifestItem) -> None:
        self._content(item.item_id, item.file, item.sha256, item.sm3, item.size)
        entry = self._proof(manifest, item.item_id, item.proof)
        if entry is not None:
            self._entry_names(item.item_id, entry, item.sha256, item.sm3, item.size,
                              aliases=item.origin_item_ids)
        for art in item.derived:
            self._check_artefact(manifest, item, art)

    def _check_artefact(self, manifest: Manifest, item: ManifestItem,
                        art: ManifestArtefact) -> None:
        outcome: Outcome = "pass" if art.derived_from_sha256 == item.sha256 else "fail"
        self.add("Derived from", "衍生来源", outcome, art.artefact_id,
                 f"derived_from_sha256 {art.derived_from_sha256}"
                 + (" is" if outcome == "pass" else " is not") + f" item {item.item_id}'s SHA-256")
        self._content(art.artefact_id, art.file, art.sha256, art.sm3, art.size)
        entry = self._proof(manifest, art.artefact_id, art.proof)
        if entry is not None:
            self._entry_names(art.artefact_id, entry, art.sha256, art.sm3, art.size,
                              also=item.item_id, aliases=item.origin_item_ids)

    def _content(self, ident: str, path: str, sha256: str, sm3: str, size: int) -> None:
        digests = self.digests.get(path)
        if digests is None:
            self.add("Content", "内容", "fail", ident, f"{path} is missing or unreadable")
            return
        problems = []
        if digests.sha256 != sha256:
            problems.append(f"SHA-256 is {digests.sha256}, the manifest says {sha256}")
        if digests.sm3 is not None and digests.sm3 != sm3:
            problems.append(f"SM3 is {digests.sm3}, the manifest says {sm3}")
        if digests.size != size:
            problems.append(f"size is {digests.size}, the manifest says {size}")
        if problems:
            self.add("Content", "内容", "fail", ident, f"{path}: " + "; ".join(problems))
            return
        note = "" if digests.sm3 is not None else " (SM3 not checked: no SM3 in this Python)"
        self.add("Content", "内容", "pass", ident,
                 f"{path} has the manifest's SHA-256, SM3 and size ({size} bytes){note}")

    def _proof(self, manifest: Manifest, ident: str, path: str) -> dict[str, Any] | None:
        if path not in self.digests:
            self.add("Proof", "证明", "fail", ident, f"{path} is missing, altered or unreadable")
            return None
        try:
            bundle = self._json(self.entries[path])
        except PackageFormatError as exc:
            self.add("Proof", "证明", "fail", ident, f"{path}: {exc}")
            return None
        return self.verify_proof(manifest, ident, path, bundle)

    def verify_proof(self, manifest: Manifest, ident: str, where: str,
                     bundle_obj: object) -> dict[str, Any] | None:
        """Verify one proof bundle; record the outcome; the entry's fields, or None."""
        try:
            bundle = parse_bundle(bundle_obj)
            _check_chain(manifest, bundle)
        except VerificationError as exc:
            self.add("Proof", "证明", "fail", ident, f"{where}: {exc}")
            return None
        url = self.rpc_url if bundle.anchor is not None else None
        try:
            report = verify_bundle(bundle, rpc_url=url, timeout=self.timeout)
        except ChainUnavailable as exc:
            self.rpc_url = None  # one unreachable node: do not wait for it once per proof
            self.chain_down = str(exc)
            url, report = None, verify_bundle(bundle)
        except VerificationError as exc:
            self.add("Proof", "证明", "fail", ident, f"{where}: {type(exc).__name__}: {exc}")
            return None
        if self.chain_down is not None and bundle.anchor is not None:
            self.add("Proof", "证明", "unavailable", ident,
                     f"{where}: verified offline only; {self.chain_down}")
            return dict(report.entry)
        outcome: Outcome = "pending" if report.verdict == "pending" else "pass"
        self.add("Proof", "证明", outcome, ident, _proof_detail(where, bundle, url))
        return dict(report.entry)

    def _entry_names(self, ident: str, entry: Mapping[str, Any], sha256: str, sm3: str,
                     size: int, also: str | None = None,
                     aliases: tuple[str, ...] = ()) -> None:
        problems = [f"entry {key} is {entry.get(key)!r}, the manifest says {want!r}"
                    for key, want in (("sha256", sha256), ("sm3", sm3), ("size", size))
                    if entry.get(key) != want]
        if "item" in entry and entry["item"] not in (ident, also, *aliases):
            problems.append(f"entry item is {entry['item']!r}, not {ident!r}")
        if problems:
            self.add("Entry matches manifest", "条目与清单一致", "fail", ident,
                     "the proof is for another file: " + "; ".join(problems))
        else:
            self.add("Entry matches manifest", "条目与清单一致", "pass", ident,
                     "the logged entry names the manifest's SHA-256, SM3, size and id")

    def check_custody(self, manifest: Manifest) -> None:
        if CUSTODY_PATH not in self.digests:
            self.add("Custody history", "保管记录", "fail", CUSTODY_PATH,
                     "missing, altered or unreadable: custody events not checked")
            return
        try:
            events = parse_custody(self._json(self.entries[CUSTODY_PATH]))
        except PackageFormatError as exc:
            self.add("Custody history", "保管记录", "fail", CUSTODY_PATH, str(exc))
            return
        self.facts["events"] = len(events)
        self.add("Custody history", "保管记录", "pass", CUSTODY_PATH,
                 f"{len(events)} event(s) in the version-1 schema")
        for i, event in enumerate(events):
            subject = f"custody.events[{i}]"
            entry = self.verify_proof(manifest, subject, f"{subject}.proof", event.proof)
            if entry is not None:
                self._event_matches(manifest, subject, event, entry)

    def _event_matches(self, manifest: Manifest, subject: str, event: CustodyEventRecord,
                       entry: Mapping[str, Any]) -> None:
        known = manifest.known_ids
        problems = []
        if entry.get("kind") != event.kind:
            problems.append(f"entry kind is {entry.get('kind')!r}, the event says {event.kind!r}")
        if "item" in entry and entry["item"] not in known:
            problems.append(f"entry item {entry['item']!r} is not an item of this package")
        if event.item_id is not None and event.item_id not in known:
            problems.append(f"item_id {event.item_id!r} is not an item of this package")
        if "item" in entry and event.item_id is not None and entry["item"] != event.item_id \
                and not manifest.same_evidence(entry["item"], event.item_id):
            problems.append(f"entry item {entry['item']!r} differs from item_id "
                            f"{event.item_id!r}")
        outcome: Outcome = "fail" if problems else "pass"
        self.add("Event matches entry", "事件与条目一致", outcome, subject,
                 "; ".join(problems) or f"{event.kind} at {event.time}")


def _check_chain(manifest: Manifest, bundle: ProofBundle) -> None:
    anchor = bundle.anchor
    if anchor is None:
        return
    if manifest.chain is None:
        raise PackageFormatError("the proof is anchored but manifest.chain is null")
    if (anchor.chain_id, anchor.contract) != manifest.chain:
        raise PackageFormatError(
            f"the proof is anchored on chain {anchor.chain_id} at {anchor.contract}, but "
            f"manifest.chain is chain {manifest.chain[0]} at {manifest.chain[1]}")


def _proof_detail(where: str, bundle: ProofBundle, url: str | None) -> str:
    if bundle.anchor is None:
        return f"{where}: pending, logged at leaf {bundle.leaf_index} but not anchored yet"
    place = (f"tree size {bundle.tree_size}, block {bundle.anchor.block_number}, "
             f"tx {bundle.anchor.tx_hash}")
    if url is None:
        return (f"{where}: inclusion proof verifies ({place}); anchor not checked on chain "
                f"(no --rpc)")
    return f"{where}: verified on chain {bundle.anchor.chain_id} ({place})"
