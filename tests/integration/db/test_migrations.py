"""Alembic migrations produce exactly the schema the models describe, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, inspect, text

from evidence_service.adapters.db import make_engine, upgrade
from evidence_service.adapters.db.orm import Base


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.db)])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'm.db'}"
    else:
        url = request.getfixturevalue("pg_database")
    eng = make_engine(url)
    if request.param == "postgres":  # start from an empty schema in the shared test database
        with eng.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
    yield eng
    eng.dispose()


def test_migrations_match_models(engine: Engine) -> None:
    upgrade(engine)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}),
                                Base.metadata)
    assert diff == []


def test_upgrade_is_idempotent(engine: Engine) -> None:
    upgrade(engine)
    upgrade(engine)
    tables = set(inspect(engine).get_table_names())
    assert {"departments", "users", "cases", "evidence_items", "uploads",
            "alembic_version"} <= tables


def test_0003_backfills_digests_of_existing_log_entries(engine: Engine) -> None:
    from alembic import command

    from evidence_service.adapters.db.engine import alembic_config

    command.upgrade(alembic_config(engine), "0002")
    entry = ('{"kind":"evidence.registered","sha256":"' + "a" * 64 + '","sm3":"' + "b" * 64
             + '","v":1}').encode()
    insert = text('INSERT INTO log_entries ("index", leaf_hash, entry, kind, created_at) '
                  "VALUES (0, :h, :e, 'evidence.registered', CURRENT_TIMESTAMP)")
    with engine.begin() as conn:
        conn.execute(insert, {"h": "0" * 64, "e": entry})
    upgrade(engine)
    with engine.connect() as conn:
        row = conn.execute(text("SELECT sha256, sm3 FROM log_entries")).one()
    assert tuple(row) == ("a" * 64, "b" * 64)
