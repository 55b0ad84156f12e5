"""Errors of the evidence service core.

Subclassed by what the caller can do about them; ``api/errors.py`` maps each class to one
HTTP status and public message::

    EvidenceError
    ├── InvalidInput (ValueError)        bad request: fix the input and retry
    │   ├── InvalidFileName
    │   ├── UploadOffsetMismatch         resume from the offset the server reports
    │   └── MediaRejected                the stored file cannot be analysed (corrupt, not video)
    ├── PayloadTooLarge                  a chunk or declared length exceeds a limit
    ├── DigestMismatch                   bytes do not match the declared or recorded digest
    ├── NotFound                         absent, or another department's (never says which)
    ├── Conflict                         state does not allow this now (e.g. upload complete)
    │   ├── UploadBusy                   another request is writing this upload
    │   ├── TransferBlocked              grading, approval or the negative list forbid it
    │   └── IntegrityFailure             re-verification found altered or unprovable evidence
    │       ├── CorruptSegment           a sealed log segment in storage is damaged
    │       └── SegmentGap               sealed log segments are missing or overlap
    ├── AuthenticationError              missing, expired or forged credentials
    │   └── TooManyAttempts              login locked for a while after repeated failures
    ├── PermissionDenied                 authenticated, but the role does not allow it
    ├── AnalysisFailed                   the analysis tools failed on a file they should handle
    ├── StorageUnavailable               the object store could not be reached (retry later)
    └── ChainUnavailable                 the chain node could not be reached (retry later)
"""

from __future__ import annotations


class EvidenceError(Exception):
    """Root of every error raised by the evidence service core.

    ``details`` optionally lists structured reasons (one dict per item or rule) that the API
    returns beside the message; they hold ids and hashes only.
    """

    def __init__(self, message: str = "", *, details: list[dict[str, object]] | None = None
                 ) -> None:
        super().__init__(message)
        self.details: list[dict[str, object]] = details or []

    def __reduce__(self) -> tuple[object, ...]:
        """Pickle the error whole, details and subclass attributes included: errors raised
        in a batch worker process are answered by the API process (``api/batch_workers``)."""
        return (_restore, (type(self), self.args, dict(self.__dict__)))


def _restore(cls: type[EvidenceError], args: tuple[object, ...],
             state: dict[str, object]) -> EvidenceError:
    error = cls.__new__(cls)
    error.args = args
    error.__dict__.update(state)
    return error


class InvalidInput(EvidenceError, ValueError):
    """The request is malformed or violates a rule; retrying it unchanged will fail again."""


class InvalidFileName(InvalidInput):
    """A file name has path separators, control characters, bad UTF-8 or is too long."""


class UploadOffsetMismatch(InvalidInput):
    """The client's Upload-Offset differs from the stored offset."""

    def __init__(self, message: str, *, expected: int) -> None:
        super().__init__(message)
        self.expected = expected


class RangeNotSatisfiable(InvalidInput):
    """A requested byte range starts at or past the end of an object of ``size`` bytes."""

    def __init__(self, message: str, *, size: int) -> None:
        super().__init__(message)
        self.size = size


class MediaRejected(InvalidInput):
    """The stored file cannot be analysed: empty, not media, no video, absurd or corrupt."""


class AnalysisFailed(EvidenceError):
    """The analysis tools failed on input they should handle (ffmpeg crashed, disk full)."""


class PayloadTooLarge(EvidenceError):
    """A declared length or a chunk goes past a limit."""


class DigestMismatch(EvidenceError):
    """Bytes do not hash to the digest that was declared or recorded."""


class NotFound(EvidenceError, LookupError):
    """The object does not exist for this caller (it may exist in another department)."""


class Conflict(EvidenceError):
    """The object's current state does not allow the operation."""


class UploadBusy(Conflict):
    """Another request is currently writing to this upload."""


class TransferBlocked(Conflict):
    """Grading, a missing approval or the negative list forbid this transfer or export."""


class IntegrityFailure(Conflict):
    """Re-verification found evidence that is altered, missing or not provable on-chain."""


class CorruptSegment(IntegrityFailure):
    """A sealed segment of the evidence log does not hash to its record or cannot be read."""


class SegmentGap(IntegrityFailure):
    """The sealed segments of the evidence log do not cover it contiguously from leaf 0."""


class AuthenticationError(EvidenceError):
    """Credentials are missing, expired, revoked or forged."""


class TooManyAttempts(AuthenticationError):
    """Too many failed logins for this username or client; ``retry_after`` in seconds."""

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class PermissionDenied(EvidenceError):
    """The caller is authenticated but lacks the role for this operation."""


class StorageUnavailable(EvidenceError):
    """The object store failed or could not be reached; the operation may be retried."""


class ChainUnavailable(EvidenceError):
    """The chain node failed or could not be reached; anchoring retries later."""
