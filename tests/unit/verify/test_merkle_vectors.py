"""RFC 6962 / RFC 9162 Merkle test vectors from Certificate Transparency (transparency-dev/merkle).

Only the vector *data* is copied (hex strings), each block with the file it comes from. The
8-leaf tree, its node hashes and roots come from ``testonly/constants.go``; the inclusion and
consistency proofs from ``proof/verify_test.go`` as it was before the vectors moved to
``testdata/`` JSON files; the edge cases from those ``testdata/`` JSON files (base64 there, hex
here). The negative cases mutate the vectors the same ways the Go tests do.
"""

from __future__ import annotations

from typing import Any

import pytest

from evidence_verify import (
    EMPTY_ROOT,
    ProofError,
    leaf_hash,
    node_hash,
    root_from_inclusion_proof,
    verify_consistency,
    verify_inclusion,
)
from evidence_verify.merkle import consistency_path_length, inclusion_path_length
from tests.support.proof_bundles import consistency_proof, inclusion_path, leaf, mth

# --- transparency-dev/merkle testonly/constants.go
#     (commit 417fb0c314750d94e53942e9f92e79b6d35915db, the mirror's HEAD)

# LeafInputs()
LEAF_INPUTS = [
    "",
    "00",
    "10",
    "2021",
    "3031",
    "40414243",
    "5051525354555657",
    "606162636465666768696a6b6c6d6e6f",
]

# NodeHashes(): [level][index] of every complete subtree, level 0 = leaves.
NODE_HASHES = [
    [
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
        "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
        "0298d122906dcfc10892cb53a73992fc5b9f493ea4c9badb27b791b4127a7fe7",
        "07506a85fd9dd2f120eb694f86011e5bb4662e5c415a62917033d4a9624487e7",
        "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        "4271a26be0d8a84f0bd54c8c302e7cb3a3b5d1fa6780a40bcce2873477dab658",
        "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
        "46f6ffadd3d06a09ff3c5860d2755c8b9819db7df44251788c7d8e3180de8eb1",
    ],
    [
        "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
        "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
        "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
        "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
    ],
    [
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
    ],
    [
        "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
    ],
]

# RootHashes(): indexed by tree size, from the empty tree (EmptyRootHash()) to 8 leaves.
ROOT_HASHES = [
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]

# --- transparency-dev/merkle proof/verify_test.go at commit
# 9ca563d3ac2bab915317cf153ed4f952f6e74c07 (parent of bcba819, which moved them to testdata/)

