"""Deadlines counted on an estimate are counted again when their year's holidays are entered or changed.

A rectification order issued on Friday 27 November 2026 runs 30 working days. With 2027 unknown it is counted
with weekends only and falls on Friday 8 January 2027 (推算); once 2027 is entered with New Year's Day off, it
falls on Monday 11 January.
"""

import json
from datetime import UTC, date, datetime, time, timedelta

import pytest
import time_machine
from sqlmodel import select

from conftest import COMPLETE_APPLICATION, csrf_token, login, reload
from workflow.core.actors import Actor
from workflow.core.calendar import local_moment
from workflow.core.calendar_admin import enter_year
from workflow.core.db import transaction
from workflow.core.engine import fire
from workflow.core.errors import Unprocessable
from workflow.core.models import AuditEvent, Deadline, Notification
from workflow.core.sweep import sweep

NEW_YEAR_2027 = "2027-01-01 休 元旦\n"
NINE = time(9, 0)


def local(day: date, hour: int = 10) -> datetime:
    """`hour` o'clock in Yangquan on `day`, as a UTC moment."""
    return local_moment(day, time(hour, 0))


def open_rows(db, case_id) -> dict[tuple[str, int | None], Deadline]:
    """The case's open rows by kind and reminder offset."""
    with transaction(db) as s:
        rows = s.exec(select(Deadline).where(Deadline.case_id == case_id, Deadline.status == "open")).all()
    return {(r.kind, r.offset_days): r for r in rows}


def moments(rows: dict[tuple[str, int | None], Deadline]) -> dict[tuple[str, int | None], tuple[str, datetime, bool]]:
    return {key: (r.due_date, r.due_at, r.is_estimated) for key, r in rows.items()}


def recount_events(db, case_id) -> list[dict]:
    with transaction(db) as s:
        events = s.exec(select(AuditEvent).where(AuditEvent.case_id == case_id,
                                                 AuditEvent.kind == "deadline_recounted").order_by(AuditEvent.seq))
        return [{"role": e.role, "county_id": e.county_id, **json.loads(e.data)} for e in events]


def recount_notices(db, case_id) -> dict[int, dict]:
    with transaction(db) as s:
        found = s.exec(select(Notification).where(Notification.case_id == case_id,
                                                  Notification.kind == "deadline_recounted")).all()
    return {n.user_id: n.params for n in found}


@pytest.fixture
def people(make):
    return {"county": make.user("county"), "office": make.user("office"), "admin": make.user("admin")}


def _order(make, people, **data):
    return make.case("rectification", data={"problem": "台账不全", **data}, by=people["office"])


ESTIMATED = {  # the order counted with weekends only: 2027-01-08, reminders 7, 3, 1, 0 working days before
    ("expiry", None): ("2027-01-08", local_moment(date(2027, 1, 9)), True),
    ("reminder", 7): ("2027-01-08", local_moment(date(2026, 12, 30), NINE), True),  # New Year's Day counted
    ("reminder", 3): ("2027-01-08", local_moment(date(2027, 1, 5), NINE), True),
    ("reminder", 1): ("2027-01-08", local_moment(date(2027, 1, 7), NINE), True),
    ("reminder", 0): ("2027-01-08", local_moment(date(2027, 1, 8), NINE), True),
}
COUNTED = {  # the same order with New Year's Day off: 2027-01-11
    ("expiry", None): ("2027-01-11", local_moment(date(2027, 1, 12)), False),
    ("reminder", 7): ("2027-01-11", local_moment(date(2026, 12, 30), NINE), False),
    ("reminder", 3): ("2027-01-11", local_moment(date(2027, 1, 6), NINE), False),
    ("reminder", 1): ("2027-01-11", local_moment(date(2027, 1, 8), NINE), False),
    ("reminder", 0): ("2027-01-11", local_moment(date(2027, 1, 11), NINE), False),
}


