"""Trend charts: the thresholds drawn come from the programs' rules (pure, no database)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.dashboard.charts import Chart, Point, Threshold, render_svg
from bot.dashboard.trends import rule_thresholds
from outreach.programs import builtin_programs


def _values(thresholds: list[Threshold]) -> list[float]:
    return [t.value for t in thresholds]


def test_thresholds_of_the_built_in_programs() -> None:
    programs = builtin_programs()
    pain = programs["general"].question("pain")
    assert _values(rule_thresholds(pain.rules)) == [7]
    phq9 = next(t for t in programs["depression"].totals if t.id == "phq9")
    assert _values(rule_thresholds(phq9.rules)) == [10, 15, 20]
    severe = rule_thresholds(phq9.rules)[-1]
    assert (severe.value, severe.tone) == (20, "urgent")  # the most severe rule wins a value
    weight = programs["heart_failure"].question("weight")
    assert _values(rule_thresholds(weight.rules)) == []  # no baseline: no line
    lines = rule_thresholds(weight.rules, baseline=180.0)
    assert [(t.value, t.label) for t in lines] == [(180.0, "baseline"), (185.0, "baseline+5")]
    low = programs["diabetes"].question("lowest_sugar")
    assert _values(rule_thresholds(low.rules)) == [54, 70]


def test_the_svg_has_points_thresholds_and_no_script() -> None:
    start = datetime(2026, 1, 5, 15, 0, tzinfo=UTC)
    chart = Chart(
        id="pain",
        title="Pain <0-10>",
        points=[Point(start + timedelta(days=30 * i), v) for i, v in enumerate((2, 5, 9))],
        thresholds=[Threshold(7, "urgent", "urgent")],
        low=0,
        high=10,
    )
    svg = str(render_svg(chart, UTC))
    assert svg.startswith('<svg class="chart"') and svg.endswith("</svg>")
    assert svg.count("<circle") == 3 and 'data-value="7"' in svg
    assert "Pain &lt;0-10&gt;" in svg and "<script" not in svg and "style=" not in svg
    assert "Jan 05 2026" in svg and "Mar 06 2026" in svg


def test_an_empty_chart_says_so() -> None:
    svg = str(render_svg(Chart(id="weight", title="Weight (lb)"), UTC))
    assert "No answers yet" in svg and "<circle" not in svg
