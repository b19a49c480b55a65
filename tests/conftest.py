"""Shared fixtures: a migrated database on SQLite and PostgreSQL (``db``) and a manual clock.

PostgreSQL tests need ``CAREBOT_TEST_POSTGRES_URL`` (CI sets it); without it they skip with a
visible reason. Each test session works in its own scratch database ``carebot_test_<random>``
created from that URL and dropped at the end, so concurrent runs do not meet.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from outreach.clock import ManualClock
from storage.engine import Database, normalize_url
from storage.migrate import upgrade
from storage.models import Base

POSTGRES_ENV = "CAREBOT_TEST_POSTGRES_URL"
NO_POSTGRES = f"PostgreSQL tests skipped: set {POSTGRES_ENV} (CI sets it)"
FIXED_NOW = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)
"""A Monday, 10:00 in New York, 15:00 UTC."""

BACKENDS = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param("postgres", id="postgres", marks=pytest.mark.postgres),
]


def postgres_url_or_skip() -> str:
    url = os.environ.get(POSTGRES_ENV, "")
    if not url:
        pytest.skip(NO_POSTGRES)
    return normalize_url(url).render_as_string(hide_password=False)


@asynccontextmanager
async def scratch_postgres(base_url: str, prefix: str = "carebot_test") -> AsyncIterator[str]:
    """A new, empty PostgreSQL database next to ``base_url``'s; dropped on exit."""
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    admin = create_async_engine(base_url, isolation_level="AUTOCOMMIT", pool_size=1)
    try:
        async with admin.connect() as conn:
            await conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE template0'))
        try:
            yield make_url(base_url).set(database=name).render_as_string(hide_password=False)
        finally:
            async with admin.connect() as conn:
                await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        await admin.dispose()


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(FIXED_NOW)


@pytest.fixture(scope="session")
async def sqlite_database(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Database]:
    path: Path = tmp_path_factory.mktemp("sqlite") / "carebot.db"
    url = f"sqlite+aiosqlite:///{path}"
    await upgrade(url)
    database = Database.from_url(url)
    yield database
    await database.dispose()


@pytest.fixture(scope="session")
def postgres_base_url() -> str:
    return postgres_url_or_skip()


@pytest.fixture(scope="session")
async def postgres_database(postgres_base_url: str) -> AsyncIterator[Database]:
    async with scratch_postgres(postgres_base_url) as url:
        await upgrade(url)
        database = Database.from_url(url)
        try:
            yield database
        finally:
            await database.dispose()


@pytest.fixture(params=BACKENDS)
def migrated_database(request: pytest.FixtureRequest) -> Database:
    """The session's migrated database of the parametrized backend (not cleaned)."""
    database: Database = request.getfixturevalue(f"{request.param}_database")
    return database


@pytest.fixture
async def db(migrated_database: Database) -> AsyncIterator[Database]:
    """A migrated, empty database; every table is emptied again after the test."""
    yield migrated_database
    await empty_tables(migrated_database, truncate=False)


@pytest.fixture
async def postgres_db(postgres_database: Database) -> AsyncIterator[Database]:
    """Like ``db``, PostgreSQL only (scale-out tests); skips without CAREBOT_TEST_POSTGRES_URL."""
    yield postgres_database
    await empty_tables(postgres_database, truncate=True)


async def empty_tables(database: Database, *, truncate: bool) -> None:
    """Empty every table (keeps the schema and alembic_version): DELETE, children first.

    ``truncate`` (PostgreSQL, after bulk tests): one TRUNCATE instead — DELETE would run a
    foreign-key check per row against tables full of dead tuples, but TRUNCATE costs ~0.5 s
    however small the tables, too slow after every test.
    """
    tables = list(reversed(Base.metadata.sorted_tables))
    async with database.transaction() as session:
        if truncate and database.dialect == "postgresql":
            names = ", ".join(f'"{table.name}"' for table in tables)
            await session.execute(text(f"TRUNCATE {names} RESTART IDENTITY"))
            return
        for table in tables:
            await session.execute(table.delete())
