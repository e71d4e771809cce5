"""A key project's quarterly update with the clock moved over a quarter's end: the update of the fourth quarter
is due ten working days after 31 December, with reminders 5, 1 and 0 working days before it sent by the real
sweep; once it passes the project is flagged overdue (list, API, case page) and the office is told; the county's
late update clears the flag and the first quarter's update falls due in April. A project with no stage change and
no new completed investment for more than two whole quarters is stalled; progress of either kind clears it."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine
from sqlmodel import col, select

from conftest import api_headers, login
from workflow.core.calendar import calendar_for
from workflow.core.db import transaction
from workflow.core.engine import fire
from workflow.core.models import Deadline, Notification
from workflow.core.sweep import sweep
from workflow.projects.ledger import ProjectFilters, create_project, project_page
from workflow.projects.rules import quarter_end, quarter_index, update_due

DAY = datetime(2026, 11, 27, 2, 0, tzinfo=UTC)


@pytest.fixture
def people(make):
    return {"county": make.user("county", county="盂县", username="yx_clerk"),
            "office": make.user("office", username="office_zhang"),
            "town": make.town("西烟镇", county="盂县")}


def _new(db, make, people, now=DAY, **data):
    with transaction(db) as s:
        return create_project(session=s, key="key_project", actor=make.actor(people["county"]), now=now,
                              town_id=people["town"].id, county_id=None,
                              data={"project_name": "石材深加工", "investment_planned": 5000, **data}).id


def _open(db, case_id):
    with transaction(db) as s:
        return list(s.exec(select(Deadline).where(Deadline.case_id == case_id, Deadline.status == "open")
                           .order_by(col(Deadline.due_at))))


def _notified(db, user_id):
    with transaction(db) as s:
        return [n.kind for n in s.exec(select(Notification).where(Notification.user_id == user_id)
                                       .order_by(col(Notification.id)))]


def test_the_fourth_quarter_update_is_reminded_flagged_when_missed_and_the_next_falls_due(app, db, make, people):
    case_id = _new(db, make, people)
    with transaction(db) as s:
        due = update_due(DAY.date(), calendar_for(s))
        calendar = calendar_for(s)
    assert quarter_end(quarter_index(DAY.date())) == date(2026, 12, 31)
    # ten working days after 31 December: 1 January is a holiday when the year's calendar is known
    assert due.isoformat() in ("2027-01-14", "2027-01-15")
    assert due == calendar.add_working_days(date(2026, 12, 31), 10)[0]
    rows = _open(db, case_id)
    assert [(r.kind, r.offset_days, r.due_date) for r in rows] == [
        ("reminder", 5, due.isoformat()), ("reminder", 1, due.isoformat()), ("reminder", 0, due.isoformat()),
        ("expiry", None, due.isoformat())]
    county, office = people["county"].id, people["office"].id
    for row in rows[:3]:  # the sweep at each reminder's moment, the clock on it
        with time_machine.travel(row.due_at, tick=False):
            assert sweep(db, now=row.due_at).reminders == 1
    assert _notified(db, county).count("reminder") == 3 and "reminder" not in _notified(db, office)

    passed = rows[3].due_at
    with time_machine.travel(passed + timedelta(hours=1), tick=False):
        assert sweep(db, now=passed + timedelta(hours=1)).expiries == 1
        assert "expired" in _notified(db, county) and "expired" in _notified(db, office)
        with transaction(db) as s:
            me = make.actor(people["county"])
            [row] = project_page(s, me, "key_project", ProjectFilters(), now=passed).items
            assert row.overdue and not row.stalled
        api = app.test_client()
        headers = api_headers(api, "yx_clerk")
        listed = api.get("/api/v1/projects/key", headers=headers).json["items"][0]
        assert listed["update_overdue"] is True
        login(client := app.test_client(), "yx_clerk")
        page = client.get(f"/cases/{case_id}").get_data(as_text=True)
        assert "季度更新逾期" in page
        # the county's late update: the flag goes, the first quarter's update is due in April
        made = api.post(f"/api/v1/projects/{case_id}/update", headers=headers,
                        json={"data": {"investment_completed": 800}, "expected_version": listed["version"]})
        assert made.status_code == 200, made.json
        assert made.json["data"]["report_due_date"].startswith("2027-04")
        again = api.get("/api/v1/projects/key", headers=headers).json["items"][0]
        assert again["update_overdue"] is False
    fresh = _open(db, case_id)
    assert {r.due_date for r in fresh} == {made.json["data"]["report_due_date"]} and len(fresh) == 4


def test_an_update_before_the_deadline_moves_it_to_the_next_quarter(db, make, people):
    case_id = _new(db, make, people)
    january = datetime(2027, 1, 6, 2, 0, tzinfo=UTC)  # the first quarter; the fourth's update still due
    with time_machine.travel(january, tick=False), transaction(db) as s:
        case = fire(session=s, case_id=case_id, trigger="update_project", actor=make.actor(people["county"]),
                    now=january, payload={"investment_completed": 100})
        assert case.data["report_due_date"] == update_due(date(2027, 3, 31), calendar_for(s)).isoformat()
        assert case.data["last_activity_date"] == "2027-01-06"


def test_a_project_without_progress_for_more_than_two_quarters_is_stalled(app, db, make, people):
    march = datetime(2026, 3, 2, 2, tzinfo=UTC)
    case_id = _new(db, make, people, now=march)  # progress counted from 2 March 2026 (Q1)
    me = make.actor(people["county"])

    def stalled(on: datetime) -> list[bool]:
        with transaction(db) as s:
            every = [r.stalled for r in project_page(s, me, "key_project", ProjectFilters(), now=on).items]
            only = project_page(s, me, "key_project", ProjectFilters(stalled=True), now=on).total
            assert only == sum(every)  # the SQL filter agrees with the flag
            return every

    assert stalled(datetime(2026, 9, 30, 2, tzinfo=UTC)) == [False]  # Q2 and Q3 without progress: not yet
    assert stalled(datetime(2026, 10, 1, 2, tzinfo=UTC)) == [True]  # Q2, Q3 whole and Q4 begun: more than two
    with time_machine.travel(DAY, tick=False):
        login(client := app.test_client(), "yx_clerk")
        assert 'class="badge bad stalled"' in client.get("/projects/key?stalled=1").get_data(as_text=True)
        assert "停滞项目" in client.get(f"/cases/{case_id}").get_data(as_text=True)
    with transaction(db) as s:  # an update that completes no new investment is no progress
        fire(session=s, case_id=case_id, trigger="update_project", actor=me, now=DAY, payload={"support": "无"})
    assert stalled(DAY) == [True]
    with transaction(db) as s:  # a stage change is
        fire(session=s, case_id=case_id, trigger="sign", actor=me, now=DAY, payload={"signed_date": "2026-11-20"})
    assert stalled(DAY) == [False]
    assert stalled(datetime(2027, 6, 30, 2, tzinfo=UTC)) == [False]  # progress in Q4 2026; Q1, Q2 2027 without
    assert stalled(datetime(2027, 7, 1, 2, tzinfo=UTC)) == [True]
    with transaction(db) as s:  # and so is new completed investment
        fire(session=s, case_id=case_id, trigger="update_project", actor=me, now=DAY,
             payload={"investment_completed": 50})
    assert stalled(datetime(2027, 7, 1, 2, tzinfo=UTC)) == [True]  # counted on the day it was made: 27 November
    with transaction(db) as s:
        fire(session=s, case_id=case_id, trigger="update_project", actor=me, now=datetime(2027, 5, 5, 2, tzinfo=UTC),
             payload={"investment_completed": 90})
    assert stalled(datetime(2027, 9, 30, 2, tzinfo=UTC)) == [False]
