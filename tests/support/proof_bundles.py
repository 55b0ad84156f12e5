"""Test-local RFC 9162 tree builder and proof-bundle factory for the ``evidence_verify`` tests.

Written straight from the RFC 9162 §2.1 definitions (MTH, PATH, PROOF/SUBPROOF) with hashlib,
independent of ``evidence_verify`` and ``evidence_service``, so the verifier is checked against
a second implementation rather than against itself.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

EMPTY = hashlib.sha256(b"").digest()
SM3_AVAILABLE = "sm3" in hashlib.algorithms_available


def leaf(entry: bytes) -> bytes:
    """SHA-256(0x00 || entry)."""
    return hashlib.sha256(b"\x00" + entry).digest()


def node(left: bytes, right: bytes) -> bytes:
    """SHA-256(0x01 || left || right)."""
    return hashlib.sha256(b"\x01" + left + right).digest()


def _split(n: int) -> int:
    """Largest power of two smaller than n (n >= 2)."""
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def mth(leaves: Sequence[bytes]) -> bytes:
    """MTH(D[n]) over leaf *hashes*."""
    if not leaves:
        return EMPTY
    if len(leaves) == 1:
        return leaves[0]
    k = _split(len(leaves))
    return node(mth(leaves[:k]), mth(leaves[k:]))


def inclusion_path(index: int, leaves: Sequence[bytes]) -> list[bytes]:
    """PATH(index, D[n]) over leaf hashes (RFC 9162 §2.1.3.1)."""
    if len(leaves) <= 1:
        return []
    k = _split(len(leaves))
    if index < k:
        return [*inclusion_path(index, leaves[:k]), mth(leaves[k:])]
    return [*inclusion_path(index - k, leaves[k:]), mth(leaves[:k])]


def consistency_proof(m: int, leaves: Sequence[bytes]) -> list[bytes]:
    """PROOF(m, D[n]) over leaf hashes (RFC 9162 §2.1.4.1); empty when m == n."""
    return _subproof(m, leaves, True)


def _subproof(m: int, leaves: Sequence[bytes], whole: bool) -> list[bytes]:
    n = len(leaves)
    if m == n:
        return [] if whole else [mth(leaves)]
    k = _split(n)
    if m <= k:
        return [*_subproof(m, leaves[:k], whole), mth(leaves[k:])]
    return [*_subproof(m - k, leaves[k:], False), mth(leaves[:k])]


def canonical(entry: dict[str, Any]) -> bytes:
    """JCS bytes of a version-1 entry (sorted keys, no whitespace)."""
    return json.dumps(entry, sort_keys=True, separators=(",", ":"),
                      ensure_ascii=False).encode("utf-8")


def sm3_hex(content: bytes) -> str:
    """Lowercase hex SM3 of ``content`` (a fixed dummy when OpenSSL has no SM3)."""
    if not SM3_AVAILABLE:
        return "5" * 64
    return hashlib.new("sm3", content).hexdigest()


def registration(content: bytes, n: int = 0, **changes: Any) -> dict[str, Any]:
    """An ``evidence.registered`` entry for file ``content`` (item number ``n``)."""
    entry: dict[str, Any] = {
        "v": 1,
        "kind": "evidence.registered",
        "sha256": hashlib.sha256(content).hexdigest(),
        "sm3": sm3_hex(content),
        "size": len(content),
        "item": f"00000000-0000-4000-8000-{n:012d}",
        "case": "5b6f0000-0000-4000-8000-000000000001",
        "department": "c14e0000-0000-4000-8000-000000000002",
        "time": f"2026-11-22T00:55:{n % 60:02d}.610000Z",
    }
    entry.update(changes)
    return entry


def bundle_for(entries: Sequence[bytes], index: int, *,
               anchor: dict[str, Any] | None = None) -> dict[str, Any]:
    """A version-1 proof bundle for entry ``index`` of a log holding ``entries`` (raw bytes)."""
    leaves = [leaf(e) for e in entries]
    return {
        "format": "evidence-proof-bundle",
        "version": 1,
        "entry": {"encoding": "jcs-json",
                  "bytes_b64": base64.b64encode(entries[index]).decode("ascii")},
        "leaf_index": index,
        "leaf_hash": leaves[index].hex(),
        "tree_size": len(entries),
        "root": mth(leaves).hex(),
        "inclusion_path": [h.hex() for h in inclusion_path(index, leaves)],
        "anchor": anchor,
    }


def anchor_fields(*, chain_id: int, contract: str, tx_hash: str, block_number: int,
                  timestamp: int) -> dict[str, Any]:
    """The ``anchor`` object of a bundle."""
    when = datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return {"chain_id": chain_id, "contract": contract, "tx_hash": tx_hash,
            "block_number": block_number, "block_time": when}


def consistency_response(entries: Sequence[bytes], m: int) -> dict[str, Any]:
    """A ``/log/consistency`` answer from size ``m`` to ``len(entries)``."""
    leaves = [leaf(e) for e in entries]
    return {"from": m, "to": len(entries), "from_root": mth(leaves[:m]).hex(),
            "to_root": mth(leaves).hex(),
            "path": [h.hex() for h in consistency_proof(m, leaves)]}
