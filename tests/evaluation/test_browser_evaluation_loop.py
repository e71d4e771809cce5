"""The year's evaluation from its opening to a 督办 order overdue, in Debian's Chromium, over five designated towns
with the clock moved and the real scheduler running: the evaluation opens on ZYZ_EVALUATION_DATE and not the day
before; the county fills one town's self-assessment on its form and the office accepts it on the case page; a
member unit gives its values on its form, another never answers for that town and at the scoring deadline the
sweep flags its values to the office, who enters one, sets a score with its reason and makes the scores final; the
office submits the ranking and the leader approves it, each ticking the confirmation; the ranking page lists the
five towns in order, the praise notice downloads as a .docx and shows on a praised town's record, the county's
inbox holds the 督办 orders of the two bottom towns, and once past its deadline the sweep makes one overdue.

What goes through the pages and what through the services: the first town (甲镇) goes through every page a person
uses (the county's form, the office's acceptance, the member unit's form, the office's entries and adjustment,
its final scores), and so do the ranking's submission and approval. The other four towns take the same steps
through the same services (`fire`, as the pages call it) with the clock of the moment: they only make the ranking
a ranking of five, and driving each through the browser would take minutes for nothing the first town does not
show. Screenshots at 1366 and 390 px are kept under test-artifacts/ (evaluation-loop-*)."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import time_machine
from browsing import keep_files_being_written, open_as, shots
from playwright.sync_api import expect
from sqlmodel import select

from workflow.core.actors import Actor
from workflow.core.calendar import LOCAL_TZ
from workflow.core.db import transaction
from workflow.core.engine import fire
from workflow.core.models import Case, Deadline, TownStatistics
from workflow.core.queries import registry_case
from workflow.evaluation import values as v
from workflow.evaluation.indicators import evaluation_spec
from workflow.evaluation.ranking import ranking_case

pytestmark = [pytest.mark.browser, pytest.mark.slow]
EVE = datetime(2027, 3, 31, 10, 0, tzinfo=LOCAL_TZ).astimezone(UTC)  # Wednesday, the day before the date
OPENING = datetime(2027, 4, 1, 10, 0, tzinfo=LOCAL_TZ).astimezone(UTC)  # ZYZ_EVALUATION_DATE, 04-01
JOBS = {"甲镇": "1000", "乙镇": "800", "丙镇": "600", "丁镇": "400", "戊镇": "100"}  # 市人社局's figure sets the order
ASSESSMENT = {"digital_projects": "3", "town_policy": "是", "training": "1200", "project_investment": "6",
              "business_environment": "是"}
FIGURES = {"output_yi": 30, "market_entities": 1100, "above_scale_firms": 7, "employees": 5200,
           "invention_patents": 12, "high_tech_firms": 3, "specialised_firms": 2, "key_projects": 4,
           "project_investment_yi": 6.8, "service_platforms": 2}
LAST_YEAR = {"output_yi": 25, "market_entities": 1000, "invention_patents": 10}


@pytest.fixture
def now() -> datetime:
    return EVE - timedelta(days=2)  # the people and towns are made then: their passwords are still young in June


@pytest.fixture
def scheduler(app, monkeypatch):
    """The real APScheduler (sweep every second, the yearly jobs on their dates), started once the clock is set."""
    from webapp.cli import _scheduler

    app.config["SWEEP_SECONDS"] = 1
    keep_files_being_written(monkeypatch)
    app.config["EVALUATION_DATE"] = "04-01"
    app.config["INSPECTION_DATE"] = app.config["STATISTICS_DATE"] = "12-31"  # campaigns that are not this test's
    started = []

    def start():
        running = _scheduler(app, background=True)
        running.start()
        started.append(running)
        return running

    yield start
    for running in started:
        running.shutdown(wait=True)  # a job still running holds a connection the app is about to close


@pytest.fixture
def world(make, db, now):
    people = {"office": make.user("office", username="office_zhang"),
              "leader": make.user("leader", username="leader_li"),
              "county": make.user("county", county="盂县", username="yx_clerk"),
              "keji": make.user("member", unit="市科技局", username="keji_zhao"),
              "renshe": make.user("member", unit="市人社局", username="renshe_wang"),
              "shichang": make.user("member", unit="市市场监管局", username="shichang_liu")}
    towns = {}
    for name in JOBS:
        town = towns[name] = make.town(name, county="盂县")
        with transaction(db) as s:
            record = registry_case(s, town.id)
            fire(session=s, case_id=record.id, trigger="designate", actor=Actor.system(), now=now,
                 payload={"designation_number": f"阳专镇〔2024〕{town.id}号", "designated_date": "2024-12-01",
                          "review_date": "2029-12-01", "industry_category": "manufacturing"})
            for year, figures in ((2025, LAST_YEAR), (2026, FIGURES)):  # the accepted statistics of both years
                s.add(TownStatistics(town_id=town.id, county_id=town.county_id, year=year,
                                     output_yi=figures["output_yi"], figures=figures, spec_version=1,
                                     report_case_id=record.id, accepted_at=now))
    return {"people": people, "actors": {k: make.actor(u) for k, u in people.items()}, "towns": towns}


def waited(check, what: str, seconds: float = 30):
    """What `check` returns once it is truthy (the scheduler works in its own thread)."""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        found = check()
        if found:
            return found
        time.sleep(0.2)
    raise AssertionError(f"never happened: {what}")


def evaluations(db) -> dict[str, Case]:
    with transaction(db) as s:
        cases = s.exec(select(Case).where(Case.definition_key == "evaluation_town")).all()
    return {c.title.split(" · ")[-1]: c for c in cases}


def step(db, actor, case_id: int, trigger: str, **kw) -> Case:
    """A step through the service the pages call, at the (moved) clock's time."""
    with transaction(db) as s:
        return fire(session=s, case_id=case_id, trigger=trigger, actor=actor, now=datetime.now(UTC), **kw)


