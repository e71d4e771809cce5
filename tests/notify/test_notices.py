"""Who is told what (workflow/notify/rules.py), on a process and rules of our own: each kind of recipient, the first
rule that names a person winning, what a message carries, the e-mail and SMS rows, preferences and quiet hours,
reminders and expiries of the sweep, the rules file's checks, and the notification centre's counts."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from types import SimpleNamespace

import pytest
import sqlalchemy as sa
from sqlmodel import select

from workflow.core import engine
from workflow.core.actors import Actor
from workflow.core.db import transaction
from workflow.core.definitions import parse_definition
from workflow.core.engine import create_case, fire
from workflow.core.models import CaseParty, Deadline, Notification, NotificationPreference, OutboxMessage, User
from workflow.core.sweep import sweep
from workflow.notify import rules as notices
from workflow.notify.rules import (
    Preferences,
    RuleError,
    apply_rules,
    notify,
    parse_clock,
    parse_rules,
    preferences_of,
    quiet_until,
    recipient_ids,
    recipients,
    recipients_by_role,
)

PROCESS = """
key: noticetest
version: 1
label: {zh: 通知测试, en: Notice test}
create_roles: [office]
initial: draft
states:
  draft:
    label: {zh: 拟稿, en: Drafting}
  review:
    label: {zh: 征求意见, en: Consulting}
    deadlines:
      - {name: reply, label: {zh: 答复期限, en: Reply deadline}, working_days: 5, on_expiry: lapse,
         reminders: [2, 0]}
  lapsed:
    label: {zh: 已逾期, en: Lapsed}
    final: true
transitions:
  - {trigger: send, label: {zh: 发出, en: Send}, source: draft, dest: review, roles: [office]}
  - {trigger: answer, label: {zh: 答复, en: Answer}, source: review, dest: review, roles: [office]}
  - {trigger: lapse, label: {zh: 逾期, en: Lapse}, source: review, dest: lapsed, system: true}
"""

RULES = """
version: 1
templates:
  t_event: {label: {zh: 事件, en: Event}, sms_params: [number, step]}
  t_deadline: {label: {zh: 期限, en: Deadline}}
rules:
  - {name: created, label: {zh: 新建, en: Created}, process: noticetest, when: {enter: draft},
     recipients: [office], channels: [in_app], template: t_event}
  - {name: sent_out, label: {zh: 发出, en: Sent}, process: noticetest, when: {enter: review},
     recipients: [county, member_units], channels: [in_app, email, sms], template: t_event}
  - {name: sent_office, label: {zh: 发出办公室, en: Sent (office)}, process: noticetest, when: {enter: review},
     recipients: [office, county], channels: [in_app], template: t_deadline}
  - {name: answered, label: {zh: 答复, en: Answered}, process: noticetest, when: {trigger: answer},
     recipients: [pending_units, leader], channels: [in_app, sms], template: t_event}
  - {name: reminded, label: {zh: 提醒, en: Reminded}, process: noticetest, when: {reminder: reply, offsets: [2]},
     recipients: [county], channels: [in_app, email], template: t_deadline}
  - {name: expired, label: {zh: 逾期, en: Expired}, process: noticetest, when: {expiry: reply},
     recipients: [office], channels: [email], template: t_deadline}
