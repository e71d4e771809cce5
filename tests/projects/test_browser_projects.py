"""The key projects in Debian's Chromium, as a county: a new project entered on its form, signed on its case page
with the date, found in the list under its stage, and 三个一批 counting it; the pages fit a phone's width.
Screenshots at 1366 and 390 px are kept under test-artifacts/ (projects-*)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from browsing import open_as, shots
from playwright.sync_api import expect

from workflow.core.calendar import local_date

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_a_county_enters_a_key_project_signs_it_and_finds_it_in_its_list(make, browser, live_server):
    make.town("西烟镇", county="盂县")
    make.user("county", county="盂县", username="yx_clerk")
    today = local_date(datetime.now(UTC))
    context, page = open_as(browser, live_server, "yx_clerk")
    page.goto(f"{live_server}/projects/key")
    expect(page.get_by_role("heading", name="重点项目库")).to_be_visible()
    page.locator("#new-project").click()
    page.fill("#f-project_name", "年产 10 万吨高端铸件智能化改造项目")
    page.fill("#f-enterprise", "山西盂县西烟铸造有限公司")
    page.fill("#f-investment_planned", "68000")
    shots(page, "projects-new", fits=True)
    page.get_by_role("button", name="新建").click()
    expect(page.locator("h1")).to_contain_text("年产 10 万吨高端铸件智能化改造项目")
    page.locator("a[href$='/do/sign'], button:has-text('签约')").first.click()
    page.fill("#f-signed_date", today.isoformat())
    page.locator("form button[type=submit]").last.click()
    expect(page.locator(".flash.success")).to_be_visible()
    expect(page.locator("#project")).to_contain_text("计划总投资（万元）")
    expect(page.locator("#project [data-field=signed_date]")).to_have_text(today.isoformat())
    shots(page, "projects-case", fits=True)
    page.goto(f"{live_server}/projects/key?stage=signed")
    rows = page.locator("#projects tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("签约")
    expect(rows.first).to_contain_text("西烟镇")
    shots(page, "projects-list", fits=True)
    page.goto(f"{live_server}/projects/batches?year={today.year}")
    quarter = (today.month - 1) // 3 + 1
    signed = page.locator(f"#three-batches tr[data-quarter='{quarter}'][data-county] td[data-batch='signed']").first
    expect(signed).to_have_text("1")
    shots(page, "projects-batches", fits=True)
    context.close()
