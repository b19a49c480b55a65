"""``carebot demo``: a month of the demo panel in fast time, headless, with a timeline."""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.text import Text

from bot.config import Settings
from bot.demo.loader import refuse_in_production
from bot.demo.simulation import DEMO_START, DemoResult, simulate_month
from bot.demo.timeline import TimelineEvent
from bot.logs import configure_logging
from storage.engine import Database
from storage.migrate import upgrade

STYLES = {"emergency": "bold red", "urgent": "yellow", "routine": "cyan"}


def demo(
    days: int = typer.Option(30, "--days", min=1, max=62, help="Simulated days (a month: 30)."),
    seed: int = typer.Option(1, "--seed", help="Seed of the scripted reply and ack delays."),
    database_url: str = typer.Option(
        "",
        "--database-url",
        help="Keep the month in this database (migrated first; use an empty one), e.g. to run "
        "`carebot report` on it. Default: a temporary SQLite file, deleted at the end.",
    ),
    verbose: bool = typer.Option(False, "--verbose", help="Show every patient's messages."),
    quiet: bool = typer.Option(False, "--quiet", help="Print the summary only."),
) -> None:
    """Simulate a month of check-ins over the sandbox channel in fast time (no credentials)."""
    from bot.cli import run, settings  # bot.cli wires this callback: import it late

    config = settings()
    configure_logging("WARNING")  # the timeline is the output; warnings still show
    console = Console(highlight=False)
    run(_refuse(config))
    with _database_url(database_url) as url:
        result = run(_simulate(config, url, days, seed, verbose, None if quiet else console))
    console.print(result.summary.table())
    console.print("Times are New York time; patients are shown by id only.", style="dim")


async def _refuse(config: Settings) -> None:
    refuse_in_production(config)


@contextmanager
def _database_url(url: str) -> Iterator[str]:
    if url:
        yield url
        return
    with tempfile.TemporaryDirectory(prefix="carebot-demo-") as folder:
        yield f"sqlite+aiosqlite:///{(Path(folder) / 'demo.db').as_posix()}"


async def _simulate(
    config: Settings, url: str, days: int, seed: int, verbose: bool, console: Console | None
) -> DemoResult:
    await upgrade(url)
    async with Database.from_url(url) as db:
        if console is None:
            return await simulate_month(db, config, days=days, seed=seed, verbose=verbose)
        with _progress(console, days) as (on_event, on_progress):
            return await simulate_month(
                db,
                config,
                days=days,
                seed=seed,
                verbose=verbose,
                on_event=on_event,
                on_progress=on_progress,
            )


@contextmanager
def _progress(
    console: Console, days: int
) -> Iterator[tuple[Callable[[TimelineEvent], None], Callable[[datetime], None]]]:
    """A progress bar over the simulated days, with the timeline printed above it."""
    columns = (
        TextColumn("simulating"),
        BarColumn(),
        TextColumn("day {task.completed:.0f}/{task.total:.0f}"),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=console, transient=True) as progress:
        task = progress.add_task("month", total=days)

        def on_event(event: TimelineEvent) -> None:
            line = Text.assemble(
                (event.when(), "dim"),
                "  ",
                (f"{event.subject:<5}", "bold"),
                "  ",
                (event.text, STYLES.get(event.level, "")),
            )
            progress.console.print(line, soft_wrap=True)

        def on_progress(now: datetime) -> None:
            elapsed = (now - DEMO_START) / timedelta(days=1)
            progress.update(task, completed=min(elapsed, days))

        yield on_event, on_progress
