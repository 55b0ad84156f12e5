"""Deploy ``EvidenceRegistry`` from the committed artifact and check recorded deployments.

A deployment is recorded as JSON (``DeploymentRecord``). Before a record is trusted,
``check_deployment`` confirms that the chain id matches and that the runtime code at the
recorded address is byte for byte the artifact's ``deployedBytecode`` (the contract has no
immutables, so exact comparison is right; ``contracts.build`` refuses to emit one that has).

A sender is either a ``LocalAccount`` (the transaction is signed here, as on Besu) or the
address of an account the node has unlocked (anvil's dev accounts).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeAlias

from eth_account.signers.local import LocalAccount
from eth_typing import ChecksumAddress
from eth_utils.address import to_checksum_address
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError
from web3.exceptions import Web3Exception

from contracts import Artifact, load_artifact
from ledger_node.errors import DeploymentError, DeploymentMismatch, NodeUnavailable

if TYPE_CHECKING:
    from web3 import Web3
    from web3.contract import Contract
    from web3.types import TxReceipt

_logger = logging.getLogger(__name__)

#: A local signing account, or the address of an account the node has unlocked.
Sender: TypeAlias = LocalAccount | ChecksumAddress
_RECEIPT_TIMEOUT = 120.0


class DeploymentRecord(BaseModel):
    """Where and from what the registry was deployed.

    ``bytecode_sha256`` is the SHA-256 of the runtime code (``deployedBytecode``), which is
    what ``eth_getCode`` returns for ``address``.
    """

    model_config = ConfigDict(frozen=True)

    chain_id: int
    address: str = Field(pattern=r"^0x[0-9a-fA-F]{40}$")
    block_number: int
    tx_hash: str = Field(pattern=r"^0x[0-9a-f]{64}$")
    deployer: str = Field(pattern=r"^0x[0-9a-fA-F]{40}$")
    bytecode_sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    deployed_at: AwareDatetime

    def save(self, path: Path) -> None:
        """Write the record to ``path`` as sorted JSON, atomically."""
        text = json.dumps(self.model_dump(mode="json"), sort_keys=True, indent=2) + "\n"
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(text)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    @classmethod
    def load(cls, path: Path) -> DeploymentRecord:
        """Read a record written by ``save``. Raises DeploymentError if missing or malformed."""
        try:
            return cls.model_validate_json(path.read_bytes())
        except (OSError, ValidationError) as exc:
            raise DeploymentError(f"unusable deployment record {path}: {exc}") from exc


def _address_of(sender: Sender) -> ChecksumAddress:
    return to_checksum_address(sender.address if isinstance(sender, LocalAccount) else sender)


def _transact(w3: Web3, call: Any, *, sender: Sender, what: str) -> TxReceipt:
    """Send ``call`` (a contract function or constructor) from ``sender``; wait for success."""
    address = _address_of(sender)
    try:
        if isinstance(sender, LocalAccount):
            nonce = w3.eth.get_transaction_count(address, "pending")
            tx = call.build_transaction({"from": address, "nonce": nonce})
            tx_hash = w3.eth.send_raw_transaction(sender.sign_transaction(tx).raw_transaction)
        else:
            tx_hash = call.transact({"from": address})
        receipt: TxReceipt = w3.eth.wait_for_transaction_receipt(
            tx_hash, timeout=_RECEIPT_TIMEOUT
        )
    except OSError as exc:  # requests' ConnectionError and timeouts are OSErrors
        raise NodeUnavailable(f"node unreachable while sending {what}: {exc}") from exc
    except Web3Exception as exc:
        raise DeploymentError(f"{what} failed: {exc}") from exc
    if receipt["status"] != 1:
        raise DeploymentError(f"{what} reverted (tx {receipt['transactionHash'].to_0x_hex()})")
    _logger.info("%s mined: tx %s block %s", what, receipt["transactionHash"].to_0x_hex(),
                 receipt["blockNumber"])
    return receipt


def registry_contract(w3: Web3, address: str, *, artifact: Artifact | None = None) -> Contract:
    """A web3 binding of the registry at ``address`` using the artifact's ABI."""
    artifact = artifact or load_artifact()
    return w3.eth.contract(address=to_checksum_address(address), abi=list(artifact.abi))


