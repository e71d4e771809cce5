"""A notice from its draft to its 签收, in Debian's Chromium: the office reads the draft of the designation notice and
issues it; the county finds it waiting in its menu, opens it from the case page, confirms that it has received it and
acknowledges it; the office then sees it signed on "签收情况"."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import time_machine
from playwright.sync_api import expect

from conftest import ARTIFACTS, COMPLETE_APPLICATION, PASSWORD
from workflow.core.calendar import LOCAL_TZ

pytestmark = pytest.mark.browser
ISSUED = datetime(2026, 11, 27, 10, tzinfo=LOCAL_TZ).astimezone(UTC)
NEXT_MONDAY = datetime(2026, 11, 30, 9, 30, tzinfo=LOCAL_TZ).astimezone(UTC)
REVIEWED = {**COMPLETE_APPLICATION, "experts": [{"name": "甲", "score": 80}], "expert_recommendation": "同意"}


def _login(browser, base: str, username: str):
    context = browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(15_000)
    page.goto(f"{base}/login")
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.wait_for_url(f"{base}/inbox")
    return context, page


def test_the_county_acknowledges_the_designation_notice_and_the_office_sees_it(db, make, browser, live_server):
    make.now = ISSUED
    clerk = make.user("county", county="盂县", username="yx_clerk")
    make.user("office", username="office_zhang")
    case = make.case("designation", state="notice_pending", town=make.town("东风镇", county="盂县"), by=clerk,
                     data=REVIEWED)

    with time_machine.travel(ISSUED, tick=True):
        context, page = _login(browser, live_server, "office_zhang")
        try:  # the draft first (no number yet), then the step that numbers and issues it
            page.goto(f"{live_server}/cases/{case.id}")
            page.get_by_role("link", name="查看本案件待印发文书的草稿").click()
            expect(page.locator(".paper")).to_contain_text("阳专镇〔2026〕　　号")
            page.goto(f"{live_server}/cases/{case.id}")
            page.locator("ul.actions").get_by_role("link", name="编号并印发认定通知").click()
            expect(page.locator(".paper")).to_contain_text("关于认定盂县东风镇为市级专业镇的通知")
            page.check("input[name=confirmed]")
            page.locator("main form button[type=submit]").last.click()
            expect(page.locator(".flash.success")).to_contain_text("编号并印发认定通知")
            expect(page.locator("body")).to_contain_text("阳专镇〔2026〕1号")
        finally:
            context.close()

    with time_machine.travel(NEXT_MONDAY, tick=True):
        context, page = _login(browser, live_server, "yx_clerk")
        try:
            menu = page.get_by_role("navigation").get_by_role("link", name="待签收")
            expect(menu.locator(".count")).to_have_text("1")
            page.goto(f"{live_server}/cases/{case.id}")
            row = page.locator("#attachments tbody tr", has_text="认定通知-阳专镇〔2026〕1号.docx")
            expect(row).to_contain_text("未签收")
            row.get_by_role("link", name="签收").click()
            expect(page.locator("h1")).to_have_text("签收通知")

            page.locator("main form button[type=submit]").click()  # without confirming
            expect(page.locator(".field-error")).to_contain_text("请勾选，确认本县（区）已收到该通知。")
            page.check("input[name=confirmed]")
            page.locator("main form button[type=submit]").click()
            expect(page.locator(".flash.success")).to_contain_text("已签收：认定通知-阳专镇〔2026〕1号")
            row = page.locator("#attachments tbody tr", has_text="认定通知-阳专镇〔2026〕1号.docx")
            expect(row).to_contain_text("已签收")
            expect(row.get_by_role("link", name="签收")).to_have_count(0)
            expect(page.get_by_role("navigation").get_by_role("link", name="待签收").locator(".count")).to_have_count(0)
        finally:
            context.close()

        context, page = _login(browser, live_server, "office_zhang")
        try:
            page.get_by_role("navigation").get_by_role("link", name="签收情况").click()
            signed = page.locator("table.receipts tbody tr", has_text="认定通知-阳专镇〔2026〕1号.docx")
            expect(signed).to_contain_text("盂县")
            expect(signed).to_contain_text("已签收")
            expect(signed).to_contain_text("2026-11-30 09:")
            ARTIFACTS.mkdir(exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / "receipts-office.png"), full_page=True)
        finally:
            context.close()
