"""The repository base and the portable ``INSERT … ON CONFLICT DO NOTHING``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypeVar

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
    """Insert one row as an ORM object, or return None when ``conflict_columns`` already exist."""
    statement = insert_ignoring(session, model, conflict_columns).values(**values).returning(model)
    result = await session.scalars(statement, execution_options={"populate_existing": True})
    return result.one_or_none()
