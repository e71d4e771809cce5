"""Search in Debian's Chromium: a county clerk types a Chinese query into the box of the case list and sees the
matches marked in the results (never another county's case); the registry's box finds a town. Screenshots at 1366
and 390 px are kept under test-artifacts/ (search-*)."""

from __future__ import annotations

import pytest
from browsing import open_as as login
from browsing import shots
from playwright.sync_api import expect

from workflow.core.db import transaction
from workflow.core.engine import fire

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_a_chinese_query_on_the_case_list_shows_the_matches_marked(make, db, now, browser, live_server):
    clerk = make.user("county", county="盂县", username="yx_clerk")
    office = make.user("office", username="office_li")
    xiyan = make.town("西烟镇", county="盂县", leading_industry="铸造")
    mine = make.case("designation", state="submitted", town=xiyan, by=clerk, data={
        "leading_industry": "铸造", "leading_enterprises": [{"name": "阳泉铸造集团有限公司"}]})
    with transaction(db) as s:
        fire(session=s, case_id=mine.id, trigger="return_for_revision", actor=make.actor(office), now=now,
             comment="请补充阳泉铸造集团的产值证明")
    theirs = make.case("designation", town=make.town("义井镇", county="城区"), county="城区",
                       data={"leading_enterprises": [{"name": "义井铸造厂"}]})

    context, page = login(browser, live_server, "yx_clerk")
    page.goto(f"{live_server}/cases")
    page.get_by_label("搜索案件").fill("铸造集团")
    page.get_by_role("button", name="搜索", exact=True).click()
    page.wait_for_url("**/search?q=*")
    hits = page.locator(".search-hit")
    expect(hits).to_have_count(1)
    expect(hits.first).to_contain_text(mine.number)
    expect(hits.first.locator("mark").first).to_have_text("铸造集团")
    expect(page.locator(".muted").first).to_contain_text("共找到 1 个案件")
    shots(page, "search-results")

    page.get_by_label("搜索案件").fill("铸造")  # two characters: 城区's 义井铸造厂 stays out of sight
    page.get_by_role("button", name="搜索", exact=True).click()
    expect(page.locator(".search-hit")).to_have_count(1)
    assert theirs.number not in page.content()

    page.get_by_label("搜索案件").fill("不存在的内容")
    page.get_by_role("button", name="搜索", exact=True).click()
    expect(page.get_by_text("没有找到")).to_be_visible()

    page.goto(f"{live_server}/towns")
    page.get_by_label("搜索专业镇").fill("西烟")
    page.get_by_role("button", name="筛选").click()
    rows = page.locator("table.list tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first.locator("mark").first).to_have_text("西烟")
    shots(page, "search-registry")
    context.close()
