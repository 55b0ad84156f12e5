"""Security headers, CORS, JWT key rotation, and what error bodies must never contain."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import jwt
import pytest
from fastapi.testclient import TestClient

from evidence_service.api import create_app
from evidence_service.config import AnalysisConfig, IntegrityConfig, LedgerConfig, Settings
from evidence_service.domain.models import DepartmentKind, Role

PASSWORD = "correct horse battery"


def _app(tmp_path: Path, **values: object) -> TestClient:
    settings = Settings(var_dir=tmp_path / "var", ledger=LedgerConfig(mode="off"),
                        analysis=AnalysisConfig(enabled=False),
                        integrity=IntegrityConfig(enabled=False), **values)  # type: ignore[arg-type]
    return TestClient(create_app(settings))


def _login(client: TestClient) -> str:
    identity = client.app.state.services.identity  # type: ignore[attr-defined]
    dept = identity.create_department(None, code="ENF", name="ENF",
                                      kind=DepartmentKind.ENFORCEMENT)
    identity.create_user(None, department_id=dept.id, username="officer", password=PASSWORD,
                         roles=[Role.OFFICER])
    r = client.post("/auth/login", json={"username": "officer", "password": PASSWORD})
    return str(r.json()["access_token"])


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    with _app(tmp_path, jwt_secret="current-" + uuid.uuid4().hex) as c:
        yield c


def test_security_headers_and_no_cors_by_default(client: TestClient) -> None:
    for r in (client.get("/healthz"), client.get("/cases"), client.get("/metrics")):
        assert r.headers["X-Content-Type-Options"] == "nosniff"
        assert r.headers["X-Frame-Options"] == "DENY"
        assert "frame-ancestors 'none'" in r.headers["Content-Security-Policy"]
        assert r.headers["Referrer-Policy"] == "no-referrer"
        assert "Strict-Transport-Security" not in r.headers  # plain HTTP here
    assert client.get("/cases").headers["Cache-Control"] == "no-store"
    r = client.get("/healthz", headers={"Origin": "https://evil.example"})
    assert "access-control-allow-origin" not in r.headers
    https = TestClient(client.app, base_url="https://testserver")
    assert "max-age=" in https.get("/healthz").headers["Strict-Transport-Security"]


def test_cors_only_for_configured_origins(tmp_path: Path) -> None:
    with _app(tmp_path, cors_origins=["https://court.example"]) as c:
        ok = c.options("/cases", headers={"Origin": "https://court.example",
                                          "Access-Control-Request-Method": "GET"})
        assert ok.headers["access-control-allow-origin"] == "https://court.example"
        bad = c.get("/healthz", headers={"Origin": "https://evil.example"})
        assert "access-control-allow-origin" not in bad.headers


def test_jwt_rotation_accepts_previous_secrets_until_expiry(tmp_path: Path) -> None:
    old, new = "old-" + uuid.uuid4().hex, "new-" + uuid.uuid4().hex
    with _app(tmp_path, jwt_secret=old) as c:
        old_token = _login(c)
    with _app(tmp_path, jwt_secret=new, jwt_previous_secrets=[old]) as c:
        assert c.get("/auth/me", headers={"Authorization": f"Bearer {old_token}"}
                     ).status_code == 200
        r = c.post("/auth/login", json={"username": "officer", "password": PASSWORD})
        fresh = r.json()["access_token"]
        jwt.decode(fresh, new, algorithms=["HS256"])  # signed with the current secret
        with pytest.raises(jwt.InvalidSignatureError):
            jwt.decode(fresh, old, algorithms=["HS256"])
        claims = jwt.decode(old_token, old, algorithms=["HS256"])
        expired = jwt.encode({**claims, "exp": claims["iat"] - 1}, old, algorithm="HS256")
        r = c.get("/auth/me", headers={"Authorization": f"Bearer {expired}"})
        assert r.status_code == 401 and r.json()["error"]["message"] == "token expired"
    with _app(tmp_path, jwt_secret=new) as c:  # the old secret retired: its tokens end
        r = c.get("/auth/me", headers={"Authorization": f"Bearer {old_token}"})
        assert r.status_code == 401 and r.json()["error"]["message"] == "invalid token"


def test_error_bodies_hold_no_traceback_secret_or_foreign_ids(client: TestClient) -> None:
    token = _login(client)
    services = client.app.state.services  # type: ignore[attr-defined]
    secret = services.settings.resolved_jwt_secret()
    other = services.identity.create_department(None, code="PEN", name="PEN",
                                                kind=DepartmentKind.REVIEW)
    auth = {"Authorization": f"Bearer {token}"}
    responses = [
        client.get(f"/cases/{uuid.uuid4()}", headers=auth),
        client.get(f"/departments/{other.id}/users", headers=auth),
        client.post("/cases", content=b"{bad", headers={**auth, "Content-Type":
                                                         "application/json"}),
        client.get("/cases", headers={"Authorization": "Bearer " + "x" * 500}),
        client.get("/verify/zz"),
        client.post("/auth/login", json={"username": "officer", "password": "wrong one!"}),
    ]
    for r in responses:
        assert 400 <= r.status_code < 500, r.text
        body = r.text
        assert "error" in r.json()
        for leak in ("Traceback", 'File "', secret, other.id, str(services.settings.var_dir)):
            assert leak not in body, (leak, body)