# inclusionProofs: (leaf, size, proof). Leaf numbers are 1-BASED there (leaf index = leaf - 1);
# the first row {0, 0, nil} is "an invalid path" the Go test skips, covered below instead.
INCLUSION_PROOFS = [
    (1, 1, []),
    (1, 8, [
        "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
        "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
        "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
    ]),
    (6, 8, [
        "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    ]),
    (3, 3, [
        "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    ]),
    (2, 5, [
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
        "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
        "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
    ]),
]

# consistencyProofs: (size1, size2, proof).
CONSISTENCY_PROOFS = [
    (1, 1, []),
    (1, 8, [
        "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
        "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
        "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
    ]),
    (6, 8, [
        "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
        "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    ]),
    (2, 5, [
        "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
        "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
    ]),
    (6, 7, [
        "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
        "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    ]),
]

# sha256SomeHash (same file): an arbitrary well-formed hash that is in no tree.
SOME_HASH = "abacaba000000000000000000000000000000000000000000060061e00123456"

# --- transparency-dev/merkle testdata/inclusion/single-entry/*.json (commit 417fb0c3…):
# the 1-leaf tree of "data": root == leaf hash, empty proof.
SINGLE_ENTRY_HASH = "0d3aed023148ffd2a259fbd0cdc7fb3cf975658760d3775b82af6f90aacc2dfc"

# testdata/consistency/additional/*.json use b"don't care 1"/b"don't care 2" (12 bytes) as
# roots; this verifier requires 32-byte hashes, so 32-byte stand-ins take their place.
DONT_CARE_1 = "646f6e2774206361726520310000000000000000000000000000000000000001"
DONT_CARE_2 = "646f6e2774206361726520320000000000000000000000000000000000000002"
EMPTY_HASH = ROOT_HASHES[0]


def b(value: str) -> bytes:
    return bytes.fromhex(value)


def bl(values: list[str]) -> list[bytes]:
    return [bytes.fromhex(v) for v in values]


def root(size: int) -> bytes:
    return b(ROOT_HASHES[size])


def leaf_of(index: int) -> bytes:
    return b(NODE_HASHES[0][index])


def flip(hash_: bytes, bit: int = 4) -> bytes:
    """``hash_`` with one bit of its first byte flipped (the Go tests flip bit 4)."""
    return bytes([hash_[0] ^ (1 << bit)]) + hash_[1:]


def _test_mth(leaves: list[bytes]) -> bytes:
    """MTH over leaf hashes with the package's node_hash (only the hashing is under test)."""
    if not leaves:
        return EMPTY_ROOT
    if len(leaves) == 1:
        return leaves[0]
    k = 1 << ((len(leaves) - 1).bit_length() - 1)
    return node_hash(_test_mth(leaves[:k]), _test_mth(leaves[k:]))


# ------------------------------------------------------------------------- hashing


def test_empty_root_is_sha256_of_nothing() -> None:
    assert b(ROOT_HASHES[0]) == EMPTY_ROOT


@pytest.mark.parametrize("index", range(8))
def test_leaf_hashes(index: int) -> None:
    assert leaf_hash(b(LEAF_INPUTS[index])) == leaf_of(index)


@pytest.mark.parametrize("level", range(1, 4))
def test_node_hashes(level: int) -> None:
    below = bl(NODE_HASHES[level - 1])
    computed = [node_hash(below[i], below[i + 1]) for i in range(0, len(below), 2)]
    assert computed == bl(NODE_HASHES[level])


@pytest.mark.parametrize("size", range(9))
def test_roots_for_every_size(size: int) -> None:
    leaves = [leaf_hash(b(x)) for x in LEAF_INPUTS[:size]]
    assert _test_mth(leaves) == root(size)
    assert mth([leaf(b(x)) for x in LEAF_INPUTS[:size]]) == root(size)  # the test builder


# --------------------------------------------------------------- inclusion vectors


@pytest.mark.parametrize(("leaf_number", "size", "path"), INCLUSION_PROOFS,
                         ids=[f"leaf{n - 1}-of-{s}" for n, s, _ in INCLUSION_PROOFS])
def test_inclusion_vectors(leaf_number: int, size: int, path: list[str]) -> None:
    index = leaf_number - 1
    args: dict[str, Any] = {"leaf_index": index, "tree_size": size,
                            "leaf_hash": leaf_of(index), "path": bl(path)}
    assert root_from_inclusion_proof(**args) == root(size)
    verify_inclusion(**args, root=root(size))


@pytest.mark.parametrize("size", range(1, 9))
def test_every_inclusion_proof_of_the_8_leaf_tree(size: int) -> None:
    leaves = [leaf_of(i) for i in range(size)]
    for index in range(size):
        path = inclusion_path(index, leaves)
        assert inclusion_path_length(index, size) == len(path)
        verify_inclusion(leaf_index=index, tree_size=size, leaf_hash=leaves[index], path=path,
                         root=root(size))


def test_single_entry_tree() -> None:
    # testdata/inclusion/single-entry/matching-root-and-leaf.json
    h = b(SINGLE_ENTRY_HASH)
    verify_inclusion(leaf_index=0, tree_size=1, leaf_hash=h, path=[], root=h)


# (leaf index, tree size, leaf hash, root, match) from testdata/inclusion/single-entry/ and
# testdata/inclusion/additional/ (all wantErr: true) plus TestVerifyInclusion's probes.
INCLUSION_EDGE_CASES = [
    (0, 1, "", SINGLE_ENTRY_HASH, "leaf hash is 0 bytes"),  # single-entry/empty-leaf
    (0, 1, SINGLE_ENTRY_HASH, "", "root is 0 bytes"),  # single-entry/empty-root
    (0, 1, "", "", "root is 0 bytes"),  # single-entry/empty-root-and-leaf
    (0, 0, SOME_HASH, EMPTY_HASH, "leaf index 0 is not in a tree of size 0"),  # additional/0
    (0, 0, "", EMPTY_HASH, "leaf index 0 is not in a tree of size 0"),
    (0, 0, SOME_HASH, "", "root is 0 bytes"),
    (0, 1, SOME_HASH, EMPTY_HASH, "leads to root"),  # additional/1: 1-leaf tree, wrong root
    (1, 0, SOME_HASH, EMPTY_HASH, "leaf index 1 is not in a tree of size 0"),  # additional/2
    (2, 1, SOME_HASH, EMPTY_HASH, "leaf index 2 is not in a tree of size 1"),  # additional/3
    (1, 1, SOME_HASH, EMPTY_HASH, "leaf index 1 is not in a tree of size 1"),
]


@pytest.mark.parametrize(("index", "size", "leaf_hex", "root_hex", "match"),
                         INCLUSION_EDGE_CASES)
def test_inclusion_edge_cases(index: int, size: int, leaf_hex: str, root_hex: str,
                              match: str) -> None:
    with pytest.raises(ProofError, match=match):
        verify_inclusion(leaf_index=index, tree_size=size, leaf_hash=b(leaf_hex), path=[],
                         root=b(root_hex))


def test_negative_index_is_refused() -> None:
    with pytest.raises(ProofError, match="must be >= 0"):
        root_from_inclusion_proof(leaf_index=-1, tree_size=8, leaf_hash=leaf_of(0), path=[])


def test_path_element_of_wrong_length_is_refused() -> None:
    path = bl(INCLUSION_PROOFS[1][2])
    path[1] = path[1][:31]
    with pytest.raises(ProofError, match=r"inclusion path\[1\] is 31 bytes, not 32"):
        root_from_inclusion_proof(leaf_index=0, tree_size=8, leaf_hash=leaf_of(0), path=path)


def _inclusion_outcome(index: int, size: int, path_len: int) -> str:
    """Which error a mutated (index, size) must give: decided with the test builder."""
    if index < 0:
        return "must be >= 0"
    if index >= size:
        return f"leaf index {index} is not in a tree of size {size}"
    want = len(inclusion_path(index, [b""] * size))
    if path_len != want:
        return "too long" if path_len > want else "too short"
    return "leads to root"


def _inclusion_probes() -> list[Any]:
    """The mutations of proof/verify_test.go corruptInclusionProof, one param each."""
    probes = []
    for leaf_number, size, path_hex in INCLUSION_PROOFS[1:]:
        index, path, good_root = leaf_number - 1, bl(path_hex), root(size)
        base = {"leaf_index": index, "tree_size": size, "leaf_hash": leaf_of(index),
                "path": path, "root": good_root}
        cases: list[tuple[str, dict[str, Any], str]] = []
        for wrong in (index + 1, index - 1, index ^ 2):
            cases.append((f"index {wrong}", {"leaf_index": wrong},
                          _inclusion_outcome(wrong, size, len(path))))
        for wrong in (size * 2, size // 2):
            cases.append((f"size {wrong}", {"tree_size": wrong},
                          _inclusion_outcome(index, wrong, len(path))))
        other = 7 if size == 8 else 8
        cases += [
            ("root of another tree size", {"root": root(other)}, "leads to root"),
            ("wrong leaf", {"leaf_hash": leaf_of((index + 1) % 8)}, "leads to root"),
            ("empty root", {"root": EMPTY_ROOT}, "leads to root"),
            ("truncated path", {"path": path[:-1]}, "too short"),
            ("trailing garbage", {"path": [*path, b(SOME_HASH)]}, "too long"),
            ("trailing root", {"path": [*path, good_root]}, "too long"),
            ("preceding garbage", {"path": [b(SOME_HASH), *path]}, "too long"),
            ("preceding root", {"path": [good_root, *path]}, "too long"),
            ("inserted component", {"path": [*path[:1], b(SOME_HASH), *path[1:]]}, "too long"),
        ]
        for i in range(len(path)):
            flipped = [*path[:i], flip(path[i]), *path[i + 1 :]]
            cases.append((f"flipped bit in path[{i}]", {"path": flipped}, "leads to root"))
        for desc, change, match in cases:
            probes.append(pytest.param({**base, **change}, match,
                                       id=f"leaf{index}-of-{size}: {desc}"))
    return probes


@pytest.mark.parametrize(("kwargs", "match"), _inclusion_probes())
def test_corrupted_inclusion_proofs_are_rejected(kwargs: dict[str, Any], match: str) -> None:
    with pytest.raises(ProofError, match=match):
        verify_inclusion(**kwargs)


# ------------------------------------------------------------- consistency vectors


@pytest.mark.parametrize(("size1", "size2", "path"), CONSISTENCY_PROOFS,
                         ids=[f"{m}-to-{n}" for m, n, _ in CONSISTENCY_PROOFS])
def test_consistency_vectors(size1: int, size2: int, path: list[str]) -> None:
    assert consistency_path_length(size1, size2) == len(path)
    verify_consistency(old_size=size1, new_size=size2, old_root=root(size1),
                       new_root=root(size2), path=bl(path))


@pytest.mark.parametrize("size2", range(1, 9))
def test_every_consistency_proof_of_the_8_leaf_tree(size2: int) -> None:
    leaves = [leaf_of(i) for i in range(size2)]
    for size1 in range(1, size2 + 1):
        path = consistency_proof(size1, leaves)
        assert consistency_path_length(size1, size2) == len(path)
        verify_consistency(old_size=size1, new_size=size2, old_root=root(size1),
                           new_root=root(size2), path=path)


# (size1, size2, root1, root2, proof, match or None) from testdata/consistency/additional/*.json
# (file name in the comment) and TestVerifyConsistency's table. None: must verify.
CONSISTENCY_EDGE_CASES = [
    # consistency-check-on-empty-tree-size1-is-zero-is-useless
    (0, 1, EMPTY_HASH, EMPTY_HASH, [EMPTY_HASH], "old tree size is 0"),
    (0, 0, EMPTY_HASH, DONT_CARE_2, [], "old tree size is 0"),  # roots-do-not-match-…-zero
    (1, 1, EMPTY_HASH, DONT_CARE_2, [], "two different roots"),  # roots-do-not-…-are-one
    (2, 1, DONT_CARE_1, DONT_CARE_2, [], "larger than new tree size 1"),  # size1-is-greater-…
    (1, 0, DONT_CARE_1, DONT_CARE_2, [], "larger than new tree size 0"),
    (0, 1, DONT_CARE_1, DONT_CARE_2, [], "old tree size is 0"),  # size1-is-zero-…
    (0, 1, EMPTY_HASH, DONT_CARE_2, [], "old tree size is 0"),
    (1, 1, DONT_CARE_2, DONT_CARE_2, [], None),  # sizes-are-equal-one-and-proof-is-empty
    (1, 1, DONT_CARE_1, DONT_CARE_2, [], "two different roots"),  # …-one-but-roots-are-not
    (0, 0, DONT_CARE_1, DONT_CARE_1, [], "old tree size is 0"),  # sizes-are-equal-zero-…
    (0, 0, DONT_CARE_1, DONT_CARE_2, [], "old tree size is 0"),
    (1, 2, DONT_CARE_1, DONT_CARE_2, [], "from 1 to 2 is empty"),  # sizes-do-not-…-empty
    (1, 1, EMPTY_HASH, EMPTY_HASH, [EMPTY_HASH], "must be empty"),  # sizes-match-but-…-one
    (0, 0, EMPTY_HASH, EMPTY_HASH, [EMPTY_HASH], "old tree size is 0"),  # …-are-zero
    (8, 8, ROOT_HASHES[8], ROOT_HASHES[8], [], None),
    (8, 8, ROOT_HASHES[8], ROOT_HASHES[7], [], "two different roots"),
]


@pytest.mark.parametrize(("size1", "size2", "root1", "root2", "path", "match"),
                         CONSISTENCY_EDGE_CASES)
def test_consistency_edge_cases(size1: int, size2: int, root1: str, root2: str,
                                path: list[str], match: str | None) -> None:
    kwargs: dict[str, Any] = {"old_size": size1, "new_size": size2, "old_root": b(root1),
                              "new_root": b(root2), "path": bl(path)}
    if match is None:
        verify_consistency(**kwargs)
    else:
        with pytest.raises(ProofError, match=match):
            verify_consistency(**kwargs)


def _consistency_outcome(m: int, n: int, path_len: int) -> str:
    """Which error mutated sizes must give, with the length decided by the test builder."""
    if m <= 0:
        return "old tree size is"
    if m > n:
        return "larger than"
    if m == n:
        return "must be empty" if path_len else "two different roots"
    if path_len == 0:
        return "is empty"
    want = len(consistency_proof(m, [leaf(bytes([i])) for i in range(n)]))
    if path_len != want:
        return "too long" if path_len > want else "too short"
    return "reproduces (old|new) root"


def _consistency_probes() -> list[Any]:
    """The mutations of proof/verify_test.go corruptConsistencyProof, one param each."""
    probes = []
    for m, n, path_hex in CONSISTENCY_PROOFS[1:]:
        path, r1, r2 = bl(path_hex), root(m), root(n)
        seeded = m & (m - 1) == 0  # old root is the implicit first hash: it cannot mismatch
        old_or_new = "reproduces new root" if seeded else "reproduces old root"
        base = {"old_size": m, "new_size": n, "old_root": r1, "new_root": r2, "path": path}
        cases: list[tuple[str, dict[str, Any], str]] = [
            (f"size1 {w}", {"old_size": w}, _consistency_outcome(w, n, len(path)))
            for w in (m - 1, m + 1, m ^ 2)
        ] + [
            (f"size2 {w}", {"new_size": w}, _consistency_outcome(m, w, len(path)))
            for w in (n * 2, n // 2)
        ]
        cases += [
            ("wrong root1", {"old_root": b(SOME_HASH)}, old_or_new),
            ("wrong root2", {"new_root": b(SOME_HASH)}, "reproduces new root"),
            ("swapped roots", {"old_root": r2, "new_root": r1}, old_or_new),
            ("root of another tree", {"new_root": root(n - 1)}, "reproduces new root"),
            ("empty proof", {"path": []}, "is empty"),
            ("truncated proof", {"path": path[:-1]}, "too short"),
            ("trailing garbage", {"path": [*path, b(SOME_HASH)]}, "too long"),
            ("trailing root1", {"path": [*path, r1]}, "too long"),
            ("trailing root2", {"path": [*path, r2]}, "too long"),
            ("preceding garbage", {"path": [b(SOME_HASH), *path]}, "too long"),
            ("preceding root1", {"path": [r1, *path]}, "too long"),
            ("preceding root2", {"path": [r2, *path]}, "too long"),
            ("preceding proof[0]", {"path": [path[0], *path]}, "too long"),
        ]
        for i in range(len(path)):
            flipped = [*path[:i], flip(path[i]), *path[i + 1 :]]
            cases.append((f"flipped bit in proof[{i}]", {"path": flipped},
                          "reproduces (old|new) root"))
        for desc, change, match in cases:
            probes.append(pytest.param({**base, **change}, match, id=f"{m}-to-{n}: {desc}"))
    return probes


@pytest.mark.parametrize(("kwargs", "match"), _consistency_probes())
def test_corrupted_consistency_proofs_are_rejected(kwargs: dict[str, Any], match: str) -> None:
    with pytest.raises(ProofError, match=match):
        verify_consistency(**kwargs)


# ------------------------------------------------------ proof lengths, larger trees


@pytest.mark.parametrize("size", [1, 2, 3, 5, 7, 8, 9, 16, 17, 31, 33, 64, 65, 100])
def test_path_lengths_match_the_rfc_definitions(size: int) -> None:
    leaves = [leaf(i.to_bytes(2, "big")) for i in range(size)]
    for index in range(size):
        assert inclusion_path_length(index, size) == len(inclusion_path(index, leaves))
    for old in range(1, size + 1):
        path = consistency_proof(old, leaves)
        assert consistency_path_length(old, size) == len(path)
        verify_consistency(old_size=old, new_size=size, old_root=mth(leaves[:old]),
                           new_root=mth(leaves), path=path)
