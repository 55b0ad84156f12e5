"""Hyperledger Besu QBFT network files: validator keys, genesis, permissioning, node configs.

``write_network`` produces, in one directory::

    genesis.json                  QBFT genesis; extraData names the validators
    permissions_config.toml       accounts-allowlist + nodes-allowlist (each node has a copy)
    network.json                  what was generated (validators, enodes, allowlisted accounts)
    validator-N/key               the node's secp256k1 private key (hex; mode 0600)
    validator-N/key.pub           its public key, which is the enode id
    validator-N/permissions_config.toml   that node's copy (Besu rewrites it on changes)
    validator-N/config.toml       Besu options: permissioning on, min-gas-price 0, JSON-RPC

The QBFT ``extraData`` is RLP([32-byte vanity, [validator addresses], [] votes, round 0,
[] committed seals]) (``qbft_extra_data``), as ``besu rlp encode --type=QBFT_EXTRA_DATA``
writes it. Nodes reach each other at fixed addresses (``hosts``), because Besu's enode URLs
and nodes-allowlist take IP addresses.
"""

from __future__ import annotations

import json
import logging
import os
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import rlp
from eth_keys.datatypes import PrivateKey
from eth_utils.address import to_checksum_address

from ledger_node.errors import LedgerError

_logger = logging.getLogger(__name__)

VANITY = b"\x00" * 32
P2P_PORT = 30303
RPC_PORT = 8545
#: Where the files are mounted inside the Besu containers (docker-compose.yml).
CONTAINER_DIR = "/besu"
INITIAL_BALANCE_WEI = 10**24
_MIX_HASH = "0x63746963616c2062797a616e74696e65206661756c7420746f6c6572616e6365"


class NetworkConfigError(LedgerError):
    """The network description is unusable (too few validators, bad address, bad file)."""


@dataclass(frozen=True)
class ValidatorKey:
    """One validator node's key: its address signs blocks, its public key is its enode id."""

    private_key: bytes

    @classmethod
    def generate(cls) -> ValidatorKey:
        """A new random secp256k1 key."""
        return cls(os.urandom(32))

    @property
    def public_key(self) -> bytes:
        """The 64-byte uncompressed public key (without the 0x04 prefix)."""
        return bytes(PrivateKey(self.private_key).public_key.to_bytes())

    @property
    def address(self) -> str:
        """The validator's checksummed account address."""
        return str(PrivateKey(self.private_key).public_key.to_checksum_address())

    def enode(self, host: str, port: int = P2P_PORT) -> str:
        """``enode://<public key hex>@host:port``."""
        return f"enode://{self.public_key.hex()}@{host}:{port}"


def qbft_extra_data(validators: Sequence[str], *, vanity: bytes = VANITY) -> str:
    """The genesis ``extraData`` of a QBFT network with these validator addresses.

    RLP([vanity (32 bytes), [addresses], [] (no vote), 0 (round), [] (no seals)]) as 0x hex.
    Raises NetworkConfigError for an empty validator list, a vanity that is not 32 bytes or
    an address that is not 20 bytes of hex.
    """
    if not validators:
        raise NetworkConfigError("a QBFT network needs at least one validator")
    if len(vanity) != 32:
        raise NetworkConfigError("the extraData vanity must be 32 bytes")
    try:
        addresses = [bytes.fromhex(to_checksum_address(a)[2:]) for a in validators]
    except ValueError as exc:
        raise NetworkConfigError(f"not a validator address: {exc}") from exc
    encoded: bytes = rlp.encode([vanity, addresses, [], 0, []])
    return "0x" + encoded.hex()


def qbft_genesis(*, chain_id: int, validators: Sequence[str], block_period: int = 2,
                 epoch_length: int = 30000, request_timeout: int = 10,
                 gas_limit: int = 0x1FFFFFFFFFFFFF,
                 alloc: dict[str, int] | None = None) -> dict[str, Any]:
    """A Besu QBFT genesis for a free-gas permissioned chain (EVM up to Cancun, which the
    registry is compiled for). ``alloc`` maps addresses to balances in wei.

    Raises NetworkConfigError like ``qbft_extra_data``.
    """
    return {
        "config": {
            "chainId": chain_id, "homesteadBlock": 0, "eip150Block": 0, "eip155Block": 0,
            "eip158Block": 0, "byzantiumBlock": 0, "constantinopleBlock": 0,
            "petersburgBlock": 0, "istanbulBlock": 0, "berlinBlock": 0, "londonBlock": 0,
            "shanghaiTime": 0, "cancunTime": 0, "zeroBaseFee": True,
            "qbft": {"blockperiodseconds": block_period, "epochlength": epoch_length,
                     "requesttimeoutseconds": request_timeout},
        },
        "nonce": "0x0", "timestamp": "0x0", "gasLimit": hex(gas_limit), "difficulty": "0x1",
        "mixHash": _MIX_HASH, "coinbase": "0x" + "00" * 20,
        "extraData": qbft_extra_data(validators),
        "alloc": {to_checksum_address(a)[2:].lower(): {"balance": hex(wei)}
                  for a, wei in (alloc or {}).items()},
    }


def _toml_list(values: Sequence[str]) -> str:
    return "[" + ", ".join(json.dumps(v) for v in values) + "]"


def permissions_toml(*, accounts: Sequence[str], nodes: Sequence[str]) -> str:
    """``permissions_config.toml``: only these accounts may transact, only these enodes peer."""
    return (f"accounts-allowlist={_toml_list([to_checksum_address(a) for a in accounts])}\n"
            f"nodes-allowlist={_toml_list(list(nodes))}\n")