def test_zyz_calendar_import_moves_an_estimated_order_to_the_right_working_day(make, db, people, run_zyz,
                                                                              tmp_path):
    order = _order(make, people)
    with transaction(db) as s:  # the county acknowledges: the rectifying state reads the date the order holds
        fire(session=s, case_id=order.id, trigger="acknowledge", actor=make.actor(people["county"]),
             now=local(date(2026, 11, 30)))
    assert moments(open_rows(db, order.id)) == ESTIMATED
    before = reload(db, order.id)
    table = tmp_path / "2027.txt"
    table.write_text(NEW_YEAR_2027, encoding="utf-8")

    with time_machine.travel(local(date(2026, 12, 4)), tick=False):
        done = run_zyz("calendar", "import", "2027", str(table))
    assert done.exit_code == 0, done.output
    assert "1 days entered; 1 open deadlines counted again" in done.output

    rows = open_rows(db, order.id)
    assert moments(rows) == COUNTED
    assert {r.state for r in rows.values()} == {"rectifying"}
    after = reload(db, order.id)
    assert after.data["due_date"] == "2027-01-11" and after.version == before.version + 1
    assert after.updated_at == local(date(2026, 12, 4))
    with transaction(db) as s:  # the issued state's rows, closed on acknowledgement, keep what they were
        closed = s.exec(select(Deadline).where(Deadline.case_id == order.id, Deadline.state == "issued")).all()
    assert {(r.due_date, r.is_estimated, r.status) for r in closed} == {("2027-01-08", True, "closed")}

    [event] = recount_events(db, order.id)
    assert event["role"] == "system" and event["county_id"] == order.county_id
    assert {k: event[k] for k in ("deadline", "label", "label_en", "state", "from", "to", "was_estimated",
                                  "is_estimated", "calendar_year", "entered_by", "field")} == {
        "deadline": "rectify", "label": "整改期限", "label_en": "Rectification deadline", "state": "rectifying",
        "from": "2027-01-08", "to": "2027-01-11", "was_estimated": True, "is_estimated": False,
        "calendar_year": 2027, "entered_by": "系统", "field": "due_date"}
    assert sorted(event["deadline_ids"]) == sorted(r.id for r in rows.values())
    # the 7-day reminder falls on 30 December either way: only its deadline's date changes, so it is not listed
    assert event["reminders"] == [{"days_before": 3, "from": "2027-01-05 09:00", "to": "2027-01-06 09:00"},
                                  {"days_before": 1, "from": "2027-01-07 09:00", "to": "2027-01-08 09:00"},
                                  {"days_before": 0, "from": "2027-01-08 09:00", "to": "2027-01-11 09:00"}]

    told = recount_notices(db, order.id)
    assert set(told) == {people["county"].id, people["office"].id}
    assert told[people["county"].id] == {
        "number": order.number, "title": order.title, "deadline": "整改期限", "deadline_en": "Rectification deadline",
        "old_due_date": "2027-01-08", "due_date": "2027-01-11", "was_estimated": True, "year": 2027}

    # The county is not overdue on the Saturday after the estimated date, but after Monday 11 January.
    assert sweep(db, now=local(date(2027, 1, 9))).expiries == 0
    assert reload(db, order.id).state == "rectifying"
    assert sweep(db, now=local(date(2027, 1, 12))).expiries == 1
    assert reload(db, order.id).state == "overdue"


def test_a_reminder_already_sent_stays_sent_and_is_not_sent_again(make, db, people):
    order = _order(make, people)
    # 7 and 3 working days before 2027-01-08, each sent at its moment
    assert [sweep(db, now=local(day)).reminders for day in (date(2026, 12, 30), date(2027, 1, 5))] == [1, 1]
    with transaction(db) as s:  # the year entered late, on the morning of 5 January
        enter_year(s, year=2027, text=NEW_YEAR_2027, actor=make.actor(people["admin"]),
                   now=local(date(2027, 1, 5), 11))
    with transaction(db) as s:
        sent = s.exec(select(Deadline).where(Deadline.case_id == order.id, Deadline.status == "fired")).all()
    assert {r.offset_days: (r.due_date, r.due_at, r.is_estimated) for r in sent} == {
        7: ("2027-01-08", local_moment(date(2026, 12, 30), NINE), True),
        3: ("2027-01-08", local_moment(date(2027, 1, 5), NINE), True)}
    assert moments(open_rows(db, order.id)) == {k: v for k, v in COUNTED.items() if k[1] not in (7, 3)}
    [event] = recount_events(db, order.id)
    assert [r["days_before"] for r in event["reminders"]] == [1, 0]
    # 6 January, when the 3-day reminder would fall now, brings no second one
    assert sweep(db, now=local(date(2027, 1, 6))).reminders == 0


