"""Reference verifier for evidence proof bundles (docs/proof-format.md, version 1).

What a court installs and runs alone: it imports only the Python standard library and needs
no access to the evidence service or its database. ``verify_bundle`` checks a proof bundle
(entry, leaf hash, file digests, RFC 9162 inclusion proof and, given a JSON-RPC endpoint, the
anchor on chain); ``verify_consistency_response`` checks a log consistency proof. Both return
a :class:`VerificationReport` or raise a :class:`VerificationError`. ``verify_package`` checks
a whole case package ZIP (docs/package-format.md) and returns a :class:`PackageReport` naming
every culprit. Command line: ``python -m evidence_verify bundle BUNDLE.json [--file F]
[--rpc URL]`` and ``python -m evidence_verify package CASE.zip [--rpc URL]``.
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
    PackageFormatError,
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
from evidence_verify.package import verify_package
from evidence_verify.package_format import (
    CUSTODY_FORMAT,
    CUSTODY_PATH,
    MANIFEST_PATH,
    PACKAGE_FORMAT,
    PACKAGE_VERSION,
    REPORT_PATH,
    parse_custody,
    parse_manifest,
    safe_id,
    safe_name,
)
from evidence_verify.package_report import PackageCheck, PackageReport
from evidence_verify.package_zip import ZipLimits
from evidence_verify.report import Check, VerificationReport
from evidence_verify.report_html import render_package_html

__all__ = [
    "CUSTODY_FORMAT",
    "CUSTODY_PATH",
    "EMPTY_ROOT",
    "MANIFEST_PATH",
    "PACKAGE_FORMAT",
    "PACKAGE_VERSION",
    "REPORT_PATH",
    "Anchor",
    "BundleFormatError",
    "ChainMismatch",
    "ChainUnavailable",
    "Check",
    "ContentMismatch",
    "FileDigests",
    "NotAnchored",
    "PackageCheck",
    "PackageFormatError",
    "PackageReport",
    "ProofBundle",
    "ProofError",
    "VerificationError",
    "VerificationReport",
    "ZipLimits",
    "hash_file",
    "leaf_hash",
    "node_hash",
    "parse_bundle",
    "parse_custody",
    "parse_entry",
    "parse_manifest",
    "render_package_html",
    "root_from_inclusion_proof",
    "safe_id",
    "safe_name",
    "sm3_available",
    "verify_bundle",
    "verify_consistency",
    "verify_consistency_response",
    "verify_inclusion",
    "verify_package",
]
