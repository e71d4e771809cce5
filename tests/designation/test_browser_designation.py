"""认定申请 through the pages only, in Debian's Chromium: every role plays its part, the clock is moved,
the real scheduler ends the opinion period and the public notice, and the office reads the draft of the
designation notice before it issues it."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import time_machine
from browsing import keep_files_being_written
from browsing import shots as screenshots
from playwright.sync_api import expect

from conftest import ARTIFACTS, MATERIAL_PDF, PASSWORD
from workflow.core.calendar import LOCAL_TZ
from workflow.core.db import transaction
from workflow.seed import ensure_reference_units

pytestmark = [pytest.mark.browser, pytest.mark.slow]
SAMPLE_PDF = Path(__file__).resolve().parents[1] / "fixtures" / "files" / "sample.pdf"
START = datetime(2026, 11, 27, 10, 0, tzinfo=LOCAL_TZ).astimezone(UTC)  # a Friday morning in Yangquan


@pytest.fixture
def people(make, db, now):
    with transaction(db) as s:
        ensure_reference_units(s, now)
    return {
        "county": make.user("county", county="盂县", username="yx_clerk"),
        "other_county": make.user("county", county="平定县", username="pd_clerk"),
        "office": make.user("office", unit="市工信局（领导小组办公室）", username="office_zhang"),
        "keji": make.user("member", unit="市科技局", username="keji_zhao"),
        "nongye": make.user("member", unit="市农业农村局", username="nongye_sun"),
        "leader": make.user("leader", unit="阳泉市专业镇高质量发展领导小组", username="leader_li"),
    }


@pytest.fixture
def scheduler(app, monkeypatch):
    """Starts the real APScheduler sweep in this process, waking every second.

    Call it once the clock has been moved: APScheduler plans its next wake-up from the clock it starts
    with, and the test only ever moves the clock forward from there.
    """
    from webapp.cli import _scheduler

    app.config["SWEEP_SECONDS"] = 1
    keep_files_being_written(monkeypatch)
    started = []

    def start():
        running = _scheduler(app, background=True)
        running.start()
        started.append(running)

    yield start
    for running in started:
        running.shutdown(wait=True)  # a job still running holds a connection the app is about to close


class Browser:
    """One fresh browser context per person, logged in through the login page."""

    def __init__(self, browser, base):
        self.browser = browser
        self.base = base
        self.contexts = []

    def login(self, username: str):
        context = self.browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 900})
        self.contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(15_000)
        page.goto(f"{self.base}/login")
        page.fill("#username", username)
        page.fill("#password", PASSWORD)
        page.get_by_role("button", name="登录").click()
        page.wait_for_url(f"{self.base}/inbox")
        return page

    def close(self):
        for context in self.contexts:
            context.close()


@pytest.fixture
def users(browser, live_server):
    sessions = Browser(browser, live_server)
    yield sessions
    sessions.close()


def open_from_inbox(page, number: str):
    page.get_by_role("link", name=number).click()
    expect(page.locator(".case-head")).to_contain_text(number)


def act(page, step: str, *, confirm: bool = False, comment: str | None = None, fill=None):
    """Click an action on the case page, fill its form, submit; back on the case page. A step with nothing to
    enter is a button on the case page itself."""
    one_click = page.locator("ul.actions").get_by_role("button", name=step)
    if one_click.count():
        one_click.click()
        expect(page.locator(".flash.success")).to_contain_text(step)
        return
    page.locator("ul.actions").get_by_role("link", name=step).click()
    if fill:
        fill(page)
    if comment is not None:
        page.fill("#f-comment", comment)
    if confirm:
        page.check("input[name=confirmed]")
    page.locator("main form button[type=submit]").last.click()
    expect(page.locator(".flash.success")).to_contain_text(step)


def fill_experts(page, panel):
    """Fill the expert table, one row per (name, affiliation, scores in the criteria's order)."""
    rows = page.locator("table[data-expert-table] tbody tr")
    for i, (name, affiliation, scores) in enumerate(panel):
        row = rows.nth(i)
        row.locator("input[name=expert_name]").fill(name)
        row.locator("input[name=expert_affiliation]").fill(affiliation)
        for box, score in zip(row.locator("input[data-max]").all(), scores, strict=True):
            box.fill(str(score))


REQUIRED_MATERIALS = ("county_request", "output_proof", "leading_enterprise_list", "supporting_enterprise_list")


def fill_application(page, town: str, *, output: str = "12.50"):
    page.select_option("#f-town_id", "new")
    page.fill("#f-new_town", town)
    page.check("#f-industry_category-manufacturing")
    page.fill("#f-leading_industry", "装备制造")
    page.fill("#f-main_products", "矿山机械、液压支架")
    page.fill("#f-output_yi", output)
    page.fill("#f-county_share_pct", "18.5")
    page.fill("#f-jobs", "3200")
    page.fill("#f-local_workers", "2100")
    page.fill("#f-average_income", "52000")
    page.fill("#le-0-name", "阳泉华鑫机械有限公司")
    page.check("input[name='le-0-honours'][value='zjtx']")
    page.fill("#f-supporting_enterprises", "26")
    page.fill("#f-business_environment", "设立企业服务专班，审批事项全程代办。")
    for kind in REQUIRED_MATERIALS:  # the 证明材料 are chosen on the form itself, saved with the draft
        page.set_input_files(f"#material-{kind}", files=[{"name": f"{kind}.pdf", "mimeType": "application/pdf",
                                                           "buffer": MATERIAL_PDF}])
    page.get_by_role("button", name="保存草稿").last.click()
    expect(page.locator(".flash.success")).to_be_visible()
    return re.search(r"/cases/(\d+)/application", page.url).group(1)


def submit_application(page):
    page.check("#f-confirmed")
    page.locator("button[name=action][value=submit]").click()
    expect(page.locator(".flash.success")).to_be_visible()


def case_number(page) -> str:
    return page.locator(".case-head .muted").first.inner_text().strip()


def wait_for_state(page, label: str, seconds: int = 20):
    for _ in range(seconds * 4):
        page.reload()
        if label in page.locator(".case-head .state").inner_text():
            return
        page.wait_for_timeout(250)
    raise AssertionError(f"the case never reached {label}")


def test_from_draft_to_designated_through_the_pages(people, users, scheduler, live_server, db):
    with time_machine.travel(START, tick=True) as clock:
        scheduler()
        clerk = users.login("yx_clerk")
        clerk.goto(f"{live_server}/cases/new")
        case_id = fill_application(clerk, "东风镇")
        clerk.goto(f"{live_server}/cases/{case_id}")
        number = case_number(clerk)
        clerk.set_input_files("#attachment-file", str(SAMPLE_PDF))
        clerk.get_by_role("button", name="上传").click()
        expect(clerk.locator(".flash.success")).to_contain_text("sample.pdf")
        clerk.goto(f"{live_server}/cases/{case_id}/application")
        submit_application(clerk)
        clerk.goto(f"{live_server}/cases/{case_id}")
        expect(clerk.locator(".case-head .state")).to_have_text("待形式审查")

        office = users.login("office_zhang")
        open_from_inbox(office, number)
        act(office, "受理并发起会审", fill=lambda p: (p.get_by_label("市科技局").check(),
                                                 p.get_by_label("市农业农村局").check()))
        expect(office.locator(".case-head .state")).to_have_text("成员单位会审")

        keji = users.login("keji_zhao")
        open_from_inbox(keji, number)
        act(keji, "提交会审意见", fill=lambda p: p.get_by_label("同意", exact=True).check())

        # 市农业农村局 never answers: the 7-working-day opinion period runs out (reminded meanwhile)
        clock.move_to(START + timedelta(days=12))
        office = users.login("office_zhang")
        office.goto(f"{live_server}/cases/{case_id}")
        act(office, "结束会审")
        expect(office.locator("body")).to_contain_text("逾期视为无意见")
        panel = [("刘教授", "太原理工大学", (26, 18, 13, 13, 18)), ("陈高工", "市装备制造研究院", (28, 18, 14, 13, 18))]
        act(office, "录入专家评审", fill=lambda p: (fill_experts(p, panel),
                                                  p.fill("#f-expert_recommendation", "建议认定")))
        expect(office.locator("body")).to_contain_text("89.5")
        act(office, "提请领导小组审定")

        leader = users.login("leader_li")
        open_from_inbox(leader, number)
        act(leader, "审定通过", confirm=True)
        expect(leader.locator(".case-head .state")).to_have_text("公示中")

        # five working days of public notice, then the scheduler hands the notice to the office
        clock.move_to(START + timedelta(days=21))
        office = users.login("office_zhang")
        office.goto(f"{live_server}/cases/{case_id}")
        wait_for_state(office, "待印发认定通知")
        # the office reads the draft (watermarked, no number yet), then issues it: the number is taken now
        office.get_by_role("link", name="查看本案件待印发文书的草稿").click()
        expect(office.locator(".paper")).to_contain_text("关于认定盂县东风镇为市级专业镇的通知")
        expect(office.locator(".paper")).to_contain_text("阳专镇〔2026〕　　号")
        expect(office.locator(".paper .watermark")).to_have_text("草稿")
        ARTIFACTS.mkdir(exist_ok=True)
        office.screenshot(path=str(ARTIFACTS / "designation-notice-draft.png"), full_page=True)
        office.goto(f"{live_server}/cases/{case_id}")
        act(office, "编号并印发认定通知", confirm=True)
        expect(office.locator(".case-head .state")).to_have_text("已认定")
        expect(office.locator("body")).to_contain_text("阳专镇〔2026〕1号")

        office.goto(f"{live_server}/towns")
        row = office.locator("table.list tbody tr", has_text="东风镇")
        expect(row).to_contain_text("市级专业镇")
        expect(row).to_contain_text("阳专镇〔2026〕1号")
        office.screenshot(path=str(ARTIFACTS / "towns-after-designation.png"), full_page=True)
        row.get_by_role("link", name="东风镇").click()
        expect(office.locator("body")).to_contain_text("认定通知")

        # the other county sees none of it
        stranger = users.login("pd_clerk")
        response = stranger.goto(f"{live_server}/cases/{case_id}")
        assert response.status == 404
    with transaction(db) as s:
        from workflow.core.models import AuditEvent

        kinds = [e.trigger for e in s.exec(AuditEvent.__table__.select().where(
            AuditEvent.__table__.c.case_id == int(case_id)))]
    assert "publicity_end" in kinds and "conclude" in kinds and "issue_notice" in kinds


def test_returned_then_resubmitted(people, users, live_server):
    clerk = users.login("yx_clerk")
    clerk.goto(f"{live_server}/cases/new")
    case_id = fill_application(clerk, "西烟镇")
    submit_application(clerk)
    clerk.goto(f"{live_server}/cases/{case_id}")
    number = case_number(clerk)

    office = users.login("office_zhang")
    open_from_inbox(office, number)
    act(office, "退回补正", comment="请补充主导产品的市场占有率数据。")
    expect(office.locator(".case-head .state")).to_have_text("退回补正")

    clerk = users.login("yx_clerk")
    open_from_inbox(clerk, number)
    expect(clerk.locator("body")).to_contain_text("请补充主导产品的市场占有率数据。")
    clerk.goto(f"{live_server}/cases/{case_id}/application")
    clerk.fill("#f-output_yi", "13.20")
    submit_application(clerk)
    clerk.goto(f"{live_server}/cases/{case_id}")
    expect(clerk.locator(".case-head .state")).to_have_text("待形式审查")

    office = users.login("office_zhang")
    expect(office.get_by_role("link", name=number)).to_be_visible()


def test_rejected_by_the_leading_group(people, users, live_server, make, db):
    clerk = users.login("yx_clerk")
    clerk.goto(f"{live_server}/cases/new")
    case_id = fill_application(clerk, "牛村镇")
    submit_application(clerk)
    office = users.login("office_zhang")
    office.goto(f"{live_server}/cases/{case_id}")
    act(office, "受理并发起会审", fill=lambda p: p.get_by_label("市科技局").check())
    keji = users.login("keji_zhao")
    keji.goto(f"{live_server}/cases/{case_id}")
    act(keji, "提交会审意见", fill=lambda p: p.get_by_label("不同意").check(), comment="主导产业与邻县重复。")
    office = users.login("office_zhang")
    office.goto(f"{live_server}/cases/{case_id}")
    act(office, "结束会审")
    act(office, "录入专家评审", fill=lambda p: (fill_experts(p, [("王研究员", "省农科院", (15, 10, 10, 8, 12))]),
                                              p.fill("#f-expert_recommendation", "不建议认定")))
    act(office, "提请领导小组审定")

    leader = users.login("leader_li")
    leader.goto(f"{live_server}/cases/{case_id}")
    leader.locator("ul.actions").get_by_role("link", name="不予认定").click()
    leader.check("input[name=confirmed]")
    leader.locator("main form button[type=submit]").last.click()
    expect(leader.locator(".field-error")).to_contain_text("必须填写意见或理由")  # a reason is required
    leader.fill("#f-comment", "产业同质化，带动作用不足。")
    leader.check("input[name=confirmed]")
    leader.locator("main form button[type=submit]").last.click()
    expect(leader.locator(".case-head .state")).to_have_text("不予认定")
    expect(leader.locator("table.timeline")).to_contain_text("产业同质化，带动作用不足。")


def test_the_county_reads_the_expert_average_but_no_expert_or_official(users, people, make, db, now):
    """§3 of issue 14: at 审定 the county's case page shows the expert average, not the experts' names and
    scores, and no member unit's official; the office's shows them all."""
    from workflow.core.engine import fire

    case = make.case("designation", state="submitted", town=make.town("梁家寨乡"), by=people["county"],
                     data={"industry_category": "manufacturing", "leading_industry": "耐火材料", "output_yi": 12.5,
                           "leading_enterprises": [{"name": "盂县耐材集团"}], "supporting_enterprises": 12})
    steps = [("office", "accept", {"member_units": [people["keji"].unit_id]}, None),
             ("keji", "record_opinion", {"opinion": "disagree"}, "产值数据需核实"),
             ("office", "conclude", {}, None),
             ("office", "record_experts",
              {"experts": [{"name": "张评审", "score": 80}, {"name": "赵评审", "score": 91}],
               "expert_recommendation": "建议认定"}, None),
             ("office", "propose", {}, None)]
    for who, trigger, payload, comment in steps:
        with transaction(db) as s:
            fire(session=s, case_id=case.id, trigger=trigger, actor=make.actor(people[who]), now=now,
                 payload=payload, comment=comment)

    county = users.login("yx_clerk")
    county.goto(county.url.replace("/inbox", f"/cases/{case.id}"))
    expect(county.locator("#experts .expert-average")).to_have_text("85.5")
    expect(county.locator("#experts")).to_contain_text("专家姓名和评分仅限领导小组及其办公室查阅")
    expect(county.locator("#opinions")).to_contain_text("成员单位会审意见仅限领导小组及其办公室查阅")
    body = county.locator("body").inner_text()
    assert not [s for s in ("张评审", "赵评审", "产值数据需核实", "member用户") if s in body]
    screenshots(county, "confidential-county-case-page")

    office = users.login("office_zhang")
    office.goto(office.url.replace("/inbox", f"/cases/{case.id}"))
    expect(office.locator("#experts table")).to_contain_text("张评审")
    expect(office.locator("#opinions table")).to_contain_text("产值数据需核实")


def test_the_county_attaches_the_materials_on_the_form_and_the_office_sees_them_ticked(users, people):
    """§4 of issue 14: the 证明材料 are chosen on the application form before the first save; submit then passes
    and the office sees the checklist ticked."""
    county = users.login("yx_clerk")
    county.goto(county.url.replace("/inbox", "/cases/new/application"))
    expect(county.locator("#f-materials li[data-kind]")).to_have_count(8)
    screenshots(county, "materials-application-form")
    case_id = fill_application(county, "东风镇")
    expect(county.locator("#f-materials li.done")).to_have_count(4)
    submit_application(county)

    office = users.login("office_zhang")
    office.goto(office.url.replace("/inbox", f"/cases/{case_id}"))
    expect(office.locator("#materials li.done")).to_have_count(4)
    expect(office.locator("#materials li.done[data-kind=output_proof]")).to_contain_text("output_proof.pdf")
    expect(office.locator("#materials li.optional").first).to_be_visible()
    screenshots(office, "materials-office-case-page")
