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
from workflow.core.db import json_key
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


def stored_year(stored: Any) -> Any:
    """The first four characters of a stored date, as migration 0025's indexes spell them (the year of a real date;
    the numbers written into the SQL, or SQLite would not match the index)."""
    return sa.func.substr(stored, sa.literal(1, literal_execute=True), sa.literal(4, literal_execute=True))


def three_batches(session: Session, actor: Actor, year: int) -> BatchReport:
    """The year's 三个一批 by quarter and county, over the projects the actor sees (a county: its own)."""
    counties = session.exec(select(Unit.id, Unit.name).where(col(Unit.kind) == UnitKind.county.value)
                            .order_by(col(Unit.id))).all()
    names: dict[int, str] = {i: n for i, n in counties if i is not None and
                             (actor.role != Role.county or i == actor.unit_id)}
    rows = {(q, c): BatchRow(q, c, names[c] if c else "合计") for q in (1, 2, 3, 4, 0)
            for c in [*names, None]}
    # Per batch, the projects whose stage date is of the year, found by the year of the date (migration 0025's
    # indexes), with only the fields counted; each date is still checked here as a real date of the year.
    for batch, (libraries, date_key) in BATCHES.items():
        stored = json_key(col(Case.data), date_key).as_string()
        query = select(Case.county_id, stored, col(Case.data)["investment_planned"]).where(
            case_filter(actor), col(Case.definition_key).in_(libraries), stored_year(stored) == str(year))
        for county_id, day_stored, investment in session.exec(query).all():
            day = parse_date(day_stored)
            if county_id not in names or day is None or day.year != year:
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
