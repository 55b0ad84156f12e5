"""Tag search (``GET /items/search``) and the case graph (``GET /cases/{id}/graph``).

World: ENF's case ``ENF-2026-010`` holds three items about one party at one place (two of
them with identical bytes), ENF's second case one item of another party, and PEN holds an
item with the very same tags, which ENF must never see (and the other way round).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from tests.integration.api.conftest import PASSWORD
from tests.support.api import Api

PARTY, PLACE, CAUSE = "某餐饮店", "人民路12号", "占道经营"
SAME_BYTES = b"shared body-worn footage " * 40


@dataclass(frozen=True)
class World:
    case: str
    other_case: str
    items: dict[str, dict[str, Any]]
    pen_case: str
    pen_item: str

    def ids(self, *names: str) -> list[str]:
        return [self.items[n]["id"] for n in names]


@pytest.fixture
def world(api: Api) -> World:
    r = api.client.post(f"/departments/{api.departments['ENF']}/users", headers=api.auth("admin"),
                        json={"username": "badge_officer", "password": PASSWORD,
                              "roles": ["officer"], "display_name": "张警官",
                              "badge_number": "310115"})
    assert r.status_code == 201, r.text
    case = api.create_case("officer", "ENF-2026-010", party=PARTY, cause_of_action=CAUSE)
    other = api.create_case("officer", "ENF-2026-011")
    items = {
        "a": api.upload("officer", case, SAME_BYTES, filename="a.mp4", tag_party=PARTY,
                        tag_place=PLACE, tag_inspection_number="JC-001",
                        tag_cause_of_action=CAUSE, captured_at="2026-11-20T09:30:00+08:00",
                        recorder_id="DSJ-0042", badge_number="310115",
                        location="31.2304,121.4737"),
        "b": api.upload("officer", case, b"photo of the stall", filename="b.jpg",
                        tag_party=f" {PARTY} ", tag_place=PLACE, tag_penalty_number="CF-009",
                        captured_at="2026-11-20T10:00:00+08:00"),
        "c": api.upload("officer", case, SAME_BYTES, filename="c.mp4", tag_party=PARTY,
                        tag_place=PLACE, tag_inspection_number="JC-001",
                        captured_at="2026-11-21T08:00:00Z"),
        "d": api.upload("officer", other, b"harbour notes", filename="d.pdf",
                        kind="documentary", tag_party="ACME Trading Co.",
                        tag_place="Harbour Rd", tag_cause_of_action="Unlicensed 100% sale",
                        captured_at="2026-11-22T12:00:00+00:00"),
    }
    pen_case = api.create_case("pen_officer", "PEN-2026-010", party=PARTY)
    pen_item = api.upload("pen_officer", pen_case, SAME_BYTES, tag_party=PARTY,
                          tag_place=PLACE, tag_inspection_number="JC-001",
                          tag_penalty_number="CF-009", captured_at="2026-11-20T09:30:00+08:00")
    return World(case=case, other_case=other, items=items, pen_case=pen_case,
                 pen_item=pen_item["id"])


def search(api: Api, user: str = "officer", **params: str | int) -> httpx.Response:
    return api.client.get("/items/search", headers=api.auth(user), params=params)


def hits(api: Api, user: str = "officer", **params: str | int) -> list[str]:
    r = search(api, user, **params)
    assert r.status_code == 200, r.text
    return [item["id"] for item in r.json()]


# -- search by each tag ------------------------------------------------------------------------
# one world serves every case of a table (building it costs more than the searches)
_BY_TAG = [
    ({"party": "餐饮"}, "abc"),
    ({"party": "acme"}, "d"),
    ({"party": "ＡＣＭＥ trading"}, "d"),  # full-width and case fold to the same text
    ({"place": "人民路"}, "abc"),
    ({"place": "harbour RD"}, "d"),
    ({"place": "31.2304"}, "a"),  # the place filter also matches the capture location
    ({"cause_of_action": "占道"}, "a"),
    ({"cause_of_action": "100%"}, "d"),
    ({"inspection_number": "JC-001"}, "ac"),
    ({"inspection_number": "JC-00"}, ""),  # numbers match exactly, never as substrings
    ({"penalty_number": "CF-009"}, "b"),
    ({"party": "%"}, ""),  # LIKE wildcards are literal
    ({"party": "_"}, ""),
]


def test_search_by_each_tag(api: Api, world: World) -> None:
    for params, expected in _BY_TAG:
        assert hits(api, **params) == world.ids(*expected), params


def test_search_by_capture_time_range_is_inclusive_and_timezone_aware(
        api: Api, world: World) -> None:
    assert hits(api, captured_from="2026-11-20T09:30:00+08:00",
                captured_to="2026-11-20T02:00:00Z") == world.ids("a", "b")
    assert hits(api, captured_from="2026-11-20T01:30:00.000001+00:00") == world.ids("b", "c", "d")
    assert hits(api, captured_to="2026-11-20T01:29:59Z") == []
    assert hits(api, captured_from="2026-11-21T00:00:00-08:00") == world.ids("c", "d")


def test_search_combines_filters_and_case(api: Api, world: World) -> None:
    assert hits(api, party=PARTY, inspection_number="JC-001") == world.ids("a", "c")
    assert hits(api, party=PARTY, captured_to="2026-11-20T23:59:59+08:00") == world.ids("a", "b")
    assert hits(api, place="人民路", penalty_number="CF-009") == world.ids("b")
    assert hits(api, case_id=world.other_case) == world.ids("d")
    assert hits(api, case_id=world.other_case, party=PARTY) == []
    assert hits(api, case_id=world.pen_case) == []  # another department's case: nothing


def test_search_pages_are_stable_and_complete(api: Api, world: World) -> None:
    everything = hits(api, captured_from="2000-01-01T00:00:00Z")
    assert everything == world.ids("a", "b", "c", "d")
    pages = [hits(api, captured_from="2000-01-01T00:00:00Z", limit=3, offset=off)
             for off in (0, 3, 6)]
    assert pages == [everything[:3], everything[3:], []]


def test_search_never_crosses_departments(api: Api, world: World) -> None:
    for params in ({"party": PARTY}, {"inspection_number": "JC-001"}, {"place": PLACE},
                   {"captured_from": "2000-01-01T00:00:00Z"}):
        assert world.pen_item not in hits(api, **params)
        assert hits(api, "pen_officer", **params) == [world.pen_item]
    assert hits(api, "pen_officer", case_id=world.case) == []


def test_reviewer_searches_but_device_may_not(api: Api, world: World) -> None:
    assert hits(api, "reviewer", party=PARTY) == world.ids("a", "b", "c")
    r = api.client.post("/device-tokens", headers=api.auth("admin"), json={"device_id": "D-1"})
    device = {"Authorization": f"Bearer {r.json()['token']}"}
    r = api.client.get("/items/search", headers=device, params={"party": PARTY})
    assert r.status_code == 403, r.text
    assert api.client.get("/items/search", params={"party": PARTY}).status_code == 401


# -- bad parameters ----------------------------------------------------------------------------
_BAD_PARAMETERS: list[tuple[dict[str, Any], int, str]] = [
    ({}, 400, "invalid_input"),
    ({"party": "   "}, 400, "invalid_input"),
    ({"limit": 10}, 400, "invalid_input"),  # paging alone is no filter
    ({"captured_from": "2026-11-20T09:30:00"}, 422, "invalid_request"),  # naive
    ({"captured_from": "yesterday"}, 422, "invalid_request"),
    ({"captured_to": "1763600000"}, 422, "invalid_request"),  # epoch seconds are not ISO 8601
    ({"captured_from": "2026-11-21T00:00:00Z", "captured_to": "2026-11-20T00:00:00Z"},
     400, "invalid_input"),
    ({"party": "x", "limit": 0}, 422, "invalid_request"),
    ({"party": "x", "limit": 501}, 422, "invalid_request"),
    ({"party": "x", "offset": -1}, 422, "invalid_request"),
    ({"party": "x", "limit": "many"}, 422, "invalid_request"),
    ({"party": "x" * 257}, 422, "invalid_request"),
    ({"party": "a\x00b"}, 422, "invalid_request"),
    ({"partyy": "x"}, 422, "invalid_request"),  # a misspelt filter is refused, not ignored
    ({"case_id": "not-a-uuid"}, 400, "invalid_input"),
]


def test_bad_search_parameters_answer_json_errors(api: Api, world: World) -> None:
    for params, status, code in _BAD_PARAMETERS:
        r = search(api, **params)
        assert r.status_code == status, (params, r.text)
        assert r.json()["error"]["code"] == code, params
        assert PARTY not in r.text


def test_inverted_range_and_missing_filter_say_what_is_wrong(api: Api, world: World) -> None:
    r = search(api, captured_from="2026-11-21T00:00:00Z", captured_to="2026-11-20T00:00:00Z")
    assert r.json()["error"]["message"] == "captured_from is later than captured_to"
    assert search(api).json()["error"]["message"] == "give at least one search criterion"
    detail = search(api, captured_from="2026-11-20T09:30:00").json()["error"]["details"][0]
    assert detail["loc"] == ["query", "captured_from"]
    assert "timezone" in detail["msg"]


# -- the case graph ----------------------------------------------------------------------------
def graph(api: Api, case_id: str, user: str = "officer") -> httpx.Response:
    return api.client.get(f"/cases/{case_id}/graph", headers=api.auth(user))


def test_case_graph_links_items_through_party_place_numbers_and_content(
        api: Api, world: World) -> None:
    r = graph(api, world.case)
    assert r.status_code == 200, r.text
    body = r.json()
    a, b, c = (f"item:{i}" for i in world.ids("a", "b", "c"))
    case, dept = f"case:{world.case}", f"department:{api.departments['ENF']}"
    party, place, loc = f"party:{PARTY}", f"place:{PLACE}", "place:31.2304,121.4737"
    nodes = {n["id"]: n for n in body["nodes"]}
    assert set(nodes) == {case, dept, a, b, c, party, place, loc, f"cause:{CAUSE}",
                          "inspection:JC-001", "penalty:CF-009", "recorder:DSJ-0042",
                          "officer:310115"}
    assert [n["id"] for n in body["nodes"]] == sorted(nodes)
    assert nodes[case] == {"id": case, "type": "case", "label": "ENF-2026-010", "attributes": {
        "classification": "internal", "status": "open", "title": "占道经营"}}
    assert nodes[dept]["label"] == "执法支队"
    assert nodes[party]["label"] == PARTY  # " 某餐饮店 " of item b is the same party
    assert nodes[a]["attributes"]["sha256"] == world.items["a"]["sha256"]
    assert nodes["officer:310115"]["label"] == "张警官"
    edges = {(e["source"], e["target"], e["relation"]) for e in body["edges"]}
    assert [(e["source"], e["target"], e["relation"]) for e in body["edges"]] == sorted(edges)
    pairs = {(x, y) for x, y in ((a, b), (a, c), (b, c))}
    expected = {
        (case, dept, "owned_by"), (case, party, "concerns"),
        (case, f"cause:{CAUSE}", "cause_of_action"),
        *((case, i, "contains") for i in (a, b, c)),
        *((i, party, "concerns") for i in (a, b, c)),
        *((i, place, "tagged_place") for i in (a, b, c)),
        (a, loc, "captured_in"), (a, f"cause:{CAUSE}", "cause_of_action"),
        (a, "inspection:JC-001", "inspection_number"), (c, "inspection:JC-001",
                                                        "inspection_number"),
        (b, "penalty:CF-009", "penalty_number"), (a, "recorder:DSJ-0042", "recorded_by_device"),
        (a, "officer:310115", "recorded_by_officer"), ("officer:310115", dept, "member_of"),
        *((*sorted(p), "shares_party") for p in pairs),
        *((*sorted(p), "shares_place") for p in pairs),
        (*sorted((a, c)), "shares_inspection_number"), (*sorted((a, c)), "same_content"),
    }
    assert edges == expected
    via = {(e["source"], e["target"], e["relation"]): e["via"] for e in body["edges"]}
    assert via[(*sorted((a, c)), "same_content")] == f"sha256:{world.items['a']['sha256']}"
    assert via[(*sorted((a, b)), "shares_party")] == party
    assert body["pairwise_omitted"] == []
    assert PARTY not in graph(api, world.other_case).text  # only this case's items
    assert graph(api, world.case).json() == body  # deterministic


def test_other_departments_case_graph_is_an_unknown_id(api: Api, world: World) -> None:
    real = graph(api, world.case, "pen_officer")
    assert real.status_code == 404, real.text
    assert real.json() == {"error": {"code": "not_found", "message": "case not found"}}
    for unknown in (str(uuid.uuid4()), "not-a-uuid", world.items["a"]["id"]):
        fake = graph(api, unknown, "pen_officer")
        assert (fake.status_code, fake.content) == (real.status_code, real.content)
    for secret in (PARTY, PLACE, "ENF-2026-010", world.items["a"]["id"]):
        assert secret not in real.text
    pen = graph(api, world.pen_case, "pen_officer").json()
    assert f"item:{world.pen_item}" in {n["id"] for n in pen["nodes"]}
    assert not any(n["id"].startswith("officer:") for n in pen["nodes"])
