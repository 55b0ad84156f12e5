"""The compiled registry artifact (``artifacts/EvidenceRegistry.json``) as a frozen value."""

from __future__ import annotations

import hashlib
import json
import logging
from functools import lru_cache
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from contracts.errors import ArtifactError

_logger = logging.getLogger(__name__)

PACKAGE_DIR = Path(__file__).resolve().parent
SOURCE_PATH = PACKAGE_DIR / "src" / "EvidenceRegistry.sol"
ARTIFACT_PATH = PACKAGE_DIR / "artifacts" / "EvidenceRegistry.json"

_HEX = r"^0x([0-9a-f]{2})+$"


class Artifact(BaseModel):
    """ABI, bytecode and provenance of the compiled ``EvidenceRegistry`` contract.

    ``bytecode`` is the creation code and ``deployed_bytecode`` the runtime code, both
    ``0x``-prefixed lower-case hex. The contract has no immutables, so the runtime code on
    chain equals ``deployed_bytecode`` byte for byte.
    """

    model_config = ConfigDict(frozen=True, populate_by_name=True, extra="forbid")

    abi: tuple[dict[str, Any], ...]
    bytecode: str = Field(pattern=_HEX)
    deployed_bytecode: str = Field(alias="deployedBytecode", pattern=_HEX)
    solc_version: str
    source_sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    settings: dict[str, Any]

    @property
    def deployed_bytecode_sha256(self) -> str:
        """Hex SHA-256 of the runtime code bytes (what ``eth_getCode`` returns)."""
        return hashlib.sha256(bytes.fromhex(self.deployed_bytecode[2:])).hexdigest()

    def names(self, kind: str) -> frozenset[str]:
        """Names of the ABI entries of ``kind`` (``"function"``, ``"event"``, ``"error"``)."""
        return frozenset(e["name"] for e in self.abi if e.get("type") == kind)


def load_artifact(path: Path | None = None) -> Artifact:
    """Read and validate the artifact at ``path`` (default: the committed one).

    Results are cached per path and modification time. Raises ArtifactError when the file is
    missing or malformed.
    """
    resolved = Path(path or ARTIFACT_PATH).resolve()
    try:
        mtime_ns = resolved.stat().st_mtime_ns
    except OSError:
        mtime_ns = 0  # _load reports the missing file
    return _load(resolved, mtime_ns)


@lru_cache(maxsize=8)
def _load(path: Path, mtime_ns: int) -> Artifact:
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        artifact = Artifact.model_validate(raw)
    except FileNotFoundError as exc:
        hint = "run `python -m contracts.build`"
        raise ArtifactError(f"no contract artifact at {path}: {hint}") from exc
    except (OSError, ValueError, ValidationError) as exc:
        raise ArtifactError(f"unreadable contract artifact {path}: {exc}") from exc
    _logger.debug("loaded contract artifact %s (solc %s)", path, artifact.solc_version)
    return artifact
