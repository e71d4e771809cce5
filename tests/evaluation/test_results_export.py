"""The year's results as a workbook for the counties' economic assessment: one row per town with its group points,
last year's rank and outcome, and a sheet summing up each county."""

from __future__ import annotations

import io

import pytest
from openpyxl import load_workbook

from workflow.evaluation.export import COUNTIES_SHEET, HEADER_ROW, RESULTS_SHEET, results_workbook
from workflow.evaluation.indicators import evaluation_spec

SPEC = evaluation_spec()


def row(rank, county, town, total, last_rank, outcome, **groups):
    return {"rank": rank, "county": county, "town": town, "total": total, "last_rank": last_rank,
            "outcome": outcome, "groups": groups}


ROWS = [  # given out of order: the sheet follows the ranks
    row(3, "平定县", "冠山镇", "80", 1, None, scale="20", innovation="15"),
    row(1, "盂县", "梁家寨乡", "92.5", 2, "praised", scale="28.5", innovation="17", quality="16", employment="16",
        environment="15"),
    row(2, "盂县", "西烟镇", "88.25", None, "praised", scale="25"),
    row(4, "郊区", "河底镇", "61", 4, "supervised"),
    row(5, "盂县", "=路家村镇", "35.5", 5, "revocation"),
]


@pytest.fixture(scope="module")
def book():
    return load_workbook(io.BytesIO(results_workbook(year=2025, spec=SPEC, rows=ROWS)))


def table(sheet) -> list[list]:
    return [list(r) for r in sheet.iter_rows(min_row=HEADER_ROW, values_only=True)]


def test_the_results_sheet_has_a_row_per_town_in_rank_order_with_a_column_per_group(book):
    assert book.sheetnames == [RESULTS_SHEET, COUNTIES_SHEET] == ["考核结果", "县（区）汇总"]
    sheet = book[RESULTS_SHEET]
    assert sheet["A1"].value == "2025年度专业镇考核评价结果"
    assert "专业镇年度评价指标体系" in sheet["A2"].value and "满分 100 分" in sheet["A2"].value
    header, *lines = table(sheet)
    assert header == ["排名", "县（区）", "乡镇", "总分", "产业规模（30分）", "创新能力（20分）", "质量品牌（20分）",
                      "就业富民（15分）", "项目建设与营商环境（15分）", "上年排名", "名次变化", "结果"]
    assert lines[0] == [1, "盂县", "梁家寨乡", 92.5, 28.5, 17, 16, 16, 15, 2, 1, "表扬"]
    assert [line[2] for line in lines] == ["梁家寨乡", "西烟镇", "冠山镇", "河底镇", "=路家村镇"]
    assert [line[11] for line in lines] == ["表扬", "表扬", None, "督办", "拟撤销"]  # no outcome: an empty cell
    assert [line[10] for line in lines] == [1, None, -2, 0, 0]  # up, new, down, unchanged
    assert sheet["D4"].number_format == "0.00" and sheet["K6"].number_format.startswith('"上升"')
    assert isinstance(sheet["D5"].value, float) and sheet["D5"].value == 88.25


def test_a_town_without_last_years_rank_or_a_group_leaves_those_cells_empty(book):
    _, _, second, *_ = table(book[RESULTS_SHEET])
    assert second == [2, "盂县", "西烟镇", 88.25, 25, None, None, None, None, None, None, "表扬"]


def test_a_name_beginning_with_equals_stays_text(book):
    cell = book[RESULTS_SHEET].cell(row=HEADER_ROW + 5, column=3)
    assert cell.value == "=路家村镇" and cell.data_type == "s"


def test_the_header_is_bold_and_frozen_with_a_filter(book):
    for sheet in book.worksheets:
        assert sheet.freeze_panes == f"A{HEADER_ROW + 1}"
        assert sheet.auto_filter.ref.startswith(f"A{HEADER_ROW}:")
        assert all(c.font.bold for c in sheet[HEADER_ROW] if c.value)
    assert book[RESULTS_SHEET].column_dimensions["C"].width == 16


def test_the_counties_sheet_sums_up_each_county(book):
    header, *lines = table(book[COUNTIES_SHEET])
    assert header == ["县（区）", "参评乡镇数", "平均总分", "最好名次", "受表扬乡镇数", "被督办乡镇数", "拟撤销乡镇数"]
    # (92.5 + 88.25 + 35.5) / 3 = 72.083… → 72.08; the county with the best-ranked town first
    assert lines == [["盂县", 3, 72.08, 1, 2, 0, 1],
                     ["平定县", 1, 80, 3, 0, 0, 0],
                     ["郊区", 1, 61, 4, 0, 1, 0]]


def test_a_year_without_towns_still_gives_both_sheets_with_their_headers():
    book = load_workbook(io.BytesIO(results_workbook(year=2025, spec=SPEC, rows=[])))
    assert [len(table(sheet)) for sheet in book.worksheets] == [1, 1]
