"""Notifications people expect (issue 14 §7), in Debian's Chromium: the office accepts an application through
its page and gives the county one notice of it; when both member units have answered, the office finds one
notice that every opinion is in. Screenshots at 1366 and 390 px are kept under test-artifacts/."""

from __future__ import annotations

import pytest
from browsing import open_as as login
from browsing import shots
from playwright.sync_api import expect

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def act(page, step, fill=None):
    page.locator("ul.actions").get_by_role("link", name=step).click()
    if fill:
        fill(page)
    page.locator("main form button[type=submit]").last.click()
    expect(page.locator(".flash.success")).to_contain_text(step)


def test_acceptance_reaches_the_county_and_the_last_opinion_the_office(make, browser, live_server,
                                                                       complete_application):
    county = make.user("county", county="盂县", username="yx_clerk")
    make.user("office", username="office_zhang")
    make.user("member", unit="市科技局", username="keji_zhao")
    make.user("member", unit="市农业农村局", username="nongye_sun")
    case = make.case("designation", state="submitted", by=county, data=complete_application)

    context, office = login(browser, live_server, "office_zhang")
    office.goto(f"{live_server}/cases/{case.id}")
    act(office, "受理并发起会审", fill=lambda p: (p.get_by_label("市科技局").check(),
                                             p.get_by_label("市农业农村局").check()))

    clerk_context, clerk = login(browser, live_server, "yx_clerk")
    clerk.goto(f"{live_server}/notifications")
    notices = clerk.locator("main table tbody tr")
    expect(notices).to_have_count(1)  # one event, one notice
    expect(notices.first).to_contain_text(case.number)
    expect(notices.first).to_contain_text("受理并发起会审")
    shots(clerk, "notifications-county-accepted")
    clerk_context.close()

    for username in ("keji_zhao", "nongye_sun"):
        member_context, member = login(browser, live_server, username)
        member.goto(f"{live_server}/cases/{case.id}")
        act(member, "提交会审意见", fill=lambda p: p.get_by_label("同意", exact=True).check())
        member_context.close()

    office.goto(f"{live_server}/notifications")
    rows = office.locator("main table tbody tr")
    expect(rows.filter(has_text="会审意见已全部提交")).to_have_count(1)
    shots(office, "notifications-office-opinions-in")
    context.close()
