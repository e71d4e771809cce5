"""A rectification order through a whole life, the clock moved across the 2026 National Day holiday."""

from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine
from sqlmodel import select

from conftest import reload
from workflow.core.calendar import LOCAL_TZ
from workflow.core.db import transaction
from workflow.core.engine import fire
from workflow.core.errors import Unprocessable
from workflow.core.models import Attachment, AuditEvent, Deadline, Notification
from workflow.core.queries import registry_case
from workflow.core.sweep import sweep


def local(day: date, hour: int = 10) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=LOCAL_TZ).astimezone(UTC)


def _designated_town(make, db, county="盂县"):
    town = make.town(county=county)
    with transaction(db) as s:
        record = registry_case(s, town.id)
        from workflow.core.actors import Actor

        fire(session=s, case_id=record.id, trigger="designate", actor=Actor.system(), now=local(date(2026, 1, 5)),
             payload={"designation_number": "阳专镇〔2026〕1号", "designated_date": "2026-01-05",
                      "review_date": "2029-01-05"})
    return town


def test_an_order_issued_before_national_day_from_issue_to_completion(make, db):
    issued_at = local(date(2026, 9, 28))  # Monday before the Mid-Autumn/National Day break
    town = _designated_town(make, db)
    office, leader = make.user("office"), make.user("leader")
    county = make.user("county", county="盂县")
    with time_machine.travel(issued_at, tick=False):
        make.now = datetime.now(UTC)
        order = make.case("rectification", town=town, by=office,
                          data={"problem": "公共服务平台未建成", "severity": "high"})
    assert order.data["due_date"] == "2026-11-13"  # 30 working days: 1-7 October off, Saturday 10 October worked

    with transaction(db) as s:
        reminders = sorted((d.offset_days, d.due_at) for d in s.exec(
            select(Deadline).where(Deadline.case_id == order.id, Deadline.kind == "reminder")))
    assert reminders == [(0, local(date(2026, 11, 13), 9)), (1, local(date(2026, 11, 12), 9)),
                         (3, local(date(2026, 11, 10), 9)), (7, local(date(2026, 11, 4), 9))]

    with time_machine.travel(local(date(2026, 9, 29)), tick=False), transaction(db) as s:
        fire(session=s, case_id=order.id, trigger="acknowledge", actor=make.actor(county), now=datetime.now(UTC))

    fired_on: dict[date, list] = {}
    day = date(2026, 9, 29)
    while day <= date(2026, 11, 16):
        with time_machine.travel(local(day, 10), tick=False):
            result = sweep(db, now=datetime.now(UTC))
        if result.total:
            fired_on[day] = [result.reminders, result.expiries]
        day += timedelta(days=1)
    assert fired_on == {date(2026, 11, 4): [1, 0], date(2026, 11, 10): [1, 0], date(2026, 11, 12): [1, 0],
                        date(2026, 11, 13): [1, 0], date(2026, 11, 14): [0, 1]}
    overdue = reload(db, order.id)
    assert overdue.state == "overdue"
    with transaction(db) as s:
        told = s.exec(select(Notification.user_id, Notification.kind).where(Notification.case_id == order.id)).all()
    assert told.count((county.id, "reminder")) == 4
    assert (county.id, "expired") in told and (office.id, "expired") in told

    with time_machine.travel(local(date(2026, 11, 16)), tick=False), transaction(db) as s:
        fire(session=s, case_id=order.id, trigger="criticise", actor=make.actor(office), now=datetime.now(UTC),
             comment="逾期未建成检验检测公共服务平台，且未申请延期。")
    with time_machine.travel(local(date(2026, 11, 17)), tick=False), transaction(db) as s:
        fire(session=s, case_id=order.id, trigger="approve_criticism", actor=make.actor(leader),
             now=datetime.now(UTC))
    criticised = reload(db, order.id)
    assert criticised.state == "criticised"
    assert criticised.data["criticisms"][0]["number"] == "阳专镇通〔2026〕1号"
    with transaction(db) as s:
        notices = s.exec(select(Attachment).where(Attachment.kind == "criticism_notice")).all()
    assert [(n.case_id, n.town_id) for n in notices] == [(order.id, town.id)]

    with time_machine.travel(local(date(2026, 11, 18)), tick=False), transaction(db) as s:
        fire(session=s, case_id=order.id, trigger="reissue", actor=make.actor(office), now=datetime.now(UTC),
             payload={"due_date": "2026-12-18"})
    reissued = reload(db, order.id)
    assert reissued.state == "rectifying" and reissued.data["due_date"] == "2026-12-18"
    assert reissued.data["original_due_date"] == "2026-11-13"
    with time_machine.travel(local(date(2026, 12, 1)), tick=False), transaction(db) as s:
        fire(session=s, case_id=order.id, trigger="submit_report", actor=make.actor(county), now=datetime.now(UTC),
             payload={"report": "平台已建成并投入使用。"})
        fire(session=s, case_id=order.id, trigger="accept", actor=make.actor(office), now=datetime.now(UTC))
    done = reload(db, order.id)
    assert done.state == "completed" and done.closed_at is not None
    with transaction(db) as s:
        open_rows = s.exec(select(Deadline).where(Deadline.case_id == order.id, Deadline.status == "open")).all()
        trail = [e.trigger for e in s.exec(select(AuditEvent).where(AuditEvent.case_id == order.id,
                                                                      AuditEvent.kind == "transition"))]
    assert open_rows == []
    assert trail == ["acknowledge", "expire", "criticise", "approve_criticism", "reissue", "submit_report", "accept"]


