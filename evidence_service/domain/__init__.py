"""Pure values and rules: imports only the standard library and pydantic."""

from evidence_service.domain import errors, models

__all__ = ["errors", "models"]
