"""``verify_bundle`` against a real anvil node with a real anchored root (step 5 of the spec)."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from web3 import Web3
from web3.contract import Contract

from evidence_verify import ChainMismatch, ChainUnavailable, verify_bundle
from evidence_verify.rpc import chain_id
from ledger_node import AnvilNode
from tests.integration.verify.conftest import OTHER_CHAIN_ID
from tests.support.anvil import Accounts, connect, deploy, mine
from tests.support.proof_bundles import (
    anchor_fields,
    bundle_for,
    canonical,
    leaf,
    mth,
    registration,
)

pytestmark = pytest.mark.ledger

REPO_ROOT = Path(__file__).resolve().parents[3]
CONTENTS = [f"bodycam {i}\n".encode() * 50 for i in range(5)]
ENTRIES = [canonical(registration(c, i)) for i, c in enumerate(CONTENTS)]
ROOT = mth([leaf(e) for e in ENTRIES])


@dataclass(frozen=True)
class AnchoredLog:
    """The 5-entry log, anchored as tree size 5 on ``registry``."""

    rpc_url: str
    anchor: dict[str, Any]
    registry: Contract

    def bundle(self, index: int = 3, entries: list[bytes] | None = None,
               **anchor_changes: Any) -> dict[str, Any]:
        return bundle_for(entries or ENTRIES, index, anchor={**self.anchor, **anchor_changes})


def anchor_root(w3: Web3, registry: Contract, accounts: Accounts, size: int,
                root: bytes) -> dict[str, Any]:
    """Anchor ``root`` as ``size``; the bundle's ``anchor`` object for it."""
    receipt = mine(w3, registry.functions.anchor(size, root), accounts.anchorer)
    block = w3.eth.get_block(receipt["blockNumber"])
    return anchor_fields(chain_id=w3.eth.chain_id, contract=registry.address,
                         tx_hash=Web3.to_hex(receipt["transactionHash"]),
                         block_number=receipt["blockNumber"], timestamp=block["timestamp"])


@pytest.fixture
def log(anvil_node: AnvilNode, w3: Web3, registry: Contract, accounts: Accounts) -> AnchoredLog:
    anchor = anchor_root(w3, registry, accounts, len(ENTRIES), ROOT)
    return AnchoredLog(rpc_url=anvil_node.rpc_url, anchor=anchor, registry=registry)


def test_anchored_bundle_verifies_on_chain(log: AnchoredLog, tmp_path: Path) -> None:
    evidence = tmp_path / "bodycam.mp4"
    evidence.write_bytes(CONTENTS[3])
    report = verify_bundle(log.bundle(), file=evidence, rpc_url=log.rpc_url)
    assert report.verdict == "verified"
    outcomes = {c.name: c.ok for c in report.checks}
    assert outcomes["Chain id"] is outcomes["On-chain root"] is True
    assert outcomes["Anchor transaction"] is True
    assert "On-chain root / 链上根哈希: OK" in report.render_text()


@pytest.mark.parametrize("index", range(5))
def test_every_entry_of_the_anchored_log(log: AnchoredLog, index: int) -> None:
    assert verify_bundle(log.bundle(index), rpc_url=log.rpc_url).verdict == "verified"


def test_cli_with_rpc(log: AnchoredLog, tmp_path: Path) -> None:
    path = tmp_path / "bundle.json"
    path.write_text(json.dumps(log.bundle()), encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "-m", "evidence_verify", "bundle", str(path), "--rpc", log.rpc_url],
        cwd=REPO_ROOT, capture_output=True, text=True, encoding="utf-8", timeout=60,
        check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Anchor transaction / 锚定交易: OK" in result.stdout


def test_bundle_claiming_another_chain_id(log: AnchoredLog) -> None:
    with pytest.raises(ChainMismatch, match="the RPC endpoint serves chain id 31337, but the "
                                            "bundle was anchored on chain id 1:"):
        verify_bundle(log.bundle(chain_id=1), rpc_url=log.rpc_url)


