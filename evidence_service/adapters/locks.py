"""Leader locks: exactly one anchoring worker runs across processes.

PostgreSQL: a session-level advisory lock held on a dedicated connection (released by the
server when the process dies). SQLite (one machine): an ``flock`` on a file beside the
database (released by the kernel when the process dies).
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
from pathlib import Path
from typing import IO, Any

from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError

_logger = logging.getLogger(__name__)
ANCHOR_LOCK_KEY = 0x45564944  # "EVID"
SCAN_LOCK_KEY = 0x45565343  # "EVSC": the integrity scanner


class PgAdvisoryLock:
    def __init__(self, engine: Engine, key: int = ANCHOR_LOCK_KEY) -> None:
        self._engine, self._key = engine, key
        self._conn: Any = None

    def try_acquire(self) -> bool:
        """Take the lock if free; True while this process holds it.

        The lock lives as long as its connection: after a database restart the server has
        released it, so a dead connection is dropped and the lock taken anew (or not, when
        another process was quicker). Raises the driver's error while the database is down.
        """
        if self._conn is not None:
            if self._still_held():
                return True
            self._conn = None
        conn = self._engine.connect()
        got = bool(conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": self._key}).scalar())
        conn.commit()
        if got:
            self._conn = conn
        else:
            conn.close()
        return got

    def _still_held(self) -> bool:
        try:
            self._conn.execute(text("SELECT 1"))
            self._conn.commit()
            return True
        except DBAPIError as exc:
            _logger.warning("leader lock %#x lost with its database connection: %s", self._key,
                            type(exc.orig).__name__)
            with contextlib.suppress(DBAPIError):
                self._conn.close()
            return False

    def release(self) -> None:
        """Give the lock up (a no-op when the database is away: it died with the session)."""
        if self._conn is not None:
            try:
                with contextlib.suppress(DBAPIError):
                    self._conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": self._key})
                    self._conn.commit()
            finally:
                with contextlib.suppress(DBAPIError):
                    self._conn.close()
                self._conn = None


class FileLock:
    def __init__(self, path: Path) -> None:
        self._path = path
        self._handle: IO[bytes] | None = None

    def try_acquire(self) -> bool:
        if self._handle is not None:
            return True
        self._path.parent.mkdir(parents=True, exist_ok=True)
        handle = open(self._path, "ab")  # noqa: SIM115 - held while leading
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            return False
        self._handle = handle
        return True

    def release(self) -> None:
        if self._handle is not None:
            self._handle.close()
            self._handle = None


def leader_lock(engine: Engine, var_dir: Path, *, key: int = ANCHOR_LOCK_KEY,
                name: str = "anchor") -> PgAdvisoryLock | FileLock:
    """The right lock for this database (``key``/``name`` tell different leaders apart)."""
    if engine.dialect.name == "postgresql":
        return PgAdvisoryLock(engine, key)
    return FileLock(var_dir / f"{name}.lock")
