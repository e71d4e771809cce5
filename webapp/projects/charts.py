"""三个一批 on the dashboard: the year's four quarters, each a group of three upright bars (signed, started, in
production), drawn as SVG like the dashboard's other charts (webapp/dashboard/charts.py) with its table beside it."""

from __future__ import annotations

import math
from dataclasses import dataclass

from workflow.projects.batches import BATCHES, BatchReport

WIDTH, HEIGHT, LEFT, TOP, BOTTOM = 480.0, 200.0, 36.0, 10.0, 170.0
BAR = 22.0


@dataclass(frozen=True)
class Column:
    batch: str
    x: float
    y: float
    height: float
    count: int


@dataclass(frozen=True)
class BatchChart:
    width: float
    height: float
    left: float
    bottom: float
    ticks: list[tuple[float, int]]  # y, count
    quarters: list[tuple[float, str]]  # x of the group's middle, its label
    columns: list[Column]


def _ceiling(value: int) -> int:
    if value <= 4:
        return 4
    power = 10 ** math.floor(math.log10(value))
    return int(next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= value))


def batch_chart(report: BatchReport) -> BatchChart:
    """Each quarter's totals over the counties the reader sees."""
    totals = [report.row(q, None) for q in (1, 2, 3, 4)]
    top = _ceiling(max([r.cells[b].count for r in totals for b in BATCHES] + [0]))
    scale = (BOTTOM - TOP) / top
    group = (WIDTH - LEFT) / 4
    columns = []
    for i, row in enumerate(totals):
        start = LEFT + i * group + (group - 3 * BAR - 8) / 2
        for j, batch in enumerate(BATCHES):
            count = row.cells[batch].count
            columns.append(Column(batch, start + j * (BAR + 4), BOTTOM - count * scale, count * scale, count))
    ticks = [(BOTTOM - v * scale, v) for v in (0, top // 2, top)]
    quarters = [(LEFT + (i + 0.5) * group, f"Q{i + 1}") for i in range(4)]
    return BatchChart(WIDTH, HEIGHT, LEFT, BOTTOM, ticks, quarters, columns)