"""


@pytest.fixture
def process(isolated_catalog):
    definition = parse_definition(PROCESS, "noticetest.yaml")
    isolated_catalog.add(definition)
    notices.use_rules(parse_rules(RULES, "rules.yaml"))
    yield definition
    notices.use_rules(None)


@pytest.fixture
def people(make):
    """Two users of the case's county (one without any address), one of another county, office, leader, and
    three member units of which two are asked about the case; one inactive office user."""
    county = make.user("county", county="盂县", email="yx@county.gov.cn", mobile="13800000001")
    bare = make.user("county", county="盂县")
    other = make.user("county", county="城区", email="cq@county.gov.cn", mobile="13800000002")
    office = make.user("office", email="office@gxj.gov.cn", mobile="13900000009")
    leader = make.user("leader", mobile="13900000008")
    keji = make.user("member", unit="市科技局", email="kj@gov.cn", mobile="13700000001")
    nongye = make.user("member", unit="市农业农村局", email="ny@gov.cn")
    fagai = make.user("member", unit="市发改委", email="fg@gov.cn")
    gone = make.user("office", email="gone@gxj.gov.cn")
    with transaction(make.db) as s:
        s.connection().execute(sa.update(User.__table__).where(User.__table__.c.id == gone.id).values(is_active=False))
    return {"county": county, "bare": bare, "other": other, "office": office, "leader": leader, "keji": keji,
            "nongye": nongye, "fagai": fagai, "gone": gone, "office_actor": make.actor(office)}


def _new_case(db, make, now, people):
    town = make.town(county="盂县")
    with transaction(db) as s:
        case = create_case(session=s, definition_key="noticetest", actor=people["office_actor"], now=now,
                           town_id=town.id, title="关于某镇的征求意见")
        for who, answered in (("keji", None), ("nongye", now)):
            s.add(CaseParty(case_id=case.id, unit_id=people[who].unit_id, purpose="consultation", created_at=now,
                            responded_at=answered))
    return case


def _in_app(db, **where):
    with transaction(db) as s:
        query = select(Notification).order_by(Notification.id)
        for key, value in where.items():
            query = query.where(getattr(Notification, key) == value)
        return list(s.exec(query).all())


def _outbox(db):
    with transaction(db) as s:
        return list(s.exec(select(OutboxMessage).order_by(OutboxMessage.id)).all())


# --- recipients ------------------------------------------------------------------------------------------------


def test_each_kind_of_recipient(db, make, now, people, process):
    case = _new_case(db, make, now, people)
    ids = {name: user.id for name, user in people.items() if name != "office_actor"}
    with transaction(db) as s:
        conn = s.connection()

        def told(*selectors):
            return recipient_ids(conn, case.id, case.county_id, selectors)

        assert told("county") == [ids["county"], ids["bare"]]  # active users of the case's county only
        assert told("office") == [ids["office"]]  # the inactive office user is left out
        assert told("leader") == [ids["leader"]]
        assert told("member_units") == [ids["keji"], ids["nongye"]]  # the units asked, not 市发改委
        assert told("pending_units") == [ids["keji"]]  # those that have not answered
        assert told("leader", "county") == [ids["county"], ids["bare"], ids["leader"]]  # by id, once each
        assert told() == []
        assert recipients(s, case, ["county", "pending_units"]) == [ids["county"], ids["bare"], ids["keji"]]
        assert recipients_by_role(s, "office") == [ids["office"]]
        assert recipients_by_role(s, "member") == [ids["keji"], ids["nongye"], ids["fagai"]]
        other_case = recipient_ids(conn, case.id + 1, case.county_id, ("member_units",))
        assert other_case == []  # the units asked about this case, not about another
        with pytest.raises(ValueError, match="unknown recipients 'mayor'"):
            told("mayor")


def test_a_seat_holder_is_told_what_the_seat_is_told_while_the_seat_is_active(db, make, now, people, process):
    """The roster's seats (workflow.accounts.seats): whoever holds an active seat is told what the role the seat
    acts as is told, for the seat's own unit only: the county head's seat hears its county's cases, a member unit's
    liaison the cases that unit is asked about, the office's deputy from another bureau what the office hears."""
    from workflow.accounts import seats

    admin = Actor(user_id=None, name="管理员", role="admin", unit_id=None, unit_name=None)
    make.unit("市工信局", "office")
    make.unit("阳泉市专业镇高质量发展领导小组", "leading_group")
    holders = {name: make.user("member", unit="市文旅局") for name in (
        "yx_head", "cq_head", "deputy", "vice_mayor", "keji_liaison", "fagai_liaison", "idle")}
    case = _new_case(db, make, now, people)
    units = {name: make.unit(name, "county" if name in ("盂县", "城区") else "member").id
             for name in ("盂县", "城区", "市农业农村局", "市科技局", "市发改委", "市文旅局", "市商务局")}
    with transaction(db) as s:
        def seat(position, title, unit, holder, active=True):
            row = seats.create_seat(s, actor=admin, position=position, title=title, now=now,
                                    unit_id=units[unit] if unit else None)
            if holder:
                seats.assign(s, actor=admin, seat_id=row.id, user_id=holders[holder].id, now=now)
            if not active:
                seats.set_seat_active(s, actor=admin, seat_id=row.id, active=False, now=now)

        seat("member", "盂县县长", "盂县", "yx_head")
        seat("member", "城区区长", "城区", "cq_head")
        seat("office_deputy", "市农业农村局分管负责人", "市农业农村局", "deputy")
        seat("deputy_leader", "市委常委、副市长", None, "vice_mayor")
        seat("liaison", "市科技局联络员", "市科技局", "keji_liaison")  # asked, has not answered
        seat("liaison", "市发改委联络员", "市发改委", "fagai_liaison")  # not asked about the case
        seat("office_deputy", "市商务局分管负责人", "市商务局", None)  # vacant
        seat("office_deputy", "市文旅局分管负责人", "市文旅局", None, active=False)  # retired: vacant
    ids = {name: user.id for name, user in {**people, **holders}.items() if name != "office_actor"}
    with transaction(db) as s:
        conn = s.connection()

        def told(*selectors):
            return recipient_ids(conn, case.id, case.county_id, selectors)

        assert told("county") == [ids["county"], ids["bare"], ids["yx_head"]]  # not 城区's head
        assert told("office") == [ids["office"], ids["deputy"]]
        assert told("leader") == [ids["leader"], ids["vice_mayor"]]
        assert told("member_units") == [ids["keji"], ids["nongye"], ids["keji_liaison"]]
        assert told("pending_units") == [ids["keji"], ids["keji_liaison"]]
        assert recipients_by_role(s, "office") == [ids["office"], ids["deputy"]]
        assert recipients_by_role(s, "leader") == [ids["leader"], ids["vice_mayor"]]
        assert recipients_by_role(s, "county") == sorted([ids["county"], ids["bare"], ids["other"], ids["yx_head"],
                                                          ids["cq_head"]])


