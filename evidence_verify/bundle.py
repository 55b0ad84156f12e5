"""Proof bundles (``evidence-proof-bundle`` version 1): parsing and the five verification steps.

``parse_bundle`` turns the JSON object of ``GET /evidence/{id}/proof`` into a frozen
:class:`ProofBundle`, refusing anything docs/proof-format.md §4 does not allow.
``verify_bundle`` then runs the steps of §4 in order: (1) format, (2) entry and leaf hash,
(3) the file's digests, (4) the inclusion proof, (5) the anchor on chain. It returns a
:class:`VerificationReport` or raises the :class:`VerificationError` of the first failed step,
with the partial report attached as ``exc.report``.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from evidence_verify import _fields as f
from evidence_verify import rpc
from evidence_verify.digests import FileDigests, hash_file
from evidence_verify.entry import parse_entry
from evidence_verify.errors import (
    BundleFormatError,
    ChainMismatch,
    ContentMismatch,
    NotAnchored,
    ProofError,
    VerificationError,
)
from evidence_verify.merkle import (
    consistency_path_length,
    inclusion_path_length,
    leaf_hash,
    verify_consistency,
    verify_inclusion,
)
from evidence_verify.report import Check, Verdict, VerificationReport

__all__ = [
    "BUNDLE_FORMAT",
    "BUNDLE_VERSION",
    "Anchor",
    "ProofBundle",
    "parse_bundle",
    "verify_bundle",
    "verify_consistency_response",
]

BUNDLE_FORMAT = "evidence-proof-bundle"
BUNDLE_VERSION = 1
ENTRY_ENCODING = "jcs-json"
_T = TypeVar("_T")
_ADDRESS = re.compile(r"0x[0-9a-fA-F]{40}")
_TX_HASH = re.compile(r"0x[0-9a-f]{64}")
_BLOCK_TIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z")
_ZERO_ROOT = bytes(32)
_BUNDLE_KEYS = ("format", "version", "entry", "leaf_index", "leaf_hash", "tree_size", "root",
                "inclusion_path", "anchor")
_ANCHOR_KEYS = ("chain_id", "contract", "tx_hash", "block_number", "block_time")
_CONSISTENCY_KEYS = ("from", "to", "from_root", "to_root", "path")


@dataclass(frozen=True)
class Anchor:
    """Where the tree head covering the entry was anchored.

    ``contract`` is lowercase; ``block_time`` is a UTC datetime (whole seconds).
    """

    chain_id: int
    contract: str
    tx_hash: str
    block_number: int
    block_time: datetime


@dataclass(frozen=True)
class ProofBundle:
    """A parsed version-1 proof bundle. ``anchor`` is None while the entry is pending."""

    entry_bytes: bytes
    leaf_index: int
    leaf_hash: bytes
    tree_size: int
    root: bytes
    inclusion_path: tuple[bytes, ...]
    anchor: Anchor | None

    @property
    def pending(self) -> bool:
        """True when no anchored tree head covers the entry yet (``anchor: null``)."""
        return self.anchor is None


def parse_bundle(obj: object) -> ProofBundle:
    """Validate a decoded bundle JSON object (spec step 1). Raises BundleFormatError."""
    data = f.fields(obj, "bundle", required=_BUNDLE_KEYS)
    fmt = f.string(data["format"], "bundle.format")
    if fmt != BUNDLE_FORMAT:
        raise BundleFormatError(f"bundle.format is {f.shorten(fmt, 40)!r}, "
                                f"expected {BUNDLE_FORMAT!r}")
    version = f.integer(data["version"], "bundle.version")
    if version != BUNDLE_VERSION:
        raise BundleFormatError(f"bundle.version is {version}; this verifier reads "
                                f"version {BUNDLE_VERSION} only")
    tree_size = f.integer(data["tree_size"], "bundle.tree_size", minimum=1)
    leaf_index = f.integer(data["leaf_index"], "bundle.leaf_index")
    if leaf_index >= tree_size:
        raise BundleFormatError(f"bundle.leaf_index {leaf_index} is not below "
                                f"bundle.tree_size {tree_size}")
    path = f.hex32_list(data["inclusion_path"], "bundle.inclusion_path")
    want = inclusion_path_length(leaf_index, tree_size)
    if len(path) != want:
        raise BundleFormatError(
            f"bundle.inclusion_path has {len(path)} hashes; a proof for leaf {leaf_index} "
            f"of tree size {tree_size} has {want} (truncated or padded proof)")
    return ProofBundle(
        entry_bytes=_entry_bytes(data["entry"]),
        leaf_index=leaf_index,
        leaf_hash=f.hex32(data["leaf_hash"], "bundle.leaf_hash"),
        tree_size=tree_size,
        root=f.hex32(data["root"], "bundle.root"),
        inclusion_path=path,
        anchor=None if data["anchor"] is None else _anchor(data["anchor"]),
    )


def _entry_bytes(value: object) -> bytes:
    entry = f.fields(value, "bundle.entry", required=("encoding", "bytes_b64"))
    encoding = f.string(entry["encoding"], "bundle.entry.encoding")
    if encoding != ENTRY_ENCODING:
        raise BundleFormatError(f"bundle.entry.encoding is {f.shorten(encoding, 40)!r}, "
                                f"expected {ENTRY_ENCODING!r}")
    text = f.string(entry["bytes_b64"], "bundle.entry.bytes_b64")
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise BundleFormatError(f"bundle.entry.bytes_b64 is not valid base64: {exc}") from exc


def _anchor(value: object) -> Anchor:
    data = f.fields(value, "bundle.anchor", required=_ANCHOR_KEYS)
    contract = f.string(data["contract"], "bundle.anchor.contract")
    if not _ADDRESS.fullmatch(contract):
        raise BundleFormatError(f"bundle.anchor.contract must be 0x and 40 hex digits, "
                                f"got {f.shorten(contract, 44)!r}")
    tx_hash = f.string(data["tx_hash"], "bundle.anchor.tx_hash")
    if not _TX_HASH.fullmatch(tx_hash):
        raise BundleFormatError(f"bundle.anchor.tx_hash must be 0x and 64 lowercase hex "
                                f"digits, got {f.shorten(tx_hash, 68)!r}")
    block_time = f.string(data["block_time"], "bundle.anchor.block_time")
    try:
        if not _BLOCK_TIME.fullmatch(block_time):
            raise ValueError("not YYYY-MM-DDTHH:MM:SSZ")
        moment = datetime.strptime(block_time, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    except ValueError as exc:
        raise BundleFormatError(f"bundle.anchor.block_time {f.shorten(block_time, 40)!r} is "
                                f"not a UTC time YYYY-MM-DDTHH:MM:SSZ ({exc})") from exc
    return Anchor(
        chain_id=f.integer(data["chain_id"], "bundle.anchor.chain_id", minimum=1),
        contract=contract.lower(),
        tx_hash=tx_hash,
        block_number=f.integer(data["block_number"], "bundle.anchor.block_number"),
        block_time=moment,
    )


class _Run:
    """Collects checks in order; on a failed check attaches the partial report and re-raises."""

    def __init__(self, title: str | None = None) -> None:
        self.checks: list[Check] = []
        self.entry: dict[str, Any] = {}
        self.facts: dict[str, Any] = {}
        self.title = title

    def check(self, name: str, name_zh: str, step: Callable[[], tuple[str, _T]]) -> _T:
        try:
            detail, value = step()
        except VerificationError as exc:
            self.checks.append(Check(name, name_zh, False, str(exc)))
            exc.report = self.report("failed")
            raise
        self.checks.append(Check(name, name_zh, True, detail))
        return value

    def skip(self, name: str, name_zh: str, reason: str) -> None:
        self.checks.append(Check(name, name_zh, None, reason))

    def report(self, verdict: Verdict) -> VerificationReport:
        extra = {"title": self.title} if self.title else {}
        return VerificationReport(verdict=verdict, checks=tuple(self.checks), entry=self.entry,
                                  facts=self.facts, **extra)


def verify_bundle(
    bundle: ProofBundle | Mapping[str, Any],
    *,
    file: Path | None = None,
    rpc_url: str | None = None,
    timeout: float = 10,
) -> VerificationReport:
    """Verify a proof bundle (steps 1-5 of docs/proof-format.md §4).

    ``bundle`` is a parsed :class:`ProofBundle` or the decoded JSON object. With ``file`` its
    SHA-256 (and SM3 where this Python's OpenSSL has it) must match the entry; with
    ``rpc_url`` the anchor is checked on chain. The verdict is ``pending`` for a bundle with
    ``anchor: null``. Raises BundleFormatError (malformed or unsupported bundle or entry),
    ProofError (leaf hash or inclusion proof), ContentMismatch (file), ChainMismatch or
    ChainUnavailable (chain), NotAnchored (``rpc_url`` given for a pending bundle), all with
    ``exc.report`` set; OSError when ``file`` cannot be read.
    """
    run = _Run()
    parsed = run.check("Bundle format", "格式", lambda: _step_format(bundle))
    run.facts.update(_bundle_facts(parsed))
    if parsed.anchor is None and rpc_url is not None:
        run.check("On-chain anchor", "链上锚定", _refuse_pending)
    run.entry.update(run.check("Entry and leaf hash", "条目与叶哈希",
                               lambda: _step_entry(parsed)))
    if file is None:
        run.skip("File digests", "文件摘要", "no file given (--file)")
    else:
        run.facts["file"] = str(file)
        _steps_file(run, hash_file(file))
    run.check("Inclusion proof", "包含证明", lambda: _step_inclusion(parsed))
    if parsed.anchor is None:
        run.skip("On-chain anchor", "链上锚定",
                 "pending: no anchored tree head covers this entry yet")
        return run.report("pending")
    if rpc_url is None:
        run.skip("On-chain anchor", "链上锚定", "no RPC endpoint given (--rpc): chain id, "
                 "root and transaction above are the bundle's claim, not checked on chain")
        return run.report("verified")
    run.facts["rpc_url"] = rpc_url
    _steps_chain(run, parsed, parsed.anchor, rpc_url, timeout)
    return run.report("verified")


def _step_format(bundle: ProofBundle | Mapping[str, Any]) -> tuple[str, ProofBundle]:
    parsed = bundle if isinstance(bundle, ProofBundle) else parse_bundle(bundle)
    return f"{BUNDLE_FORMAT} version {BUNDLE_VERSION}", parsed


def _refuse_pending() -> tuple[str, None]:
    raise NotAnchored("the bundle is pending (anchor: null): its entry is not anchored yet, "
                      "so there is nothing to check on chain; verify it without --rpc, or "
                      "fetch a new bundle once an anchored tree head covers it")


def _bundle_facts(bundle: ProofBundle) -> dict[str, Any]:
    facts: dict[str, Any] = {"leaf_index": bundle.leaf_index, "tree_size": bundle.tree_size,
                             "root": bundle.root.hex()}
    if bundle.anchor is not None:
        anchor = bundle.anchor
        facts.update(chain_id=anchor.chain_id, contract=anchor.contract,
                     tx_hash=anchor.tx_hash, block_number=anchor.block_number,
                     block_time=_iso(anchor.block_time))
    return facts


def _step_entry(bundle: ProofBundle) -> tuple[str, dict[str, Any]]:
    computed = leaf_hash(bundle.entry_bytes)
    if computed != bundle.leaf_hash:
        raise ProofError(f"the entry hashes to leaf {computed.hex()}, not to "
                         f"bundle.leaf_hash {bundle.leaf_hash.hex()}: the entry is not the one "
                         f"this proof is for")
    entry = parse_entry(bundle.entry_bytes)
    return f"entry ({entry['kind']}, v{entry['v']}) hashes to the leaf hash", entry


def _steps_file(run: _Run, digests: FileDigests) -> None:
    entry = run.entry
    run.check("File SHA-256", "文件 SHA-256",
              lambda: _compare("SHA-256", digests.sha256, _registered(entry, "sha256")))
    sm3 = digests.sm3
    if sm3 is None:
        run.skip("File SM3", "文件 SM3", "this Python's OpenSSL has no SM3: not checked")
    else:
        run.check("File SM3", "文件 SM3",
                  lambda: _compare("SM3", sm3, _registered(entry, "sm3")))
    run.check("File size", "文件大小",
              lambda: _compare("size", str(digests.size), str(_registered(entry, "size"))))


def _registered(entry: Mapping[str, Any], key: str) -> Any:
    if key not in entry:
        raise BundleFormatError(f"entry kind {entry.get('kind')!r} has no {key!r}: a file "
                                f"cannot be checked against it")
    return entry[key]


def _compare(what: str, actual: str, registered: str) -> tuple[str, None]:
    if actual != registered:
        raise ContentMismatch(f"the file's {what} is {actual}, but the entry registered "
                              f"{registered}: this is not the registered file")
    return f"{what} {actual} matches the entry", None


def _step_inclusion(bundle: ProofBundle) -> tuple[str, None]:
    verify_inclusion(leaf_index=bundle.leaf_index, tree_size=bundle.tree_size,
                     leaf_hash=bundle.leaf_hash, path=bundle.inclusion_path, root=bundle.root)
    return (f"the path of leaf {bundle.leaf_index} (tree size {bundle.tree_size}) leads to "
            f"root {bundle.root.hex()}"), None


def _steps_chain(run: _Run, bundle: ProofBundle, anchor: Anchor, url: str,
                 timeout: float) -> None:
    run.check("Chain id", "链 ID", lambda: _step_chain_id(anchor, url, timeout))
    run.check("On-chain root", "链上根哈希",
              lambda: _step_anchor_of(bundle, anchor, url, timeout))
    run.check("Anchor transaction", "锚定交易",
              lambda: _step_receipt(anchor, url, timeout))


def _step_chain_id(anchor: Anchor, url: str, timeout: float) -> tuple[str, None]:
    actual = rpc.chain_id(url, timeout=timeout)
    if actual != anchor.chain_id:
        raise ChainMismatch(f"the RPC endpoint serves chain id {actual}, but the bundle was "
                            f"anchored on chain id {anchor.chain_id}: refusing another chain")
    return f"the endpoint serves chain id {actual}", None


def _step_anchor_of(bundle: ProofBundle, anchor: Anchor, url: str,
                    timeout: float) -> tuple[str, None]:
    root, timestamp, block = rpc.call_anchor_of(url, anchor.contract, bundle.tree_size,
                                                timeout=timeout)
    where = f"contract {anchor.contract} on chain {anchor.chain_id}"
    if root == _ZERO_ROOT:
        raise ChainMismatch(f"tree size {bundle.tree_size} was never anchored on {where} "
                            f"(anchorOf returned zeros)")
    if root != bundle.root:
        raise ChainMismatch(f"{where} anchored root {root.hex()} for tree size "
                            f"{bundle.tree_size}, not the bundle's root {bundle.root.hex()}")
    if block != anchor.block_number:
        raise ChainMismatch(f"{where} anchored tree size {bundle.tree_size} in block {block}, "
                            f"but the bundle says block {anchor.block_number}")
    anchored_at = datetime.fromtimestamp(timestamp, UTC)
    if anchored_at != anchor.block_time:
        raise ChainMismatch(f"{where} anchored tree size {bundle.tree_size} at "
                            f"{_iso(anchored_at)}, but the bundle says {_iso(anchor.block_time)}")
    return (f"{where} holds this root for tree size {bundle.tree_size}, anchored in block "
            f"{block} at {_iso(anchored_at)}"), None


def _step_receipt(anchor: Anchor, url: str, timeout: float) -> tuple[str, None]:
    receipt = rpc.transaction_receipt(url, anchor.tx_hash, timeout=timeout)
    tx = f"transaction {anchor.tx_hash}"
    if receipt is None:
        raise ChainMismatch(f"{tx} is not known on chain {anchor.chain_id}")
    if receipt.status != 1:
        raise ChainMismatch(f"{tx} failed (status {receipt.status})")
    if receipt.block_number != anchor.block_number:
        raise ChainMismatch(f"{tx} is in block {receipt.block_number}, "
                            f"not in block {anchor.block_number}")
    if receipt.to != anchor.contract:
        raise ChainMismatch(f"{tx} called {receipt.to}, not the registry {anchor.contract}")
    return f"{tx} succeeded in block {receipt.block_number}", None


def verify_consistency_response(obj: object) -> VerificationReport:
    """Verify a ``GET /log/consistency`` answer (docs/proof-format.md §6).

    Returns a ``verified`` report; the two roots are not compared with the chain (the
    response names no chain; the report lists that as not checked). Raises BundleFormatError
    for a malformed response or a path of the wrong length, ProofError when the proof does
    not verify; both with ``exc.report`` set.
    """
    run = _Run(title="Log consistency verification / 日志一致性验证")
    old_size, new_size, old_root, new_root, path = run.check(
        "Response format", "格式", lambda: _parse_consistency(obj))
    run.facts.update({"from": old_size, "to": new_size, "from_root": old_root.hex(),
                      "to_root": new_root.hex()})

    def step() -> tuple[str, None]:
        verify_consistency(old_size=old_size, new_size=new_size, old_root=old_root,
                           new_root=new_root, path=path)
        return f"the log at size {new_size} extends the log at size {old_size}", None

    run.check("Consistency proof", "一致性证明", step)
    run.skip("On-chain roots", "链上根哈希", "the response names no chain: compare both roots "
             "with anchorOf on the registry to tie them to anchored heads")
    return run.report("verified")


def _parse_consistency(obj: object) -> tuple[str, tuple[int, int, bytes, bytes,
                                                          tuple[bytes, ...]]]:
    data = f.fields(obj, "consistency", required=_CONSISTENCY_KEYS)
    old_size = f.integer(data["from"], "consistency.from", minimum=1)
    new_size = f.integer(data["to"], "consistency.to", minimum=1)
    old_root = f.hex32(data["from_root"], "consistency.from_root")
    new_root = f.hex32(data["to_root"], "consistency.to_root")
    path = f.hex32_list(data["path"], "consistency.path")
    if old_size <= new_size:
        want = consistency_path_length(old_size, new_size)
        if len(path) != want:
            raise BundleFormatError(
                f"consistency.path has {len(path)} hashes; a proof from tree size {old_size} "
                f"to {new_size} has {want} (truncated or padded proof)")
    detail = f"consistency response from tree size {old_size} to {new_size}"
    return detail, (old_size, new_size, old_root, new_root, path)


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
