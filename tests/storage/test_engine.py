"""Engine set-up: SQLite pragmas, URL normalisation, transactions, DatabaseUnavailable."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text

from storage.engine import Database, create_engine, normalize_url
from storage.errors import DatabaseUnavailable
from storage.models import ProgramRow


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("postgres://u:p@h:5432/db", "postgresql+asyncpg://u:p@h:5432/db"),
        ("postgresql://u@h/db", "postgresql+asyncpg://u@h/db"),
        ("postgresql+asyncpg://u@h/db", "postgresql+asyncpg://u@h/db"),
        ("sqlite:///var/x.db", "sqlite+aiosqlite:///var/x.db"),
        ("sqlite+aiosqlite:///var/x.db", "sqlite+aiosqlite:///var/x.db"),
    ],
)
def test_urls_are_rewritten_to_async_drivers(url: str, expected: str) -> None:
    assert normalize_url(url).render_as_string(hide_password=False) == expected


async def test_sqlite_connections_get_wal_busy_timeout_and_foreign_keys(tmp_path: Path) -> None:
    path = tmp_path / "nested" / "dir" / "carebot.db"
    engine = create_engine(f"sqlite:///{path}", busy_timeout_ms=1234)
    try:
        async with engine.connect() as conn:
            pragmas = {
                name: (await conn.execute(text(f"PRAGMA {name}"))).scalar()
                for name in ("journal_mode", "busy_timeout", "foreign_keys", "synchronous")
            }
    finally:
        await engine.dispose()
    assert path.parent.is_dir()
    assert pragmas == {
        "journal_mode": "wal",
        "busy_timeout": 1234,
        "foreign_keys": 1,
        "synchronous": 1,  # NORMAL
    }


async def test_transaction_commits_and_rolls_back(db: Database) -> None:
    async with db.transaction() as session:
        session.add(ProgramRow(id="kept", name="Kept"))
    with pytest.raises(RuntimeError):
        async with db.transaction() as session:
            session.add(ProgramRow(id="dropped", name="Dropped"))
            await session.flush()
            raise RuntimeError("boom")
    async with db.transaction() as session:
        assert await session.get(ProgramRow, "kept") is not None
        assert await session.get(ProgramRow, "dropped") is None


async def test_loaded_rows_stay_readable_after_commit(db: Database) -> None:
    async with db.transaction() as session:
        program = ProgramRow(id="p", name="P")
        session.add(program)
    assert program.name == "P"  # expire_on_commit=False: no lazy reload after the session


@pytest.mark.parametrize(
    "url",
    [
        "postgresql://postgres@127.0.0.1:1/nothing",  # connection refused
        "sqlite:////proc/carebot-cannot-create/x.db",  # cannot open the file
    ],
    ids=["postgres-refused", "sqlite-unopenable"],
)
async def test_unreachable_database_raises_database_unavailable(url: str) -> None:
    database = Database.from_url(url)
    try:
        with pytest.raises(DatabaseUnavailable, match="cannot be reached"):
            async with database.transaction():
                pass
        with pytest.raises(DatabaseUnavailable):
            await database.ping()
    finally:
        await database.dispose()


async def test_sql_errors_are_not_mistaken_for_an_outage(db: Database) -> None:
    with pytest.raises(Exception) as caught:
        async with db.transaction() as session:
            await session.execute(text("SELECT * FROM no_such_table"))
    assert not isinstance(caught.value, DatabaseUnavailable)


async def test_unrelated_oserror_in_a_transaction_passes_through(db: Database) -> None:
    with pytest.raises(FileNotFoundError):
        async with db.transaction():
            raise FileNotFoundError("not the database")


async def test_memory_sqlite_works_without_pool_sizes() -> None:
    database = Database.from_url("sqlite://", pool_size=3)
    try:
        async with database.transaction() as session:
            assert (await session.execute(text("SELECT 1"))).scalar() == 1
    finally:
        await database.dispose()
