"""The ``EvidenceRegistry`` Solidity contract, its compile step and its committed artifact.

Import from here only::

    from contracts import load_artifact
    artifact = load_artifact()
    w3.eth.contract(abi=artifact.abi, bytecode=artifact.bytecode)

The artifact is rebuilt with ``python -m contracts.build`` (needs node and ``npm ci``).
"""

from __future__ import annotations

from contracts.artifact import ARTIFACT_PATH, SOURCE_PATH, Artifact, load_artifact
from contracts.errors import ArtifactError, ContractBuildError, ContractsError

__all__ = [
    "ARTIFACT_PATH",
    "SOURCE_PATH",
    "Artifact",
    "ArtifactError",
    "ContractBuildError",
    "ContractsError",
    "load_artifact",
]
