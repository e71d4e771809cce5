"""The deadline sweep: reminders and expiries fired once each, through the engine, as the system."""

import threading
from datetime import UTC, date, datetime, timedelta

import pytest
import sqlalchemy as sa
from sqlmodel import select

from conftest import COMPLETE_APPLICATION, reload
from workflow.core.db import transaction
from workflow.core.engine import fire
from workflow.core.models import AuditEvent, Case, Deadline, Notification
from workflow.core.sweep import claim, sweep

APPLICATION = COMPLETE_APPLICATION


def _returned_case(make, db, now):
    county = make.user("county")
    office = make.user("office")
    case = make.case("designation", by=county, data=APPLICATION)
    with transaction(db) as s:
        fire(session=s, case_id=case.id, trigger="submit", actor=make.actor(county), now=now)
        fire(session=s, case_id=case.id, trigger="return_for_revision", actor=make.actor(office), now=now,
             comment="缺少证明材料")
    return county, office, case


def test_returned_application_lapses_after_ten_working_days(make, db, now):
    county, office, case = _returned_case(make, db, now)
    with transaction(db) as s:
        due = s.exec(select(Deadline).where(Deadline.case_id == case.id, Deadline.kind == "expiry",
                                            Deadline.status == "open")).one()
    assert due.due_date == "2026-12-11"  # 10 working days after Friday 2026-11-27

    early = sweep(db, now=due.due_at - timedelta(seconds=1))  # a sweep that catches up late on the last day
    # the day's reminder goes out; the one two working days before is too late to mean anything
    assert (early.expiries, early.reminders, early.skipped) == (0, 1, 1)
    assert reload(db, case.id).state == "returned"

    result = sweep(db, now=due.due_at)
    assert result.expiries == 1
    lapsed = reload(db, case.id)
    assert lapsed.state == "withdrawn"
    with transaction(db) as s:
        event = s.exec(select(AuditEvent).where(AuditEvent.case_id == case.id, AuditEvent.trigger == "expire")).one()
        assert event.role == "system" and event.to_state == "withdrawn"
        told = s.exec(select(Notification.user_id, Notification.kind).where(Notification.case_id == case.id)).all()
    assert (county.id, "reminder") in told and (county.id, "expired") in told and (office.id, "expired") in told

    again = sweep(db, now=due.due_at + timedelta(days=30))
    assert again.total == 0


def test_opinion_reminders_go_to_units_that_have_not_answered(make, db, now):
    county = make.user("county")
    office = make.user("office")
    keji = make.user("member", unit="市科技局")
    nongye = make.user("member", unit="市农业农村局")
    case = make.case("designation", by=county, data=APPLICATION)
    with transaction(db) as s:
        fire(session=s, case_id=case.id, trigger="submit", actor=make.actor(county), now=now)
        fire(session=s, case_id=case.id, trigger="accept", actor=make.actor(office), now=now,
             payload={"member_units": [keji.unit_id, nongye.unit_id]})
        fire(session=s, case_id=case.id, trigger="record_opinion", actor=make.actor(keji), now=now,
             payload={"opinion": "agree"})
    with transaction(db) as s:
        moments = sorted(s.exec(select(Deadline.due_at).where(Deadline.case_id == case.id,
                                                              Deadline.kind == "reminder")).all())
    assert sum(sweep(db, now=at).reminders for at in moments) == 2  # each at its moment
    with transaction(db) as s:
        told = set(s.exec(select(Notification.user_id).where(Notification.kind == "reminder")).all())
    assert told == {nongye.id}


def test_a_failing_row_is_recorded_and_does_not_block_the_rest(make, db, now, monkeypatch):
    _, _, first = _returned_case(make, db, now)
    _, _, second = _returned_case(make, db, now)
    import workflow.core.sweep as sweep_module

    real_fire = sweep_module.fire

    def failing(**kwargs):
        if kwargs["case_id"] == first.id:
            raise RuntimeError("boom")
        return real_fire(**kwargs)

    monkeypatch.setattr(sweep_module, "fire", failing)
    later = now + timedelta(days=60)
    result = sweep(db, now=later)
    assert result.failed == 1 and result.expiries == 1 and result.incidents == 0  # tried again later
    assert reload(db, first.id).state == "returned"
    assert reload(db, second.id).state == "withdrawn"
    for pause in (timedelta(minutes=1), timedelta(minutes=11)):  # the second and the last try
        assert sweep(db, now=later + pause).failed == 1
    with transaction(db) as s:
        statuses = dict(s.connection().execute(sa.select(Deadline.case_id, Deadline.status).where(
            Deadline.kind == "expiry", Deadline.state == "returned")).all())
        failures = s.exec(select(AuditEvent).where(AuditEvent.kind == "deadline_failed")).all()
    assert {e.case_id for e in failures} == {first.id} and len(failures) == 3
    assert statuses == {first.id: "failed", second.id: "fired"}


