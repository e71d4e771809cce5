"""Deadline rows: opened on entering a state, closed on leaving it, counted in Chinese working days."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
import sqlalchemy as sa

from conftest import reload
from workflow.core.actors import Actor
from workflow.core.calendar import DEFAULT_CALENDAR, WorkCalendar, local_date, local_moment
from workflow.core.catalog import CATALOG
from workflow.core.db import transaction
from workflow.core.deadlines import default_due_dates, due_date_for, plan_deadlines
from workflow.core.definitions import DeadlineSpec, Label, StateSpec, parse_definition
from workflow.core.engine import create_case, fire
from workflow.core.errors import Unprocessable
from workflow.core.models import Deadline

TABLE = Deadline.__table__


@pytest.fixture
def now() -> datetime:
    return datetime(2026, 9, 18, 2, 0, tzinfo=UTC)  # Friday 18 September 2026, 10:00 in Yangquan


def at_local(day: date, hour: int = 10) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=UTC) - timedelta(hours=8)


def run(db, actor, case_id, trigger, now, **kwargs):
    with transaction(db) as s:
        fire(session=s, case_id=case_id, trigger=trigger, actor=actor, now=now, **kwargs)
    return reload(db, case_id)


def deadline_rows(db, case_id, *where):
    with transaction(db) as s:
        query = sa.select(TABLE).where(TABLE.c.case_id == case_id, *where).order_by(TABLE.c.id)
        return [dict(r) for r in s.connection().execute(query).mappings()]


def summary(rows):
    return [(r["state"], r["kind"], r["offset_days"], r["due_date"], r["due_at"], r["status"]) for r in rows]


@pytest.fixture
def people(make):
    county = make.user("county")
    return {"county_user": county, "county": make.actor(county), "office": make.actor(make.user("office")),
            "system": Actor.system()}


@pytest.fixture
def submitted(db, now, make, people, complete_application):
    case = make.case("designation", by=people["county_user"], data=complete_application)
    return run(db, people["county"], case.id, "submit", now)


def test_the_completeness_check_has_ten_working_days_with_reminders_to_the_office(db, now, people, submitted):
    """形式审查 (DOMAIN.md: 10 working days): a deadline with reminders, no automatic step when it passes."""
    rows = deadline_rows(db, submitted.id)
    assert summary(rows) == [
        ("submitted", "expiry", None, "2026-10-09", datetime(2026, 10, 9, 16, 0, tzinfo=UTC), "open"),
        ("submitted", "reminder", 2, "2026-10-09", datetime(2026, 9, 30, 1, 0, tzinfo=UTC), "open"),
        ("submitted", "reminder", 0, "2026-10-09", datetime(2026, 10, 9, 1, 0, tzinfo=UTC), "open"),
    ]
    assert {r["name"] for r in rows} == {"review"} and rows[0]["trigger"] is None
    spec = CATALOG.current("designation").states["submitted"].deadlines[0]
    assert spec.remind == ("office",)
    run(db, people["office"], submitted.id, "return_for_revision", now, comment="补正")
    assert {r["status"] for r in deadline_rows(db, submitted.id, TABLE.c.state == "submitted")} == {"closed"}


def test_returned_opens_an_expiry_ten_working_days_later_with_reminders(db, now, people, submitted):
    run(db, people["office"], submitted.id, "return_for_revision", now, comment="补正")
    # Ten working days from Friday 18 September 2026: Sunday 20 September is a make-up working day
    # (调休), 25-27 September (Mid-autumn) and 1-7 October (National Day) are holidays.
    rows = deadline_rows(db, submitted.id, TABLE.c.state == "returned")
    assert summary(rows) == [
        ("returned", "expiry", None, "2026-10-09", datetime(2026, 10, 9, 16, 0, tzinfo=UTC), "open"),
        ("returned", "reminder", 2, "2026-10-09", datetime(2026, 9, 30, 1, 0, tzinfo=UTC), "open"),
        ("returned", "reminder", 0, "2026-10-09", datetime(2026, 10, 9, 1, 0, tzinfo=UTC), "open"),
    ]
    assert [r["trigger"] for r in rows] == ["expire", None, None]
    assert {r["name"] for r in rows} == {"resubmit"}
    assert not any(r["is_estimated"] for r in rows)
    assert all(r["created_at"] == now for r in rows)
    # the expiry passes when the local day ends, reminders go out at 09:00 local time
    assert rows[0]["due_at"] == local_moment(date(2026, 10, 10))
    assert rows[1]["due_at"] == local_moment(date(2026, 9, 30), datetime.min.time().replace(hour=9))


def test_the_holidays_make_the_difference(now):
    """Counting weekends only would end the same period a week earlier, inside the National Day holiday."""
    weekends_only = WorkCalendar(entered_years=frozenset({2026}))
    assert weekends_only.add_working_days(date(2026, 9, 18), 10) == (date(2026, 10, 2), False)
    assert DEFAULT_CALENDAR.add_working_days(date(2026, 9, 18), 10) == (date(2026, 10, 9), False)


@pytest.mark.parametrize("start, due, two_before", [
    (date(2026, 9, 18), "2026-10-09", date(2026, 9, 30)),   # Sunday 20 September counts
    (date(2026, 9, 21), "2026-10-12", date(2026, 10, 9)),   # Saturday 10 October counts
    (date(2026, 9, 22), "2026-10-13", date(2026, 10, 10)),  # ... and may carry a reminder
])
def test_make_up_working_days_count(db, people, submitted, start, due, two_before):
    run(db, people["office"], submitted.id, "return_for_revision", at_local(start), comment="补正")
    reminders = deadline_rows(db, submitted.id, TABLE.c.kind == "reminder", TABLE.c.state == "returned")
    assert [(r["offset_days"], r["due_date"], r["due_at"]) for r in reminders] == [
        (2, due, local_moment(two_before) + timedelta(hours=9)),
        (0, due, local_moment(date.fromisoformat(due)) + timedelta(hours=9)),
    ]


def test_counting_starts_from_the_local_date(db, people, submitted):
    """23:30 on Friday in Yangquan is still Friday, though it is 15:30 UTC."""
    friday_night = datetime(2026, 9, 18, 15, 30, tzinfo=UTC)
    assert local_date(friday_night) == date(2026, 9, 18)
    run(db, people["office"], submitted.id, "return_for_revision", friday_night, comment="补正")
    expiry = deadline_rows(db, submitted.id, TABLE.c.kind == "expiry", TABLE.c.state == "returned")
    assert [r["due_date"] for r in expiry] == ["2026-10-09"]


def test_leaving_the_state_closes_its_rows(db, now, people, submitted):
    run(db, people["office"], submitted.id, "return_for_revision", now, comment="补正")
    later = now + timedelta(days=3)
    run(db, people["county"], submitted.id, "resubmit", later)
    rows = deadline_rows(db, submitted.id, TABLE.c.state == "returned")
    assert [(r["status"], r["closed_at"]) for r in rows] == [("closed", later)] * 3
    # resubmitted: the completeness check starts again with its own deadline
    assert {r["state"] for r in deadline_rows(db, submitted.id, TABLE.c.status == "open")} == {"submitted"}


def test_expiry_leaves_the_state_and_closes_the_rest(db, now, people, submitted):
    run(db, people["office"], submitted.id, "return_for_revision", now, comment="补正")
    expiry = deadline_rows(db, submitted.id, TABLE.c.kind == "expiry", TABLE.c.state == "returned")[0]
    case = run(db, people["system"], submitted.id, "expire", expiry["due_at"])
    assert (case.state, case.closed_at) == ("withdrawn", expiry["due_at"])
    assert {r["status"] for r in deadline_rows(db, submitted.id)} == {"closed"}


def test_a_deadline_in_a_year_the_calendar_does_not_know_is_an_estimate(db, people, submitted):
    run(db, people["office"], submitted.id, "return_for_revision", at_local(date(2026, 12, 24)), comment="补正")
    rows = deadline_rows(db, submitted.id, TABLE.c.state == "returned")
    # 2027's holidays are not published yet: weekends only, and every row says so
    assert {(r["due_date"], r["is_estimated"]) for r in rows} == {("2027-01-07", True)}


def test_holidays_entered_by_the_admin_are_used():
    calendar = WorkCalendar(overrides={date(2027, 1, 1): False, date(2027, 1, 9): True},
                            entered_years=frozenset({2027}))
    assert calendar.knows(2027)
    # from Thursday 31 December 2026: 1 January is a holiday, Saturday 9 January a make-up working day
    assert calendar.add_working_days(date(2026, 12, 31), 6) == (date(2027, 1, 9), False)
    assert calendar.working_days_before(date(2027, 1, 11), 2) == date(2027, 1, 8)


CALENDAR_DAYS = """
key: noticetest
version: 1
label: {zh: 公示测试, en: Notice test}
create_roles: [office]
initial: drafting
states:
  drafting:
    label: {zh: 拟稿, en: Drafting}
  notice:
    label: {zh: 公示, en: Notice}
    deadlines:
      - {name: notice, label: {zh: 公示期, en: Notice period}, calendar_days: 15, on_expiry: close,
         reminders: [1]}
  closed:
    label: {zh: 结束, en: Closed}
    final: true
