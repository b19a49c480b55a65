"""Migrations: empty → head on both engines, no drift from the models, check_schema refuses."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect
from sqlalchemy.engine import Connection

from storage.engine import create_engine
from storage.errors import SchemaOutOfDate
from storage.migrate import (
    MIGRATIONS_DIR,
    alembic_config,
    check_schema,
    current_revision,
    head_revision,
    upgrade,
)
from storage.models import Base
from tests.conftest import BACKENDS, postgres_url_or_skip
from tests.scratch import scratch_postgres


@pytest.fixture(params=BACKENDS)
async def empty_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """A fresh, empty database of each backend."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'empty.db'}"
        return
    async with scratch_postgres(postgres_url_or_skip(), prefix="carebot_mig") as url:
        yield url


def _diff(connection: Connection) -> list[Any]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return list(compare_metadata(context, Base.metadata))


async def test_upgrade_from_empty_matches_the_models(empty_url: str) -> None:
    assert await current_revision(empty_url) is None
    await upgrade(empty_url)
    assert await current_revision(empty_url) == head_revision() == HEAD
    engine = create_engine(empty_url)
    try:
        async with engine.connect() as conn:
            diff = await conn.run_sync(_diff)
            tables = await conn.run_sync(lambda c: set(inspect(c).get_table_names()))
        await check_schema(engine)  # head: no error
    finally:
        await engine.dispose()
    assert diff == []
    assert tables == set(Base.metadata.tables) | {"alembic_version"}


async def test_upgrade_twice_is_a_no_op(empty_url: str) -> None:
    await upgrade(empty_url)
    await upgrade(empty_url)
    assert await current_revision(empty_url) == head_revision()


async def test_check_schema_refuses_an_empty_database(empty_url: str) -> None:
    engine = create_engine(empty_url)
    try:
        with pytest.raises(
            SchemaOutOfDate, match=rf"at none .* needs {HEAD}: run `carebot db upgrade`"
        ):
            await check_schema(engine)
    finally:
        await engine.dispose()


HEAD = "0003"
"""The newest migration in storage/migrations/versions."""

SECOND_REVISION = '''
"""Add a column (batch mode on SQLite)."""
import sqlalchemy as sa
from alembic import op

revision = "9999"
down_revision = "{head}"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("programs") as batch_op:
        batch_op.add_column(sa.Column("extra", sa.String(10), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("programs") as batch_op:
        batch_op.drop_column("extra")
'''


async def test_check_schema_refuses_an_older_revision(empty_url: str, tmp_path: Path) -> None:
    """A database at our head run by a carebot with one more migration: refused until
    upgraded."""
    newer = tmp_path / "migrations"
    shutil.copytree(MIGRATIONS_DIR, newer, ignore=shutil.ignore_patterns("__pycache__"))
    (newer / "versions" / "9999_extra.py").write_text(SECOND_REVISION.replace("{head}", HEAD))
    config = alembic_config(newer)
    await upgrade(empty_url)  # our head
    engine = create_engine(empty_url)
    try:
        with pytest.raises(SchemaOutOfDate, match=rf"at {HEAD}, this carebot needs 9999"):
            await check_schema(engine, config=config)
        await upgrade(empty_url, config=config)  # a later migration, batch mode on SQLite
        await check_schema(engine, config=config)
        # ...and the older code meets a newer database: a clear refusal too.
        with pytest.raises(SchemaOutOfDate, match=r"at 9999, which this carebot does not know"):
            await check_schema(engine)
    finally:
        await engine.dispose()


def test_migrations_ship_inside_the_package() -> None:
    assert (MIGRATIONS_DIR / "env.py").is_file()
    assert (MIGRATIONS_DIR / "script.py.mako").is_file()
    assert (MIGRATIONS_DIR / "versions" / "0001_initial.py").is_file()
    assert (MIGRATIONS_DIR / "__init__.py").is_file()  # found by setuptools' package finder
    assert (MIGRATIONS_DIR / "versions" / "__init__.py").is_file()


async def test_two_upgrades_at_once_do_not_collide(empty_url: str) -> None:
    """Two `carebot db upgrade` started together: one migrates, the other waits, then no-ops."""
    await asyncio.gather(upgrade(empty_url), upgrade(empty_url))
    assert await current_revision(empty_url) == head_revision()
