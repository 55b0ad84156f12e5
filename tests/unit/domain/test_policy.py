"""Sharing rules: grading, approvals, the negative list, and that an empty policy is an error."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from evidence_service.domain.models import (
    Classification,
    EvidenceItem,
    EvidenceKind,
    EvidenceTags,
    ItemStatus,
)
from evidence_service.domain.policy import (
    DEFAULT_NEGATIVE_LIST,
    AllOf,
    ItemContext,
    NegativeEntry,
    sharing_policy,
)


def _item(**changes: object) -> EvidenceItem:
    values: dict[str, object] = dict(
        id="i1", case_id="c", department_id="d", kind=EvidenceKind.AUDIO_VISUAL,
        original_filename="a.mp4", media_type="video/mp4", declared_size=1, size=1,
        status=ItemStatus.ANCHORED, created_by="u", created_at=datetime.now(UTC))
    values.update(changes)
    return EvidenceItem(**values)  # type: ignore[arg-type]


def _reasons(item: EvidenceItem, *, purpose: str = "transfer",
             approved: frozenset[str] = frozenset()) -> list[str]:
    policy = sharing_policy(DEFAULT_NEGATIVE_LIST, purpose=purpose)  # type: ignore[arg-type]
    return [b.rule for b in policy.check(ItemContext(item, approved), purpose)]  # type: ignore[arg-type]


def test_an_anchored_internal_item_may_be_transferred() -> None:
    assert _reasons(_item()) == []


@pytest.mark.parametrize("status", [ItemStatus.RECEIVING, ItemStatus.STORED,
                                    ItemStatus.MISMATCH])
def test_only_anchored_or_verified_items_are_transferred(status: ItemStatus) -> None:
    assert _reasons(_item(status=status)) == ["anchored"]


def test_restricted_needs_an_approval_for_that_purpose() -> None:
    restricted = _item(classification=Classification.RESTRICTED)
    assert _reasons(restricted) == ["restricted-needs-approval"]
    assert _reasons(restricted, approved=frozenset({"export"})) == ["restricted-needs-approval"]
    assert _reasons(restricted, approved=frozenset({"transfer"})) == []
    assert _reasons(restricted, purpose="export") == ["restricted-needs-approval"]
    assert _reasons(restricted, purpose="export", approved=frozenset({"export"})) == []


def test_default_negative_list_blocks_labelled_material() -> None:
    assert _reasons(_item(labels=frozenset({"unclosed_complaint_clue"}))) == [
        "negative-list:unclosed-complaint-clue"]
    assert _reasons(_item(labels=frozenset({"personal_privacy"}))) == [
        "negative-list:personal-privacy"]
    assert _reasons(_item(labels=frozenset({"personal_privacy"})), purpose="export") == []


def test_tag_entries_match_case_insensitively() -> None:
    entry = NegativeEntry(name="tips", reason="no tips", tag="cause_of_action", contains="TIP")
    policy = AllOf([sharing_policy([entry], purpose="transfer")])
    item = _item(tags=EvidenceTags(cause_of_action="anonymous tip-off"))
    assert [b.rule for b in policy.check(ItemContext(item, ()), "transfer")] == [
        "negative-list:tips"]


def test_an_empty_policy_is_an_error_not_a_pass() -> None:
    with pytest.raises(ValueError, match="at least one rule"):
        AllOf([])


def test_negative_entries_need_exactly_one_way_to_match() -> None:
    with pytest.raises(ValueError, match="either 'label' or 'tag'"):
        NegativeEntry(name="x", reason="y")
    with pytest.raises(ValueError, match="either 'label' or 'tag'"):
        NegativeEntry(name="x", reason="y", tag="party")