# --- what a step tells, and to whom ----------------------------------------------------------------------------


def test_a_new_case_tells_the_rules_of_its_first_state(db, make, now, people, process):
    case = _new_case(db, make, now, people)
    (created,) = _in_app(db, case_id=case.id)
    assert (created.user_id, created.kind, created.source_key) == (
        people["office"].id, "event", f"case:{case.id}:v1:u{people['office'].id}")
    assert created.params == {"number": case.number, "title": "关于某镇的征求意见", "process": "通知测试",
                              "process_en": "Notice test", "state": "拟稿", "state_en": "Drafting", "step": "新建",
                              "step_en": "created", "template": "t_event"}
    assert _outbox(db) == []  # in-app only


def test_a_new_case_tells_a_conditioned_rule_of_its_first_state_only_when_its_guard_passes(db, make, now, people,
                                                                                          process):
    notices.use_rules(parse_rules(RULES.replace("process: noticetest, when: {enter: draft}",
                                                "process: noticetest, when: {enter: draft, if: all_opinions_in}"),
                                  "rules.yaml"))
    case = _new_case(db, make, now, people)  # no unit consulted yet: not every opinion is in
    assert _in_app(db, case_id=case.id) == []


def test_apply_rules_counts_the_in_app_messages_of_every_rule(db, make, now, people, process):
    case = _new_case(db, make, now, people)
    ruleset = notices.rules()
    matched = ruleset.matching("noticetest", "enter", "review")
    assert [r.name for r in matched] == ["sent_out", "sent_office"]
    with transaction(db) as s:
        written = apply_rules(s.connection(), matched, case_id=case.id, county_id=case.county_id, kind="event",
                              params={"number": case.number}, source="count-test", now=now)
    # 盂县's two users, the two units asked (sent_out), and the office (sent_office): one message each
    assert written == 5 == len([n for n in _in_app(db, case_id=case.id) if n.source_key.startswith("count-test:")])


def test_a_step_tells_each_person_once_by_the_first_rule_that_names_them(db, make, now, people, process):
    case = _new_case(db, make, now, people)
    with transaction(db) as s:
        fire(session=s, case_id=case.id, trigger="send", actor=people["office_actor"], now=now,
             comment="请于期限内答复。" + "详" * 400)
    source = f"case:{case.id}:v2"
    told = {(n.user_id, n.params["template"]) for n in _in_app(db, case_id=case.id) if n.source_key.startswith(source)}
    # the county users are named by both rules: the first (t_event) wins; the office only by the second
    assert told == {(people["county"].id, "t_event"), (people["bare"].id, "t_event"), (people["keji"].id, "t_event"),
                    (people["nongye"].id, "t_event"), (people["office"].id, "t_deadline")}
    params = _in_app(db, case_id=case.id, user_id=people["county"].id)[-1].params
    assert params == {"number": case.number, "title": "关于某镇的征求意见", "process": "通知测试",
                      "process_en": "Notice test", "state": "征求意见", "state_en": "Consulting", "step": "发出",
                      "step_en": "Send", "from_state": "拟稿", "from_state_en": "Drafting",
                      "comment": ("请于期限内答复。" + "详" * 400)[:300], "due_date": "2026-12-04",
                      "deadline": "答复期限", "deadline_en": "Reply deadline", "template": "t_event"}
    rows = [(o.user_id, o.channel) for o in _outbox(db)]
    # e-mail and SMS where the person has the address; the county user without any gets in-app only
    assert rows == [(people["county"].id, "email"), (people["county"].id, "sms"), (people["keji"].id, "email"),
                    (people["keji"].id, "sms"), (people["nongye"].id, "email")]
    first = _outbox(db)[0]
    assert (first.idempotency_key, first.source, first.rule, first.template, first.category, first.case_id,
            first.status, first.attempts, first.retries, first.next_attempt_at, first.created_at) == (
        f"{source}:u{people['county'].id}:email", source, "sent_out", "t_event", "event", case.id, "queued", 0, 0,
        now, now)
    assert first.params == {k: v for k, v in params.items() if k != "template"}


