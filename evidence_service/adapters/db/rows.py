"""Moving between pydantic models and table rows: shared by the repository's parts."""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar, cast

from pydantic import BaseModel
from sqlalchemy import Dialect, Table, insert
from sqlalchemy.orm import Session

from evidence_service.adapters.db.orm import Base

M = TypeVar("M", bound=BaseModel)
_JSON_FIELDS = {"roles", "flags", "capture", "tags", "labels", "item_ids", "opened", "decided",
                "checks", "options", "analysis_options"}


def core_table(row: type[Base]) -> Table:
    """The Core table of a mapped class: bulk inserts through it skip ORM bookkeeping."""
    return cast(Table, row.__table__)


def bulk_insert(session: Session, table: Table, rows: Sequence[Mapping[str, Any]]) -> None:
    """INSERT ``rows`` (all with the keys of the first) in one ``executemany`` of the driver.

    What SQLAlchemy's Core ``executemany`` does, for thousands of rows at a time (a batch's
    items and log entries): each column's bind processor (UTC datetimes, JSON) converts the
    values, but once per distinct value object rather than once per row (a batch's rows
    share their time and capture metadata), and the per-row parameter building of the
    general path is skipped. That path took a quarter of a large batch's time.
    """
    if not rows:
        return
    connection = session.connection()
    keys = tuple(rows[0])
    sql, order, processors = _compiled_insert(table, connection.dialect, keys)
    done: dict[str, dict[int, Any]] = {key: {} for key in keys}

    def value(key: str, raw: Any) -> Any:
        process = processors[key]
        if process is None or raw is None:
            return raw
        seen = done[key]  # by object id: every row, and so every value, lives until the end
        if (converted := seen.get(id(raw), seen)) is seen:
            converted = seen[id(raw)] = process(raw)
        return converted

    if order is not None:  # positional parameters (sqlite3's "?")
        params: list[Any] = [tuple(value(k, row[k]) for k in order) for row in rows]
    else:
        params = [{k: value(k, row[k]) for k in keys} for row in rows]
    connection.exec_driver_sql(sql, params)


@functools.lru_cache(maxsize=64)
def _compiled_insert(table: Table, dialect: Dialect, keys: tuple[str, ...]) -> tuple[
        str, tuple[str, ...] | None, dict[str, Callable[[Any], Any] | None]]:
    """The INSERT's SQL for ``dialect``, its parameters' order (None: by name) and each
    column's bind processor."""
    compiled = insert(table).compile(dialect=dialect, column_keys=list(keys))
    order = (tuple(compiled.binds[name].key for name in compiled.positiontup or ())
             if compiled.positional else None)
    processors: dict[str, Callable[[Any], Any] | None] = {
        key: table.c[key].type.dialect_impl(dialect).bind_processor(dialect) for key in keys}
    return compiled.string, order, processors


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
