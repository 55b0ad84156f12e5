"""Fixtures: throwaway anvil nodes (chain 31337, and chain 1337 for cross-chain checks) and a
fresh registry per test, built with tests/support/anvil.py."""

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

OTHER_CHAIN_ID = 1337


@pytest.fixture(scope="session")
def anvil_node(pytestconfig: pytest.Config) -> Iterator[AnvilNode]:
    """A throwaway anvil (chain 31337, free port, fixed mnemonic, automine)."""
    with running_node(node_config(require_anvil(pytestconfig))) as node:
        yield node


@pytest.fixture(scope="session")
def other_chain_node(pytestconfig: pytest.Config) -> Iterator[AnvilNode]:
    """A second throwaway anvil with chain id 1337 (same mnemonic, so same addresses)."""
    config = node_config(require_anvil(pytestconfig), chain_id=OTHER_CHAIN_ID)
    with running_node(config) as node:
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
    """A freshly deployed registry: ``accounts.anchorer`` holds ANCHOR_ROLE."""
    return deploy(w3, accounts)[1]
