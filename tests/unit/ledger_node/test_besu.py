"""Besu QBFT network files, checked against the Besu documentation and by re-reading them."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest
import rlp
from eth_keys.datatypes import PrivateKey

from ledger_node import (
    NetworkConfigError,
    ValidatorKey,
    qbft_extra_data,
    read_permissions,
    write_network,
)

# The QBFT genesis example ("Block header validator selection") of the Besu documentation,
# https://besu.hyperledger.org/private-networks/how-to/configure/consensus/qbft
BESU_DOC_VALIDATORS = ("0x64a702e6263b7297a96638cac6ae65e6541f4169",
                       "0x3923390ad55e90c237593b3b0e401f3b08a03185",
                       "0xaefdb9a738c9f433e5b6b212a6d62f6370c2f692",
                       "0xc7eeb9a4e00ce683cf93039b212648e01c6c6b78")
BESU_DOC_EXTRA_DATA = (
    "0xf87aa00000000000000000000000000000000000000000000000000000000000000000f85494"
    "64a702e6263b7297a96638cac6ae65e6541f4169943923390ad55e90c237593b3b0e401f3b08a03185"
    "94aefdb9a738c9f433e5b6b212a6d62f6370c2f69294c7eeb9a4e00ce683cf93039b212648e01c6c6b78"
    "c080c0")


def test_extra_data_matches_the_besu_documentation() -> None:
    assert qbft_extra_data(BESU_DOC_VALIDATORS) == BESU_DOC_EXTRA_DATA


def test_extra_data_keeps_validator_order_and_rejects_nonsense() -> None:
    reordered = qbft_extra_data(BESU_DOC_VALIDATORS[::-1])
    assert reordered != BESU_DOC_EXTRA_DATA
    vanity, validators, votes, round_, seals = rlp.decode(bytes.fromhex(reordered[2:]))
    assert ["0x" + v.hex() for v in validators] == list(BESU_DOC_VALIDATORS[::-1])
    assert (vanity, votes, round_, seals) == (b"\x00" * 32, [], b"", [])
    with pytest.raises(NetworkConfigError, match="at least one validator"):
        qbft_extra_data([])
    with pytest.raises(NetworkConfigError, match="not a validator address"):
        qbft_extra_data(["0x1234"])
    with pytest.raises(NetworkConfigError, match="32 bytes"):
        qbft_extra_data(BESU_DOC_VALIDATORS, vanity=b"\x00")


def test_validator_key_gives_address_and_enode_id() -> None:
    # the first anvil/hardhat dev key: its address is public knowledge
    key = ValidatorKey(bytes.fromhex(
        "ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"))
    assert key.address == "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"
    enode = key.enode("172.16.239.11")
    assert enode == (f"enode://{PrivateKey(key.private_key).public_key.to_bytes().hex()}"
                     "@172.16.239.11:30303")
    assert len(key.public_key) == 64


def test_write_network(tmp_path: Path) -> None:
    hosts = [f"172.16.239.{10 + n}" for n in range(1, 5)]
    accounts = ["0x70997970c51812dc3a010c7d01b50e0d17dc79c8"]
    network = write_network(tmp_path, chain_id=2026, hosts=hosts, accounts=accounts)

    genesis = json.loads((tmp_path / "genesis.json").read_text())
    validators = [v["address"] for v in network["validators"]]
    assert genesis["config"]["chainId"] == 2026 and "qbft" in genesis["config"]
    assert genesis["extraData"] == qbft_extra_data(validators)
    allowed_accounts, nodes = read_permissions(tmp_path / "permissions_config.toml")
    assert allowed_accounts == ["0x70997970C51812dc3A010C7d01b50e0d17dc79C8"]
    assert nodes == [v["enode"] for v in network["validators"]]
    for n, validator in enumerate(network["validators"], start=1):
        node = tmp_path / f"validator-{n}"
        key = ValidatorKey(bytes.fromhex((node / "key").read_text().strip()[2:]))
        assert key.address == validator["address"]
        assert validator["enode"] == key.enode(hosts[n - 1])
        assert (node / "key").stat().st_mode & 0o077 == 0
        config = tomllib.loads((node / "config.toml").read_text())
        assert config["permissions-nodes-config-file-enabled"] is True
        assert config["permissions-accounts-config-file-enabled"] is True
        assert config["min-gas-price"] == 0
        assert config["p2p-host"] == hosts[n - 1]
        assert sorted(config["bootnodes"]) == sorted(set(nodes) - {validator["enode"]})
        assert read_permissions(node / "permissions_config.toml") == (allowed_accounts, nodes)
    assert len({v["address"] for v in network["validators"]}) == 4

    with pytest.raises(NetworkConfigError, match="refusing to overwrite"):
        write_network(tmp_path, chain_id=2026, hosts=hosts, accounts=accounts)
    with pytest.raises(NetworkConfigError, match="at least 4 validators"):
        write_network(tmp_path / "small", chain_id=2026, hosts=hosts[:3], accounts=accounts)
