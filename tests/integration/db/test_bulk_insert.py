"""``bulk_insert`` (a batch's items and log entries) stores what SQLAlchemy's own executemany
stores, on SQLite and PostgreSQL: the same column conversions, shared values converted once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import (
    JSON,
    Column,
    Engine,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    insert,
    select,
)
from sqlalchemy.orm import Session

from evidence_service.adapters.db.orm import UTCDateTime
from evidence_service.adapters.db.rows import bulk_insert


def _table(metadata: MetaData, name: str) -> Table:
    return Table(name, metadata, Column("id", Integer, primary_key=True),
                 Column("name", String(40)), Column("doc", JSON), Column("blob", LargeBinary),
                 Column("at", UTCDateTime()))


def test_bulk_insert_stores_what_sqlalchemy_stores(engine: Engine) -> None:
    metadata = MetaData()
    ours, theirs = _table(metadata, "bulk_a"), _table(metadata, "bulk_b")
    metadata.create_all(engine)
    shared_doc = {"place": "东大街", "n": [1, None]}
    at = datetime(2026, 11, 22, 8, 30, 1, 123456, tzinfo=UTC)
    rows = [{"id": n, "name": f"note-{n}" if n % 3 else None,
             "doc": shared_doc if n % 2 else ["own", n], "blob": bytes([n]) * n,
             "at": at if n % 2 else at.astimezone(UTC) + timedelta(seconds=n)}
            for n in range(1, 40)]
    with Session(engine) as session:
        bulk_insert(session, ours, rows)
        session.execute(insert(theirs), rows)
        bulk_insert(session, ours, [])  # nothing to do
        session.commit()
        got = session.execute(select(ours).order_by(ours.c.id)).all()
        expected = session.execute(select(theirs).order_by(theirs.c.id)).all()
    assert got == expected and len(got) == 39
    assert got[0].doc == shared_doc and got[0].at == at and got[1].doc == ["own", 2]
    metadata.drop_all(engine)


def test_bulk_insert_applies_the_columns_checks(engine: Engine) -> None:
    metadata = MetaData()
    table = _table(metadata, "bulk_a")
    metadata.create_all(engine)
    with Session(engine) as session, pytest.raises(ValueError, match="naive datetime"):
        bulk_insert(session, table, [{"id": 1, "name": "x", "doc": {}, "blob": b"",
                                      "at": datetime(2026, 1, 1)}])
    metadata.drop_all(engine)
