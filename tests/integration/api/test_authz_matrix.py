"""Every route × every role × own / other department, generated from the app's route table.

``RULES`` declares, for each (method, path) the app serves, who may call it: public, or the
roles allowed in their own department (``scoped`` routes name a department's resource and
answer 404 to everyone else's; ``cross`` roles may act on other departments). A route the
table does not name fails the test, so a new endpoint cannot ship without a rule.
One world (SQLite + filesystem) serves every request.
"""

from __future__ import annotations

import hashlib
import io
import itertools
import tarfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from evidence_service.api import create_app
from evidence_service.config import AnalysisConfig, IntegrityConfig, LedgerConfig, Settings
from evidence_service.domain.models import DepartmentKind, Role
from tests.support.api import OFFSET_CT, TUS, Api, encode_metadata

PASSWORD = "correct horse battery"
ROLES = ("system_admin", "department_admin", "officer", "reviewer", "verifier", "auditor",
         "device", "none")
READ = frozenset({"department_admin", "officer", "reviewer", "verifier", "auditor"})
WRITE = frozenset({"officer", "department_admin"})
UPLOAD = WRITE | {"device"}
CASE_READ = READ | {"device"}
DECIDE = frozenset({"department_admin", "officer", "reviewer", "verifier"})
REVIEW = frozenset({"reviewer", "department_admin", "auditor", "system_admin"})
ANY = frozenset(ROLES) - {"none"}
PUBLIC = frozenset({"*"})


@dataclass(frozen=True)
class Rule:
    """Who may call a route. ``exists``: the own-department resource exists (never 404)."""

    allowed: frozenset[str]
    scoped: bool = False
    cross: frozenset[str] = frozenset()
    exists: bool = True
    #: The route needs the chain; with the ledger off an allowed call answers 503.
    chain: bool = False
    #: What a role outside ``allowed`` gets in its own department.
    denied: int = 403
    #: What an allowed role outside ``cross`` gets for another department's resource.
    other: int = 404
    extra: dict[str, Any] = field(default_factory=dict)


