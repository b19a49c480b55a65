"""``carebot checkin now``: start a manual check-in at once."""

from __future__ import annotations

from datetime import datetime

import typer

from bot.cli import fail, run, settings
from bot.config import Settings
from bot.runtime import build_runtime
from outreach.ports import OutboundMessage, SendResult
from storage.engine import Database
from storage.migrate import check_schema


def checkin_now(
    external_id: str = typer.Argument(..., help="The patient's external id."),
    restart: bool = typer.Option(False, "--restart", help="Cancel a check-in in progress first."),
    force: bool = typer.Option(False, "--force", help="Start even outside 08:00-21:00 local."),
) -> None:
    """Start a new check-in now (ignores the contact window, never consent)."""
    config = settings()
    checkin_id = run(_start(config, external_id, restart=restart, force=force))
    if checkin_id is None:
        fail(f"no check-in was started for {external_id}")
    typer.echo(f"check-in {checkin_id} started for {external_id}")


async def _start(config: Settings, external_id: str, *, restart: bool, force: bool) -> int | None:
    """Commit the check-in and its first question to the outbox. The running server or worker
    hands it to the provider at its next outbox tick (about a second): this process has no
    channel of its own (Telegram runs in the server), and the outbox never sends twice."""
    db = Database.from_url(config.db_url)
    try:
        await check_schema(db.engine)
        runtime = build_runtime(config, db, _NoChannels())
        await runtime.sync_programs()
        applied = await runtime.checkins.start_now(external_id, restart=restart, force=force)
        return applied.checkin_id
    finally:
        await db.dispose()


class _NoChannels:
    """The CLI queues; it never sends."""

    async def send(self, message: OutboundMessage) -> SendResult:
        raise RuntimeError("the command line does not send messages")

    def can_look_up(self, address: str) -> bool:
        return False

    async def find_sent(self, address: str, body: str, since: datetime) -> str | None:
        return None
