"""The panel report as one self-contained HTML page (a table and two SVG bar charts)."""

from __future__ import annotations

from html import escape

from bot.reporting.charts import Series, bar_chart_svg
from bot.reporting.figures import PanelFigures, PanelReport
from bot.reporting.terminal import minutes

STYLE = """
body { font-family: system-ui, sans-serif; margin: 2rem; color: #1f2933; }
table { border-collapse: collapse; margin-bottom: 2rem; }
th, td { padding: .35rem .7rem; border-bottom: 1px solid #d9e2ec; text-align: right; }
th:first-child, td:first-child { text-align: left; }
tfoot td { font-weight: bold; }
figure { margin: 0 0 2rem 0; }
.note { color: #52606d; font-size: .9rem; }
"""
COLUMNS = ("Care manager", "Patients", "Sent", "Completed", "Missed", "Completion",
           "Open escalations", "Median time to acknowledge")  # fmt: skip


def render_html(report: PanelReport) -> str:
    """A complete HTML document; every name is escaped."""
    title = f"Panel report, {report.label}"
    rows = "\n".join(_row(panel) for panel in report.panels)
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{escape(title)}</title>
<style>{STYLE}</style>
</head>
<body>
<h1>{escape(title)}</h1>
<p class="note">Check-ins scheduled in the month ({escape(report.timezone)}), by care manager.
Open escalations are those not resolved now; the time to acknowledge is the median for
escalations raised in the month.</p>
<table>
<thead><tr>{"".join(f"<th>{escape(c)}</th>" for c in COLUMNS)}</tr></thead>
<tbody>
{rows}
</tbody>
<tfoot>{_row(report.total)}</tfoot>
</table>
<figure>{checkins_chart(report)}</figure>
<figure>{acknowledgement_chart(report)}</figure>
</body>
</html>
"""


def checkins_chart(report: PanelReport) -> str:
    """Sent, completed and missed check-ins per care manager."""
    panels = report.panels
    return bar_chart_svg(
        f"Check-ins, {report.label}",
        [p.name for p in panels],
        [
            Series("sent", [float(p.sent) for p in panels], "#486581"),
            Series("completed", [float(p.completed) for p in panels], "#2f8132"),
            Series("missed", [float(p.missed) for p in panels], "#c63d2f"),
        ],
    )


def acknowledgement_chart(report: PanelReport) -> str:
    """Median minutes to acknowledge per care manager."""
    panels = report.panels
    return bar_chart_svg(
        f"Median minutes to acknowledge an escalation, {report.label}",
        [p.name for p in panels],
        [Series("minutes", [p.median_ack_minutes for p in panels], "#b7791f")],
        value_format="{:.0f}",
    )


def _row(panel: PanelFigures) -> str:
    rate = panel.completion_rate
    cells = [
        panel.name,
        str(panel.patients),
        str(panel.sent),
        str(panel.completed),
        str(panel.missed),
        "-" if rate is None else f"{rate:.0%}",
        str(panel.open_escalations),
        minutes(panel.median_ack_minutes),
    ]
    return "<tr>" + "".join(f"<td>{escape(cell)}</td>" for cell in cells) + "</tr>"
