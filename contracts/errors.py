"""Errors raised by the ``contracts`` package.

One root, subclassed by what the caller can do about it::

    ContractsError
    ├── ArtifactError        the committed artifact is missing or malformed: rebuild it
    └── ContractBuildError   solc (solc-js) could not run or rejected the source; carries the
                             compiler's stderr tail in ``stderr_tail``
"""

from __future__ import annotations


class ContractsError(Exception):
    """Root of every error raised by ``contracts``."""


class ArtifactError(ContractsError):
    """The build artifact is missing, unreadable or does not have the expected shape."""


class ContractBuildError(ContractsError):
    """Compiling the Solidity sources failed.

    ``stderr_tail`` holds the last part of the compiler's diagnostics (stderr, or the
    formatted error messages of the standard-JSON output) so the cause is never lost.
    """

    def __init__(self, message: str, *, stderr_tail: str = "") -> None:
        self.stderr_tail = stderr_tail
        super().__init__(f"{message}\n{stderr_tail}" if stderr_tail else message)
