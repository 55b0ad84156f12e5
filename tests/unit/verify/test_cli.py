"""``python -m evidence_verify`` run as a separate process, as a court would run it."""

from __future__ import annotations

import ast
import base64
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.support.proof_bundles import (
    anchor_fields,
    bundle_for,
    canonical,
    consistency_response,
    registration,
)

REPO_ROOT = Path(__file__).resolve().parents[3]
PACKAGE = REPO_ROOT / "evidence_verify"
CONTENTS = [f"clip {i}\n".encode() * 100 for i in range(5)]
ENTRIES = [canonical(registration(c, i)) for i, c in enumerate(CONTENTS)]
ANCHOR = anchor_fields(chain_id=31337, contract="0x5FbDB2315678afecb367f032d93F642f64180aa3",
                       tx_hash="0x" + "cd" * 32, block_number=42, timestamp=1795309961)


def run(*args: str | Path, isolated: bool = False) -> subprocess.CompletedProcess[str]:
    """Run the verifier CLI; ``isolated`` drops site-packages entirely (``-I -S``)."""
    argv = [str(a) for a in args]
    if isolated:
        code = (f"import sys; sys.path.insert(0, {str(REPO_ROOT)!r}); "
                f"from evidence_verify.cli import main; raise SystemExit(main({argv!r}))")
        command = [sys.executable, "-I", "-S", "-c", code]
    else:
        command = [sys.executable, "-m", "evidence_verify", *argv]
    env = {**os.environ, "PYTHONIOENCODING": "utf-8"}
    return subprocess.run(command, cwd=REPO_ROOT, capture_output=True, text=True,
                          encoding="utf-8", env=env, timeout=60, check=False)


def write(tmp_path: Path, name: str, document: Any) -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(document), encoding="utf-8")
    return path


@pytest.fixture
def good(tmp_path: Path) -> Path:
    return write(tmp_path, "bundle.json", bundle_for(ENTRIES, 3, anchor=dict(ANCHOR)))


@pytest.fixture
def tampered(tmp_path: Path) -> Path:
    """Entry 3's bytes swapped for a forged entry: the leaf hash no longer matches."""
    bundle = bundle_for(ENTRIES, 3, anchor=dict(ANCHOR))
    forged = canonical(registration(b"forged", 3))
    bundle["entry"]["bytes_b64"] = base64.b64encode(forged).decode()
    return write(tmp_path, "tampered.json", bundle)


@pytest.fixture
def evidence(tmp_path: Path) -> Path:
    path = tmp_path / "clip.mp4"
    path.write_bytes(CONTENTS[3])
    return path


def test_good_bundle_exits_0(good: Path) -> None:
    result = run("bundle", good)
    assert result.returncode == 0, result.stderr
    assert "Verdict / 结论: VERIFIED" in result.stdout
    assert "Inclusion proof / 包含证明: OK" in result.stdout
    assert "On-chain anchor / 链上锚定: NOT CHECKED" in result.stdout
    assert result.stderr == ""


def test_good_bundle_and_file_exit_0(good: Path, evidence: Path) -> None:
    result = run("bundle", good, "--file", evidence)
    assert result.returncode == 0, result.stderr
    assert "File SHA-256 / 文件 SHA-256: OK" in result.stdout


def test_tampered_bundle_exits_1(tampered: Path) -> None:
    result = run("bundle", tampered)
    assert result.returncode == 1
    assert "Verdict / 结论: FAILED" in result.stdout
    assert "Entry and leaf hash / 条目与叶哈希: FAILED" in result.stdout
    assert "ProofError: the entry hashes to leaf" in result.stderr


def test_tampered_file_exits_1(good: Path, tmp_path: Path) -> None:
    other = tmp_path / "other.mp4"
    other.write_bytes(CONTENTS[3] + b"\x00")
    result = run("bundle", good, "--file", other)
    assert result.returncode == 1
    assert "File SHA-256 / 文件 SHA-256: FAILED" in result.stdout
    assert "ContentMismatch" in result.stderr


def test_pending_bundle_exits_4(tmp_path: Path) -> None:
    result = run("bundle", write(tmp_path, "p.json", bundle_for(ENTRIES, 3)))
    assert result.returncode == 4
    assert "Verdict / 结论: PENDING" in result.stdout


def test_rpc_on_pending_bundle_is_a_usage_error(tmp_path: Path) -> None:
    pending = write(tmp_path, "p.json", bundle_for(ENTRIES, 3))
    result = run("bundle", pending, "--rpc", "http://192.0.2.1:9")
    assert result.returncode == 2
    assert "NotAnchored: the bundle is pending" in result.stderr


def test_json_output(good: Path, tampered: Path) -> None:
    ok = run("bundle", good, "--json")
    assert ok.returncode == 0
    report = json.loads(ok.stdout)
    assert report["verdict"] == "verified"
    assert {c["name"]: c["ok"] for c in report["checks"]}["Inclusion proof"] is True
    assert report["entry"]["kind"] == "evidence.registered"
    failed = run("bundle", tampered, "--json")
    assert failed.returncode == 1
    document = json.loads(failed.stdout)
    assert document["verdict"] == "failed"
    assert document["error"]["type"] == "ProofError"


@pytest.mark.parametrize(("content", "message"), [
    ("{not json", "is not valid JSON"),
    ('{"format": "evidence-proof-bundle", "version": 2}', "bundle is missing field"),
])
def test_malformed_bundle_exits_2(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "bad.json"
    path.write_text(content, encoding="utf-8")
    result = run("bundle", path)
    assert result.returncode == 2
    assert "BundleFormatError" in result.stderr and message in result.stderr


def test_usage_errors_exit_2(good: Path, tmp_path: Path) -> None:
    assert run("bundle", good, "--rpc", "ftp://node").returncode == 2
    assert run("bundle", good, "--timeout", "0").returncode == 2
    assert run("verify", good).returncode == 2
    missing = run("bundle", tmp_path / "absent.json")
    assert missing.returncode == 2 and "cannot read" in missing.stderr
    no_file = run("bundle", good, "--file", tmp_path / "absent.mp4")
    assert no_file.returncode == 2 and "cannot read" in no_file.stderr


def test_consistency_command(tmp_path: Path) -> None:
    response = consistency_response(ENTRIES, 3)
    result = run("consistency", write(tmp_path, "c.json", response))
    assert result.returncode == 0, result.stderr
    assert "Consistency proof / 一致性证明: OK" in result.stdout
    response["to_root"] = response["from_root"]
    forged = run("consistency", write(tmp_path, "f.json", response))
    assert forged.returncode == 1
    assert "Consistency proof / 一致性证明: FAILED" in forged.stdout


def test_runs_without_site_packages(good: Path, evidence: Path) -> None:
    """What a court installs: the package alone, on a bare Python (no site-packages)."""
    result = run("bundle", good, "--file", evidence, isolated=True)
    assert result.returncode == 0, result.stderr
    assert "VERIFIED" in result.stdout


def test_package_imports_only_the_standard_library() -> None:
    allowed = set(sys.stdlib_module_names) | {"evidence_verify"}
    for source in sorted(PACKAGE.glob("*.py")):
        tree = ast.parse(source.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            outside = [n for n in names if n.split(".")[0] not in allowed]
            assert not outside, f"{source.name} imports {outside}"
