"""Custody entries and transfer manifests (docs/proof-format.md §7): vectors and rules."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta, timezone

import pytest

from evidence_service.domain.custody import (
    CustodyKind,
    client_digest,
    custody_entry,
    id_hash,
    manifest_leaf,
    manifest_root,
    reason_hash,
)

ITEM = "0a1b2c3d-0000-4000-8000-000000000001"
CASE = "5b6f0000-0000-4000-8000-000000000002"
DEPT = "c14e0000-0000-4000-8000-000000000003"
ACTOR = "9d9d0000-0000-4000-8000-000000000004"
EMPTY_SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
EMPTY_SM3 = "1ab21d8355cfa17f8e61194831e81a8f22bec8c728fefb747ed035eb5082aa2b"
#: The vector printed in docs/proof-format.md §7.
VECTOR = ('{"actor":"9d9d0000-0000-4000-8000-000000000004","case":"5b6f0000-0000-4000-8000-'
          '000000000002","client":"b71f6279a90f7e49e6c2b5665cf922d775fc05a95c6a759943ee5f954f'
          'a92eed","department":"c14e0000-0000-4000-8000-000000000003","item":"0a1b2c3d-0000-'
          '4000-8000-000000000001","kind":"custody.transfer_sent","sha256":"e3b0c44298fc1c149a'
          'fbf4c8996fb92427ae41e4649b934ca495991b7852b855","subject":"7f7f0000-0000-4000-8000-'
          '000000000005","time":"2026-11-22T03:00:00.000000Z","v":1}')


def _entry(**changes: object) -> bytes:
    values: dict[str, object] = dict(
        kind=CustodyKind.TRANSFER_SENT, item_id=ITEM, case_id=CASE, department_id=DEPT,
        actor_id=ACTOR, client="127.0.0.1 evidence-cli/0.1",
        at=datetime(2026, 11, 22, 3, 0, tzinfo=UTC), content_sha256=EMPTY_SHA256,
        subject="7f7f0000-0000-4000-8000-000000000005")
    values.update(changes)
    return custody_entry(**values)  # type: ignore[arg-type]


def test_entry_matches_the_documented_vector() -> None:
    assert _entry().decode() == VECTOR
    assert hashlib.sha256(b"\x00" + _entry()).hexdigest() == \
        "6101354e383c5d24528ed426b0675cc24e59946294b060709d2f7834a61afedc"


def test_client_is_logged_only_as_a_digest() -> None:
    entry = json.loads(_entry(client="10.1.2.3 Mozilla/5.0"))
    assert entry["client"] == hashlib.sha256(b"10.1.2.3 Mozilla/5.0").hexdigest()
    assert "10.1.2.3" not in _entry(client="10.1.2.3 Mozilla/5.0").decode()
    assert client_digest("x") == hashlib.sha256(b"x").hexdigest()


def test_case_level_events_have_no_item_or_content() -> None:
    entry = json.loads(_entry(item_id=None, content_sha256=None, subject=None,
                              kind=CustodyKind.VIEWED))
    assert set(entry) == {"v", "kind", "case", "department", "actor", "client", "time"}
    assert entry["kind"] == "custody.viewed"


def test_times_are_normalised_to_utc() -> None:
    beijing = datetime(2026, 11, 22, 11, 0, tzinfo=timezone(timedelta(hours=8)))
    assert json.loads(_entry(at=beijing))["time"] == "2026-11-22T03:00:00.000000Z"
    with pytest.raises(ValueError, match="timezone-aware"):
        _entry(at=datetime(2026, 11, 22, 3, 0))


def test_every_kind_is_a_custody_entry_kind() -> None:
    assert {k.entry_kind for k in CustodyKind} >= {
        "custody.uploaded", "custody.viewed", "custody.downloaded", "custody.verified",
        "custody.analysed", "custody.derived_added", "custody.transfer_sent",
        "custody.transfer_accepted", "custody.transfer_rejected", "custody.approval_granted",
        "custody.exported"}


def test_manifest_root_is_rfc9162_over_the_leaves() -> None:
    one = manifest_leaf(item_id=ITEM, sha256=EMPTY_SHA256, sm3=EMPTY_SM3, size=0, log_index=0)
    two = manifest_leaf(item_id=ITEM[:-1] + "9", sha256="a" * 64, sm3="b" * 64, size=5,
                        log_index=3)
    three = manifest_leaf(item_id=ITEM[:-1] + "8", sha256="c" * 64, sm3="d" * 64, size=7,
                          log_index=4)
    leaf = [hashlib.sha256(b"\x00" + x).digest() for x in (one, two, three)]
    node = lambda a, b: hashlib.sha256(b"\x01" + a + b).digest()  # noqa: E731
    assert manifest_root([one]) == leaf[0]
    assert manifest_root([one, two]) == node(leaf[0], leaf[1])
    assert manifest_root([one, two, three]) == node(node(leaf[0], leaf[1]), leaf[2])
    assert manifest_root([one, two]).hex() == \
        "aaa99c46ab7c30569a4af687837c1e4aac55845274175d21b286655299ee2bba"
    assert json.loads(one) == {"v": 1, "kind": "transfer.manifest-item", "item": ITEM,
                               "sha256": EMPTY_SHA256, "sm3": EMPTY_SM3, "size": 0, "leaf": 0}


def test_an_empty_manifest_is_refused() -> None:
    with pytest.raises(ValueError, match="at least one item"):
        manifest_root([])


def test_on_chain_ids_and_reasons_are_sha256() -> None:
    assert id_hash(CASE) == hashlib.sha256(CASE.encode()).digest()
    assert reason_hash("证据无关") == hashlib.sha256("证据无关".encode()).digest()


def test_artefact_entries_link_to_the_original() -> None:
    from evidence_service.domain.canonical import artefact_entry

    entry = artefact_entry(sha256="a" * 64, sm3="b" * 64, size=12, artefact_id="art-1",
                           artefact_kind="keyframe", item_id=ITEM, case_id=CASE,
                           department_id=DEPT, derived_from_sha256=EMPTY_SHA256,
                           at=datetime(2026, 11, 22, 3, 0, tzinfo=UTC))
    fields = json.loads(entry)
    assert list(fields) == sorted(fields)
    assert fields["kind"] == "artefact.registered"
    assert fields["derived_from"] == EMPTY_SHA256 and fields["item"] == ITEM
    assert entry == json.dumps(fields, sort_keys=True, separators=(",", ":")).encode()