def test_a_date_given_by_the_office_stays_and_its_reminder_leaves_the_holiday(make, db, people):
    order = _order(make, people, due_date="2027-01-04")  # a Monday; the Friday before is New Year's Day
    given = {
        ("expiry", None): ("2027-01-04", local_moment(date(2027, 1, 5)), True),
        ("reminder", 7): ("2027-01-04", local_moment(date(2026, 12, 24), NINE), True),
        ("reminder", 3): ("2027-01-04", local_moment(date(2026, 12, 30), NINE), True),
        ("reminder", 1): ("2027-01-04", local_moment(date(2027, 1, 1), NINE), True),
        ("reminder", 0): ("2027-01-04", local_moment(date(2027, 1, 4), NINE), True),
    }
    assert moments(open_rows(db, order.id)) == given
    with transaction(db) as s:
        enter_year(s, year=2027, text=NEW_YEAR_2027, actor=make.actor(people["admin"]), now=local(date(2026, 12, 4)))

    assert moments(open_rows(db, order.id)) == {
        ("expiry", None): ("2027-01-04", local_moment(date(2027, 1, 5)), False),
        ("reminder", 7): ("2027-01-04", local_moment(date(2026, 12, 23), NINE), False),
        ("reminder", 3): ("2027-01-04", local_moment(date(2026, 12, 29), NINE), False),
        ("reminder", 1): ("2027-01-04", local_moment(date(2026, 12, 31), NINE), False),  # no longer on the holiday
        ("reminder", 0): ("2027-01-04", local_moment(date(2027, 1, 4), NINE), False),
    }
    after = reload(db, order.id)
    assert after.data["due_date"] == "2027-01-04" and after.version == order.version
    [event] = recount_events(db, order.id)
    assert (event["from"], event["to"], event["was_estimated"], event["is_estimated"]) == (
        "2027-01-04", "2027-01-04", True, False)
    assert "field" not in event
    assert recount_notices(db, order.id) == {}  # the date stands: nobody is told of a new one


def test_the_admin_page_recounts_and_the_case_shows_the_date_it_had(make, app, client, db, people):
    order = _order(make, people)
    with time_machine.travel(local(date(2026, 12, 4)), tick=False):
        login(client, people["admin"].username)
        token = csrf_token(client, "/admin/calendar/2027")
        entered = client.post("/admin/calendar/2027", data={"days": NEW_YEAR_2027, "csrf_token": token},
                              follow_redirects=True)
    assert entered.status_code == 200
    assert "已按新的节假日表重新计算 1 个未到期的期限" in entered.get_data(as_text=True)
    assert moments(open_rows(db, order.id)) == COUNTED
    [event] = recount_events(db, order.id)
    assert event["entered_by"] == people["admin"].display_name

    county = app.test_client()
    login(county, people["county"].username)
    page = county.get(f"/cases/{order.id}").get_data(as_text=True)
    assert "整改期限按 2027 年节假日安排重新计算：" in page
    assert "2027-01-08 (推算) → 2027-01-11" in page
    notices = county.get("/notifications").get_data(as_text=True)
    assert (f"{order.number} {order.title} —— 2027 年节假日安排已录入：整改期限原推算为 2027-01-08，"
            "重新计算后为 2027-01-11。") in notices


def test_changing_an_entered_year_moves_only_the_deadlines_whose_count_crosses_a_changed_day(make, db, people):
    admin = make.actor(people["admin"])
    with transaction(db) as s:
        enter_year(s, year=2027, text=NEW_YEAR_2027, actor=admin, now=local(date(2026, 11, 26)))
    order = _order(make, people)
    assert moments(open_rows(db, order.id)) == COUNTED

    with transaction(db) as s:  # National Day changed: the order's 30 working days do not reach October
        moved = enter_year(s, year=2027, text=NEW_YEAR_2027 + "2027-10-08 休\n", actor=admin,
                           now=local(date(2026, 12, 1)))
    assert moved.recounted == 0 and recount_events(db, order.id) == []
    assert moments(open_rows(db, order.id)) == COUNTED

    with transaction(db) as s:  # Monday 4 January off as well: one more day
        moved = enter_year(s, year=2027, text=NEW_YEAR_2027 + "2027-01-04 休\n", actor=admin,
                           now=local(date(2026, 12, 2)))
    assert moved.recounted == 1
    rows = open_rows(db, order.id)
    assert moments(rows)[("expiry", None)] == ("2027-01-12", local_moment(date(2027, 1, 13)), False)
    [event] = recount_events(db, order.id)
    assert (event["from"], event["to"], event["was_estimated"]) == ("2027-01-11", "2027-01-12", False)
    told = recount_notices(db, order.id)
    assert told[people["county"].id]["old_due_date"] == "2027-01-11"
    assert told[people["county"].id]["was_estimated"] is False