def unit_values(unit: str) -> dict[str, str]:
    return {i.key: "是" if i.rule.kind == "yes_no" else "100" for i in v.provided_by(evaluation_spec(), unit)}


def leave(context) -> None:
    """Close a person's browser once its page has loaded everything: a response the closing cuts off (the icon)
    would leave the test server's file open."""
    for page in context.pages:
        page.wait_for_load_state("networkidle")
    context.close()


def act(page, step_label: str, *, confirm: bool = False) -> None:
    """Open a step from the case page's actions, tick its confirmation, do it; back on the case page."""
    page.locator("ul.actions").get_by_role("link", name=step_label).click()
    if confirm:
        page.check("input[name=confirmed]")
    page.locator("main form button[type=submit]").last.click()
    expect(page.locator(".flash.success")).to_contain_text(step_label)


def office_form(page, indicator: str, which: str, field: str, value: str, reason: str) -> None:
    """One of the office's forms in a row of the breakdown (补录数值 / 调整得分), filled and sent."""
    form = page.locator(f"tr[data-indicator={indicator}] details", has_text=which)
    form.locator("summary").click()
    form.locator(f"input[name={field}]").fill(value)
    form.locator("input[name=comment]").fill(reason)
    form.locator("button[type=submit]").click()
    expect(page.locator(".flash.success")).to_be_visible()