def test_an_expiry_tells_each_person_once(make, db, now):
    """A returned application that lapses: its county is told once, that it expired."""
    county, _office, case = _returned_case(make, db, now)
    with transaction(db) as s:
        before = len(s.exec(select(Notification).where(Notification.user_id == county.id)).all())
    assert sweep(db, now=now + timedelta(days=30)).expiries == 1
    with transaction(db) as s:
        told = s.exec(select(Notification).where(Notification.user_id == county.id)
                      .order_by(Notification.id)).all()[before:]
    assert [(n.kind, n.case_id) for n in told] == [("expired", case.id)]


@pytest.mark.postgres
def test_a_second_scheduler_takes_the_next_rows_at_once_while_another_holds_its_batch(make, db, now):
    """Two schedulers on one database: the rows one holds in its open batch are passed over by the other at once
    (FOR UPDATE SKIP LOCKED), which claims the next due row instead of waiting for the first to commit."""
    for _ in range(2):
        _returned_case(make, db, now)
    later = now + timedelta(days=30)  # both returned applications past their ten working days
    with transaction(db) as first:
        held = claim(first, now=later, worker="scheduler-a", limit=1)
        with transaction(db) as second:
            second.connection().exec_driver_sql("SET LOCAL lock_timeout = '2s'")  # waiting would fail the test
            taken = claim(second, now=later, worker="scheduler-b", limit=1)
    assert len(held) == len(taken) == 1 and held[0].id != taken[0].id
    assert (held[0].claimed_by, taken[0].claimed_by) == ("scheduler-a", "scheduler-b")


@pytest.mark.postgres
def test_the_sweep_and_people_on_the_same_cases_do_not_deadlock(make, db, now):
    """The office concludes joint reviews while the scheduler sends their reminders: every writer takes the
    audit head first, so neither waits on the other in a circle (PostgreSQL would end one as a deadlock)."""
    county, office = make.user("county"), make.user("office")
    keji = make.user("member", unit="市科技局")
    cases = []
    for _ in range(30):
        case = make.case("designation", by=county, data=APPLICATION)
        with transaction(db) as s:
            fire(session=s, case_id=case.id, trigger="submit", actor=make.actor(county), now=now)
            fire(session=s, case_id=case.id, trigger="accept", actor=make.actor(office), now=now,
                 payload={"member_units": [keji.unit_id]})
        cases.append(case)
    later = now + timedelta(days=30)  # past the opinion deadline: its reminders are due, concluding is allowed
    errors: list[Exception] = []

    def sweeper():
        try:
            sweep(db, now=later, limit=5)
        except Exception as exc:  # collected and asserted below
            errors.append(exc)

    def office_concludes():
        try:
            for case in cases:
                with transaction(db) as s:
                    fire(session=s, case_id=case.id, trigger="conclude", actor=make.actor(office), now=later)
        except Exception as exc:  # collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=sweeper), threading.Thread(target=office_concludes)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []
    assert {reload(db, c.id).state for c in cases} == {"expert_review"}
    with transaction(db) as s:
        left = s.exec(select(Deadline).where(Deadline.status.in_(["open", "claimed"]),
                                             Deadline.state == "consultation")).all()
    assert left == []


# ---- the sweep's parts, on a process of our own ------------------------------------------------------------

SWEEP_PROCESS = """
key: sweeptest
version: 1
label: {zh: 督办测试, en: Sweep test}
create_roles: [office]
initial: waiting
states:
  waiting:
    label: {zh: 等待答复, en: Waiting}
    deadlines:
      - {name: reply, label: {zh: 答复期限, en: Reply deadline}, working_days: 5, on_expiry: lapse,
         reminders: [2, 0], remind: [county, pending_units]}
      - {name: notice, label: {zh: 公示期, en: Notice period}, calendar_days: 3}
  lapsed:
    label: {zh: 已逾期, en: Lapsed}
    deadlines:
      - {name: late_reply, label: {zh: 逾期答复, en: Late reply}, working_days: 1, on_expiry: close}
  done:
    label: {zh: 办结, en: Done}
    final: true
transitions:
  - {trigger: lapse, label: {zh: 逾期, en: Lapse}, source: waiting, dest: lapsed, system: true}
  - {trigger: close, label: {zh: 关闭, en: Close}, source: lapsed, dest: done, system: true}
"""

DEADLINES = Deadline.__table__


