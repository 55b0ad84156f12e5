"""Start or connect to the chain the settings describe, and hand back a ``ChainAnchor``."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from web3 import Web3

from evidence_service.adapters.chain import ChainAnchor
from evidence_service.adapters.chain_transfers import ChainDepartments
from evidence_service.domain.errors import ChainUnavailable, InvalidInput
from ledger_node import (
    DEV_MNEMONIC,
    AnvilNode,
    DeploymentRecord,
    LedgerError,
    NodeConfig,
    dev_account,
    load_account,
    load_or_deploy,
)

_logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class DepartmentKeys:
    """Where department keystores live and how they are encrypted."""

    keystore_dir: Path
    password: str
    scrypt_n: int


@dataclass
class LedgerRuntime:
    """The chain binding, plus the local node when this process supervises one."""

    anchor: ChainAnchor
    departments: ChainDepartments
    node: AnvilNode | None = None

    def close(self) -> None:
        if self.node is not None:
            self.node.stop()


def start_embedded(*, ledger_dir: Path, port: int, block_time: float | None,
                   keys: DepartmentKeys) -> LedgerRuntime:
    """Start a supervised anvil with state in ``ledger_dir`` and deploy on first start."""
    config = NodeConfig.dev(state_dir=ledger_dir, port=port)
    if block_time is not None:
        config = config.model_copy(update={"block_time": block_time})
    node = AnvilNode(config)
    try:
        node.start()  # returns once the node answers with the expected chain id
        deployer, anchorer = dev_account(DEV_MNEMONIC, index=0), dev_account(DEV_MNEMONIC, index=1)
        record = load_or_deploy(Web3(Web3.HTTPProvider(node.rpc_url)),
                                record_path=ledger_dir / "deployment.json",
                                deployer=deployer, anchorer=anchorer.address)
        anchor = ChainAnchor(rpc_url=node.rpc_url, contract_address=record.address,
                             signer=anchorer, expected_chain_id=record.chain_id)
        departments = ChainDepartments(
            rpc_url=node.rpc_url, contract_address=record.address, admin=deployer,
            keystore_dir=keys.keystore_dir, password=keys.password, scrypt_n=keys.scrypt_n)
    except LedgerError as exc:
        node.stop()
        raise ChainUnavailable(f"could not start the embedded chain node: {exc}") from exc
    except BaseException:
        node.stop()
        raise
    _logger.info("embedded chain %d at %s, registry %s", anchor.chain_id, node.rpc_url,
                 record.address)
    return LedgerRuntime(anchor=anchor, departments=departments, node=node)


def attach_embedded(*, rpc_url: str, ledger_dir: Path, keys: DepartmentKeys) -> LedgerRuntime:
    """Bind to the embedded node another process of this service supervises (``evidence
    serve --workers``): same registry record and dev accounts, but no node of its own.

    Raises ChainUnavailable when the node or its deployment record is not there.
    """
    try:
        record = DeploymentRecord.load(ledger_dir / "deployment.json")
    except LedgerError as exc:
        raise ChainUnavailable(f"no embedded chain deployment to attach to: {exc}") from exc
    deployer, anchorer = dev_account(DEV_MNEMONIC, index=0), dev_account(DEV_MNEMONIC, index=1)
    anchor = ChainAnchor(rpc_url=rpc_url, contract_address=record.address, signer=anchorer,
                         expected_chain_id=record.chain_id)
    departments = ChainDepartments(
        rpc_url=rpc_url, contract_address=record.address, admin=deployer,
        keystore_dir=keys.keystore_dir, password=keys.password, scrypt_n=keys.scrypt_n)
    return LedgerRuntime(anchor=anchor, departments=departments)


def connect_external(*, rpc_url: str | None, contract_address: str | None,
                     chain_id: int | None, keystore: Path | None, password: str | None,
                     admin_keystore: Path | None, admin_password: str | None,
                     keys: DepartmentKeys) -> LedgerRuntime:
    """Bind to an existing network; the anchoring and admin keys come from keystores.

    Without an admin keystore, departments can use only accounts the governing admin has
    already registered on the registry.
    """
    if not (rpc_url and contract_address and keystore and password):
        raise InvalidInput("external ledger mode needs EVIDENCE_LEDGER__RPC_URL, "
                           "__CONTRACT_ADDRESS, __KEYSTORE and __KEYSTORE_PASSWORD")
    if (admin_keystore is None) != (admin_password is None):
        raise InvalidInput("give both EVIDENCE_LEDGER__ADMIN_KEYSTORE and "
                           "__ADMIN_KEYSTORE_PASSWORD, or neither")
    try:
        signer = load_account(keystore, password=password)
        admin = (load_account(admin_keystore, password=admin_password)
                 if admin_keystore and admin_password else None)
    except LedgerError as exc:
        raise InvalidInput(f"cannot open a ledger keystore: {exc}") from exc
    anchor = ChainAnchor(rpc_url=rpc_url, contract_address=contract_address, signer=signer,
                         expected_chain_id=chain_id)
    departments = ChainDepartments(
        rpc_url=rpc_url, contract_address=contract_address, admin=admin,
        keystore_dir=keys.keystore_dir, password=keys.password, scrypt_n=keys.scrypt_n)
    return LedgerRuntime(anchor=anchor, departments=departments)
