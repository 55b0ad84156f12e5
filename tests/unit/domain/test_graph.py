"""The case-graph builder and the search criteria (pure functions, no database)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta, timezone

import pytest

from evidence_service.domain.errors import InvalidInput
from evidence_service.domain.graph import MAX_PAIRWISE_GROUP, build_case_graph
from evidence_service.domain.models import (
    CaptureMetadata,
    Case,
    Department,
    DepartmentKind,
    EvidenceItem,
    EvidenceKind,
    EvidenceTags,
)
from evidence_service.domain.search import ItemSearch, fold_term

NOW = datetime(2026, 11, 20, 1, 30, tzinfo=UTC)
DEPT = Department(id=str(uuid.uuid4()), code="ENF", name="执法支队",
                  kind=DepartmentKind.ENFORCEMENT, created_at=NOW)
CASE = Case(id=str(uuid.uuid4()), department_id=DEPT.id, case_number="C-1", title="t",
            created_by="u", created_at=NOW)


def item(n: int, **tags: str | None) -> EvidenceItem:
    return EvidenceItem(id=f"{n:08d}-0000-4000-8000-000000000000", case_id=CASE.id,
                        department_id=DEPT.id, kind=EvidenceKind.DOCUMENTARY,
                        original_filename=f"{n}.pdf", media_type="application/pdf",
                        declared_size=1, tags=EvidenceTags(**tags), created_by="u",
                        created_at=NOW + timedelta(seconds=n))


def test_fold_term_agrees_across_width_case_and_spacing() -> None:
    assert fold_term("  ＡＣＭＥ\tTrading  Co. ") == fold_term("acme trading co.") == (
        "acme trading co.")
    assert fold_term("Straße") == fold_term("STRASSE")


def test_spellings_of_one_party_are_one_node_with_a_stable_label() -> None:
    items = [item(1, party="ACME Ltd"), item(2, party="acme  ltd"), item(3, party="   ")]
    g = build_case_graph(case=CASE, department=DEPT, items=items, officers={})
    party = [n for n in g.nodes if n.type == "party"]
    assert [(n.id, n.label) for n in party] == [("party:acme ltd", "ACME Ltd")]
    assert build_case_graph(case=CASE, department=DEPT, items=items[::-1], officers={}) == g


def test_large_groups_link_through_their_node_only() -> None:
    size = MAX_PAIRWISE_GROUP + 1
    items = [item(n, party="big", place=f"p{n % 2}") for n in range(size)]
    g = build_case_graph(case=CASE, department=DEPT, items=items, officers={})
    relations = [e.relation for e in g.edges]
    assert g.pairwise_omitted == ("party:big",)
    assert "shares_party" not in relations
    assert relations.count("concerns") == size
    even = (size + 1) // 2
    assert relations.count("shares_place") == even * (even - 1) // 2 + (size // 2) * (
        size // 2 - 1) // 2


def test_item_without_tags_links_only_to_its_case() -> None:
    g = build_case_graph(case=CASE, department=DEPT, items=[item(1)], officers={})
    assert {(e.source, e.target, e.relation) for e in g.edges} == {
        (f"case:{CASE.id}", f"department:{DEPT.id}", "owned_by"),
        (f"case:{CASE.id}", f"item:{item(1).id}", "contains")}


def test_capture_location_and_place_tag_meet_in_one_place_node() -> None:
    a = item(1, place="Harbour Rd")
    b = item(2).model_copy(update={"capture": CaptureMetadata(location="harbour rd")})
    g = build_case_graph(case=CASE, department=DEPT, items=[a, b], officers={})
    assert ("item:" + a.id, "item:" + b.id, "shares_place") in {
        (e.source, e.target, e.relation) for e in g.edges}


def test_search_criteria_are_folded_and_checked() -> None:
    s = ItemSearch.build(party=" ＡＣＭＥ ", inspection_number=" JC-1 ", place="")
    assert (s.party, s.inspection_number, s.place) == ("acme", "JC-1", None)
    with pytest.raises(InvalidInput, match="at least one"):
        ItemSearch.build(party="  ")
    with pytest.raises(InvalidInput, match="timezone"):
        ItemSearch.build(captured_from=datetime(2026, 1, 1))
    with pytest.raises(InvalidInput, match="later than"):
        ItemSearch.build(captured_from=NOW, captured_to=NOW.astimezone(timezone(
            timedelta(hours=8))) - timedelta(seconds=1))


def test_many_copies_of_one_content_link_only_through_the_omitted_list() -> None:
    digest = "ab" * 32
    items = [item(n).model_copy(update={"sha256": digest})
             for n in range(MAX_PAIRWISE_GROUP + 1)]
    g = build_case_graph(case=CASE, department=DEPT, items=items, officers={})
    assert g.pairwise_omitted == (f"sha256:{digest}",)
    assert all(e.relation != "same_content" for e in g.edges)
    two = build_case_graph(case=CASE, department=DEPT, items=items[:2], officers={})
    assert [e.via for e in two.edges if e.relation == "same_content"] == [f"sha256:{digest}"]
