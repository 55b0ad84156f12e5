"""Chain nodes, contract deployment and department keys for the evidence service.

In development this runs a supervised anvil with its state on disk (``AnvilNode``), deploys
``EvidenceRegistry`` from the ``contracts`` artifact (``load_or_deploy``) and keeps department
and anchoring keys in encrypted keystores (``create_keystore``/``load_account``). For
production it writes Besu QBFT network files (``write_network``) and adds departments to a
running permissioned network (``add_department``). Import from here only; this package
never imports ``evidence_service``.
"""

from __future__ import annotations

from ledger_node.besu import (
    NetworkConfigError,
    ValidatorKey,
    qbft_extra_data,
    qbft_genesis,
    read_permissions,
    write_network,
)
from ledger_node.config import DEV_CHAIN_ID, DEV_MNEMONIC, LedgerSettings, NodeConfig, get_settings
from ledger_node.departments import (
    DepartmentAccount,
    add_department,
    allow_account,
    department_id_hash,
)
from ledger_node.deploy import (
    DeploymentRecord,
    Sender,
    check_deployment,
    deploy_registry,
    load_or_deploy,
    registry_contract,
)
from ledger_node.errors import (
    DeploymentError,
    DeploymentMismatch,
    KeystoreError,
    LedgerError,
    NodeUnavailable,
    WrongPassword,
)
from ledger_node.keys import create_keystore, dev_account, keystore_address, load_account
from ledger_node.node import AnvilNode, find_anvil_binary, rpc_chain_id

__all__ = [
    "DEV_CHAIN_ID",
    "DEV_MNEMONIC",
    "AnvilNode",
    "DepartmentAccount",
    "DeploymentError",
    "DeploymentMismatch",
    "DeploymentRecord",
    "KeystoreError",
    "LedgerError",
    "LedgerSettings",
    "NetworkConfigError",
    "NodeConfig",
    "NodeUnavailable",
    "Sender",
    "ValidatorKey",
    "WrongPassword",
    "add_department",
    "allow_account",
    "check_deployment",
    "create_keystore",
    "department_id_hash",
    "deploy_registry",
    "dev_account",
    "find_anvil_binary",
    "get_settings",
    "keystore_address",
    "load_account",
    "load_or_deploy",
    "qbft_extra_data",
    "qbft_genesis",
    "read_permissions",
    "registry_contract",
    "rpc_chain_id",
    "write_network",
]
