"""Database adapter: SQLAlchemy models, repository and Alembic migrations."""

from evidence_service.adapters.db.engine import make_engine, make_session_factory, ping, upgrade
from evidence_service.adapters.db.repository import SqlRepository, SqlUnitOfWork

__all__ = ["SqlRepository", "SqlUnitOfWork", "make_engine", "make_session_factory", "ping",
           "upgrade"]
