"""The chain node is down for 60 s while uploads go on.

``evidence serve`` runs in ``external`` ledger mode against an anvil node the test owns
(state persisted to disk, fixed port). For the first ``HUNG_SECONDS`` of the outage the node
hangs (SIGSTOP: connections are accepted by the kernel, nothing answers); then it is stopped
(SIGCONT + SIGTERM: it writes its state and exits), kept down for the rest of the 60 s while
uploads continue, and started again on the same state and port.

Afterwards the whole log must be anchored, every head exactly once: the registry's
``Anchored`` events and the service's ``anchors`` table name the same, strictly growing tree
sizes, and every item is covered (``anchored``).
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psutil
import pytest
import requests
from web3 import Web3

from ledger_node import AnvilNode, registry_contract
from tests.faults.common import Client, query, registrations, wait_until
from tests.faults.conftest import FaultReport
from tests.support.anvil import (
    Accounts,
    connect,
    deploy,
    external_ledger_env,
    node_config,
    require_anvil,
)
from tests.support.live import LiveServer, free_port

pytestmark = [pytest.mark.ledger, pytest.mark.slow, pytest.mark.faults]
#: The outage the issue asks for.
OUTAGE_SECONDS = 60.0
HUNG_SECONDS = 15.0


@dataclass
class Chain:
    node: AnvilNode
    address: str

    @property
    def w3(self) -> Web3:
        return connect(self.node)

    def anchored_sizes(self) -> list[int]:
        """Tree sizes of every ``Anchored`` event the registry emitted, in chain order."""
        registry = registry_contract(self.w3, Web3.to_checksum_address(self.address))
        events = registry.events.Anchored().get_logs(from_block=0)
        return [int(e["args"]["treeSize"]) for e in events]


@pytest.fixture
def chain(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Chain]:
    binary = require_anvil(request.config)
    config = node_config(binary, state_dir=tmp_path / "chain", port=free_port())
    node = AnvilNode(config)
    node.start()
    try:
        record, _ = deploy(connect(node), Accounts.dev())
        yield Chain(node=node, address=record.address)
    finally:
        node.stop()


@pytest.fixture
def server(tmp_path: Path, chain: Chain) -> Iterator[LiveServer]:
    live = LiveServer(var_dir=tmp_path / "var", env={
        **external_ledger_env(chain.node.rpc_url, chain.address, tmp_path),
        "EVIDENCE_ANCHOR_INTERVAL": "0.5", "EVIDENCE_ANALYSIS__ENABLED": "false"})
    live.start()
    yield live
    live.stop()


def _anchored(client: Client) -> int:
    return int((client.log_head()["anchored"] or {}).get("tree_size", 0))


def test_chain_down_60s_while_uploading_every_item_anchored_once(
        server: LiveServer, chain: Chain, fault_report: FaultReport) -> None:
    client = Client(server)
    case_id = client.case("ENF-2026-CHAIN")
    uploaded: list[str] = []
    failures: list[str] = []
    stop = threading.Event()

    def uploads() -> None:
        n = 0
        while not stop.is_set():
            n += 1
            try:
                uploaded.append(client.upload(case_id, os.urandom(32 * 1024) + bytes([n % 256]),
                                              name=f"photo-{n}.jpg"))
            except (AssertionError, requests.RequestException) as exc:
                failures.append(str(exc)[:300])
            stop.wait(0.5)

    runner = threading.Thread(target=uploads, daemon=True)
    runner.start()
    try:
        wait_until(lambda: _anchored(client) > 0, timeout=20, what="a first anchor")
        before_outage = len(uploaded)
        block_before = chain.w3.eth.block_number
        node = psutil.Process(chain.node.pid)
        node.suspend()
        time.sleep(HUNG_SECONDS)
        node.resume()
        chain.node.stop()
        time.sleep(OUTAGE_SECONDS - HUNG_SECONDS)
        during_outage = len(uploaded) - before_outage
        pending = client.log_head()
        chain.node.start()  # same state file, same port
        restarted = time.monotonic()
        assert chain.w3.eth.block_number >= block_before, "the node lost its state"
        time.sleep(2)
    finally:
        stop.set()
        runner.join(30)
    assert not failures, failures
    assert during_outage > 0
    assert int((pending["anchored"] or {})["tree_size"]) < int(pending["log_size"])

    size = int(client.log_head()["log_size"])
    wait_until(lambda: _anchored(client) >= size, timeout=90, poll=0.2,
               what="anchoring the whole log")
    recovered_in = time.monotonic() - restarted
    assert recovered_in < 20, "anchoring lagged far behind the node's return"

    on_chain = chain.anchored_sizes()
    recorded = [int(s) for (s,) in query(server, "SELECT tree_size FROM anchors "
                                                 "ORDER BY tree_size")]
    assert on_chain == recorded, "chain and database disagree on the anchored heads"
    assert on_chain == sorted(set(on_chain)), f"a head was anchored twice: {on_chain}"
    assert on_chain[-1] == size
    registered = registrations(server)
    assert sorted(i for _, i, _ in registered) == sorted(uploaded)  # no leaf lost or doubled
    assert all(index < size for index, _, _ in registered)
    statuses = {i["id"]: i["status"] for i in client.items(case_id)}
    assert {statuses[i] for i in uploaded} == {"anchored"}
    fault_report.record(outage_s=OUTAGE_SECONDS, hung_s=HUNG_SECONDS,
                        uploads_during_outage=during_outage,
                        items=len(uploaded), anchors=len(on_chain),
                        whole_log_anchored_after_restart_s=recovered_in)
