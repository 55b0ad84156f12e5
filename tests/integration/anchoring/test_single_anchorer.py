"""Two real API processes on one PostgreSQL and one chain: exactly one of them anchors.

Both run in ``external`` ledger mode against the same anvil and registry, with the anchoring
key in an encrypted keystore. The leader holds a PostgreSQL advisory lock; when it is killed,
the other process takes over and nothing is anchored twice (the contract would refuse it).
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from ledger_node import dev_account
from tests.support.anvil import (
    MNEMONIC,
    Accounts,
    connect,
    deploy,
    external_ledger_env,
    node_config,
    require_anvil,
    running_node,
)
from tests.support.api import encode_metadata
from tests.support.live import LiveServer

pytestmark = [pytest.mark.db, pytest.mark.ledger, pytest.mark.slow]
_ANCHORED = re.compile(r"head (\d+) anchored in block")


@pytest.fixture
def two_servers(request: pytest.FixtureRequest, tmp_path: Path,
                own_pg_database: str) -> Iterator[tuple[LiveServer, LiveServer]]:
    binary = require_anvil(request.config)
    with running_node(node_config(binary)) as node:
        record, _ = deploy(connect(node), Accounts.dev())
        env = {"EVIDENCE_DATABASE_URL": own_pg_database,
               **external_ledger_env(node.rpc_url, record.address, tmp_path),
               "EVIDENCE_JWT_SECRET": "shared-secret-" + "x" * 32,
               "EVIDENCE_OBJECTS_DIR": str(tmp_path / "objects"),
               "EVIDENCE_ANCHOR_INTERVAL": "0.3"}
        first = LiveServer(var_dir=tmp_path / "a" / "var", env=env)
        first.start()
        second = LiveServer(var_dir=tmp_path / "b" / "var", env=env)
        second.start()
        try:
            yield first, second
        finally:
            first.stop()
            second.stop()


def _anchored_sizes(server: LiveServer) -> list[int]:
    return [int(m) for m in _ANCHORED.findall(server.log_tail(10**7))]


def _anchored_size(server: LiveServer) -> int:
    head = requests.get(server.url + "/log/head", timeout=5).json()
    return int(head["anchored"]["tree_size"]) if head["anchored"] else 0


def _upload(server: LiveServer, token: str, case_id: str, data: bytes) -> None:
    auth = {"Authorization": f"Bearer {token}", "Tus-Resumable": "1.0.0"}
    r = requests.post(server.url + "/uploads", timeout=10, headers={
        **auth, "Upload-Length": str(len(data)), "Upload-Metadata": encode_metadata(
            {"case_id": case_id, "filename": "a.jpg", "kind": "audio_visual"})})
    assert r.status_code == 201, r.text
    r = requests.patch(server.url + r.headers["Location"], data=data, timeout=10, headers={
        **auth, "Upload-Offset": "0", "Content-Type": "application/offset+octet-stream"})
    assert r.status_code == 204, r.text


def test_exactly_one_process_anchors_and_the_other_takes_over(
        two_servers: tuple[LiveServer, LiveServer]) -> None:
    first, second = two_servers
    creds_file = first.var_dir / "demo-credentials.txt"
    assert creds_file.exists() and not (second.var_dir / "demo-credentials.txt").exists()
    token = first.token("enf-officer")
    case_id = requests.post(first.url + "/cases", json={"case_number": "C-1", "title": "t"},
                            headers={"Authorization": f"Bearer {token}"}, timeout=10).json()["id"]
    for i in range(6):  # uploads through both processes
        _upload(first if i % 2 else second, token, case_id, os.urandom(1000 + i))
        time.sleep(0.2)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and _anchored_size(first) < 6:
        time.sleep(0.2)
    a, b = _anchored_sizes(first), _anchored_sizes(second)
    assert bool(a) != bool(b), f"both or neither anchored: {a} / {b}"
    leader, follower = (first, second) if a else (second, first)

    leader.kill()
    _upload(follower, token, case_id, os.urandom(4321))
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and not _anchored_sizes(follower):
        time.sleep(0.2)
    taken_over = _anchored_sizes(follower)
    assert taken_over and taken_over[-1] == 7
    every = _anchored_sizes(leader) + taken_over
    assert len(every) == len(set(every)) and every == sorted(every)


def test_refuses_an_address_without_the_registry_code(request: pytest.FixtureRequest,
                                                      tmp_path: Path) -> None:
    from evidence_service.adapters.chain import ChainAnchor
    from evidence_service.domain.errors import Conflict

    binary = require_anvil(request.config)
    with running_node(node_config(binary)) as node:
        record, _ = deploy(connect(node), Accounts.dev())
        signer = dev_account(MNEMONIC, index=1)
        ChainAnchor(rpc_url=node.rpc_url, contract_address=record.address, signer=signer)
        with pytest.raises(Conflict, match="not this EvidenceRegistry build"):
            ChainAnchor(rpc_url=node.rpc_url, contract_address=Accounts.dev().outsider,
                        signer=signer)
        with pytest.raises(Conflict, match="is chain 31337, expected 1"):
            ChainAnchor(rpc_url=node.rpc_url, contract_address=record.address, signer=signer,
                        expected_chain_id=1)
