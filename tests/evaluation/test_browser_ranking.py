"""The published ranking in Debian's Chromium, as the leader and as a county: the chart drawn (a bar per town, its
groups stacked), the table in rank order with the outcomes, the praise notice; the page fits a phone's width.
Screenshots at 1366 and 390 px are kept under test-artifacts/ (ranking-*)."""

from __future__ import annotations

import pytest
import test_ranking
from browsing import open_as, shots
from playwright.sync_api import expect
from test_ranking import approved

from workflow.core.db import transaction
from workflow.core.models import User

pytestmark = [pytest.mark.browser, pytest.mark.slow]
world = test_ranking.world
TOWNS = ["甲镇", "乙镇", "丙镇", "丁镇", "戊镇"]


def test_the_leader_and_a_county_read_the_published_ranking(make, db, world, browser, live_server):
    _cases, ranking = approved(db, world)
    with transaction(db) as s:
        leader = s.get(User, world["leader"].user_id).username
    other = make.user("county", county="平定县", username="pd_clerk").username
    number = ranking.data["praise_notice"]["number"]
    for who, name in ((leader, "ranking-leader"), (other, "ranking-county")):
        context, page = open_as(browser, live_server, who)
        page.goto(f"{live_server}/evaluation/ranking")
        expect(page.get_by_role("heading", name="2026年度专业镇评价排名")).to_be_visible()
        chart = page.locator("#ranking-chart svg")
        expect(chart).to_be_visible()
        expect(chart.locator("g.town-bar")).to_have_count(5)
        assert chart.locator("rect.segment").count() >= 5
        rows = page.locator("#ranking-table tbody tr")
        expect(rows).to_have_count(5)
        assert [t.strip() for t in rows.locator("td:nth-child(3)").all_inner_texts()] == TOWNS
        assert [t.strip() for t in rows.locator("td:first-child").all_inner_texts()] == ["1", "2", "3", "4", "5"]
        expect(rows.nth(0)).to_contain_text("表扬")
        expect(rows.nth(4)).to_contain_text("督办")
        expect(page.locator("#praise-notice")).to_contain_text(number)
        if who == other:
            expect(page.locator("#ranking-table a")).to_have_count(0)  # none of 盂县's cases
        else:
            expect(page.locator("#ranking-table a")).to_have_count(5)
        shots(page, name, fits=True)
        context.close()