def test_same_registry_and_root_on_another_chain(
    log: AnchoredLog, other_chain_node: AnvilNode, accounts: Accounts
) -> None:
    other = connect(other_chain_node)
    other_registry = deploy(other, accounts)[1]
    anchor_root(other, other_registry, accounts, len(ENTRIES), ROOT)
    assert chain_id(other_chain_node.rpc_url) == OTHER_CHAIN_ID
    bundle = log.bundle(contract=other_registry.address)
    with pytest.raises(ChainMismatch, match=f"serves chain id {OTHER_CHAIN_ID}, but the bundle "
                                            f"was anchored on chain id 31337"):
        verify_bundle(bundle, rpc_url=other_chain_node.rpc_url)


def test_tree_size_never_anchored(log: AnchoredLog) -> None:
    longer = [*ENTRIES, canonical(registration(b"later", 5))]
    with pytest.raises(ChainMismatch, match="tree size 6 was never anchored on contract"):
        verify_bundle(log.bundle(entries=longer), rpc_url=log.rpc_url)


def test_another_root_anchored_for_that_size(log: AnchoredLog) -> None:
    rewritten = [canonical(registration(b"rewritten " + c, i)) for i, c in enumerate(CONTENTS)]
    with pytest.raises(ChainMismatch, match=r"anchored root .* for tree size 5, not the bundle's"):
        verify_bundle(log.bundle(entries=rewritten), rpc_url=log.rpc_url)


def test_wrong_block_number(log: AnchoredLog) -> None:
    block = log.anchor["block_number"]
    with pytest.raises(ChainMismatch, match=f"in block {block}, but the bundle says block 7"):
        verify_bundle(log.bundle(block_number=7), rpc_url=log.rpc_url)


def test_wrong_block_time(log: AnchoredLog) -> None:
    with pytest.raises(ChainMismatch, match="but the bundle says 2020-01-01T00:00:00Z"):
        verify_bundle(log.bundle(block_time="2020-01-01T00:00:00Z"), rpc_url=log.rpc_url)


def test_unknown_transaction(log: AnchoredLog) -> None:
    with pytest.raises(ChainMismatch, match=r"transaction 0xabab.* is not known on chain 31337"):
        verify_bundle(log.bundle(tx_hash="0x" + "ab" * 32), rpc_url=log.rpc_url)


def test_transaction_in_another_block(log: AnchoredLog, w3: Web3,
                                      accounts: Accounts) -> None:
    receipt = mine(w3, log.registry.functions.anchor(9, b"\x09" * 32), accounts.anchorer)
    bundle = log.bundle(tx_hash=Web3.to_hex(receipt["transactionHash"]))
    with pytest.raises(ChainMismatch, match=f"is in block {receipt['blockNumber']}, not in "
                                            f"block {log.anchor['block_number']}"):
        verify_bundle(bundle, rpc_url=log.rpc_url)


def test_failed_transaction(log: AnchoredLog, w3: Web3, accounts: Accounts) -> None:
    # an outsider's anchor reverts (no ANCHOR_ROLE); explicit gas skips estimation so it is mined
    tx = log.registry.functions.anchor(9, b"\x09" * 32).transact(
        {"from": accounts.outsider, "gas": 200_000})
    assert w3.eth.wait_for_transaction_receipt(tx, timeout=30)["status"] == 0
    with pytest.raises(ChainMismatch, match=r"failed \(status 0\)"):
        verify_bundle(log.bundle(tx_hash=Web3.to_hex(tx)), rpc_url=log.rpc_url)


def test_address_without_the_registry(log: AnchoredLog, accounts: Accounts) -> None:
    with pytest.raises(ChainMismatch, match="returned 0 bytes, not 96: is that the "
                                            "EvidenceRegistry on this chain"):
        verify_bundle(log.bundle(contract=accounts.outsider), rpc_url=log.rpc_url)


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_unreachable_node_fails_fast(log: AnchoredLog) -> None:
    started = time.monotonic()
    with pytest.raises(ChainUnavailable, match=r"eth_chainId at .*: node unreachable") as info:
        verify_bundle(log.bundle(), rpc_url=f"http://127.0.0.1:{_closed_port()}", timeout=2)
    assert time.monotonic() - started < 2
    assert info.value.report is not None
    assert info.value.report.checks[-1].name == "Chain id"
