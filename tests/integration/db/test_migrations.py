"""Alembic migrations produce exactly the schema the models describe, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, inspect, text

from evidence_service.adapters.db import upgrade
from evidence_service.adapters.db.orm import Base


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


def test_0005_backfills_search_columns_of_existing_items(engine: Engine) -> None:
    from alembic import command

    from evidence_service.adapters.db.engine import alembic_config

    command.upgrade(alembic_config(engine), "0003")
    dept = text("INSERT INTO departments (id, code, name, kind, created_at) "
                "VALUES ('d', 'D', 'D', 'enforcement', CURRENT_TIMESTAMP)")
    case = text("INSERT INTO cases (id, department_id, case_number, title, classification, "
                "status, created_by, created_at) VALUES ('c', 'd', 'N', 'T', 'internal', "
                "'open', 'u', CURRENT_TIMESTAMP)")
    item = text("INSERT INTO evidence_items (id, case_id, department_id, kind, "
                "original_filename, media_type, declared_size, capture, tags, classification, "
                "status, flags, created_by, created_at) VALUES ('i', 'c', 'd', 'documentary', "
                "'a.pdf', 'application/pdf', 1, :capture, :tags, 'internal', 'stored', '[]', "
                "'u', CURRENT_TIMESTAMP)")
    capture = '{"captured_at": "2026-11-20T09:30:00+08:00", "location": "Ｎａｎｊｉｎｇ  Rd"}'
    tags = '{"party": "ACME Ltd", "inspection_number": "JC-1", "cause_of_action": null}'
    with engine.begin() as conn:
        conn.execute(dept)
        conn.execute(case)
        conn.execute(item, {"capture": capture, "tags": tags})
    upgrade(engine)
    with engine.connect() as conn:
        row = conn.execute(text(
            "SELECT search_party, search_location, search_cause, inspection_number, "
            "penalty_number, captured_at FROM evidence_items")).one()
    assert tuple(row[:5]) == ("acme ltd", "nanjing rd", None, "JC-1", None)
    moment = row[5] if isinstance(row[5], datetime) else datetime.fromisoformat(row[5])
    assert moment.replace(tzinfo=moment.tzinfo or UTC) == datetime(2026, 11, 20, 1, 30, tzinfo=UTC)
