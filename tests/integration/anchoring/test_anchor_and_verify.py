"""The service with an embedded anvil: items get anchored, then verified publicly and offline."""

from __future__ import annotations

import hashlib
import os
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from evidence_service.api import create_app
from evidence_service.config import AnalysisConfig, LedgerConfig, Settings
from evidence_service.domain.models import DepartmentKind, Role
from evidence_verify import parse_bundle, verify_bundle, verify_consistency_response
from tests.support.api import Api
from tests.support.live import free_port

pytestmark = pytest.mark.ledger
PASSWORD = "correct horse battery"


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(var_dir=tmp_path / "var", jwt_secret="t" * 40, anchor_interval=0.2,
                    ledger=LedgerConfig(mode="embedded", port=free_port(),
                                        keystore_scrypt_n=2**10),
                    analysis=AnalysisConfig(enabled=False))


@pytest.fixture
def api(settings: Settings) -> Iterator[Api]:
    with TestClient(create_app(settings)) as client:
        identity = client.app.state.services.identity  # type: ignore[attr-defined]
        dept = identity.create_department(None, code="ENF", name="执法",
                                          kind=DepartmentKind.ENFORCEMENT)
        world = Api(client=client, departments={"ENF": dept.id})
        identity.create_user(None, department_id=dept.id, username="officer",
                             password=PASSWORD, roles=[Role.OFFICER])
        r = client.post("/auth/login", json={"username": "officer", "password": PASSWORD})
        world.tokens["officer"] = r.json()["access_token"]
        yield world


def _wait_anchored(api: Api, item_id: str, timeout: float = 10) -> dict[str, object]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        item = api.client.get(f"/items/{item_id}", headers=api.auth("officer")).json()
        if item["status"] == "anchored":
            return dict(item)
        time.sleep(0.1)
    raise AssertionError("item not anchored within 10 s")


def test_upload_is_anchored_and_verifies_everywhere(api: Api, tmp_path: Path) -> None:
    case_id = api.create_case("officer")
    data = os.urandom(300_000)
    item = api.upload("officer", case_id, data)
    _wait_anchored(api, item["id"])

    public = api.client.get(f"/verify/{item['sha256']}").json()  # no token
    assert public["verdict"] == "verified"
    assert public["anchor"]["tx_hash"].startswith("0x")
    assert case_id not in str(public) and api.departments["ENF"] not in str(public)
    by_sm3 = api.client.get(f"/verify/{item['sm3']}").json()
    assert by_sm3["verdict"] == "verified"
    by_file = api.client.post("/verify", content=data,
                              headers={"Content-Type": "application/octet-stream"}).json()
    assert (by_file["verdict"], by_file["sha256"]) == ("verified",
                                                       hashlib.sha256(data).hexdigest())
    unknown = api.client.get(f"/verify/{'ab' * 32}").json()
    assert unknown["verdict"] == "unknown"

    bundle = api.client.get(f"/evidence/{item['id']}/proof", headers=api.auth("officer")).json()
    path = tmp_path / "clip.mp4"
    path.write_bytes(data)
    services = api.client.app.state.services  # type: ignore[attr-defined]
    report = verify_bundle(parse_bundle(bundle), file=path, rpc_url=services.ledger.node.rpc_url)
    assert report.verdict == "verified", report.render_text()


def test_recheck_catches_altered_bytes_and_doctored_rows(api: Api) -> None:
    case_id = api.create_case("officer")
    item = api.upload("officer", case_id, os.urandom(100_000))
    _wait_anchored(api, item["id"])
    r = api.client.post(f"/items/{item['id']}/verify", headers=api.auth("officer")).json()
    assert r["verdict"] == "verified"

    services = api.client.app.state.services  # type: ignore[attr-defined]
    stored = services.store.object_path(f"sha256/{item['sha256'][:2]}/{item['sha256'][2:4]}/"
                                        f"{item['sha256']}")
    stored.chmod(0o644)
    raw = bytearray(stored.read_bytes())
    raw[500] ^= 0x01
    stored.write_bytes(bytes(raw))
    r = api.client.post(f"/items/{item['id']}/verify", headers=api.auth("officer")).json()
    assert r["verdict"] == "mismatch"
    assert "stored bytes no longer match" in " ".join(r["reasons"])
    after = api.client.get(f"/items/{item['id']}", headers=api.auth("officer")).json()
    assert after["status"] == "mismatch"


def test_doctored_database_hash_is_caught_by_the_log(api: Api) -> None:
    case_id = api.create_case("officer")
    item = api.upload("officer", case_id, os.urandom(50_000))
    _wait_anchored(api, item["id"])
    services = api.client.app.state.services  # type: ignore[attr-defined]
    forged = uuid.uuid4().hex + uuid.uuid4().hex
    with services.uow() as repo:
        row = repo.get_item(item["id"], api.departments["ENF"])
        repo.save_item(row.model_copy(update={"sha256": forged}))
    # the public answer comes from the log: the forged hash was never registered ...
    assert api.client.get(f"/verify/{forged}").json()["verdict"] == "unknown"
    assert api.client.get(f"/verify/{item['sha256']}").json()["verdict"] == "verified"
    # ... and the re-check names the doctored row
    r = api.client.post(f"/items/{item['id']}/verify", headers=api.auth("officer")).json()
    assert r["verdict"] == "mismatch"
    assert "the database row differs from its log entry" in r["reasons"]


def test_consistency_between_anchored_heads(api: Api) -> None:
    case_id = api.create_case("officer")
    first = api.upload("officer", case_id, os.urandom(10_000))
    _wait_anchored(api, first["id"])
    sizes = [api.client.get("/log/head").json()["anchored"]["tree_size"]]
    for _ in range(3):
        item = api.upload("officer", case_id, os.urandom(10_000))
        _wait_anchored(api, item["id"])
        sizes.append(api.client.get("/log/head").json()["anchored"]["tree_size"])
    proof = api.client.get(f"/log/consistency?from={sizes[0]}&to={sizes[-1]}").json()
    verify_consistency_response(proof)
    assert api.client.get("/log/consistency?from=3&to=2").status_code == 404


def test_public_answer_turns_verified_at_once_and_is_then_replayed(
        api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    services = api.client.app.state.services  # type: ignore[attr-defined]
    cache = api.client.app.state.verdict_cache  # type: ignore[attr-defined]
    real_anchor_once, go = services.anchoring.anchor_once, threading.Event()

    def held() -> object:  # nothing is anchored until the test says so
        return real_anchor_once() if go.is_set() else None

    monkeypatch.setattr(services.anchoring, "anchor_once", held)
    case_id = api.create_case("officer")
    item = api.upload("officer", case_id, os.urandom(10_000))
    path = f"/verify/{item['sha256']}"
    for _ in range(2):
        assert api.client.get(path).json()["verdict"] == "pending"
    assert len(cache) == 0  # a pending answer is never kept

    go.set()
    _wait_anchored(api, item["id"])  # the worker anchors
    first = api.client.get(path)
    assert first.json()["verdict"] == "verified"  # the first request after the anchor

    def broken(**_: object) -> None:
        raise AssertionError("a final verdict must be served from the cache")

    monkeypatch.setattr(services.verification, "verify_digest", broken)
    again = api.client.get(path.upper().replace("/VERIFY/", "/verify/"))
    assert again.content == first.content
    assert {k: v for k, v in again.headers.items() if k != "date"} == {
        k: v for k, v in first.headers.items() if k != "date"}
    assert again.headers["x-frame-options"] == "DENY"
