"""``POST /verify/package`` (the portal's package check) refuses what is not a case package
with a 4xx and never stores what it was sent. The happy path, with a real exported package and
the chain, runs in the browser journey (tests/e2e_web)."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

from fastapi.testclient import TestClient

from evidence_service.api import create_app
from evidence_service.config import AnalysisConfig, IntegrityConfig, LedgerConfig, Settings

_STREAM = {"Content-Type": "application/octet-stream"}


def _client(tmp_path: Path, **values: object) -> TestClient:
    settings = Settings(var_dir=tmp_path / "var", ledger=LedgerConfig(mode="off"),
                        analysis=AnalysisConfig(enabled=False),
                        integrity=IntegrityConfig(enabled=False), **values)  # type: ignore[arg-type]
    return TestClient(create_app(settings))


def test_rejects_empty_bodies_non_zips_and_zips_without_a_manifest(tmp_path: Path) -> None:
    with _client(tmp_path) as client:
        empty = client.post("/verify/package", content=b"", headers=_STREAM)
        assert empty.status_code == 400 and "body" in empty.json()["error"]["message"]
        junk = client.post("/verify/package", content=b"not a zip" * 100, headers=_STREAM)
        assert junk.status_code == 400
        assert "not a valid case package" in junk.json()["error"]["message"]
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as archive:
            archive.writestr("hello.txt", "hi")
        bare = client.post("/verify/package", content=buffer.getvalue(), headers=_STREAM)
        assert bare.status_code == 400
    leftovers = [p for p in (tmp_path / "var").rglob("*.zip")]
    assert leftovers == []


def test_refuses_packages_over_the_upload_limit(tmp_path: Path) -> None:
    with _client(tmp_path, max_upload_bytes=1000) as client:
        r = client.post("/verify/package", content=b"x" * 5000, headers=_STREAM)
        assert r.status_code == 413
