"""Shared chain fixtures (a pytest plugin, loaded by tests/conftest.py).

One throwaway anvil for the whole session (free port, fixed mnemonic, automine, no state
file) and a freshly deployed registry per test. Tests that restart or break a node start
their own with ``tests.support.anvil.running_node``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from web3 import Web3
from web3.contract import Contract

from ledger_node import AnvilNode
from tests.support.anvil import (
    Accounts,
    connect,
    deploy,
    node_config,
    require_anvil,
    running_node,
)


@pytest.fixture(scope="session")
def anvil_binary(pytestconfig: pytest.Config) -> Path:
    """The anvil executable from ``npm ci`` (skip, or fail under CI, when missing)."""
    return require_anvil(pytestconfig)


@pytest.fixture(scope="session")
def anvil_node(anvil_binary: Path) -> Iterator[AnvilNode]:
    """The session's throwaway anvil (chain 31337)."""
    with running_node(node_config(anvil_binary)) as node:
        yield node


@pytest.fixture(scope="session")
def w3(anvil_node: AnvilNode) -> Web3:
    """A web3 client of ``anvil_node``."""
    return connect(anvil_node)


@pytest.fixture(scope="session")
def accounts() -> Accounts:
    """The named dev accounts."""
    return Accounts.dev()


@pytest.fixture
def registry(w3: Web3, accounts: Accounts) -> Contract:
    """A freshly deployed registry: ``accounts.admin`` is admin, ``accounts.anchorer`` anchors."""
    return deploy(w3, accounts)[1]
