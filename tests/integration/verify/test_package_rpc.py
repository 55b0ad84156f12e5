"""``verify_package`` with ``rpc_url`` against a real anvil node and a really anchored root."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from web3 import Web3
from web3.contract import Contract

from evidence_verify import verify_package
from ledger_node import AnvilNode
from tests.integration.verify.conftest import OTHER_CHAIN_ID
from tests.support.anvil import Accounts, mine
from tests.support.case_packages import PackageLog, item_id
from tests.support.proof_bundles import anchor_fields, leaf, mth

pytestmark = pytest.mark.ledger
REPO_ROOT = Path(__file__).resolve().parents[3]


def fill(log: PackageLog) -> PackageLog:
    log.add_item("clip.mp4", b"bodycam\n" * 400)
    log.add_item("photo.jpg", b"photo bytes")
    log.add_event("custody.viewed", 0, "viewed")
    return log


def anchor(w3: Web3, registry: Contract, accounts: Accounts, log: PackageLog,
           size: int) -> dict[str, Any]:
    """Anchor the root of the log's first ``size`` entries; its bundle ``anchor`` object."""
    root = mth([leaf(e) for e in log.entries[:size]])
    receipt = mine(w3, registry.functions.anchor(size, root), accounts.anchorer)
    block = w3.eth.get_block(receipt["blockNumber"])
    return anchor_fields(chain_id=w3.eth.chain_id, contract=registry.address,
                         tx_hash=Web3.to_hex(receipt["transactionHash"]),
                         block_number=receipt["blockNumber"], timestamp=block["timestamp"])


@pytest.fixture
def anchored(w3: Web3, registry: Contract, accounts: Accounts, tmp_path: Path) -> Path:
    log = fill(PackageLog())
    log.anchor = anchor(w3, registry, accounts, log, len(log.entries))
    path = tmp_path / "case.zip"
    log.write(path)
    return path


def test_package_verifies_on_chain(anchored: Path, anvil_node: AnvilNode) -> None:
    report = verify_package(anchored, rpc_url=anvil_node.rpc_url)
    assert report.verdict == "verified", report.render_text()
    proofs = [c for c in report.checks if c.name == "Proof"]
    assert len(proofs) == 3
    assert all("verified on chain 31337" in c.detail for c in proofs)
    assert not [c for c in report.checks if c.outcome == "not_checked"]


def test_cli_with_rpc(anchored: Path, anvil_node: AnvilNode) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "evidence_verify", "package", str(anchored), "--rpc",
         anvil_node.rpc_url], cwd=REPO_ROOT, capture_output=True, text=True, encoding="utf-8",
        timeout=60, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Verdict / 结论: VERIFIED" in result.stdout


def test_wrong_chain(anchored: Path, other_chain_node: AnvilNode) -> None:
    report = verify_package(anchored, rpc_url=other_chain_node.rpc_url)
    assert report.verdict == "failed"
    assert report.culprits == (item_id(0), item_id(1), "custody.events[0]")
    assert (f"the RPC endpoint serves chain id {OTHER_CHAIN_ID}, but the bundle was anchored "
            f"on chain id 31337") in report.failures[0].detail


def test_root_not_anchored(w3: Web3, registry: Contract, accounts: Accounts,
                           anvil_node: AnvilNode, tmp_path: Path) -> None:
    """The proofs claim tree size 3, but only size 2 was anchored on the registry."""
    log = fill(PackageLog())
    claimed = anchor(w3, registry, accounts, log, 2)
    log.anchor = claimed  # bundles say tree size 3 with the size-2 anchor's transaction
    path = tmp_path / "case.zip"
    log.write(path)
    report = verify_package(path, rpc_url=anvil_node.rpc_url)
    assert report.verdict == "failed"
    assert len(report.culprits) == 3
    assert "tree size 3 was never anchored on contract" in report.failures[0].detail


def test_unreachable_node_is_reported_not_failed(anchored: Path) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    report = verify_package(anchored, rpc_url=f"http://127.0.0.1:{port}", timeout=2)
    assert report.verdict == "unavailable"
    assert report.exit_code == 3
    assert not report.failures
    proofs = [c for c in report.checks if c.name == "Proof"]
    assert [c.outcome for c in proofs] == ["unavailable"] * 3
    assert all("node unreachable" in c.detail for c in proofs)
