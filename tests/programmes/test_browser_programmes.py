"""The action plan in Debian's Chromium: the county opens its task from the programme board, reports its progress
with a file of evidence on the report form, and the board then shows the report; the office reads the board and the
year's plan. Screenshots at 1366 and 390 px are kept under test-artifacts/ (programmes-*)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from browsing import open_as, shots
from playwright.sync_api import expect

from conftest import MATERIAL_PDF
from workflow.core.calendar import local_date
from workflow.core.db import transaction
from workflow.core.engine import fire
from workflow.core.models import User
from workflow.programmes.tasks import open_plan

pytestmark = [pytest.mark.browser, pytest.mark.slow]
YEAR = local_date(datetime.now(UTC)).year


def _unit(db, user) -> int:
    with transaction(db) as s:
        return s.get(User, user.id).unit_id


def test_a_county_reports_on_its_task_and_the_board_shows_it(make, db, browser, live_server, tmp_path):
    office, leader = make.user("office", username="pg_office"), make.user("leader", username="pg_leader")
    county = make.user("county", county="盂县", username="pg_county")
    kj = make.user("member", unit="市科技局", username="pg_kj")
    o, ld, now = make.actor(office), make.actor(leader), datetime.now(UTC)
    yx, kj_id = _unit(db, county), _unit(db, kj)
    with transaction(db) as s:
        plan = open_plan(s, actor=o, now=now, year=YEAR)
        for task in ({"programme": "innovation", "title": "新建省级企业技术中心", "lead_unit_id": kj_id,
                      "units": [yx, kj_id], "target_text": "全年新建3家",
                      "target_figure": "3", "report_cycle": "monthly"},
                     {"programme": "market_entities", "title": "专业镇新增市场主体", "lead_unit_id": kj_id,
                      "units": [yx], "target_text": "新增300户", "report_cycle": "quarterly"}):
            fire(session=s, case_id=plan.id, trigger="save_task", actor=o, now=now, payload={"task": task})
        fire(session=s, case_id=plan.id, trigger="submit_plan", actor=o, now=now)
        fire(session=s, case_id=plan.id, trigger="approve_plan", actor=ld, now=now)

    context, page = open_as(browser, live_server, county.username)
    page.get_by_role("link", name="行动计划").click()
    expect(page.get_by_role("heading", name=f"{YEAR}年度十大工程推进台账")).to_be_visible()
    expect(page.locator("#board-total")).to_contain_text("正常推进 2 项")
    page.locator("#p-innovation a").first.click()
    page.locator("a", has_text="报送进度").first.click()
    expect(page.locator("#report-form")).to_be_visible()
    evidence = tmp_path / "申报材料.pdf"
    evidence.write_bytes(MATERIAL_PDF)
    page.fill("#r-text", "已完成2家企业技术中心申报")
    page.fill("#r-figure", "2")
    page.set_input_files("#r-files", str(evidence))
    page.click("#submit-report")
    expect(page.locator("#task-reports")).to_contain_text("已完成2家企业技术中心申报")
    page.goto(f"{live_server}/programmes?year={YEAR}")
    expect(page.locator("#p-innovation")).to_contain_text("已完成2家企业技术中心申报")
    shots(page, "programmes-board-county", fits=True)
    context.close()

    context, page = open_as(browser, live_server, office.username)
    page.goto(f"{live_server}/programmes?year={YEAR}")
    expect(page.locator("#by-unit tbody tr")).to_have_count(2)
    shots(page, "programmes-board-office")
    page.click("#plan-link")
    expect(page.locator("#plan-tasks tbody tr")).to_have_count(2)
    expect(page.locator("#plan-state")).to_contain_text("已审定")
    shots(page, "programmes-plan-office")
    context.close()
