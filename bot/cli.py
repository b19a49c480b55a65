"""The ``carebot`` command line."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Coroutine
from typing import Any, NoReturn, TypeVar

import typer

from bot import __version__
from bot.config import Settings, load_settings
from outreach.errors import CarebotError

T = TypeVar("T")

app = typer.Typer(
    help="carebot: monthly check-ins over SMS, Telegram and voice, with triage and escalation.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
import_app = typer.Typer(help="Import care managers, patients and the on-call rota from CSV.")
checkin_app = typer.Typer(help="Start check-ins by hand.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(import_app, name="import")
app.add_typer(checkin_app, name="checkin")


def settings() -> Settings:
    """Settings for a command; a bad setting ends the command with one clear line."""
    try:
        return load_settings()
    except CarebotError as exc:
        fail(str(exc))


def fail(message: str, code: int = 1) -> NoReturn:
    """Print one line to stderr and exit non-zero."""
    typer.echo(f"carebot: {message}", err=True)
    raise typer.Exit(code)


def run(coro: Coroutine[Any, Any, T]) -> T:
    """Run a command's coroutine, turning carebot errors into one line on stderr."""
    try:
        return asyncio.run(coro)
    except CarebotError as exc:
        fail(str(exc))


def _version(value: bool) -> None:
    if value:
        typer.echo(f"carebot {__version__}")
        raise typer.Exit()


@app.callback()
def main_callback(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    """carebot command line."""


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:
        sys.exit(130)


def _register() -> None:
    """Commands live in bot/commands; they import the helpers above, so register them last."""
    from bot.commands.admin import create_admin
    from bot.commands.checkin import checkin_now
    from bot.commands.db import db_upgrade
    from bot.commands.demo import demo
    from bot.commands.export import export_app
    from bot.commands.importing import import_managers, import_patients, import_rota
    from bot.commands.invite import invite
    from bot.commands.report import report
    from bot.commands.serve import serve, worker
    from bot.commands.triage import context, triage

    db_app.command("upgrade")(db_upgrade)
    app.add_typer(export_app, name="export")
    import_app.command("managers")(import_managers)
    import_app.command("patients")(import_patients)
    import_app.command("rota")(import_rota)
    checkin_app.command("now")(checkin_now)
    app.command("create-admin")(create_admin)
    app.command("invite")(invite)
    app.command("serve")(serve)
    app.command("worker")(worker)
    app.command("triage")(triage)
    app.command("context")(context)
    app.command("demo")(demo)
    app.command("report")(report)


_register()
