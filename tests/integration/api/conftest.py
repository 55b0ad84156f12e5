"""The app on (SQLite, filesystem store) and on (PostgreSQL, S3 store), with a small world.

World: departments ENF and PEN; users ``officer``, ``admin``, ``reviewer`` in ENF and
``pen_officer`` in PEN. Every test runs once per backend pair.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text

from evidence_service.api import create_app
from evidence_service.config import AnalysisConfig, LedgerConfig, S3Settings, Settings
from evidence_service.domain.models import DepartmentKind, Role
from tests.support.api import Api
from tests.support.moto import S3Endpoint

PASSWORD = "correct horse battery"
_TABLES = ("uploads", "evidence_items", "cases", "device_tokens", "users", "departments",
           "log_entries", "log_nodes", "anchors", "custody_events", "transfers", "approvals",
           "integrity_alerts", "analysis_jobs", "derived_artefacts", "integrity_scans",
           "log_segments", "batches")


def _reset_postgres(url: str) -> None:
    """Empty every table (other tests share this database) and rewind the log head."""
    engine = create_engine(url)
    with engine.begin() as conn:
        if conn.execute(text("SELECT to_regclass('log_head')")).scalar() is not None:
            conn.execute(text(f"TRUNCATE {', '.join(_TABLES)} CASCADE"))
            conn.execute(text("UPDATE log_head SET size = 0"))
    engine.dispose()


@pytest.fixture(params=[
    pytest.param(("sqlite", "filesystem"), id="sqlite-fs"),
    pytest.param(("postgres", "s3"), id="pg-s3", marks=[pytest.mark.db, pytest.mark.minio]),
])
def settings(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Settings]:
    db, store = request.param
    values: dict[str, object] = {"var_dir": tmp_path / "var", "storage_backend": store,
                                 "jwt_secret": "test-secret-" + uuid.uuid4().hex,
                                 "ledger": LedgerConfig(mode="off"),
                                 # video analysis has its own tests (tests/integration/analysis)
                                 "analysis": AnalysisConfig(enabled=False)}
    if db == "postgres":
        values["database_url"] = request.getfixturevalue("pg_database")
        _reset_postgres(str(values["database_url"]))
    if store == "s3":
        ep: S3Endpoint = request.getfixturevalue("s3_endpoint")
        values["s3"] = S3Settings(endpoint=ep.endpoint, access_key=ep.access_key,
                                  secret_key=ep.secret_key, secure=ep.secure,
                                  bucket=f"ev-{uuid.uuid4().hex[:16]}", part_size=5 * 1024 * 1024)
    yield Settings(**values)  # type: ignore[arg-type]
    if db == "postgres":
        _reset_postgres(str(values["database_url"]))


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings)) as c:
        yield c


@pytest.fixture
def api(client: TestClient) -> Api:
    services = client.app.state.services  # type: ignore[attr-defined]
    identity = services.identity
    enf = identity.create_department(None, code="ENF", name="执法支队",
                                     kind=DepartmentKind.ENFORCEMENT)
    pen = identity.create_department(None, code="PEN", name="处罚科", kind=DepartmentKind.REVIEW)
    users = {"officer": (enf, Role.OFFICER), "admin": (enf, Role.DEPARTMENT_ADMIN),
             "reviewer": (enf, Role.REVIEWER), "pen_officer": (pen, Role.OFFICER)}
    world = Api(client=client, departments={"ENF": enf.id, "PEN": pen.id})
    for name, (dept, role) in users.items():
        identity.create_user(None, department_id=dept.id, username=name, password=PASSWORD,
                             roles=[role])
        r = client.post("/auth/login", json={"username": name, "password": PASSWORD})
        assert r.status_code == 200, r.text
        world.tokens[name] = r.json()["access_token"]
    return world