def test_extension_once_and_the_original_deadline_stays_on_record(make, db, now):
    office = make.user("office")
    county = make.user("county")
    order = make.case("rectification", state="rectifying", by=office, data={"problem": "台账不全"})
    with transaction(db) as s:
        fire(session=s, case_id=order.id, trigger="request_extension", actor=make.actor(county), now=now,
             payload={"requested_due_date": "2027-02-26"}, comment="春节期间企业停工")
        fire(session=s, case_id=order.id, trigger="grant_extension", actor=make.actor(office), now=now,
             payload={"due_date": "2027-02-26"})
    granted = reload(db, order.id)
    assert granted.data["due_date"] == "2027-02-26" and granted.data["original_due_date"] == "2027-01-08"
    with transaction(db) as s:
        due = s.exec(select(Deadline).where(Deadline.case_id == order.id, Deadline.kind == "expiry",
                                            Deadline.status == "open")).one()
    assert due.due_date == "2027-02-26"
    with transaction(db) as s, pytest.raises(Unprocessable) as refused:
        fire(session=s, case_id=order.id, trigger="request_extension", actor=make.actor(county), now=now,
             payload={"requested_due_date": "2027-03-31"}, comment="再次申请")
    assert "延期只能申请一次" in refused.value.zh


def test_two_criticisms_in_a_cycle_propose_revocation(make, db):
    town = _designated_town(make, db)
    office, leader = make.user("office"), make.user("leader")
    for day in (date(2026, 3, 2), date(2026, 6, 1)):
        with time_machine.travel(local(day), tick=False):
            make.now = datetime.now(UTC)
            order = make.case("rectification", state="overdue", town=town, by=office, data={"problem": "未整改"})
            with transaction(db) as s:
                fire(session=s, case_id=order.id, trigger="criticise", actor=make.actor(office), now=make.now,
                     comment="逾期未整改")
                fire(session=s, case_id=order.id, trigger="approve_criticism", actor=make.actor(leader),
                     now=make.now)
        with transaction(db) as s:
            state = registry_case(s, town.id).state
        assert state == ("municipal" if day.month == 3 else "revocation_proposed")
    with transaction(db) as s:
        record = registry_case(s, town.id)
    assert "2 次" in record.data["revocation_reason"]
