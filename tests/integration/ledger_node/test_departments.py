"""``ledger-node besu-network`` then ``add-department`` against a throwaway anvil node:
the new account is allowlisted in every node's permissions file and holds DEPARTMENT_ROLE."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner
from web3 import Web3

from ledger_node import (
    AnvilNode,
    create_keystore,
    dev_account,
    get_settings,
    keystore_address,
    read_permissions,
    registry_contract,
)
from ledger_node.cli import app
from tests.support.anvil import MNEMONIC, Accounts, connect, deploy

pytestmark = pytest.mark.ledger
FAST = ["--scrypt-n", str(2**12)]


@pytest.fixture
def ledger_env(monkeypatch: pytest.MonkeyPatch, anvil_node: AnvilNode,
               tmp_path: Path) -> Iterator[Path]:
    monkeypatch.setenv("LEDGER_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("LEDGER_RPC_URL", anvil_node.rpc_url)
    monkeypatch.setenv("LEDGER_KEYSTORE_PASSWORD", "department keystores")
    monkeypatch.setenv("LEDGER_ADMIN_KEYSTORE_PASSWORD", "admin keystore")
    get_settings.cache_clear()
    yield tmp_path
    get_settings.cache_clear()


def test_add_department_allowlists_and_registers(anvil_node: AnvilNode,
                                                 ledger_env: Path) -> None:
    runner = CliRunner()
    net, keys = ledger_env / "net", ledger_env / "keystores"
    made = runner.invoke(app, ["besu-network", "--out", str(net), "--keystore-dir", str(keys),
                               *FAST])
    assert made.exit_code == 0, made.output
    network = json.loads((net / "network.json").read_text())
    assert len(network["validators"]) == 4
    assert sorted(network["accounts"]) == sorted(
        keystore_address(keys / f"{n}.json") for n in ("admin", "anchorer"))

    w3 = connect(anvil_node)
    record, _ = deploy(w3, Accounts.dev())
    admin_keystore = ledger_env / "registry-admin.json"
    create_keystore(admin_keystore, password="admin keystore", scrypt_n=2**12,
                    private_key=bytes(dev_account(MNEMONIC, index=0).key))
    command = ["add-department", "--id", "dept-7", "--registry", record.address,
               "--admin-keystore", str(admin_keystore), "--keystore-dir", str(keys / "dept"),
               "--network-dir", str(net), *FAST]

    added = runner.invoke(app, command)
    assert added.exit_code == 0, added.output
    address = keystore_address(keys / "dept" / "dept-7.json")
    assert "allowlists updated: 5; registered now" in added.output  # root + 4 node copies
    for path in net.rglob("permissions_config.toml"):
        accounts, nodes = read_permissions(path)
        assert address in accounts and len(nodes) == 4
    registry = registry_contract(w3, record.address)
    assert registry.functions.departmentOf(address).call() == hashlib.sha256(
        b"dept-7").digest()
    role = registry.functions.DEPARTMENT_ROLE().call()
    assert registry.functions.hasRole(role, address).call()

    again = runner.invoke(app, command)
    assert again.exit_code == 0, again.output
    assert "allowlists updated: 0; already registered" in again.output
    assert keystore_address(keys / "dept" / "dept-7.json") == address


def test_add_department_refuses_a_signer_that_is_not_the_admin(anvil_node: AnvilNode,
                                                               ledger_env: Path) -> None:
    w3 = connect(anvil_node)
    record, _ = deploy(w3, Accounts.dev())
    impostor = ledger_env / "impostor.json"
    create_keystore(impostor, password="admin keystore", scrypt_n=2**12,
                    private_key=bytes(dev_account(MNEMONIC, index=5).key))
    failed = CliRunner().invoke(app, [
        "add-department", "--id", "dept-8", "--registry", record.address, "--admin-keystore",
        str(impostor), "--keystore-dir", str(ledger_env / "dept"), *FAST])
    assert failed.exit_code == 1
    assert "registerDepartment dept-8" in failed.output
    assert Web3.is_address(keystore_address(ledger_env / "dept" / "dept-8.json"))
