"""The filtered trail as .xlsx (openpyxl, write-only) or CSV (UTF-8 with a BOM, so that Excel reads Chinese)."""

from __future__ import annotations

import csv
import io
import json
import tempfile
from collections.abc import Callable, Iterable
from typing import IO, Any

from flask_babel import gettext as _
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Font

from workflow.core.audit import stamp
from workflow.core.calendar import shown_time
from workflow.core.visibility import AuditorView, Withheld


class TooMany(Exception):
    """More events match than one file may hold."""


def headers() -> list[str]:
    return [_("Seq"), _("Time (Beijing)"), _("Time (UTC, as hashed)"), _("Event"), _("Event code"), _("User id"),
            _("User"), _("Role"), _("Unit"), _("County"), _("IP address"), _("Case id"), _("Step"), _("From state"),
            _("To state"), _("Comment"), _("Details"), _("Previous hash"), _("Hash")]


def values(row: Any, view: AuditorView, kind_label: Callable[[str], str], role_label: Callable[[str | None], str],
           withheld_text: Callable[[Withheld], str], units: dict[int, str]) -> list[Any]:
    """One event's cells; its comment and data as the auditor is shown them (`view`), withheld values in words."""
    comment = withheld_text(view.comment) if isinstance(view.comment, Withheld) else view.comment
    details = json.dumps(view.data, ensure_ascii=False, sort_keys=True, separators=(",", ":"),
                         default=lambda v: withheld_text(v) if isinstance(v, Withheld) else str(v))
    return [row.seq, shown_time(row.occurred_at, "%Y-%m-%d %H:%M:%S"), stamp(row.occurred_at),
            kind_label(row.kind), row.kind, row.actor_id, row.actor_name, role_label(row.role), row.unit_name,
            units.get(row.county_id, "") if row.county_id else "", row.ip, row.case_id, row.trigger, row.from_state,
            row.to_state, comment, details, row.prev_hash, row.hash]


def _text(value: Any) -> Any:
    return ILLEGAL_CHARACTERS_RE.sub("", value) if isinstance(value, str) else value


def write_xlsx(rows: Iterable[list[Any]], limit: int, title: str) -> tuple[IO[bytes], int]:
    """A temporary .xlsx file (rewound) and the number of rows; every text cell is text, never a formula."""
    book = Workbook(write_only=True)
    sheet = book.create_sheet(title[:31])
    bold = Font(bold=True)
    head = []
    for name in headers():
        cell = WriteOnlyCell(sheet, value=name)
        cell.font = bold
        head.append(cell)
    sheet.append(head)
    count = 0
    try:
        for line in rows:
            count += 1
            if count > limit:
                raise TooMany
            cells = []
            for value in line:
                cell = WriteOnlyCell(sheet, value=_text(value))
                if isinstance(value, str):
                    cell.data_type = "s"  # a comment beginning with "=" stays a comment
                cells.append(cell)
            sheet.append(cells)
    except BaseException:
        # openpyxl keeps the rows in a temporary file of its own until the book is saved: close and remove it
        sheet.close()
        writer = getattr(sheet, "_writer", None)
        if writer is not None:
            writer.cleanup()
        raise
    out = tempfile.TemporaryFile()  # noqa: SIM115 - the response streams it and closes it
    book.save(out)
    out.seek(0)
    return out, count


def _csv_safe(value: Any) -> Any:
    """Text that a spreadsheet would take for a formula gets a leading apostrophe (OWASP CSV injection)."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return "" if value is None else value


def write_csv(rows: Iterable[list[Any]], limit: int) -> tuple[IO[bytes], int]:
    out = tempfile.TemporaryFile()  # noqa: SIM115 - the response streams it and closes it
    text = io.TextIOWrapper(out, encoding="utf-8-sig", newline="")  # utf-8-sig writes the BOM first
    writer = csv.writer(text)
    writer.writerow(headers())
    count = 0
    try:
        for line in rows:
            count += 1
            if count > limit:
                raise TooMany
            writer.writerow([_csv_safe(v) for v in line])
    except BaseException:
        text.close()  # and the temporary file beneath it, which is then gone
        raise
    text.flush()
    text.detach()
    out.seek(0)
    return out, count
