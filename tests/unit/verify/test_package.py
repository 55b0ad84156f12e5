"""``verify_package`` on packages built by ``write_case_package``: good ones verify, each
tampering is detected and its culprit named, unsafe ZIPs are refused."""

from __future__ import annotations

import base64
import json
import stat
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest

from evidence_verify import PackageFormatError, ZipLimits, verify_package
from tests.support.case_packages import PackageLog, item_id, rewrite_zip
from tests.support.proof_bundles import anchor_fields, canonical, registration

REPO_ROOT = Path(__file__).resolve().parents[3]
ANCHOR = anchor_fields(chain_id=31337, contract="0x5FbDB2315678afecb367f032d93F642f64180aa3",
                       tx_hash="0x" + "cd" * 32, block_number=42, timestamp=1795309961)
CLIP = b"bodycam clip\n" * 500
PHOTO = b"\xff\xd8 photo bytes"
ITEM0, ITEM1 = item_id(0), item_id(1)
CLIP_PATH = f"files/{ITEM0}/clip.mp4"


def make_log(anchor: dict[str, Any] | None = ANCHOR) -> PackageLog:
    log = PackageLog(anchor=anchor)
    log.add_item("clip.mp4", CLIP)
    log.add_item("现场照片.jpg", PHOTO)
    log.add_artefact(0, "keyframes.json", b'{"frames":[0,12]}')
    log.add_event("custody.viewed", 0, "审核员查看视频")
    log.add_event("custody.transfer_sent", None, "移交复议机关")
    return log


@pytest.fixture
def package(tmp_path: Path) -> Path:
    path = tmp_path / "case.zip"
    make_log().write(path)
    return path


def tamper(package: Path, tmp_path: Path, *, relist: bool = True, **kwargs: Any) -> Path:
    """Rewrite ``package``; with ``relist`` the manifest's ``files`` hashes are updated to
    the new bytes, as a forger who rewrites the manifest would."""
    first = tmp_path / "tampered-1.zip"
    rewrite_zip(package, first, **kwargs)
    if not relist:
        return first
    with zipfile.ZipFile(first) as archive:
        hashes = {n: _sha256(archive.read(n)) for n in archive.namelist() if n != "manifest.json"}

    def relisted(name: str, data: bytes) -> bytes:
        if name != "manifest.json":
            return data
        manifest = json.loads(data)
        manifest["files"] = {n: hashes.get(n, d) for n, d in manifest["files"].items()}
        return json.dumps(manifest).encode()

    second = tmp_path / "tampered.zip"
    rewrite_zip(first, second, change=relisted)
    return second


def _sha256(data: bytes) -> str:
    import hashlib
    return hashlib.sha256(data).hexdigest()


def _edit_json(target: str, edit: Any) -> Any:
    def change(name: str, data: bytes) -> bytes:
        if name != target:
            return data
        document = json.loads(data)
        edit(document)
        return json.dumps(document).encode()
    return change


def failed(path: Path) -> tuple[tuple[str, ...], str]:
    report = verify_package(path)
    assert report.verdict == "failed"
    assert report.exit_code == 1
    return report.culprits, report.render_text()


def test_good_package_verifies(package: Path) -> None:
    report = verify_package(package)
    assert report.verdict == "verified", report.render_text()
    assert report.exit_code == 0
    outcomes = {(c.name, c.subject): c.outcome for c in report.checks}
    assert outcomes[("Content", ITEM0)] == outcomes[("Entry matches manifest", ITEM1)] == "pass"
    assert outcomes[("Proof", "custody.events[1]")] == "pass"
    assert outcomes[("Derived from", item_id(102))] == "pass"
    assert outcomes[("On-chain anchors", "chain")] == "not_checked"
    assert report.facts["events"] == 2 and report.facts["items"] == 2


def test_unanchored_package_is_pending_not_failed(tmp_path: Path) -> None:
    path = tmp_path / "pending.zip"
    make_log(anchor=None).write(path)
    report = verify_package(path)
    assert report.verdict == "pending", report.render_text()
    assert report.exit_code == 4
    assert {c.outcome for c in report.checks if c.name == "Proof"} == {"pending"}


def test_flipped_byte_in_a_file(package: Path, tmp_path: Path) -> None:
    def flip(name: str, data: bytes) -> bytes:
        return data[:10] + bytes([data[10] ^ 1]) + data[11:] if name == CLIP_PATH else data

    culprits, text = failed(tamper(package, tmp_path, change=flip, relist=False))
    assert culprits == (CLIP_PATH, ITEM0)
    assert "altered" in text


def test_flipped_byte_with_relisted_manifest_still_fails(package: Path, tmp_path: Path) -> None:
    def flip(name: str, data: bytes) -> bytes:
        return data[:10] + bytes([data[10] ^ 1]) + data[11:] if name == CLIP_PATH else data

    culprits, text = failed(tamper(package, tmp_path, change=flip))
    assert culprits == (ITEM0,)
    assert f"{CLIP_PATH}: SHA-256 is" in text


