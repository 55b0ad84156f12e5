"""Rules that decide whether evidence may leave its department (transfer or export).

A rule looks at one item and returns the reasons it blocks it (an empty list allows it).
``AllOf`` composes rules and refuses to be built empty: an empty policy is a configuration
error, never a silent pass (sigstore ``policy.py``).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field, model_validator

from evidence_service.domain.models import Classification, EvidenceItem, ItemStatus

Purpose = Literal["transfer", "export"]
_TAG_FIELDS = ("party", "place", "time", "cause_of_action", "inspection_number",
               "penalty_number")


@dataclass(frozen=True)
class Block:
    """Why one item may not leave: the rule's name and a reason a user can act on."""

    item_id: str
    rule: str
    reason: str


@dataclass(frozen=True)
class ItemContext:
    """What a rule may look at: the item and the purposes it was approved for."""

    item: EvidenceItem
    approved_for: Collection[str]


class Rule(Protocol):
    name: str

    def check(self, ctx: ItemContext, purpose: Purpose) -> list[Block]:
        """Reasons ``ctx.item`` may not be used for ``purpose`` (empty: allowed)."""
        ...


class AllOf:
    """Every rule must allow the item. Raises ValueError when given no rules."""

    name = "all-of"

    def __init__(self, rules: Sequence[Rule]) -> None:
        if not rules:
            raise ValueError("a policy needs at least one rule")
        self.rules = tuple(rules)

    def check(self, ctx: ItemContext, purpose: Purpose) -> list[Block]:
        return [block for rule in self.rules for block in rule.check(ctx, purpose)]


class RequireAnchored:
    """Only evidence whose registration is anchored can be proven to the receiver."""

    name = "anchored"

    def check(self, ctx: ItemContext, purpose: Purpose) -> list[Block]:
        status = ctx.item.status
        if status in (ItemStatus.ANCHORED, ItemStatus.VERIFIED):
            return []
        if status is ItemStatus.MISMATCH:
            reason = "the item failed its last integrity check"
        elif status is ItemStatus.STORED:
            reason = "the item is not anchored yet; try again after the next anchor"
        else:
            reason = "the item has not been received completely"
        return [Block(ctx.item.id, self.name, reason)]


class RequireApprovalForRestricted:
    """A restricted item needs a department admin's approval for this purpose."""

    name = "restricted-needs-approval"

    def check(self, ctx: ItemContext, purpose: Purpose) -> list[Block]:
        if ctx.item.classification is not Classification.RESTRICTED:
            return []
        if purpose in ctx.approved_for:
            return []
        return [Block(ctx.item.id, self.name,
                      f"restricted evidence needs a department admin's approval for {purpose}")]


class NegativeEntry(BaseModel):
    """One entry of the configurable negative list (material that must not be shared).

    Matches an item carrying ``label``, or whose tag ``tag`` contains ``contains``
    (case-insensitive). Exactly one of the two ways must be given.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(min_length=1, max_length=64)
    reason: str = Field(min_length=1, max_length=256)
    label: str | None = Field(default=None, min_length=1, max_length=64)
    tag: Literal["party", "place", "time", "cause_of_action", "inspection_number",
                 "penalty_number"] | None = None
    contains: str | None = Field(default=None, min_length=1, max_length=128)

    @model_validator(mode="after")
    def _one_way(self) -> NegativeEntry:
        by_label = self.label is not None
        by_tag = self.tag is not None and self.contains is not None
        if by_label == by_tag or (self.tag is None) != (self.contains is None):
            raise ValueError("a negative-list entry needs either 'label' or 'tag' + 'contains'")
        return self

    def matches(self, item: EvidenceItem) -> bool:
        if self.label is not None:
            return self.label in item.labels
        assert self.tag in _TAG_FIELDS and self.contains is not None
        value = getattr(item.tags, self.tag) or ""
        return self.contains.casefold() in value.casefold()


class NegativeList:
    """Blocks items that match any configured negative-list entry (for either purpose)."""

    name = "negative-list"

    def __init__(self, entries: Sequence[NegativeEntry]) -> None:
        self.entries = tuple(entries)

    def check(self, ctx: ItemContext, purpose: Purpose) -> list[Block]:
        return [Block(ctx.item.id, f"{self.name}:{e.name}", e.reason)
                for e in self.entries if e.matches(ctx.item)]


#: The negative list used when none is configured.
DEFAULT_NEGATIVE_LIST = (
    NegativeEntry(name="unclosed-complaint-clue", label="unclosed_complaint_clue",
                  reason="unclosed complaint clues (未结投诉线索) may not be shared"),
    NegativeEntry(name="personal-privacy", label="personal_privacy",
                  reason="personal-privacy material (个人隐私) may not be shared"),
)


def sharing_policy(negative: Sequence[NegativeEntry], *, purpose: Purpose) -> AllOf:
    """The rules evidence must pass to be transferred to another department, or exported
    for a court (the negative list governs sharing between departments only)."""
    if purpose == "export":
        return AllOf([RequireApprovalForRestricted()])
    return AllOf([RequireAnchored(), RequireApprovalForRestricted(), NegativeList(negative)])