def test_a_counted_deadline_without_a_field_moves_and_the_case_data_stays(make, db, people, isolated_catalog):
    """The revision deadline of a returned application: 10 working days, held only by the deadline rows."""
    now = local(date(2026, 12, 24))  # a Thursday
    case = make.case("designation", by=people["county"], data=COMPLETE_APPLICATION)
    with transaction(db) as s:
        fire(session=s, case_id=case.id, trigger="submit", actor=make.actor(people["county"]), now=now)
        fire(session=s, case_id=case.id, trigger="return_for_revision", actor=make.actor(people["office"]), now=now,
             comment="缺少证明材料")
    before = reload(db, case.id)
    # a restarted process whose files have moved on: the case's definition version is read back from the database
    isolated_catalog._versions.pop(("designation", before.definition_version))
    assert moments(open_rows(db, case.id))[("expiry", None)] == ("2027-01-07", local_moment(date(2027, 1, 8)), True)
    with transaction(db) as s:
        enter_year(s, year=2027, text=NEW_YEAR_2027, actor=make.actor(people["admin"]), now=now + timedelta(hours=1))
    rows = open_rows(db, case.id)
    assert moments(rows)[("expiry", None)] == ("2027-01-08", local_moment(date(2027, 1, 9)), False)
    assert (rows[("expiry", None)].counted_from, rows[("expiry", None)].working_days) == ("2026-12-24", 10)
    after = reload(db, case.id)
    assert (after.data, after.version) == (before.data, before.version)
    assert set(recount_notices(db, case.id)) == {people["county"].id, people["office"].id}
    [event] = recount_events(db, case.id)
    assert (event["label"], event["label_en"], "field" in event) == ("补正期限", "Revision deadline", False)


def test_a_deadline_of_another_year_is_left_alone(make, db, people):
    order = _order(make, people)
    later = _order(make, people, due_date="2027-03-01")  # a date given in a year still unknown (a Monday)
    with transaction(db) as s:
        moved = enter_year(s, year=2028, text="2028-01-03 休\n", actor=make.actor(people["admin"]),
                           now=local(date(2026, 12, 4)))
    assert moved.recounted == 0
    assert moments(open_rows(db, order.id)) == ESTIMATED
    assert {(r.due_date, r.is_estimated) for r in open_rows(db, later.id).values()} == {("2027-03-01", True)}
    for case in (order, later):
        assert recount_events(db, case.id) == [] and recount_notices(db, case.id) == {}


def test_a_refused_table_moves_nothing(make, db, people):
    order = _order(make, people)
    with transaction(db) as s, pytest.raises(Unprocessable, match="holiday table has errors"):
        enter_year(s, year=2027, text="2027-01-01 休\n2027-02-30 休\n", actor=Actor.system(),
                   now=datetime(2026, 12, 4, tzinfo=UTC))
    assert moments(open_rows(db, order.id)) == ESTIMATED
    assert recount_events(db, order.id) == []


def test_each_deadline_gets_its_own_event_and_only_a_moved_date_is_told(make, db, people):
    early = _order(make, people)  # counted across New Year's Day: 2027-01-08, estimated
    make.now = local(date(2027, 1, 4))
    late = _order(make, people)  # counted from Monday 4 January: New Year's Day is not in its count
    assert moments(open_rows(db, late.id))[("expiry", None)] == ("2027-02-15", local_moment(date(2027, 2, 16)), True)
    with transaction(db) as s:
        moved = enter_year(s, year=2027, text=NEW_YEAR_2027, actor=make.actor(people["admin"]),
                           now=local(date(2027, 1, 4), 11))
    assert moved.recounted == 2
    assert [(e["from"], e["to"]) for e in recount_events(db, early.id)] == [("2027-01-08", "2027-01-11")]
    assert set(recount_notices(db, early.id)) == {people["county"].id, people["office"].id}
    # the later order's date stands and is no longer an estimate: its case is untouched and nobody is told
    assert moments(open_rows(db, late.id))[("expiry", None)] == ("2027-02-15", local_moment(date(2027, 2, 16)), False)
    [event] = recount_events(db, late.id)
    assert (event["from"], event["to"], event["was_estimated"], event["is_estimated"]) == (
        "2027-02-15", "2027-02-15", True, False)
    assert (reload(db, late.id).version, recount_notices(db, late.id)) == (late.version, {})


