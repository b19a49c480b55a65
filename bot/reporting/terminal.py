"""The panel report as a rich table for the terminal."""

from __future__ import annotations

from rich import box
from rich.table import Table

from bot.reporting.figures import PanelFigures, PanelReport


def report_table(report: PanelReport) -> Table:
    """One row per care manager and a total; fits 80 columns."""
    table = Table(title=f"Panel report, {report.label} ({report.timezone})", box=box.SIMPLE_HEAD)
    table.add_column("care manager", no_wrap=True)
    for heading in ("patients", "sent", "completed", "missed", "rate", "open esc."):
        table.add_column(heading, justify="right")
    table.add_column("median ack", justify="right")
    for panel in report.panels:
        table.add_row(*_cells(panel))
    table.add_section()
    table.add_row(*_cells(report.total), style="bold")
    return table


def _cells(panel: PanelFigures) -> list[str]:
    rate = panel.completion_rate
    return [
        panel.name,
        str(panel.patients),
        str(panel.sent),
        str(panel.completed),
        str(panel.missed),
        "-" if rate is None else f"{rate:.0%}",
        str(panel.open_escalations),
        minutes(panel.median_ack_minutes),
    ]


def minutes(value: float | None) -> str:
    """A duration in minutes for people: '-', '12 min', '3.5 h', '2.1 days'."""
    if value is None:
        return "-"
    if value < 90:
        return f"{value:.0f} min"
    if value < 48 * 60:
        return f"{value / 60:.1f} h"
    return f"{value / 1440:.1f} days"
