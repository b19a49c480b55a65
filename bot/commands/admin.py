"""``carebot create-admin``: create an admin for the dashboard, or promote a manager to admin."""

from __future__ import annotations

import logging
import sys
from dataclasses import dataclass
from typing import TextIO

import typer

from bot.config import Settings
from bot.importing.fields import parse_email
from bot.passwords import check_strength, hash_password
from outreach.clock import SystemClock
from outreach.errors import CarebotError
from outreach.ports import Clock
from storage.engine import Database
from storage.migrate import check_schema
from storage.repositories.managers import ManagerRepository

log = logging.getLogger("carebot.admin")


class BadAdminInput(CarebotError, ValueError):
    """The e-mail, name or password given to create-admin is not acceptable."""


@dataclass(frozen=True, slots=True)
class AdminResult:
    manager_id: int
    created: bool


async def create_admin_account(
    db: Database, clock: Clock, settings: Settings, *, email: str, name: str, password: str
) -> AdminResult:
    """Create the manager with role admin and this password, or promote and re-password the
    existing manager with that e-mail (name updated; phone, backup and Telegram kept)."""
    try:
        address = parse_email(email.strip())
        check_strength(password)
    except ValueError as exc:
        raise BadAdminInput(str(exc)) from None
    if not name.strip():
        raise BadAdminInput("the name is empty")
    password_hash = hash_password(password)
    async with db.transaction() as session:
        repo = ManagerRepository(session)
        existing = await repo.by_email(address)
        manager, created = await repo.upsert_by_email(
            address,
            name=name.strip(),
            at=clock.now(),
            phone=existing.phone if existing else None,
            role="admin",
            timezone=existing.timezone if existing else settings.default_timezone,
        )
        await repo.set_password_hash(manager.id, password_hash)
        if not manager.active:
            await repo.set_active(manager.id, True)
    log.info("admin %d %s", manager.id, "created" if created else "promoted")
    return AdminResult(manager.id, created)


def read_password(stream: TextIO, from_stdin: bool) -> str:
    """The password: the first line of ``stream`` when piped (or ``--password-stdin``), else
    prompted twice without echo."""
    if from_stdin or not stream.isatty():
        return stream.readline().rstrip("\r\n")
    value: str = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    return value


def create_admin(
    email: str = typer.Option(..., "--email", help="The admin's e-mail (their login)."),
    name: str = typer.Option(..., "--name", help="The admin's name."),
    password_stdin: bool = typer.Option(
        False,
        "--password-stdin",
        help="Read the password from the first line of stdin (automatic when stdin is piped).",
    ),
) -> None:
    """Create a dashboard admin, or promote an existing manager to admin; sets the password."""
    from bot.cli import fail, run, settings  # bot.cli wires this callback: import it late

    config = settings()
    password = read_password(sys.stdin, password_stdin)
    if not password:
        fail("no password given")
    result = run(_create(config, email, name, password))
    verb = "created" if result.created else "promoted to admin"
    typer.echo(f"admin {result.manager_id} {verb}: {email.strip().lower()}")


async def _create(config: Settings, email: str, name: str, password: str) -> AdminResult:
    async with Database.from_url(config.db_url) as db:
        await check_schema(db.engine)
        return await create_admin_account(
            db, SystemClock(), config, email=email, name=name, password=password
        )