def test_a_date_given_for_the_first_day_of_the_year_is_no_longer_an_estimate(make, db, people):
    order = _order(make, people, due_date="2027-01-01")
    assert {r.is_estimated for r in open_rows(db, order.id).values()} == {True}
    with transaction(db) as s:
        enter_year(s, year=2027, text="2027-02-11 休\n", actor=make.actor(people["admin"]),
                   now=local(date(2026, 12, 4)))
    rows = open_rows(db, order.id)
    assert {r.is_estimated for r in rows.values()} == {False}
    assert rows[("expiry", None)].due_date == "2027-01-01"


def test_a_changed_day_moves_only_the_reminder_whose_count_crosses_it(make, db, people):
    admin = make.actor(people["admin"])
    with transaction(db) as s:
        enter_year(s, year=2027, text=NEW_YEAR_2027, actor=admin, now=local(date(2026, 11, 26)))
    order = _order(make, people, due_date="2027-03-10")  # a Wednesday
    before = moments(open_rows(db, order.id))
    assert before[("reminder", 7)][1] == local_moment(date(2027, 3, 1), NINE)
    with transaction(db) as s:  # Wednesday 3 March off: only the count of 7 working days back passes it
        moved = enter_year(s, year=2027, text=NEW_YEAR_2027 + "2027-03-03 休\n", actor=admin,
                           now=local(date(2026, 12, 4)))
    assert moved.recounted == 1
    assert moments(open_rows(db, order.id)) == {
        **before, ("reminder", 7): ("2027-03-10", local_moment(date(2027, 2, 26), NINE), False)}
    [event] = recount_events(db, order.id)
    assert event["reminders"] == [{"days_before": 7, "from": "2027-03-01 09:00", "to": "2027-02-26 09:00"}]
    assert (event["from"], event["to"]) == ("2027-03-10", "2027-03-10") and recount_notices(db, order.id) == {}


def test_the_member_units_yet_to_answer_are_told_their_new_opinion_deadline(make, db, people):
    """The joint review's opinion deadline (7 working days) reminds the units that have not answered."""
    keji = make.user("member", unit="市科技局")
    nongye = make.user("member", unit="市农业农村局")
    now = local(date(2026, 12, 24))  # a Thursday: the seventh working day is 4 January, New Year's Day counted
    case = make.case("designation", by=people["county"], data=COMPLETE_APPLICATION)
    with transaction(db) as s:
        fire(session=s, case_id=case.id, trigger="submit", actor=make.actor(people["county"]), now=now)
        fire(session=s, case_id=case.id, trigger="accept", actor=make.actor(people["office"]), now=now,
             payload={"member_units": [keji.unit_id, nongye.unit_id]})
        fire(session=s, case_id=case.id, trigger="record_opinion", actor=make.actor(keji), now=now,
             payload={"opinion": "agree"})
    assert reload(db, case.id).data["opinion_due_date"] == "2027-01-04"
    with transaction(db) as s:
        enter_year(s, year=2027, text=NEW_YEAR_2027, actor=make.actor(people["admin"]), now=now + timedelta(hours=1))
    assert reload(db, case.id).data["opinion_due_date"] == "2027-01-05"
    assert open_rows(db, case.id)[("expiry", None)].due_date == "2027-01-05"
    assert set(recount_notices(db, case.id)) == {people["county"].id, people["office"].id, nongye.id}


def test_a_date_given_in_a_year_still_unknown_stays_an_estimate_when_the_year_before_is_entered(make, db, people):
    """Its reminders count back into the year entered and move with it; the date itself is still weekends-only."""
    make.now = local(date(2027, 6, 1))
    order = _order(make, people, due_date="2028-01-10")  # a Monday; 2028 is in no table
    assert {(r.due_date, r.is_estimated) for r in open_rows(db, order.id).values()} == {("2028-01-10", True)}
    with transaction(db) as s:
        enter_year(s, year=2027, text="2027-12-31 休 元旦\n", actor=make.actor(people["admin"]),
                   now=local(date(2027, 6, 1), 11))
    rows = open_rows(db, order.id)
    assert {(r.due_date, r.is_estimated) for r in rows.values()} == {("2028-01-10", True)}
    assert rows[("reminder", 7)].due_at == local_moment(date(2027, 12, 29), NINE)  # 31 December off: a day earlier
    [event] = recount_events(db, order.id)
    assert (event["from"], event["to"], event["was_estimated"], event["is_estimated"]) == (
        "2028-01-10", "2028-01-10", True, True)
