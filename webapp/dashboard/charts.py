"""The dashboard's charts as server-rendered SVG: the geometry is computed here and drawn by the macros of
templates/dashboard/_charts.html (no script, no request leaving the intranet; they print as drawn). Each chart
has a table of its figures beside it on the page."""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import Decimal

WIDTH = 480
SERIES = 6  # distinct colours and dash patterns (app.css: .series-0 ... .series-5), one per county


def shown(value: Decimal | float | int | None, places: int = 2) -> str:
    """A figure as people write it: no trailing zeros, at most `places` decimals."""
    if value is None:
        return "—"
    number = Decimal(str(value)).quantize(Decimal(1).scaleb(-places))
    text = f"{number:,.{places}f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def percent(share: Decimal | float | None) -> str:
    return "—" if share is None else f"{float(share) * 100:.0f}%"


def nice_ceiling(value: float) -> float:
    """The axis maximum: 1, 2, 2.5 or 5 times a power of ten at or above `value`."""
    if value <= 0:
        return 1.0
    power = 10 ** math.floor(math.log10(value))
    return next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= value)


@dataclass(frozen=True)
class Bar:
    label: str
    text: str  # the figure written at the bar's end
    y: float
    width: float
    tone: str  # met | on_track | behind | missed | none


@dataclass(frozen=True)
class BarChart:
    height: float
    left: float  # where the bars start
    span: float  # the width of 100 %
    bars: list[Bar]
    marks: list[tuple[float, str, str]]  # x, label, kind (goal | elapsed)
    row: float = 26


def bar_chart(rows: list[tuple[str, Decimal | None, str, str | None]], *, elapsed: Decimal | None = None,
              left: float = 140) -> BarChart:
    """Horizontal bars of shares (label, share, text, tone), 100 % marked, and the share of the period elapsed."""
    top, row = 8.0, 26.0
    top_share = max([float(s) for _, s, _, _ in rows if s is not None] + [1.0])
    scale = min(top_share, 1.5)  # a target far exceeded runs to the edge
    span = (WIDTH - left - 60) / scale
    bars = [Bar(label, text, top + i * row, min(float(share or 0), scale) * span, tone or "none")
            for i, (label, share, text, tone) in enumerate(rows)]
    marks = [(left + span, "100%", "goal")]
    if elapsed is not None and 0 < elapsed < 1:
        marks.append((left + float(elapsed) * span, percent(elapsed), "elapsed"))
    return BarChart(top + len(rows) * row + 22, left, span, bars, marks, row)


@dataclass(frozen=True)
class Line:
    name: str
    index: int  # the series' style
    points: list[tuple[float, float, str]]  # x, y, the figure

    @property
    def path(self) -> str:
        return " ".join(f"{x:.1f},{y:.1f}" for x, y, _ in self.points)


@dataclass(frozen=True)
class LineChart:
    height: float
    left: float
    right: float
    top: float
    bottom: float
    x_labels: list[tuple[float, str]]
    y_ticks: list[tuple[float, str]]
    lines: list[Line]


def line_chart(years: list[int], series: list[tuple[str, dict[int, Decimal]]], *, height: float = 200,
               top_value: float | None = None) -> LineChart:
    """Lines over the years, one per series (a year a series has no figure for is left out of its line); the axis
    runs to `top_value` when given."""
    left, right, top, bottom = 48.0, WIDTH - 20.0, 10.0, height - 26.0
    values = [float(v) for _, by in series for v in by.values()]
    top_value = top_value or nice_ceiling(max(values, default=0))
    step = (right - left) / max(len(years) - 1, 1)
    xs = {y: left + (i * step if len(years) > 1 else (right - left) / 2) for i, y in enumerate(years)}

    def y_of(value: float) -> float:
        return bottom - (value / top_value) * (bottom - top)

    lines = [Line(name, i % SERIES, [(xs[y], y_of(float(by[y])), shown(by[y])) for y in years if y in by])
             for i, (name, by) in enumerate(series)]
    ticks = [(y_of(top_value * k / 4), shown(top_value * k / 4)) for k in range(5)]
    return LineChart(height, left, right, top, bottom, [(xs[y], str(y)) for y in years], ticks, lines)


def rank_chart(years: list[int], name: str, ranks: dict[int, int], *, height: float = 160) -> LineChart:
    """A rank over the years: the first place at the top, whole places on the axis (a year unranked left out)."""
    left, right, top, bottom = 48.0, WIDTH - 20.0, 10.0, height - 26.0
    last = max([*ranks.values(), 2])
    step = (right - left) / max(len(years) - 1, 1)
    xs = {y: left + (i * step if len(years) > 1 else (right - left) / 2) for i, y in enumerate(years)}

    def y_of(rank: int) -> float:
        return top + (rank - 1) / (last - 1) * (bottom - top)

    places = sorted({1, last, *(round(1 + (last - 1) * k / 4) for k in range(1, 4))})
    line = Line(name, 0, [(xs[y], y_of(ranks[y]), str(ranks[y])) for y in years if y in ranks])
    return LineChart(height, left, right, top, bottom, [(xs[y], str(y)) for y in years],
                     [(y_of(p), str(p)) for p in places], [line])
