"""Shared fixtures: a migrated database on SQLite and PostgreSQL (``db``) and a manual clock.

PostgreSQL tests need ``CAREBOT_TEST_POSTGRES_URL`` (CI sets it); without it they skip with a
visible reason. Each test session works in its own scratch database ``carebot_test_<random>``
created from that URL and dropped at the end, so concurrent runs do not meet.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import text

from outreach.clock import ManualClock
from storage.engine import Database, normalize_url
from storage.migrate import upgrade
from storage.models import Base
from tests.scratch import scratch_postgres

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
