"""One world for the hostile-input corpus, and a snapshot of everything a request could change.

Every case sends something hostile, expects a 4xx JSON error with a reason, and then checks
that the snapshot (stored objects, spooled upload bytes, database rows, log size, upload
offsets) is exactly what it was before.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from evidence_service.api import create_app
from evidence_service.config import AnalysisConfig, IntegrityConfig, LedgerConfig, Settings
from evidence_service.domain.models import DepartmentKind, Role
from tests.support.api import Api

PASSWORD = "correct horse battery"
_COUNTED = ("departments", "users", "device_tokens", "cases", "evidence_items", "uploads",
            "log_entries", "custody_events", "transfers", "approvals", "integrity_alerts",
            "analysis_jobs", "derived_artefacts")


@dataclass(frozen=True)
class World:
    api: Api
    case_id: str
    item: dict[str, Any]
    upload: str  # an upload of 10 bytes with 4 received
    settings: Settings

    def snapshot(self) -> dict[str, Any]:
        """Files under var/ (objects and spool, with sizes) and every table's row count."""
        services = self.api.client.app.state.services  # type: ignore[attr-defined]
        files = {}
        for root in (self.settings.resolved_objects_dir, self.settings.resolved_spool_dir):
            for path in Path(root).rglob("*"):
                if path.is_file():
                    files[str(path)] = path.stat().st_size
        with services.engine.connect() as conn:
            counts = {t: conn.execute(text(f"SELECT count(*) FROM {t}")).scalar_one()
                      for t in _COUNTED}
            uploads = conn.execute(text(
                "SELECT id, \"offset\", status FROM uploads ORDER BY id")).all()
            items = conn.execute(text(
                "SELECT id, sha256, status, classification FROM evidence_items ORDER BY id")).all()
        return {"files": files, "counts": counts, "uploads": [tuple(u) for u in uploads],
                "items": [tuple(i) for i in items]}


@pytest.fixture(scope="session")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    settings = Settings(var_dir=tmp_path_factory.mktemp("hostile") / "var",
                        jwt_secret="test-secret-" + uuid.uuid4().hex,
                        ledger=LedgerConfig(mode="off"), analysis=AnalysisConfig(enabled=False),
                        integrity=IntegrityConfig(enabled=False))
    with TestClient(create_app(settings)) as client:
        identity = client.app.state.services.identity  # type: ignore[attr-defined]
        api = Api(client=client)
        for code, kind, user in (("ENF", DepartmentKind.ENFORCEMENT, "officer"),
                                 ("PEN", DepartmentKind.REVIEW, "pen_officer")):
            dept = identity.create_department(None, code=code, name=code, kind=kind)
            api.departments[code] = dept.id
            identity.create_user(None, department_id=dept.id, username=user,
                                 password=PASSWORD, roles=[Role.OFFICER])
            r = client.post("/auth/login", json={"username": user, "password": PASSWORD})
            api.tokens[user] = r.json()["access_token"]
        case_id = api.create_case("officer", "ENF-HOSTILE-1")
        item = api.upload("officer", case_id, b"original evidence bytes " * 100)
        location = api.tus_create("officer", case_id, 10).headers["Location"]
        assert api.tus_patch("officer", location, 0, b"0123").status_code == 204
        yield World(api=api, case_id=case_id, item=item, upload=location,
                    settings=settings)


def assert_refused(world: World, before: dict[str, Any], r: httpx.Response, status: int,
                   code: str | None = None, *words: str) -> None:
    """A 4xx JSON error carrying a reason, and nothing changed."""
    assert r.status_code == status, r.text
    assert 400 <= r.status_code < 500
    error = r.json()["error"]
    assert error["message"], r.text
    if code is not None:
        assert error["code"] == code, r.text
    text_ = r.text.lower()
    for word in words:
        assert word.lower() in text_, r.text
    assert "traceback" not in text_ and 'file "' not in text_
    assert world.snapshot() == before
