"""Settings: defaults, environment parsing and the production secret checks."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from evidence_service.config import Settings


def test_embedded_defaults(tmp_path: Path) -> None:
    s = Settings(var_dir=tmp_path)
    assert s.resolved_database_url == f"sqlite:///{(tmp_path / 'evidence.db').resolve()}"
    assert s.resolved_objects_dir == tmp_path / "objects"
    assert s.storage_backend == "filesystem"


def test_dev_secret_is_generated_once_and_kept(tmp_path: Path) -> None:
    first = Settings(var_dir=tmp_path).resolved_jwt_secret()
    assert len(first) >= 32
    assert Settings(var_dir=tmp_path).resolved_jwt_secret() == first
    assert (tmp_path / "jwt-secret").stat().st_mode & 0o777 == 0o600


def test_nested_s3_settings_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EVIDENCE_STORAGE_BACKEND", "s3")
    monkeypatch.setenv("EVIDENCE_S3__ENDPOINT", "minio:9000")
    monkeypatch.setenv("EVIDENCE_S3__RETENTION_DAYS", "3650")
    s = Settings()
    assert (s.storage_backend, s.s3.endpoint, s.s3.retention_days) == ("s3", "minio:9000", 3650)


@pytest.mark.parametrize("secret", [None, "changeme", "secret", ""])
def test_production_refuses_placeholder_jwt_secret(secret: str | None) -> None:
    with pytest.raises(ValidationError, match="EVIDENCE_JWT_SECRET"):
        Settings(mode="production", jwt_secret=secret, database_url="postgresql://x/y")


def test_production_refuses_placeholder_s3_keys() -> None:
    with pytest.raises(ValidationError, match="EVIDENCE_S3__ACCESS_KEY"):
        Settings(mode="production", jwt_secret="a-real-secret-of-some-length",
                 database_url="postgresql://x/y", storage_backend="s3",
                 ledger={"mode": "external", "department_keystore_password": "p" * 20},
                 s3={"access_key": "minioadmin", "secret_key": "x" * 20})


def test_production_refuses_the_embedded_dev_chain() -> None:
    with pytest.raises(ValidationError, match="EVIDENCE_LEDGER__MODE=external"):
        Settings(mode="production", jwt_secret="a-real-secret-of-some-length",
                 database_url="postgresql://x/y")


@pytest.mark.parametrize("password", [None, "changeme", ""])
def test_production_refuses_placeholder_department_keystore_password(
        password: str | None) -> None:
    with pytest.raises(ValidationError, match="DEPARTMENT_KEYSTORE_PASSWORD"):
        Settings(mode="production", jwt_secret="a-real-secret-of-some-length",
                 database_url="postgresql://x/y",
                 ledger={"mode": "external", "department_keystore_password": password})


def test_negative_list_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EVIDENCE_NEGATIVE_LIST", '[{"name": "tips", "reason": "no tips",'
                       ' "tag": "cause_of_action", "contains": "举报"}]')
    entries = Settings().resolved_negative_list
    assert [(e.name, e.tag, e.contains) for e in entries] == [("tips", "cause_of_action", "举报")]


def test_negative_list_entry_needs_exactly_one_way_to_match() -> None:
    with pytest.raises(ValidationError, match="either 'label' or 'tag'"):
        Settings(negative_list=[{"name": "x", "reason": "y", "label": "a", "tag": "party",
                                 "contains": "b"}])


def test_production_accepts_real_secrets() -> None:
    s = Settings(mode="production", jwt_secret="a-real-secret-of-some-length",
                 database_url="postgresql://x/y",
                 ledger={"mode": "external", "department_keystore_password": "p" * 20})
    assert s.resolved_jwt_secret() == "a-real-secret-of-some-length"
