"""Custody events, transfer manifests and their canonical log entries (docs/proof-format.md §7).

Every use of evidence is a custody event, and every custody event is a leaf of the evidence
log, anchored like a registration. Entries hold opaque ids and hashes only: the client that
made a request is logged as the SHA-256 of its description, never as an address.
Changing a byte of an entry here breaks every proof already issued.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import datetime
from enum import StrEnum

from evidence_service.domain.canonical import ENTRY_VERSION, canonical_bytes, format_time
from evidence_service.domain.merkle_log import leaf_hash, node_hash


class CustodyKind(StrEnum):
    """What happened to an item (the log entry kind is ``custody.<value>``)."""

    UPLOADED = "uploaded"
    VIEWED = "viewed"
    DOWNLOADED = "downloaded"
    VERIFIED = "verified"
    ANALYSED = "analysed"
    DERIVED_ADDED = "derived_added"
    TRANSFER_SENT = "transfer_sent"
    TRANSFER_ACCEPTED = "transfer_accepted"
    TRANSFER_REJECTED = "transfer_rejected"
    APPROVAL_GRANTED = "approval_granted"
    GRADED = "graded"
    EXPORTED = "exported"

    @property
    def entry_kind(self) -> str:
        """The ``kind`` of the log entry that records this event."""
        return f"custody.{self.value}"


def client_digest(client: str) -> str:
    """SHA-256 hex of a client description (address and user agent): logged, never shown."""
    return hashlib.sha256(client.encode("utf-8", errors="replace")).hexdigest()


def custody_entry(*, kind: CustodyKind, item_id: str | None, case_id: str, department_id: str,
                  actor_id: str, client: str, at: datetime, content_sha256: str | None = None,
                  subject: str | None = None) -> bytes:
    """The canonical entry of one custody event.

    ``content_sha256`` ties the event to the bytes it concerns; ``subject`` is an opaque id of
    what the event refers to besides the item (a transfer, an approval, a package digest).
    Raises ValueError for values outside the version-1 subset.
    """
    entry: dict[str, object] = {
        "v": ENTRY_VERSION, "kind": kind.entry_kind, "case": case_id,
        "department": department_id, "actor": actor_id, "client": client_digest(client),
        "time": format_time(at),
    }
    if item_id is not None:
        entry["item"] = item_id
    if content_sha256 is not None:
        entry["sha256"] = content_sha256
    if subject is not None:
        entry["subject"] = subject
    return canonical_bytes(entry)


def manifest_leaf(*, item_id: str, sha256: str, sm3: str, size: int, log_index: int) -> bytes:
    """Canonical bytes of one item in a transfer manifest."""
    return canonical_bytes({"v": ENTRY_VERSION, "kind": "transfer.manifest-item",
                            "item": item_id, "sha256": sha256, "sm3": sm3, "size": size,
                            "leaf": log_index})


def manifest_root(leaves: Sequence[bytes]) -> bytes:
    """RFC 9162 Merkle tree hash over manifest leaves (in the order given).

    Raises ValueError for an empty manifest: a transfer always carries at least one item.
    """
    if not leaves:
        raise ValueError("a manifest needs at least one item")
    level = [leaf_hash(leaf) for leaf in leaves]
    return _mth(level)


def _mth(hashes: list[bytes]) -> bytes:
    if len(hashes) == 1:
        return hashes[0]
    split = 1
    while split * 2 < len(hashes):
        split *= 2
    return node_hash(_mth(hashes[:split]), _mth(hashes[split:]))


def id_hash(opaque_id: str) -> bytes:
    """The bytes32 under which an opaque id (transfer, case, department) goes on-chain."""
    return hashlib.sha256(opaque_id.encode("ascii")).digest()


def reason_hash(reason: str) -> bytes:
    """The bytes32 of a rejection reason kept off-chain (SHA-256 of its UTF-8 text)."""
    return hashlib.sha256(reason.encode("utf-8")).digest()