def add_sweep_process(catalog):
    """SWEEP_PROCESS, parsed and added to `catalog` (the incident tests use it too)."""
    from workflow.core.definitions import parse_definition

    definition = parse_definition(SWEEP_PROCESS, "sweeptest.yaml")
    catalog.add(definition)
    return definition


@pytest.fixture
def process(isolated_catalog):
    return add_sweep_process(isolated_catalog)


@pytest.fixture
def people(make):
    county = make.user("county")
    office = make.user("office")
    return {"county": county, "office": office, "office_actor": make.actor(office)}


def _open(db, make, now, people, count=1):
    from workflow.core.engine import create_case

    town = make.town()
    cases = []
    for _ in range(count):
        with transaction(db) as s:
            cases.append(create_case(session=s, definition_key="sweeptest", actor=people["office_actor"], now=now,
                                     town_id=town.id))
    return cases


def _rows(db, *where):
    with transaction(db) as s:
        query = sa.select(DEADLINES).where(*where).order_by(DEADLINES.c.due_at, DEADLINES.c.id)
        return [dict(r) for r in s.connection().execute(query).mappings()]


def test_due_rows_are_found_soonest_first_and_only_while_open(db, make, now, people, process):
    from workflow.core.sweep import due_query

    _open(db, make, now, people)
    rows = _rows(db)  # reply: reminders on 2 Dec and 4 Dec, expiry at the end of 4 Dec; notice: end of 30 Nov
    assert [(r["name"], r["kind"], r["due_date"]) for r in rows] == [
        ("notice", "expiry", "2026-11-30"), ("reply", "reminder", "2026-12-04"),
        ("reply", "reminder", "2026-12-04"), ("reply", "expiry", "2026-12-04")]
    ids = [r["id"] for r in rows]
    with transaction(db) as s:
        s.connection().execute(DEADLINES.update().where(DEADLINES.c.id == ids[1]).values(status="fired"))
    with transaction(db) as s:
        def due(at, limit=10):
            return list(s.connection().execute(due_query(at, limit)).scalars())

        assert due(rows[0]["due_at"] - timedelta(seconds=1)) == []
        assert due(rows[0]["due_at"]) == [ids[0]]  # due at that very moment
        assert due(rows[3]["due_at"]) == [ids[0], ids[2], ids[3]]  # the fired one is not due again
        assert due(rows[3]["due_at"], limit=2) == [ids[0], ids[2]]


def test_a_claim_marks_its_rows_for_its_worker_and_brings_their_case(db, make, now, people, process):
    from workflow.core.sweep import claim

    case = _open(db, make, now, people)[0]
    later = now + timedelta(days=30)
    with transaction(db) as s:
        first = claim(s, now=later, worker="host-a:1", limit=3)
        second = claim(s, now=later, worker="host-a:1", limit=3)  # what is claimed is not claimed again
        assert [r.name for r in first] == ["notice", "reply", "reply"] and [r.kind for r in second] == ["expiry"]
        assert {(r.case_state, r.number, r.title, r.definition_key, r.county_id) for r in first} == {
            ("waiting", case.number, case.title, "sweeptest", case.county_id)}
        stored = s.connection().execute(sa.select(DEADLINES.c.status, DEADLINES.c.claimed_by,
                                                  DEADLINES.c.claimed_at)).all()
        assert set(stored) == {("claimed", "host-a:1", later)}


def test_everything_due_goes_through_batch_after_batch(db, make, now, people, process):
    cases = _open(db, make, now, people, count=3)
    later = now + timedelta(days=10)  # every row of `waiting` is due; the `lapsed` rows opened now are not
    result = sweep(db, now=later, limit=2, worker="host-b:2")
    # the deadlines have passed: their reminders are skipped, the expiries fire
    assert (result.reminders, result.expiries, result.skipped, result.failed, result.total) == (0, 6, 6, 0, 12)
    fired = _rows(db, DEADLINES.c.state == "waiting")
    assert sorted(result.fired_ids) == sorted(r["id"] for r in fired)
    assert {(r["kind"], r["status"], r["fired_at"], r["claimed_by"]) for r in fired} == {
        ("expiry", "fired", later, "host-b:2"), ("reminder", "skipped", later, "host-b:2")}
    assert {reload(db, c.id).state for c in cases} == {"lapsed"}


