"""The deadline sweep: reminders and expiries fired once each, through the engine, as the system."""

import threading
from datetime import timedelta

import pytest
import sqlalchemy as sa
from sqlmodel import select

from conftest import COMPLETE_APPLICATION, reload
from workflow.db import transaction
from workflow.engine import fire
from workflow.models import AuditEvent, Deadline, Notification
from workflow.sweep import sweep

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

    early = sweep(db, now=due.due_at - timedelta(seconds=1))
    assert early.expiries == 0 and early.reminders == 2  # 2 days before and on the day
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
    result = sweep(db, now=now + timedelta(days=30))
    assert result.reminders == 2
    with transaction(db) as s:
        told = set(s.exec(select(Notification.user_id).where(Notification.kind == "reminder")).all())
    assert told == {nongye.id}


def test_a_failing_row_is_recorded_and_does_not_block_the_rest(make, db, now, monkeypatch):
    _, _, first = _returned_case(make, db, now)
    _, _, second = _returned_case(make, db, now)
    import workflow.sweep as sweep_module

    real_fire = sweep_module.fire

    def failing(**kwargs):
        if kwargs["case_id"] == first.id:
            raise RuntimeError("boom")
        return real_fire(**kwargs)

    monkeypatch.setattr(sweep_module, "fire", failing)
    result = sweep(db, now=now + timedelta(days=60))
    assert result.failed == 1 and result.expiries == 1
    assert reload(db, first.id).state == "returned"
    assert reload(db, second.id).state == "withdrawn"
    with transaction(db) as s:
        statuses = dict(s.connection().execute(sa.select(Deadline.case_id, Deadline.status).where(
            Deadline.kind == "expiry", Deadline.state == "returned")).all())
        assert s.exec(select(AuditEvent).where(AuditEvent.kind == "deadline_failed")).one().case_id == first.id
    assert statuses == {first.id: "failed", second.id: "fired"}


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