def test_a_step_that_stays_tells_with_the_open_deadline_of_its_state(db, make, now, people, process):
    case = _new_case(db, make, now, people)
    with transaction(db) as s:
        fire(session=s, case_id=case.id, trigger="send", actor=people["office_actor"], now=now)
    later = now + timedelta(hours=3)  # 13:00 in Yangquan: no quiet hours
    with transaction(db) as s:
        fire(session=s, case_id=case.id, trigger="answer", actor=people["office_actor"], now=later)
    source = f"case:{case.id}:v3"
    told = _in_app(db, case_id=case.id)
    answered = [n for n in told if n.source_key.startswith(source)]
    assert sorted(n.user_id for n in answered) == sorted([people["keji"].id, people["leader"].id])
    params = answered[0].params
    assert (params["due_date"], params["deadline"], params["from_state"], "comment" in params) == (
        "2026-12-04", "答复期限", "征求意见", False)
    assert [(o.user_id, o.channel, o.category, o.next_attempt_at) for o in _outbox(db) if o.source == source] == [
        (people["leader"].id, "sms", "event", later), (people["keji"].id, "sms", "event", later)]


def test_an_sms_waits_out_the_quiet_hours_and_an_email_does_not(db, make, now, people, process):
    case = _new_case(db, make, now, people)
    night = datetime(2026, 11, 27, 15, 0, tzinfo=UTC)  # 23:00 in Yangquan
    with transaction(db) as s:
        fire(session=s, case_id=case.id, trigger="send", actor=people["office_actor"], now=night)
    seven = datetime(2026, 11, 27, 23, 0, tzinfo=UTC)  # 07:00 the next morning in Yangquan
    due = {(o.user_id, o.channel): o.next_attempt_at for o in _outbox(db)}
    assert due[(people["county"].id, "sms")] == seven and due[(people["county"].id, "email")] == night


def test_preferences_turn_channels_off_but_never_the_in_app_message(db, make, now, people, process):
    with transaction(db) as s:
        s.add(NotificationPreference(user_id=people["county"].id, event_email=False, event_sms=False,
                                     quiet_start="00:00", quiet_end="00:00", updated_at=now))
        s.add(NotificationPreference(user_id=people["keji"].id, event_sms=False, updated_at=now))
    case = _new_case(db, make, now, people)
    with transaction(db) as s:
        fire(session=s, case_id=case.id, trigger="send", actor=people["office_actor"], now=now)
    assert [(o.user_id, o.channel) for o in _outbox(db)] == [(people["keji"].id, "email"),
                                                            (people["nongye"].id, "email")]
    assert people["county"].id in {n.user_id for n in _in_app(db, case_id=case.id)}
    with transaction(db) as s:
        found = preferences_of(s, [people["county"].id, people["leader"].id])
        assert preferences_of(s, []) == {}
    assert found[people["county"].id] == Preferences(event_email=False, event_sms=False, quiet_start="00:00",
                                                     quiet_end="00:00")
    assert found[people["leader"].id] == Preferences()
    off = Preferences(deadline_email=False, deadline_sms=False, event_email=False, event_sms=False)
    assert off.wants("in_app", "event") and off.wants("in_app", "deadline")
    assert not off.wants("email", "event") and Preferences(deadline_sms=False).wants("sms", "event")


# --- reminders and expiries ------------------------------------------------------------------------------------


