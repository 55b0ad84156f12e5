"""Fixtures: one throwaway anvil for this folder and a fresh registry per test."""

from __future__ import annotations

from collections.abc import Iterator

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
def anvil_node(pytestconfig: pytest.Config) -> Iterator[AnvilNode]:
    """A throwaway anvil (free port, fixed mnemonic, automine, no state file)."""
    with running_node(node_config(require_anvil(pytestconfig))) as node:
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
