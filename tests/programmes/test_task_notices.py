"""Who is told that a task has opened, and when: the member unit responsible for a task (brought in as a party as
the task is created) and the county of a county's task, once, as the leader's approval opens it; never the lead
unit, which only reads it; and not again when the task comes back in progress after a late report or a 督办."""

from __future__ import annotations

from datetime import UTC, date, datetime

import time_machine
from sqlmodel import select

from workflow.core.calendar import LOCAL_TZ
from workflow.core.db import transaction
from workflow.core.engine import fire
from workflow.core.models import Case, Notification, User
from workflow.core.sweep import sweep
from workflow.programmes.tasks import open_plan


def local(day: date, hour: int = 10) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=LOCAL_TZ).astimezone(UTC)


def _unit(db, user) -> int:
    with transaction(db) as s:
        return s.get(User, user.id).unit_id


def _step(db, actor, case_id, trigger, day, **kw):
    with time_machine.travel(local(day), tick=False), transaction(db) as s:
        return fire(session=s, case_id=case_id, trigger=trigger, actor=actor, now=datetime.now(UTC), **kw)


def _opened(db, case_id) -> list[tuple[int, str]]:
    """(user, source) of the "opened" notices of a task (in-app)."""
    with transaction(db) as s:
        return [(n.user_id, n.params.get("step", {}).get("zh") if isinstance(n.params.get("step"), dict)
                 else n.params.get("step")) for n in s.exec(select(Notification).where(
                     Notification.case_id == case_id, Notification.kind == "event")).all()]


def test_the_responsible_units_are_told_once_as_their_tasks_open(make, db):
    office, leader = make.user("office"), make.user("leader")
    ny, sw = make.user("member", unit="市农业农村局"), make.user("member", unit="市商务局")
    county = make.user("county", county="盂县")
    o, ld = make.actor(office), make.actor(leader)
    with time_machine.travel(local(date(2026, 9, 14)), tick=False), transaction(db) as s:
        plan = open_plan(s, actor=o, now=datetime.now(UTC), year=2026)
    task = {"programme": "market_expansion", "title": "组织参展", "lead_unit_id": _unit(db, sw),
            "units": [_unit(db, ny), _unit(db, county)], "target_text": "5场", "report_cycle": "monthly"}
    _step(db, o, plan.id, "save_task", date(2026, 9, 14), payload={"task": task})
    _step(db, o, plan.id, "submit_plan", date(2026, 9, 14))
    _step(db, ld, plan.id, "approve_plan", date(2026, 9, 15))
    with transaction(db) as s:
        cases = {c.data["responsible_unit_id"]: c for c in s.exec(select(Case).where(
            Case.definition_key == "plan_task")).all()}
    member_task, county_task = cases[_unit(db, ny)], cases[_unit(db, county)]

    told = _opened(db, member_task.id)
    assert [u for u, _ in told] == [ny.id]  # the member unit, brought in as the task was created; not the lead unit
    assert "已下达" in str(told[0][1])
    assert [u for u, _ in _opened(db, county_task.id)] == [county.id]

    # the member unit's report falls late and comes in late: back in progress, nobody told again it "opened"
    for day in (date(2026, 10, 13), date(2026, 10, 14)):
        with time_machine.travel(local(day), tick=False):
            sweep(db, now=datetime.now(UTC))
    with transaction(db) as s:
        assert s.get(Case, member_task.id).state == "late"
    back = _step(db, make.actor(ny), member_task.id, "submit_report", date(2026, 10, 15),
                 payload={"report": "已参展1场"})
    assert back.state == "in_progress"
    assert [u for u, _ in _opened(db, member_task.id)] == [ny.id]

    # the county's task under a 督办, lifted: back in progress, the county not told again
    _step(db, o, county_task.id, "supervise", date(2026, 9, 16), payload={"supervision_due_date": "2026-09-30"},
          comment="请加快进度")
    assert _step(db, o, county_task.id, "lift_supervision", date(2026, 9, 18)).state == "in_progress"
    steps = [step for u, step in _opened(db, county_task.id) if u == county.id]
    assert len(steps) == 2 and "已下达" in str(steps[0]) and "已下达" not in str(steps[1])  # opened; the 督办 notice
