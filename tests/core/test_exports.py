"""The generic exporter (workflow.core.exports): a list's columns become a workbook with Chinese headers, widths and
number formats, dates as dates and moments in Beijing time; rows are taken one at a time (openpyxl write-only) and
never more than the limit; more matches than the limit are said above the header."""

from __future__ import annotations

import io
import tracemalloc
from dataclasses import dataclass
from datetime import UTC, date, datetime

import openpyxl
import pytest

from workflow.core import exports
from workflow.core.actors import Actor
from workflow.core.exports import AMOUNT, DAYS_LEFT, HEADER_ROW, Column, Filter, ListSpec, write_xlsx
from workflow.core.yamlcheck import Label

NOW = datetime(2026, 11, 27, 2, 0, tzinfo=UTC)  # 10:00 in Beijing


@dataclass
class Item:
    name: str
    due: date | None
    left: int | None
    amount: float
    at: datetime


SPEC: ListSpec[Item] = ListSpec("things", Label("事项清单", "Things"), "things", (
    Column("名称", "Name", lambda r: r.name, 30),
    Column("期限", "Due", lambda r: r.due, 12),
    Column("剩余工作日", "Days left", lambda r: r.left, 11, DAYS_LEFT),
    Column("金额（亿元）", "Amount", lambda r: r.amount, 15, AMOUNT),
    Column("时间", "At", lambda r: r.at, 17),
    Column("状态", "State", lambda r: Label("已办结", "closed"), 10),
))
ACTOR = Actor(user_id=1, name="张三", role="office", unit_id=1, unit_name="市工信局")


def _items(n: int):
    for i in range(n):
        yield Item(f"事项{i}", date(2026, 12, 1 + i % 28), i - 2, i * 1.5,
                   datetime(2026, 11, 27, 1, i % 60, tzinfo=UTC))


def _book(buffer: io.BytesIO):
    buffer.seek(0)
    return openpyxl.load_workbook(buffer).active


def test_headers_formats_widths_and_the_title_rows_of_a_written_list():
    out = io.BytesIO()
    filters = [Filter("county_id", 3, Label("县（区）", "County"), "盂县"),
               Filter("state", "closed", Label("状态", "State"), Label("已办结", "closed"))]
    done = write_xlsx(out, SPEC, _items(3), total=3, now=NOW, lang="zh", actor=ACTOR, filters=filters)
    assert (done.rows, done.total, done.capped) == (3, 3, False)
    assert done.filename == "事项清单-20261127-1000.xlsx" and done.ascii_filename == "things-20261127-1000.xlsx"
    sheet = _book(out)
    assert sheet.title == "事项清单"
    assert sheet["A1"].value == "事项清单" and sheet["A1"].font.bold
    assert sheet["A2"].value == "筛选条件：县（区）：盂县；状态：已办结"
    assert sheet["A3"].value == "导出时间：2026-11-27 10:00:00（北京时间）　导出人：张三（市工信局）"
    assert sheet["A4"].value == "共 3 条"
    assert [c.value for c in sheet[HEADER_ROW]] == ["名称", "期限", "剩余工作日", "金额（亿元）", "时间", "状态"]
    assert all(c.font.bold for c in sheet[HEADER_ROW])
    assert sheet.freeze_panes == f"A{HEADER_ROW + 1}"
    assert sheet.auto_filter.ref == f"A{HEADER_ROW}:F{HEADER_ROW}"
    assert [sheet.column_dimensions[x].width for x in "ABCDEF"] == [30, 12, 11, 15, 17, 10]
    first = sheet[HEADER_ROW + 1]
    assert first[0].value == "事项0"
    assert first[1].value == datetime(2026, 12, 1) and first[1].is_date and first[1].number_format == "yyyy-mm-dd"
    assert first[2].value == -2 and first[2].number_format == '0;[Red]"逾期 "0;0'
    assert sheet.cell(HEADER_ROW + 3, 4).value == 3.0 and sheet.cell(HEADER_ROW + 3, 4).number_format == "#,##0.00"
    assert first[4].value == datetime(2026, 11, 27, 9, 0)  # 01:00 UTC is 09:00 in Beijing
    assert first[4].number_format == "yyyy-mm-dd hh:mm"
    assert first[5].value == "已办结"
    assert sheet.max_row == HEADER_ROW + 3


