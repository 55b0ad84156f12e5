"""Moving between pydantic models and table rows: shared by the repository's parts."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypeVar, cast

from pydantic import BaseModel
from sqlalchemy import Table

from evidence_service.adapters.db.orm import Base

M = TypeVar("M", bound=BaseModel)
_JSON_FIELDS = {"roles", "flags", "capture", "tags", "labels", "item_ids", "opened", "decided",
                "checks", "options", "analysis_options"}


def core_table(row: type[Base]) -> Table:
    """The Core table of a mapped class: bulk inserts through it skip ORM bookkeeping."""
    return cast(Table, row.__table__)


def row_values(model: BaseModel) -> dict[str, Any]:
    values = model.model_dump()
    json_fields = _JSON_FIELDS & values.keys()
    if json_fields:
        for name, dumped in model.model_dump(mode="json", include=json_fields).items():
            sortable = isinstance(dumped, list) and all(isinstance(v, str) for v in dumped)
            values[name] = sorted(dumped) if sortable else dumped
    return values


def to_model(cls: type[M], row: Base | None) -> M | None:
    return None if row is None else cls.model_validate(row, from_attributes=True)


def to_models(cls: type[M], rows: Sequence[Base]) -> list[M]:
    return [cls.model_validate(r, from_attributes=True) for r in rows]
