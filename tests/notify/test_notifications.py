"""Notification rules as data, outbox rows written in the transaction of their cause, preferences, quiet
hours, templates within two SMS segments, and mobile numbers checked when users are saved."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest
import sqlalchemy as sa
from sqlmodel import select

from notifications import compose
from notifications import preferences as preference_service
from workflow.accounts.contacts import normalize_mobile
from workflow.core import audit
from workflow.core.calendar import local_moment
from workflow.core.catalog import CATALOG
from workflow.core.db import transaction
from workflow.core.engine import fire
from workflow.core.errors import Forbidden, Unprocessable
from workflow.core.models import AuditEvent, Deadline, Notification, OutboxMessage, User
from workflow.core.sweep import sweep
from workflow.notify.rules import RULES_PATH, Preferences, RuleError, parse_rules, quiet_until, rules

ORDER = {"problem": "检验检测公共服务平台未建成"}


def _outbox(db, **where):
    with transaction(db) as s:
        query = select(OutboxMessage).order_by(OutboxMessage.id)
        for key, value in where.items():
            query = query.where(getattr(OutboxMessage, key) == value)
        return s.exec(query).all()


def _reminder(db, case_id, offset):
    with transaction(db) as s:
        return s.exec(select(Deadline).where(Deadline.case_id == case_id, Deadline.kind == "reminder",
                                             Deadline.offset_days == offset, Deadline.status == "open")).one()


def _order(make, *, county=("13800000001",), county_name="盂县"):
    office = make.user("office", email="office@gxj.yq.gov.cn", mobile="13900000009")
    users = [make.user("county", county=county_name, email=f"c{i}@county.yq.gov.cn", mobile=m)
             for i, m in enumerate(county)]
    order = make.case("rectification", state="rectifying", by=office, data=dict(ORDER), county=county_name)
    return office, users, order


# --- the rules file --------------------------------------------------------------------------------------------


def test_the_rules_file_loads_and_names_only_what_the_definitions_have():
    ruleset = parse_rules(RULES_PATH.read_text(encoding="utf-8"))
    assert {r.process for r in ruleset.rules} == {"rectification", "designation", "receipt", "statistics_report",
                                                  "redesignation", "evaluation_town", "evaluation_ranking",
                                                  "key_project", "problem",
                                                  "action_plan", "plan_task", "provincial_recommendation"}
    [receipt] = ruleset.matching("receipt", "reminder", "acknowledge")
    assert (receipt.name, receipt.recipients, receipt.category) == ("receipt_reminder", ("county",), "deadline")
    reminder = ruleset.matching("rectification", "reminder", "rectify", 7)
    assert [r.name for r in reminder] == ["rectify_reminder"]
    assert reminder[0].channels == ("in_app", "email", "sms") and reminder[0].category == "deadline"
    assert ruleset.matching("rectification", "reminder", "rectify", 5) == []  # not a planned offset
    assert [r.name for r in ruleset.matching("rectification", "enter", "issued")] == ["order_issued"]
    assert [r.name for r in ruleset.matching("designation", "trigger", "return_for_revision")] == [
        "returned_for_revision"]
    assert ruleset.matching("designation", "expiry", "resubmit")[0].recipients == ("county", "office")


BROKEN = """
version: 1
templates:
  t: {label: {zh: 模板, en: T}, sms_params: [number]}
rules:
  - {name: a, label: {zh: 甲, en: A}, process: nowhere, when: {enter: x},
     recipients: [county], channels: [email], template: t}
  - {name: b, label: {zh: 乙, en: B}, process: rectification, when: {enter: nirvana},
     recipients: [county], channels: [email], template: t}
  - {name: c, label: {zh: 丙, en: C}, process: rectification, when: {trigger: teleport},
     recipients: [county], channels: [email], template: t}
  - {name: d, label: {zh: 丁, en: D}, process: rectification, when: {reminder: rectify, offsets: [5]},
     recipients: [county], channels: [email], template: t}
  - {name: e, label: {zh: 戊, en: E}, process: rectification, when: {expiry: nothing},
     recipients: [mayor], channels: [fax], template: missing}
  - {name: e, label: {zh: 己}, process: rectification, when: {enter: issued, trigger: expire},
     recipients: [county], channels: [email], template: t}
"""


def test_a_receipt_rule_has_its_one_event_and_no_case_bound_recipients():
    broken = """
version: 1
templates:
  t: {label: {zh: 模板, en: T}}