def test_reminders_and_expiries_follow_the_rules_for_their_offset(db, make, now, people, process):
    case = _new_case(db, make, now, people)
    with transaction(db) as s:
        fire(session=s, case_id=case.id, trigger="send", actor=people["office_actor"], now=now)
    with transaction(db) as s:
        rows = s.exec(select(Deadline).where(Deadline.case_id == case.id).order_by(Deadline.due_at)).all()
    two_before, on_the_day, expiry = rows
    sweep(db, now=two_before.due_at)
    reminded = _outbox(db)[5:]
    assert [(o.user_id, o.channel, o.rule, o.category) for o in reminded] == [
        (people["county"].id, "email", "reminded", "deadline")]
    assert reminded[0].source == f"deadline:{two_before.id}"
    sweep(db, now=on_the_day.due_at)  # no rule for the day itself: only the sweep's own in-app message
    assert len(_outbox(db)) == 6
    assert {n.user_id for n in _in_app(db, source_key=f"deadline:{on_the_day.id}:u{people['county'].id}")} == {
        people["county"].id}
    sweep(db, now=expiry.due_at)
    assert [(o.user_id, o.channel, o.rule) for o in _outbox(db)[6:]] == [(people["office"].id, "email", "expired")]


def test_notify_counts_what_it_writes_and_a_cause_is_told_once(db, make, now, people, process):
    case = _new_case(db, make, now, people)
    with transaction(db) as s:
        fire(session=s, case_id=case.id, trigger="send", actor=people["office_actor"], now=now)
    with transaction(db) as s:
        reminder = s.exec(select(Deadline).where(Deadline.case_id == case.id, Deadline.offset_days == 2)).one()
    params = {"number": case.number}
    source = f"deadline:{reminder.id}"
    given = SimpleNamespace(id=reminder.id, kind="reminder", name="reply", offset_days=2, definition_key="noticetest",
                            county_id=case.county_id)  # as the sweep's claimed row carries it
    with transaction(db) as s:  # the deadline row is read when not given; the rules add the county users
        assert notify(s, user_ids=[people["leader"].id], case_id=case.id, kind="reminder", params=params,
                      source=source, now=now) == 3
    with transaction(db) as s:
        assert notify(s, user_ids=[people["leader"].id], case_id=case.id, kind="reminder", params=params,
                      source=source, now=now, deadline=given) == 0
    with transaction(db) as s:  # a row of another deadline given: this one's is read (offset 0: no rule)
        other = s.exec(select(Deadline).where(Deadline.case_id == case.id, Deadline.offset_days == 0)).one()
        assert notify(s, user_ids=[], case_id=case.id, kind="reminder", params=params,
                      source=f"deadline:{other.id}", now=now, deadline=given) == 0
    with transaction(db) as s:  # the row given for this deadline is trusted as it is (it says: 2 days before)
        trusted = SimpleNamespace(**{**vars(given), "id": other.id})
        assert notify(s, user_ids=[], case_id=case.id, kind="reminder", params=params,
                      source=f"deadline:{other.id}", now=now, deadline=trusted) == 2
    told = [n for n in _in_app(db, kind="reminder") if n.source_key.startswith(f"{source}:")]
    assert sorted(n.user_id for n in told) == sorted([people["leader"].id, people["county"].id, people["bare"].id])
    assert {n.case_id for n in told} == {case.id} and all(n.params == params for n in told)  # no template named
    assert [(o.user_id, o.channel, o.case_id) for o in _outbox(db) if o.source == source] == [
        (people["county"].id, "email", case.id)]
    with transaction(db) as s:  # no case, no deadline: in-app only, whatever the source looks like
        assert notify(s, user_ids=[people["office"].id], case_id=None, kind="calendar_missing",
                      params={"year": 2027}, source="calendar-missing:2027:warned-2026", now=now) == 1
        assert notify(s, user_ids=[], case_id=case.id, kind="reminder", params=params,
                      source=f"deadline:{reminder.id + 100}", now=now) == 0  # a deadline that does not exist
        # a cause of another kind whose number happens to be the deadline's adds none of the deadline's rules
        assert notify(s, user_ids=[], case_id=case.id, kind="incident", params=params,
                      source=f"incident:{reminder.id}", now=now) == 0


def test_no_rule_matched_writes_nothing(db, make, now, people, process):
    with transaction(db) as s:
        assert apply_rules(s.connection(), [], case_id=1, county_id=1, kind="event", params={}, source="x",
                           now=now) == 0
    notices.use_rules(parse_rules(RULES.replace("process: noticetest, when: {enter: draft}",
                                                "process: noticetest, when: {enter: lapsed}"), "rules.yaml"))
    _new_case(db, make, now, people)
    assert _in_app(db) == []


def test_the_hooks_are_installed_once(process):
    notices.install()
    notices.install()
    assert engine.AFTER_FIRE.count(notices._after_fire) == 1
    assert engine.AFTER_CREATE.count(notices._case_created) == 1


