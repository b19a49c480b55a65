"""``carebot import managers|patients|rota FILE.csv``: the typer callbacks (wired in bot.cli)."""

from __future__ import annotations

import sys
from collections.abc import Awaitable, Callable
from pathlib import Path

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeRemainingColumn,
)

from bot import importing as core
from bot.config import Settings
from bot.importing import ImportFileError, ImportReport, ProgressCallback
from outreach.clock import SystemClock
from outreach.ports import Clock
from storage.engine import Database
from storage.migrate import check_schema

PROGRESS_MIN_ROWS = 2000
"""Files with more good rows than this get a progress bar (on a terminal's stderr only)."""
EXIT_FILE_UNUSABLE = 2

Importer = Callable[..., Awaitable[ImportReport]]
_SKIP_BAD = typer.Option(
    False, "--skip-bad", help="Import the good rows and report the bad ones (exit 0 if any row)."
)
_FILE = typer.Argument(..., help="The CSV file (UTF-8, header on line 1).", dir_okay=False)


def import_managers(file: Path = _FILE, skip_bad: bool = _SKIP_BAD) -> None:
    """Import care managers: email,name,phone,role,backup,timezone."""
    _import(core.import_managers, file, skip_bad)


def import_patients(file: Path = _FILE, skip_bad: bool = _SKIP_BAD) -> None:
    """Import patients with their program, cadence, family contact and consent."""
    _import(core.import_patients, file, skip_bad)


def import_rota(file: Path = _FILE, skip_bad: bool = _SKIP_BAD) -> None:
    """Replace the on-call rota: email,days,start,end,timezone,rung."""
    _import(core.import_rota, file, skip_bad)


def _import(importer: Importer, file: Path, skip_bad: bool) -> None:
    from bot.cli import fail, run, settings  # bot.cli wires these callbacks: import it late

    config = settings()
    bar = ProgressBar()
    try:
        outcome = run(_run(importer, config, SystemClock(), file, skip_bad, bar))
    finally:
        bar.close()
    if isinstance(outcome, ImportFileError):
        fail(str(outcome), EXIT_FILE_UNUSABLE)
    print_report(outcome)
    raise typer.Exit(outcome.exit_code)


async def _run(
    importer: Importer,
    config: Settings,
    clock: Clock,
    file: Path,
    skip_bad: bool,
    progress: ProgressCallback,
) -> ImportReport | ImportFileError:
    async with Database.from_url(config.db_url) as db:
        await check_schema(db.engine)
        try:
            return await importer(db, clock, config, file, skip_bad=skip_bad, progress=progress)
        except ImportFileError as exc:
            return exc


def print_report(report: ImportReport) -> None:
    """Bad rows on stderr; notes (opted out) and the summary line on stdout."""
    for bad in report.bad:
        typer.echo(bad.text(), err=True)
    for note in sorted(report.notes, key=lambda n: n.line):
        typer.echo(f"line {note.line}: {note.text}")
    typer.echo(report.summary())


class ProgressBar:
    """A rich progress bar on stderr for long files, drawn only when stderr is a terminal."""

    def __init__(self, min_rows: int = PROGRESS_MIN_ROWS) -> None:
        self.min_rows = min_rows
        self._progress: Progress | None = None
        self._task = TaskID(0)

    def __call__(self, done: int, total: int) -> None:
        if total <= self.min_rows or not sys.stderr.isatty():
            return
        if self._progress is None:
            self._progress = Progress(
                TextColumn("importing"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeRemainingColumn(),
                console=Console(stderr=True),
                transient=True,
            )
            self._progress.start()
            self._task = self._progress.add_task("rows", total=total)
        self._progress.update(self._task, completed=done)

    def close(self) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None