def test_a_reminder_is_recorded_and_tells_who_the_deadline_names(db, make, now, people, process):
    import json

    case = _open(db, make, now, people)[0]
    reminder = _rows(db, DEADLINES.c.kind == "reminder")[0]
    result = sweep(db, now=reminder["due_at"])
    assert (result.reminders, result.expiries) == (1, 1)  # with the notice period, due earlier
    with transaction(db) as s:
        event = s.exec(select(AuditEvent).where(AuditEvent.kind == "reminder_sent")).one()
        told = s.exec(select(Notification).where(Notification.kind == "reminder")).all()
    assert (event.case_id, event.role, event.county_id) == (case.id, "system", case.county_id)
    data = json.loads(event.data) if isinstance(event.data, str) else event.data
    assert data == {"deadline_id": reminder["id"], "deadline": "reply", "days_before": 2, "recipients": 1}
    assert [n.user_id for n in told] == [people["county"].id]
    assert told[0].params == {"number": case.number, "title": case.title, "deadline": "答复期限",
                              "deadline_en": "Reply deadline", "due_date": "2026-12-04", "days_before": 2,
                              "is_estimated": False, "state": "等待答复", "state_en": "Waiting"}


def test_an_expiry_fires_its_step_and_tells_the_county_and_the_office(db, make, now, people, process):
    from workflow.core.calendar import WorkCalendar

    case = _open(db, make, now, people)[0]
    expiry = _rows(db, DEADLINES.c.name == "reply", DEADLINES.c.kind == "expiry")[0]
    # the calendar given to the sweep counts the next state's deadline: here Monday 7 December is a holiday
    calendar = WorkCalendar(overrides={date(2026, 12, 7): False}, entered_years=frozenset({2026}))
    result = sweep(db, now=expiry["due_at"], calendar=calendar)
    # the notice period ended earlier, without a step; the reply's reminders are too late now and skipped
    assert (result.expiries, result.reminders, result.skipped) == (2, 0, 2)
    assert reload(db, case.id).state == "lapsed"
    assert [r["due_date"] for r in _rows(db, DEADLINES.c.state == "lapsed")] == ["2026-12-08"]
    with transaction(db) as s:
        told = s.exec(select(Notification).where(Notification.kind == "expired")
                      .order_by(Notification.id)).all()
    reply = [n for n in told if n.params["deadline"] == "答复期限"]
    assert sorted(n.user_id for n in reply) == sorted([people["county"].id, people["office"].id])
    assert reply[0].params == {"number": case.number, "title": case.title, "deadline": "答复期限",
                               "deadline_en": "Reply deadline", "due_date": "2026-12-04", "days_before": None,
                               "is_estimated": False, "state": "等待答复", "state_en": "Waiting",
                               "new_state": "已逾期", "new_state_en": "Lapsed"}
    notice = [n for n in told if n.params["deadline"] == "公示期"]
    assert len(notice) == 2 and "new_state" not in notice[0].params  # no step: the case stayed


def test_a_deadline_whose_case_moved_on_is_closed_and_tells_nobody(db, make, now, people, process):
    case = _open(db, make, now, people)[0]
    with transaction(db) as s:  # moved without its rows being closed (as a repair by hand might leave it)
        s.connection().execute(sa.update(Case.__table__).where(Case.__table__.c.id == case.id)
                               .values(state="done"))
    result = sweep(db, now=now + timedelta(days=30))
    assert (result.reminders, result.expiries, result.failed) == (0, 0, 0)
    assert {r["status"] for r in _rows(db)} == {"closed"} and len(result.fired_ids) == 4
    with transaction(db) as s:
        assert s.exec(select(Notification)).all() == []


def test_a_deadline_the_definition_no_longer_names_still_reminds_the_county(db, make, now, people, process):
    case = _open(db, make, now, people)[0]
    with transaction(db) as s:
        s.connection().execute(DEADLINES.update().where(DEADLINES.c.name == "reply").values(name="old_reply"))
    reminder = _rows(db, DEADLINES.c.kind == "reminder")[0]
    sweep(db, now=reminder["due_at"])
    with transaction(db) as s:
        told = s.exec(select(Notification).where(Notification.kind == "reminder")).all()
    assert [n.user_id for n in told] == [people["county"].id]
    assert (told[0].params["deadline"], told[0].params["deadline_en"]) == ("old_reply", "old_reply")
    assert reload(db, case.id).state == "waiting"


