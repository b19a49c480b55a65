"""Trend charts as server-rendered SVG: one series of dated values and its rule thresholds.

Pure functions, no I/O and no script: the SVG uses presentation attributes only (no inline
``style``), so the page's Content-Security-Policy can forbid inline styles and scripts.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, tzinfo
from html import escape

from markupsafe import Markup

WIDTH, HEIGHT = 540, 220
LEFT, RIGHT, TOP, BOTTOM = 48, 110, 16, 30
Scale = Callable[[float], float]
TimeScale = Callable[[datetime], float]
TONES = {"emergency": "#b00020", "urgent": "#d35400", "routine": "#8a6d00", "baseline": "#555"}


@dataclass(frozen=True, slots=True)
class Point:
    at: datetime
    value: float


@dataclass(frozen=True, slots=True)
class Threshold:
    """A horizontal line: a rule's limit (pain 7, PHQ-9 10/15/20) or the patient's baseline."""

    value: float
    label: str
    tone: str = "routine"


@dataclass(frozen=True, slots=True)
class Chart:
    """One trend: ``low``/``high`` bound the y axis when the answer has a fixed range."""

    id: str
    title: str
    unit: str = ""
    points: Sequence[Point] = ()
    thresholds: Sequence[Threshold] = ()
    low: float | None = None
    high: float | None = None
    floor: float | None = None
    """The lowest value an answer can take (0 days): the axis never goes below it."""


def _range(chart: Chart) -> tuple[float, float]:
    """The y axis: the answer's fixed range, else the data and thresholds with some room,
    widened to whole steps of the tick spacing."""
    values = [p.value for p in chart.points] + [t.value for t in chart.thresholds]
    if chart.low is not None and chart.high is not None:
        return min([chart.low, *values]), max([chart.high, *values])
    low, high = min(values, default=0.0), max(values, default=1.0)
    if high - low < 1e-9:
        low, high = low - 1, high + 1
    pad = (high - low) * 0.1
    low, high = low - pad, high + pad
    if chart.floor is not None:
        low = max(low, chart.floor)
    step = _step(high - low)
    return math.floor(low / step) * step, math.ceil(high / step) * step


def _step(span: float) -> float:
    """A tick spacing of 1, 2, 2.5 or 5 times a power of ten giving about four intervals."""
    raw = span / 4
    power = 10.0 ** math.floor(math.log10(raw))
    return next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= raw)


def _fmt(value: float) -> str:
    return f"{value:g}" if abs(value) >= 0.01 or value == 0 else f"{value:.2g}"


def render_svg(chart: Chart, tz: tzinfo) -> Markup:
    """The chart as an inline ``<svg>`` element (role img, with a title for screen readers)."""
    low, high = _range(chart)
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def y(value: float) -> float:
        return TOP + plot_h * (high - value) / (high - low)

    points = sorted(chart.points, key=lambda p: p.at)
    first = points[0].at if points else None
    span = (points[-1].at - first).total_seconds() if points and first else 0.0

    def x(at: datetime) -> float:
        if first is None or span <= 0:
            return LEFT + plot_w / 2
        return LEFT + plot_w * (at - first).total_seconds() / span

    title = escape(chart.title)
    parts = [
        f'<svg class="chart" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" '
        f'width="{WIDTH}" height="{HEIGHT}" role="img" aria-label="{title}" '
        f'data-chart="{escape(chart.id)}"><title>{title}</title>',
        f'<rect x="{LEFT}" y="{TOP}" width="{plot_w}" height="{plot_h}" fill="#fafafa" '
        'stroke="#ccc"/>',
    ]
    parts += _y_ticks(low, high, y)
    parts += _thresholds(chart.thresholds, low, high, y)
    parts += _series(points, x, y, chart.unit, tz)
    parts += _x_labels(points, x, tz)
    if not points:
        parts.append(
            f'<text x="{LEFT + plot_w / 2}" y="{TOP + plot_h / 2}" text-anchor="middle" '
            'fill="#777" font-size="13">No answers yet</text>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))


def _y_ticks(low: float, high: float, y: Scale) -> list[str]:
    ticks = []
    step = _step(high - low)
    first = math.ceil(low / step - 1e-9) * step
    count = math.floor((high - first) / step + 1e-9)
    for i in range(count + 1):
        value = first + step * i
        ticks.append(
            f'<line x1="{LEFT - 4}" x2="{LEFT}" y1="{y(value):.1f}" y2="{y(value):.1f}" '
            'stroke="#999"/>'
            f'<text x="{LEFT - 6}" y="{y(value) + 4:.1f}" text-anchor="end" font-size="11" '
            f'fill="#555">{escape(_fmt(round(value, 2)))}</text>'
        )
    return ticks


def _thresholds(thresholds: Sequence[Threshold], low: float, high: float, y: Scale) -> list[str]:
    lines = []
    for threshold in thresholds:
        if not low <= threshold.value <= high:
            continue
        colour = TONES.get(threshold.tone, TONES["routine"])
        dash = "2 3" if threshold.tone == "baseline" else "6 4"
        at = y(threshold.value)
        label = escape(f"{threshold.label} ({_fmt(threshold.value)})")
        lines.append(
            f'<g class="threshold" data-value="{_fmt(threshold.value)}">'
            f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{at:.1f}" y2="{at:.1f}" '
            f'stroke="{colour}" stroke-dasharray="{dash}"/>'
            f'<text x="{WIDTH - RIGHT + 4}" y="{at + 4:.1f}" font-size="11" fill="{colour}">'
            f"{label}</text></g>"
        )
    return lines


def _series(points: Sequence[Point], x: TimeScale, y: Scale, unit: str, tz: tzinfo) -> list[str]:
    if not points:
        return []
    coords = " ".join(f"{x(p.at):.1f},{y(p.value):.1f}" for p in points)
    parts = [f'<polyline points="{coords}" fill="none" stroke="#1f5fa8" stroke-width="2"/>']
    for point in points:
        when = point.at.astimezone(tz).strftime("%Y-%m-%d")
        parts.append(
            f'<circle cx="{x(point.at):.1f}" cy="{y(point.value):.1f}" r="4" fill="#1f5fa8">'
            f"<title>{escape(when)}: {escape(_fmt(point.value))} {escape(unit)}</title></circle>"
        )
    return parts


def _x_labels(points: Sequence[Point], x: TimeScale, tz: tzinfo) -> list[str]:
    if not points:
        return []
    shown = [points[0]] if len(points) == 1 else [points[0], points[-1]]
    labels = []
    for index, point in enumerate(shown):
        anchor = "middle" if len(shown) == 1 else ("start" if index == 0 else "end")
        labels.append(
            f'<text x="{x(point.at):.1f}" y="{HEIGHT - 10}" text-anchor="{anchor}" '
            f'font-size="11" fill="#555">{escape(point.at.astimezone(tz).strftime("%b %d %Y"))}'
            "</text>"
        )
    return labels
