"""The service's proof generation reproduces the published Certificate Transparency vectors."""

from __future__ import annotations

import pytest

from evidence_service.domain.merkle_log import consistency_path, inclusion_path, root
from tests.unit.domain.test_merkle_log import MemoryLog
from tests.unit.verify.test_merkle_vectors import (
    CONSISTENCY_PROOFS,
    INCLUSION_PROOFS,
    LEAF_INPUTS,
    NODE_HASHES,
    ROOT_HASHES,
)

LOG = MemoryLog([bytes.fromhex(x) for x in LEAF_INPUTS])


def test_stored_nodes_are_the_published_node_hashes() -> None:
    for level, row in enumerate(NODE_HASHES):
        for index, expected in enumerate(row):
            assert LOG.node(level, index).hex() == expected


@pytest.mark.parametrize("size", range(len(ROOT_HASHES)))
def test_roots(size: int) -> None:
    assert root(LOG, size).hex() == ROOT_HASHES[size]


@pytest.mark.parametrize(("leaf", "size", "proof"), INCLUSION_PROOFS)
def test_inclusion_proofs(leaf: int, size: int, proof: list[str]) -> None:
    assert [p.hex() for p in inclusion_path(LOG, leaf - 1, size)] == proof


@pytest.mark.parametrize(("old", "new", "proof"), CONSISTENCY_PROOFS)
def test_consistency_proofs(old: int, new: int, proof: list[str]) -> None:
    assert [p.hex() for p in consistency_path(LOG, old, new)] == proof