def test_missing_file(package: Path, tmp_path: Path) -> None:
    photo = f"files/{ITEM1}/现场照片.jpg"
    culprits, text = failed(tamper(package, tmp_path, relist=False,
                                   change=lambda n, d: None if n == photo else d))
    assert culprits == (photo, ITEM1)
    assert "listed in manifest.files but missing from the ZIP" in text


def test_added_file(package: Path, tmp_path: Path) -> None:
    culprits, text = failed(tamper(package, tmp_path, relist=False,
                                   extra=[(f"files/{ITEM0}/extra.mp4", b"planted")]))
    assert culprits == (f"files/{ITEM0}/extra.mp4",)
    assert "not listed in manifest.files: added after export" in text


def test_altered_manifest_hash(package: Path, tmp_path: Path) -> None:
    def alter(manifest: dict[str, Any]) -> None:
        manifest["files"]["report.html"] = "0" * 64

    culprits, _ = failed(tamper(package, tmp_path, relist=False,
                                change=_edit_json("manifest.json", alter)))
    assert culprits == ("report.html",)


def test_altered_manifest_item_digest(package: Path, tmp_path: Path) -> None:
    def alter(manifest: dict[str, Any]) -> None:
        manifest["items"][0]["sha256"] = "ab" * 32

    culprits, text = failed(tamper(package, tmp_path, relist=False,
                                   change=_edit_json("manifest.json", alter)))
    assert culprits == (ITEM0, item_id(102))  # the item, and its artefact's derived_from
    assert "the proof is for another file" in text


def test_swapped_proofs(package: Path, tmp_path: Path) -> None:
    with zipfile.ZipFile(package) as archive:
        proofs = {n: archive.read(n) for n in (f"proofs/{ITEM0}.json", f"proofs/{ITEM1}.json")}
    names = list(proofs)
    swap = {names[0]: proofs[names[1]], names[1]: proofs[names[0]]}
    culprits, text = failed(tamper(package, tmp_path, change=lambda n, d: swap.get(n, d)))
    assert culprits == (ITEM0, ITEM1)
    assert f"entry item is {ITEM1!r}, not {ITEM0!r}" in text


def test_altered_custody_event_proof(package: Path, tmp_path: Path) -> None:
    forged = canonical({"v": 1, "kind": "custody.viewed", "item": ITEM1})

    def alter(custody: dict[str, Any]) -> None:
        custody["events"][0]["proof"]["entry"]["bytes_b64"] = base64.b64encode(forged).decode()

    culprits, text = failed(tamper(package, tmp_path, change=_edit_json("custody.json", alter)))
    assert culprits == ("custody.events[0]",)
    assert "ProofError" in text


def test_custody_event_about_a_foreign_item(package: Path, tmp_path: Path) -> None:
    def alter(custody: dict[str, Any]) -> None:
        custody["events"][0]["item_id"] = "ffffffff-0000-4000-8000-000000000000"

    culprits, text = failed(tamper(package, tmp_path, change=_edit_json("custody.json", alter)))
    assert culprits == ("custody.events[0]",)
    assert "is not an item of this package" in text


def test_proof_anchored_on_another_chain_than_the_manifest(package: Path,
                                                           tmp_path: Path) -> None:
    def alter(manifest: dict[str, Any]) -> None:
        manifest["chain"]["chain_id"] = 1

    culprits, text = failed(tamper(package, tmp_path, relist=False,
                                   change=_edit_json("manifest.json", alter)))
    assert ITEM0 in culprits and "custody.events[0]" in culprits
    assert "manifest.chain is chain 1" in text


@pytest.mark.parametrize(("name", "message"), [
    ("../x", r"'\.\./x' leaves the package \('\.\.' path traversal\)"),
    ("files/../../x", "path traversal"),
    ("/etc/passwd", "is an absolute path"),
    ("files\\evil.txt", "contains a backslash"),
    ("files//x", "empty or '.' path component"),
    ("files/\x1b[31m.txt", "control or format characters"),
])
def test_unsafe_entry_names_are_refused(package: Path, tmp_path: Path, name: str,
                                        message: str) -> None:
    path = tamper(package, tmp_path, relist=False, extra=[(name, b"x")])
    with pytest.raises(PackageFormatError, match=message):
        verify_package(path)


@pytest.mark.filterwarnings("ignore:Duplicate name")
def test_duplicate_entry(package: Path, tmp_path: Path) -> None:
    path = tamper(package, tmp_path, relist=False, extra=[(CLIP_PATH, CLIP)])
    with pytest.raises(PackageFormatError, match=f"entry '{CLIP_PATH}' appears more than once"):
        verify_package(path)


def test_symlink_entry(package: Path, tmp_path: Path) -> None:
    path = tmp_path / "link.zip"
    rewrite_zip(package, path)
    with zipfile.ZipFile(path, "a") as archive:
        info = zipfile.ZipInfo("files/link")
        info.external_attr = (stat.S_IFLNK | 0o777) << 16
        archive.writestr(info, "/etc/passwd")
    with pytest.raises(PackageFormatError, match="'files/link' is a symbolic link"):
        verify_package(path)


