"""``carebot report`` on the demo month: a row per care manager, and HTML with SVG charts."""

from __future__ import annotations

import asyncio
from datetime import date
from pathlib import Path

from bot.demo.data import STAFF
from bot.reporting import PanelReport, panel_report
from bot.reporting.charts import Series, bar_chart_svg
from storage.engine import Database
from tests.demo.conftest import DemoRun, invoke

MANAGERS = [s.name for s in STAFF if s.role == "care_manager"]


def test_report_table_and_html(demo_run: DemoRun, tmp_path: Path) -> None:
    html = tmp_path / "report.html"
    result = invoke(
        "report", "--month", "2026-03", "--html", str(html), env={"DATABASE_URL": demo_run.url}
    )
    assert result.exit_code == 0, result.output
    for name in MANAGERS:
        assert name in result.stdout
    assert "Panel report, March 2026" in result.stdout
    page = html.read_text(encoding="utf-8")
    assert page.count("<svg") == 2
    for name in MANAGERS:
        assert f"<td>{name}</td>" in page


def test_report_figures_add_up(demo_run: DemoRun) -> None:
    report = asyncio.run(_report(demo_run.url))
    summary = demo_run.summary
    assert [p.name for p in report.panels] == sorted(MANAGERS)
    assert report.total.sent == summary.checkins_sent
    assert report.total.completed == summary.checkins_completed
    assert report.total.missed == summary.checkins_missed
    assert report.total.patients == 20
    # Emergency and urgent were resolved in the run; the two routine ones stay in the queue.
    assert report.total.open_escalations == 2
    assert report.total.escalations == sum(summary.escalations.values())


async def _report(url: str) -> PanelReport:
    async with Database.from_url(url) as db:
        return await panel_report(db, date(2026, 3, 17), timezone="America/New_York")


def test_bad_month_is_refused() -> None:
    result = invoke("report", "--month", "March")
    assert result.exit_code == 2
    assert "--month must be YYYY-MM" in result.stderr


def test_chart_escapes_every_text() -> None:
    svg = bar_chart_svg(
        "<b>title</b>", ['Ann "<script>"'], [Series("a&b", [3.0], "#000")], value_format="{:.0f}"
    )
    assert "<script>" not in svg and "<b>" not in svg
    assert "&lt;script&gt;" in svg and "a&amp;b" in svg
    assert svg.startswith("<svg") and svg.endswith("</svg>")
