"""One clock, no internals on screen (issue 14 §5), in Debian's Chromium as a person sees the pages: a refusal names
the field by its label, once; an opinion given at 16:30 UTC reads 00:30 the next day; the unread message's link is
readable; the auditor reads labelled fields and the hash without scrolling sideways; no page asks for an icon in
vain. Screenshots at 1366 and 390 px are kept under test-artifacts/."""

from __future__ import annotations

import pytest
from browsing import shots
from playwright.sync_api import expect

from conftest import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.slow]
LATE_UTC = "2026-12-03T16:30:00+00:00"  # 2026-12-04 00:30 in Beijing

CONTRAST = """el => {
  const rgb = s => (s.match(/[\\d.]+/g) || []).map(Number);
  const linear = v => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; };
  const lum = ([r, g, b]) => 0.2126 * linear(r) + 0.7152 * linear(g) + 0.0722 * linear(b);
  let back = el, bg = null;
  while (back) {
    const c = rgb(getComputedStyle(back).backgroundColor);
    if (c.length === 3 || (c.length === 4 && c[3] > 0)) { bg = c; break; }
    back = back.parentElement;
  }
  bg = bg || [255, 255, 255];
  const [a, b] = [lum(rgb(getComputedStyle(el).color)), lum(bg)].sort((x, y) => y - x);
  return (a + 0.05) / (b + 0.05);
}"""


class People:
    """A fresh browser context per person, every response of every page watched for a 404."""

    def __init__(self, browser, base):
        self.browser, self.base, self.missing, self.contexts = browser, base, [], []

    def login(self, username):
        context = self.browser.new_context(locale="zh-CN", viewport={"width": 1366, "height": 900})
        self.contexts.append(context)
        context.on("response", lambda r: self.missing.append(r.url) if r.status == 404 else None)
        page = context.new_page()
        page.set_default_timeout(15_000)
        page.goto(f"{self.base}/login")
        page.fill("#username", username)
        page.fill("#password", PASSWORD)
        page.get_by_role("button", name="登录").click()
        page.wait_for_load_state()
        return page


def test_one_clock_and_no_internal_names(make, browser, live_server, complete_application):
    county = make.user("county", county="盂县", username="yx_clerk")
    make.user("office", username="office_zhang")
    make.user("auditor", username="auditor_wu")
    keji = make.unit("市科技局", "member")
    case = make.case("designation", state="submitted", by=county, data=complete_application)
    answered = make.case("designation", state="consultation", by=county, data={
        "consulted_units": [keji.id],
        "opinions": {str(keji.id): {"unit": "市科技局", "answer": "agree", "reason": "", "by": "李科技",
                                    "at": LATE_UTC}}})
    people = People(browser, live_server)

    # a refusal names the field as the form does, once, not "member_units" and not twice
    office = people.login("office_zhang")
    office.goto(f"{live_server}/cases/{case.id}")
    office.locator("ul.actions").get_by_role("link", name="受理并发起会审").click()
    office.locator("main form button[type=submit]").last.click()
    main = office.locator("main")
    expect(main.locator(".field-error")).to_contain_text("必须填写征求意见的成员单位")
    assert "member_units" not in main.inner_text()
    assert main.inner_text().count("必须填写征求意见的成员单位") == 1
    shots(office, "one-clock-refusal")
    office.get_by_label("市科技局").check()
    office.locator("main form button[type=submit]").last.click()
    expect(office.locator(".flash.success")).to_contain_text("受理并发起会审")

    # an opinion given at 16:30 UTC is 00:30 the next day in Yangquan
    office.goto(f"{live_server}/cases/{answered.id}")
    row = office.locator("main table tr", has_text="李科技")
    expect(row).to_contain_text("2026-12-04 00:30")
    assert "16:30" not in row.inner_text()
    shots(office, "one-clock-opinion-time")

    # the county's unread message: its case link reads dark on white, not white on white
    clerk = people.login("yx_clerk")
    clerk.goto(f"{live_server}/notifications")
    link = clerk.locator("main tr.unread button.link").first
    expect(link).to_have_text(case.number)
    assert link.evaluate(CONTRAST) >= 4.5
    count = clerk.locator(".topbar .count").first
    assert count.evaluate(CONTRAST) >= 4.5
    shots(clerk, "one-clock-unread")

    # the auditor: labelled fields, the case by its number, the hash in sight at both widths
    auditor = people.login("auditor_wu")
    auditor.goto(f"{live_server}/auditor/cases/{case.id}")
    expect(auditor.locator("h1")).to_contain_text(case.number)
    table = auditor.locator("table.audit-events")
    expect(table.locator("dt", has_text="产业类别").first).to_be_visible()
    expect(table.locator("dd", has_text="制造业").first).to_be_visible()
    text = table.inner_text()
    assert "industry_category" not in text and "manufacturing" not in text and f"#{case.id}" not in text
    for width in (1366, 390):
        auditor.set_viewport_size({"width": width, "height": 900})
        box = table.locator("code.hash").first.bounding_box()
        assert box and box["x"] >= 0 and box["x"] + box["width"] <= width
    shots(auditor, "one-clock-auditor")

    # an icon for the tab, and no page asked for anything in vain
    assert auditor.request.get(f"{live_server}/favicon.ico").status == 200
    assert people.missing == []
    for context in people.contexts:
        context.close()
