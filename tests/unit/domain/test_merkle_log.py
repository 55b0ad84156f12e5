"""Proof generation over stored perfect subtrees equals the RFC 9162 definitions, read naively."""

from __future__ import annotations

import hashlib

import pytest

from evidence_service.domain.merkle_log import (
    EMPTY_ROOT,
    consistency_path,
    inclusion_path,
    leaf_hash,
    node_hash,
    nodes_completed_by,
    root,
)


class MemoryLog:
    """A NodeSource filled exactly as the repository fills log_nodes on append."""

    def __init__(self, entries: list[bytes]) -> None:
        self.nodes: dict[tuple[int, int], bytes] = {}
        for i, entry in enumerate(entries):
            for level, idx, digest in nodes_completed_by(i, leaf_hash(entry),
                                                         lambda lv, ix: self.nodes[(lv, ix)]):
                self.nodes[(level, idx)] = digest

    def node(self, level: int, index: int) -> bytes:
        return self.nodes[(level, index)]


def _k(n: int) -> int:
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def mth(leaves: list[bytes]) -> bytes:  # RFC 9162 §2.1.1, literally
    if not leaves:
        return hashlib.sha256(b"").digest()
    if len(leaves) == 1:
        return leaf_hash(leaves[0])
    k = _k(len(leaves))
    return node_hash(mth(leaves[:k]), mth(leaves[k:]))


def path(m: int, leaves: list[bytes]) -> list[bytes]:  # §2.1.3.1
    if len(leaves) == 1:
        return []
    k = _k(len(leaves))
    if m < k:
        return [*path(m, leaves[:k]), mth(leaves[k:])]
    return [*path(m - k, leaves[k:]), mth(leaves[:k])]


def subproof(m: int, leaves: list[bytes], whole: bool) -> list[bytes]:  # §2.1.4.1
    n = len(leaves)
    if m == n:
        return [] if whole else [mth(leaves)]
    k = _k(n)
    if m <= k:
        return [*subproof(m, leaves[:k], whole), mth(leaves[k:])]
    return [*subproof(m - k, leaves[k:], False), mth(leaves[:k])]


ENTRIES = [f"entry-{i}".encode() for i in range(37)]


def test_empty_root() -> None:
    assert root(MemoryLog([]), 0) == EMPTY_ROOT == hashlib.sha256(b"").digest()


@pytest.mark.parametrize("size", range(1, 38))
def test_roots_and_inclusion_paths_match_the_rfc(size: int) -> None:
    log = MemoryLog(ENTRIES[:size])
    assert root(log, size) == mth(ENTRIES[:size])
    for m in range(size):
        assert inclusion_path(log, m, size) == path(m, ENTRIES[:size])


@pytest.mark.parametrize("new", [1, 2, 3, 7, 8, 9, 16, 17, 31, 37])
def test_consistency_paths_match_the_rfc(new: int) -> None:
    log = MemoryLog(ENTRIES)
    for old in range(1, new + 1):
        expected = [] if old == new else subproof(old, ENTRIES[:new], True)
        assert consistency_path(log, old, new) == expected


def test_roots_of_older_sizes_are_computable_from_a_larger_log() -> None:
    log = MemoryLog(ENTRIES)
    for size in range(1, 38):
        assert root(log, size) == mth(ENTRIES[:size])


@pytest.mark.parametrize(("index", "size"), [(5, 5), (-1, 3), (0, 0)])
def test_inclusion_path_rejects_leaves_outside_the_tree(index: int, size: int) -> None:
    with pytest.raises(ValueError, match="not in a tree"):
        inclusion_path(MemoryLog(ENTRIES), index, size)


@pytest.mark.parametrize(("old", "new"), [(0, 3), (4, 3)])
def test_consistency_rejects_bad_sizes(old: int, new: int) -> None:
    with pytest.raises(ValueError, match="0 < from <= to"):
        consistency_path(MemoryLog(ENTRIES), old, new)
