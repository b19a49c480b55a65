"""``carebot db upgrade``: apply the Alembic migrations."""

from __future__ import annotations

import typer

from bot.cli import run, settings
from storage.migrate import current_revision, head_revision, upgrade


def db_upgrade() -> None:
    """Create or upgrade the database schema to this version of carebot."""
    config = settings()
    config.var_dir.mkdir(parents=True, exist_ok=True)
    run(upgrade(config.db_url))
    revision = run(current_revision(config.db_url))
    typer.echo(f"database schema at {revision} (head {head_revision()})")