def test_the_year_s_evaluation_from_its_opening_to_an_overdue_supervision_order(world, db, browser, live_server,
                                                                                scheduler):
    actors, spec = world["actors"], evaluation_spec()
    with time_machine.travel(EVE, tick=True) as clock:
        # 1. the scheduler's yearly job: run at start the day before the date (nothing), then on the date
        running = scheduler()
        waited(lambda: running.get_job("yearly-evaluation").next_run_time.astimezone(LOCAL_TZ).date().isoformat()
               == "2027-04-01", "the yearly job ran at start")
        time.sleep(0.5)
        assert evaluations(db) == {}
        clock.move_to(OPENING)
        cases = waited(lambda: len(found := evaluations(db)) == 5 and found, "the evaluation opened on its date")
        with transaction(db) as s:
            ranking = ranking_case(s, 2026)
        assert ranking.state == "scoring"
        first = cases["甲镇"]

        # 2. the county fills 甲镇's self-assessment on its form; the other towns' through the service
        context, clerk = open_as(browser, live_server, "yx_clerk")
        rows = clerk.locator("table.list tbody tr")
        expect(rows.filter(has_text="2026年度评价")).to_have_count(5)
        clerk.get_by_role("link", name=first.number).click()
        clerk.locator("ul.actions").get_by_role("link", name="报送自评").click()
        for indicator in v.provided_by(spec, "county"):
            clerk.fill(f"#v-{indicator.key}", ASSESSMENT[indicator.key])
        for indicator in v.target_indicators(spec):
            clerk.fill(f"#target-{indicator.key}", "6000")
        clerk.fill("#text-scale", "主导产业产值稳步增长。")
        shots(clerk, "evaluation-loop-assess")
        clerk.check("input[name=confirmed]")
        clerk.locator("button[name=action][value=submit]").click()
        expect(clerk.locator(".flash.success")).to_contain_text("自评已报送")
        expect(clerk.locator(".case-head .state")).to_have_text("办公室审核自评")
        leave(context)
        county_values = {i.key: ASSESSMENT[i.key] for i in v.provided_by(spec, "county")}
        targets = {i.key: "6000" for i in v.target_indicators(spec)}
        for name, case in cases.items():
            if name != "甲镇":
                step(db, actors["county"], case.id, "submit_assessment",
                     payload={"assessment": county_values, "targets": targets})
                step(db, actors["office"], case.id, "accept_assessment")

        context, desk = open_as(browser, live_server, "office_zhang")
        desk.get_by_role("link", name=first.number).click()
        act(desk, "自评审核通过，交成员单位评分", confirm=True)
        expect(desk.locator(".case-head .state")).to_have_text("成员单位评分")
        leave(context)

        # 3. 市科技局 gives 甲镇's values on its form; 市人社局 never answers for 甲镇
        context, keji = open_as(browser, live_server, "keji_zhao")
        keji.get_by_role("link", name=first.number).click()
        keji.locator("ul.actions").get_by_role("link", name="提交本单位评价数值").click()
        for key, value in unit_values("市科技局").items():
            keji.fill(f"#v-{key}", value)
        keji.check("input[name=confirmed]")
        shots(keji, "evaluation-loop-unit-values")
        keji.get_by_role("button", name="提交评价数值").click()
        expect(keji.locator(".flash.success")).to_be_visible()
        leave(context)
        for name, case in cases.items():
            for unit, who in (("市科技局", "keji"), ("市市场监管局", "shichang"), ("市人社局", "renshe")):
                if name == "甲镇" and unit in ("市科技局", "市人社局"):
                    continue
                given = unit_values(unit) | ({"new_jobs": JOBS[name]} if unit == "市人社局" else {})
                step(db, actors[who], case.id, "give_unit_values", payload={"unit_values": given})

        # the scoring deadline passes: the sweep closes every town's scoring, 甲镇's with 市人社局's values missing
        with transaction(db) as s:
            due = s.exec(select(Deadline).where(Deadline.case_id == first.id, Deadline.name == "scoring",
                                                Deadline.kind == "expiry")).one().due_at
        clock.move_to(aware(due) + timedelta(hours=1))
        waited(lambda: {c.state for c in evaluations(db).values()} == {"office_review"}, "the scoring closed")
        assert evaluations(db)["甲镇"].data["units_not_answered"] == ["市人社局"]
        assert not any(c.data.get("units_not_answered") for n, c in evaluations(db).items() if n != "甲镇")

        context, desk = open_as(browser, live_server, "office_zhang")
        desk.goto(f"{live_server}/cases/{first.id}")
        expect(desk.locator(".case-head .state")).to_have_text("办公室复核评分")
        for key in ("new_jobs", "skills_training"):  # flagged, never scored 0
            missing = desk.locator(f"#evaluation tr[data-indicator={key}]")
            expect(missing).to_have_class("missing")
            expect(missing.locator(".badge.bad")).to_have_text("缺少")
        expect(desk.locator("#now-panel")).to_contain_text("市人社局")
        shots(desk, "evaluation-loop-missing-flagged")
        office_form(desk, "new_jobs", "补录数值", "value", "1000", "市人社局逾期未报，按县（区）就业台账补录")
        office_form(desk, "skills_training", "调整得分", "points", "4", "培训台账齐全，经办公室核实按满分计")
        office_form(desk, "rectified_on_time", "补录数值", "value", "100", "按系统汇总的整改记录")
        skills = desk.locator("#evaluation tr[data-indicator=skills_training]")
        expect(skills).to_contain_text("办公室调整为 4 分，理由：培训台账齐全，经办公室核实按满分计")
        expect(desk.locator("#evaluation tr[data-indicator=new_jobs]")).to_contain_text("办公室补录")
        shots(desk, "evaluation-loop-office-review")
        act(desk, "确定评分", confirm=True)
        expect(desk.locator(".case-head .state")).to_contain_text("评分已确定")
        for name, case in cases.items():
            if name != "甲镇":
                step(db, actors["office"], case.id, "enter_value", comment="按系统汇总的整改记录",
                     payload={"indicator": "rectified_on_time", "value": "100"})
                step(db, actors["office"], case.id, "finish_review")

        # 4. the office submits the ranking from the ranking page, the leader approves it there
        desk.goto(f"{live_server}/evaluation/ranking?year=2026")
        expect(desk.locator("#all-final")).to_contain_text("均已确定")
        act(desk, "报送排名结果", confirm=True)
        expect(desk.locator(".case-head .state")).to_have_text("排名待领导审定")
        leave(context)
        context, chief = open_as(browser, live_server, "leader_li")
        chief.goto(f"{live_server}/evaluation/ranking?year=2026")
        shots(chief, "evaluation-loop-ranking-submitted")
        act(chief, "审定并发布排名", confirm=True)
        expect(chief.locator(".case-head .state")).to_have_text("排名已审定发布")

        # 5. the ranking page: the five towns in order, the praise notice downloads as a .docx
        chief.goto(f"{live_server}/evaluation/ranking?year=2026")
        table = chief.locator("#ranking-table tbody tr")
        expect(table.locator("td:nth-child(3)")).to_have_text(list(JOBS))
        expect(table.locator("td:first-child")).to_have_text(["1", "2", "3", "4", "5"])
        expect(table.nth(0)).to_contain_text("表扬")
        expect(table.nth(4)).to_contain_text("督办")
        notice = chief.locator("#praise-notice")
        expect(notice).to_contain_text("阳专镇表〔2027〕1号")
        shots(chief, "evaluation-loop-ranking-published", fits=True)
        with chief.expect_download() as download:
            notice.get_by_role("link", name="下载").click()
        assert download.value.suggested_filename == "阳专镇表〔2027〕1号.docx"
        assert Path(download.value.path()).read_bytes()[:2] == b"PK"  # a Word document (a zip)
        leave(context)
        with transaction(db) as s:
            ranking = s.get(Case, ranking.id)
            record = registry_case(s, world["towns"]["甲镇"].id)
            orders = {name: s.get(Case, ranking.data["orders"][str(world["towns"][name].id)])
                      for name in ("丁镇", "戊镇")}
        assert set(ranking.data["orders"]) == {str(world["towns"][n].id) for n in ("丁镇", "戊镇")}

        # the county: the praise on 甲镇's record, the two 督办 orders in its inbox
        context, clerk = open_as(browser, live_server, "yx_clerk")
        inbox = clerk.locator("table.list tbody tr")
        for name, order in orders.items():
            expect(inbox.filter(has_text=order.number)).to_contain_text(f"督办：2026年度评价排名靠后 · {name}")
        shots(clerk, "evaluation-loop-county-inbox")
        clerk.goto(f"{live_server}/cases/{record.id}")
        expect(clerk.locator("main")).to_contain_text("2026年度评价第 1 名")
        expect(clerk.locator("main")).to_contain_text("受到表扬（阳专镇表〔2027〕1号）")
        clerk.goto(f"{live_server}/towns/{world['towns']['甲镇'].id}")  # the town's page: its copy of the notice
        with clerk.expect_download() as download:
            clerk.get_by_role("link", name="阳专镇表〔2027〕1号.docx").click()
        assert Path(download.value.path()).read_bytes()[:2] == b"PK"
        shots(clerk, "evaluation-loop-praised-town")
        leave(context)

        # past the order's deadline the sweep makes it overdue
        order = orders["戊镇"]
        with transaction(db) as s:
            due = s.exec(select(Deadline).where(Deadline.case_id == order.id,
                                                Deadline.kind == "expiry")).one().due_at
        clock.move_to(aware(due) + timedelta(days=1))
        waited(lambda: _state(db, order.id) == "overdue", "the order became overdue")
        context, clerk = open_as(browser, live_server, "yx_clerk")
        clerk.goto(f"{live_server}/cases/{order.id}")
        expect(clerk.locator(".case-head .state")).to_have_text("逾期未整改")
        # due Friday 28 May 2027, read on the Sunday after: late, though no working day has passed since
        expect(clerk.locator("li.deadline strong")).to_have_text("2027-05-28")
        expect(clerk.locator("li.deadline .badge.late")).to_have_text("已逾期 1 个工作日")
        shots(clerk, "evaluation-loop-order-overdue")
        leave(context)


def aware(moment: datetime) -> datetime:
    """A time read back from the database, in UTC (SQLite gives it back without its zone)."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _state(db, case_id: int) -> str:
    with transaction(db) as s:
        return s.get(Case, case_id).state
