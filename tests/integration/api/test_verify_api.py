"""Public verification endpoints without a chain (ledger off): verdicts, bad input, no leaks."""

from __future__ import annotations

import hashlib
import os

import pytest

from evidence_verify import parse_bundle, verify_bundle
from tests.support.api import Api


@pytest.mark.parametrize("digest", ["xyz", "ab" * 31, "ab" * 33, "g" * 64, "%00" * 3])
def test_malformed_digest_is_a_400(api: Api, digest: str) -> None:
    r = api.client.get(f"/verify/{digest}")
    assert r.status_code in (400, 404), r.text
    assert "error" in r.json()


def test_unknown_content_is_a_verdict_not_an_error(api: Api) -> None:
    r = api.client.get(f"/verify/{'0f' * 32}")
    assert r.status_code == 200
    assert r.json()["verdict"] == "unknown"


def test_registered_but_unanchored_is_pending_and_leaks_nothing(api: Api) -> None:
    case_id = api.create_case("officer", party="某公司")
    data = os.urandom(20_000)
    item = api.upload("officer", case_id, data)
    public = api.client.get(f"/verify/{item['sha256'].upper()}")
    assert public.json()["verdict"] == "pending"
    for secret in (case_id, api.departments["ENF"], "某公司", item["id"]):
        assert secret not in public.text
    by_file = api.client.post("/verify", content=data,
                              headers={"Content-Type": "application/octet-stream"}).json()
    assert by_file["verdict"] == "pending"
    assert by_file["sha256"] == hashlib.sha256(data).hexdigest()
    head = api.client.get("/log/head").json()
    # the registration, and the custody event of the upload helper reading the item back
    assert head == {"log_size": 2, "anchored": None}


def test_proof_bundle_is_scoped_and_verifies_as_pending(api: Api) -> None:
    case_id = api.create_case("officer")
    item = api.upload("officer", case_id, os.urandom(5_000))
    assert api.client.get(f"/evidence/{item['id']}/proof").status_code == 401
    other = api.client.get(f"/evidence/{item['id']}/proof", headers=api.auth("pen_officer"))
    assert other.status_code == 404
    bundle = api.client.get(f"/evidence/{item['id']}/proof", headers=api.auth("officer")).json()
    assert bundle["anchor"] is None
    assert verify_bundle(parse_bundle(bundle)).verdict == "pending"


@pytest.mark.parametrize("query", ["from=0&to=1", "from=a&to=2", "to=2", "from=2&to=1",
                                   "from=1&to=1"])
def test_consistency_bad_parameters(api: Api, query: str) -> None:
    r = api.client.get(f"/log/consistency?{query}")
    assert r.status_code in (404, 422), r.text
    assert "error" in r.json()
