"""Errors raised by the ``ledger_node`` package.

One root, subclassed by what the caller can do about it::

    LedgerError
    ├── NodeUnavailable          the node binary is missing, exited early or does not answer;
    │                            carries the node's stderr tail in ``stderr_tail``
    ├── DeploymentError          deploying or configuring the registry failed (reverted, no receipt)
    │   └── DeploymentMismatch   a recorded deployment does not match this chain or this artifact:
    │                            refuse to use it (wrong chain id, other code, or no code at all)
    └── KeystoreError            a keystore file is missing, malformed or already exists
        └── WrongPassword        the password does not decrypt the keystore (also a ValueError)
"""

from __future__ import annotations


class LedgerError(Exception):
    """Root of every error raised by ``ledger_node``."""


class NodeUnavailable(LedgerError):
    """The chain node could not be started, exited early, or does not answer JSON-RPC.

    ``stderr_tail`` holds the last lines the node wrote to stderr (may be empty).
    """

    def __init__(self, message: str, *, stderr_tail: str = "") -> None:
        self.stderr_tail = stderr_tail
        super().__init__(f"{message}\n{stderr_tail}" if stderr_tail else message)


class DeploymentError(LedgerError):
    """Deploying the registry or granting its roles failed."""


class DeploymentMismatch(DeploymentError):
    """The recorded deployment is not the artifact's contract on this chain."""


class KeystoreError(LedgerError):
    """A keystore file is missing, malformed, or would be overwritten."""


class WrongPassword(KeystoreError, ValueError):
    """The password does not decrypt the keystore."""
