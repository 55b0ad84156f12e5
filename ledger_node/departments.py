"""Adding a department to a running permissioned network.

Three steps, each idempotent so an interrupted run can simply be repeated:

1. an encrypted keystore for the department's signer account (``<keystore_dir>/<id>.json``,
   the name under which the evidence service looks for a department's key);
2. the account goes into ``accounts-allowlist`` of every ``permissions_config.toml`` of the
   network directory, and, for each running Besu node given, through its
   ``perm_addAccountsToAllowlist`` JSON-RPC method (Besu then rewrites its own file);
3. the governing admin registers it on the registry (``registerDepartment``: the account gets
   DEPARTMENT_ROLE under SHA-256 of the department id, as the service computes it).
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import requests
from eth_utils.address import to_checksum_address

from ledger_node.besu import NetworkConfigError, permissions_toml, read_permissions
from ledger_node.deploy import _transact, registry_contract
from ledger_node.errors import LedgerError, NodeUnavailable
from ledger_node.keys import SCRYPT_N, create_keystore, keystore_address

if TYPE_CHECKING:
    from eth_account.signers.local import LocalAccount
    from web3 import Web3

_logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class DepartmentAccount:
    """What ``add_department`` did: the address, its keystore, and what changed."""

    address: str
    keystore: Path
    created: bool
    allowlists_updated: tuple[Path, ...]
    registered: bool


def department_id_hash(department_id: str) -> bytes:
    """The bytes32 a department id is registered under (SHA-256 of its ASCII text)."""
    return hashlib.sha256(department_id.encode("ascii")).digest()


def allow_account(network_dir: Path, address: str) -> tuple[Path, ...]:
    """Add ``address`` to every ``permissions_config.toml`` under ``network_dir``; returns
    the files that changed. Raises NetworkConfigError when there is none or one is unusable.
    """
    address = to_checksum_address(address)
    files = sorted(network_dir.rglob("permissions_config.toml"))
    if not files:
        raise NetworkConfigError(f"no permissions_config.toml under {network_dir}")
    changed = []
    for path in files:
        accounts, nodes = read_permissions(path)
        if address.lower() in {a.lower() for a in accounts}:
            continue
        path.write_text(permissions_toml(accounts=[*accounts, address], nodes=nodes),
                        encoding="utf-8")
        changed.append(path)
    return tuple(changed)


def allow_account_on_nodes(rpc_urls: Sequence[str], address: str) -> None:
    """Ask each running Besu node to allow ``address`` (``perm_addAccountsToAllowlist``).

    An account already on a node's list counts as success. Raises NodeUnavailable when a node
    does not answer, LedgerError when it refuses for another reason.
    """
    for url in rpc_urls:
        body: dict[str, Any] = {"jsonrpc": "2.0", "id": 1,
                                "method": "perm_addAccountsToAllowlist",
                                "params": [[to_checksum_address(address)]]}
        try:
            reply = requests.post(url, json=body, timeout=10).json()
        except (requests.RequestException, ValueError) as exc:
            raise NodeUnavailable(f"node {url} did not answer: {exc}") from exc
        error = reply.get("error")
        if error and "exist" not in str(error.get("message", "")).lower():
            raise LedgerError(f"node {url} refused to allow {address}: {error}")


def add_department(w3: Web3, *, department_id: str, registry: str, admin: LocalAccount,
                   keystore_dir: Path, password: str, network_dir: Path | None = None,
                   besu_rpc_urls: Sequence[str] = (),
                   scrypt_n: int = SCRYPT_N) -> DepartmentAccount:
    """Create (or reuse) the department's account, allowlist it and register it.

    Raises KeystoreError (bad keystore or empty password), NetworkConfigError (unusable
    permissions files), NodeUnavailable and DeploymentError (the registration failed, for
    example because ``admin`` is not the registry's admin).
    """
    if not department_id or not department_id.isascii():
        raise LedgerError("a department id must be non-empty ASCII")
    path = keystore_dir / f"{department_id}.json"
    created = not path.exists()
    address = (create_keystore(path, password=password, scrypt_n=scrypt_n) if created
               else keystore_address(path))
    updated = allow_account(network_dir, address) if network_dir is not None else ()
    allow_account_on_nodes(besu_rpc_urls, address)
    contract = registry_contract(w3, registry)
    try:
        current = bytes(contract.functions.departmentOf(address).call())
    except OSError as exc:
        raise NodeUnavailable(f"node unreachable while reading the registry: {exc}") from exc
    registered = False
    if current == b"\x00" * 32:
        _transact(w3, contract.functions.registerDepartment(
            address, department_id_hash(department_id)), sender=admin,
            what=f"registerDepartment {department_id}")
        registered = True
    elif current != department_id_hash(department_id):
        raise LedgerError(f"{address} is registered for another department")
    _logger.info("department %s signs as %s (new key: %s, registered now: %s)",
                 department_id, address, created, registered)
    return DepartmentAccount(address=address, keystore=path, created=created,
                             allowlists_updated=updated, registered=registered)
