"""Schema migrations: upgrade to head (``carebot db upgrade``) and refuse to run on an old schema.

Alembic is configured in code, from the ``storage/migrations`` directory next to this module, so
that it works from an installed package and any working directory.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from storage.engine import create_engine, translate_unavailable
from storage.errors import SchemaOutOfDate

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
UPGRADE_LOCK_KEY = 0x0CA7EB07  # pg_advisory_xact_lock key held while migrating


def alembic_config(script_location: str | Path | None = None) -> Config:
    """An Alembic Config for our migrations (or another script directory, in tests)."""
    config = Config()
    config.set_main_option("script_location", str(script_location or MIGRATIONS_DIR))
    config.set_main_option("path_separator", "os")
    return config


def head_revision(config: Config | None = None) -> str:
    """The revision this code needs."""
    head = ScriptDirectory.from_config(config or alembic_config()).get_current_head()
    if head is None:  # pragma: no cover - we ship at least one revision
        raise RuntimeError("no migrations found")
    return head


@asynccontextmanager
async def _engine_for(
    url_or_engine: str | AsyncEngine, *, foreign_keys: bool = True
) -> AsyncIterator[AsyncEngine]:
    if isinstance(url_or_engine, AsyncEngine):
        yield url_or_engine
        return
    engine = create_engine(url_or_engine, pool_size=1, foreign_keys=foreign_keys)
    try:
        yield engine
    finally:
        await engine.dispose()


async def upgrade(
    url: str | AsyncEngine, revision: str = "head", *, config: Config | None = None
) -> None:
    """Apply the migrations up to ``revision`` in one transaction.

    On SQLite foreign keys are off while migrating (batch mode rebuilds tables, and dropping a
    parent table with them on would run the children's ON DELETE actions); ``foreign_key_check``
    runs before the commit. Pass a URL rather than an engine on SQLite for that reason.
    """
    config = config or alembic_config()

    def run(connection: Connection) -> None:
        if connection.dialect.name == "postgresql":
            # Two `carebot db upgrade` at once: the second waits, then finds nothing to do.
            connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({UPGRADE_LOCK_KEY})")
        config.attributes["connection"] = connection
        try:
            command.upgrade(config, revision)
        finally:
            config.attributes.pop("connection", None)
        if connection.dialect.name == "sqlite":
            problems = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
            if problems:
                raise RuntimeError(f"migration broke foreign keys: {problems[:5]}")

    async with _engine_for(url, foreign_keys=False) as engine:
        with translate_unavailable(connecting=True):
            async with engine.begin() as conn:
                await conn.run_sync(run)


def _current(connection: Connection) -> str | None:
    heads = MigrationContext.configure(connection).get_current_heads()
    return heads[0] if len(heads) == 1 else (",".join(heads) or None)


async def current_revision(url: str | AsyncEngine) -> str | None:
    """The database's revision, or None when no migration has been applied."""
    async with _engine_for(url) as engine:
        with translate_unavailable(connecting=True):
            async with engine.connect() as conn:
                return await conn.run_sync(_current)


async def check_schema(engine: AsyncEngine, *, config: Config | None = None) -> None:
    """Raise SchemaOutOfDate unless the database is at the head revision of this code.

    Raises DatabaseUnavailable when the database cannot be reached.
    """
    config = config or alembic_config()
    head = head_revision(config)
    current = await current_revision(engine)
    if current == head:
        return
    if current is None:
        raise SchemaOutOfDate(
            f"the database schema is at none (empty or never migrated), this carebot needs "
            f"{head}: run `carebot db upgrade`"
        )
    script = ScriptDirectory.from_config(config)
    known = {rev.revision for rev in script.walk_revisions()}
    if current not in known:
        raise SchemaOutOfDate(
            f"the database schema is at {current}, which this carebot does not know (it needs "
            f"{head}): the database was migrated by a newer carebot; upgrade carebot"
        )
    raise SchemaOutOfDate(
        f"the database schema is at {current}, this carebot needs {head}: run `carebot db upgrade`"
    )
