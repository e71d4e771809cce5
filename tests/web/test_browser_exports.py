"""导出 Excel in Debian's Chromium: the office filters the case list (process and county), clicks 导出 Excel, and the
downloaded workbook holds exactly the rows the filtered list shows, in its order, under Chinese headers; the
supervision board does the same. Screenshots at 1366 and 390 px are kept under test-artifacts/ (export-*)."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from pathlib import Path

import openpyxl
import pytest
import time_machine
from browsing import open_as as login
from browsing import shots
from playwright.sync_api import expect

from workflow.core.calendar import LOCAL_TZ
from workflow.core.exports import HEADER_ROW

pytestmark = [pytest.mark.browser, pytest.mark.slow]
FRIDAY = datetime(2026, 11, 27, 10, 0, tzinfo=LOCAL_TZ).astimezone(UTC)


def download(page):
    with page.expect_download() as info:
        page.get_by_role("button", name="导出 Excel").click()
    got = info.value
    return got.suggested_filename, openpyxl.load_workbook(io.BytesIO(Path(got.path()).read_bytes())).active


def test_the_filtered_case_list_downloads_as_the_rows_it_shows(make, browser, live_server):
    office = make.user("office", username="office_zhang")
    yx, pd = make.town("东风镇", county="盂县"), make.town("娘子关镇", county="平定县")
    orders = [make.case("rectification", town=town, by=office, data=data)
              for town, data in ((yx, {"problem": "安全台账不全", "due_date": "2026-12-04"}),
                                 (yx, {"problem": "消防通道堵塞", "due_date": "2026-12-02"}),
                                 (pd, {"problem": "危化品储存不规范"}))]
    make.case("designation", town=yx)
    with time_machine.travel(FRIDAY, tick=True):
        context, desk = login(browser, live_server, "office_zhang")
        desk.goto(f"{live_server}/cases")
        desk.select_option("#f-definition", "rectification")
        desk.get_by_role("button", name="筛选").click()
        desk.select_option("#f-county", label="盂县")
        desk.get_by_role("button", name="筛选").click()
        rows = desk.locator("table.list tbody tr")
        expect(rows).to_have_count(2)
        shown = rows.locator("td:first-child").all_inner_texts()
        assert shown == [orders[1].number, orders[0].number]  # the soonest due first
        shots(desk, "export-cases-filtered")

        name, sheet = download(desk)
        assert name.startswith("案件列表-20261127-") and name.endswith(".xlsx")
        assert sheet["A2"].value == "筛选条件：流程：限期整改通知；县（区）：盂县"
        assert [c.value for c in sheet[HEADER_ROW]][:4] == ["编号", "标题", "流程", "状态"]
        got = [[c.value for c in row] for row in sheet.iter_rows(min_row=HEADER_ROW + 1)]
        assert [r[0] for r in got] == shown
        assert [(r[4], r[5], r[6], r[7]) for r in got] == [("盂县", "东风镇", datetime(2026, 12, 2), 3),
                                                           ("盂县", "东风镇", datetime(2026, 12, 4), 5)]

        desk.goto(f"{live_server}/supervision")
        desk.select_option("#f-county", label="平定县")
        desk.get_by_role("button", name="筛选").click()
        expect(desk.locator("table.list tbody tr")).to_have_count(1)
        shots(desk, "export-board-filtered")
        name, board = download(desk)
        assert name.startswith("督办台账-")
        got = [[c.value for c in row] for row in board.iter_rows(min_row=HEADER_ROW + 1)]
        assert [(r[0], r[2], r[3]) for r in got] == [(orders[2].number, "平定县", "危化品储存不规范")]
        context.close()
