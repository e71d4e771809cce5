"""Rolling re-designation in Debian's Chromium: two designated towns of 盂县 have their re-reviews open, one of them
past its review date (复核逾期 on the registry). The county confirms both on the case page's form, the office
forwards them with its opinion (the panel shows the criteria checked on the latest statistics and "尚无年度评价结果"),
and the leading group renews one — the registry shows its next review date and the badge is gone — and starts the
exit for the other, whose registry record moves to 拟撤销认定. Screenshots at 1366 and 390 px under test-artifacts/."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from browsing import open_as as login
from browsing import shots
from playwright.sync_api import expect
from sqlmodel import select

from workflow.core.actors import Actor
from workflow.core.db import transaction
from workflow.core.engine import fire
from workflow.core.models import TownStatistics
from workflow.core.queries import registry_case
from workflow.core.review import cycle_after
from workflow.designation.redesignation import open_due_reviews

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def designate(make, db, name, review: date, output: float):
    town = make.town(name, county="盂县", industry_category="manufacturing")
    with transaction(db) as s:
        record = registry_case(s, town.id)
        fire(session=s, case_id=record.id, trigger="designate", actor=Actor.system(), now=datetime.now(UTC),
             payload={"designation_number": f"阳专镇〔2023〕{town.id}号", "designated_date": "2023-12-01",
                      "review_date": review.isoformat(), "industry_category": "manufacturing"})
        s.add(TownStatistics(town_id=town.id, county_id=town.county_id, year=date.today().year - 1, output_yi=output,
                             figures={"output_yi": output}, spec_version=1, report_case_id=record.id,
                             accepted_at=datetime.now(UTC)))
    return town


def test_the_leading_group_renews_one_town_and_starts_the_exit_of_another(make, db, browser, live_server):
    make.user("county", county="盂县", username="yx_clerk")
    make.user("office", username="office_zhang")
    make.user("leader", username="leader_li")
    today = date.today()
    overdue_on = today - timedelta(days=10)
    kept = designate(make, db, "西烟镇", overdue_on, 12.5)
    leaving = designate(make, db, "梁家寨乡", today + timedelta(days=40), 6.2)
    with transaction(db) as s:
        reviews = {c.town_id: c for c in open_due_reviews(session=s, now=datetime.now(UTC), lead_days=90)}
    assert set(reviews) == {kept.id, leaving.id}

    context, clerk = login(browser, live_server, "yx_clerk")
    clerk.goto(f"{live_server}/towns")
    row = clerk.locator("table.list tbody tr", has_text="西烟镇")
    expect(row.locator(".review-overdue")).to_have_text("复核逾期")
    expect(clerk.locator("table.list tbody tr", has_text="梁家寨乡").locator(".review-overdue")).to_have_count(0)
    shots(clerk, "redesignation-registry-overdue")
    for town, names, supporting in ((kept, "阳泉华鑫机械有限公司", "18"), (leaving, "盂县晋粮农业开发有限公司", "4")):
        clerk.goto(f"{live_server}/cases/{reviews[town.id].id}")
        panel = clerk.locator("#now-panel")
        expect(panel.locator('[data-section="eligibility"]')).to_contain_text(f"依据 {today.year - 1} 年度统计")
        if town is kept:
            expect(panel.locator('[data-section="review"]')).to_contain_text("复核逾期")
            shots(clerk, "redesignation-county-confirm")
        panel.get_by_role("link", name="确认仍符合认定标准").click()
        clerk.fill("#f-confirmation", "主导产业保持稳定，龙头企业带动作用明显。")
        clerk.fill("#f-leading_enterprise_names", names)
        clerk.fill("#f-supporting_enterprises", supporting)
        clerk.check("input[name=confirmed]")
        clerk.get_by_role("button", name="确认仍符合认定标准").click()
        expect(clerk.locator(".flash.success")).to_contain_text("确认仍符合认定标准")
    context.close()

    context, desk = login(browser, live_server, "office_zhang")
    for town in (kept, leaving):
        desk.goto(f"{live_server}/cases/{reviews[town.id].id}")
        panel = desk.locator("#now-panel")
        expect(panel.locator('[data-section="evaluations"]')).to_contain_text("尚无年度评价结果")
        expect(panel.locator('[data-section="confirmation"]')).to_contain_text("龙头企业带动作用明显")
        verdict = "均已满足" if town is kept else "2 项未满足"
        expect(panel.locator('[data-section="eligibility"]')).to_contain_text(verdict)
        if town is leaving:
            shots(desk, "redesignation-office-review")
        panel.get_by_role("link", name="提请领导小组审定").click()
        desk.fill("#f-comment", "建议续期" if town is kept else "产值低于认定标准，建议启动退出程序")
        desk.get_by_role("button", name="提请领导小组审定").click()
        expect(desk.locator(".flash.success")).to_be_visible()
    context.close()

    context, leader = login(browser, live_server, "leader_li")
    leader.goto(f"{live_server}/cases/{reviews[kept.id].id}")
    expect(leader.locator('#now-panel [data-section="office_opinion"]')).to_contain_text("建议续期")
    shots(leader, "redesignation-leader-decision")
    leader.locator("#now-panel").get_by_role("link", name="续期认定").click()
    leader.check("input[name=confirmed]")
    leader.get_by_role("button", name="续期认定").click()
    expect(leader.locator(".flash.success")).to_contain_text("续期认定")
    expect(leader.locator(".state").first).to_contain_text("已续期认定")
    expect(leader.locator(".review-detail .new-review-date")).to_have_text(cycle_after(overdue_on).isoformat())

    leader.goto(f"{live_server}/cases/{reviews[leaving.id].id}")
    leader.locator("#now-panel").get_by_role("link", name="启动退出程序").click()
    leader.fill("#f-comment", "主导产业产值低于认定标准")
    leader.check("input[name=confirmed]")
    leader.get_by_role("button", name="启动退出程序").click()
    expect(leader.locator(".flash.success")).to_contain_text("启动退出程序")

    following = cycle_after(overdue_on)
    leader.goto(f"{live_server}/towns/{kept.id}")
    expect(leader.locator("dd.review-date")).to_contain_text(following.isoformat())
    expect(leader.locator("dd.review-date")).to_contain_text(f"经 {reviews[kept.id].number} 续期")
    expect(leader.locator(".review-overdue")).to_have_count(0)
    shots(leader, "redesignation-town-renewed")
    leader.goto(f"{live_server}/towns")
    expect(leader.locator("table.list tbody tr", has_text="梁家寨乡")).to_contain_text("拟撤销认定")
    expect(leader.locator(".review-overdue")).to_have_count(0)
    shots(leader, "redesignation-registry-after")
    context.close()
    with transaction(db) as s:
        record = registry_case(s, leaving.id)
        assert record.state == "revocation_proposed"
        assert reviews[leaving.id].number in record.data["revocation_reason"]
        assert s.exec(select(TownStatistics)).all()
