"""催办 in one batch: the units that have not answered a designation in 会审, and the counties of the overdue
rectification orders, are told through the notification rules; one audit event; a double click sends once."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import select

from workflow.core.db import transaction
from workflow.core.engine import fire
from workflow.core.errors import Conflict, Forbidden
from workflow.core.models import AuditEvent, Notification, OutboxMessage
from workflow.notify.chase import plan_opinions, plan_overdue_orders, send_opinions, send_overdue_orders
from workflow.seed import ensure_reference_units, unit_id


@pytest.fixture
def people(make, db, now):
    with transaction(db) as s:
        ensure_reference_units(s, now)
    return {
        "county": make.user("county", county="盂县", username="yx_clerk", email="yx@example.cn"),
        "pd": make.user("county", county="平定县", username="pd_clerk"),
        "office": make.user("office", unit="市工信局（领导小组办公室）", username="office_zhang"),
        "keji": make.user("member", unit="市科技局", username="keji_zhao", email="kj@example.cn"),
        "nongye": make.user("member", unit="市农业农村局", username="nongye_sun", mobile="13800000000"),
        "fagai": make.user("member", unit="市发改委", username="fagai_li"),
    }


@pytest.fixture
def in_consultation(make, db, now, people):
    case = make.case(state="submitted", by=people["county"])
    office, keji = make.actor(people["office"]), make.actor(people["keji"])
    with transaction(db) as s:
        units = [unit_id(s, "市科技局"), unit_id(s, "市农业农村局")]
        fire(session=s, case_id=case.id, trigger="accept", actor=office, now=now, payload={"member_units": units},
             expected_version=case.version)
    with transaction(db) as s:
        fire(session=s, case_id=case.id, trigger="record_opinion", actor=keji, now=now,
             payload={"opinion": "agree"})
    return case


def _notices(db, source_prefix="chase:"):
    with transaction(db) as s:
        return [n for n in s.exec(select(Notification).order_by(Notification.id)).all()
                if n.source_key.startswith(source_prefix)]


def test_the_units_that_have_not_answered_are_reminded_once(db, make, now, people, in_consultation):
    office = make.actor(people["office"])
    later = now + timedelta(days=3)
    with transaction(db) as s:
        plan = plan_opinions(s, actor=office, case_id=in_consultation.id, now=later)
    [item] = plan.items
    assert item.owing == ["市农业农村局"] and item.users == 1 and item.deadline == "会审意见期限"
    with transaction(db) as s:
        send_opinions(s, actor=office, case_id=in_consultation.id, now=later)
    with transaction(db) as s:  # a second confirmation in the same minute (a double click)
        send_opinions(s, actor=office, case_id=in_consultation.id, now=later + timedelta(seconds=20))
    told = _notices(db)
    assert [n.user_id for n in told] == [people["nongye"].id]  # not 市科技局 (answered), not 市发改委 (not asked)
    assert told[0].params["template"] == "chase" and told[0].params["due_date"] == item.due_date
    with transaction(db) as s:
        sms = s.exec(select(OutboxMessage).where(OutboxMessage.source.startswith("chase:"))).all()
        events = s.exec(select(AuditEvent).where(AuditEvent.kind == "reminder_batch_sent")).all()
    assert [(m.user_id, m.channel, m.template) for m in sms] == [(people["nongye"].id, "sms", "chase")]
    assert len(events) == 2 and events[0].actor_id == people["office"].id and events[0].case_id == in_consultation.id
    with transaction(db) as s:  # the next day, the office may remind again
        send_opinions(s, actor=office, case_id=in_consultation.id, now=later + timedelta(days=1))
    assert len(_notices(db)) == 2


def test_only_the_office_chases_and_only_a_case_in_consultation(db, make, now, people, in_consultation):
    with transaction(db) as s, pytest.raises(Forbidden):
        send_opinions(s, actor=make.actor(people["county"]), case_id=in_consultation.id, now=now)
    other = make.case(state="submitted", by=people["county"])
    with transaction(db) as s, pytest.raises(Conflict) as refused:
        send_opinions(s, actor=make.actor(people["office"]), case_id=other.id, now=now)
    assert "不在成员单位会审阶段" in refused.value.zh
    assert _notices(db) == []


def test_every_overdue_order_is_chased_and_the_others_are_not(db, make, now, people):
    late = make.case("rectification", county="盂县", by=people["office"],
                     data={"problem": "厂区扬尘", "severity": "medium", "due_date": "2026-12-10"})
    make.case("rectification", county="平定县", by=people["office"],
              data={"problem": "台账不全", "severity": "low", "due_date": "2027-01-29"})
    office = make.actor(people["office"])
    after = now + timedelta(days=20)  # 17 December: the first order's deadline has passed
    with transaction(db) as s:
        plan = plan_overdue_orders(s, actor=office, now=after)
    assert [(i.case_id, i.owing, i.overdue) for i in plan.items] == [(late.id, ["盂县"], True)]
    with transaction(db) as s:
        send_overdue_orders(s, actor=office, now=after)
    assert [n.user_id for n in _notices(db)] == [people["county"].id]
    with transaction(db) as s, pytest.raises(Conflict):  # nothing overdue yet: nothing to send
        send_overdue_orders(s, actor=office, now=now)
