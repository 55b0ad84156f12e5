"""AnvilNode: free ports, supervision, graceful stop, and state that survives a restart."""

from __future__ import annotations

import logging
import os
import signal
import time
from pathlib import Path

import pytest

from ledger_node import (
    DEV_MNEMONIC,
    AnvilNode,
    NodeUnavailable,
    check_deployment,
    dev_account,
    rpc_chain_id,
)
from tests.support.anvil import (
    Accounts,
    connect,
    deploy,
    h,
    mine,
    node_config,
    reverts_with,
    running_node,
)

pytestmark = pytest.mark.ledger


def test_port_zero_picks_a_free_port_and_stops_cleanly(anvil_binary: Path) -> None:
    node = AnvilNode(node_config(anvil_binary))
    node.start()
    try:
        assert node.running
        assert node.port > 0
        assert rpc_chain_id(node.rpc_url) == 31337
    finally:
        code = node.stop()
    assert code == 0
    assert not node.running
    assert rpc_chain_id(node.rpc_url, timeout=0.5) is None


def test_two_nodes_run_side_by_side(anvil_binary: Path) -> None:
    with (
        running_node(node_config(anvil_binary)) as one,
        running_node(node_config(anvil_binary, chain_id=1337)) as two,
    ):
        assert one.port != two.port
        assert (rpc_chain_id(one.rpc_url), rpc_chain_id(two.rpc_url)) == (31337, 1337)


def test_dev_accounts_are_funded_and_unlocked(anvil_binary: Path) -> None:
    with running_node(node_config(anvil_binary, accounts=3)) as node:
        w3 = connect(node)
        expected = [dev_account(DEV_MNEMONIC, index=i).address for i in range(3)]
        assert list(w3.eth.accounts) == expected
        assert w3.eth.get_balance(expected[2]) > 0


def test_startup_output_with_keys_is_never_logged(
    anvil_binary: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="ledger_node")
    key = dev_account(DEV_MNEMONIC, index=0).key.hex().removeprefix("0x")
    with running_node(node_config(anvil_binary)) as node:
        tails = node.stderr_tail
    assert key not in caplog.text and key not in tails
    assert DEV_MNEMONIC not in caplog.text


def test_block_time_mines_empty_blocks(anvil_binary: Path) -> None:
    with running_node(node_config(anvil_binary, block_time=0.5)) as node:
        w3 = connect(node)
        start = w3.eth.block_number
        time.sleep(1.6)
        assert w3.eth.block_number >= start + 2


def test_restart_with_persisted_state_keeps_every_anchor(
    anvil_binary: Path, tmp_path: Path, accounts: Accounts
) -> None:
    config = node_config(anvil_binary, state_dir=tmp_path)
    with running_node(config) as node:
        w3 = connect(node)
        record, registry = deploy(w3, accounts)
        receipts = {
            size: mine(w3, registry.functions.anchor(size, h(f"root-{size}")), accounts.anchorer)
            for size in (3, 7)
        }
        before = {size: registry.functions.anchorOf(size).call() for size in receipts}
        head = w3.eth.block_number
    assert config.state_path is not None and config.state_path.stat().st_size > 0

    with running_node(config) as node:  # a new process on a new port, same state file
        w3 = connect(node)
        check_deployment(w3, record)
        registry = w3.eth.contract(address=registry.address, abi=registry.abi)
        assert w3.eth.block_number == head
        assert {size: registry.functions.anchorOf(size).call() for size in receipts} == before
        assert registry.functions.latestTreeSize().call() == 7
        logs = registry.events.Anchored().get_logs(from_block=0)
        assert [e["args"]["treeSize"] for e in logs] == [3, 7]
        assert [e["transactionHash"] for e in logs] == [
            r["transactionHash"] for r in receipts.values()
        ]
        with reverts_with("TreeSizeNotIncreasing(uint64,uint64)", 7, 7):
            registry.functions.anchor(7, h("again")).transact({"from": accounts.anchorer})
        mine(w3, registry.functions.anchor(8, h("root-8")), accounts.anchorer)


@pytest.mark.slow
def test_periodic_dump_survives_a_hard_kill(
    anvil_binary: Path, tmp_path: Path, accounts: Accounts
) -> None:
    config = node_config(anvil_binary, state_dir=tmp_path, state_interval=1)
    with running_node(config) as node:
        w3 = connect(node)
        record, registry = deploy(w3, accounts)
        mine(w3, registry.functions.anchor(5, h("root-5")), accounts.anchorer)
        time.sleep(2.5)  # at least one periodic dump after the anchor
        assert node.pid is not None
        os.kill(node.pid, signal.SIGKILL)
        deadline = time.monotonic() + 10
        while node.running and time.monotonic() < deadline:
            time.sleep(0.05)
        with pytest.raises(NodeUnavailable, match="exited with code"):
            node.ensure_running()

    with running_node(config) as node:
        w3 = connect(node)
        check_deployment(w3, record)
        registry = w3.eth.contract(address=registry.address, abi=registry.abi)
        assert registry.functions.anchorOf(5).call()[0] == h("root-5")


def test_early_exit_raises_node_unavailable_with_stderr_tail(
    anvil_binary: Path, tmp_path: Path
) -> None:
    config = node_config(anvil_binary, state_dir=tmp_path)
    assert config.state_path is not None
    config.state_path.write_text("this is not a state dump")
    node = AnvilNode(config)

    with pytest.raises(NodeUnavailable, match="exited with code") as info:
        node.start()
    assert "failed to parse json" in info.value.stderr_tail
    assert not node.running


def test_missing_binary_raises_node_unavailable(tmp_path: Path) -> None:
    config = node_config(tmp_path / "no-anvil-here")
    with pytest.raises(NodeUnavailable, match="cannot run anvil"):
        AnvilNode(config).start()


def test_port_in_use_raises_node_unavailable(anvil_node: AnvilNode, anvil_binary: Path) -> None:
    node = AnvilNode(node_config(anvil_binary, port=anvil_node.port, startup_timeout=10))
    with pytest.raises(NodeUnavailable, match="exited with code") as info:
        node.start()
    assert "Address already in use" in info.value.stderr_tail
    assert anvil_node.running


def test_ensure_running_before_start_raises(anvil_binary: Path) -> None:
    with pytest.raises(NodeUnavailable, match="not started"):
        AnvilNode(node_config(anvil_binary)).ensure_running()
