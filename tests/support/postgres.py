"""Throwaway PostgreSQL databases for tests that need one of their own."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import create_engine, text


@contextmanager
def scratch_database(server_url: str, *, prefix: str) -> Iterator[str]:
    """Create an empty database on the server of ``server_url``; drop it afterwards.

    ``server_url`` is any ``postgresql[+psycopg]://…/db`` URL of that server; the URL of the
    new database is yielded.
    """
    base = server_url.replace("postgresql://", "postgresql+psycopg://", 1)
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield base.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