rules:
  - {name: a, label: {zh: 甲, en: A}, process: receipt, when: {enter: issued},
     recipients: [county], channels: [in_app], template: t}
  - {name: b, label: {zh: 乙, en: B}, process: receipt, when: {reminder: acknowledge, offsets: [1]},
     recipients: [pending_units], channels: [in_app], template: t}
  - {name: c, label: {zh: 丙, en: C}, process: receipt, when: {reminder: acknowledge},
     recipients: [county, office], channels: [in_app, email], template: t}
"""
    with pytest.raises(RuleError) as raised:
        parse_rules(broken, "receipts.yaml")
    assert raised.value.errors == [
        "receipts.yaml: rules[0] (a).when: a receipt rule is {reminder: acknowledge}",
        "receipts.yaml: rules[1] (b).when: a receipt rule is {reminder: acknowledge}",
        "receipts.yaml: rules[1] (b).recipients: must be a list of county, office, leader",
    ]


def test_broken_rules_name_every_problem():
    with pytest.raises(RuleError) as raised:
        parse_rules(BROKEN, "broken.yaml")
    errors = raised.value.errors
    expected = [
        "broken.yaml: rules[0] (a).process: unknown process 'nowhere'",
        "broken.yaml: rules[1] (b).when.enter: unknown state 'nirvana'",
        "broken.yaml: rules[2] (c).when.trigger: unknown trigger 'teleport'",
        "broken.yaml: rules[3] (d).when.offsets: deadline 'rectify' has no reminder 5 working days before",
        "broken.yaml: rules[4] (e).when.expiry: unknown deadline 'nothing'",
        "broken.yaml: rules[4] (e).recipients: must be a list of county, office, leader, member_units, pending_units",
        "broken.yaml: rules[4] (e).channels: must be a list of in_app, email, sms",
        "broken.yaml: rules[4] (e).template: unknown template 'missing' (declare it under templates)",
        "broken.yaml: rules[5] (e).name: used twice",
        "broken.yaml: rules[5] (e).label: missing label (needs zh and en)",
        "broken.yaml: rules[5] (e).when: must name exactly one of enter, trigger, reminder, expiry, chase",
    ]
    for line in expected:
        assert line in errors, (line, errors)
    assert len(errors) == len(expected)


def _longest(values):
    return max(values, key=len)


def _worst_samples():
    """Parameters as long as the definitions can make them, in both languages."""
    states, steps, deadlines = [], [], []
    for key in CATALOG.keys():
        d = CATALOG.current(key)
        states += [s.label for s in d.states.values()]
        steps += [t.label for t in d.transitions]
        deadlines += [dl.label for s in d.states.values() for dl in s.deadlines]
    base = {"number": "ZG-2026-0123", "title": "关于盂县某某专业镇检验检测公共服务平台建设滞后问题的限期整改通知" * 2,
            "due_date": "2026-12-31", "days_before": 7, "comment": "意见" * 150,
            "process": "市级专业镇认定申请", "process_en": "Municipal professional town designation"}
    for zh, en in ((_longest([s.zh for s in states]), _longest([s.en for s in states])),):
        base.update(state=zh, state_en=en, new_state=zh, new_state_en=en, from_state=zh, from_state_en=en)
    base.update(step=_longest([s.zh for s in steps]), step_en=_longest([s.en for s in steps]),
                deadline=_longest([d.zh for d in deadlines]), deadline_en=_longest([d.en for d in deadlines]))
    return [base, {**base, "days_before": 0}, {**base, "new_state": None, "new_state_en": None}]


def test_the_account_password_message_carries_the_username_and_password_in_two_segments():
    """The one-time password of an approved account (workflow/accounts/approvals.py), for a username of 32
    characters (the form allows 64; the e-mail goes whatever the length)."""
    for kind in ("create", "reset"):
        sample = {"username": "yx_" + "x" * 29, "password": "AbcdEfghJkmnPq-7", "kind": kind}
        for locale in ("zh", "en"):
            text = "【阳泉市专业镇】" + compose.sms("account_password", locale, sample, sign_name="阳泉市专业镇")
            assert compose.sms_segments(text) <= 2, text
            assert sample["username"] in text and sample["password"] in text
            mail = compose.email("account_password", locale, sample, recipient="县用户",
                                 base_url="https://zyz.example", case_id=None)
            assert sample["password"] in mail.text and sample["password"] in mail.html
            assert "https://zyz.example/notifications" in mail.text


def test_every_template_has_all_parts_and_every_sms_fits_two_segments():
    assert compose.check_templates(rules(), _worst_samples()) == []
    for sample in _worst_samples():
        for name in set(rules().templates) - {"account_password"}:  # the one template not about a case: below
            for locale in ("zh", "en"):
                text = "【阳泉市专业镇】" + compose.sms(name, locale, sample, sign_name="阳泉市专业镇")
                assert compose.sms_segments(text) <= 2, text
                assert sample["number"] in text
                if name != "case_event" or sample.get("due_date"):
                    assert sample["due_date"] in text, text  # the case number and the deadline
                mail = compose.email(name, locale, sample, recipient="县用户", base_url="https://zyz.example",
                                     case_id=5)
                assert mail.subject and "\n" not in mail.subject and sample["number"] in mail.subject
                assert "https://zyz.example/cases/5" in mail.text and 'href="https://zyz.example/cases/5"' in mail.html


def test_sms_segments_are_counted_as_the_carriers_do():
    assert compose.sms_segments("字" * 70) == 1
    assert compose.sms_segments("字" * 71) == 2
    assert compose.sms_segments("字" * 134) == 2
    assert compose.sms_segments("字" * 135) == 3


def test_the_html_part_escapes_what_users_typed():
    mail = compose.email("case_event", "zh", {"number": "SQ-2026-0001", "title": "<script>x</script>",
                                              "state": "退回补正", "step": "退回补正", "comment": "a & b"},
                         recipient="张三", base_url="http://h", case_id=1)
    assert "<script>" not in mail.html and "&lt;script&gt;" in mail.html and "a &amp; b" in mail.html
    assert "<script>x</script>" in mail.text  # plain text stays as typed


# --- outbox rows in the cause's transaction --------------------------------------------------------------------


def test_a_reminder_writes_email_and_sms_rows_with_the_in_app_notification(make, db, now):
    _, (county,), order = _order(make)
    reminder = _reminder(db, order.id, 7)
    result = sweep(db, now=reminder.due_at)
    assert result.reminders == 1
    rows = _outbox(db, source=f"deadline:{reminder.id}")
    assert [(r.user_id, r.channel, r.rule, r.template, r.category, r.status) for r in rows] == [
        (county.id, "email", "rectify_reminder", "deadline_reminder", "deadline", "queued"),
        (county.id, "sms", "rectify_reminder", "deadline_reminder", "deadline", "queued")]
    assert {r.idempotency_key for r in rows} == {f"deadline:{reminder.id}:u{county.id}:email",
                                                 f"deadline:{reminder.id}:u{county.id}:sms"}
    assert rows[0].params["number"] == order.number and rows[0].params["days_before"] == 7
    assert all(r.next_attempt_at == reminder.due_at for r in rows)  # 09:00: no quiet hours
    with transaction(db) as s:
        told = s.exec(select(Notification).where(Notification.source_key == f"deadline:{reminder.id}:u{county.id}"))
        assert told.one().kind == "reminder"


def test_a_new_order_tells_the_county_and_a_transition_follows_its_rules(make, db, now):
    office, (county,), order = _order(make)
    issued = _outbox(db, source=f"case:{order.id}:v1")
    assert [(r.user_id, r.channel, r.rule) for r in issued] == [(county.id, "email", "order_issued"),
                                                                  (county.id, "sms", "order_issued")]
    assert issued[0].params["due_date"] == order.data["due_date"]
    with transaction(db) as s:
        fire(session=s, case_id=order.id, trigger="request_extension", actor=make.actor(county), now=now,
             payload={"requested_due_date": "2027-03-31"}, comment="平台设备采购需走招标程序。")
        case = fire(session=s, case_id=order.id, trigger="deny_extension", actor=make.actor(office), now=now,
                    comment="期限不变。")
    requested = _outbox(db, source=f"case:{order.id}:v2")
    assert [(r.user_id, r.channel, r.rule) for r in requested] == [(office.id, "email", "extension_requested")]
    denied = _outbox(db, source=f"case:{order.id}:v{case.version}")
    assert [(r.user_id, r.channel, r.rule) for r in denied] == [(county.id, "email", "extension_denied")]
    assert denied[0].params["comment"] == "期限不变。" and denied[0].params["step"] == "不同意延期"
    with transaction(db) as s:
        notes = s.exec(select(Notification).where(Notification.kind == "event", Notification.case_id == order.id)
                       .order_by(Notification.id)).all()
    assert [(n.user_id, n.params["template"]) for n in notes] == [
        (county.id, "order_issued"), (office.id, "case_event"), (county.id, "case_event")]


def test_a_transition_that_rolls_back_leaves_no_outbox_row_and_no_notification(make, db, now):
    _, (county,), order = _order(make)
    before = len(_outbox(db))

    class Boom(Exception):
        pass

    with pytest.raises(Boom), transaction(db) as s:
        fire(session=s, case_id=order.id, trigger="request_extension", actor=make.actor(county), now=now,
             payload={"requested_due_date": "2027-03-31"}, comment="需要更多时间。")
        assert len(s.exec(select(OutboxMessage)).all()) == before + 1  # written, inside the transaction
        raise Boom
    assert len(_outbox(db)) == before
    with transaction(db) as s:
        assert len(s.exec(select(Notification).where(Notification.kind == "event")).all()) == 1  # the order's


def test_a_refused_transition_writes_nothing(make, db, now):
    _, (county,), order = _order(make)
    before = len(_outbox(db))
    with pytest.raises(Unprocessable), transaction(db) as s:
        fire(session=s, case_id=order.id, trigger="request_extension", actor=make.actor(county), now=now,
             payload={"requested_due_date": "2027-03-31"})  # the comment is required
    assert len(_outbox(db)) == before


def test_preferences_choose_the_channels(make, db, now):
    office, (county,), order = _order(make)
    with transaction(db) as s:
        preference_service.save(s, user_id=county.id, actor=make.actor(county), now=now, email=county.email,
                                mobile=county.mobile, deadline_email=True, deadline_sms=False, event_email=False,
                                event_sms=False)
    reminder = _reminder(db, order.id, 3)
    sweep(db, now=reminder.due_at)
    assert [r.channel for r in _outbox(db, source=f"deadline:{reminder.id}")] == ["email"]
    with transaction(db) as s:
        fire(session=s, case_id=order.id, trigger="request_extension", actor=make.actor(county), now=now,
             payload={"requested_due_date": "2027-03-31"}, comment="需要更多时间。")
        fire(session=s, case_id=order.id, trigger="deny_extension", actor=make.actor(office), now=now,
             comment="不同意。")
    assert _outbox(db, rule="extension_denied") == []  # events by e-mail turned off: in-app only
    with transaction(db) as s:
        assert s.exec(select(Notification).where(Notification.user_id == county.id,
                                                 Notification.kind == "event")).all()


def test_an_expiry_at_midnight_holds_the_sms_until_seven(make, db, now):
    office, (county,), order = _order(make)
    with transaction(db) as s:
        expiry = s.exec(select(Deadline).where(Deadline.case_id == order.id, Deadline.kind == "expiry",
                                               Deadline.status == "open")).one()
    sweep(db, now=expiry.due_at)  # 00:00 Beijing time, the day after the due date
    rows = _outbox(db, source=f"deadline:{expiry.id}")
    by = {(r.user_id, r.channel): r for r in rows}
    assert set(by) == {(county.id, "email"), (county.id, "sms"), (office.id, "email"), (office.id, "sms")}
    seven = local_moment(date.fromisoformat(order.data["due_date"]) + timedelta(days=1), time(7))
    assert by[(county.id, "sms")].next_attempt_at == seven
    assert by[(county.id, "email")].next_attempt_at == expiry.due_at
    assert by[(county.id, "sms")].params["new_state"] == "逾期未整改"


def test_quiet_hours():
    at = lambda h, m=0: datetime(2026, 12, 1, h, m, tzinfo=UTC) - timedelta(hours=8)  # noqa: E731 - Beijing time
    assert quiet_until(at(21, 59), "22:00", "07:00") is None
    assert quiet_until(at(22, 0), "22:00", "07:00") == at(7) + timedelta(days=1)
    assert quiet_until(at(3, 30), "22:00", "07:00") == at(7)
    assert quiet_until(at(7, 0), "22:00", "07:00") is None
    assert quiet_until(at(12, 30), "12:00", "14:00") == at(14)
    assert quiet_until(at(3), "00:00", "00:00") is None  # the same time twice: no quiet hours


# --- preferences and contact details ---------------------------------------------------------------------------


def test_reminders_need_email_or_sms_and_an_address_for_each(make, db, now):
    user = make.user("county", email="a@yx.gov.cn")
    with pytest.raises(Unprocessable) as both_off, transaction(db) as s:
        preference_service.save(s, user_id=user.id, actor=make.actor(user), now=now, email="a@yx.gov.cn",
                                mobile="", deadline_email=False, deadline_sms=False)
    assert [d["field"] for d in both_off.value.details] == ["deadline_sms"]
    with pytest.raises(Unprocessable) as no_mobile, transaction(db) as s:
        preference_service.save(s, user_id=user.id, actor=make.actor(user), now=now, email="a@yx.gov.cn",
                                mobile="", deadline_email=True, deadline_sms=True)
    assert [d["field"] for d in no_mobile.value.details] == ["mobile"]
    with pytest.raises(Unprocessable) as bad, transaction(db) as s:
        preference_service.save(s, user_id=user.id, actor=make.actor(user), now=now, email="not an address",
                                mobile="1380000000", quiet_start="25:00")
    assert {d["field"] for d in bad.value.details} == {"mobile", "email", "quiet_start"}
    with transaction(db) as s:
        saved = preference_service.save(s, user_id=user.id, actor=make.actor(user), now=now, email="a@yx.gov.cn",
                                        mobile="+86 138-0013-8000", quiet_start="21:30", quiet_end="7:00",
                                        language="en")
    assert saved == Preferences(quiet_start="21:30", quiet_end="07:00", language="en")
    with transaction(db) as s:
        assert s.get(User, user.id).mobile == "13800138000"
        event = s.exec(select(AuditEvent).where(AuditEvent.kind == "notification_preferences_changed")).one()
        assert '"contact":["changed"]' in event.data and "13800138000" not in event.data
        assert audit.verify(s).ok


def test_only_an_admin_sets_someone_elses_preferences(make, db, now):
    user = make.user("county", email="a@yx.gov.cn", mobile="13800138000")
    other = make.user("county")
    admin = make.user("admin")
    with pytest.raises(Forbidden), transaction(db) as s:
        preference_service.save(s, user_id=user.id, actor=make.actor(other), now=now, email=None, mobile=None)
    with transaction(db) as s:
        preference_service.save(s, user_id=user.id, actor=make.actor(admin), now=now, email="b@yx.gov.cn",
                                mobile="13800138001", event_sms=False)
        row = s.get(User, user.id)
        assert (row.email, row.mobile) == ("b@yx.gov.cn", "13800138001")


@pytest.mark.parametrize("raw, expected", [
    ("13800138000", "13800138000"), ("+8613800138000", "13800138000"), ("+86 138 0013 8000", "13800138000"),
    ("8613912345678", "13912345678"), ("199-1234-5678", "19912345678"), ("", None), (None, None)])
def test_mainland_mobile_numbers(raw, expected):
    assert normalize_mobile(raw) == expected


@pytest.mark.parametrize("raw", ["12800138000", "1380013800", "138001380000", "+8513800138000", "0351-1234567",
                                 "abcdefghijk", "+86"])
def test_not_mainland_mobile_numbers(raw):
    with pytest.raises(ValueError):
        normalize_mobile(raw)


def test_users_are_saved_with_a_checked_mobile_number(make, db):
    with pytest.raises(Unprocessable) as refused:
        make.user("county", mobile="1234567")
    assert [d["field"] for d in refused.value.details] == ["mobile"]
    with pytest.raises(Unprocessable):
        make.user("county", email="nobody")
    user = make.user("county", mobile="+86 139 0000 1111", email=" x@yx.gov.cn ")
    assert (user.mobile, user.email) == ("13900001111", "x@yx.gov.cn")


def test_an_outbox_key_is_unique_per_cause_recipient_and_channel(make, db, now):
    _, (county,), order = _order(make)
    reminder = _reminder(db, order.id, 1)
    sweep(db, now=reminder.due_at)
    with transaction(db) as s:  # the same cause again (a second sweep of the same row cannot happen, but...)
        from workflow.notify.rules import notify

        notify(s, user_ids=[county.id], case_id=order.id, kind="reminder", params={"number": order.number},
               source=f"deadline:{reminder.id}", now=now)
        count = s.connection().execute(sa.select(sa.func.count()).select_from(OutboxMessage.__table__).where(
            OutboxMessage.__table__.c.source == f"deadline:{reminder.id}")).scalar_one()
    assert count == 2


def test_a_channel_without_an_address_is_left_out_and_an_address_removed_later_fails(make, db, now):
    from notifications.dispatcher import dispatch
    from notifications.settings import NotifySettings

    office = make.user("office")
    county = make.user("county", email="only-mail@yx.gov.cn")  # no mobile: no SMS row
    order = make.case("rectification", state="rectifying", by=office, data=dict(ORDER))
    assert [(r.user_id, r.channel) for r in _outbox(db, source=f"case:{order.id}:v1")] == [(county.id, "email")]
    with transaction(db) as s:
        s.connection().execute(User.__table__.update().where(User.__table__.c.id == county.id).values(email=None))
    result = dispatch(db, now=now, settings=NotifySettings())  # e-mail to the log: nothing leaves the machine
    (row,) = _outbox(db, source=f"case:{order.id}:v1")
    assert (result.failed, row.status, row.error_kind, row.last_error) == (
        1, "failed", "permanent", "no e-mail address on file")