def test_a_failure_is_recorded_with_its_error_and_the_next_batch_runs_as_usual(
        make, db, now, monkeypatch, people, process):
    import json

    import workflow.core.sweep as sweep_module

    first, second, third = _open(db, make, now, people, count=3)
    real_fire = sweep_module.fire

    def failing(**kwargs):
        if kwargs["case_id"] == first.id:
            raise RuntimeError("磁盘已满")
        return real_fire(**kwargs)

    monkeypatch.setattr(sweep_module, "fire", failing)
    expiry = _rows(db, DEADLINES.c.name == "reply", DEADLINES.c.kind == "expiry")[0]
    result = sweep(db, now=expiry["due_at"], limit=4)
    assert (result.failed, result.expiries, result.reminders, result.skipped) == (1, 5, 0, 6)
    assert [reload(db, c.id).state for c in (first, second, third)] == ["waiting", "lapsed", "lapsed"]
    with transaction(db) as s:
        event = s.exec(select(AuditEvent).where(AuditEvent.kind == "deadline_failed")).one()
    data = json.loads(event.data) if isinstance(event.data, str) else event.data
    assert (event.case_id, event.role, event.trigger) == (first.id, "system", "lapse")
    assert data == {"deadline_id": expiry["id"], "try": 1, "error": "Internal error: RuntimeError: 磁盘已满"}
    waiting = _rows(db, DEADLINES.c.attempts > 0)  # open again, for its next try a minute later
    assert [(r["id"], r["status"], r["fired_at"], r["first_failed_at"], r["next_try_at"]) for r in waiting] == [
        (expiry["id"], "open", None, expiry["due_at"], expiry["due_at"] + timedelta(minutes=1))]


def test_the_list_of_what_is_coming(db, make, now, people, process):
    from workflow.core.sweep import upcoming

    case = _open(db, make, now, people)[0]
    with transaction(db) as s:
        listed = upcoming(s, now=now)
        two = upcoming(s, now=now, limit=2)
    assert [(r.number, r.state, r.name, r.kind, r.trigger, r.offset_days, r.due_date, r.is_estimated)
            for r in listed] == [
        (case.number, "waiting", "notice", "expiry", None, None, "2026-11-30", False),
        (case.number, "waiting", "reply", "reminder", None, 2, "2026-12-04", False),
        (case.number, "waiting", "reply", "reminder", None, 0, "2026-12-04", False),
        (case.number, "waiting", "reply", "expiry", "lapse", None, "2026-12-04", False)]
    assert [r.id for r in two] == [r.id for r in listed[:2]] and listed[0].case_id == case.id
    sweep(db, now=listed[0].due_at)
    with transaction(db) as s:
        assert [r.name for r in upcoming(s, now=now)] == ["reply", "reply", "reply"]


def test_the_list_of_what_is_coming_shows_fifty_by_default_in_due_then_creation_order(db, make, now, people,
                                                                                     process):
    from workflow.core.sweep import upcoming

    _open(db, make, now, people, count=13)  # four open deadlines each, created at the same moment
    with transaction(db) as s:
        listed = upcoming(s, now=now)
        everything = upcoming(s, now=now, limit=100)
    assert len(everything) == 52 and len(listed) == 50
    assert [(r.due_at, r.id) for r in everything] == sorted((r.due_at, r.id) for r in everything)
    assert [r.id for r in listed] == [r.id for r in everything[:50]]


def test_a_sweep_names_its_worker_by_host_and_process(db, make, now, people, process):
    import os
    import socket

    from workflow.core.sweep import worker_name

    assert worker_name() == f"{socket.gethostname()}:{os.getpid()}"
    _open(db, make, now, people)
    sweep(db, now=now + timedelta(days=4))
    assert {r["claimed_by"] for r in _rows(db, DEADLINES.c.status == "fired")} == {worker_name()}


def _units_asked(db, make, now, case, elsewhere=None):
    """Member units asked for their opinion: on `case`, 市科技局 (not answered yet) and 市农业农村局 (answered); on the
    case `elsewhere`, if given, 市商务局 (not answered yet). Returns the user of 市科技局."""
    from workflow.core.models import CaseParty

    keji = make.user("member", unit="市科技局")
    nongye = make.user("member", unit="市农业农村局")
    with transaction(db) as s:
        s.add(CaseParty(case_id=case.id, unit_id=keji.unit_id, purpose="consultation", created_at=now))
        s.add(CaseParty(case_id=case.id, unit_id=nongye.unit_id, purpose="consultation", created_at=now,
                        responded_at=now))
        if elsewhere is not None:
            shangwu = make.user("member", unit="市商务局")
            s.add(CaseParty(case_id=elsewhere.id, unit_id=shangwu.unit_id, purpose="consultation", created_at=now))
    return keji


def test_a_reminder_tells_the_units_that_have_not_answered(db, make, now, people, process):
    """No notification rule for this process: the deadline's own `remind` list says who is told."""
    case = _open(db, make, now, people)[0]
    keji = _units_asked(db, make, now, case)
    reminder = _rows(db, DEADLINES.c.kind == "reminder")[0]
    sweep(db, now=reminder["due_at"])
    with transaction(db) as s:
        told = s.exec(select(Notification.user_id).where(Notification.kind == "reminder")).all()
    assert sorted(told) == sorted([people["county"].id, keji.id])


