"""Property-based requests from the app's own OpenAPI schema (schemathesis): never a 5xx.

Bounded for CI: a few examples per operation, authenticated as an officer. The world runs
without a chain, so the one documented 503 (``chain_unavailable`` from a transfer) is the
only 5xx accepted; anything else, a 500 above all, fails.
"""

from __future__ import annotations

import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, settings

from evidence_service.api import create_app
from evidence_service.config import AnalysisConfig, LedgerConfig, Settings
from evidence_service.domain.models import DepartmentKind, Role

PASSWORD = "correct horse battery"


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Any, str]]:
    var: Path = tmp_path_factory.mktemp("fuzz") / "var"
    app = create_app(Settings(var_dir=var, jwt_secret="fuzz-" + uuid.uuid4().hex,
                              ledger=LedgerConfig(mode="off"),
                              analysis=AnalysisConfig(enabled=False)))
    with TestClient(app) as client:
        identity = client.app.state.services.identity  # type: ignore[attr-defined]
        dept = identity.create_department(None, code="ENF", name="执法",
                                          kind=DepartmentKind.ENFORCEMENT)
        identity.create_user(None, department_id=dept.id, username="fuzzer",
                             password=PASSWORD, roles=[Role.OFFICER])
        token = client.post("/auth/login", json={"username": "fuzzer",
                                                 "password": PASSWORD}).json()["access_token"]
        client.post("/cases", json={"case_number": "F-1", "title": "fuzz"},
                    headers={"Authorization": f"Bearer {token}"})
        yield app, token


# the schema only: requests go to the fixture's app, which has a database and a user
schema = schemathesis.openapi.from_dict(create_app(Settings(
    var_dir=Path(tempfile.mkdtemp(prefix="schema-")), jwt_secret="schema-only-" + "x" * 20,
    ledger=LedgerConfig(mode="off"), analysis=AnalysisConfig(enabled=False))).openapi())


@pytest.mark.slow
@pytest.mark.expect_error_logs  # the chain-less transfer 503 is logged at ERROR
@schema.parametrize()
@settings(max_examples=8, deadline=None, derandomize=True,
          suppress_health_check=list(HealthCheck))
def test_no_server_errors(case: Any, world: tuple[Any, str]) -> None:
    if case.path == "/auth/login":
        case.body = {"username": "fuzzer", "password": "wrong"}  # keep the lockout in play
    response = case.call(app=world[0], headers={"Authorization": f"Bearer {world[1]}"})
    if response.status_code == 503:
        assert response.json()["error"]["code"] == "chain_unavailable", response.text
        return
    assert response.status_code < 500, (case.method, case.path, response.text[:500])
    if response.status_code >= 400:
        content_type = response.headers.get("content-type") or [""]
        assert str(content_type[0] if isinstance(content_type, list) else content_type
                   ).startswith("application/json"), (case.method, case.path)
        assert "Traceback" not in response.text
