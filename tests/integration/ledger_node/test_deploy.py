"""Deploying the registry, recording it, and refusing records that do not match the chain."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from eth_account import Account
from eth_typing import HexStr
from web3 import Web3

from contracts import load_artifact
from ledger_node import (
    DEV_MNEMONIC,
    DeploymentError,
    DeploymentMismatch,
    DeploymentRecord,
    check_deployment,
    deploy_registry,
    dev_account,
    load_or_deploy,
    registry_contract,
)
from tests.support.anvil import Accounts, connect, deploy, node_config, running_node

pytestmark = pytest.mark.ledger

ANCHOR_ROLE = Web3.keccak(text="ANCHOR_ROLE")


def test_deploy_records_the_deployment(w3: Web3, accounts: Accounts) -> None:
    record, registry = deploy(w3, accounts)
    receipt = w3.eth.get_transaction_receipt(HexStr(record.tx_hash))
    block = w3.eth.get_block(record.block_number)

    assert record.chain_id == 31337
    assert record.address == receipt["contractAddress"]
    assert record.block_number == receipt["blockNumber"]
    assert record.deployer == accounts.admin
    assert record.bytecode_sha256 == load_artifact().deployed_bytecode_sha256
    assert record.deployed_at == datetime.fromtimestamp(block["timestamp"], tz=UTC)
    assert registry.functions.hasRole(b"\x00" * 32, accounts.admin).call()
    assert registry.functions.hasRole(ANCHOR_ROLE, accounts.anchorer).call()


def test_record_round_trips_through_json(w3: Web3, accounts: Accounts, tmp_path: Path) -> None:
    record, _ = deploy(w3, accounts)
    path = tmp_path / "deployment.json"
    record.save(path)

    assert DeploymentRecord.load(path) == record
    assert list(json.loads(path.read_text())) == [
        "address", "block_number", "bytecode_sha256", "chain_id", "deployed_at", "deployer",
        "tx_hash",
    ]


def test_deploy_from_an_unlocked_node_account(w3: Web3, accounts: Accounts) -> None:
    record = deploy_registry(w3, deployer=accounts.dept_c, anchorer=accounts.dept_c)
    check_deployment(w3, record)
    assert record.deployer == accounts.dept_c


def test_deploy_without_funds_raises_deployment_error(w3: Web3, accounts: Accounts) -> None:
    broke = Account.create()
    with pytest.raises(DeploymentError, match="registry deployment failed"):
        deploy_registry(w3, deployer=broke, anchorer=accounts.anchorer)


def test_check_accepts_the_matching_deployment(w3: Web3, accounts: Accounts) -> None:
    record, _ = deploy(w3, accounts)
    check_deployment(w3, record)  # returns None or raises DeploymentMismatch


def test_check_refuses_another_chain(anvil_binary: Path, w3: Web3, accounts: Accounts) -> None:
    record, _ = deploy(w3, accounts)
    expected = "recorded for chain 31337, node is chain 1337"
    with (
        running_node(node_config(anvil_binary, chain_id=1337)) as other,
        pytest.raises(DeploymentMismatch, match=expected),
    ):
        check_deployment(connect(other), record)


def test_check_refuses_a_record_of_another_chain_id(w3: Web3, accounts: Accounts) -> None:
    record, _ = deploy(w3, accounts)
    with pytest.raises(DeploymentMismatch, match="recorded for chain 1,"):
        check_deployment(w3, record.model_copy(update={"chain_id": 1}))


def test_check_refuses_different_code_at_the_address(w3: Web3, accounts: Accounts) -> None:
    record, _ = deploy(w3, accounts)
    w3.provider.make_request("anvil_setCode", [record.address, "0x6000600055"])  # type: ignore[arg-type]
    with pytest.raises(DeploymentMismatch, match="differs from the artifact"):
        check_deployment(w3, record)


def test_check_refuses_an_address_without_code(w3: Web3, accounts: Accounts) -> None:
    record, _ = deploy(w3, accounts)
    with pytest.raises(DeploymentMismatch, match="no contract code"):
        check_deployment(w3, record.model_copy(update={"address": accounts.outsider}))


def test_check_refuses_when_the_artifact_changed(w3: Web3, accounts: Accounts) -> None:
    record, _ = deploy(w3, accounts)
    artifact = load_artifact()
    changed = artifact.model_copy(update={"deployed_bytecode": artifact.deployed_bytecode + "00"})
    with pytest.raises(DeploymentMismatch, match="artifact changed"):
        check_deployment(w3, record, artifact=changed)


def test_load_or_deploy_deploys_once(w3: Web3, accounts: Accounts, tmp_path: Path) -> None:
    path = tmp_path / "ledger" / "deployment.json"
    deployer = dev_account(DEV_MNEMONIC, index=0)

    first = load_or_deploy(w3, record_path=path, deployer=deployer, anchorer=accounts.anchorer)
    head = w3.eth.block_number
    second = load_or_deploy(w3, record_path=path, deployer=deployer, anchorer=accounts.anchorer)

    assert second == first
    assert w3.eth.block_number == head  # nothing was sent the second time
    registry = registry_contract(w3, first.address)
    assert registry.functions.hasRole(ANCHOR_ROLE, accounts.anchorer).call()


def test_load_or_deploy_refuses_a_mismatched_record(
    w3: Web3, accounts: Accounts, tmp_path: Path
) -> None:
    record, _ = deploy(w3, accounts)
    path = tmp_path / "deployment.json"
    record.model_copy(update={"chain_id": 5}).save(path)
    saved = path.read_bytes()

    with pytest.raises(DeploymentMismatch):
        load_or_deploy(w3, record_path=path, deployer=accounts.admin, anchorer=accounts.anchorer)
    assert path.read_bytes() == saved


def test_unreadable_record_is_a_deployment_error(tmp_path: Path) -> None:
    path = tmp_path / "deployment.json"
    path.write_text('{"chain_id": "x"}')
    with pytest.raises(DeploymentError, match="unusable deployment record"):
        DeploymentRecord.load(path)