def test_an_expiry_tells_the_units_that_have_not_answered_with_the_county_and_the_office(db, make, now, people,
                                                                                        process):
    """The expiry's recipients are the deadline's `remind` list and the office: the units still owing an answer on
    this case are among them; one that answered is not, nor one owing an answer on another case."""
    case, other = _open(db, make, now, people, count=2)
    keji = _units_asked(db, make, now, case, elsewhere=other)
    expiry = _rows(db, DEADLINES.c.case_id == case.id, DEADLINES.c.name == "reply", DEADLINES.c.kind == "expiry")[0]
    sweep(db, now=expiry["due_at"])
    with transaction(db) as s:
        told = s.exec(select(Notification.user_id).where(
            Notification.kind == "expired", Notification.case_id == case.id,
            Notification.source_key.startswith(f"deadline:{expiry['id']}:"))).all()
    assert sorted(told) == sorted([people["county"].id, people["office"].id, keji.id])


# Rules of our own for the sweep test process: its reply deadline's expiry and the step that expiry fires both
# name the county and the office.
ONE_CAUSE_RULES = """
version: 1
templates:
  t_event: {label: {zh: 事件, en: Event}}
  t_deadline: {label: {zh: 期限, en: Deadline}}
rules:
  - {name: lapsed, label: {zh: 已逾期, en: Lapsed}, process: sweeptest, when: {enter: lapsed},
     recipients: [county, office], channels: [in_app], template: t_event}
  - {name: reply_expired, label: {zh: 答复逾期, en: Reply overdue}, process: sweeptest, when: {expiry: reply},
     recipients: [county, office], channels: [in_app], template: t_deadline}
"""


def test_an_expiry_and_the_step_it_fires_are_one_message_per_person(db, make, now, people, process):
    """A deadline that passes and moves the case is one cause: the step's notification carries the deadline as its
    source, so the expiry's own rule, naming the same people, does not tell them a second time."""
    from workflow.notify.rules import parse_rules, use_rules

    use_rules(parse_rules(ONE_CAUSE_RULES, "rules.yaml"))
    try:
        case = _open(db, make, now, people)[0]
        expiry = _rows(db, DEADLINES.c.name == "reply", DEADLINES.c.kind == "expiry")[0]
        assert sweep(db, now=expiry["due_at"]).expiries == 2  # with the notice period's, which moves nothing
    finally:
        use_rules(None)
    assert reload(db, case.id).state == "lapsed"
    with transaction(db) as s:
        told = s.exec(select(Notification).where(Notification.case_id == case.id,
                                                 Notification.source_key.startswith(f"deadline:{expiry['id']}:"))
                      .order_by(Notification.user_id, Notification.id)).all()
    assert [(n.user_id, n.kind, n.source_key) for n in told] == [
        (user.id, "event", f"deadline:{expiry['id']}:u{user.id}")
        for user in sorted((people["county"], people["office"]), key=lambda u: u.id)]


def test_a_batch_of_fired_and_closed_rows_lists_them_all(db, make, now, people, process):
    moved, stays = _open(db, make, now, people, count=2)
    with transaction(db) as s:
        s.connection().execute(sa.update(Case.__table__).where(Case.__table__.c.id == moved.id)
                               .values(state="done"))
    result = sweep(db, now=now + timedelta(days=4), limit=10)  # each case's notice period ends in this batch
    rows = _rows(db, DEADLINES.c.name == "notice")
    assert {(r["case_id"], r["status"]) for r in rows} == {(moved.id, "closed"), (stays.id, "fired")}
    assert sorted(result.fired_ids) == sorted(r["id"] for r in rows) and result.expiries == 1


def test_failures_are_counted_logged_and_cut_to_500_characters(db, make, now, people, process, monkeypatch,
                                                              caplog):
    import json
    import logging

    import workflow.core.sweep as sweep_module
    from workflow.core.calendar import WorkCalendar

    first, second, third = _open(db, make, now, people, count=3)
    real_fire = sweep_module.fire

    def failing(**kwargs):
        if kwargs["case_id"] != third.id:
            raise RuntimeError("磁盘已满" * 200)
        return real_fire(**kwargs)

    monkeypatch.setattr(sweep_module, "fire", failing)
    expiry = _rows(db, DEADLINES.c.name == "reply", DEADLINES.c.kind == "expiry")[0]
    calendar = WorkCalendar(overrides={date(2026, 12, 7): False}, entered_years=frozenset({2026}))
    with caplog.at_level(logging.INFO, logger="workflow.core.sweep"):
        result = sweep(db, now=expiry["due_at"], calendar=calendar, limit=20)
    assert result.failed == 2
    with transaction(db) as s:
        events = s.exec(select(AuditEvent).where(AuditEvent.kind == "deadline_failed")).all()
    errors = [json.loads(e.data)["error"] if isinstance(e.data, str) else e.data["error"] for e in events]
    assert [len(e) for e in errors] == [500, 500] and errors[0].startswith("Internal error: RuntimeError: 磁盘已满")
    # the third case went through in the careful run, still with the sweep's calendar
    assert [r["due_date"] for r in _rows(db, DEADLINES.c.state == "lapsed")] == ["2026-12-08"]
    messages = [(r.levelname, r.getMessage()) for r in caplog.records]
    assert ("INFO", "a deadline in this batch failed; running the batch again row by row") in messages
    failed_rows = {r["case_id"]: r["id"] for r in _rows(db, DEADLINES.c.attempts == 1)}
    for case in (first, second):
        assert ("ERROR", f"deadline {failed_rows[case.id]} of case {case.id} failed") in messages


