"""Proof bundles built by hand (test-local tree builder) through every verification step."""

from __future__ import annotations

import base64
import copy
import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

from evidence_verify import (
    BundleFormatError,
    ContentMismatch,
    NotAnchored,
    ProofError,
    VerificationError,
    parse_bundle,
    verify_bundle,
    verify_consistency_response,
)
from evidence_verify.digests import BLOCK_SIZE, hash_file
from tests.support.proof_bundles import (
    SM3_AVAILABLE,
    anchor_fields,
    bundle_for,
    canonical,
    consistency_response,
    registration,
)

CONTENTS = [f"evidence file {i}\n".encode() * (i + 1) for i in range(7)]
ANCHOR = anchor_fields(chain_id=31337, contract="0x5FbDB2315678afecb367f032d93F642f64180aa3",
                       tx_hash="0x" + "ab" * 32, block_number=118, timestamp=1795309961)
needs_sm3 = pytest.mark.skipif(not SM3_AVAILABLE, reason="this OpenSSL has no SM3")


def entries(**changes_of_entry_5: Any) -> list[bytes]:
    """Seven registration entries; entry 5 gets ``changes_of_entry_5``."""
    return [canonical(registration(c, i, **(changes_of_entry_5 if i == 5 else {})))
            for i, c in enumerate(CONTENTS)]


@pytest.fixture
def good() -> dict[str, Any]:
    """An anchored bundle for entry 5 of a 7-entry log."""
    return bundle_for(entries(), 5, anchor=dict(ANCHOR))


@pytest.fixture
def evidence_file(tmp_path: Path) -> Path:
    path = tmp_path / "clip.mp4"
    path.write_bytes(CONTENTS[5])
    return path


# ----------------------------------------------------------------------- good bundles


def test_good_bundle_verifies_offline(good: dict[str, Any]) -> None:
    report = verify_bundle(good)
    assert report.verdict == "verified"
    outcomes = {c.name: c.ok for c in report.checks}
    assert outcomes == {"Bundle format": True, "Entry and leaf hash": True,
                        "File digests": None, "Inclusion proof": True,
                        "On-chain anchor": None}
    assert report.entry["kind"] == "evidence.registered"
    assert report.entry["sha256"] == hashlib.sha256(CONTENTS[5]).hexdigest()
    assert report.facts["tree_size"] == 7
    assert report.facts["block_time"] == ANCHOR["block_time"]
    text = report.render_text()
    assert "Verdict / 结论: VERIFIED" in text
    assert "Inclusion proof / 包含证明: OK" in text
    assert "On-chain anchor / 链上锚定: NOT CHECKED" in text


@pytest.mark.parametrize("index", range(7))
def test_every_leaf_of_the_log_verifies(index: int) -> None:
    assert verify_bundle(bundle_for(entries(), index, anchor=dict(ANCHOR))).verdict == "verified"


def test_single_entry_log_has_an_empty_path() -> None:
    bundle = bundle_for(entries()[:1], 0, anchor=dict(ANCHOR))
    assert bundle["inclusion_path"] == []
    assert verify_bundle(bundle).verdict == "verified"


def test_good_bundle_with_its_file(good: dict[str, Any], evidence_file: Path) -> None:
    report = verify_bundle(good, file=evidence_file)
    outcomes = {c.name: c.ok for c in report.checks}
    assert outcomes["File SHA-256"] is True
    assert outcomes["File SM3"] is (True if SM3_AVAILABLE else None)
    assert outcomes["File size"] is True
    assert report.verdict == "verified"


def test_parsed_bundle_is_accepted_too(good: dict[str, Any]) -> None:
    parsed = parse_bundle(good)
    assert parsed.anchor is not None and parsed.anchor.contract == ANCHOR["contract"].lower()
    assert verify_bundle(parsed).verdict == "verified"


def test_pending_bundle_verifies_offline_but_says_pending() -> None:
    report = verify_bundle(bundle_for(entries(), 5, anchor=None))
    assert report.verdict == "pending"
    assert [c.ok for c in report.checks if c.name == "On-chain anchor"] == [None]
    assert "PENDING" in report.render_text()


def test_pending_bundle_with_rpc_is_refused_before_any_request() -> None:
    bundle = bundle_for(entries(), 5, anchor=None)
    # an unroutable URL: the refusal must come before any network use
    with pytest.raises(NotAnchored, match="not anchored yet") as info:
        verify_bundle(bundle, rpc_url="http://192.0.2.1:9/")
    assert info.value.report is not None
    assert info.value.report.verdict == "failed"


