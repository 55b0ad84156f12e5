"""Reference verifier for evidence proof bundles (docs/proof-format.md, version 1).

What a court installs and runs alone: it imports only the Python standard library and needs
no access to the evidence service or its database. ``verify_bundle`` checks a proof bundle
(entry, leaf hash, file digests, RFC 9162 inclusion proof and, given a JSON-RPC endpoint, the
anchor on chain); ``verify_consistency_response`` checks a log consistency proof. Both return
a :class:`VerificationReport` or raise a :class:`VerificationError`. Command line:
``python -m evidence_verify bundle BUNDLE.json [--file F] [--rpc URL]``.
"""

from __future__ import annotations

from evidence_verify.bundle import (
    Anchor,
    ProofBundle,
    parse_bundle,
    verify_bundle,
    verify_consistency_response,
)
from evidence_verify.digests import FileDigests, hash_file, sm3_available
from evidence_verify.entry import parse_entry
from evidence_verify.errors import (
    BundleFormatError,
    ChainMismatch,
    ChainUnavailable,
    ContentMismatch,
    NotAnchored,
    ProofError,
    VerificationError,
)
from evidence_verify.merkle import (
    EMPTY_ROOT,
    leaf_hash,
    node_hash,
    root_from_inclusion_proof,
    verify_consistency,
    verify_inclusion,
)
from evidence_verify.report import Check, VerificationReport

__all__ = [
    "EMPTY_ROOT",
    "Anchor",
    "BundleFormatError",
    "ChainMismatch",
    "ChainUnavailable",
    "Check",
    "ContentMismatch",
    "FileDigests",
    "NotAnchored",
    "ProofBundle",
    "ProofError",
    "VerificationError",
    "VerificationReport",
    "hash_file",
    "leaf_hash",
    "node_hash",
    "parse_bundle",
    "parse_entry",
    "root_from_inclusion_proof",
    "sm3_available",
    "verify_bundle",
    "verify_consistency",
    "verify_consistency_response",
    "verify_inclusion",
]