RULES: dict[tuple[str, str], Rule] = {
    # public: documentation, health, login, verification
    ("GET", "/openapi.json"): Rule(PUBLIC), ("GET", "/docs"): Rule(PUBLIC),
    ("GET", "/docs/oauth2-redirect"): Rule(PUBLIC), ("GET", "/redoc"): Rule(PUBLIC),
    ("GET", "/healthz"): Rule(PUBLIC), ("GET", "/readyz"): Rule(PUBLIC),
    ("GET", "/metrics"): Rule(PUBLIC), ("POST", "/auth/login"): Rule(PUBLIC),
    ("GET", "/verify/{digest}"): Rule(PUBLIC), ("POST", "/verify"): Rule(PUBLIC),
    ("GET", "/log/head"): Rule(PUBLIC), ("GET", "/log/consistency"): Rule(PUBLIC, exists=False),
    ("OPTIONS", "/uploads"): Rule(PUBLIC),
    ("POST", "/verify/package"): Rule(PUBLIC),
    # the web pages: HTML shells with no data (their JS calls the API with the user's token)
    ("GET", "/"): Rule(PUBLIC), ("GET", "/ui/"): Rule(PUBLIC), ("GET", "/ui/login"): Rule(PUBLIC),
    ("GET", "/ui/upload"): Rule(PUBLIC), ("GET", "/ui/cases/{case_id}"): Rule(PUBLIC),
    ("GET", "/ui/items/{item_id}"): Rule(PUBLIC), ("GET", "/ui/dashboard"): Rule(PUBLIC),
    ("GET", "/ui/transfers"): Rule(PUBLIC), ("GET", "/ui/verify"): Rule(PUBLIC),
    # identity
    ("GET", "/auth/me"): Rule(ANY), ("GET", "/departments"): Rule(ANY),
    ("POST", "/departments"): Rule(frozenset({"system_admin"})),
    ("POST", "/departments/{department_id}/users"): Rule(
        frozenset({"system_admin", "department_admin"}), scoped=True,
        cross=frozenset({"system_admin"}), other=403),  # department ids are public anyway
    ("GET", "/departments/{department_id}/users"): Rule(
        frozenset({"system_admin", "department_admin"}), scoped=True,
        cross=frozenset({"system_admin"}), denied=404),
    ("POST", "/device-tokens"): Rule(frozenset({"department_admin"})),
    ("DELETE", "/device-tokens/{token_id}"): Rule(frozenset({"department_admin"}), scoped=True,
                                                  exists=False),
    # cases, items, custody
    ("POST", "/cases"): Rule(WRITE), ("GET", "/cases"): Rule(CASE_READ),
    ("GET", "/cases/{case_id}"): Rule(CASE_READ, scoped=True),
    ("GET", "/cases/{case_id}/items"): Rule(READ, scoped=True),
    ("GET", "/items/{item_id}"): Rule(READ, scoped=True),
    ("GET", "/items/search"): Rule(READ),
    ("GET", "/cases/{case_id}/graph"): Rule(READ, scoped=True),
    ("GET", "/items/{item_id}/custody"): Rule(READ, scoped=True),
    ("GET", "/cases/{case_id}/custody"): Rule(READ, scoped=True),
    ("GET", "/items/{item_id}/content"): Rule(READ, scoped=True),
    ("POST", "/items/{item_id}/playback"): Rule(READ, scoped=True),
    # the media path takes a playback grant (a cookie), never a bearer token
    ("GET", "/items/{item_id}/media"): Rule(frozenset(), denied=401),
    ("POST", "/items/{item_id}/approvals"): Rule(frozenset({"department_admin"}), scoped=True),
    ("PATCH", "/items/{item_id}/grading"): Rule(frozenset({"department_admin"}), scoped=True),
    ("GET", "/cases/{case_id}/package"): Rule(READ, scoped=True),
    ("GET", "/alerts"): Rule(READ),
    ("GET", "/integrity/status"): Rule(REVIEW),
    # transfers (no transfer exists here: the ledger is off)
    ("POST", "/cases/{case_id}/transfers"): Rule(WRITE, scoped=True, chain=True),
    ("GET", "/transfers"): Rule(READ),
    ("GET", "/transfers/{transfer_id}"): Rule(READ, scoped=True, exists=False),
    ("POST", "/transfers/{transfer_id}/verify"): Rule(DECIDE, scoped=True, exists=False,
        chain=True),
    ("POST", "/transfers/{transfer_id}/accept"): Rule(DECIDE, scoped=True, exists=False,
        chain=True),
    ("POST", "/transfers/{transfer_id}/reject"): Rule(DECIDE, scoped=True, exists=False,
        chain=True),
    # analysis
    ("GET", "/items/{item_id}/analysis"): Rule(READ, scoped=True),
    ("POST", "/items/{item_id}/analysis"): Rule(WRITE | {"reviewer"}, scoped=True),
    ("PUT", "/cases/{case_id}/analysis-options"): Rule(WRITE | {"reviewer"}, scoped=True),
    ("GET", "/artefacts/{artefact_id}/content"): Rule(READ, scoped=True, exists=False),
    ("GET", "/artefacts/{artefact_id}/proof"): Rule(READ, scoped=True, exists=False),
    # uploads (tus) and proofs
    ("POST", "/uploads"): Rule(UPLOAD, scoped=True),
    ("HEAD", "/uploads/{upload_id}"): Rule(CASE_READ, scoped=True),
    ("GET", "/uploads/{upload_id}"): Rule(CASE_READ, scoped=True),
    ("PATCH", "/uploads/{upload_id}"): Rule(UPLOAD, scoped=True),
    ("DELETE", "/uploads/{upload_id}"): Rule(UPLOAD, scoped=True),
    ("POST", "/cases/{case_id}/batches"): Rule(UPLOAD, scoped=True),
    ("GET", "/evidence/{item_id}/proof"): Rule(READ, scoped=True),
    ("POST", "/items/{item_id}/verify"): Rule(READ, scoped=True),
}


