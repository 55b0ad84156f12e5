"""Verification of evidence against the anchored log: public lookups, re-checks, proof bundles.

A failed check is a result, not an error: ``Verdict`` carries ``verified``, ``pending``,
``unknown`` or ``mismatch`` plus the reasons. Errors are raised only when a check could not run.
"""

from __future__ import annotations

import base64
import logging
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from evidence_service.domain import merkle_log
from evidence_service.domain.canonical import registration_entry
from evidence_service.domain.custody import CustodyKind
from evidence_service.domain.errors import NotFound
from evidence_service.domain.hashing import DualHasher
from evidence_service.domain.merkle_log import leaf_hash as leaf_hash_of
from evidence_service.domain.models import (
    Anchor,
    EvidenceItem,
    ItemStatus,
    LogLeaf,
    Principal,
)
from evidence_service.ports import (
    Clock,
    LedgerAnchor,
    ObjectStore,
    Repository,
    UnitOfWork,
    iter_file,
)
from evidence_service.services.cases import READ_ROLES, require
from evidence_service.services.custody import lineage, raise_alert, record_event

_logger = logging.getLogger(__name__)
BUNDLE_FORMAT = "evidence-proof-bundle"
BUNDLE_VERSION = 1


@dataclass(frozen=True)
class _Nodes:
    repo: Repository

    def node(self, level: int, index: int) -> bytes:
        return self.repo.log_node(level, index)


class _CachedNodes:
    """Perfect-subtree hashes never change once written (the log is append-only), so the
    public lookups keep the most used ones in memory instead of one query per node."""

    def __init__(self, limit: int = 20_000) -> None:
        self._hashes: dict[tuple[int, int], bytes] = {}
        self._limit = limit
        self._lock = threading.Lock()

    def bind(self, repo: Repository) -> _BoundCache:
        return _BoundCache(self, repo)

    def get(self, key: tuple[int, int], load: Any) -> bytes:
        with self._lock:
            found = self._hashes.get(key)
        if found is None:
            found = load(*key)
            with self._lock:
                if len(self._hashes) >= self._limit:
                    self._hashes.pop(next(iter(self._hashes)))
                self._hashes[key] = found
        return found


@dataclass(frozen=True)
class _BoundCache:
    cache: _CachedNodes
    repo: Repository

    def node(self, level: int, index: int) -> bytes:
        return self.cache.get((level, index), self.repo.log_node)


@dataclass(frozen=True)
class Verdict:
    """The outcome of a verification, safe to show to anyone (hashes and chain facts only)."""

    verdict: str
    reasons: list[str] = field(default_factory=list)
    registered_at: datetime | None = None
    leaf_index: int | None = None
    tree_size: int | None = None
    root: str | None = None
    inclusion_proof: list[str] = field(default_factory=list)
    anchor: Anchor | None = None


def expected_registration(item: EvidenceItem, leaf: LogLeaf) -> bytes:
    """The registration entry an original item's row implies (time taken from the leaf)."""
    return registration_entry(
        sha256=item.sha256 or "", sm3=item.sm3 or "", size=item.size or 0, item_id=item.id,
        case_id=item.case_id, department_id=item.department_id, at=leaf.created_at)


def leaf_bundle(repo: Repository, index: int) -> dict[str, Any]:
    """The version-1 proof bundle of log leaf ``index``: against the smallest anchored head
    that covers it, or the current head while it is pending."""
    leaf = repo.get_log_leaf(index)
    if leaf is None:
        raise NotFound("log entry not found")
    anchor = repo.anchor_covering(index)
    nodes = _Nodes(repo)
    size = anchor.tree_size if anchor else repo.log_size()
    path = merkle_log.inclusion_path(nodes, index, size)
    root = merkle_log.root(nodes, size)
    return {
        "format": BUNDLE_FORMAT, "version": BUNDLE_VERSION,
        "entry": {"encoding": "jcs-json",
                  "bytes_b64": base64.b64encode(leaf.entry).decode("ascii")},
        "leaf_index": leaf.index, "leaf_hash": leaf.leaf_hash, "tree_size": size,
        "root": root.hex(), "inclusion_path": [p.hex() for p in path],
        "anchor": None if anchor is None else {
            "chain_id": anchor.chain_id, "contract": anchor.contract_address,
            "tx_hash": anchor.tx_hash, "block_number": anchor.block_number,
            "block_time": anchor.block_time.strftime("%Y-%m-%dT%H:%M:%SZ")},
    }


