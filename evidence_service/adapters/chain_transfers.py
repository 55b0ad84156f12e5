"""web3 binding of the ``DepartmentLedger`` port: department accounts and transfer steps.

Each department signs its own transfer steps with a key kept in an encrypted keystore
(``<keystore_dir>/<department id>.json``, scrypt). The governing admin account registers a
department's address on the registry (granting it DEPARTMENT_ROLE) and, on chains that charge
for gas, funds it. Keys and passwords never reach a log line or an error message.
"""

from __future__ import annotations

import logging
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from eth_account.signers.local import LocalAccount
from eth_utils.crypto import keccak
from web3 import Web3
from web3.exceptions import ContractCustomError, ContractLogicError, Web3Exception

from contracts import load_artifact
from evidence_service.adapters.chain import ChainReceipt
from evidence_service.domain.errors import ChainUnavailable, Conflict, InvalidInput
from evidence_service.ports import OnChainTransfer
from ledger_node import LedgerError, create_keystore, keystore_address, load_account

_logger = logging.getLogger(__name__)
_STATUS = {0: "none", 1: "open", 2: "accepted", 3: "rejected"}
#: What a new department account receives on a chain that charges for gas (1 ether).
_FUNDING_WEI = 10**18


def _error_names(abi: list[dict[str, Any]]) -> dict[str, str]:
    """Custom-error selector (0x + 8 hex) -> error name, from the ABI."""
    names = {}
    for item in abi:
        if item.get("type") == "error":
            signature = f"{item['name']}({','.join(i['type'] for i in item['inputs'])})"
            names["0x" + keccak(text=signature)[:4].hex()] = item["name"]
    return names