def served_routes(app: FastAPI) -> set[tuple[str, str]]:
    """(method, path) of every route the app answers, through included routers too."""
    found: set[tuple[str, str]] = set()
    for route in app.routes:
        contexts = getattr(route, "effective_route_contexts", None)
        if contexts is not None:
            found.update((m, ctx.path) for ctx in contexts() for m in ctx.methods)
        elif hasattr(route, "methods"):
            methods = set(route.methods or ())
            found.update((m, route.path) for m in methods - {"HEAD"} or methods)
    return found


@dataclass
class World:
    api: Api
    ids: dict[str, dict[str, str]]  # "own" / "other" -> parameter name -> id
    counter: Iterator[int] = field(default_factory=itertools.count)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    var = tmp_path_factory.mktemp("authz") / "var"
    settings = Settings(var_dir=Path(var), jwt_secret="test-secret-" + uuid.uuid4().hex,
                        ledger=LedgerConfig(mode="off"), analysis=AnalysisConfig(enabled=False),
                        integrity=IntegrityConfig(enabled=False))
    with TestClient(create_app(settings)) as client:
        yield _populate(client)


def _populate(client: TestClient) -> World:
    identity = client.app.state.services.identity  # type: ignore[attr-defined]
    enf = identity.create_department(None, code="ENF", name="执法支队",
                                     kind=DepartmentKind.ENFORCEMENT)
    pen = identity.create_department(None, code="PEN", name="处罚科", kind=DepartmentKind.REVIEW)
    api = Api(client=client, departments={"ENF": enf.id, "PEN": pen.id})
    for role in ROLES[:6]:
        identity.create_user(None, department_id=enf.id, username=role, password=PASSWORD,
                             roles=[Role(role)])
    identity.create_user(None, department_id=pen.id, username="pen_officer",
                         password=PASSWORD, roles=[Role.OFFICER])
    identity.create_user(None, department_id=pen.id, username="pen_admin",
                         password=PASSWORD, roles=[Role.DEPARTMENT_ADMIN])
    for name in (*ROLES[:6], "pen_officer", "pen_admin"):
        r = client.post("/auth/login", json={"username": name, "password": PASSWORD})
        api.tokens[name] = r.json()["access_token"]
    ids = {"own": _resources(api, "officer", "admin-own"),
           "other": _resources(api, "pen_officer", "admin-other")}
    enf_admin = identity.authenticate(api.tokens["department_admin"])
    api.tokens["device"] = identity.create_device_token(enf_admin, device_id="dock-1",
                                                        label="dock")[1]
    ids["own"]["token_id"] = identity.create_device_token(enf_admin, device_id="dock-2",
                                                          label="dock")[0].id
    pen_admin = identity.authenticate(api.tokens["pen_admin"])
    ids["other"]["token_id"] = identity.create_device_token(pen_admin, device_id="dock-3",
                                                            label="dock")[0].id
    ids["own"]["department_id"], ids["other"]["department_id"] = enf.id, pen.id
    return World(api=api, ids=ids)


def _resources(api: Api, user: str, tag: str) -> dict[str, str]:
    case_id = api.create_case(user, number=f"{tag}-{uuid.uuid4().hex[:6]}")
    data = f"evidence of {tag}".encode() * 50
    item = api.upload(user, case_id, data)
    pending = api.tus_create(user, case_id, 10).headers["Location"].rsplit("/", 1)[1]
    return {"case_id": case_id, "item_id": item["id"], "upload_id": pending,
            "transfer_id": str(uuid.uuid4()), "artefact_id": str(uuid.uuid4()),
            "digest": hashlib.sha256(data).hexdigest()}


