"""The rectification order's page in Chromium, as the county and the office read it: "what to do now" first, with
what to rectify, by when, and the office's reasons when it sent the report back; the office's panel puts the
report to verify in front of it. Screenshots at 1366 and 390 px are kept under test-artifacts/."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import time_machine
from browsing import log_in as login
from browsing import shots
from playwright.sync_api import expect

from workflow.core.calendar import LOCAL_TZ
from workflow.core.db import transaction
from workflow.core.engine import fire

pytestmark = [pytest.mark.browser, pytest.mark.slow]
MONDAY = datetime(2026, 11, 30, 10, 0, tzinfo=LOCAL_TZ).astimezone(UTC)
PRIMARY = "rgb(31, 95, 168)"


def test_the_county_reads_why_its_report_came_back_and_the_office_reads_the_next_one(page, live_server, make, db):
    office = make.user("office", username="office_zhang")
    county = make.user("county", county="盂县", username="yx_clerk")
    order = make.case("rectification", state="rectifying", by=office, county="盂县",
                      data={"problem": "工作台账不全，缺少 2025 年产值统计", "severity": "high",
                            "due_date": "2026-12-18"})
    with transaction(db) as s:
        fire(session=s, case_id=order.id, trigger="submit_report", actor=make.actor(county), now=MONDAY,
             payload={"report": "已补齐台账"})
        fire(session=s, case_id=order.id, trigger="reject_report", actor=make.actor(office), now=MONDAY,
             comment="台账仍缺少 2025 年第四季度数据，请补充后重报。")
    with time_machine.travel(MONDAY, tick=True):
        page.set_viewport_size({"width": 1366, "height": 900})
        login(page, live_server, "yx_clerk")
        page.goto(f"{live_server}/cases/{order.id}")
        first = page.locator("main > .card").first
        expect(first).to_have_id("now-panel")
        expect(first.locator("[data-section=order]")).to_contain_text("工作台账不全，缺少 2025 年产值统计")
        expect(first.locator("[data-section=order] .tone-bad")).to_have_text("严重")
        expect(first.locator("[data-section=report_rejected] .know-text")).to_have_text(
            "台账仍缺少 2025 年第四季度数据，请补充后重报。")
        expect(first.locator("p.due")).to_contain_text("整改期限: 2026-12-18")
        expect(first.locator("p.due .badge")).to_have_text("剩余 14 个工作日")
        main = first.locator("[data-trigger=submit_report] .step")
        expect(main).to_have_text("提交整改报告")
        expect(main).to_have_css("background-color", PRIMARY)
        shots(page, "order-panel-county", fits=True)

        main.click()
        page.fill("textarea[name=report]", "已补齐 2025 年全年产值统计台账，并经镇统计站核对")
        page.get_by_label("确认").check()
        page.locator("main form button[type=submit]").last.click()
        expect(page.locator(".flash.success")).to_be_visible()

        page.context.clear_cookies()
        login(page, live_server, "office_zhang")
        page.goto(f"{live_server}/cases/{order.id}")
        report = page.locator("#now-panel [data-section=report]")
        expect(report).to_contain_text("已补齐 2025 年全年产值统计台账，并经镇统计站核对")
        expect(report).to_contain_text("按期提交")
        expect(report).to_contain_text("第 2 次")
        expect(page.locator("#now-panel [data-trigger=accept] .step")).to_have_css("background-color", PRIMARY)
        shots(page, "order-panel-office", fits=True)
