"""Errors of the reference verifier: one root, subclassed by what the caller can do about it.

::

    VerificationError                 nothing here may be relied on as proof
    ├── BundleFormatError (ValueError)  malformed or unsupported bundle: ask the issuer for a
    │   │                               well-formed version-1 bundle
    │   └── PackageFormatError          the case package is not a safe, well-formed version-1
    │                                   ZIP (unsafe or duplicate entry, zip bomb, bad manifest)
    ├── ProofError                      an inclusion or consistency proof does not verify, or
    │                                   is for another tree: the log does not prove the claim
    ├── ContentMismatch                 the file is not the one the entry registered
    ├── ChainMismatch                   the chain disagrees: other chain id, other or missing
    │                                   root, failed or misplaced anchoring transaction
    ├── ChainUnavailable                the chain could not be asked (unreachable node, HTTP or
    │                                   JSON-RPC error): retry, or use another node
    └── NotAnchored                     the bundle is pending (``anchor: null``): there is no
                                        anchor to check yet; fetch a new bundle later

A failed check raises; ``verify_bundle`` attaches the partial report (every check run so far,
the failed one last) as :attr:`VerificationError.report` before re-raising.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from evidence_verify.report import VerificationReport

__all__ = [
    "BundleFormatError",
    "ChainMismatch",
    "ChainUnavailable",
    "ContentMismatch",
    "NotAnchored",
    "PackageFormatError",
    "ProofError",
    "VerificationError",
]


class VerificationError(Exception):
    """Root of every verifier error: the claim was not verified."""

    #: The report up to and including the failed check, when ``verify_bundle`` raised this.
    report: VerificationReport | None = None


class BundleFormatError(VerificationError, ValueError):
    """The bundle (or consistency response) is malformed or of an unsupported format/version."""


class PackageFormatError(BundleFormatError):
    """A case package is not a safe, well-formed version-1 package (docs/package-format.md).

    Raised for what makes the package unreadable as a whole: not a ZIP, an entry with an
    absolute or ``..`` path, a backslash, a duplicate or symlink entry, an entry past the size
    or compression-ratio limits, or a manifest that breaks the schema. The message names the
    entry or manifest field.
    """


class ProofError(VerificationError):
    """A Merkle inclusion or consistency proof does not verify, or is for another tree."""


class ContentMismatch(VerificationError):
    """The file's digest (SHA-256 or SM3) or size differs from the registered entry."""


class ChainMismatch(VerificationError):
    """The chain contradicts the bundle: chain id, anchored root, or anchoring transaction."""


class ChainUnavailable(VerificationError):
    """The JSON-RPC endpoint could not be used: unreachable, HTTP error or JSON-RPC error."""


class NotAnchored(VerificationError):
    """A chain check was asked for a pending bundle, which has no anchor yet."""