# --- quiet hours ------------------------------------------------------------------------------------------------


def _utc(hour, minute=0):
    """A moment of 27 November 2026 given in Yangquan time."""
    return datetime(2026, 11, 27, hour, minute, tzinfo=UTC) - timedelta(hours=8) if hour >= 8 else \
        datetime(2026, 11, 26, hour + 16, minute, tzinfo=UTC)


def test_quiet_hours_over_midnight_and_within_a_day():
    seven_next = datetime(2026, 11, 27, 23, 0, tzinfo=UTC)  # 07:00 on the 28th in Yangquan
    assert quiet_until(_utc(22, 0), "22:00", "07:00") == seven_next  # from the first minute
    assert quiet_until(_utc(21, 59), "22:00", "07:00") is None
    assert quiet_until(_utc(7, 0), "22:00", "07:00") is None  # the end is no longer quiet
    assert quiet_until(_utc(6, 59), "22:00", "07:00") == datetime(2026, 11, 26, 23, 0, tzinfo=UTC)
    assert quiet_until(_utc(12, 0), "12:00", "14:00") == datetime(2026, 11, 27, 6, 0, tzinfo=UTC)
    assert quiet_until(_utc(13, 59), "12:00", "14:00") == datetime(2026, 11, 27, 6, 0, tzinfo=UTC)
    assert quiet_until(_utc(14, 0), "12:00", "14:00") is None  # its end is no longer quiet
    assert quiet_until(_utc(15, 0), "12:00", "14:00") is None  # a window within the day, after it
    assert quiet_until(_utc(11, 0), "12:00", "14:00") is None
    assert quiet_until(_utc(23, 0), "07:00", "07:00") is None  # the same start and end: never quiet


def test_clock_times_are_hours_and_two_digit_minutes():
    assert parse_clock("7:05") == time(7, 5) and parse_clock(" 22:00 ") == time(22, 0)
    assert parse_clock("00:00") == time(0, 0) and parse_clock("23:59") == time(23, 59)
    for bad in ("7:5", "07", "ab:00", "", "07:00:00", "24:00", "23:60", "99:99", "2147483647:00"):
        with pytest.raises(ValueError) as raised:
            parse_clock(bad)
        assert str(raised.value) == bad


# --- the rules file ---------------------------------------------------------------------------------------------


def test_rules_are_read_as_written(process):
    ruleset = parse_rules(RULES, "rules.yaml")
    assert {name: (t.label.zh, t.label.en, t.sms_params) for name, t in ruleset.templates.items()} == {
        "t_event": ("事件", "Event", ("number", "step")), "t_deadline": ("期限", "Deadline", ())}
    reminded = ruleset.by_name("reminded")
    assert (reminded.label.zh, reminded.label.en, reminded.process, reminded.on, reminded.target, reminded.offsets,
            reminded.recipients, reminded.channels, reminded.template, reminded.order, reminded.category) == (
        "提醒", "Reminded", "noticetest", "reminder", "reply", frozenset({2}), ("county",), ("in_app", "email"),
        "t_deadline", 4, "deadline")
    assert ruleset.by_name("nobody") is None
    assert [r.name for r in ruleset.matching("noticetest", "enter", "review")] == ["sent_out", "sent_office"]
    assert ruleset.matching("noticetest", "reminder", "reply", 0) == []
    assert ruleset.by_name("expired").offsets is None and ruleset.by_name("answered").category == "event"


BROKEN = """
version: 1
colour: red
templates:
  bare: just a name
  t: {label: {zh: 模板, en: T}, sms_params: [number, 2nd], colour: red}
  u: {label: {zh: 模板}, sms_params: number}
rules:
  - just a rule
  - {name: 2nd, label: {zh: 乙, en: B}, process: noticetest, when: {enter: review, offsets: [1]},
     recipients: county, channels: email, template: t, colour: red}
  - {name: c, label: {zh: 丙, en: C}, process: noticetest, when: {reminder: reply, offsets: [-1, x]},
     recipients: [], channels: [], template: t}
  - {name: d, label: {zh: 丁, en: D}, process: noticetest, when: {reminder: reply, offsets: 2, colour: red},
     recipients: [county], channels: [email], template: t}
  - {name: e, label: {zh: 戊, en: E}, process: noticetest, when: just enter,
     recipients: [county], channels: [email], template: t}
  - {name: f, label: {zh: 己, en: F}, process: noticetest, when: {reminder: reply, if: all_opinions_in},
     recipients: [county], channels: [email], template: t}
  - {name: g, label: {zh: 庚, en: G}, process: noticetest, when: {chase: nothing},
     recipients: [county], channels: [email], template: t}
  - {name: h, label: {zh: 辛, en: H}, process: noticetest, when: {enter: review, if: no_such_guard},
     recipients: [county], channels: [email], template: t}
  - {name: i, label: {zh: 壬, en: I}, process: noticetest, when: {trigger: answer, if: 3},
     recipients: [county], channels: [email], template: t}
"""


