"""Fixtures: a second throwaway anvil with another chain id, for cross-chain checks.

The session's anvil, ``w3``, ``accounts`` and ``registry`` come from
tests/support/anvil_fixtures.py.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from ledger_node import AnvilNode
from tests.support.anvil import node_config, running_node

OTHER_CHAIN_ID = 1337


@pytest.fixture(scope="session")
def other_chain_node(anvil_binary: Path) -> Iterator[AnvilNode]:
    """A second throwaway anvil with chain id 1337 (same mnemonic, so same addresses)."""
    with running_node(node_config(anvil_binary, chain_id=OTHER_CHAIN_ID)) as node:
        yield node