class VerificationService:
    """Answers "is this evidence registered, unchanged and anchored?"."""

    def __init__(self, *, uow: UnitOfWork, store: ObjectStore,
                 ledger: LedgerAnchor | None, clock: Clock) -> None:
        self._uow = uow
        self._clock = clock
        self._store = store
        self._ledger = ledger
        self._confirmed: set[int] = set()
        self._lock = threading.Lock()
        self._nodes = _CachedNodes()

    # -- public: by digest ---------------------------------------------------------------
    def verify_digest(self, *, sha256: str | None = None, sm3: str | None = None) -> Verdict:
        """Look up the first registration of these bytes; never reveals case or department.

        The answer comes from the append-only log and its anchors alone, never from the
        mutable item rows: a doctored row cannot make unregistered bytes look registered
        (the authenticated re-check is what compares rows with the log).
        """
        with self._uow(read_only=True) as repo:
            leaf = repo.first_leaf_with_digest(sha256=sha256, sm3=sm3)
            if leaf is None:
                return Verdict(verdict="unknown", reasons=["no evidence with this hash"])
            return self._leaf_verdict(repo, leaf, repo.anchor_covering(leaf.index),
                                      nodes=self._nodes.bind(repo))

    def verify_stream(self, chunks: Iterable[bytes]) -> tuple[str, str, Verdict]:
        """Hash an uploaded file (never stored) and look it up; returns (sha256, sm3, verdict)."""
        hasher = DualHasher()
        for chunk in chunks:
            hasher.update(chunk)
        sha256, sm3 = hasher.sha256().value, hasher.sm3().value
        return sha256, sm3, self.verify_digest(sha256=sha256)

    def _proof_verdict(self, repo: Repository, item: EvidenceItem, anchor: Anchor | None, *,
                       cached: bool = False) -> Verdict:
        """Public lookups (``cached``) reuse immutable node hashes; re-checks read them all."""
        assert item.log_index is not None
        leaf = repo.get_log_leaf(item.log_index)
        if leaf is None:
            return Verdict(verdict="mismatch", reasons=["log entry missing"])
        origin = lineage(repo, item)[-1]
        if leaf.entry != expected_registration(origin, leaf):
            return Verdict(verdict="mismatch", leaf_index=item.log_index,
                           reasons=["the database row differs from its log entry"])
        nodes: merkle_log.NodeSource = self._nodes.bind(repo) if cached else _Nodes(repo)
        return self._leaf_verdict(repo, leaf, anchor, nodes=nodes)

    def _leaf_verdict(self, repo: Repository, leaf: LogLeaf, anchor: Anchor | None, *,
                      nodes: merkle_log.NodeSource) -> Verdict:
        if leaf_hash_of(leaf.entry).hex() != leaf.leaf_hash:
            return Verdict(verdict="mismatch", leaf_index=leaf.index,
                           reasons=["the log entry no longer hashes to its leaf"])
        if anchor is None:
            return Verdict(verdict="pending", registered_at=leaf.created_at,
                           leaf_index=leaf.index,
                           reasons=["registered; waiting for the next anchor"])
        path = merkle_log.inclusion_path(nodes, leaf.index, anchor.tree_size)
        root = merkle_log.root(nodes, anchor.tree_size)
        reasons = []
        if root.hex() != anchor.root:
            reasons.append("the log no longer produces the anchored root")
        if not self._confirmed_on_chain(anchor):
            reasons.append("the anchored root is not on the chain")
        return Verdict(verdict="mismatch" if reasons else "verified", reasons=reasons,
                       registered_at=leaf.created_at, leaf_index=leaf.index,
                       tree_size=anchor.tree_size, root=anchor.root,
                       inclusion_proof=[p.hex() for p in path], anchor=anchor)

    def _confirmed_on_chain(self, anchor: Anchor) -> bool:
        if self._ledger is None:
            return False
        with self._lock:
            if anchor.tree_size in self._confirmed:
                return True
        found = self._ledger.anchored(anchor.tree_size)
        ok = found is not None and found[0].hex() == anchor.root
        if ok:
            with self._lock:
                self._confirmed.add(anchor.tree_size)
        return ok

    # -- authenticated: re-check one item ------------------------------------------------
    def recheck_item(self, principal: Principal, item_id: str, *, client: str = "") -> Verdict:
        """Re-read the stored bytes and compare bytes, database row, log entry and anchor.

        Sets the item to ``verified`` or ``mismatch``. Raises NotFound, PermissionDenied,
        StorageUnavailable.
        """
        require(principal, READ_ROLES, "verifying evidence")
        with self._uow() as repo:
            item = repo.get_item(item_id, principal.department_id)
            if item is None or item.log_index is None or item.storage_key is None:
                raise NotFound("evidence item not found")
            anchor = repo.anchor_covering(item.log_index)
            verdict = self._proof_verdict(repo, item, anchor)
        reasons = list(verdict.reasons) if verdict.verdict == "mismatch" else []
        with self._store.open(item.storage_key) as handle:
            hasher = DualHasher()
            for chunk in iter_file(handle, chunk_size=4 << 20):
                hasher.update(chunk)
        if hasher.sha256().value != item.sha256 or hasher.sm3().value != item.sm3:
            reasons.append("stored bytes no longer match the recorded hashes")
        status = ItemStatus.MISMATCH if reasons else (
            ItemStatus.VERIFIED if verdict.verdict == "verified" else item.status)
        now = self._clock.now()
        with self._uow() as repo:
            current = repo.get_item(item_id, principal.department_id)
            if current is not None and current.status is not status:
                repo.save_item(current.model_copy(update={"status": status}))
            record_event(repo, kind=CustodyKind.VERIFIED, principal=principal, client=client,
                         at=now, case_id=item.case_id, item=item,
                         note="; ".join(reasons) or verdict.verdict)
            if reasons:
                raise_alert(repo, department_id=item.department_id, item_id=item.id,
                            source="recheck", reason="; ".join(reasons), at=now)
        if reasons:
            _logger.warning("integrity mismatch item=%s: %s", item.id, "; ".join(reasons))
            return Verdict(**{**verdict.__dict__, "verdict": "mismatch", "reasons": reasons})
        return verdict

    # -- bundles and consistency ---------------------------------------------------------
    def proof_bundle(self, principal: Principal, item_id: str) -> dict[str, Any]:
        """The self-contained version-1 proof bundle of an item (docs/proof-format.md §4)."""
        require(principal, READ_ROLES, "reading proofs")
        with self._uow(read_only=True) as repo:
            item = repo.get_item(item_id, principal.department_id)
            if item is None or item.log_index is None:
                raise NotFound("evidence item not found")
            return leaf_bundle(repo, item.log_index)

    def consistency(self, old_size: int, new_size: int) -> dict[str, Any]:
        """An RFC 9162 consistency proof between two anchored heads; NotFound otherwise."""
        with self._uow(read_only=True) as repo:
            old, new = repo.get_anchor(old_size), repo.get_anchor(new_size)
            if old is None or new is None or old_size > new_size:
                raise NotFound("both sizes must be anchored heads with from <= to")
            path = merkle_log.consistency_path(_Nodes(repo), old_size, new_size)
        return {"from": old_size, "to": new_size, "from_root": old.root, "to_root": new.root,
                "path": [p.hex() for p in path]}

    def head(self) -> dict[str, Any]:
        """The log size and the latest anchored head."""
        with self._uow(read_only=True) as repo:
            size, anchor = repo.log_size(), repo.latest_anchor()
        return {"log_size": size, "anchored": None if anchor is None else {
            "tree_size": anchor.tree_size, "root": anchor.root, "tx_hash": anchor.tx_hash,
            "block_number": anchor.block_number, "block_time": anchor.block_time,
            "chain_id": anchor.chain_id, "contract": anchor.contract_address}}
