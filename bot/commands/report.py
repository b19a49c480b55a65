"""``carebot report``: the month's panel report per care manager, in the terminal and as HTML."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from zoneinfo import ZoneInfo

import typer
from rich.console import Console

from bot.config import Settings
from bot.reporting import PanelReport, panel_report, render_html, report_table
from outreach.clock import SystemClock
from storage.engine import Database
from storage.migrate import check_schema


def report(
    month: str = typer.Option(
        "", "--month", metavar="YYYY-MM", help="The month to report (default: this month)."
    ),
    html: Path | None = typer.Option(
        None, "--html", metavar="FILE", help="Also write the report as HTML with SVG charts."
    ),
) -> None:
    """Check-ins sent, completed and missed, open escalations and median time to acknowledge,
    per care manager, for one month (months in DEFAULT_TIMEZONE)."""
    from bot.cli import fail, run, settings  # bot.cli wires this callback: import it late

    config = settings()
    try:
        first = parse_month(month, config.default_timezone)
    except ValueError as exc:
        fail(str(exc), code=2)
    result = run(_report(config, first))
    Console(highlight=False).print(report_table(result))
    if html is not None:
        try:
            html.write_text(render_html(result), encoding="utf-8")
        except OSError as exc:
            fail(f"{html}: cannot write the report: {exc.strerror}")
        typer.echo(f"wrote {html}")


def parse_month(text: str, timezone: str) -> date:
    """``YYYY-MM`` as the month's first day; empty: the current month in ``timezone``."""
    if not text:
        return SystemClock().now().astimezone(ZoneInfo(timezone)).date().replace(day=1)
    try:
        year, month = (int(part) for part in text.strip().split("-"))
        return date(year, month, 1)
    except ValueError:
        raise ValueError(f"--month must be YYYY-MM (e.g. 2026-03), got {text!r}") from None


async def _report(config: Settings, month: date) -> PanelReport:
    async with Database.from_url(config.db_url) as db:
        await check_schema(db.engine)
        return await panel_report(db, month, timezone=config.default_timezone)