def test_zip_bomb(package: Path, tmp_path: Path) -> None:
    path = tmp_path / "bomb.zip"
    rewrite_zip(package, path)
    with zipfile.ZipFile(path, "a", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("files/bomb.bin", bytes(8 << 20))
    with pytest.raises(PackageFormatError, match=r"'files/bomb.bin' expands .* \(ratio over "
                                                 r"200\): refused as a possible zip bomb"):
        verify_package(path)


def test_entry_over_the_size_limit(package: Path) -> None:
    with pytest.raises(PackageFormatError, match=f"entry '{CLIP_PATH}' expands to 6500 bytes, "
                                                 "more than the limit of 1000"):
        verify_package(package, limits=ZipLimits(max_entry_size=1000))


def test_not_a_zip(tmp_path: Path) -> None:
    path = tmp_path / "case.zip"
    path.write_bytes(b"PK not really")
    with pytest.raises(PackageFormatError, match=r"case\.zip is not a readable ZIP archive"):
        verify_package(path)


@pytest.mark.parametrize(("edit", "message"), [
    (lambda m: m.update(extra=1), r"manifest has unknown field\(s\): extra"),
    (lambda m: m.update(version=2), "this verifier reads version 1 only"),
    (lambda m: m["items"][0].update(size="6500"), r"manifest.items\[0\].size must be an integer"),
    (lambda m: m["items"][0].update(file="files/other/clip.mp4"),
     r"manifest.items\[0\].file 'files/other/clip.mp4' must be files/"),
    (lambda m: m["items"][1].update(item_id="../x"), "is not a safe identifier"),
    (lambda m: m["case"].pop("party"), r"manifest.case is missing field\(s\): party"),
])
def test_manifest_schema(package: Path, tmp_path: Path, edit: Any, message: str) -> None:
    path = tamper(package, tmp_path, relist=False, change=_edit_json("manifest.json", edit))
    with pytest.raises(PackageFormatError, match=message):
        verify_package(path)


def test_report_names_every_culprit_at_once(package: Path, tmp_path: Path) -> None:
    photo = f"files/{ITEM1}/现场照片.jpg"
    path = tamper(package, tmp_path, relist=False, extra=[("notes.txt", b"x")],
                  change=lambda n, d: None if n == photo else (b"x" + d if n == CLIP_PATH
                                                              else d))
    culprits, _ = failed(path)
    assert set(culprits) == {CLIP_PATH, photo, "notes.txt", ITEM0, ITEM1}


def run_cli(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "evidence_verify", "package",
                           *map(str, args)], cwd=REPO_ROOT, capture_output=True, text=True,
                          encoding="utf-8", timeout=60, check=False)


def test_cli_exit_codes(package: Path, tmp_path: Path) -> None:
    good = run_cli(package)
    assert good.returncode == 0, good.stderr
    assert "Verdict / 结论: VERIFIED" in good.stdout
    bad = run_cli(tamper(package, tmp_path, extra=[("x.txt", b"")], relist=False), "--json")
    assert bad.returncode == 1
    assert json.loads(bad.stdout)["culprits"] == ["x.txt"]
    assert "x.txt: File listed:" in bad.stderr
    unsafe = run_cli(tamper(package, tmp_path, extra=[("../x", b"")], relist=False))
    assert unsafe.returncode == 2
    assert "PackageFormatError" in unsafe.stderr
    pending = tmp_path / "pending.zip"
    make_log(anchor=None).write(pending)
    assert run_cli(pending).returncode == 4


def test_registration_entry_of_another_case_item_is_refused(tmp_path: Path) -> None:
    """A proof for the right bytes but registered as another item id is still caught."""
    log = make_log()
    log.entries[0] = canonical(registration(CLIP, 0, item=item_id(7)))
    path = tmp_path / "case.zip"
    log.write(path)
    culprits, text = failed(path)
    assert culprits == (ITEM0,)
    assert f"entry item is {item_id(7)!r}" in text


def test_service_cli_verify_package(package: Path, tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from evidence_service.cli import app

    runner = CliRunner()
    good = runner.invoke(app, ["verify-package", str(package)])
    assert good.exit_code == 0, good.output
    assert "验证通过 VERIFIED" in good.output
    added = tamper(package, tmp_path, extra=[("[red]x.txt", b"")], relist=False)
    bad = runner.invoke(app, ["verify-package", str(added)])
    assert bad.exit_code == 1
    assert "[red]x.txt" in bad.output  # shown literally, never as rich markup
    unsafe = runner.invoke(app, ["verify-package",
                                 str(tamper(package, tmp_path, extra=[("../x", b"")],
                                            relist=False))])
    assert unsafe.exit_code == 2
    assert "malformed package" in unsafe.output
