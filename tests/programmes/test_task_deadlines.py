"""A task's periodic progress report through the real sweep, the clock moved over the 2026 National Day holiday and
a month boundary: the report on September is due by the 5th working day of October (13 October: 1–7 October off,
Saturday 10 October worked), reminded 3, 1 and 0 working days before, flagged late the day after; a late report is
still accepted, marked late, and the next month's report falls due. Then the office's 督办 with its own deadline,
overdue, the criticism notice drafted by the office and approved by the leader, and the task escalated into a
rectification order naming it."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import time_machine
from sqlmodel import select

from conftest import reload
from workflow.core.calendar import LOCAL_TZ
from workflow.core.db import transaction
from workflow.core.engine import fire
from workflow.core.errors import Unprocessable
from workflow.core.models import Case, Deadline, Notification, User
from workflow.core.settings import configure, settings
from workflow.core.sweep import sweep
from workflow.programmes import periods
from workflow.programmes.tasks import open_plan


def local(day: date, hour: int = 10) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=LOCAL_TZ).astimezone(UTC)


def _unit(db, user) -> int:
    with transaction(db) as s:
        return s.get(User, user.id).unit_id


def _step(db, actor, case_id, trigger, day, **kw):
    with time_machine.travel(local(day), tick=False), transaction(db) as s:
        return fire(session=s, case_id=case_id, trigger=trigger, actor=actor, now=datetime.now(UTC), **kw)


def test_report_day_setting():
    from workflow.core.calendar import DEFAULT_CALENDAR as cal
    assert periods.due_for_period("2026-09", cal) == date(2026, 10, 13)
    assert periods.due_for_period("2026-Q3", cal) == date(2026, 10, 13)
    assert periods.due_for_period("2026-11", cal) == date(2026, 12, 7)
    before = settings.task_report_day
    configure(task_report_day=1)
    try:
        assert periods.due_for_period("2026-09", cal) == date(2026, 10, 8)
    finally:
        configure(task_report_day=before)


def test_the_monthly_report_over_national_day_then_a_督办_to_the_leader_and_an_order(make, db):
    office, leader = make.user("office"), make.user("leader")
    county = make.user("county", county="盂县")
    kj = make.user("member", unit="市科技局")
    town = make.town("娘子关镇", county="盂县")
    o, ld, c = make.actor(office), make.actor(leader), make.actor(county)
    with time_machine.travel(local(date(2026, 9, 14)), tick=False), transaction(db) as s:
        plan = open_plan(s, actor=o, now=datetime.now(UTC), year=2026)
    task = {"programme": "innovation", "title": "建设娘子关镇创新服务平台", "lead_unit_id": _unit(db, kj),
            "units": [_unit(db, county)], "town_id": town.id, "target_text": "年内建成并投入运行",
            "report_cycle": "monthly"}
    _step(db, o, plan.id, "save_task", date(2026, 9, 14), payload={"task": task})
    _step(db, o, plan.id, "submit_plan", date(2026, 9, 14))
    _step(db, ld, plan.id, "approve_plan", date(2026, 9, 15))
    with transaction(db) as s:
        [case] = s.exec(select(Case).where(Case.definition_key == "plan_task")).all()
        reminders = sorted((d.offset_days, d.due_at) for d in s.exec(
            select(Deadline).where(Deadline.case_id == case.id, Deadline.kind == "reminder")))
    assert case.town_id == town.id and case.county_id == _unit(db, county)
    assert (case.data["report_period"], case.data["report_due_date"]) == ("2026-09", "2026-10-13")
    assert reminders == [(0, local(date(2026, 10, 13), 9)), (1, local(date(2026, 10, 12), 9)),
                         (3, local(date(2026, 10, 9), 9))]

    fired_on: dict[date, list[int]] = {}
    day = date(2026, 9, 16)
    while day <= date(2026, 10, 14):
        with time_machine.travel(local(day), tick=False):
            result = sweep(db, now=datetime.now(UTC))
        if result.total:
            fired_on[day] = [result.reminders, result.expiries]
        day += timedelta(days=1)
    assert fired_on == {date(2026, 10, 9): [1, 0], date(2026, 10, 12): [1, 0], date(2026, 10, 13): [1, 0],
                        date(2026, 10, 14): [0, 1]}
    assert reload(db, case.id).state == "late"
    with transaction(db) as s:
        told = s.exec(select(Notification.user_id, Notification.kind).where(Notification.case_id == case.id)).all()
    assert told.count((county.id, "reminder")) == 3 and (office.id, "expired") in told
    assert (kj.id, "reminder") not in told  # the lead unit sees the task; it is not the one reminded

    late = _step(db, c, case.id, "submit_report", date(2026, 10, 15), payload={"report": "平台场地已落实"})
    assert late.state == "in_progress" and late.data["reports"][-1]["late"] is True
    assert (late.data["report_period"], late.data["report_due_date"]) == ("2026-10", "2026-11-06")
    on_time = _step(db, c, case.id, "submit_report", date(2026, 11, 4), payload={"report": "设备采购完成"})
    assert on_time.state == "in_progress" and on_time.data["reports"][-1]["late"] is False
    assert on_time.data["report_due_date"] == "2026-12-07"
    with transaction(db) as s:
        open_rows = s.exec(select(Deadline.name, Deadline.due_date).where(
            Deadline.case_id == case.id, Deadline.kind == "expiry", Deadline.status == "open")).all()
    assert open_rows == [("report", "2026-12-07")]  # the deadline moved on with the period, once

    # 督办: its own deadline, overdue, a criticism notice to the leader, then an order
    try:
        _step(db, o, case.id, "supervise", date(2026, 11, 16), payload={"supervision_due_date": "2026-11-28"},
              comment="请于11月27日前完成平台设备安装调试")
        raise AssertionError("a Saturday is refused")
    except Unprocessable as refused:
        assert "2026-11-30" in str(refused)
    supervised = _step(db, o, case.id, "supervise", date(2026, 11, 16),
                       payload={"supervision_due_date": "2026-11-27"}, comment="请于11月27日前完成平台设备安装调试")
    assert supervised.state == "supervised" and supervised.data["supervisions"][0]["due_date"] == "2026-11-27"
    with time_machine.travel(local(date(2026, 11, 28)), tick=False):
        sweep(db, now=datetime.now(UTC))
    assert reload(db, case.id).state == "supervision_overdue"
    _step(db, o, case.id, "criticise", date(2026, 11, 30), comment="盂县未按期落实督办事项")
    assert _step(db, ld, case.id, "approve_criticism", date(2026, 12, 1)).state == "criticised"
    escalated = _step(db, o, case.id, "escalate", date(2026, 12, 2), payload={"due_date": "2026-12-31"},
                      comment="平台建设严重滞后")
    assert escalated.state == "escalated"
    order = reload(db, escalated.data["rectification_id"])
    assert order.definition_key == "rectification" and order.town_id == town.id
    assert order.data["source"] == "task" and order.data["task_id"] == case.id and order.state == "issued"


def test_a_task_without_a_town_cannot_become_an_order(make, db):
    office, leader, kj = make.user("office"), make.user("leader"), make.user("member", unit="市科技局")
    o, ld = make.actor(office), make.actor(leader)
    with time_machine.travel(local(date(2026, 9, 14)), tick=False), transaction(db) as s:
        plan = open_plan(s, actor=o, now=datetime.now(UTC), year=2026)
    task = {"programme": "innovation", "title": "组织校企合作对接会", "lead_unit_id": _unit(db, kj),
            "units": [_unit(db, kj)], "target_text": "全年4场", "report_cycle": "quarterly"}
    _step(db, o, plan.id, "save_task", date(2026, 9, 14), payload={"task": task})
    _step(db, o, plan.id, "submit_plan", date(2026, 9, 14))
    _step(db, ld, plan.id, "approve_plan", date(2026, 9, 15))
    with transaction(db) as s:
        [case] = s.exec(select(Case).where(Case.definition_key == "plan_task")).all()
    assert (case.data["report_period"], case.data["report_due_date"]) == ("2026-Q3", "2026-10-13")
    with time_machine.travel(local(date(2026, 10, 14)), tick=False):
        sweep(db, now=datetime.now(UTC))
    try:
        _step(db, o, case.id, "escalate", date(2026, 10, 15), payload={"due_date": "2026-11-30"}, comment="滞后")
        raise AssertionError("refused")
    except Unprocessable as refused:
        assert "names no town" in str(refused)


def test_a_member_unit_is_reminded_of_its_report_and_its_lead_unit_is_not(make, db):
    office, leader, ny = make.user("office"), make.user("leader"), make.user("member", unit="市农业农村局")
    sw = make.user("member", unit="市商务局")
    o, ld = make.actor(office), make.actor(leader)
    with time_machine.travel(local(date(2026, 9, 14)), tick=False), transaction(db) as s:
        plan = open_plan(s, actor=o, now=datetime.now(UTC), year=2026)
    task = {"programme": "market_expansion", "title": "组织参展", "lead_unit_id": _unit(db, sw),
            "units": [_unit(db, ny)], "target_text": "5场", "report_cycle": "monthly"}
    _step(db, o, plan.id, "save_task", date(2026, 9, 14), payload={"task": task})
    _step(db, o, plan.id, "submit_plan", date(2026, 9, 14))
    _step(db, ld, plan.id, "approve_plan", date(2026, 9, 15))
    with transaction(db) as s:
        [case] = s.exec(select(Case).where(Case.definition_key == "plan_task")).all()
    for day in (date(2026, 10, 9), date(2026, 10, 12), date(2026, 10, 13), date(2026, 10, 14)):
        with time_machine.travel(local(day), tick=False):
            sweep(db, now=datetime.now(UTC))
    _step(db, make.actor(ny), case.id, "submit_report", date(2026, 10, 15), payload={"report": "已参展1场"})
    with transaction(db) as s:
        told = s.exec(select(Notification.user_id, Notification.kind).where(Notification.case_id == case.id)).all()
    assert [k for u, k in told if u == ny.id].count("reminder") == 3
    assert (ny.id, "expired") in told and (office.id, "expired") in told
    assert [k for u, k in told if u == ny.id].count("event") == 1  # told as it opened; not again after its late report
    assert all(u != sw.id for u, _ in told)  # the lead unit reads the task, it is not chased
