"""RFC 9162 §2.1 Merkle tree hashing and proof verification (SHA-256), stdlib only.

Each verifier is a small pure function that returns ``None`` or raises :class:`ProofError`;
nothing here reads the network or the disk. The two loops follow the numbered steps of
RFC 9162 §2.1.3.2 (inclusion) and §2.1.4.2 (consistency) one for one, so they can be read
side by side with the RFC. ``inclusion_path_length`` and ``consistency_path_length`` give the
length a well-formed proof has, for callers that want to reject a truncated proof as malformed
before verifying it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from evidence_verify.errors import ProofError

__all__ = [
    "EMPTY_ROOT",
    "HASH_SIZE",
    "consistency_path_length",
    "inclusion_path_length",
    "leaf_hash",
    "node_hash",
    "root_from_inclusion_proof",
    "verify_consistency",
    "verify_inclusion",
]

#: Size in bytes of every hash in the tree (SHA-256).
HASH_SIZE = 32
#: MTH({}) = SHA-256 of the empty string (RFC 9162 §2.1.1).
EMPTY_ROOT = hashlib.sha256(b"").digest()


def leaf_hash(entry: bytes) -> bytes:
    """RFC 9162 leaf hash ``SHA-256(0x00 || entry)``. Raises nothing."""
    return hashlib.sha256(b"\x00" + entry).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """RFC 9162 interior node hash ``SHA-256(0x01 || left || right)``. Raises nothing."""
    return hashlib.sha256(b"\x01" + left + right).digest()


def inclusion_path_length(leaf_index: int, tree_size: int) -> int:
    """Number of hashes in PATH(leaf_index, D[tree_size]).

    Raises ProofError unless ``0 <= leaf_index < tree_size``.
    """
    _check_index(leaf_index, tree_size)
    inner = (leaf_index ^ (tree_size - 1)).bit_length()
    return inner + (leaf_index >> inner).bit_count()


def consistency_path_length(old_size: int, new_size: int) -> int:
    """Number of hashes in PROOF(old_size, D[new_size]) (0 when the sizes are equal).

    Raises ProofError unless ``0 < old_size <= new_size``.
    """
    _check_sizes(old_size, new_size)
    if old_size == new_size:
        return 0
    shift = (old_size & -old_size).bit_length() - 1  # trailing zero bits of old_size
    inner = ((old_size - 1) ^ (new_size - 1)).bit_length()
    border = ((old_size - 1) >> inner).bit_count()
    seed = 0 if old_size == 1 << shift else 1  # old root is the first hash unless 2**k
    return seed + inner - shift + border


def root_from_inclusion_proof(
    *, leaf_index: int, tree_size: int, leaf_hash: bytes, path: Sequence[bytes]
) -> bytes:
    """The root that ``path`` proves for leaf ``leaf_index`` of a tree of ``tree_size`` leaves.

    RFC 9162 §2.1.3.2 steps 1-5, without the final comparison with a root. Raises ProofError
    when ``leaf_index >= tree_size``, a hash is not 32 bytes, or the path is too long or too
    short for that leaf and size.
    """
    _check_index(leaf_index, tree_size)  # step 1
    _check_hash("leaf hash", leaf_hash)
    _check_path("inclusion path", path)
    fn, sn = leaf_index, tree_size - 1  # step 2
    r = leaf_hash  # step 3
    for p in path:  # step 4
        if sn == 0:  # 4a
            raise ProofError(_length_message("inclusion", len(path), leaf_index, tree_size))
        if fn & 1 or fn == sn:  # 4b
            r = node_hash(p, r)  # 4b.i
            while not fn & 1 and fn != 0:  # 4b.ii (does nothing when LSB(fn) is set)
                fn, sn = fn >> 1, sn >> 1
        else:
            r = node_hash(r, p)
        fn, sn = fn >> 1, sn >> 1  # 4c
    if sn != 0:  # step 5
        raise ProofError(_length_message("inclusion", len(path), leaf_index, tree_size))
    return r


def verify_inclusion(
    *, leaf_index: int, tree_size: int, leaf_hash: bytes, path: Sequence[bytes], root: bytes
) -> None:
    """Check that ``path`` proves leaf ``leaf_index`` (hash ``leaf_hash``) is in ``root``.

    Raises ProofError when the proof is malformed (see :func:`root_from_inclusion_proof`) or
    leads to another root (the proof is for another tree or another leaf).
    """
    _check_hash("root", root)
    computed = root_from_inclusion_proof(
        leaf_index=leaf_index, tree_size=tree_size, leaf_hash=leaf_hash, path=path
    )
    if computed != root:
        raise ProofError(
            f"inclusion proof for leaf {leaf_index} of tree size {tree_size} leads to root "
            f"{computed.hex()}, not {root.hex()}"
        )


def verify_consistency(
    *, old_size: int, new_size: int, old_root: bytes, new_root: bytes, path: Sequence[bytes]
) -> None:
    """Check that the tree of ``new_size`` leaves (``new_root``) extends the one of ``old_size``.

    RFC 9162 §2.1.4.2 for ``0 < old_size < new_size``. Equal sizes need an empty path and equal
    roots. ``old_size == 0`` is refused: a proof from the empty tree proves nothing. Raises
    ProofError for sizes out of order, hashes that are not 32 bytes, a path of the wrong length,
    or a path that does not reproduce both roots.
    """
    _check_hash("old root", old_root)
    _check_hash("new root", new_root)
    _check_path("consistency path", path)
    _check_sizes(old_size, new_size)
    if old_size == new_size:
        if path:
            raise ProofError(f"consistency path must be empty for equal tree sizes ({old_size}),"
                             f" got {len(path)} hashes")
        if old_root != new_root:
            raise ProofError(f"tree size {old_size} has two different roots: "
                             f"{old_root.hex()} and {new_root.hex()}")
        return
    if not path:  # step 1
        raise ProofError(f"consistency path from {old_size} to {new_size} is empty")
    fr, sr = _fold_consistency(old_size, new_size, old_root, path)
    if fr != old_root:
        raise ProofError(f"consistency proof reproduces old root {fr.hex()}, "
                         f"not {old_root.hex()} (tree size {old_size})")
    if sr != new_root:
        raise ProofError(f"consistency proof reproduces new root {sr.hex()}, "
                         f"not {new_root.hex()} (tree size {new_size})")


def _fold_consistency(
    old_size: int, new_size: int, old_root: bytes, path: Sequence[bytes]
) -> tuple[bytes, bytes]:
    """RFC 9162 §2.1.4.2 steps 2-7 (length part): the (fr, sr) pair the path folds to."""
    hashes = list(path)
    if old_size & (old_size - 1) == 0:  # step 2: old_size is an exact power of 2
        hashes.insert(0, old_root)
    fn, sn = old_size - 1, new_size - 1  # step 3
    while fn & 1:  # step 4
        fn, sn = fn >> 1, sn >> 1
    fr = sr = hashes[0]  # step 5
    for c in hashes[1:]:  # step 6
        if sn == 0:  # 6a
            raise ProofError(_length_message("consistency", len(path), old_size, new_size))
        if fn & 1 or fn == sn:  # 6b
            fr, sr = node_hash(c, fr), node_hash(c, sr)  # 6b.i, 6b.ii
            while not fn & 1 and fn != 0:  # 6b.iii (does nothing when LSB(fn) is set)
                fn, sn = fn >> 1, sn >> 1
        else:
            sr = node_hash(sr, c)
        fn, sn = fn >> 1, sn >> 1  # 6c
    if sn != 0:  # step 7 (the root comparisons are the caller's)
        raise ProofError(_length_message("consistency", len(path), old_size, new_size))
    return fr, sr


def _check_index(leaf_index: int, tree_size: int) -> None:
    if leaf_index < 0 or tree_size < 0:
        raise ProofError(f"leaf index {leaf_index} and tree size {tree_size} must be >= 0")
    if leaf_index >= tree_size:
        raise ProofError(f"leaf index {leaf_index} is not in a tree of size {tree_size}")


def _check_sizes(old_size: int, new_size: int) -> None:
    if old_size <= 0:
        raise ProofError(f"old tree size is {old_size}: a consistency proof needs "
                         f"0 < old_size <= new_size (the empty tree proves nothing)")
    if old_size > new_size:
        raise ProofError(f"old tree size {old_size} is larger than new tree size {new_size}")


def _check_hash(what: str, value: bytes) -> None:
    if len(value) != HASH_SIZE:
        raise ProofError(f"{what} is {len(value)} bytes, not {HASH_SIZE}")


def _check_path(what: str, path: Sequence[bytes]) -> None:
    for i, value in enumerate(path):
        _check_hash(f"{what}[{i}]", value)


def _length_message(kind: str, got: int, a: int, b: int) -> str:
    if kind == "inclusion":
        want, subject = inclusion_path_length(a, b), f"leaf {a} of tree size {b}"
    else:
        want, subject = consistency_path_length(a, b), f"tree size {a} to {b}"
    size = "too long" if got > want else "too short"
    return f"{kind} path is {size}: {got} hashes, a proof for {subject} has {want}"
