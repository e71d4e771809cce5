"""The demo county user logs in with Debian's Chromium and sees its inbox in Chinese."""

import pytest

from conftest import ARTIFACTS
from workflow.core.db import transaction
from workflow.seed import DEMO_PASSWORD, build_demo

pytestmark = pytest.mark.browser


def test_demo_county_user_sees_inbox_in_chinese(db, now, live_server, page):
    with transaction(db) as s:
        build_demo(s, now)
    page.goto(f"{live_server}/inbox")
    assert page.url.startswith(f"{live_server}/login")
    assert page.locator("h1").inner_text() == "登录"
    page.fill("#username", "county_yx")
    page.fill("#password", DEMO_PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.wait_for_url(f"{live_server}/inbox")
    assert page.locator("h1").inner_text() == "我的待办"
    rows = page.locator("table.list tbody tr")
    # 盂县's draft, its application returned for revision, last year's statistics of its six towns, the
    # self-assessments of last year's evaluation of its two designated towns still evaluated, and the 督办 orders of
    # the published ranking the year before, its key projects not yet at full output (three: the quarterly update is
    # the county's), its investment project still in negotiation, and its three tasks of the action plan in
    # progress (two of the plan, one of the leading group's meeting); 平定县's are not shown
    assert rows.count() == 19
    listed = rows.all_inner_texts()
    assert sum("年度统计" in r and "待填报" in r for r in listed) == 6
    assert sum("年度评价" in r and "待县（区）自评" in r for r in listed) == 2
    assert sum("行动计划任务" in r and "推进中" in r for r in listed) == 3
    assert sum("督办" in r for r in listed) == 2
    assert sum("重点项目" in r for r in listed) == 3 and sum("招商项目" in r for r in listed) == 1
    assert any("路家村镇" in r and "草稿" in r for r in listed)
    assert any("仙人乡" in r and "退回补正" in r for r in listed)
    assert "冠山镇" not in page.content()
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "inbox-county.png"), full_page=True)


def test_language_switch_and_keyboard_login(db, now, live_server, page):
    with transaction(db) as s:
        build_demo(s, now)
    page.goto(f"{live_server}/login")
    page.get_by_role("button", name="English").click()
    assert page.locator("h1").inner_text() == "Log in"
    page.focus("#username")
    page.keyboard.type("office")
    page.keyboard.press("Tab")
    page.keyboard.type(DEMO_PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url(f"{live_server}/inbox")
    assert page.locator("h1").inner_text() == "My inbox"
