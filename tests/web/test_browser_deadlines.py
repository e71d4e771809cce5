"""Deadlines always in sight (issue 14 §1), in Debian's Chromium: orders are issued, the clock moves past a real
deadline and the real scheduler makes one order overdue; the county's 我的待办 lists it first with its due date
and a red badge 已逾期 N 个工作日, the board does the same for the office, and the order's page says what happens
when its deadline passes. Screenshots at 1366 and 390 px are kept under test-artifacts/."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest
import time_machine
from browsing import keep_files_being_written, shots
from browsing import open_as as login
from playwright.sync_api import expect

from workflow.core.calendar import LOCAL_TZ

pytestmark = [pytest.mark.browser, pytest.mark.slow]
THURSDAY = datetime(2026, 12, 3, 10, 0, tzinfo=LOCAL_TZ).astimezone(UTC)  # orders issued Friday 27 November
RED = "rgb(179, 38, 30)"


@pytest.fixture
def scheduler(app, monkeypatch):
    from webapp.cli import _scheduler

    app.config["SWEEP_SECONDS"] = 1
    keep_files_being_written(monkeypatch)
    app.config["STATISTICS_DATE"] = "12-31"  # last year's statistics reports (not this test's) are not opened yet
    app.config["EVALUATION_DATE"] = "12-31"  # nor last year's evaluation
    started = []

    def start():
        running = _scheduler(app, background=True)
        running.start()
        started.append(running)

    yield start
    for running in started:
        running.shutdown(wait=True)  # a job still running holds a connection the app is about to close


def test_an_overdue_order_heads_the_county_inbox_in_red_with_its_due_date(make, browser, live_server, scheduler):
    office = make.user("office", username="office_zhang")
    make.user("county", county="盂县", username="yx_clerk")
    town = make.town("东风镇", county="盂县")
    orders = {name: make.case("rectification", town=town, by=office,
                              data={"problem": f"{name}：台账不全", **({"due_date": due} if due else {})})
              for name, due in (("later", None), ("soon", "2026-12-04"), ("passed", "2026-12-01"))}
    with time_machine.travel(THURSDAY, tick=True):
        scheduler()
        context, clerk = login(browser, live_server, "yx_clerk")
        rows = clerk.locator("table.list tbody tr")
        for _ in range(80):  # the scheduler's sweep makes the order overdue within a second or two
            if "已逾期" in rows.first.inner_text():
                break
            clerk.wait_for_timeout(250)
            clerk.reload()
        # overdue first, then the soonest due, then the rest
        numbers = [orders[k].number for k in ("passed", "soon", "later")]
        expect(rows.locator("td:first-child")).to_have_text(numbers)
        first = rows.first
        expect(first).to_contain_text("逾期未整改")
        expect(first.locator("td.due .due-date")).to_have_text("2026-12-01")
        badge = first.locator("td.due .badge")
        expect(badge).to_have_text("已逾期 2 个工作日")
        expect(badge).to_have_css("background-color", RED)
        expect(rows.nth(1).locator("td.due")).to_contain_text("剩余 1 个工作日")
        shots(clerk, "deadlines-inbox-county")

        # the order's page: the deadline by name, its date, how late, and what passing it means
        first.get_by_role("link", name=orders["passed"].number).click()
        card = clerk.locator("li.deadline")
        expect(card).to_contain_text("整改期限：2026-12-01")
        expect(card.locator(".badge")).to_have_text("已逾期 2 个工作日")
        expect(card.locator(".expiry-text")).to_have_text("逾期未整改的，转为逾期未整改并可予通报批评")
        expect(clerk.locator("ul.actions")).to_contain_text("提交整改报告")  # the county can still act
        shots(clerk, "deadlines-case-overdue")
        context.close()

        context, desk = login(browser, live_server, "office_zhang")
        desk.goto(f"{live_server}/supervision")
        board = desk.locator("table.list tbody tr")
        expect(board.locator("td:first-child")).to_have_text(numbers)
        expect(board.first.locator("td.due-date")).to_have_text("2026-12-01")
        expect(board.first.locator(".badge").first).to_have_text("已逾期 2 个工作日")
        shots(desk, "deadlines-board-office")
        context.close()


def test_a_criticised_order_stays_on_top_of_the_board_in_red(make, db, browser, live_server, scheduler):
    """After the deadline passed, the office drafted a criticism and the leader issued it: the order is still
    overdue, so the board keeps its due date and its red count of working days, above the running orders."""
    from workflow.core.db import transaction
    from workflow.core.engine import fire

    office = make.user("office", username="office_zhang")
    leader = make.user("leader", username="leader_li")
    town = make.town("东风镇", county="盂县")
    orders = {name: make.case("rectification", town=town, by=office,
                              data={"problem": f"{name}：台账不全", "due_date": due})
              for name, due in (("soon", "2026-12-04"), ("passed", "2026-11-30"), ("criticised", "2026-12-01"))}
    with time_machine.travel(THURSDAY, tick=True):
        scheduler()
        for _ in range(80):  # the scheduler's sweep makes the two passed orders overdue
            with transaction(db) as s:
                if all(s.get(type(orders[k]), orders[k].id).state == "overdue" for k in ("passed", "criticised")):
                    break
            time.sleep(0.25)
        now = datetime.now(UTC)
        with transaction(db) as s:
            fire(session=s, case_id=orders["criticised"].id, trigger="criticise", actor=make.actor(office),
                 now=now, comment="逾期未整改，台账仍不全")
        with transaction(db) as s:
            fire(session=s, case_id=orders["criticised"].id, trigger="approve_criticism",
                 actor=make.actor(leader), now=now)
        context, desk = login(browser, live_server, "office_zhang")
        desk.goto(f"{live_server}/supervision")
        board = desk.locator("table.list tbody tr")
        expect(board.locator("td:first-child")).to_have_text(
            [orders[k].number for k in ("passed", "criticised", "soon")])
        criticised = board.nth(1)
        expect(criticised).to_contain_text("已通报批评")
        expect(criticised.locator("td.due-date")).to_have_text("2026-12-01")
        badge = criticised.locator(".badge").first
        expect(badge).to_have_text("已逾期 2 个工作日")
        expect(badge).to_have_css("background-color", RED)
        shots(desk, "deadlines-board-criticised")
        context.close()