class ChainDepartments:
    """Department accounts on the registry, and the transfer steps they sign."""

    def __init__(self, *, rpc_url: str, contract_address: str, admin: LocalAccount | None,
                 keystore_dir: Path, password: str, scrypt_n: int,
                 timeout: float = 30.0) -> None:
        if not password:
            raise InvalidInput("department keystores need a password "
                               "(EVIDENCE_LEDGER__DEPARTMENT_KEYSTORE_PASSWORD)")
        self._w3 = Web3(Web3.HTTPProvider(rpc_url, request_kwargs={"timeout": 10}))
        artifact = load_artifact()
        self._contract = self._w3.eth.contract(
            address=Web3.to_checksum_address(contract_address), abi=artifact.abi)
        self._errors = _error_names(list(artifact.abi))
        self._admin = admin
        self._dir = keystore_dir
        self._password = password
        self._scrypt_n = scrypt_n
        self._timeout = timeout
        self._signers: dict[str, LocalAccount] = {}
        self._lock = threading.Lock()

    # -- accounts ------------------------------------------------------------------------
    def _keystore(self, department_id: str) -> Path:
        return self._dir / f"{department_id}.json"

    def _signer(self, department_id: str) -> LocalAccount:
        with self._lock:
            signer = self._signers.get(department_id)
            if signer is None:
                try:
                    signer = load_account(self._keystore(department_id), password=self._password)
                except LedgerError as exc:
                    raise Conflict("this department has no usable chain account; ask the "
                                   "system administrator to provision it") from exc
                self._signers[department_id] = signer
            return signer

    def ensure_department(self, department_id: str, department_hash: bytes) -> str:
        """Create the department's keystore if missing, register and fund it; its address.

        Idempotent: an account already registered is left as it is. Raises ChainUnavailable.
        """
        path = self._keystore(department_id)
        with self._lock:
            if path.exists():
                address = keystore_address(path)
            else:
                address = create_keystore(path, password=self._password,
                                          scrypt_n=self._scrypt_n)
        registered = self._read(lambda: self._contract.functions.departmentOf(address).call(),
                                "read departmentOf")
        if bytes(registered) == b"\x00" * 32:
            if self._admin is None:
                raise Conflict(f"department account {address} is not registered on the chain "
                               "and this service has no admin key to register it")
            self._send(self._admin, self._contract.functions.registerDepartment(
                address, department_hash), f"register department {department_id}")
        if self._admin is not None and self._read(
                lambda: self._w3.eth.gas_price, "read the gas price") > 0:
            balance = self._read(lambda: self._w3.eth.get_balance(address), "read a balance")
            if balance < _FUNDING_WEI // 10:
                self._fund(address)
        _logger.info("department %s signs as %s", department_id, address)
        return str(address)

    def _fund(self, address: str) -> None:
        admin = self._admin
        assert admin is not None

        def send() -> Any:
            sender = admin.address
            tx = {"from": sender, "to": address, "value": _FUNDING_WEI, "gas": 21000,
                  "gasPrice": self._w3.eth.gas_price, "chainId": self._w3.eth.chain_id,
                  "nonce": self._w3.eth.get_transaction_count(sender, "pending")}
            signed = admin.sign_transaction(tx)  # type: ignore[arg-type]
            tx_hash = self._w3.eth.send_raw_transaction(signed.raw_transaction)
            return self._w3.eth.wait_for_transaction_receipt(tx_hash, timeout=self._timeout)
        self._read(send, "fund a department account")

    # -- transfer steps ------------------------------------------------------------------
    def open_transfer(self, *, department_id: str, transfer_id: bytes, case_hash: bytes,
                      manifest_root: bytes, to_address: str) -> ChainReceipt:
        """``openTransfer`` signed by the sending department. Raises Conflict on revert."""
        call = self._contract.functions.openTransfer(
            transfer_id, case_hash, manifest_root, Web3.to_checksum_address(to_address))
        return self._send(self._signer(department_id), call, "open a transfer")

    def accept_transfer(self, *, department_id: str, transfer_id: bytes) -> ChainReceipt:
        """``acceptTransfer`` signed by the receiving department. Raises Conflict on revert."""
        return self._send(self._signer(department_id),
                          self._contract.functions.acceptTransfer(transfer_id),
                          "accept a transfer")

    def reject_transfer(self, *, department_id: str, transfer_id: bytes,
                        reason_hash: bytes) -> ChainReceipt:
        """``rejectTransfer`` signed by the receiving department. Raises Conflict on revert."""
        return self._send(self._signer(department_id),
                          self._contract.functions.rejectTransfer(transfer_id, reason_hash),
                          "reject a transfer")

    def transfer_of(self, transfer_id: bytes) -> OnChainTransfer | None:
        """The transfer as the registry records it, or None if it was never opened."""
        fields = self._read(lambda: self._contract.functions.transferOf(transfer_id).call(),
                            "read transferOf")
        case_hash, root, sender, receiver, status, opened, closed, reason = fields
        if status == 0:
            return None
        return OnChainTransfer(case_hash=bytes(case_hash), manifest_root=bytes(root),
                               from_address=str(sender), to_address=str(receiver),
                               status=_STATUS[int(status)], opened_at=int(opened),
                               closed_at=int(closed), reason_hash=bytes(reason))

    # -- plumbing ------------------------------------------------------------------------
    def _read(self, fn: Any, what: str) -> Any:
        try:
            return fn()
        except (OSError, Web3Exception) as exc:
            raise ChainUnavailable(f"chain node failed to {what}: {type(exc).__name__}") from exc

    def _send(self, signer: LocalAccount, call: Any, what: str) -> ChainReceipt:
        try:
            with self._lock:
                tx = call.build_transaction({
                    "from": signer.address,
                    "nonce": self._w3.eth.get_transaction_count(signer.address, "pending")})
                signed = signer.sign_transaction(tx)
                tx_hash = self._w3.eth.send_raw_transaction(signed.raw_transaction)
            receipt = self._w3.eth.wait_for_transaction_receipt(tx_hash, timeout=self._timeout)
        except (ContractCustomError, ContractLogicError) as exc:
            raise Conflict(f"the registry refused to {what}: {self._revert_name(exc)}") from exc
        except (OSError, Web3Exception) as exc:
            raise ChainUnavailable(f"chain node failed to {what}: {type(exc).__name__}") from exc
        if receipt["status"] != 1:
            raise Conflict(f"the registry refused to {what} "
                           f"(tx {receipt['transactionHash'].to_0x_hex()})")
        block = self._read(lambda: self._w3.eth.get_block(receipt["blockNumber"]), "read a block")
        result = ChainReceipt(tx_hash=receipt["transactionHash"].to_0x_hex(),
                              block_number=int(receipt["blockNumber"]),
                              block_time=datetime.fromtimestamp(block["timestamp"], UTC))
        _logger.info("%s: tx_hash=%s block=%d", what, result.tx_hash, result.block_number)
        return result

    def _revert_name(self, exc: Exception) -> str:
        data = getattr(exc, "data", None)
        if isinstance(data, str) and len(data) >= 10:
            return self._errors.get(data[:10].lower(), "unknown error")
        return str(getattr(exc, "message", None) or "reverted")
