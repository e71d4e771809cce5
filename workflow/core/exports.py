"""Lists as Excel workbooks: a list declares its columns once, and gets an .xlsx of exactly what its filters show.

A `Column` names its header (zh, en), its width, its number format and how a row gives its value. `write_xlsx`
writes the rows with openpyxl in write-only mode: each row is taken from the iterator, written to the sheet's
temporary file and let go, so a list of 50,000 rows never sits in memory. The sheet begins with the list's name,
the filters applied, the export time (Beijing time), who exported it and how many rows, then the header row (bold,
frozen, with a filter); dates are real dates, moments Beijing time, numbers numbers, and text stays text (a title
beginning with "=" is never a formula). At most `EXPORT_LIMIT` rows go into one file; when more match, the file
says so above the header. `record_export` writes the audit event: government data leaving the system is recorded.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import IO, Any, Generic, TypeVar

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter
from sqlmodel import Session

from workflow.core import audit
from workflow.core.actors import Actor
from workflow.core.calendar import shown_time, to_local
from workflow.core.yamlcheck import Label

T = TypeVar("T")

EXPORT_LIMIT = 50_000  # rows in one file: more than any list a person reads, well under a sheet's 1,048,576
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
DATE_FORMAT = "yyyy-mm-dd"
MOMENT_FORMAT = "yyyy-mm-dd hh:mm"
INTEGER = "0"
AMOUNT = "#,##0.00"
# working days left: a positive number as it is; a negative one red, as days overdue (the value stays a number)
DAYS_LEFT = Label('0;[Red]"逾期 "0;0', '0;[Red]"overdue "0;0')
HEADER_ROW = 5  # below the title, the filters, the time and the count


@dataclass(frozen=True)
class Column(Generic[T]):
    """One column of an exported list."""

    zh: str
    en: str
    value: Callable[[T], Any]  # a Label is written in the reader's language
    width: float = 14
    number_format: str | Label | None = None  # None: dates and moments get theirs, the rest Excel's General

    def header(self, lang: str) -> str:
        return self.en if lang.startswith("en") else self.zh

    def format(self, lang: str) -> str | None:
        return self.number_format.get(lang) if isinstance(self.number_format, Label) else self.number_format


@dataclass(frozen=True)
class ListSpec(Generic[T]):
    """A list that can be exported: its key (in the audit event), its name (sheet and file) and its columns."""

    key: str
    title: Label
    slug: str  # the file name's ASCII fallback
    columns: tuple[Column[T], ...]


@dataclass
class Filter:
    """One filter applied, as the audit event keeps it (`name`, `value`) and as the sheet shows it."""

    name: str
    value: Any
    label: Label
    shown: str | Label

    def text(self, lang: str) -> str:
        shown = self.shown.get(lang) if isinstance(self.shown, Label) else self.shown
        return f"{self.label.get(lang)}{':' if lang.startswith('en') else '：'}{shown}"


@dataclass
class Exported:
    """A written workbook: how many rows it holds, how many matched, and its file names."""

    rows: int
    total: int
    filename: str
    ascii_filename: str
    limit: int = EXPORT_LIMIT
    filters: list[Filter] = field(default_factory=list)

    @property
    def capped(self) -> bool:
        return self.total > self.rows


def county_filter(session: Session, county_id: int) -> Filter:
    """The county filter, named by the county."""
    from workflow.core.models import Unit

    unit = session.get(Unit, county_id)
    return Filter("county_id", county_id, Label("县（区）", "County"), unit.name if unit else str(county_id))


def cap_message(total: int, limit: int, lang: str) -> str:
    """What the file and the page say when more rows match than one file holds."""
    if lang.startswith("en"):
        return (f"{total:,} rows match; only the first {limit:,} are exported (the limit of one file). "
                "Narrow the filters to export the rest.")
    return f"共 {total:,} 条，超过一次导出的上限，只导出了前 {limit:,} 条；请缩小筛选范围后分批导出。"


def excel_value(value: Any) -> Any:
    """A value as a cell holds it: a moment in Beijing time without its zone (Excel has none), text without the
    characters a workbook cannot hold; a date stays a date, a number a number."""
    if isinstance(value, datetime):
        return to_local(value).replace(tzinfo=None)
    if isinstance(value, str):
        return ILLEGAL_CHARACTERS_RE.sub("", value)
    return value


def as_date(value: Any) -> date | None:
    """A date from the ISO text a case's data keeps ("2026-03-01"), or None when there is none."""
    if isinstance(value, date):
        return value
    if isinstance(value, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        try:
            return date.fromisoformat(value)
        except ValueError:
            return None
    return None


def as_number(value: Any) -> float | int | None:
    """A number from a form's value (text or number), or None when it is not one."""
    if isinstance(value, bool) or value is None or value == "":
        return None
    if isinstance(value, int | float):
        return value
    try:
        return float(str(value))
    except ValueError:
        return None


def file_names(spec: ListSpec[Any], now: datetime, lang: str) -> tuple[str, str]:
    """The file's name in the reader's language and its ASCII fallback, both with the export time."""
    stamp = to_local(now).strftime("%Y%m%d-%H%M")
    return f"{spec.title.get(lang)}-{stamp}.xlsx", f"{spec.slug}-{stamp}.xlsx"


def _sheet_title(title: str) -> str:
    return re.sub(r"[\[\]:*?/\\]", "", title)[:31] or "Sheet1"


def write_xlsx(out: IO[bytes], spec: ListSpec[T], rows: Iterable[T], *, total: int, now: datetime, lang: str,
               actor: Actor | None = None, filters: Iterable[Filter] = (), limit: int = EXPORT_LIMIT) -> Exported:
    """Write the list to `out` as an .xlsx (openpyxl write-only: rows are taken one at a time from `rows`, at most
    `limit` of them) and return what was written. `total` is how many rows match the filters."""
    en = lang.startswith("en")
    filters = list(filters)
    book = Workbook(write_only=True)
    sheet = book.create_sheet(_sheet_title(spec.title.get(lang)))
    for index, column in enumerate(spec.columns, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = column.width
    last = get_column_letter(len(spec.columns))
    sheet.freeze_panes = f"A{HEADER_ROW + 1}"
    sheet.auto_filter.ref = f"A{HEADER_ROW}:{last}{HEADER_ROW}"

    def line(text: str, *, bold: bool = False, size: float | None = None) -> list[WriteOnlyCell]:
        cell = WriteOnlyCell(sheet, value=excel_value(text))
        cell.data_type = "s"
        cell.font = Font(bold=bold, size=size) if size else Font(bold=bold)
        return [cell]

    shown_filters = "; ".join(f.text(lang) for f in filters) if en else "；".join(f.text(lang) for f in filters)
    sheet.append(line(spec.title.get(lang), bold=True, size=14))
    sheet.append(line(f"Filters: {shown_filters or 'none (everything you may see)'}" if en
                      else f"筛选条件：{shown_filters or '无（您可见的全部）'}"))
    who = f"{actor.name}（{actor.unit_name}）" if actor and actor.unit_name else (actor.name if actor else "")
    moment = shown_time(now, "%Y-%m-%d %H:%M:%S")
    sheet.append(line(f"Exported: {moment} (Beijing time) by {who}" if en
                      else f"导出时间：{moment}（北京时间）　导出人：{who}"))
    sheet.append(line(cap_message(total, limit, lang) if total > limit
                      else (f"{total:,} rows" if en else f"共 {total:,} 条"), bold=total > limit))
    bold = Font(bold=True)
    wrap = Alignment(vertical="center", wrap_text=True)
    head = []
    for column in spec.columns:
        cell = WriteOnlyCell(sheet, value=column.header(lang))
        cell.font = bold
        cell.alignment = wrap
        head.append(cell)
    sheet.append(head)
    formats = [column.format(lang) for column in spec.columns]
    written = 0
    try:
        for row in _first(rows, limit):
            cells: list[Any] = []
            for column, fmt in zip(spec.columns, formats, strict=True):
                raw = column.value(row)
                if isinstance(raw, Label):
                    raw = raw.get(lang)
                value = excel_value(raw)
                if fmt is None and not isinstance(raw, datetime) and not (isinstance(value, str)
                                                                        and value.startswith("=")):
                    cells.append(value)  # a plain value: openpyxl gives a date its yyyy-mm-dd itself
                    continue
                cell = WriteOnlyCell(sheet, value=value)
                if isinstance(value, str):
                    cell.data_type = "s"  # text that begins with "=" stays text, never a formula
                cell.number_format = fmt or MOMENT_FORMAT
                cells.append(cell)
            sheet.append(cells)
            written += 1
    except BaseException:
        # openpyxl keeps the rows in a temporary file of its own until the book is saved: close and remove it
        sheet.close()
        writer = getattr(sheet, "_writer", None)
        if writer is not None:
            writer.cleanup()
        raise
    book.save(out)
    name, fallback = file_names(spec, now, lang)
    return Exported(rows=written, total=max(total, written), filename=name, ascii_filename=fallback, limit=limit,
                    filters=filters)


def _first(rows: Iterable[T], limit: int) -> Iterator[T]:
    """At most `limit` rows, taken one at a time (the rest are never asked for)."""
    if limit <= 0:
        return
    for index, row in enumerate(rows, start=1):
        yield row
        if index >= limit:
            return


def record_export(session: Session, *, actor: Actor, spec: ListSpec[Any], exported: Exported, now: datetime,
                  fmt: str = "xlsx") -> None:
    """The audit event of an export: who took which list out, with which filters, how many rows."""
    filters = {f.name: f.value for f in exported.filters}
    county = filters.get("county_id") if isinstance(filters.get("county_id"), int) else None
    if county is None and actor.role == "county":
        county = actor.unit_id
    audit.record(session, kind="list_exported", now=now, actor=actor, county_id=county,
                 data={"list": spec.key, "list_name": spec.title.zh, "filters": filters, "rows": exported.rows,
                       "total": exported.total, "capped": exported.capped, "format": fmt,
                       "filename": exported.filename})