def deploy_registry(
    w3: Web3,
    *,
    deployer: Sender,
    anchorer: str,
    artifact: Artifact | None = None,
) -> DeploymentRecord:
    """Deploy the registry (``deployer`` becomes its admin) and grant ANCHOR_ROLE to ``anchorer``.

    Raises DeploymentError when a transaction fails, NodeUnavailable when the node is gone.
    """
    artifact = artifact or load_artifact()
    factory = w3.eth.contract(abi=list(artifact.abi), bytecode=artifact.bytecode)
    receipt = _transact(w3, factory.constructor(), sender=deployer, what="registry deployment")
    address = receipt["contractAddress"]
    if address is None:
        raise DeploymentError("deployment receipt has no contract address")
    registry = registry_contract(w3, address, artifact=artifact)
    anchor_role = registry.functions.ANCHOR_ROLE().call()
    _transact(
        w3,
        registry.functions.grantRole(anchor_role, to_checksum_address(anchorer)),
        sender=deployer,
        what="ANCHOR_ROLE grant",
    )
    block = w3.eth.get_block(receipt["blockNumber"])
    record = DeploymentRecord(
        chain_id=w3.eth.chain_id,
        address=to_checksum_address(address),
        block_number=receipt["blockNumber"],
        tx_hash=receipt["transactionHash"].to_0x_hex(),
        deployer=_address_of(deployer),
        bytecode_sha256=artifact.deployed_bytecode_sha256,
        deployed_at=datetime.fromtimestamp(block["timestamp"], tz=UTC),
    )
    _logger.info("registry deployed at %s on chain %s (tx %s)", record.address,
                 record.chain_id, record.tx_hash)
    return record


def check_deployment(
    w3: Web3, record: DeploymentRecord, *, artifact: Artifact | None = None
) -> None:
    """Return None if ``record`` is the artifact's registry on the chain ``w3`` talks to.

    Raises DeploymentMismatch when the chain id differs, the artifact changed since the
    record was written, or the code at the address is missing or different.
    """
    artifact = artifact or load_artifact()
    try:
        chain_id = w3.eth.chain_id
        code = bytes(w3.eth.get_code(to_checksum_address(record.address)))
    except OSError as exc:
        raise NodeUnavailable(f"node unreachable while checking the deployment: {exc}") from exc
    if chain_id != record.chain_id:
        raise DeploymentMismatch(
            f"deployment recorded for chain {record.chain_id}, node is chain {chain_id}"
        )
    if record.bytecode_sha256 != artifact.deployed_bytecode_sha256:
        raise DeploymentMismatch(
            "the contract artifact changed since the deployment was recorded: redeploy"
        )
    if not code:
        raise DeploymentMismatch(f"no contract code at {record.address} on chain {chain_id}")
    if code != bytes.fromhex(artifact.deployed_bytecode.removeprefix("0x")):
        raise DeploymentMismatch(
            f"code at {record.address} differs from the artifact "
            f"(sha256 {hashlib.sha256(code).hexdigest()})"
        )


def load_or_deploy(
    w3: Web3,
    *,
    record_path: Path,
    deployer: Sender,
    anchorer: str,
    artifact: Artifact | None = None,
) -> DeploymentRecord:
    """Use the deployment recorded at ``record_path``, or deploy and record one if none exists.

    An existing record is never silently replaced: if it does not match this chain and artifact,
    DeploymentMismatch is raised. Raises DeploymentError and NodeUnavailable like
    ``deploy_registry``.
    """
    artifact = artifact or load_artifact()
    if record_path.exists():
        record = DeploymentRecord.load(record_path)
        check_deployment(w3, record, artifact=artifact)
        _logger.info("using registry %s on chain %s", record.address, record.chain_id)
        return record
    record = deploy_registry(w3, deployer=deployer, anchorer=anchorer, artifact=artifact)
    record.save(record_path)
    return record
