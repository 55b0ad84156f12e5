"""Lookups by content digest use the digest's index on SQLite, whatever a department holds.

Given ``department_id = ? AND sha256 IN (...)``, SQLite's planner (no statistics) walked the
department's index: every item the department held, once per batch and per tus upload."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from sqlalchemy import event

from evidence_service.adapters.db import SqlUnitOfWork, make_engine, make_session_factory, upgrade


def _plans(tmp_path: Path, call: Any) -> list[str]:
    path = tmp_path / "plans.db"
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    seen: list[tuple[str, Any]] = []

    @event.listens_for(engine, "before_cursor_execute")
    def _record(conn: Any, cursor: Any, statement: str, params: Any, *_: Any) -> None:
        if statement.lstrip().upper().startswith("SELECT") and "evidence_items" in statement:
            seen.append((statement, params))

    with SqlUnitOfWork(make_session_factory(engine))(read_only=True) as repo:
        call(repo)
    engine.dispose()
    with sqlite3.connect(path) as db:
        return [" ".join(row[3] for row in db.execute(f"EXPLAIN QUERY PLAN {sql}", params))
                for sql, params in seen]


def test_digest_lookups_search_the_digest_index(tmp_path: Path) -> None:
    digests = {f"{n:064x}" for n in range(3)}
    plans = _plans(tmp_path, lambda repo: (repo.sha256s_present(digests, "dept"),
                                           repo.count_items_with_sha256("ab" * 32, "dept")))
    assert len(plans) == 2
    for plan in plans:
        assert "USING INDEX ix_evidence_items_sha256" in plan, plan
