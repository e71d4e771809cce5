"""The dashboard in Debian's Chromium: the leading group opens 工作看板 from the menu and reads each target's bar,
the output lines and the supervision at a glance, each chart a picture with its table of figures beside it; a
county sees its own towns only; printed, the page fits one A4 sheet. Screenshots at 1366 and 390 px (and the
print layout) are kept under test-artifacts/ as dashboard-*."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from browsing import open_as as login
from browsing import shots
from playwright.sync_api import expect

from conftest import ARTIFACTS
from workflow.core.db import transaction
from workflow.core.models import Case, TownStatistics

pytestmark = [pytest.mark.browser, pytest.mark.slow]
NOW = datetime(2026, 11, 27, 2, 0, tzinfo=UTC)


@pytest.fixture
def towns(db, make):
    office = make.user("office", username="office_zhang")
    make.user("leader", username="leader_li")
    make.user("county", county="平定县", username="pd_clerk")
    made = {}
    for name, county, level, base in (("西烟镇", "盂县", "provincial", 60), ("路家村镇", "盂县", "municipal", 12),
                                      ("娘子关镇", "平定县", "municipal", 35), ("冠山镇", "平定县", "municipal", 48),
                                      ("荫营镇", "郊区", "candidate", 8)):
        town = made[name] = make.town(name, county=county)
        with transaction(db) as s:
            s.connection().execute(sa.update(Case.__table__).where(Case.__table__.c.town_id == town.id)
                                   .values(state=level))
            record = s.execute(sa.select(Case.id).where(Case.town_id == town.id)).scalar_one()
            for step, year in enumerate(range(2019, 2026)):
                output = round(base * 1.08 ** step, 2)
                brands = [{"name": f"{name}品牌", "level": "national"}] if year == 2025 and base > 40 else []
                standards = [{"name": f"{name}行业标准", "kind": "industry", "role": "lead"}] if year >= 2024 else []
                s.add(TownStatistics(town_id=town.id, county_id=town.county_id, year=year, output_yi=output,
                                     figures={"output_yi": output, "brands": brands, "standards": standards},
                                     spec_version=1, report_case_id=record, accepted_at=NOW))
    for town, state in (("西烟镇", "rectifying"), ("娘子关镇", "overdue"), ("冠山镇", "criticised"),
                        ("冠山镇", "issued")):
        make.case("rectification", state=state, town=made[town], by=office, data={"problem": "台账不全"})
    return made


def pdf_pages(pdf: bytes) -> int:
    """The page count of Chromium's PDF: the /Count of its page tree."""
    counts = [int(n) for n in re.findall(rb"/Count (\d+)", pdf)]
    assert counts, "no page tree in the PDF"
    return max(counts)


def test_the_leader_reads_the_dashboard_and_prints_it_on_one_a4_page(browser, live_server, towns):
    context, page = login(browser, live_server, "leader_li")
    page.get_by_role("link", name="工作看板").click()
    page.get_by_role("link", name="2023-2025").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("工作看板")
    expect(page.locator("svg.chart[role=img]")).to_have_count(5)  # the fifth: 三个一批
    expect(page.locator("table.figures")).to_have_count(4)
    targets = page.locator("table.figures").first
    expect(targets.locator("tbody tr")).to_have_count(5)
    # 2025, each town's 1.08⁶ times its base to two places: 95.21 + 19.04 + 55.54 + 76.17 + 12.69
    expect(targets.locator("tr", has_text="工业总产值")).to_contain_text("258.65 亿元 (2025)")
    expect(targets.locator("tr", has_text="省级专业镇")).to_contain_text("未完成")
    expect(targets.locator("tr", has_text="国内外知名集群品牌")).to_contain_text("已完成")
    expect(page.locator("svg.chart").first.locator("title")).to_have_text(re.compile("各项目标完成率"))
    expect(page.locator(".glance")).to_contain_text("未办结整改通知")
    orders = page.locator("table.figures").nth(3)
    expect(orders.locator("tr", has_text="平定县")).to_contain_text("67%")  # two of its three open orders overdue
    shots(page, "dashboard-leader")

    page.emulate_media(media="print")
    expect(page.locator(".topbar")).to_be_hidden()
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "dashboard-print.png"), full_page=True)
    pdf = page.pdf(format="A4", print_background=True)
    (ARTIFACTS / "dashboard-print.pdf").write_bytes(pdf)
    assert pdf_pages(pdf) == 1
    context.close()


def test_a_county_sees_its_own_towns_only(browser, live_server, towns):
    context, page = login(browser, live_server, "pd_clerk")
    page.get_by_role("link", name="工作看板").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("工作看板 · 平定县")
    expect(page.locator("main")).not_to_contain_text("盂县")
    expect(page.locator("svg.chart[role=img]")).to_have_count(4)  # no lines by county for one county; 三个一批
    targets = page.locator("table.figures").first
    expect(targets.locator("tr", has_text="市级专业镇")).to_contain_text("2 个")
    shots(page, "dashboard-county")
    page.emulate_media(media="print")
    assert pdf_pages(page.pdf(format="A4")) == 1
    context.close()