def test_a_refused_expiry_is_logged_with_its_reason(db, make, now, people, process, caplog):
    import logging

    case = _open(db, make, now, people)[0]
    with transaction(db) as s:  # another step got there first: the expiry's trigger is no longer possible
        s.connection().execute(sa.update(Case.__table__).where(Case.__table__.c.id == case.id)
                               .values(state="lapsed"))
        s.connection().execute(DEADLINES.update().values(state="lapsed"))
    with caplog.at_level(logging.WARNING, logger="workflow.core.sweep"):
        result = sweep(db, now=now + timedelta(days=30))
    assert result.failed == 1
    assert ("WARNING", f"expiry lapse on case {case.id} refused: 'Lapse' is not possible in state 'Lapsed'.") in [
        (r.levelname, r.getMessage()) for r in caplog.records]


def test_an_estimated_deadline_says_so_in_its_reminder(db, make, now, people, process):
    later = datetime(2026, 12, 28, 2, 0, tzinfo=UTC)  # the reply deadline falls in 2027, not known yet
    case = _open(db, make, later, people)[0]
    reminder = _rows(db, DEADLINES.c.kind == "reminder")[0]
    assert reminder["is_estimated"]
    sweep(db, now=reminder["due_at"])
    with transaction(db) as s:
        told = s.exec(select(Notification).where(Notification.kind == "reminder",
                                                 Notification.case_id == case.id)).all()
    assert {n.params["is_estimated"] for n in told} == {True}


def test_a_deadline_of_a_version_no_longer_in_memory_is_swept(db, make, now, people, process, isolated_catalog):
    """A restarted scheduler knows only today's files: the case's version is rebuilt from the database."""
    from workflow.core.definitions import parse_definition

    case = _open(db, make, now, people)[0]
    isolated_catalog.add(parse_definition(SWEEP_PROCESS.replace("version: 1", "version: 2"), "sweeptest.yaml"))
    isolated_catalog._versions.pop(("sweeptest", 1))
    isolated_catalog._machines.pop(("sweeptest", 1), None)
    expiry = _rows(db, DEADLINES.c.name == "reply", DEADLINES.c.kind == "expiry")[0]
    assert sweep(db, now=expiry["due_at"]).failed == 0
    assert reload(db, case.id).state == "lapsed"


def _run_scheduler_once(db, at):
    """Start the real scheduler with its clock at `at`: its first sweep runs at once (the catch-up)."""
    import time

    from workflow.core.scheduler import build_scheduler

    scheduler = build_scheduler(db, clock=lambda: at, background=True, sweep_seconds=3600)
    scheduler.start()
    try:  # the first run submitted, the next one is an hour away; shutting down waits for the run to end
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and (
                scheduler.get_job("deadline-sweep").next_run_time < datetime.now(UTC) + timedelta(minutes=30)):
            time.sleep(0.02)
    finally:
        scheduler.shutdown(wait=True)


def test_a_scheduler_stopped_across_a_deadline_sends_only_what_is_still_true(db, make, now, people, process):
    """Reminders 2 working days before and on the day, then the deadline. The scheduler sends the first, is
    stopped, and starts again after the deadline: the day's reminder is skipped (recorded, not sent) and only
    the overdue notice goes out."""
    import json

    case = _open(db, make, now, people)[0]
    first, on_the_day = _rows(db, DEADLINES.c.kind == "reminder")
    expiry = _rows(db, DEADLINES.c.name == "reply", DEADLINES.c.kind == "expiry")[0]
    _run_scheduler_once(db, first["due_at"] + timedelta(minutes=1))
    assert [r["status"] for r in _rows(db, DEADLINES.c.kind == "reminder")] == ["fired", "open"]
    _run_scheduler_once(db, expiry["due_at"] + timedelta(days=2))  # after two days down
    assert [r["status"] for r in _rows(db, DEADLINES.c.kind == "reminder")] == ["fired", "skipped"]
    assert reload(db, case.id).state == "lapsed"
    with transaction(db) as s:
        told = s.exec(select(Notification.kind).where(Notification.user_id == people["county"].id)
                      .order_by(Notification.id)).all()
        skipped = s.exec(select(AuditEvent).where(AuditEvent.kind == "reminder_skipped")).one()
    assert told == ["expired", "reminder", "expired"]  # the notice period's end, the reminder, the reply's end
    data = json.loads(skipped.data) if isinstance(skipped.data, str) else skipped.data
    assert data == {"deadline_id": on_the_day["id"], "deadline": "reply", "days_before": 0, "why": "stale"}
    assert (skipped.case_id, skipped.county_id, skipped.role) == (case.id, case.county_id, "system")


