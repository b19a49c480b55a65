"""The panel report: figures per care manager, as a terminal table and as HTML with SVG charts."""

from bot.reporting.charts import bar_chart_svg
from bot.reporting.figures import PanelFigures, PanelReport, month_bounds, panel_report
from bot.reporting.page import render_html
from bot.reporting.terminal import report_table

__all__ = [
    "PanelFigures",
    "PanelReport",
    "bar_chart_svg",
    "month_bounds",
    "panel_report",
    "render_html",
    "report_table",
]
