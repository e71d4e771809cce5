"""三个一批 (签约一批, 开工一批, 投产一批): the projects signed, started and put into production in each quarter of a
year, by county, counted from the stage dates the libraries keep: 签约 from the signing date of a key project or
an investment project, 开工 and 投产 from a key project's dates. A project counts in the quarter and the county of
the stage's date, whatever stage it has reached since (two stages in one quarter count in both); the planned
investment of the projects counted is summed beside the count. This is the report the office sends upward."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from workflow.core.access import case_filter
from workflow.core.actors import Actor
from workflow.core.exports import Column, ListSpec
from workflow.core.models import Case, Role, Unit, UnitKind
from workflow.core.reasons import parse_date
from workflow.core.yamlcheck import Label
from workflow.projects import INVESTMENT, KEY
from workflow.projects.rules import quarter_of

# batch -> (the libraries it counts, the date it counts by)
BATCHES: dict[str, tuple[tuple[str, ...], str]] = {
    "signed": ((KEY, INVESTMENT), "signed_date"),
    "started": ((KEY,), "started_date"),
    "producing": ((KEY,), "producing_date"),
}
DATE_KEYS = tuple(sorted({date_key for _, date_key in BATCHES.values()}))
BATCH_LABELS = {"signed": Label("签约一批", "Signed"), "started": Label("开工一批", "Started"),
                "producing": Label("投产一批", "In production")}


@dataclass
class Cell:
    count: int = 0
    investment: float = 0.0  # planned investment of the projects counted, 万元

    def add(self, amount: Any) -> None:
        self.count += 1
        if isinstance(amount, (int, float)) and not isinstance(amount, bool):
            self.investment += float(amount)


@dataclass
class BatchRow:
    quarter: int  # 1-4; 0 for the year
    county_id: int | None  # None: every county the reader sees
    county: str
    cells: dict[str, Cell] = field(default_factory=lambda: {k: Cell() for k in BATCHES})

    @property
    def quarter_label(self) -> Label:
        return Label(f"第{self.quarter}季度", f"Q{self.quarter}") if self.quarter else Label("全年", "Year")


@dataclass
class BatchReport:
    year: int
    rows: list[BatchRow]  # each quarter, then the year; in each, every county then the total

    def row(self, quarter: int, county_id: int | None) -> BatchRow:
        return next(r for r in self.rows if r.quarter == quarter and r.county_id == county_id)


def three_batches(session: Session, actor: Actor, year: int) -> BatchReport:
    """The year's 三个一批 by quarter and county, over the projects the actor sees (a county: its own)."""
    counties = session.exec(select(Unit.id, Unit.name).where(col(Unit.kind) == UnitKind.county.value)
                            .order_by(col(Unit.id))).all()
    names: dict[int, str] = {i: n for i, n in counties if i is not None and
                             (actor.role != Role.county or i == actor.unit_id)}
    rows = {(q, c): BatchRow(q, c, names[c] if c else "合计") for q in (1, 2, 3, 4, 0)
            for c in [*names, None]}
    # Only the fields counted, of the projects with a stage date in the year (a superset: the dates are checked
    # here as before); the database reads the dates, so that 100,000 projects' data is not sent over to be parsed.
    dates = {key: col(Case.data)[key].as_string() for key in DATE_KEYS}
    query = select(Case.definition_key, Case.county_id, col(Case.data)["investment_planned"], *dates.values()).where(
        case_filter(actor), col(Case.definition_key).in_((KEY, INVESTMENT)),
        sa.or_(*(value.like(f"{year}-%") for value in dates.values())))
    for row in session.exec(query).all():
        key, county_id, investment = row[0], row[1], row[2]
        if county_id not in names:
            continue
        day_of: dict[str, Any] = dict(zip(DATE_KEYS, row[3:], strict=True))
        for batch, (libraries, date_key) in BATCHES.items():
            day = parse_date(day_of[date_key]) if key in libraries else None
            if day is None or day.year != year:
                continue
            quarter = quarter_of(day)[1]
            for q, c in ((quarter, county_id), (quarter, None), (0, county_id), (0, None)):
                rows[(q, c)].cells[batch].add(investment)
    return BatchReport(year, list(rows.values()))


@dataclass(frozen=True)
class _Cell:
    """A column's value: one batch's count, or its planned investment rounded to the 万元's hundredth."""

    batch: str
    part: str  # "count" or "investment"

    def __call__(self, row: BatchRow) -> Any:
        cell = row.cells[self.batch]
        return cell.count if self.part == "count" else round(cell.investment, 2)


BATCH_LIST: ListSpec[BatchRow] = ListSpec("three_batches", Label("三个一批", "Three batches"), "three-batches", (
    Column("季度", "Quarter", lambda r: r.quarter_label, 10),
    Column("县（区）", "County", lambda r: Label(r.county, r.county if r.county_id else "Total"), 12),
    *(column for batch, label in BATCH_LABELS.items() for column in (
        Column(f"{label.zh}（个）", f"{label.en} (projects)", _Cell(batch, "count"), 12),
        Column(f"{label.zh}计划总投资（万元）", f"{label.en}: planned investment (10,000 yuan)",
               _Cell(batch, "investment"), 18)))))