def test_english_headers_and_no_filters():
    out = io.BytesIO()
    write_xlsx(out, SPEC, _items(1), total=1, now=NOW, lang="en", actor=ACTOR)
    sheet = _book(out)
    assert sheet["A2"].value == "Filters: none (everything you may see)"
    assert [c.value for c in sheet[HEADER_ROW]][:3] == ["Name", "Due", "Days left"]
    assert sheet.cell(HEADER_ROW + 1, 3).number_format == '0;[Red]"overdue "0;0'
    assert sheet.cell(HEADER_ROW + 1, 6).value == "closed"


def test_text_that_looks_like_a_formula_stays_text():
    spec = ListSpec("t", Label("清单", "List"), "t", (Column("名称", "Name", lambda r: r, 10),))
    out = io.BytesIO()
    write_xlsx(out, spec, iter(["=HYPERLINK(\"http://x\")", "+1", "正常\x07文本"]), total=3, now=NOW, lang="zh")
    out.seek(0)
    sheet = openpyxl.load_workbook(out).active
    values = [sheet.cell(HEADER_ROW + i, 1) for i in (1, 2, 3)]
    assert [c.data_type for c in values] == ["s", "s", "s"]
    assert [c.value for c in values] == ["=HYPERLINK(\"http://x\")", "+1", "正常文本"]


def test_more_rows_than_the_limit_are_cut_there_and_the_file_says_so():
    taken = []

    def rows():
        for item in _items(10):
            taken.append(item)
            yield item

    out = io.BytesIO()
    done = write_xlsx(out, SPEC, rows(), total=10, now=NOW, lang="zh", limit=4)
    assert (done.rows, done.total, done.capped) == (4, 10, True)
    assert len(taken) == 4  # the fifth row is never asked for
    sheet = _book(out)
    assert sheet["A4"].value == "共 10 条，超过一次导出的上限，只导出了前 4 条；请缩小筛选范围后分批导出。"
    assert sheet["A4"].font.bold
    assert sheet.max_row == HEADER_ROW + 4


def test_rows_are_streamed_through_write_only_mode_and_taken_lazily(monkeypatch):
    """Write-only mode is used, each row is in the sheet before the next one is asked for, and the memory the
    export holds does not grow with the number of rows."""
    from openpyxl.worksheet._write_only import WriteOnlyWorksheet

    modes, appended = [], []
    real_book, real_append = exports.Workbook, WriteOnlyWorksheet.append

    def book(*args, **kwargs):
        modes.append(kwargs.get("write_only"))
        return real_book(*args, **kwargs)

    def append(self, row):
        appended.append(1)
        return real_append(self, row)

    monkeypatch.setattr(exports, "Workbook", book)
    monkeypatch.setattr(WriteOnlyWorksheet, "append", append)

    def rows(n):
        for i, item in enumerate(_items(n)):
            assert len(appended) == HEADER_ROW + i  # the title rows, the header and every row before this one
            yield item

    def peak(n: int) -> int:
        appended.clear()
        tracemalloc.start()
        try:
            write_xlsx(io.BytesIO(), SPEC, rows(n), total=n, now=NOW, lang="zh")
            return tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()

    small, large = peak(500), peak(5000)
    assert modes == [True, True]
    # ten times the rows, but not ten times the memory: the rows go to openpyxl's temporary file, not to a list
    # (the peak is the zip written at the end, which grows a little with the compressed sheet)
    assert large < small * 2, (small, large)


def test_the_export_is_refused_nothing_when_the_rows_fail_midway_and_no_temporary_file_is_left(tmp_path,
                                                                                               monkeypatch):
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))

    def rows():
        yield from _items(3)
        raise RuntimeError("database went away")

    with pytest.raises(RuntimeError):
        write_xlsx(io.BytesIO(), SPEC, rows(), total=5, now=NOW, lang="zh")
    assert list(tmp_path.iterdir()) == []
