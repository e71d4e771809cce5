"""The case page as people read it in Chromium: "what to do now" first, the buttons' colours, the folded
diagram, a one-click step, a phone's 390 px width, and the printout."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from conftest import ARTIFACTS, PASSWORD
from workflow.core.db import transaction
from workflow.core.engine import fire

pytestmark = [pytest.mark.browser, pytest.mark.slow]

PRIMARY = "rgb(31, 95, 168)"
RED = "rgb(179, 38, 30)"
WHITE = "rgb(255, 255, 255)"
NO_SIDEWAYS_SCROLL = "document.documentElement.scrollWidth <= window.innerWidth"


def login(page, base, username):
    page.goto(f"{base}/login")
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.wait_for_url(f"{base}/inbox")


def shot(page, name):
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def background(locator):
    return locator.evaluate("e => getComputedStyle(e).backgroundColor")


@pytest.fixture
def people(make):
    return {"county": make.user("county", county="盂县", username="yx_clerk"),
            "office": make.user("office", username="office_zhang"),
            "leader": make.user("leader", username="leader_li")}


@pytest.fixture
def at_decision(make, people, complete_application):
    data = {**complete_application, "consulted_units": [1, 2],
            "opinions": {"1": {"unit": "市科技局", "answer": "agree"},
                         "2": {"unit": "市农业农村局", "answer": "agree"}},
            "experts": [{"name": "王教授", "score": 88}, {"name": "李研究员", "score": 91}],
            "expert_recommendation": "建议认定"}
    return make.case(state="decision", data=data, by=people["county"])


def test_leader_reads_what_to_do_first_with_the_tally_and_acts_by_colour(page, live_server, people, at_decision):
    page.set_viewport_size({"width": 1366, "height": 900})
    login(page, live_server, "leader_li")
    page.goto(f"{live_server}/cases/{at_decision.id}")

    cards = page.locator("main > .card").evaluate_all("cards => cards.map(c => c.id || c.className)")
    assert cards[0] == "now-panel" and "diagram" in cards[1]  # the panel first, then the folded diagram
    panel = page.locator("#now-panel")
    expect(panel.locator("h2")).to_have_text("当前办理")
    buttons = panel.locator("ul.actions li")
    assert buttons.all_inner_texts() == ["审定通过", "不予认定", "退回专家评审"]
    assert background(panel.get_by_role("link", name="审定通过")) == PRIMARY
    assert background(panel.get_by_role("link", name="不予认定")) == RED
    assert background(panel.get_by_role("link", name="退回专家评审")) == RED
    expect(panel.locator("[data-section=joint_review]")).to_contain_text("2/2 同意")
    expect(panel.locator("[data-section=experts]")).to_contain_text("89.5（2 位专家）")
    expect(panel.locator("[data-section=eligibility]")).to_contain_text("均已满足")
    expect(panel.get_by_role("link", name="查看本案件待印发文书的草稿")).to_be_visible()

    diagram = page.locator("details.diagram")
    expect(diagram.locator("img")).not_to_be_visible()  # folded
    diagram.locator("summary").get_by_text("查看流程图").click()
    expect(diagram.locator("img")).to_be_visible()
    assert page.evaluate(NO_SIDEWAYS_SCROLL)
    expect(page.get_by_role("button", name="菜单")).not_to_be_visible()  # the menu is open on a wide screen
    expect(page.locator("header").get_by_role("link", name="我的待办")).to_be_visible()
    shot(page, "case-panel-leader-1366")

    page.set_viewport_size({"width": 390, "height": 844})
    assert page.evaluate(NO_SIDEWAYS_SCROLL)
    box = diagram.locator("img").bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= 390
    expect(panel.get_by_role("link", name="审定通过")).to_be_visible()
    shot(page, "case-panel-leader-390")


def test_county_after_a_return_sees_the_reasons_and_the_deadline(page, live_server, db, make, people,
                                                                 complete_application):
    case = make.case(state="submitted", data={**complete_application, "supporting_enterprises": 3},
                     by=people["county"])
    with transaction(db) as s:
        fire(session=s, case_id=case.id, trigger="return_for_revision", actor=make.actor(people["office"]),
             now=make.now, comment="产值证明缺少盖章页，请补充。", expected_version=case.version)
    login(page, live_server, "yx_clerk")
    page.goto(f"{live_server}/cases/{case.id}")
    panel = page.locator("#now-panel")
    expect(panel.locator("[data-section=return_reason]")).to_contain_text("产值证明缺少盖章页，请补充。")
    expect(panel.locator("[data-section=to_fix]")).to_contain_text("配套")
    expect(panel.locator(".due")).to_contain_text("补正期限")
    assert background(panel.get_by_role("link", name="重新提交")) == PRIMARY
    assert background(panel.get_by_role("link", name="撤回申报")) == RED
    assert background(panel.get_by_role("link", name="保存申报书")) == WHITE  # neutral


def test_office_concludes_the_joint_review_with_one_click(page, live_server, make, people, complete_application):
    case = make.case(state="consultation", by=people["county"], data={
        **complete_application, "consulted_units": [1], "opinion_due_date": "2026-12-08",
        "opinions": {"1": {"unit": "市科技局", "answer": "agree", "by": "赵", "at": "2026-11-27T10:00:00"}}})
    login(page, live_server, "office_zhang")
    page.goto(f"{live_server}/cases/{case.id}")
    button = page.locator("#now-panel").get_by_role("button", name="结束会审")
    assert background(button) == PRIMARY
    button.click()
    expect(page.locator(".flash.success")).to_contain_text("结束会审")
    assert page.url.endswith(f"/cases/{case.id}")  # no confirmation page in between
    expect(page.locator(".case-head .state")).to_have_text("专家评审")


def test_a_one_click_step_that_is_not_possible_yet_says_why_on_the_case_page(page, live_server, make, people,
                                                                             complete_application):
    case = make.case(state="consultation", by=people["county"], data={
        **complete_application, "consulted_units": [1, 2], "opinion_due_date": "2026-12-08", "opinions": {}})
    login(page, live_server, "office_zhang")
    page.goto(f"{live_server}/cases/{case.id}")
    page.locator("#now-panel").get_by_role("button", name="结束会审").click()
    expect(page.locator(".flash.error")).to_contain_text("2 个成员单位未提交意见")
    assert page.url.endswith(f"/cases/{case.id}")
    expect(page.locator(".case-head .state")).to_have_text("成员单位会审")


def test_on_a_phone_the_menu_folds_and_lists_scroll_inside_their_box(page, live_server, make, people, at_decision):
    for i in range(3):
        make.case("rectification", state="rectifying", by=people["office"],
                  data={"problem": f"检验检测公共服务平台未建成，园区道路破损需要整改的第{i}项问题"})
    page.set_viewport_size({"width": 390, "height": 844})
    login(page, live_server, "office_zhang")
    toggle = page.get_by_role("button", name="菜单")
    expect(toggle).to_be_visible()
    expect(page.locator("header").get_by_role("link", name="案件", exact=True)).not_to_be_visible()
    toggle.click()
    expect(page.locator("header").get_by_role("link", name="案件", exact=True)).to_be_visible()
    assert toggle.get_attribute("aria-expanded") == "true"
    shot(page, "menu-open-390")
    for path in ("/inbox", "/cases", "/supervision", f"/cases/{at_decision.id}"):
        page.goto(f"{live_server}{path}")
        assert page.evaluate(NO_SIDEWAYS_SCROLL), path
    page.goto(f"{live_server}/cases")
    shot(page, "case-list-390")


def test_the_printout_is_a_clean_record(page, live_server, people, at_decision):
    login(page, live_server, "leader_li")
    page.goto(f"{live_server}/cases/{at_decision.id}")
    print_button = page.locator(".case-head").get_by_role("button", name="打印")
    expect(print_button).to_be_visible()
    page.evaluate("window.print = () => { window.printed = true; }")  # the dialog itself is the browser's
    print_button.click()
    assert page.evaluate("window.printed === true")

    page.emulate_media(media="print")
    page.evaluate("window.dispatchEvent(new Event('beforeprint'))")  # what the browser sends before printing
    expect(page.locator("header.topbar")).not_to_be_visible()
    expect(print_button).not_to_be_visible()
    expect(page.locator("#now-panel ul.actions")).not_to_be_visible()
    expect(page.locator("h1")).to_have_text(at_decision.title)
    expect(page.locator("#now-panel")).to_contain_text("2/2 同意")
    image = page.locator("details.diagram img")
    expect(image).to_be_visible()  # unfolded for the paper
    width = page.evaluate("window.innerWidth")
    box = image.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= width
    shot(page, "case-print")
