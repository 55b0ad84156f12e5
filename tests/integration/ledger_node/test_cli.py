"""``python -m ledger_node deploy|status`` against a throwaway node."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ledger_node import AnvilNode, DeploymentRecord, get_settings
from ledger_node.cli import app

pytestmark = pytest.mark.ledger


@pytest.fixture
def ledger_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Path]:
    """``LEDGER_STATE_DIR`` in a temp dir; the cached settings are reset around the test."""
    monkeypatch.setenv("LEDGER_STATE_DIR", str(tmp_path))
    get_settings.cache_clear()
    yield tmp_path
    get_settings.cache_clear()


def test_deploy_then_status(
    anvil_node: AnvilNode, ledger_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LEDGER_RPC_URL", anvil_node.rpc_url)
    runner = CliRunner()

    deployed = runner.invoke(app, ["deploy"])
    assert deployed.exit_code == 0, deployed.output
    record = DeploymentRecord.load(ledger_env / "deployment.json")
    assert f"registry at {record.address}" in deployed.output

    status = runner.invoke(app, ["status"])
    assert status.exit_code == 0, status.output
    assert f"registry {record.address}: code matches, latest tree size 0" in status.output


def test_status_without_node_fails_plainly(
    ledger_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LEDGER_RPC_URL", "http://127.0.0.1:9")
    result = CliRunner().invoke(app, ["status"])
    assert result.exit_code == 1
    assert "error: no node answers at http://127.0.0.1:9" in result.output
    assert "Traceback" not in result.output


def test_dev_mnemonic_is_refused_off_the_dev_chain(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LEDGER_CHAIN_ID", "1337")
    get_settings.cache_clear()
    try:
        with pytest.raises(ValueError, match="public development mnemonic"):
            get_settings()
    finally:
        get_settings.cache_clear()
