"""Alembic environment: runs on the connection ``storage.migrate`` passes, or on ``-x url=``."""

from __future__ import annotations

import asyncio
import logging.config
from typing import Any, Literal

from alembic import context
from alembic.autogenerate.api import AutogenContext
from sqlalchemy.engine import Connection

from storage.engine import create_engine
from storage.models import Base
from storage.types import UTCDateTime

config = context.config
target_metadata = Base.metadata


def render_item(type_: str, obj: Any, autogen_context: AutogenContext) -> str | Literal[False]:
    """Render our column types as plain SQLAlchemy types: migrations must not import app code."""
    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def configure(connection: Connection | None = None, **options: Any) -> None:
    dialect = connection.dialect.name if connection is not None else ""
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_item=render_item,
        # SQLite alters tables by copying them; later migrations rely on batch mode.
        render_as_batch=dialect == "sqlite" or options.pop("render_as_batch", False),
        compare_type=True,
        **options,
    )


def run_on(connection: Connection) -> None:
    configure(connection)
    with context.begin_transaction():
        context.run_migrations()


async def run_with_url(url: str) -> None:
    # Tables are rebuilt in batch mode: with foreign keys on, SQLite's DROP TABLE would run the
    # ON DELETE actions of the children.
    engine = create_engine(url, foreign_keys=False)
    try:
        async with engine.begin() as conn:
            await conn.run_sync(run_on)
    finally:
        await engine.dispose()


def url_from_cli() -> str:
    url = context.get_x_argument(as_dictionary=True).get("url") or config.get_main_option(
        "sqlalchemy.url"
    )
    if not url:
        raise SystemExit("give the database: alembic -c storage/alembic.ini -x url=URL ...")
    return url


def main() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        run_on(connection)
        return
    if config.config_file_name is not None and config.file_config.has_section("loggers"):
        logging.config.fileConfig(config.config_file_name, disable_existing_loggers=False)
    if context.is_offline_mode():
        configure(url=url_from_cli(), literal_binds=True)
        with context.begin_transaction():
            context.run_migrations()
        return
    asyncio.run(run_with_url(url_from_cli()))


main()
