"""The ranking's chart as server-rendered SVG, as the dashboard draws its charts (webapp/dashboard/charts.py): the
geometry here, drawn by templates/evaluation/_ranking_chart.html; the ranking's table on the page carries the same
figures."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from webapp.dashboard.charts import SERIES, WIDTH, shown


@dataclass(frozen=True)
class Segment:
    x: float
    width: float
    index: int  # the group's colour (app.css: .segment.series-0 … 5)
    title: str  # the group and its points, shown on hover


@dataclass(frozen=True)
class StackedBar:
    label: str
    y: float
    segments: list[Segment]
    end: float
    text: str  # the total, written at the bar's end


@dataclass(frozen=True)
class StackedChart:
    height: float
    left: float
    span: float  # the width of the full marks
    bars: list[StackedBar]
    ticks: list[tuple[float, str]]
    row: float = 24


def stacked_chart(rows: list[tuple[str, list[tuple[str, Decimal]], str]], *, full: Decimal,
                  left: float = 130) -> StackedChart:
    """A horizontal bar per town (label, [(group, points)], text), its groups' points stacked: the bar's length is
    the town's total out of `full`."""
    top, row = 6.0, 24.0
    span = WIDTH - left - 70
    scale = float(full) or 1.0
    bars = []
    for i, (label, parts, text) in enumerate(rows):
        x, segments = float(left), []
        for j, (group, points) in enumerate(parts):
            width = max(float(points), 0.0) / scale * span
            segments.append(Segment(x, width, j % SERIES, f"{group} {shown(points)}"))
            x += width
        bars.append(StackedBar(label, top + i * row, segments, x, text))
    ticks = [(left + span * k / 4, shown(full * k / 4)) for k in range(5)]
    return StackedChart(top + len(rows) * row + 22, left, span, bars, ticks, row)