def test_sm3_unavailable_is_reported_not_checked(
    good: dict[str, Any], evidence_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_new = hashlib.new

    def new_without_sm3(name: str, *args: Any, **kwargs: Any) -> Any:
        if name.lower() == "sm3":
            raise ValueError("unsupported hash type sm3")
        return real_new(name, *args, **kwargs)

    monkeypatch.setattr(hashlib, "new", new_without_sm3)
    report = verify_bundle(good, file=evidence_file)
    sm3 = next(c for c in report.checks if c.name == "File SM3")
    assert sm3.ok is None and "no SM3" in sm3.detail
    assert report.verdict == "verified"
    assert "File SM3 / 文件 SM3: NOT CHECKED" in report.render_text()


def test_file_is_hashed_in_blocks(tmp_path: Path) -> None:
    path = tmp_path / "big.bin"
    content = bytes(range(256)) * (BLOCK_SIZE // 256 * 2 + 3)
    path.write_bytes(content)
    digests = hash_file(path)
    assert digests.sha256 == hashlib.sha256(content).hexdigest()
    assert digests.size == len(content)


# -------------------------------------------------------------- format (exit code 2)


def mutate(bundle: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    """A deep copy of ``bundle`` with the dotted ``path`` set (or deleted for ``...``)."""
    result = copy.deepcopy(bundle)
    *parents, last = path.split(".")
    target = result
    for key in parents:
        target = target[key]
    if value is ...:
        del target[last]
    else:
        target[last] = value
    return result


def test_wrong_format_name(good: dict[str, Any]) -> None:
    with pytest.raises(BundleFormatError, match=r"bundle.format is 'evidence-proof', expected"):
        verify_bundle(mutate(good, "format", "evidence-proof"))


def test_wrong_version(good: dict[str, Any]) -> None:
    with pytest.raises(BundleFormatError, match=r"bundle.version is 2; .* version 1 only"):
        verify_bundle(mutate(good, "version", 2))


@pytest.mark.parametrize("field", ["format", "version", "entry", "leaf_index", "leaf_hash",
                                   "tree_size", "root", "inclusion_path", "anchor"])
def test_missing_field(good: dict[str, Any], field: str) -> None:
    with pytest.raises(BundleFormatError, match=rf"bundle is missing field\(s\): {field}$"):
        verify_bundle(mutate(good, field, ...))


@pytest.mark.parametrize(("path", "where"), [
    ("entry.bytes_b64", r"bundle.entry is missing field\(s\): bytes_b64"),
    ("anchor.tx_hash", r"bundle.anchor is missing field\(s\): tx_hash"),
])
def test_missing_nested_field(good: dict[str, Any], path: str, where: str) -> None:
    with pytest.raises(BundleFormatError, match=where):
        verify_bundle(mutate(good, path, ...))


def test_unknown_field(good: dict[str, Any]) -> None:
    with pytest.raises(BundleFormatError, match=r"unknown field\(s\): signature"):
        verify_bundle(mutate(good, "signature", "x"))


def test_bundle_must_be_an_object() -> None:
    with pytest.raises(BundleFormatError, match="bundle must be a JSON object, not an array"):
        verify_bundle([])  # type: ignore[arg-type]


@pytest.mark.parametrize(("path", "value", "match"), [
    ("leaf_index", "5", "bundle.leaf_index must be an integer, not a string"),
    ("tree_size", True, "bundle.tree_size must be an integer, not a boolean"),
    ("tree_size", 7.0, "bundle.tree_size must be an integer, not a number"),
    ("tree_size", 0, r"bundle.tree_size is 0, outside \[1, "),
    ("leaf_index", -1, r"bundle.leaf_index is -1, outside \[0, "),
    ("leaf_index", 7, "bundle.leaf_index 7 is not below bundle.tree_size 7"),
    ("tree_size", 2**64, "bundle.tree_size is 18446744073709551616, outside"),
    ("inclusion_path", "abcd", "bundle.inclusion_path must be a JSON array, not a string"),
    ("entry", "eyJ2IjoxfQ==", "bundle.entry must be a JSON object, not a string"),
    ("entry.encoding", "cbor", "bundle.entry.encoding is 'cbor', expected 'jcs-json'"),
    ("anchor", [], "bundle.anchor must be a JSON object, not an array"),
    ("anchor.chain_id", "31337", "bundle.anchor.chain_id must be an integer, not a string"),
    ("anchor.chain_id", 0, r"bundle.anchor.chain_id is 0, outside \[1, "),
    ("anchor.block_number", None, "bundle.anchor.block_number must be an integer, not null"),
    ("anchor.contract", "0x1234", "bundle.anchor.contract must be 0x and 40 hex digits"),
    ("anchor.tx_hash", "0x" + "AB" * 32, "bundle.anchor.tx_hash must be 0x and 64 lowercase"),
    ("anchor.tx_hash", "ab" * 32, "bundle.anchor.tx_hash must be 0x and 64 lowercase"),
    ("anchor.block_time", "2026-11-22 00:56:01", "bundle.anchor.block_time .* is not a UTC"),
    ("anchor.block_time", "2026-13-22T00:56:01Z", "bundle.anchor.block_time .* is not a UTC"),
])
def test_ill_typed_field(good: dict[str, Any], path: str, value: Any, match: str) -> None:
    with pytest.raises(BundleFormatError, match=match):
        verify_bundle(mutate(good, path, value))


@pytest.mark.parametrize(("path", "value", "where"), [
    ("leaf_hash", "AB" * 32, "bundle.leaf_hash"),
    ("root", "0x" + "ab" * 31, "bundle.root"),
    ("root", "ab" * 31, "bundle.root"),
    ("leaf_hash", "zz" * 32, "bundle.leaf_hash"),
    ("inclusion_path.1", "ab" * 33, r"bundle.inclusion_path\[1\]"),
])
def test_bad_hex(good: dict[str, Any], path: str, value: Any, where: str) -> None:
    bundle = copy.deepcopy(good)
    if path.startswith("inclusion_path"):
        bundle["inclusion_path"][1] = value
    else:
        bundle[path] = value
    with pytest.raises(BundleFormatError, match=f"{where} must be 64 lowercase hex digits"):
        verify_bundle(bundle)


@pytest.mark.parametrize("value", ["not base64!", "eyJ2Ijo", "eyJ2IjoxfQ", "eyJ2Ijox-Q=="])
def test_bad_base64(good: dict[str, Any], value: str) -> None:
    with pytest.raises(BundleFormatError, match=r"bundle.entry.bytes_b64 is not valid base64"):
        verify_bundle(mutate(good, "entry.bytes_b64", value))


def test_truncated_proof(good: dict[str, Any]) -> None:
    bundle = mutate(good, "inclusion_path", good["inclusion_path"][:-1])
    with pytest.raises(BundleFormatError,
                       match="inclusion_path has 2 hashes; a proof for leaf 5 of tree size 7 "
                             r"has 3 \(truncated or padded proof\)"):
        verify_bundle(bundle)


def test_padded_proof(good: dict[str, Any]) -> None:
    bundle = mutate(good, "inclusion_path", [*good["inclusion_path"], good["root"]])
    with pytest.raises(BundleFormatError, match="inclusion_path has 4 hashes"):
        verify_bundle(bundle)


# ----------------------------------------------------------- entry (step 2)


def test_leaf_hash_mismatch(good: dict[str, Any]) -> None:
    forged = canonical(registration(b"another file", 5))
    bundle = mutate(good, "entry.bytes_b64", base64.b64encode(forged).decode())
    with pytest.raises(ProofError, match=r"not to bundle.leaf_hash .*not the one this proof"):
        verify_bundle(bundle)


def test_leaf_hash_of_another_entry(good: dict[str, Any]) -> None:
    other = bundle_for(entries(), 4, anchor=dict(ANCHOR))
    with pytest.raises(ProofError, match="the entry hashes to leaf"):
        verify_bundle(mutate(good, "leaf_hash", other["leaf_hash"]))


@pytest.mark.parametrize(("v", "shown"), [(2, "2"), (0, "0"), (True, "true"), ("1", '"1"')])
def test_entry_version_other_than_1(v: Any, shown: str) -> None:
    bundle = bundle_for(entries(v=v), 5, anchor=dict(ANCHOR))
    with pytest.raises(BundleFormatError,
                       match=f"entry.v is {shown}; this verifier reads entry version 1 only"):
        verify_bundle(bundle)


def _log_with_entry_5(raw: bytes) -> dict[str, Any]:
    log = entries()
    log[5] = raw
    return bundle_for(log, 5, anchor=dict(ANCHOR))


@pytest.mark.parametrize(("raw", "match"), [
    (b'{"kind":"evidence.registered"}', "entry is missing field 'v'"),
    (b'{"v":1}', "entry is missing field 'kind'"),
    (b"[1]", "entry must be a JSON object, not an array"),
    (b"", "entry is not valid JSON"),
    (b'{"v":1,"v":1,"kind":"x"}', "duplicate key 'v'"),
    (b'{"kind":"x","n":NaN,"v":1}', "NaN is not allowed"),
    (b'{"kind":"x","n":1.5,"v":1}', "entry.n is a number: version-1 entries hold only"),
    (b'{"kind":"x","n":null,"v":1}', "entry.n is null"),
    (b'{"kind":"x","n":9007199254740992,"v":1}', "entry.n is 9007199254740992, outside"),
    (b'{"v":1,"kind":"x"}', "not in canonical JCS form"),
    (b'{"kind": "x", "v": 1}', "not in canonical JCS form"),
    (b'\xff{"kind":"x","v":1}', "entry is not UTF-8"),
])
def test_malformed_entry(raw: bytes, match: str) -> None:
    with pytest.raises(BundleFormatError, match=match):
        verify_bundle(_log_with_entry_5(raw))


def test_registered_entry_missing_a_field() -> None:
    entry = registration(CONTENTS[5], 5)
    del entry["department"]
    with pytest.raises(BundleFormatError, match=r"missing field\(s\): department"):
        verify_bundle(_log_with_entry_5(canonical(entry)))


def test_registered_entry_with_uppercase_digest() -> None:
    entry = registration(CONTENTS[5], 5, sha256=hashlib.sha256(CONTENTS[5]).hexdigest().upper())
    with pytest.raises(BundleFormatError, match=r"entry.sha256 must be 64 lowercase hex"):
        verify_bundle(_log_with_entry_5(canonical(entry)))


def test_other_entry_kinds_verify_without_file() -> None:
    raw = canonical({"v": 1, "kind": "custody.event", "item": "0a1b", "event": {"n": 3}})
    assert verify_bundle(_log_with_entry_5(raw)).verdict == "verified"


def test_file_against_an_entry_without_digest(evidence_file: Path) -> None:
    raw = canonical({"v": 1, "kind": "custody.event", "item": "0a1b"})
    with pytest.raises(BundleFormatError, match=r"entry kind 'custody.event' has no 'sha256'"):
        verify_bundle(_log_with_entry_5(raw), file=evidence_file)


# -------------------------------------------------------- inclusion (step 4)


def test_proof_for_another_tree(good: dict[str, Any]) -> None:
    other = bundle_for([*entries(), canonical(registration(b"later", 7))], 5,
                       anchor=dict(ANCHOR))
    with pytest.raises(ProofError, match=r"leads to root .*, not "):
        verify_bundle(mutate(good, "root", other["root"]))


def test_path_of_another_tree(good: dict[str, Any]) -> None:
    other = bundle_for([*entries(), canonical(registration(b"later", 7))], 5,
                       anchor=dict(ANCHOR))
    assert len(other["inclusion_path"]) == len(good["inclusion_path"])
    with pytest.raises(ProofError, match="inclusion proof for leaf 5 of tree size 7 leads to"):
        verify_bundle(mutate(good, "inclusion_path", other["inclusion_path"]))


def test_tree_size_is_bound_by_the_root_only(good: dict[str, Any]) -> None:
    # RFC 9162 folds leaf 5's path the same way in trees of 7 and 8 leaves, so offline the
    # claimed size is only as good as the root; anchorOf(tree_size) on chain binds the two
    # (tests/integration/verify: a size that was never anchored is a ChainMismatch).
    assert verify_bundle(mutate(good, "tree_size", 8)).verdict == "verified"


def test_proof_with_a_flipped_bit(good: dict[str, Any]) -> None:
    path = list(good["inclusion_path"])
    path[2] = ("0" if path[2][0] != "0" else "1") + path[2][1:]
    with pytest.raises(ProofError, match="leads to root"):
        verify_bundle(mutate(good, "inclusion_path", path))


# ------------------------------------------------------------ file (step 3)


def test_file_mismatch(good: dict[str, Any], tmp_path: Path) -> None:
    tampered = tmp_path / "clip.mp4"
    tampered.write_bytes(CONTENTS[5][:-1] + b"?")
    with pytest.raises(ContentMismatch,
                       match=r"the file's SHA-256 is .*, but the entry registered") as info:
        verify_bundle(good, file=tampered)
    report = info.value.report
    assert report is not None and report.verdict == "failed"
    assert (report.checks[-1].name, report.checks[-1].ok) == ("File SHA-256", False)
    assert "File SHA-256 / 文件 SHA-256: FAILED" in report.render_text()


@needs_sm3
def test_sm3_mismatch(evidence_file: Path) -> None:
    bundle = bundle_for(entries(sm3="0" * 64), 5, anchor=dict(ANCHOR))
    with pytest.raises(ContentMismatch, match=r"the file's SM3 is .*, but the entry registered 0"):
        verify_bundle(bundle, file=evidence_file)


def test_size_mismatch(evidence_file: Path) -> None:
    bundle = bundle_for(entries(size=1), 5, anchor=dict(ANCHOR))
    with pytest.raises(ContentMismatch, match="the file's size is 96, but the entry registered 1"):
        verify_bundle(bundle, file=evidence_file)


def test_missing_file_is_an_os_error(good: dict[str, Any], tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        verify_bundle(good, file=tmp_path / "absent.mp4")


# ------------------------------------------------------------- report


def test_failure_report_keeps_the_checks_that_passed(good: dict[str, Any]) -> None:
    with pytest.raises(VerificationError) as info:
        verify_bundle(mutate(good, "root", "00" * 32))
    report = info.value.report
    assert report is not None
    assert [(c.name, c.ok) for c in report.checks] == [
        ("Bundle format", True), ("Entry and leaf hash", True), ("File digests", None),
        ("Inclusion proof", False)]
    as_json = json.loads(json.dumps(report.to_dict(), ensure_ascii=False))
    assert as_json["verdict"] == "failed"
    assert as_json["checks"][3]["name_zh"] == "包含证明"


# --------------------------------------------------------- consistency responses


@pytest.mark.parametrize(("m", "n"), [(1, 7), (4, 7), (6, 7), (7, 7), (3, 5)])
def test_consistency_response_verifies(m: int, n: int) -> None:
    report = verify_consistency_response(consistency_response(entries()[:n], m))
    assert report.verdict == "verified"
    assert "Consistency proof / 一致性证明: OK" in report.render_text()
    assert [c.ok for c in report.checks] == [True, True, None]


@pytest.mark.parametrize(("old_size", "which"), [(3, "old"), (4, "new"), (6, "old")])
def test_consistency_response_with_rewritten_history(old_size: int, which: str) -> None:
    rewritten = entries()
    rewritten[1] = canonical(registration(b"replaced", 1))
    response = consistency_response(rewritten, old_size)
    response["from_root"] = consistency_response(entries(), old_size)["from_root"]
    # for a power-of-two old size the old root seeds the fold, so the new root disagrees
    with pytest.raises(ProofError, match=f"reproduces {which} root"):
        verify_consistency_response(response)


def test_consistency_response_truncated() -> None:
    response = consistency_response(entries(), 3)
    response["path"] = response["path"][:-1]
    with pytest.raises(BundleFormatError,
                       match=r"consistency.path has 3 hashes; a proof from tree size 3 to 7 has 4"):
        verify_consistency_response(response)


@pytest.mark.parametrize(("key", "value", "match"), [
    ("from", 0, r"consistency.from is 0, outside \[1, "),
    ("to", "7", "consistency.to must be an integer"),
    ("to_root", "AB" * 32, "consistency.to_root must be 64 lowercase hex digits"),
    ("path", None, "consistency.path must be a JSON array, not null"),
    ("from_root", ..., r"consistency is missing field\(s\): from_root"),
])
def test_consistency_response_malformed(key: str, value: Any, match: str) -> None:
    response = mutate(consistency_response(entries(), 3), key, value)
    with pytest.raises(BundleFormatError, match=match):
        verify_consistency_response(response)


def test_consistency_response_sizes_out_of_order() -> None:
    response = consistency_response(entries(), 3)
    response["from"], response["to"] = 7, 3
    with pytest.raises(ProofError, match="old tree size 7 is larger than new tree size 3"):
        verify_consistency_response(response)
