"""Encrypted keystores (Web3 Secret Storage v3, scrypt) for department and anchoring accounts.

Passwords are always passed in by the caller; nothing here reads the environment. Keys are
never logged: only addresses and file paths are.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from eth_account import Account
from eth_utils.address import to_checksum_address

from ledger_node.errors import KeystoreError, WrongPassword

if TYPE_CHECKING:
    from eth_account.signers.local import LocalAccount
    from eth_typing import ChecksumAddress

_logger = logging.getLogger(__name__)

#: scrypt cost parameter (eth-account's default, 2**18). Tests may pass a smaller one.
SCRYPT_N = 2**18


def create_keystore(
    path: Path,
    *,
    password: str,
    private_key: bytes | None = None,
    scrypt_n: int = SCRYPT_N,
) -> ChecksumAddress:
    """Encrypt ``private_key`` (a new random key if None) into a keystore at ``path``.

    The file is written with mode 0600 and never overwritten. Returns the account address.
    Raises KeystoreError when ``path`` exists or the password is empty.
    """
    if not password:
        raise KeystoreError("refusing to create a keystore with an empty password")
    account = Account.from_key(private_key) if private_key is not None else Account.create()
    keystore = Account.encrypt(account.key, password, kdf="scrypt", iterations=scrypt_n)
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError as exc:
        raise KeystoreError(f"keystore {path} already exists") from exc
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(keystore, handle, indent=2)
        handle.write("\n")
        handle.flush()
        os.fsync(handle.fileno())
    _logger.info("created keystore %s for %s", path, account.address)
    return to_checksum_address(account.address)


def _read(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise KeystoreError(f"no keystore at {path}") from exc
    except (OSError, ValueError) as exc:
        raise KeystoreError(f"unreadable keystore {path}: {exc}") from exc
    if not isinstance(data, dict) or "crypto" not in data or "address" not in data:
        raise KeystoreError(f"{path} is not a v3 keystore")
    return data


def keystore_address(path: Path) -> ChecksumAddress:
    """The address recorded in the keystore at ``path`` (no password needed).

    Raises KeystoreError when the file is missing or malformed.
    """
    return to_checksum_address("0x" + str(_read(path)["address"]).removeprefix("0x"))


def load_account(path: Path, *, password: str) -> LocalAccount:
    """Decrypt the keystore at ``path`` into a signing account.

    Raises WrongPassword when the password does not decrypt it, KeystoreError when the file is
    missing or malformed.
    """
    data = _read(path)
    try:
        key = Account.decrypt(data, password)
    except ValueError as exc:
        raise WrongPassword(f"wrong password for keystore {path}") from exc
    account: LocalAccount = Account.from_key(key)
    recorded = str(data["address"]).lower().removeprefix("0x")
    if account.address.lower().removeprefix("0x") != recorded:
        raise KeystoreError(f"keystore {path} decrypts to another address than it records")
    _logger.debug("unlocked keystore %s for %s", path, account.address)
    return account


def dev_account(mnemonic: str, *, index: int) -> LocalAccount:
    """Account ``index`` of ``mnemonic`` on the standard path ``m/44'/60'/0'/0/index``.

    For development chains (the same accounts anvil unlocks for that mnemonic).
    """
    Account.enable_unaudited_hdwallet_features()
    account: LocalAccount = Account.from_mnemonic(
        mnemonic, account_path=f"m/44'/60'/0'/0/{index}"
    )
    return account
