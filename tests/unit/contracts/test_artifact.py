"""The committed artifact: loads, matches the source hash, has the expected ABI, pins versions."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from contracts import ARTIFACT_PATH, SOURCE_PATH, ArtifactError, ContractBuildError, load_artifact
from contracts.build import SOLC_VERSION, compile_registry

REPO_ROOT = Path(__file__).resolve().parents[3]

FUNCTIONS = {
    "ANCHOR_ROLE", "DEPARTMENT_ROLE", "DEFAULT_ADMIN_ROLE",
    "anchor", "anchorOf", "latestTreeSize",
    "registerDepartment", "departmentOf",
    "openTransfer", "acceptTransfer", "rejectTransfer", "transferOf",
    "grantRole", "revokeRole", "renounceRole", "hasRole", "getRoleAdmin", "supportsInterface",
}  # fmt: skip
EVENTS = {
    "Anchored", "DepartmentRegistered", "TransferOpened", "TransferAccepted",
    "TransferRejected", "RoleGranted", "RoleRevoked", "RoleAdminChanged",
}  # fmt: skip
ERRORS = {
    "TreeSizeNotIncreasing", "ZeroHash", "ZeroAddress", "DepartmentAlreadyRegistered",
    "NotADepartment", "SelfTransfer", "TransferIdInUse", "TransferNotOpen",
    "NotTransferRecipient", "AccessControlUnauthorizedAccount", "AccessControlBadConfirmation",
}  # fmt: skip


def _entry(name: str) -> dict[str, Any]:
    (entry,) = [e for e in load_artifact().abi if e.get("name") == name]
    return entry


def test_artifact_loads_and_is_frozen() -> None:
    artifact = load_artifact()
    assert artifact.bytecode.startswith("0x") and artifact.deployed_bytecode.startswith("0x")
    # creation code = constructor + runtime code
    assert artifact.deployed_bytecode[2:] in artifact.bytecode
    with pytest.raises(ValidationError):
        artifact.bytecode = "0x00"  # type: ignore[misc]


def test_source_sha256_matches_the_solidity_file() -> None:
    expected = hashlib.sha256(SOURCE_PATH.read_bytes()).hexdigest()
    assert load_artifact().source_sha256 == expected, "run python -m contracts.build"


def test_abi_has_the_expected_functions_events_and_errors() -> None:
    artifact = load_artifact()
    assert artifact.names("function") == FUNCTIONS
    assert artifact.names("event") == EVENTS
    assert artifact.names("error") == ERRORS


def test_anchor_signatures() -> None:
    assert [i["type"] for i in _entry("anchor")["inputs"]] == ["uint64", "bytes32"]
    assert [(o["name"], o["type"]) for o in _entry("anchorOf")["outputs"]] == [
        ("root", "bytes32"), ("timestamp", "uint64"), ("blockNumber", "uint64")
    ]
    anchored = _entry("Anchored")["inputs"]
    assert [(i["name"], i["type"], i["indexed"]) for i in anchored] == [
        ("treeSize", "uint64", True), ("root", "bytes32", False), ("timestamp", "uint64", False)
    ]


def test_transfer_of_returns_fields_and_status_enum() -> None:
    outputs = _entry("transferOf")["outputs"]
    assert [o["name"] for o in outputs] == [
        "caseIdHash", "manifestRoot", "fromDepartment", "toDepartment",
        "status", "openedAt", "closedAt", "reasonHash",
    ]  # fmt: skip
    assert outputs[4]["type"] == "uint8"
    assert outputs[4]["internalType"] == "enum EvidenceRegistry.TransferStatus"


def test_compiler_and_settings_are_pinned() -> None:
    artifact = load_artifact()
    assert artifact.solc_version.startswith(f"{SOLC_VERSION}+commit.")
    assert artifact.settings["optimizer"] == {"enabled": True, "runs": 200}
    assert artifact.settings["evmVersion"] == "cancun"


def test_npm_versions_are_pinned_exactly() -> None:
    package = json.loads((REPO_ROOT / "package.json").read_text())
    deps = {**package["dependencies"], **package["optionalDependencies"]}
    assert deps["solc"] == SOLC_VERSION
    for name in ("solc", "@openzeppelin/contracts", "@foundry-rs/anvil-linux-amd64"):
        assert re.fullmatch(r"\d+\.\d+\.\d+", deps[name]), f"{name} not pinned exactly"


def test_source_pragma_and_license() -> None:
    source = SOURCE_PATH.read_text()
    assert source.startswith("// SPDX-License-Identifier: ")
    assert "pragma solidity ^0.8.24;" in source


def test_artifact_file_is_stable_json() -> None:
    text = ARTIFACT_PATH.read_text()
    assert text == json.dumps(json.loads(text), sort_keys=True, indent=2) + "\n"


def test_missing_artifact_is_an_artifact_error(tmp_path: Path) -> None:
    with pytest.raises(ArtifactError, match="no contract artifact"):
        load_artifact(tmp_path / "missing.json")


def test_malformed_artifact_is_an_artifact_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"abi": [], "bytecode": "not hex"}))
    with pytest.raises(ArtifactError, match="unreadable contract artifact"):
        load_artifact(bad)


def test_missing_compiler_is_a_build_error(tmp_path: Path) -> None:
    with pytest.raises(ContractBuildError, match="cannot run solc"):
        compile_registry(solc_binary=tmp_path / "no-such-solc")
