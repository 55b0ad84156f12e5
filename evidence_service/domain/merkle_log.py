"""RFC 9162 Merkle tree hashing and proof generation over stored perfect subtrees.

The log stores the hash of every perfect, aligned subtree (``level``, ``index``) covering
leaves ``[index * 2**level, (index + 1) * 2**level)``: a leaf is level 0. With those, the hash
of any range the RFC 9162 recursion asks for costs O(log n) lookups, so proofs stay cheap for
millions of leaves. Verification lives in ``evidence_verify`` (stdlib only, what courts run).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Protocol

EMPTY_ROOT = hashlib.sha256(b"").digest()


class NodeSource(Protocol):
    def node(self, level: int, index: int) -> bytes:
        """Hash of the perfect subtree at (level, index); raises LookupError if absent."""
        ...


def leaf_hash(entry: bytes) -> bytes:
    """RFC 9162 leaf hash: SHA-256(0x00 || entry)."""
    return hashlib.sha256(b"\x00" + entry).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """RFC 9162 interior node hash: SHA-256(0x01 || left || right)."""
    return hashlib.sha256(b"\x01" + left + right).digest()


def _split(n: int) -> int:
    """Largest power of two strictly smaller than n (n >= 2)."""
    return 1 << ((n - 1).bit_length() - 1)


def subtree_hash(src: NodeSource, start: int, end: int) -> bytes:
    """MTH(D[start:end]) for a range the RFC 9162 recursion produces."""
    n = end - start
    if n <= 0:
        if start == 0 and end == 0:
            return EMPTY_ROOT
        raise ValueError("empty range")
    if n & (n - 1) == 0 and start % n == 0:
        return src.node(n.bit_length() - 1, start // n)
    k = _split(n)
    return node_hash(subtree_hash(src, start, start + k), subtree_hash(src, start + k, end))


def root(src: NodeSource, size: int) -> bytes:
    """MTH(D[size])."""
    return subtree_hash(src, 0, size)


def inclusion_path(src: NodeSource, index: int, size: int) -> list[bytes]:
    """RFC 9162 §2.1.3.1 PATH(index, D[size]); raises ValueError when index >= size."""
    if not 0 <= index < size:
        raise ValueError(f"leaf {index} is not in a tree of size {size}")
    path: list[bytes] = []
    start, end = 0, size
    while end - start > 1:
        k = _split(end - start)
        if index < start + k:
            path.append(subtree_hash(src, start + k, end))
            end = start + k
        else:
            path.append(subtree_hash(src, start, start + k))
            start += k
    path.reverse()
    return path


def consistency_path(src: NodeSource, old_size: int, new_size: int) -> list[bytes]:
    """RFC 9162 §2.1.4.1 PROOF(old_size, D[new_size]); raises ValueError if not 0<old<=new."""
    if not 0 < old_size <= new_size:
        raise ValueError("consistency needs 0 < from <= to")
    if old_size == new_size:
        return []
    path: list[bytes] = []
    start, end, m, whole = 0, new_size, old_size, True
    while True:
        n = end - start
        if m == n:
            if not whole:
                path.append(subtree_hash(src, start, end))
            break
        k = _split(n)
        if m <= k:
            path.append(subtree_hash(src, start + k, end))
            end = start + k
        else:
            path.append(subtree_hash(src, start, start + k))
            start, m, whole = start + k, m - k, False
    path.reverse()
    return path


def nodes_completed_by(index: int, leaf: bytes,
                       left_sibling: Callable[[int, int], bytes]) -> list[tuple[int, int, bytes]]:
    """The perfect subtrees that appending leaf ``index`` completes, as (level, index, hash).

    ``left_sibling(level, index)`` returns an already stored node hash.
    """
    nodes = [(0, index, leaf)]
    level, position, current = 0, index, leaf
    while position % 2 == 1:
        current = node_hash(left_sibling(level, position - 1), current)
        level, position = level + 1, position // 2
        nodes.append((level, position, current))
    return nodes
