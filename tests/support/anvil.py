"""Throwaway anvil nodes and registry deployments for the ``ledger`` tests.

Each node listens on a free port (``port=0``) and derives its accounts from the fixed dev
mnemonic, so addresses are the same in every run. Without anvil (no ``npm ci``) a ledger test
is skipped, except under ``CI=true`` where that is a failure.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from eth_abi.abi import decode
from eth_typing import ChecksumAddress
from web3 import Web3
from web3.contract import Contract
from web3.exceptions import ContractCustomError

from ledger_node import (
    DEV_MNEMONIC,
    AnvilNode,
    DeploymentRecord,
    NodeConfig,
    NodeUnavailable,
    create_keystore,
    deploy_registry,
    dev_account,
    find_anvil_binary,
    registry_contract,
)

IN_CI = os.environ.get("CI", "").lower() == "true"
REPO_ROOT = Path(__file__).resolve().parents[2]
MNEMONIC = DEV_MNEMONIC


def unavailable(reason: str) -> None:
    """Skip the test, or fail it under ``CI=true`` (a missing service is a failure there)."""
    if IN_CI:
        pytest.fail(f"{reason} (CI=true: a missing service is a failure, not a skip)")
    pytest.skip(reason)


def require_anvil(config: pytest.Config) -> Path:
    """The anvil binary, or skip (fail in CI) when it is missing or ``--skip-external`` is set."""
    if config.getoption("--skip-external", default=False):
        unavailable("ledger test skipped by --skip-external")
    try:
        return find_anvil_binary(search_from=(REPO_ROOT,))
    except NodeUnavailable as exc:
        unavailable(f"ledger test needs anvil: {exc}")
        raise  # unreachable: unavailable() always raises


def require_solcjs(config: pytest.Config) -> None:
    """Skip (fail in CI) unless node and the npm ``solc`` package are installed."""
    if config.getoption("--skip-external", default=False):
        unavailable("compile test skipped by --skip-external")
    if shutil.which("node") is None:
        unavailable("compile test needs node")
    if not (REPO_ROOT / "node_modules" / "solc" / "package.json").is_file():
        unavailable("compile test needs `npm ci` (node_modules/solc is missing)")


def node_config(binary: Path, *, state_dir: Path | None = None, **changes: Any) -> NodeConfig:
    """A throwaway-node config (free port, fixed mnemonic) using ``binary``."""
    base = NodeConfig.throwaway(state_dir=state_dir)
    return base.model_copy(update={"binary": binary, "state_interval": 1, **changes})


@contextmanager
def running_node(config: NodeConfig) -> Iterator[AnvilNode]:
    """Start a node for the duration of the block; always stop it."""
    node = AnvilNode(config)
    node.start()
    try:
        yield node
    finally:
        node.stop()


@dataclass(frozen=True)
class Accounts:
    """Named dev accounts (indexes of the fixed mnemonic; all unlocked on anvil)."""

    admin: ChecksumAddress
    anchorer: ChecksumAddress
    dept_a: ChecksumAddress
    dept_b: ChecksumAddress
    dept_c: ChecksumAddress
    outsider: ChecksumAddress

    @classmethod
    def dev(cls) -> Accounts:
        """Accounts 0..5 of the fixed mnemonic."""
        names = ("admin", "anchorer", "dept_a", "dept_b", "dept_c", "outsider")
        return cls(**{n: dev_account(MNEMONIC, index=i).address for i, n in enumerate(names)})


def external_ledger_env(rpc_url: str, contract_address: str, directory: Path) -> dict[str, str]:
    """The ``EVIDENCE_LEDGER__*`` settings of a service anchoring to an external chain as the
    dev anchoring account (index 1), its key in a keystore written under ``directory``."""
    keystore = directory / "anchorer.json"
    create_keystore(keystore, password="keystore password",
                    private_key=bytes(dev_account(MNEMONIC, index=1).key), scrypt_n=2**12)
    return {"EVIDENCE_LEDGER__MODE": "external", "EVIDENCE_LEDGER__RPC_URL": rpc_url,
            "EVIDENCE_LEDGER__CONTRACT_ADDRESS": contract_address,
            "EVIDENCE_LEDGER__KEYSTORE": str(keystore),
            "EVIDENCE_LEDGER__KEYSTORE_PASSWORD": "keystore password",
            "EVIDENCE_LEDGER__KEYSTORE_SCRYPT_N": str(2**12)}


def connect(node: AnvilNode) -> Web3:
    """A web3 client for ``node``."""
    return Web3(Web3.HTTPProvider(node.rpc_url, request_kwargs={"timeout": 10}))


def deploy(w3: Web3, accounts: Accounts) -> tuple[DeploymentRecord, Contract]:
    """Deploy a fresh registry (admin signs locally; anchorer gets ANCHOR_ROLE)."""
    record = deploy_registry(w3, deployer=dev_account(MNEMONIC, index=0),
                             anchorer=accounts.anchorer)
    return record, registry_contract(w3, record.address)


def mine(w3: Web3, call: Any, sender: str) -> Any:
    """Send ``call`` from the unlocked ``sender`` and return its successful receipt."""
    receipt = w3.eth.wait_for_transaction_receipt(call.transact({"from": sender}), timeout=30)
    assert receipt["status"] == 1
    return receipt


def h(label: str) -> bytes:
    """A 32-byte test hash derived from ``label``."""
    return Web3.keccak(text=label)


@contextmanager
def reverts_with(error: str, *args: Any) -> Iterator[None]:
    """Expect a revert with custom error ``error`` (a signature such as ``"ZeroHash()"``).

    When ``args`` are given, the decoded error arguments must equal them.
    """
    with pytest.raises(ContractCustomError) as info:
        yield
    data = info.value.data
    assert isinstance(data, str), f"revert data missing: {info.value!r}"
    raw = bytes.fromhex(data.removeprefix("0x"))
    selector = Web3.keccak(text=error)[:4]
    assert raw[:4] == selector, f"expected {error}, got selector 0x{raw[:4].hex()}"
    if args:
        types = [t for t in error[error.index("(") + 1 : -1].split(",") if t]
        decoded = tuple(
            Web3.to_checksum_address(v) if t == "address" else v
            for t, v in zip(types, decode(types, raw[4:]), strict=True)
        )
        assert decoded == args, f"{error} args {decoded} != {args}"
