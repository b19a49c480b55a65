"""The repository base and the portable ``INSERT … ON CONFLICT DO NOTHING``."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any, TypeVar, cast

from sqlalchemy import Insert
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Base

M = TypeVar("M", bound=Base)


class Repository:
    """Holds one session. Repositories add and flush; they never commit or roll back."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    @property
    def dialect(self) -> str:
        return self.session.get_bind().dialect.name


def insert_ignoring(
    session: AsyncSession, model: type[Base], conflict_columns: Sequence[str]
) -> Insert:
    """``INSERT INTO model … ON CONFLICT (conflict_columns) DO NOTHING`` for the session's dialect.

    Only a clash on ``conflict_columns`` is ignored; any other constraint (a foreign key, another
    unique column) still raises. A concurrent insert of the same key waits for the other
    transaction and then does nothing (PostgreSQL) or is serialised by the write lock (SQLite).
    """
    name = session.get_bind().dialect.name
    if name == "postgresql":
        return postgresql.insert(model).on_conflict_do_nothing(index_elements=conflict_columns)
    if name == "sqlite":
        return sqlite.insert(model).on_conflict_do_nothing(index_elements=conflict_columns)
    raise NotImplementedError(f"no portable upsert for {name}")


async def insert_or_none(
    session: AsyncSession,
    model: type[M],
    conflict_columns: Sequence[str],
    values: dict[str, Any],
) -> M | None:
    """Insert one row as an ORM object, or return None when ``conflict_columns`` already exist.

    The statement is built once per model and dialect and ``values`` are passed as parameters:
    ``.values(**values)`` built a new statement (and its cache key) for every row, which cost
    more than executing it.
    """
    dialect = session.get_bind().dialect.name
    statement = _insert_returning(dialect, model, tuple(conflict_columns))
    result = await session.scalars(statement, values, execution_options={"populate_existing": True})
    return cast("M | None", result.one_or_none())


@functools.lru_cache(maxsize=64)
def _insert_returning(dialect: str, model: type[Base], conflict_columns: tuple[str, ...]) -> Any:
    if dialect == "postgresql":
        statement: Any = postgresql.insert(model)
    elif dialect == "sqlite":
        statement = sqlite.insert(model)
    else:
        raise NotImplementedError(f"no portable upsert for {dialect}")
    return statement.on_conflict_do_nothing(index_elements=list(conflict_columns)).returning(model)
