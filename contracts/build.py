"""Compile ``src/EvidenceRegistry.sol`` with a pinned solc and write the committed artifact.

No native solc can be downloaded here, so py-solc-x drives ``solcjs_wrapper.js``: a small node
script around the official solc-js build (npm ``solc``, pinned in ``package.json``) that
answers ``--version`` and ``--standard-json`` like the native binary and resolves
``@openzeppelin/...`` imports from ``node_modules``.

Run ``python -m contracts.build`` after changing the source, then commit the artifact.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import subprocess
import tempfile
from pathlib import Path
from typing import Annotated, Any

import solcx
import typer
from solcx.exceptions import SolcError

from contracts.artifact import ARTIFACT_PATH, PACKAGE_DIR, SOURCE_PATH
from contracts.errors import ContractBuildError

_logger = logging.getLogger(__name__)

#: Exact compiler release; must equal the ``solc`` version pinned in ``package.json``.
SOLC_VERSION = "0.8.37"
#: Cancun: supported by anvil and by Besu, so one artifact serves development and production.
EVM_VERSION = "cancun"
CONTRACT_NAME = "EvidenceRegistry"
WRAPPER_PATH = PACKAGE_DIR / "solcjs_wrapper.js"

_SOURCE_UNIT = "src/EvidenceRegistry.sol"
_TAIL_CHARS = 4000
_OUTPUTS = [
    "abi",
    "evm.bytecode.object",
    "evm.deployedBytecode.object",
    "evm.deployedBytecode.immutableReferences",
]


def compiler_settings() -> dict[str, Any]:
    """The fixed solc settings (recorded in the artifact; they change the bytecode)."""
    return {
        "evmVersion": EVM_VERSION,
        "metadata": {"bytecodeHash": "ipfs"},
        "optimizer": {"enabled": True, "runs": 200},
    }


def _tail(text: str) -> str:
    return text[-_TAIL_CHARS:].strip()


def _check_compiler(solc_binary: Path) -> str:
    try:
        version = solcx.wrapper.get_solc_version(solc_binary, with_commit_hash=True)
    except (OSError, subprocess.CalledProcessError, SolcError) as exc:
        detail = getattr(exc, "stderr", None) or getattr(exc, "output", None) or str(exc)
        raise ContractBuildError(
            f"cannot run solc at {solc_binary} (is node installed and `npm ci` done?)",
            stderr_tail=_tail(detail if isinstance(detail, str) else repr(detail)),
        ) from exc
    if version.base_version != SOLC_VERSION:
        raise ContractBuildError(f"solc {version} found, {SOLC_VERSION} pinned")
    return str(version)


def _compile(source: str, solc_binary: Path) -> dict[str, Any]:
    input_data = {
        "language": "Solidity",
        "sources": {_SOURCE_UNIT: {"content": source}},
        "settings": {
            **compiler_settings(),
            "outputSelection": {_SOURCE_UNIT: {CONTRACT_NAME: _OUTPUTS}},
        },
    }
    try:
        output: dict[str, Any] = solcx.compile_standard(
            input_data, base_path=PACKAGE_DIR, solc_binary=solc_binary
        )
    except SolcError as exc:
        detail = exc.stderr_data or exc.message
        raise ContractBuildError("solc rejected the contract", stderr_tail=_tail(detail)) from exc
    except (OSError, ValueError) as exc:  # wrapper failed to start or printed no JSON
        raise ContractBuildError("solc did not run", stderr_tail=_tail(str(exc))) from exc
    for diagnostic in output.get("errors", []):
        _logger.warning("solc: %s", diagnostic.get("formattedMessage", diagnostic))
    return output


def compile_registry(
    *, solc_binary: Path = WRAPPER_PATH, source_path: Path = SOURCE_PATH
) -> dict[str, Any]:
    """Compile the registry and return the artifact as a plain dict.

    Raises ContractBuildError when solc cannot run, is not ``SOLC_VERSION``, rejects the
    source, or when the contract gained immutables (the deployment check compares runtime
    code byte for byte, which immutables would break).
    """
    source_bytes = source_path.read_bytes()
    solc_version = _check_compiler(solc_binary)
    output = _compile(source_bytes.decode("utf-8"), solc_binary)
    try:
        contract = output["contracts"][_SOURCE_UNIT][CONTRACT_NAME]
    except KeyError as exc:
        raise ContractBuildError(f"solc produced no {CONTRACT_NAME}") from exc
    if contract["evm"]["deployedBytecode"].get("immutableReferences"):
        raise ContractBuildError(
            f"{CONTRACT_NAME} has immutables: extend the artifact and the deployment check"
        )
    return {
        "abi": contract["abi"],
        "bytecode": "0x" + contract["evm"]["bytecode"]["object"],
        "deployedBytecode": "0x" + contract["evm"]["deployedBytecode"]["object"],
        "settings": compiler_settings(),
        "solc_version": solc_version,
        "source_sha256": hashlib.sha256(source_bytes).hexdigest(),
    }


def write_artifact(artifact: dict[str, Any], path: Path) -> None:
    """Write ``artifact`` as stable JSON (sorted keys, indent 2, trailing newline), atomically."""
    text = json.dumps(artifact, sort_keys=True, indent=2) + "\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.chmod(tmp, 0o644)  # mkstemp creates 0600; the artifact is a public, committed file
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def build(*, out: Path = ARTIFACT_PATH, solc_binary: Path = WRAPPER_PATH) -> Path:
    """Compile and write the artifact to ``out``; return ``out``. Raises ContractBuildError."""
    artifact = compile_registry(solc_binary=solc_binary)
    write_artifact(artifact, out)
    _logger.info("wrote %s (solc %s, source sha256 %s)", out, artifact["solc_version"],
                 artifact["source_sha256"])
    return out


def main(
    out: Annotated[Path, typer.Option(help="Where to write the artifact JSON.")] = ARTIFACT_PATH,
) -> None:
    """Compile EvidenceRegistry.sol and write its artifact."""
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    try:
        written = build(out=out)
    except ContractBuildError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from exc
    typer.echo(str(written))


if __name__ == "__main__":
    typer.run(main)