def _request(world: World, method: str, path: str, role: str,
             ids: dict[str, str]) -> httpx.Response:
    api, n = world.api, next(world.counter)
    headers = {} if role == "none" else {"Authorization": f"Bearer {api.tokens[role]}"}
    url = path.format(**ids)
    kwargs: dict[str, Any] = {}
    bodies: dict[tuple[str, str], Any] = {
        ("POST", "/auth/login"): {"username": "officer", "password": PASSWORD},
        ("POST", "/departments"): {"code": f"D{n}", "name": "新部门", "kind": "court"},
        ("POST", "/departments/{department_id}/users"): {
            "username": f"user{n}", "password": PASSWORD, "roles": ["auditor"]},
        ("POST", "/device-tokens"): {"device_id": f"dock-{n}"},
        ("POST", "/cases"): {"case_number": f"C-{n}", "title": "占道经营"},
        ("POST", "/items/{item_id}/approvals"): {"purpose": "export"},
        ("PATCH", "/items/{item_id}/grading"): {"classification": "internal"},
        ("POST", "/cases/{case_id}/transfers"): {"to_department": "PEN"},
        ("POST", "/transfers/{transfer_id}/reject"): {"reason": "不予接收"},
        ("POST", "/items/{item_id}/analysis"): {},
        ("PUT", "/cases/{case_id}/analysis-options"): {},
    }
    if (method, path) in bodies:
        kwargs["json"] = bodies[(method, path)]
    if path == "/items/search":
        kwargs["params"] = {"party": "某"}
    elif path == "/log/consistency":
        kwargs["params"] = {"from": 1, "to": 1}
    elif (method, path) == ("POST", "/verify"):
        kwargs["content"] = b"some bytes"
    elif path.endswith("/batches"):
        tar = io.BytesIO()
        with tarfile.open(fileobj=tar, mode="w") as archive:
            info = tarfile.TarInfo(f"IMG_{n}.JPG")
            info.size = 1
            archive.addfile(info, io.BytesIO(bytes([n % 256])))
        headers.update({"Content-Type": "application/x-tar", "Batch-Metadata": encode_metadata(
            {"kind": "audio_visual"})})
        kwargs["content"] = tar.getvalue()
    elif path.startswith("/uploads"):
        headers.update(TUS)
        if method == "POST":
            headers.update({"Upload-Length": "10", "Upload-Metadata": encode_metadata(
                {"case_id": ids["case_id"], "filename": "a.mp4", "kind": "audio_visual"})})
        elif method == "PATCH":
            headers.update({**OFFSET_CT, "Upload-Offset": "0"})
            kwargs["content"] = b"0"
    return api.client.request(method, url, headers=headers, **kwargs)


def _outcome(status: int) -> str:
    return {401: "401", 403: "403", 404: "404"}.get(status, "ok" if status < 500 else "5xx")


def test_every_route_has_a_rule(world: World) -> None:
    served = served_routes(world.api.client.app)  # type: ignore[arg-type]
    assert served - RULES.keys() == set(), "routes without an authorization rule"
    assert RULES.keys() - served == set(), "rules for routes the app no longer serves"


@pytest.mark.expect_error_logs  # the chain routes answer 503 (logged at ERROR) without a ledger
def test_authorization_matrix(world: World) -> None:
    failures: list[str] = []
    for (method, path), rule in sorted(RULES.items()):
        sides = ("own", "other") if rule.scoped else ("own",)
        for role, side in itertools.product(ROLES, sides):
            r = _request(world, method, path, role, world.ids[side])
            if rule.chain and role in rule.allowed and r.status_code == 503:
                continue  # past the role check, refused for want of a chain (no lookup made)
            got, expected = _outcome(r.status_code), _expected(rule, role, side)
            if got not in expected:
                failures.append(f"{method} {path} as {role} ({side}): {r.status_code} "
                                f"{r.text[:120]} (expected {sorted(expected)})")
            if r.status_code >= 400 and method != "HEAD":
                assert "error" in r.json(), f"{method} {path}: error body is not JSON"
    assert not failures, "\n".join(failures)


def _expected(rule: Rule, role: str, side: str) -> set[str]:
    if rule.allowed == PUBLIC:
        return {"ok"} if rule.exists else {"ok", "404"}
    if role == "none":
        return {"401"}
    if role not in rule.allowed:
        return {str(rule.denied)} if side == "own" else {"403", "404"}
    if side == "other" and role not in rule.cross:
        return {str(rule.other)}
    return {"ok"} if rule.exists else {"ok", "404"}
