"""Integration tests of ledger_node: anvil supervision, deployment, keystores, CLI."""
