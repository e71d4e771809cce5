"""The year's evaluation results as an Excel workbook, for the counties' economic assessment: one row per town
ranked (its rank, county, total, the points of each indicator group, last year's rank and the change, and the
outcome: 表扬, 督办 or 拟撤销), and a sheet summing up each county (towns evaluated, average total, best rank, towns
praised, supervised and proposed for revocation).

Each sheet begins with its title and what the scores rest on, then the header row (bold, frozen, with a filter);
points are numbers (two decimals shown), ranks whole numbers, text stays text (a name beginning with "=" is never a
formula)."""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from workflow.core.exports import INTEGER, excel_value
from workflow.evaluation.indicators import EvaluationSpec

HEADER_ROW = 3  # below the title and the basis
POINTS = "0.00"
# last year's rank minus this year's: up is positive; the value stays a number
CHANGE = '"上升"0;"下降"0;"持平"'
OUTCOMES = {"praised": "表扬", "supervised": "督办", "revocation": "拟撤销"}
RESULTS_SHEET, COUNTIES_SHEET = "考核结果", "县（区）汇总"


@dataclass(frozen=True)
class Heading:
    text: str
    width: float
    number_format: str | None = None


def points(value: Any) -> Decimal | None:
    """A score as a number, from the decimal text the evaluation keeps ("87.5"); None when there is none."""
    if value is None or value == "" or isinstance(value, bool):
        return None
    return Decimal(str(value))


def cell_number(value: Decimal | int | None) -> float | int | None:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    return value


def change(row: dict[str, Any]) -> int | None:
    last = row.get("last_rank")
    return None if last is None else last - row["rank"]


def results_workbook(*, year: int, spec: EvaluationSpec, rows: list[dict[str, Any]]) -> bytes:
    """The workbook of `year`'s results. `rows`: one per town, {rank, town, county, total, groups: {group key:
    points}, last_rank (None when the town was not ranked last year), outcome (praised | supervised | revocation |
    None)}; totals and points as decimal text."""
    ordered = sorted(rows, key=lambda r: (r["rank"], r["county"], r["town"]))
    basis = (f"依据：{spec.label.zh}（第 {spec.version} 版，{spec.document}），满分 "
             f"{cell_number(spec.total)} 分")
    book = Workbook()
    book.remove(book.worksheets[0])
    sheet = book.create_sheet(RESULTS_SHEET)
    headings = [Heading("排名", 8, INTEGER), Heading("县（区）", 12), Heading("乡镇", 16), Heading("总分", 10, POINTS),
                *(Heading(f"{g.label.zh}（{cell_number(g.points)}分）", 14, POINTS) for g in spec.groups),
                Heading("上年排名", 10, INTEGER), Heading("名次变化", 10, CHANGE), Heading("结果", 10)]
    table = []
    for row in ordered:
        groups = row.get("groups") or {}
        table.append([row["rank"], row["county"], row["town"], cell_number(points(row["total"])),
                      *(cell_number(points(groups.get(g.key))) for g in spec.groups),
                      row.get("last_rank"), change(row), OUTCOMES.get(row.get("outcome") or "", "")])
    write_sheet(sheet, f"{year}年度专业镇考核评价结果", basis, headings, table)

    counties = county_summary(ordered)
    summary = book.create_sheet(COUNTIES_SHEET)
    write_sheet(summary, f"{year}年度专业镇考核评价结果（县（区）汇总）", basis,
                [Heading("县（区）", 12), Heading("参评乡镇数", 10, INTEGER), Heading("平均总分", 10, POINTS),
                 Heading("最好名次", 10, INTEGER), Heading("受表扬乡镇数", 12, INTEGER),
                 Heading("被督办乡镇数", 12, INTEGER), Heading("拟撤销乡镇数", 12, INTEGER)],
                [[c.county, c.towns, cell_number(c.average), c.best_rank, c.praised, c.supervised, c.revocation]
                 for c in counties])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


@dataclass(frozen=True)
class CountyLine:
    county: str
    towns: int
    average: Decimal  # the towns' average total, to two decimals
    best_rank: int
    praised: int
    supervised: int
    revocation: int


def county_summary(rows: Sequence[dict[str, Any]]) -> list[CountyLine]:
    """One line per county, the county with the best-ranked town first."""
    by_county: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        by_county.setdefault(row["county"], []).append(row)
    lines = []
    for county, towns in by_county.items():
        totals = [points(t["total"]) or Decimal(0) for t in towns]
        average = (sum(totals, Decimal(0)) / len(totals)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
        outcome = [t.get("outcome") for t in towns]
        lines.append(CountyLine(county=county, towns=len(towns), average=average,
                                best_rank=min(t["rank"] for t in towns), praised=outcome.count("praised"),
                                supervised=outcome.count("supervised"), revocation=outcome.count("revocation")))
    return sorted(lines, key=lambda c: (c.best_rank, c.county))


def write_sheet(sheet: Worksheet, title: str, basis: str, headings: Sequence[Heading],
                table: Sequence[Sequence[Any]]) -> None:
    sheet.cell(row=1, column=1, value=title).font = Font(bold=True, size=14)
    sheet.cell(row=2, column=1, value=basis)
    bold = Font(bold=True)
    wrap = Alignment(horizontal="center", vertical="center", wrap_text=True)
    for index, heading in enumerate(headings, start=1):
        cell = sheet.cell(row=HEADER_ROW, column=index, value=heading.text)
        cell.font, cell.alignment = bold, wrap
        sheet.column_dimensions[get_column_letter(index)].width = heading.width
    for r, values in enumerate(table, start=HEADER_ROW + 1):
        for index, (heading, value) in enumerate(zip(headings, values, strict=True), start=1):
            cell = sheet.cell(row=r, column=index, value=excel_value(value))
            if isinstance(value, str):
                cell.data_type = "s"  # text that begins with "=" stays text, never a formula
            elif heading.number_format:
                cell.number_format = heading.number_format
    sheet.freeze_panes = f"A{HEADER_ROW + 1}"
    sheet.auto_filter.ref = f"A{HEADER_ROW}:{get_column_letter(len(headings))}{HEADER_ROW + max(len(table), 1)}"