def read_permissions(path: Path) -> tuple[list[str], list[str]]:
    """The (accounts, nodes) allowlists of a ``permissions_config.toml``.

    Raises NetworkConfigError when the file is missing or not such a file.
    """
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise NetworkConfigError(f"unreadable permissions file {path}: {exc}") from exc
    accounts, nodes = data.get("accounts-allowlist"), data.get("nodes-allowlist")
    if not isinstance(accounts, list) or not isinstance(nodes, list):
        raise NetworkConfigError(f"{path} lacks accounts-allowlist or nodes-allowlist")
    return [str(a) for a in accounts], [str(n) for n in nodes]


def node_config_toml(*, bootnodes: Sequence[str], host: str,
                     base: str = CONTAINER_DIR) -> str:
    """One validator's Besu ``config.toml``: account and node permissioning from the shared
    file, free gas, JSON-RPC over HTTP for the service, metrics, and its peers as bootnodes.
    Paths are those inside the container (``base``)."""
    options: list[tuple[str, object]] = [
        ("data-path", "/var/lib/besu"),
        ("genesis-file", f"{base}/genesis.json"),
        ("node-private-key-file", f"{base}/key"),
        ("p2p-host", host), ("p2p-port", P2P_PORT),
        ("bootnodes", list(bootnodes)),
        ("permissions-nodes-config-file-enabled", True),
        ("permissions-nodes-config-file", f"{base}/permissions_config.toml"),
        ("permissions-accounts-config-file-enabled", True),
        ("permissions-accounts-config-file", f"{base}/permissions_config.toml"),
        ("min-gas-price", 0),
        ("sync-mode", "FULL"),
        ("rpc-http-enabled", True), ("rpc-http-host", "0.0.0.0"), ("rpc-http-port", RPC_PORT),
        ("rpc-http-api", ["ETH", "NET", "WEB3", "QBFT", "PERM", "TXPOOL"]),
        ("host-allowlist", ["*"]),
        ("metrics-enabled", True), ("metrics-host", "0.0.0.0"),
        ("logging", "INFO"),
    ]
    lines = []
    for key, value in options:
        if isinstance(value, bool):
            text = "true" if value else "false"
        elif isinstance(value, int):
            text = str(value)
        elif isinstance(value, list):
            text = _toml_list([str(v) for v in value])
        else:
            text = json.dumps(value)
        lines.append(f"{key}={text}")
    return "\n".join(lines) + "\n"


def _write(path: Path, text: str, *, private: bool = False) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600 if private else 0o644)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)


def write_network(out: Path, *, chain_id: int, hosts: Sequence[str], accounts: Sequence[str],
                  block_period: int = 2, keys_: Sequence[ValidatorKey] | None = None
                  ) -> dict[str, Any]:
    """Generate a QBFT network of ``len(hosts)`` validators into ``out``; returns network.json.

    ``accounts`` are the allowlisted signer accounts (departments, the anchorer, the governing
    admin). Refuses to overwrite an existing network (its keys would be lost). Raises
    NetworkConfigError for fewer than 4 validators (QBFT is Byzantine fault tolerant only
    from 4), duplicate hosts, or an existing ``out/genesis.json``.
    """
    if len(hosts) < 4:
        raise NetworkConfigError("QBFT needs at least 4 validators to tolerate a faulty one")
    if len(set(hosts)) != len(hosts):
        raise NetworkConfigError("every validator needs a host of its own")
    if (out / "genesis.json").exists():
        raise NetworkConfigError(f"{out} already holds a network; refusing to overwrite it")
    node_keys = list(keys_) if keys_ is not None else [ValidatorKey.generate() for _ in hosts]
    enodes = [k.enode(h) for k, h in zip(node_keys, hosts, strict=True)]
    validators = [k.address for k in node_keys]
    # gas is free (min-gas-price 0, zero base fee), but a balance lets clients that add a
    # priority fee by default still send
    genesis = qbft_genesis(chain_id=chain_id, validators=validators, block_period=block_period,
                           alloc={a: INITIAL_BALANCE_WEI for a in accounts})
    _write(out / "genesis.json", json.dumps(genesis, indent=2) + "\n")
    permissions = permissions_toml(accounts=accounts, nodes=enodes)
    _write(out / "permissions_config.toml", permissions)
    for n, (key, host) in enumerate(zip(node_keys, hosts, strict=True), start=1):
        node_dir = out / f"validator-{n}"
        # each node keeps its own copy: Besu rewrites it when the allowlist changes over RPC
        _write(node_dir / "permissions_config.toml", permissions)
        _write(node_dir / "key", "0x" + key.private_key.hex() + "\n", private=True)
        _write(node_dir / "key.pub", "0x" + key.public_key.hex() + "\n")
        peers = [e for e in enodes if e != enodes[n - 1]]
        _write(node_dir / "config.toml", node_config_toml(bootnodes=peers, host=host))
    network = {"chain_id": chain_id, "accounts": [to_checksum_address(a) for a in accounts],
               "validators": [{"name": f"validator-{n}", "address": v, "enode": e, "host": h}
                              for n, (v, e, h) in enumerate(
                                  zip(validators, enodes, hosts, strict=True), start=1)]}
    _write(out / "network.json", json.dumps(network, indent=2) + "\n")
    _logger.info("wrote a %d-validator QBFT network (chain %d) to %s", len(hosts), chain_id,
                 out)
    return network