def test_broken_rules_name_every_other_problem(process):
    with pytest.raises(RuleError) as raised:
        parse_rules(BROKEN, "broken.yaml")
    assert raised.value.errors == [
        "broken.yaml: colour: unknown key",
        "broken.yaml: templates.bare: must be a mapping",
        "broken.yaml: templates.t.colour: unknown key",
        "broken.yaml: templates.t.sms_params: must be a list of parameter names",
        "broken.yaml: templates.u.sms_params: must be a list of parameter names",
        "broken.yaml: templates.u.label: missing label (needs zh and en)",
        "broken.yaml: rules[0]: must be a mapping",
        "broken.yaml: rules[1] (2nd).colour: unknown key",
        "broken.yaml: rules[1] (2nd).name: must be an identifier",
        "broken.yaml: rules[1] (2nd).when.offsets: unknown key",
        "broken.yaml: rules[1] (2nd).recipients: must be a list of county, office, leader, member_units, "
        "pending_units",
        "broken.yaml: rules[1] (2nd).channels: must be a list of in_app, email, sms",
        "broken.yaml: rules[2] (c).when.offsets: must be a list of working-day offsets",
        "broken.yaml: rules[2] (c).recipients: must be a list of county, office, leader, member_units, "
        "pending_units",
        "broken.yaml: rules[2] (c).channels: must be a list of in_app, email, sms",
        "broken.yaml: rules[3] (d).when.colour: unknown key",
        "broken.yaml: rules[3] (d).when.offsets: must be a list of working-day offsets",
        "broken.yaml: rules[4] (e).when: must name exactly one of enter, trigger, reminder, expiry, chase",
        "broken.yaml: rules[5] (f).when.if: unknown key",  # a condition only on entering a state or a step
        "broken.yaml: rules[6] (g).when.chase: unknown deadline 'nothing'",
        "broken.yaml: rules[7] (h).when.if: unknown guard 'no_such_guard'",
        "broken.yaml: rules[8] (i).when.if: unknown guard 3",
    ]
    assert str(raised.value) == "\n".join(raised.value.errors)
    with pytest.raises(RuleError) as raised:
        parse_rules("- a list\n", "list.yaml")
    assert raised.value.errors == ["list.yaml: (file): must be a mapping"]


def test_the_rules_file_is_read_once_and_again_on_request(tmp_path, process):
    path = tmp_path / "mine.yaml"
    path.write_text(RULES, encoding="utf-8")
    loaded = notices._Loaded(path)
    first = loaded.get()
    assert first.processes == parse_rules(RULES, "rules.yaml").processes  # the file's rules, read on first use
    path.write_text("rules: [x]\n", encoding="utf-8")
    assert loaded.get() is first  # read once
    loaded.use(None)
    with pytest.raises(RuleError) as raised:
        loaded.get()
    assert raised.value.errors == ["mine.yaml: rules[0]: must be a mapping"]
    mine = parse_rules(RULES, "rules.yaml")
    notices.use_rules(mine)
    assert notices.rules() is mine


# --- the notification centre ------------------------------------------------------------------------------------


def test_unread_counts_and_marking_read(db, make, now, people, process):
    case = _new_case(db, make, now, people)
    with transaction(db) as s:
        fire(session=s, case_id=case.id, trigger="send", actor=people["office_actor"], now=now)
    office, county = people["office"].id, people["county"].id
    mine = _in_app(db, user_id=office)
    later = now + timedelta(minutes=5)
    with transaction(db) as s:
        assert (notices.unread_count(s, office), notices.unread_count(s, county)) == (2, 1)
        assert notices.mark_read(s, user_id=county, now=later, notification_id=mine[0].id) == 0  # not theirs
        assert notices.mark_read(s, user_id=office, now=later, notification_id=mine[0].id) == 1
        assert notices.unread_count(s, office) == 1
        assert notices.mark_read(s, user_id=office, now=later) == 1  # every other one
        assert notices.mark_read(s, user_id=office, now=later) == 0
        assert (notices.unread_count(s, office), notices.unread_count(s, county)) == (0, 1)
    assert {n.read_at for n in _in_app(db, user_id=office)} == {later}


