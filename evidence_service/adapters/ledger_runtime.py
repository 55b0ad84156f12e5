"""Start or connect to the chain the settings describe, and hand back a ``ChainAnchor``."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from web3 import Web3

from evidence_service.adapters.chain import ChainAnchor
from evidence_service.domain.errors import ChainUnavailable, InvalidInput
from ledger_node import (
    DEV_MNEMONIC,
    AnvilNode,
    LedgerError,
    NodeConfig,
    dev_account,
    load_account,
    load_or_deploy,
)

_logger = logging.getLogger(__name__)


@dataclass
class LedgerRuntime:
    """The chain binding, plus the local node when this process supervises one."""

    anchor: ChainAnchor
    node: AnvilNode | None = None

    def close(self) -> None:
        if self.node is not None:
            self.node.stop()


def start_embedded(*, ledger_dir: Path, port: int, block_time: float | None) -> LedgerRuntime:
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
    except LedgerError as exc:
        node.stop()
        raise ChainUnavailable(f"could not start the embedded chain node: {exc}") from exc
    except BaseException:
        node.stop()
        raise
    _logger.info("embedded chain %d at %s, registry %s", anchor.chain_id, node.rpc_url,
                 record.address)
    return LedgerRuntime(anchor=anchor, node=node)


def connect_external(*, rpc_url: str | None, contract_address: str | None,
                     chain_id: int | None, keystore: Path | None,
                     password: str | None) -> LedgerRuntime:
    """Bind to an existing network; the anchoring key comes from an encrypted keystore."""
    if not (rpc_url and contract_address and keystore and password):
        raise InvalidInput("external ledger mode needs EVIDENCE_LEDGER__RPC_URL, "
                           "__CONTRACT_ADDRESS, __KEYSTORE and __KEYSTORE_PASSWORD")
    try:
        signer = load_account(keystore, password=password)
    except LedgerError as exc:
        raise InvalidInput(f"cannot open the anchoring keystore: {exc}") from exc
    return LedgerRuntime(anchor=ChainAnchor(rpc_url=rpc_url, contract_address=contract_address,
                                            signer=signer, expected_chain_id=chain_id))
