"""Encrypted keystores for department and anchoring accounts (no node needed)."""

from __future__ import annotations

import json
import logging
import stat
from pathlib import Path

import pytest

from ledger_node import (
    DEV_MNEMONIC,
    KeystoreError,
    WrongPassword,
    create_keystore,
    dev_account,
    keystore_address,
    load_account,
)

FAST_N = 2**10  # scrypt cost for tests; production keeps the 2**18 default
PASSWORD = "correct horse battery staple"
KEY = bytes.fromhex("4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318")


def test_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "keys" / "enf.json"
    address = create_keystore(path, password=PASSWORD, private_key=KEY, scrypt_n=FAST_N)

    account = load_account(path, password=PASSWORD)
    assert account.address == address == keystore_address(path)
    assert account.key == KEY


def test_keystore_is_scrypt_encrypted_and_private(tmp_path: Path) -> None:
    path = tmp_path / "anchor.json"
    create_keystore(path, password=PASSWORD, private_key=KEY, scrypt_n=FAST_N)

    data = json.loads(path.read_text())
    assert data["crypto"]["kdf"] == "scrypt"
    assert KEY.hex() not in path.read_text()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_new_random_key_when_none_given(tmp_path: Path) -> None:
    one = create_keystore(tmp_path / "a.json", password=PASSWORD, scrypt_n=FAST_N)
    two = create_keystore(tmp_path / "b.json", password=PASSWORD, scrypt_n=FAST_N)
    assert one != two


def test_wrong_password(tmp_path: Path) -> None:
    path = tmp_path / "enf.json"
    create_keystore(path, password=PASSWORD, private_key=KEY, scrypt_n=FAST_N)
    with pytest.raises(WrongPassword, match="wrong password") as info:
        load_account(path, password="guess")
    assert isinstance(info.value, ValueError)


def test_existing_keystore_is_never_overwritten(tmp_path: Path) -> None:
    path = tmp_path / "enf.json"
    create_keystore(path, password=PASSWORD, private_key=KEY, scrypt_n=FAST_N)
    before = path.read_bytes()
    with pytest.raises(KeystoreError, match="already exists"):
        create_keystore(path, password=PASSWORD, scrypt_n=FAST_N)
    assert path.read_bytes() == before


def test_empty_password_is_refused(tmp_path: Path) -> None:
    with pytest.raises(KeystoreError, match="empty password"):
        create_keystore(tmp_path / "enf.json", password="", scrypt_n=FAST_N)


def test_missing_keystore(tmp_path: Path) -> None:
    with pytest.raises(KeystoreError, match="no keystore"):
        load_account(tmp_path / "missing.json", password=PASSWORD)


def test_malformed_keystore(tmp_path: Path) -> None:
    path = tmp_path / "bad.json"
    path.write_text('{"version": 3}')
    with pytest.raises(KeystoreError, match="not a v3 keystore"):
        keystore_address(path)


def test_keys_are_never_logged(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="ledger_node")
    path = tmp_path / "enf.json"
    create_keystore(path, password=PASSWORD, private_key=KEY, scrypt_n=FAST_N)
    load_account(path, password=PASSWORD)
    assert caplog.records, "expected address-only log lines"
    assert KEY.hex() not in caplog.text and PASSWORD not in caplog.text


def test_dev_account_matches_anvil_account_zero() -> None:
    account = dev_account(DEV_MNEMONIC, index=0)
    assert account.address == "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"