def test_a_system_actor_is_not_a_recipient(db, make, now, people, process):
    """The sweep acts as the system: nobody with that role is ever told."""
    assert Actor.system().role == "system"
    case = _new_case(db, make, now, people)
    with transaction(db) as s:
        assert recipient_ids(s.connection(), case.id, case.county_id, ("office", "leader")) == [
            people["office"].id, people["leader"].id]


def test_a_deadline_kept_in_a_field_is_told_with_the_field_s_date_also_when_a_step_sets_another(
        db, make, now, people, isolated_catalog):
    """A deadline a person sets (a field of the case, e.g. a problem's 办理期限): entering the state tells the date
    the rows were planned with, and a step that stays and sets another date tells that date, not the old row's."""
    text = (PROCESS.replace("working_days: 5, on_expiry: lapse,",
                            "field: reply_due_date, working_days: 5, on_expiry: lapse,")
            .replace("source: review, dest: review, roles: [office]}",
                     "source: review, dest: review, roles: [office], accepts: [reply_due_date]}"))
    assert text.count("reply_due_date") == 2
    isolated_catalog.add(parse_definition(text, "noticetest.yaml"))
    notices.use_rules(parse_rules(RULES, "rules.yaml"))
    try:
        case = _new_case(db, make, now, people)
        with transaction(db) as s:
            fire(session=s, case_id=case.id, trigger="send", actor=people["office_actor"], now=now)
        with transaction(db) as s:
            fire(session=s, case_id=case.id, trigger="answer", actor=people["office_actor"], now=now,
                 payload={"reply_due_date": "2026-12-11"})
    finally:
        notices.use_rules(None)
    sent = [n for n in _in_app(db, case_id=case.id, user_id=people["office"].id)
            if n.source_key.startswith(f"case:{case.id}:v2")]
    answered = [n for n in _in_app(db, case_id=case.id, user_id=people["leader"].id)
                if n.source_key.startswith(f"case:{case.id}:v3")]
    assert [n.params["due_date"] for n in sent] == ["2026-12-04"]  # five working days, written into the field
    assert [(n.params["due_date"], n.params["deadline"]) for n in answered] == [("2026-12-11", "答复期限")]


def test_entering_a_state_tells_its_deadline_also_when_it_has_no_reminders(db, make, now, people, isolated_catalog):
    text = PROCESS.replace("on_expiry: lapse,\n         reminders: [2, 0]}", "on_expiry: lapse}")
    assert "reminders" not in text
    isolated_catalog.add(parse_definition(text, "noticetest.yaml"))
    notices.use_rules(parse_rules(RULES.replace("when: {reminder: reply, offsets: [2]}", "when: {expiry: reply}"),
                                  "rules.yaml"))
    try:
        case = _new_case(db, make, now, people)
        with transaction(db) as s:
            fire(session=s, case_id=case.id, trigger="send", actor=people["office_actor"], now=now)
    finally:
        notices.use_rules(None)
    sent = [n for n in _in_app(db, case_id=case.id, user_id=people["office"].id)
            if n.source_key.startswith(f"case:{case.id}:v2")]
    assert [(n.params["due_date"], n.params["deadline"]) for n in sent] == [("2026-12-04", "答复期限")]


def test_a_notice_reminder_counts_every_in_app_message_it_writes(db, make, now, people):
    """The shipped rule of a notice not acknowledged tells the county's users in-app, by e-mail and by SMS; notify
    counts the in-app messages it wrote, its own and the rule's, each person once."""
    notices.use_rules(None)
    county_id = people["county"].unit_id
    with transaction(db) as s:
        assert notify(s, user_ids=[people["office"].id], case_id=None, kind="receipt_reminder",
                      params={"notice": "通知"}, source="receipt:1", now=now, county_id=county_id) == 3
        assert notify(s, user_ids=[], case_id=None, kind="receipt_reminder", params={"notice": "通知"},
                      source="receipt:2", now=now, county_id=county_id) == 2  # 盂县's two users, by the rule
    county, bare = people["county"].id, people["bare"].id
    told = _in_app(db, kind="receipt_reminder")
    assert sorted(n.user_id for n in told) == sorted([people["office"].id, county, bare, county, bare])
    assert all(n.params == {"notice": "通知"} for n in told)
    mailed = sorted((m.user_id, m.channel, m.params["notice"]) for m in _outbox(db) if m.source == "receipt:2")
    assert mailed == [(county, "email", "通知"), (county, "sms", "通知")]  # 盂县's second user has no address
