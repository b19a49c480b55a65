"""Horizontal grouped bar charts as inline SVG: no JavaScript, no chart library, all escaped."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

WIDTH = 640
LABEL_WIDTH = 170
VALUE_WIDTH = 70
BAR_HEIGHT = 14
BAR_GAP = 3
GROUP_GAP = 14
TOP = 44


@dataclass(frozen=True, slots=True)
class Series:
    """One set of bars: its name, one value per category (None: no figure), and its colour."""

    name: str
    values: Sequence[float | None]
    color: str


def bar_chart_svg(
    title: str,
    categories: Sequence[str],
    series: Sequence[Series],
    *,
    value_format: str = "{:g}",
) -> str:
    """An SVG chart: one group of bars per category (e.g. per care manager), one bar per series.

    Every text is escaped; the chart has a ``<title>`` and an ``aria-label`` for screen readers.
    """
    values = [v for s in series for v in s.values if v is not None]
    top = max(values, default=0.0) or 1.0
    plot = WIDTH - LABEL_WIDTH - VALUE_WIDTH
    group = len(series) * (BAR_HEIGHT + BAR_GAP) - BAR_GAP
    height = TOP + len(categories) * (group + GROUP_GAP) + 8
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" '
        f'viewBox="0 0 {WIDTH} {height}" role="img" aria-label="{escape(title)}">',
        f"<title>{escape(title)}</title>",
        f'<text x="0" y="16" font-size="14" font-weight="bold">{escape(title)}</text>',
        *_legend(series),
    ]
    for row, category in enumerate(categories):
        y = TOP + row * (group + GROUP_GAP)
        parts.append(
            f'<text x="{LABEL_WIDTH - 8}" y="{y + group / 2 + 4:.0f}" font-size="12" '
            f'text-anchor="end">{escape(category)}</text>'
        )
        for index, one in enumerate(series):
            value = one.values[row] if row < len(one.values) else None
            bar_y = y + index * (BAR_HEIGHT + BAR_GAP)
            parts.append(_bar(one, value, bar_y, plot, top, value_format))
    parts.append("</svg>")
    return "\n".join(parts)


def _legend(series: Sequence[Series]) -> list[str]:
    parts = []
    x = LABEL_WIDTH
    for one in series:
        parts.append(
            f'<rect x="{x}" y="24" width="10" height="10" fill="{escape(one.color)}"/>'
            f'<text x="{x + 14}" y="33" font-size="11">{escape(one.name)}</text>'
        )
        x += 24 + 7 * len(one.name)
    return parts


def _bar(one: Series, value: float | None, y: float, plot: float, top: float, fmt: str) -> str:
    label = "-" if value is None else fmt.format(value)
    length = 0.0 if value is None else max(plot * value / top, 1.0 if value else 0.0)
    tip = escape(f"{one.name}: {label}")
    return (
        f'<g><title>{tip}</title><rect x="{LABEL_WIDTH}" y="{y}" width="{length:.1f}" '
        f'height="{BAR_HEIGHT}" fill="{escape(one.color)}"/>'
        f'<text x="{LABEL_WIDTH + length + 4:.1f}" y="{y + BAR_HEIGHT - 3}" font-size="11">'
        f"{escape(label)}</text></g>"
    )
