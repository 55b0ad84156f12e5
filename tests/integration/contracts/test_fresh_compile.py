"""Recompiling the source with the pinned solc-js reproduces the committed artifact exactly."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from contracts import ARTIFACT_PATH, SOURCE_PATH, ContractBuildError, load_artifact
from contracts.build import build, compile_registry
from tests.support.anvil import require_solcjs

pytestmark = [pytest.mark.ledger, pytest.mark.slow]


@pytest.fixture(autouse=True)
def _solcjs(pytestconfig: pytest.Config) -> None:
    require_solcjs(pytestconfig)


def test_fresh_compile_matches_committed_artifact(tmp_path: Path) -> None:
    out = build(out=tmp_path / "EvidenceRegistry.json")

    fresh, committed = load_artifact(out), load_artifact()
    assert fresh.bytecode == committed.bytecode
    assert fresh.deployed_bytecode == committed.deployed_bytecode
    assert fresh.abi == committed.abi
    assert (fresh.solc_version, fresh.settings) == (committed.solc_version, committed.settings)
    # byte-identical file: stable key order and formatting, so a rebuild leaves no diff
    assert out.read_bytes() == ARTIFACT_PATH.read_bytes()


def test_source_edit_changes_hash_and_bytecode(tmp_path: Path) -> None:
    edited = tmp_path / "EvidenceRegistry.sol"
    edited.write_text(
        SOURCE_PATH.read_text().replace('keccak256("ANCHOR_ROLE")', 'keccak256("ANCHOR_ROLE_2")')
    )
    artifact = compile_registry(source_path=edited)
    committed = json.loads(ARTIFACT_PATH.read_text())
    assert artifact["source_sha256"] != committed["source_sha256"]
    assert artifact["deployedBytecode"] != committed["deployedBytecode"]


def test_compile_error_carries_solc_diagnostics(tmp_path: Path) -> None:
    broken = tmp_path / "EvidenceRegistry.sol"
    broken.write_text(SOURCE_PATH.read_text().replace("contract EvidenceRegistry", "contract {"))

    with pytest.raises(ContractBuildError, match="solc rejected the contract") as info:
        compile_registry(source_path=broken)
    assert "ParserError" in info.value.stderr_tail


def test_unresolvable_import_is_a_build_error(tmp_path: Path) -> None:
    source = tmp_path / "EvidenceRegistry.sol"
    source.write_text(SOURCE_PATH.read_text().replace(
        "@openzeppelin/contracts/access/AccessControl.sol", "@openzeppelin/nope/Missing.sol"
    ))
    with pytest.raises(ContractBuildError) as info:
        compile_registry(source_path=source)
    assert "@openzeppelin/nope/Missing.sol" in info.value.stderr_tail