def test_a_reminder_a_day_late_is_still_sent_and_a_moment_later_skipped(db, make, now, people, process):
    _open(db, make, now, people)
    first = _rows(db, DEADLINES.c.kind == "reminder")[0]
    assert sweep(db, now=first["due_at"] + timedelta(days=1)).reminders == 1  # exactly a day late: still sent
    _open(db, make, now, people)
    second = _rows(db, DEADLINES.c.kind == "reminder", DEADLINES.c.status == "open")[0]
    late = sweep(db, now=second["due_at"] + timedelta(days=1, seconds=1))
    assert (late.reminders, late.skipped) == (0, 1)


def test_a_reminder_a_later_one_supersedes_or_whose_deadline_passed_is_skipped(db, make, now, people, process):
    """Within a day of their moments: the earlier of two due reminders is superseded by the later one; a reminder
    whose deadline passed (an expiry due as well) is not sent either."""
    import json

    _open(db, make, now, people)
    first, on_the_day = _rows(db, DEADLINES.c.kind == "reminder")
    with transaction(db) as s:  # both reminders within the same day, the deadline still ahead
        s.connection().execute(DEADLINES.update().where(DEADLINES.c.id == first["id"])
                               .values(due_at=on_the_day["due_at"] - timedelta(hours=2)))
    result = sweep(db, now=on_the_day["due_at"] + timedelta(minutes=5))
    assert (result.reminders, result.skipped) == (1, 1)
    assert [r["status"] for r in _rows(db, DEADLINES.c.kind == "reminder")] == ["skipped", "fired"]
    with transaction(db) as s:
        why = [json.loads(e.data)["why"] if isinstance(e.data, str) else e.data["why"]
               for e in s.exec(select(AuditEvent).where(AuditEvent.kind == "reminder_skipped")).all()]
    assert why == ["superseded"]


def test_a_reminder_due_with_its_passed_deadline_is_skipped_even_when_fresh(db, make, now, people, process):
    import json

    _open(db, make, now, people)
    on_the_day = _rows(db, DEADLINES.c.kind == "reminder")[1]
    expiry = _rows(db, DEADLINES.c.name == "reply", DEADLINES.c.kind == "expiry")[0]
    with transaction(db) as s:  # the deadline passes an hour after the day's reminder
        s.connection().execute(DEADLINES.update().where(DEADLINES.c.id == expiry["id"])
                               .values(due_at=on_the_day["due_at"] + timedelta(hours=1)))
    result = sweep(db, now=on_the_day["due_at"] + timedelta(hours=2))
    assert (result.reminders, result.expiries) == (0, 2)
    with transaction(db) as s:
        events = s.exec(select(AuditEvent).where(AuditEvent.kind == "reminder_skipped")).all()
    data = [json.loads(e.data) if isinstance(e.data, str) else e.data for e in events]
    assert {(d["deadline_id"], d["why"]) for d in data} >= {(on_the_day["id"], "deadline_passed")}



def test_no_batch_claims_more_than_its_limit_and_the_counts_add_up_across_batches(db, make, now, people, process,
                                                                                 monkeypatch):
    import workflow.core.sweep as sweep_module

    _open(db, make, now, people, count=3)
    sizes: list[int] = []
    real_claim = sweep_module.claim

    def claim(session, **kwargs):
        rows = real_claim(session, **kwargs)
        sizes.append(len(rows))
        return rows

    monkeypatch.setattr(sweep_module, "claim", claim)
    # at the day's reminder: three notice periods ended, three reminders two days before (too late now: skipped)
    # and three reminders of the day, in batches of four (each batch holds the audit head until it commits)
    day = max(r["due_at"] for r in _rows(db) if r["kind"] == "reminder")
    result = sweep(db, now=day, limit=4)
    assert sizes == [4, 4, 1]
    assert (result.expiries, result.skipped, result.reminders, result.total) == (3, 3, 3, 9)
    assert len(result.fired_ids) == 9
