"""Notifications people expect (issue 14 §7): the county hears that its application was accepted and that the
public notice has started, the office that every opinion is in; and one event gives one message per person
and channel, also when a passing deadline moves the case (the expiry and its transition are one event)."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

import pytest
from sqlmodel import select

from workflow.core.db import transaction
from workflow.core.engine import fire
from workflow.core.models import Notification, OutboxMessage
from workflow.core.sweep import sweep
from workflow.notify.rules import RULES_PATH, RuleError, parse_rules


@pytest.fixture
def people(make):
    return {
        "county": make.user("county", county="盂县", email="clerk@yx.gov.cn", mobile="13800000001"),
        "office": make.user("office", email="office@gxj.yq.gov.cn", mobile="13900000009"),
        "keji": make.user("member", unit="市科技局", email="keji@yq.gov.cn"),
        "nongye": make.user("member", unit="市农业农村局", email="nongye@yq.gov.cn"),
        "leader": make.user("leader", email="leader@yq.gov.cn"),
    }


def _messages(db, case_id, since):
    """(user id, channel) of every in-app notification and outbox row of the case from `since` on."""
    with transaction(db) as s:
        in_app = s.exec(select(Notification.user_id).where(Notification.case_id == case_id,
                                                           Notification.created_at >= since)).all()
        outbox = s.exec(select(OutboxMessage.user_id, OutboxMessage.channel, OutboxMessage.rule).where(
            OutboxMessage.case_id == case_id, OutboxMessage.created_at >= since)).all()
    return Counter([(uid, "in_app") for uid in in_app] + [(uid, ch) for uid, ch, _ in outbox]), {
        rule for *_, rule in outbox}


def test_the_county_is_told_when_its_application_is_accepted(make, db, now, people, complete_application):
    case = make.case("designation", state="submitted", by=people["county"], data=complete_application)
    with transaction(db) as s:
        fire(session=s, case_id=case.id, trigger="accept", actor=make.actor(people["office"]), now=now,
             payload={"member_units": [people["keji"].unit_id]})
    counted, rules = _messages(db, case.id, now)
    county = people["county"].id
    assert {k: v for k, v in counted.items() if k[0] == county} == {
        (county, "in_app"): 1, (county, "email"): 1, (county, "sms"): 1}
    assert "application_accepted" in rules
    with transaction(db) as s:
        text = s.exec(select(Notification).where(Notification.user_id == county)).one().params
    assert text["step"] == "受理并发起会审" and text["state"] == "成员单位会审"


def test_the_office_is_told_once_when_the_last_opinion_is_in(make, db, now, people, complete_application):
    case = make.case("designation", state="submitted", by=people["county"], data=complete_application)
    with transaction(db) as s:
        fire(session=s, case_id=case.id, trigger="accept", actor=make.actor(people["office"]), now=now,
             payload={"member_units": [people["keji"].unit_id, people["nongye"].unit_id]})
    office = people["office"].id
    first = now + timedelta(hours=1)
    with transaction(db) as s:
        fire(session=s, case_id=case.id, trigger="record_opinion", actor=make.actor(people["keji"]), now=first,
             payload={"opinion": "agree"})
    assert _messages(db, case.id, first)[0][(office, "in_app")] == 0  # one of two: nothing yet
    last = now + timedelta(hours=2)
    with transaction(db) as s:
        fire(session=s, case_id=case.id, trigger="record_opinion", actor=make.actor(people["nongye"]), now=last,
             payload={"opinion": "agree"})
    counted, rules = _messages(db, case.id, last)
    assert counted == Counter({(office, "in_app"): 1, (office, "email"): 1})
    assert rules == {"opinions_all_in"}
    with transaction(db) as s:
        params = s.exec(select(Notification).where(Notification.user_id == office,
                                                   Notification.created_at == last)).one().params
    assert (params["step"], params["step_en"]) == ("会审意见已全部提交", "Every opinion is in")  # the rule names it
    with transaction(db) as s:
        (mail,) = s.exec(select(OutboxMessage).where(OutboxMessage.user_id == office,
                                                     OutboxMessage.created_at == last)).all()
    assert (mail.channel, mail.params["step"], mail.params["step_en"]) == (
        "email", "会审意见已全部提交", "Every opinion is in")


def test_the_county_is_told_when_the_public_notice_starts(make, db, now, people, complete_application):
    case = make.case("designation", state="decision", by=people["county"], data=complete_application)
    with transaction(db) as s:
        fire(session=s, case_id=case.id, trigger="approve", actor=make.actor(people["leader"]), now=now)
    counted, rules = _messages(db, case.id, now)
    county = people["county"].id
    assert {k: v for k, v in counted.items() if k[0] == county} == {
        (county, "in_app"): 1, (county, "email"): 1, (county, "sms"): 1}
    assert "publicity_started" in rules


def test_a_deadline_that_moves_the_case_is_one_message_per_person_and_channel(make, db, now, people,
                                                                               complete_application):
    """The public notice ends: the expiry and the step it fires (公示期满 → 待印发认定通知) used to give the
    office two notifications; now one per person and channel, the step's own text first."""
    case = make.case("designation", state="publicity", by=people["county"], data=complete_application)
    later = now + timedelta(days=14)
    sweep(db, now=later)
    counted, rules = _messages(db, case.id, later)
    assert counted and set(counted.values()) == {1}, counted
    office = people["office"].id
    assert counted[(office, "in_app")] == 1 and counted[(office, "email")] == 1
    assert "notice_to_issue" in rules
    with transaction(db) as s:
        shown = s.exec(select(Notification).where(Notification.user_id == office,
                                                  Notification.created_at == later)).one()
    assert shown.params["state"] == "待印发认定通知"


def test_an_expired_order_tells_each_person_once_per_channel(make, db, now, people):
    order = make.case("rectification", state="rectifying", by=people["office"], data={"problem": "台账不全"})
    later = now + timedelta(days=60)
    sweep(db, now=later)
    counted, rules = _messages(db, order.id, later)
    assert set(counted.values()) == {1}, counted
    assert counted[(people["county"].id, "sms")] == 1 and counted[(people["office"].id, "in_app")] == 1
    assert "rectify_overdue" in rules


def test_a_rule_condition_must_be_a_known_guard_on_an_enter_or_trigger_rule():
    text = RULES_PATH.read_text(encoding="utf-8").replace("if: all_opinions_in", "if: every_answer_given")
    with pytest.raises(RuleError) as caught:
        parse_rules(text)
    assert any("when.if: unknown guard 'every_answer_given'" in e for e in caught.value.errors)
    assert all(e.startswith("notifications.yaml: ") for e in caught.value.errors)  # named by the file's own name
