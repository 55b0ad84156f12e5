"""web3 binding of the ``LedgerAnchor`` port to the EvidenceRegistry contract."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from eth_account.signers.local import LocalAccount
from web3 import Web3
from web3.exceptions import Web3Exception

from contracts import load_artifact
from evidence_service.domain.errors import ChainUnavailable, Conflict
from evidence_service.ports import AnchoredHead

_logger = logging.getLogger(__name__)
_LOG_CHUNK_BLOCKS = 10_000


@dataclass(frozen=True)
class ChainReceipt:
    tx_hash: str
    block_number: int
    block_time: datetime


class ChainAnchor:
    """Publishes tree heads with the anchoring account's key and reads them back."""

    def __init__(self, *, rpc_url: str, contract_address: str, signer: LocalAccount | None,
                 expected_chain_id: int | None = None, timeout: float = 30.0) -> None:
        """Bind to the registry at ``contract_address``; ``signer`` None makes it read-only.

        Raises ChainUnavailable when the node does not answer, Conflict for another chain id
        or other code at the address.
        """
        self._w3 = Web3(Web3.HTTPProvider(rpc_url, request_kwargs={"timeout": 10}))
        self._signer = signer
        self._timeout = timeout
        self.contract_address: str = Web3.to_checksum_address(contract_address)
        artifact = load_artifact()
        self._contract = self._w3.eth.contract(address=self.contract_address, abi=artifact.abi)
        chain_id = self._call(lambda: self._w3.eth.chain_id, "read the chain id")
        if expected_chain_id is not None and chain_id != expected_chain_id:
            raise Conflict(f"node at {rpc_url} is chain {chain_id}, expected {expected_chain_id}")
        self.chain_id = int(chain_id)
        code = self._call(lambda: self._w3.eth.get_code(self.contract_address), "read code")
        if "0x" + bytes(code).hex() != artifact.deployed_bytecode:
            raise Conflict(f"the code at {self.contract_address} on chain {self.chain_id} is not "
                           "this EvidenceRegistry build: refusing to anchor there")

    def _call(self, fn: Any, what: str) -> Any:
        try:
            return fn()
        except (OSError, Web3Exception) as exc:
            raise ChainUnavailable(f"chain node failed to {what}: {exc}") from exc

    def publish(self, tree_size: int, root: bytes) -> ChainReceipt:
        """Send ``anchor(tree_size, root)`` and wait for the receipt; ChainUnavailable if down."""
        signer = self._signer
        if signer is None:
            raise Conflict("this chain binding is read-only: it has no anchoring key")

        def send() -> Any:
            address = signer.address
            tx = self._contract.functions.anchor(tree_size, root).build_transaction({
                "from": address, "nonce": self._w3.eth.get_transaction_count(address, "pending")})
            signed = signer.sign_transaction(tx)  # type: ignore[arg-type]
            tx_hash = self._w3.eth.send_raw_transaction(signed.raw_transaction)
            return self._w3.eth.wait_for_transaction_receipt(tx_hash, timeout=self._timeout)

        receipt = self._call(send, f"anchor tree size {tree_size}")
        if receipt["status"] != 1:
            raise Conflict(f"anchor({tree_size}) reverted in tx "
                           f"{receipt['transactionHash'].to_0x_hex()}")
        block = self._call(lambda: self._w3.eth.get_block(receipt["blockNumber"]), "read a block")
        result = ChainReceipt(tx_hash=receipt["transactionHash"].to_0x_hex(),
                              block_number=int(receipt["blockNumber"]),
                              block_time=datetime.fromtimestamp(block["timestamp"], UTC))
        _logger.info("anchored tree_size=%d tx_hash=%s block=%d", tree_size, result.tx_hash,
                     result.block_number)
        return result

    def latest_tree_size(self) -> int:
        """The largest tree size anchored on-chain (0 if none)."""
        return int(self._call(lambda: self._contract.functions.latestTreeSize().call(),
                              "read latestTreeSize"))

    def anchored(self, tree_size: int) -> tuple[bytes, ChainReceipt] | None:
        """Root and transaction facts of an on-chain head, or None if never anchored."""
        root, timestamp, block_number = self._call(
            lambda: self._contract.functions.anchorOf(tree_size).call(), "read anchorOf")
        if block_number == 0:
            return None
        logs = self._call(lambda: self._contract.events.Anchored().get_logs(
            from_block=block_number, to_block=block_number,
            argument_filters={"treeSize": tree_size}), "read Anchored events")
        if not logs:
            raise Conflict(f"anchorOf({tree_size}) names block {block_number} but that block "
                           "has no Anchored event for it")
        tx_hash = logs[0]["transactionHash"].to_0x_hex()
        return bytes(root), ChainReceipt(tx_hash=tx_hash, block_number=int(block_number),
                                         block_time=datetime.fromtimestamp(timestamp, UTC))

    def anchored_root(self, tree_size: int) -> bytes | None:
        """The root ``anchorOf(tree_size)`` returns, or None if that size was never anchored."""
        root, _timestamp, block_number = self._call(
            lambda: self._contract.functions.anchorOf(tree_size).call(), "read anchorOf")
        return bytes(root) if block_number else None

    def anchored_heads(self, *, from_block: int = 0,
                       chunk: int = _LOG_CHUNK_BLOCKS) -> list[AnchoredHead]:
        """Every head the registry's ``Anchored`` events record, by tree size.

        Reads the events in ranges of ``chunk`` blocks (nodes cap ``eth_getLogs`` ranges).
        Raises ChainUnavailable.
        """
        latest = int(self._call(lambda: self._w3.eth.block_number, "read the block number"))
        heads: list[AnchoredHead] = []
        start = from_block
        while start <= latest:
            stop = min(latest, start + chunk - 1)
            logs = self._call(lambda a=start, b=stop: self._contract.events.Anchored().get_logs(
                from_block=a, to_block=b), f"read Anchored events of blocks {start}-{stop}")
            heads.extend(AnchoredHead(
                tree_size=int(log["args"]["treeSize"]), root=bytes(log["args"]["root"]),
                tx_hash=log["transactionHash"].to_0x_hex(),
                block_number=int(log["blockNumber"]),
                block_time=datetime.fromtimestamp(int(log["args"]["timestamp"]), UTC))
                for log in logs)
            start = stop + 1
        return sorted(heads, key=lambda head: head.tree_size)
