"""The statistics Excel round trip in Debian's Chromium (issue 15 §2): the county downloads the year's workbook from
the overview, fills it in (with openpyxl, as a clerk would in Excel), uploads a version with a mistake and sees
the problem by row and column with nothing written, uploads the corrected file to submit, and sees its reports
submitted; the office accepts one on its case page; the town's page shows the figures by year. Screenshots at
1366 and 390 px are kept under test-artifacts/ as statistics-excel-*."""

from __future__ import annotations

import io
from datetime import UTC, datetime

import pytest
import time_machine
from browsing import open_as as login
from browsing import shots
from openpyxl import load_workbook
from playwright.sync_api import expect

from workflow.core.db import transaction
from workflow.statistics.campaign import open_reports

pytestmark = [pytest.mark.browser, pytest.mark.slow]
DAY = datetime(2027, 1, 12, 2, 0, tzinfo=UTC)  # Tuesday 12 January 2027, 10:00 in Yangquan
ROW = {"主导产业产值（亿元）": 21.3, "税收（万元）": 3200, "市场主体数（户）": 860, "规上工业企业数（家）": 14,
       "从业人员（人）": 5200, "高新技术企业（家）": 3, "专精特新企业（家）": 2, "有效发明专利（件）": 11,
       "地理标志（个）": 1, "公共服务平台（个）": 2, "重点项目数（个）": 4, "重点项目总投资（亿元）": 6.8,
       "品牌（品牌名称|级别）": "盂县石材|省级"}


def filled(path, rows):
    """The downloaded workbook with each town's row filled in (rows: town → {header: value})."""
    book = load_workbook(path)
    sheet = book["统计数据"]
    where = {c.value: c.column for c in sheet[1]}
    for row in sheet.iter_rows(min_row=2):
        for header, value in rows[row[1].value].items():
            sheet.cell(row=row[0].row, column=where[header], value=value)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def upload(page, data, name, *, submit):
    page.set_input_files("#excel-file", files=[{"name": name, "mimeType": "application/vnd.openxmlformats-"
                                                "officedocument.spreadsheetml.sheet", "buffer": data}])
    if submit:
        page.check("#statistics-excel input[name=confirmed]")
    page.locator("#statistics-excel").get_by_role("button", name="导入并报送" if submit else "导入并保存").click()


def test_the_county_fills_its_towns_in_excel_the_office_accepts_one_and_exports_the_year(
        make, db, browser, live_server, tmp_path):
    office = make.user("office", username="office_zhang")
    make.user("county", county="盂县", username="yx_clerk")
    towns = {name: make.town(name, county="盂县") for name in ("西烟镇", "路家村镇")}
    with transaction(db) as s:
        reports = open_reports(session=s, actor=make.actor(office), now=DAY, year=2026)
    with time_machine.travel(DAY, tick=True):
        context, clerk = login(browser, live_server, "yx_clerk")
        clerk.goto(f"{live_server}/statistics?year=2026")
        card = clerk.locator("#statistics-excel")
        expect(card).to_contain_text("用 Excel 填报")
        shots(clerk, "statistics-excel-overview")
        with clerk.expect_download() as downloading:
            card.get_by_role("link", name="下载 Excel 模板").click()
        download = downloading.value
        assert download.suggested_filename == "2026年度专业镇统计-盂县.xlsx"
        path = tmp_path / "template.xlsx"
        download.save_as(path)

        # a mistake in the last row: nothing imported, the problem by row and column
        wrong = filled(path, {"西烟镇": ROW, "路家村镇": {**ROW, "从业人员（人）": 5200.5}})
        upload(clerk, wrong, "统计-有误.xlsx", submit=True)
        expect(clerk.locator("h1")).to_have_text("工作簿未导入")
        problem = clerk.locator("table.import-problems tbody tr")
        expect(problem).to_have_count(1)
        expect(problem.locator("td").nth(1)).to_contain_text("G 从业人员（人）")
        expect(problem.locator("td").nth(2)).to_have_text("从业人员须为整数")
        shots(clerk, "statistics-excel-refused")

        # the corrected file, submitted
        right = filled(path, {"西烟镇": ROW, "路家村镇": {**ROW, "主导产业产值（亿元）": 9.6}})
        upload(clerk, right, "统计.xlsx", submit=True)
        expect(clerk.locator(".flash.success")).to_have_text("已从工作簿导入 2 份报表并报送领导小组办公室。")
        rows = clerk.locator("table.list tbody tr")
        expect(rows.locator("td:nth-child(4)")).to_have_text(["待审核", "待审核"])
        expect(clerk.locator("table.list")).to_contain_text("21.3")
        shots(clerk, "statistics-excel-submitted")
        context.close()

        # the office accepts 西烟镇's report on its case page
        report = next(r for r in reports if r.town_id == towns["西烟镇"].id)
        context, desk = login(browser, live_server, "office_zhang")
        desk.goto(f"{live_server}/cases/{report.id}")
        expect(desk.locator("#statistics")).to_contain_text("21.3")
        desk.locator("ul.actions").get_by_role("link", name="审核通过").click()
        desk.check("input[name=confirmed]")
        desk.locator("main form button[type=submit]").last.click()
        expect(desk.locator(".case-head .state")).to_have_text("已审核通过")
        shots(desk, "statistics-excel-accepted")

        # the town's page: its figures by year and the tier they give
        desk.goto(f"{live_server}/towns/{towns['西烟镇'].id}")
        figures = desk.locator("#town-statistics")
        expect(figures).to_contain_text("2026")
        expect(figures).to_contain_text("21.3")
        expect(desk.locator("main")).to_contain_text("20亿级")
        shots(desk, "statistics-excel-town")

        # and out again: the year's list as Excel, the accepted figures in it
        desk.goto(f"{live_server}/statistics?year=2026")
        with desk.expect_download() as exporting:
            desk.locator("#export-xlsx").click()
        out = tmp_path / "export.xlsx"
        exporting.value.save_as(out)
        sheet = load_workbook(out).active
        listed = [r for r in sheet.iter_rows(values_only=True) if r and r[0] in {x.number for x in reports}]
        assert sorted((r[1], r[3], r[4]) for r in listed) == [
            ("西烟镇", "已审核通过", 21.3), ("路家村镇", "待审核", 9.6)]
        context.close()