transitions:
  - {trigger: publish, label: {zh: 发布, en: Publish}, source: drafting, dest: notice, roles: [office]}
  - {trigger: close, label: {zh: 结束, en: Close}, source: notice, dest: closed, system: true}
"""


def test_a_calendar_days_deadline_ignores_holidays(db, make, people, isolated_catalog):
    isolated_catalog.add(parse_definition(CALENDAR_DAYS, "noticetest.yaml"))
    with transaction(db) as s:
        case = create_case(session=s, definition_key="noticetest", actor=people["office"],
                           now=at_local(date(2026, 9, 28)), town_id=make.town().id)
    run(db, people["office"], case.id, "publish", at_local(date(2026, 9, 28)))
    rows = deadline_rows(db, case.id)
    # 15 calendar days from Monday 28 September, National Day or not; the reminder is a working day before
    assert summary(rows) == [
        ("notice", "expiry", None, "2026-10-13", local_moment(date(2026, 10, 14)), "open"),
        ("notice", "reminder", 1, "2026-10-13", local_moment(date(2026, 10, 12)) + timedelta(hours=9), "open"),
    ]
    assert rows[0]["trigger"] == "close"


@pytest.fixture
def order(db, now, make):
    office = make.user("office")
    return make.case("rectification", by=office, state="rectifying",
                     data={"problem": "园区道路破损", "due_date": "2026-12-11"})


def open_reminders(db, case_id):
    rows = deadline_rows(db, case_id, TABLE.c.kind == "reminder", TABLE.c.status == "open")
    return [(r["state"], r["offset_days"], r["due_date"]) for r in rows]


def test_a_field_deadline_keeps_its_date_through_states(db, now, people, order):
    assert open_reminders(db, order.id) == [("rectifying", n, "2026-12-11") for n in (7, 3, 1, 0)]
    run(db, people["county"], order.id, "request_extension", now, payload={"requested_due_date": "2027-01-15"},
        comment="需要采购")
    assert open_reminders(db, order.id) == [("extension_requested", n, "2026-12-11") for n in (7, 3, 1, 0)]
    expiry = deadline_rows(db, order.id, TABLE.c.kind == "expiry", TABLE.c.status == "open")
    assert [(r["state"], r["due_date"], r["trigger"]) for r in expiry] == [
        ("extension_requested", "2026-12-11", "expire")]


def test_re_entering_a_state_does_not_repeat_a_reminder_already_sent(db, now, people, order):
    # the 7-working-day reminder went out (the sweep marks it fired)
    with transaction(db) as s:
        s.connection().execute(TABLE.update().where(
            TABLE.c.case_id == order.id, TABLE.c.kind == "reminder", TABLE.c.offset_days == 7,
            TABLE.c.status == "open",
        ).values(status="fired", fired_at=now))
    run(db, people["county"], order.id, "request_extension", now, payload={"requested_due_date": "2027-01-15"},
        comment="需要采购")
    assert open_reminders(db, order.id) == [("extension_requested", n, "2026-12-11") for n in (3, 1, 0)]
    run(db, people["office"], order.id, "deny_extension", now, comment="不同意")
    assert open_reminders(db, order.id) == [("rectifying", n, "2026-12-11") for n in (3, 1, 0)]
    fired = deadline_rows(db, order.id, TABLE.c.status == "fired")
    assert [(r["state"], r["offset_days"]) for r in fired] == [("rectifying", 7)]


def test_a_new_date_gets_every_reminder_again(db, now, people, order):
    with transaction(db) as s:
        s.connection().execute(TABLE.update().where(TABLE.c.case_id == order.id, TABLE.c.kind == "reminder",
                                                    TABLE.c.status == "open")
                               .values(status="fired", fired_at=now))
    run(db, people["county"], order.id, "request_extension", now, payload={"requested_due_date": "2027-01-15"},
        comment="需要采购")
    assert open_reminders(db, order.id) == []
    run(db, people["office"], order.id, "grant_extension", now, payload={"due_date": "2026-12-31"})
    assert open_reminders(db, order.id) == [("rectifying", n, "2026-12-31") for n in (7, 3, 1, 0)]


def test_reminders_already_past_are_not_planned(db, people, order):
    # Wednesday 9 December 2026: 7 and 3 working days before the 11th (2 and 8 December) are behind us
    run(db, people["county"], order.id, "request_extension", at_local(date(2026, 12, 9)),
        payload={"requested_due_date": "2027-01-15"}, comment="需要采购")
    assert open_reminders(db, order.id) == [("extension_requested", n, "2026-12-11") for n in (1, 0)]


def test_a_field_deadline_not_set_is_counted_and_written_back(db, now, make):
    case = make.case("rectification", by=make.user("office"), data={"problem": "未建立台账"})
    # 30 working days from Friday 18 September 2026, across both holidays
    assert case.data["due_date"] == "2026-11-05"
    assert reload(db, case.id).data["due_date"] == "2026-11-05"
    expiry = deadline_rows(db, case.id, TABLE.c.kind == "expiry")
    assert [(r["state"], r["due_date"]) for r in expiry] == [("issued", "2026-11-05")]


def test_a_date_given_for_an_unknown_year_is_marked_estimated_and_one_in_a_known_year_is_not(db, make):
    office = make.user("office")
    known = make.case("rectification", by=office, data={"problem": "台账不全", "due_date": "2026-12-11"})
    unknown = make.case("rectification", by=office, data={"problem": "台账不全", "due_date": "2027-03-01"})
    assert {(r["kind"], r["is_estimated"]) for r in deadline_rows(db, known.id)} == {
        ("expiry", False), ("reminder", False)}
    # its reminders are counted back with weekends only as well, so every row says so
    rows = deadline_rows(db, unknown.id)
    assert {r["is_estimated"] for r in rows} == {True} and len(rows) == 5
    assert [r["due_date"] for r in rows] == ["2027-03-01"] * 5


def test_a_calendar_days_deadline_into_an_unknown_year_is_exact(db, make, people, isolated_catalog):
    """Calendar days need no holiday table: 15 days from Christmas Eve are 15 days, whatever 2027 brings."""
    isolated_catalog.add(parse_definition(CALENDAR_DAYS, "noticetest.yaml"))
    christmas_eve = at_local(date(2026, 12, 24))
    with transaction(db) as s:
        case = create_case(session=s, definition_key="noticetest", actor=people["office"], now=christmas_eve,
                           town_id=make.town().id)
    run(db, people["office"], case.id, "publish", christmas_eve)
    expiry = deadline_rows(db, case.id, TABLE.c.kind == "expiry")
    assert [(r["due_date"], r["is_estimated"]) for r in expiry] == [("2027-01-08", False)]


def _spec(**count):
    return DeadlineSpec(name="answer", label=Label("答复期限", "Answer deadline"), working_days=count.get("working"),
                        calendar_days=count.get("calendar"), field=count.get("field"), on_expiry="expire",
                        reminders=())


def test_a_date_field_wins_over_the_count_and_a_malformed_one_is_refused():
    today = date(2026, 11, 27)
    spec = _spec(field="due_date", working=30)
    assert due_date_for(spec, {"due_date": "2026-12-11"}, today, DEFAULT_CALENDAR) == (date(2026, 12, 11), False)
    assert due_date_for(spec, {"due_date": ""}, today, DEFAULT_CALENDAR) == (date(2027, 1, 8), True)
    with pytest.raises(Unprocessable) as refused:
        due_date_for(spec, {"due_date": "2026-13-01"}, today, DEFAULT_CALENDAR)
    assert (refused.value.zh, refused.value.en) == ("期限日期格式不正确：2026-13-01", "Bad deadline date: 2026-13-01")
    assert refused.value.details == [{"field": "due_date", "zh": "日期格式应为 YYYY-MM-DD",
                                      "en": "date must be YYYY-MM-DD"}]


def test_a_date_field_left_empty_without_a_count_is_refused():
    with pytest.raises(Unprocessable) as refused:
        due_date_for(_spec(field="due_date"), {}, date(2026, 11, 27), DEFAULT_CALENDAR)
    assert (refused.value.zh, refused.value.en) == ("缺少期限日期字段 due_date", "Missing deadline field due_date")
    assert refused.value.details == [
        {"field": "due_date", "zh": "必须填写期限日期", "en": "a deadline date is required"}]
    assert due_date_for(_spec(calendar=15), {}, date(2026, 12, 24), DEFAULT_CALENDAR) == (date(2027, 1, 8), False)


def test_a_counted_deadline_writes_nothing_into_the_case(db, now, people, submitted):
    before = reload(db, submitted.id).data
    run(db, people["office"], submitted.id, "return_for_revision", now, comment="补正")
    assert reload(db, submitted.id).data == before  # the date lives in the deadline rows only


def test_a_date_given_is_kept_as_given(db, now):
    state = StateSpec(name="rectifying", label=Label("整改中", "Rectifying"), final=False, actors=("county",),
                      deadlines=(_spec(field="due_date", working=30),))
    data = {"due_date": "20261211"}  # a basic ISO date: read, and left as the county wrote it
    with transaction(db) as s:
        rows = plan_deadlines(s, case_id=None, state=state, data=data, now=now, calendar=DEFAULT_CALENDAR)
    assert data == {"due_date": "20261211"} and [r["due_date"] for r in rows] == ["2026-12-11"]


def test_a_reminder_due_this_very_moment_is_not_planned(db, people, order):
    # 09:00 on Thursday 10 December is when the one-day reminder for the 11th would go out: it is not planned
    run(db, people["county"], order.id, "request_extension", local_moment(date(2026, 12, 10)) + timedelta(hours=9),
        payload={"requested_due_date": "2027-01-15"}, comment="需要采购")
    assert open_reminders(db, order.id) == [("extension_requested", 0, "2026-12-11")]


def basis(rows):
    return {(r["state"], r["kind"], r["status"], r["counted_from"], r["working_days"]) for r in rows}


def test_a_counted_date_keeps_what_it_was_counted_from_and_a_date_given_by_a_person_has_nothing(db, now, make,
                                                                                                people):
    """A date counted in working days can be counted again when a year's holidays change; a person's date cannot."""
    office = make.user("office")
    counted = make.case("rectification", by=office, data={"problem": "未建立台账"})
    later = at_local(date(2026, 9, 21))
    run(db, people["county"], counted.id, "acknowledge", later)  # the next state reads the date from the case
    assert basis(deadline_rows(db, counted.id)) == {
        ("issued", "expiry", "closed", "2026-09-18", 30), ("issued", "reminder", "closed", "2026-09-18", 30),
        ("rectifying", "expiry", "open", "2026-09-18", 30), ("rectifying", "reminder", "open", "2026-09-18", 30)}
    run(db, people["county"], counted.id, "request_extension", later, payload={"requested_due_date": "2026-12-31"},
        comment="需要采购")
    run(db, people["office"], counted.id, "grant_extension", later, payload={"due_date": "2026-12-31"})
    open_rows = deadline_rows(db, counted.id, TABLE.c.status == "open")
    assert basis(open_rows) == {("rectifying", "expiry", "open", None, None),
                                ("rectifying", "reminder", "open", None, None)}

    given = make.case("rectification", by=office, data={"problem": "未建立台账", "due_date": "2026-12-11"})
    assert {(r["counted_from"], r["working_days"]) for r in deadline_rows(db, given.id)} == {(None, None)}
    assert {(r["attempts"], r["next_try_at"]) for r in deadline_rows(db, counted.id)} == {(0, None)}  # no failed try


def test_a_count_of_calendar_days_has_nothing_to_count_again(db):
    # calendar days win over working days declared beside them (due_date_for counts them first)
    state = StateSpec(name="notice", label=Label("公示", "Notice"), final=False, actors=("office",),
                      deadlines=(_spec(calendar=15, working=10),))
    with transaction(db) as s:
        rows = plan_deadlines(s, case_id=None, state=state, data={}, now=datetime(2026, 12, 24, 2, tzinfo=UTC),
                              calendar=DEFAULT_CALENDAR)
    assert {(r["due_date"], r["counted_from"], r["working_days"]) for r in rows} == {("2027-01-08", None, None)}


def test_the_form_tells_the_date_a_deadline_field_left_empty_would_get(db):
    """受理: the opinion deadline left empty is 7 working days from today, as firing the step now would count it;
    one counted into a year whose holidays are not entered says it is an estimate."""
    designation = CATALOG.current("designation")
    step = {t.trigger: t for t in designation.transitions}
    friday = at_local(date(2026, 11, 27))
    with transaction(db) as s:
        assert default_due_dates(s, designation, step["accept"], friday) == {
            "opinion_due_date": (date(2026, 12, 8), False)}
        # 29, 30, 31 December, 1 (a weekday while 2027 is unknown), 4, 5, 6 January
        assert default_due_dates(s, designation, step["accept"], at_local(date(2026, 12, 28))) == {
            "opinion_due_date": (date(2027, 1, 6), True)}
        # the check's deadline is counted too, but from no field of the step: nothing to tell
        assert default_due_dates(s, designation, step["submit"], friday) == {}
        assert default_due_dates(s, designation, step["edit"], friday) == {}  # a step that stays in its state
