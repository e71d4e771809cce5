"""Receipts (签收): each notice addressed to a county is acknowledged in the system by that county, once; a notice not
acknowledged within the configured working days is reminded, once; the office sees who has and has not signed."""

from __future__ import annotations

import time
from datetime import UTC, date, datetime, timedelta

import pytest
import sqlalchemy as sa
import time_machine
from sqlmodel import select
from statements import counted, listing

from conftest import COMPLETE_APPLICATION, reload
from workflow.core import receipts
from workflow.core.access import MAX_ID, get_case
from workflow.core.actors import Actor
from workflow.core.attachments import store_bytes
from workflow.core.calendar import DEFAULT_CALENDAR, LOCAL_TZ, WorkCalendar
from workflow.core.db import transaction
from workflow.core.engine import fire
from workflow.core.errors import Conflict, Forbidden, InvalidInput, NotFound
from workflow.core.models import Attachment, AuditEvent, NoticeReceipt, Notification, OutboxMessage, Unit
from workflow.core.settings import configure, settings

PDF = b"%PDF-1.4\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n"
REVIEWED = {**COMPLETE_APPLICATION, "experts": [{"name": "甲", "score": 80}], "expert_recommendation": "同意"}


def local(day: date, hour: int = 10, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=LOCAL_TZ).astimezone(UTC)


def _events(db, kind: str) -> list[AuditEvent]:
    with transaction(db) as s:
        return list(s.exec(select(AuditEvent).where(AuditEvent.kind == kind).order_by(AuditEvent.seq)))


def _receipts(db) -> list[NoticeReceipt]:
    with transaction(db) as s:
        return list(s.exec(select(NoticeReceipt).order_by(NoticeReceipt.id)))


def _notice(db, make, *, county: str = "盂县", at: datetime | None = None, name: str = "通知") -> NoticeReceipt:
    """A notice on a case of `county`, expected to be acknowledged by that county."""
    case = make.case("inspection", county=county, by=make.user("office"))  # a case that issues no notice itself
    with transaction(db) as s:
        notice = store_bytes(session=s, actor=Actor.system(), data=PDF + name.encode(), filename=f"{name}.pdf",
                             content_type="application/pdf", kind="criticism_notice", now=at or make.now,
                             case_id=case.id)
        return receipts.expect_receipt(s, attachment=notice, unit_id=case.county_id, now=at or make.now)


@pytest.fixture
def days():
    """Set the working days a county has to acknowledge, and put the setting back afterwards."""
    before = settings.receipt_days
    yield lambda n: configure(receipt_days=n)
    configure(receipt_days=before)


# --- issuing ---------------------------------------------------------------------------------------------------


def test_the_designation_notice_is_to_be_acknowledged_by_the_towns_county(db, make, now):
    county = make.user("county", county="平定县")
    town = make.town("娘子关镇", county="平定县")
    case = make.case("designation", state="notice_pending", by=county, town=town, data=REVIEWED)
    office = make.actor(make.user("office"))
    with transaction(db) as s:
        fire(session=s, case_id=case.id, trigger="issue_notice", actor=office, now=now)
    [receipt] = _receipts(db)
    assert (receipt.case_id, receipt.unit_id, receipt.issued_at) == (case.id, case.county_id, now)
    # issued on Friday 27 November 2026: three working days are Monday to Wednesday
    assert receipt.remind_date == date(2026, 12, 2)
    assert (receipt.acknowledged_at, receipt.reminded_at) == (None, None)
    [event] = _events(db, "receipt_expected")
    assert (event.case_id, event.county_id) == (case.id, case.county_id)
    assert '"remind_date":"2026-12-02"' in event.data and "认定通知-阳专镇〔2026〕1号.docx" in event.data


def test_the_criticism_notice_is_to_be_acknowledged_by_the_orders_county(db, make, now):
    office, leader = make.user("office"), make.user("leader")
    order = make.case("rectification", state="overdue", county="郊区", by=office, data={"problem": "未整改"})
    with transaction(db) as s:
        fire(session=s, case_id=order.id, trigger="criticise", actor=make.actor(office), now=now, comment="逾期")
    [order_notice] = _receipts(db)  # the 整改通知书 that went out with the order; the draft is nobody's to sign
    with transaction(db) as s:
        fire(session=s, case_id=order.id, trigger="approve_criticism", actor=make.actor(leader), now=now)
        county = s.exec(select(Unit).where(Unit.name == "郊区")).one()
    rows = _receipts(db)
    with transaction(db) as s:
        kinds = {r.id: s.get(Attachment, r.attachment_id).kind for r in rows}
    assert sorted(kinds.values()) == ["criticism_notice", "rectification_notice"]
    assert kinds[order_notice.id] == "rectification_notice"
    receipt = next(r for r in _receipts(db) if r.id != order_notice.id)
    assert (receipt.case_id, receipt.unit_id) == (order.id, county.id)
    assert reload(db, order.id).state == "criticised"


def test_the_days_to_acknowledge_are_working_days_across_a_holiday_and_a_setting(db, make, days):
    # issued on 30 September 2026: 1-7 October are off, Saturday 10 October is worked
    assert _notice(db, make, at=local(date(2026, 9, 30)), name="a").remind_date == date(2026, 10, 10)
    # counted from the local day: at 07:00 on Tuesday 1 December in Beijing it is still 30 November in UTC
    assert _notice(db, make, at=local(date(2026, 12, 1), 7), name="b").remind_date == date(2026, 12, 4)
    days(5)
    assert _notice(db, make, at=local(date(2026, 11, 27)), name="c").remind_date == date(2026, 12, 4)
    days(1)
    assert _notice(db, make, at=local(date(2026, 11, 27)), name="d").remind_date == date(2026, 11, 30)


def test_a_notice_is_expected_once_per_county_and_only_from_a_county(db, make, now):
    first = _notice(db, make)
    with transaction(db) as s:
        again = receipts.expect_receipt(s, attachment=s.get(Attachment, first.attachment_id), unit_id=first.unit_id,
                                        now=now + timedelta(days=1))
    assert again.id == first.id and len(_receipts(db)) == 1 and len(_events(db, "receipt_expected")) == 1
    office_unit = make.unit("市工信局", "office")
    with transaction(db) as s, pytest.raises(InvalidInput) as refused:
        receipts.expect_receipt(s, attachment=s.get(Attachment, first.attachment_id), unit_id=office_unit.id, now=now)
    assert (refused.value.zh, refused.value.en, refused.value.code) == (
        "通知只能送达县（区）签收。", "Only a county acknowledges a notice.", "not_a_county")


def test_a_notice_to_two_counties_is_acknowledged_by_each(db, make, now):
    first = _notice(db, make, county="盂县")
    other = make.unit("平定县", "county")
    with transaction(db) as s:
        second = receipts.expect_receipt(s, attachment=s.get(Attachment, first.attachment_id), unit_id=other.id,
                                         now=now)
    assert second.id != first.id
    assert [(r.attachment_id, r.unit_id) for r in _receipts(db)] == [(first.attachment_id, first.unit_id),
                                                                     (first.attachment_id, other.id)]
    with transaction(db) as s:  # the case page lists the counties of a notice by name
        shown = receipts.for_case(s, make.actor(make.user("office")), first.case_id, now=now)
    assert [v.unit_name for v in shown[first.attachment_id]] == ["平定县", "盂县"]


# --- acknowledging ---------------------------------------------------------------------------------------------


def test_a_county_user_acknowledges_its_notice_once_and_the_trail_says_who_and_when(db, make, now):
    receipt = _notice(db, make, county="盂县")
    clerk, colleague = make.user("county", county="盂县"), make.user("county", county="盂县")
    later = now + timedelta(hours=3)
    with transaction(db) as s:
        view = receipts.acknowledge(s, make.actor(clerk), receipt.id, later)
    assert (view.signed, view.acknowledged_at, view.acknowledged_by, view.late) == (True, later, clerk.display_name,
                                                                                  False)
    row = _receipts(db)[0]
    assert (row.acknowledged_at, row.acknowledged_by_id) == (later, clerk.id)
    [event] = _events(db, "receipt_acknowledged")
    assert (event.actor_id, event.case_id, event.county_id, event.occurred_at) == (clerk.id, receipt.case_id,
                                                                                    receipt.unit_id, later)
    before = len(_events(db, "receipt_acknowledged"))
    with transaction(db) as s, pytest.raises(Conflict) as twice:
        receipts.acknowledge(s, make.actor(colleague), receipt.id, later + timedelta(hours=1))
    assert twice.value.zh == f"该通知已于 2026-11-27 13:00 由{clerk.display_name}签收，无需重复签收。"
    assert twice.value.en == f"This notice was already acknowledged on 2026-11-27 13:00 by {clerk.display_name}."
    assert twice.value.status == 409 and twice.value.code == "already_acknowledged"
    assert _receipts(db)[0].acknowledged_by_id == clerk.id  # the first signature stands
    assert len(_events(db, "receipt_acknowledged")) == before


@pytest.mark.parametrize("role", ["office", "leader", "member", "admin", "auditor"])
def test_only_a_county_acknowledges(db, make, now, role):
    receipt = _notice(db, make)
    with transaction(db) as s, pytest.raises(Forbidden) as refused:
        receipts.acknowledge(s, make.actor(make.user(role)), receipt.id, now)
    assert refused.value.zh == "只有通知送达的县（区）可以签收。"
    assert refused.value.en == "Only the county a notice is addressed to may acknowledge it."
    assert _receipts(db)[0].acknowledged_at is None


def test_another_countys_notice_is_refused_exactly_like_a_missing_one(db, make, now):
    receipt = _notice(db, make, county="盂县")
    stranger = make.actor(make.user("county", county="城区"))
    answers = []
    for receipt_id in (receipt.id, 999_999, 2**31, 0):
        with transaction(db) as s, pytest.raises(NotFound) as refused:
            receipts.acknowledge(s, stranger, receipt_id, now)
        answers.append((refused.value.zh, refused.value.en, refused.value.status))
    assert set(answers) == {("通知不存在。", "No such notice.", 404)}
    assert _receipts(db)[0].acknowledged_at is None and _events(db, "receipt_acknowledged") == []


def test_acknowledging_after_the_days_to_sign_is_marked_late(db, make):
    receipt = _notice(db, make, at=local(date(2026, 11, 27)))  # to sign by Wednesday 2 December
    clerk = make.actor(make.user("county"))
    with transaction(db) as s:
        view = receipts.acknowledge(s, clerk, receipt.id, local(date(2026, 12, 3), 8))
    assert view.late and not view.overdue
    assert '"late":true' in _events(db, "receipt_acknowledged")[0].data


# --- reading ---------------------------------------------------------------------------------------------------


def test_a_county_sees_its_own_notices_and_the_office_sees_who_has_and_has_not_signed(db, make):
    issued = local(date(2026, 11, 27))
    yx = [_notice(db, make, county="盂县", at=issued + timedelta(minutes=i), name=f"yx{i}") for i in range(3)]
    cq = _notice(db, make, county="城区", at=issued, name="cq")
    yx_clerk, cq_clerk = make.user("county", county="盂县"), make.user("county", county="城区")
    office, leader, member = make.user("office"), make.user("leader"), make.user("member")
    with transaction(db) as s:
        receipts.acknowledge(s, make.actor(yx_clerk), yx[1].id, issued + timedelta(hours=1))
    on_thursday = local(date(2026, 12, 3))  # the day to sign by has passed

    with transaction(db) as s:
        mine = receipts.listing(s, make.actor(yx_clerk), now=on_thursday)
        assert [v.id for v in mine.items] == [yx[2].id, yx[0].id, yx[1].id]  # waiting first, then newest
        assert [(v.signed, v.overdue) for v in mine.items] == [(False, True), (False, True), (True, False)]
        assert receipts.pending_count(s, make.actor(yx_clerk)) == 2
        assert receipts.pending_count(s, make.actor(cq_clerk)) == 1
        assert receipts.pending_count(s, make.actor(office)) == 0
        assert [v.id for v in receipts.listing(s, make.actor(cq_clerk), now=on_thursday).items] == [cq.id]

        everything = receipts.listing(s, make.actor(office), now=on_thursday)
        assert everything.total == 4 and {v.unit_name for v in everything.items} == {"盂县", "城区"}
        signed = receipts.listing(s, make.actor(leader), now=on_thursday, status="signed").items
        assert [(v.id, v.acknowledged_by, v.unit_name) for v in signed] == [(yx[1].id, yx_clerk.display_name,
                                                                                "盂县")]
        unsigned = receipts.listing(s, make.actor(office), now=on_thursday, status="unsigned")
        assert {v.id for v in unsigned.items} == {yx[0].id, yx[2].id, cq.id}
        assert receipts.listing(s, make.actor(office), now=issued, status="overdue").total == 0
        assert receipts.listing(s, make.actor(office), now=on_thursday, status="overdue").total == 3
        one_county = receipts.listing(s, make.actor(office), now=on_thursday, county_id=cq.unit_id)
        assert [v.id for v in one_county.items] == [cq.id]
        # a county's own filter cannot reach another county
        assert receipts.listing(s, make.actor(yx_clerk), now=on_thursday, county_id=cq.unit_id).total == 0
        paged = receipts.listing(s, make.actor(office), now=on_thursday, page=2, per_page=3)
        assert (paged.total, paged.pages, len(paged.items)) == (4, 2, 1)

        with pytest.raises(Forbidden):
            receipts.listing(s, make.actor(member), now=on_thursday)
        with pytest.raises(InvalidInput) as bad:
            receipts.listing(s, make.actor(office), now=on_thursday, status="late")
        assert bad.value.details[0]["field"] == "status"


def test_the_case_page_shows_the_receipts_to_whoever_sees_the_case(db, make, now):
    receipt = _notice(db, make, county="盂县")
    own, office = make.actor(make.user("county", county="盂县")), make.actor(make.user("office"))
    stranger = make.actor(make.user("county", county="城区"))
    with transaction(db) as s:
        shown = receipts.for_case(s, own, receipt.case_id, now=now)
        assert [v.id for v in shown[receipt.attachment_id]] == [receipt.id]
        assert receipts.get_receipt(s, office, receipt.id, now=now).notice == "通知"
        with pytest.raises(NotFound):
            receipts.for_case(s, stranger, receipt.case_id, now=now)
        with pytest.raises(NotFound):
            receipts.get_receipt(s, stranger, receipt.id, now=now)


def test_the_case_page_s_receipts_do_not_read_the_case_again(db, engine, make, now, monkeypatch):
    receipt = _notice(db, make, county="盂县")
    office = make.actor(make.user("office"))
    with transaction(db) as s:
        case = get_case(s, office, receipt.case_id)
        with counted(engine, monkeypatch) as ran:
            shown = receipts.for_case(s, office, receipt.case_id, now=now, case=case)
    assert [v.id for v in shown[receipt.attachment_id]] == [receipt.id]
    assert not [r for r in ran if "FROM case_file" in r and "case_file.id = " in r], listing(ran)


def test_the_largest_receipt_id_is_still_looked_up(db, make, now):
    receipt = _notice(db, make, county="盂县")
    with transaction(db) as s:
        s.connection().execute(sa.update(NoticeReceipt.__table__).where(NoticeReceipt.__table__.c.id == receipt.id)
                               .values(id=MAX_ID))
    with transaction(db) as s:
        assert receipts.get_receipt(s, make.actor(make.user("office")), MAX_ID, now=now).attachment_id == (
            receipt.attachment_id)


# --- reminding -------------------------------------------------------------------------------------------------


def test_the_reminder_goes_out_at_nine_on_the_first_working_day_after_the_days_to_sign():
    calendar = DEFAULT_CALENDAR
    # Thursday 3 December 2026, before and after 09:00
    assert receipts.reminder_day(local(date(2026, 12, 3), 8, 59), calendar) == date(2026, 12, 2)
    assert receipts.reminder_day(local(date(2026, 12, 3), 9, 0), calendar) == date(2026, 12, 3)
    # a weekend counts back to Friday; Monday before nine too
    assert receipts.reminder_day(local(date(2026, 12, 5), 12), calendar) == date(2026, 12, 4)
    assert receipts.reminder_day(local(date(2026, 12, 7), 7), calendar) == date(2026, 12, 4)
    # a holiday is no working day: 1 October 2026 counts back to 30 September
    assert receipts.reminder_day(local(date(2026, 10, 1), 10), calendar) == date(2026, 9, 30)
    # a year entered by the administrator with a holiday of its own
    entered = WorkCalendar({date(2031, 3, 3): False}, frozenset({2031}))
    assert receipts.reminder_day(local(date(2031, 3, 3), 10), entered) == date(2031, 2, 28)


def test_an_unacknowledged_notice_is_reminded_once_to_its_countys_users(db, make):
    receipt = _notice(db, make, county="盂县", at=local(date(2026, 11, 27)))  # to sign by Wednesday 2 December
    signed = _notice(db, make, county="盂县", at=local(date(2026, 11, 27)), name="已签")
    clerks = [make.user("county", county="盂县", email=f"c{i}@yx.gov.cn", mobile=f"1390000000{i}") for i in (1, 2)]
    other = make.user("county", county="城区", email="cq@cq.gov.cn")
    office = make.user("office", email="office@yq.gov.cn")
    with transaction(db) as s:
        receipts.acknowledge(s, make.actor(clerks[0]), signed.id, local(date(2026, 11, 30)))

    for moment in (local(date(2026, 12, 2), 18), local(date(2026, 12, 3), 8, 59)):  # still in time
        with transaction(db) as s:
            assert receipts.remind_due(s, now=moment) == 0
    due = local(date(2026, 12, 3), 9, 1)
    with transaction(db) as s:
        assert receipts.remind_due(s, now=due) == 1
    with transaction(db) as s:
        assert receipts.remind_due(s, now=due + timedelta(hours=1)) == 0  # once
    rows = {r.id: r for r in _receipts(db)}
    assert rows[receipt.id].reminded_at == due and rows[signed.id].reminded_at is None

    with transaction(db) as s:
        told = s.exec(select(Notification).where(Notification.kind == "receipt_reminder")).all()
        queued = s.exec(select(OutboxMessage).where(OutboxMessage.source == f"receipt:{receipt.id}")).all()
    assert sorted(n.user_id for n in told) == [c.id for c in clerks]
    assert {n.case_id for n in told} == {receipt.case_id} and {n.created_at for n in told} == {due}
    assert told[0].params["notice"] == "通知" and told[0].params["due_date"] == "2026-12-02"
    assert sorted((m.user_id, m.channel) for m in queued) == sorted(
        (c.id, channel) for c in clerks for channel in ("email", "sms"))
    assert {(m.rule, m.template) for m in queued} == {("receipt_reminder", "receipt_reminder")}
    assert other.id not in {n.user_id for n in told} | {m.user_id for m in queued}
    assert office.id not in {n.user_id for n in told} | {m.user_id for m in queued}
    [event] = _events(db, "receipt_reminded")
    assert (event.case_id, event.county_id, event.occurred_at) == (receipt.case_id, receipt.unit_id, due)
    assert '"recipients":2' in event.data


def test_a_notice_due_on_a_friday_is_reminded_on_monday_morning_and_not_once_signed(db, make):
    friday = _notice(db, make, at=local(date(2026, 11, 30)), name="周五")  # to sign by Thursday 3 December
    late = _notice(db, make, at=local(date(2026, 12, 1)), name="周五到期")  # to sign by Friday 4 December
    make.user("county", county="盂县")
    for moment, expected in ((local(date(2026, 12, 4), 9, 30), {friday.id}),
                             (local(date(2026, 12, 5), 12), set()),  # Saturday
                             (local(date(2026, 12, 6), 12), set()),  # Sunday
                             (local(date(2026, 12, 7), 9, 5), {late.id})):  # Monday
        with transaction(db) as s:
            before = {r.id for r in _receipts(db) if r.reminded_at}
            receipts.remind_due(s, now=moment)
        assert {r.id for r in _receipts(db) if r.reminded_at} - before == expected, moment

    signed_in_time = _notice(db, make, at=local(date(2026, 12, 7)), name="按时")
    with transaction(db) as s:
        receipts.acknowledge(s, make.actor(make.user("county", county="盂县")), signed_in_time.id,
                             local(date(2026, 12, 14)))  # after its days, before anyone swept
        assert receipts.remind_due(s, now=local(date(2026, 12, 15))) == 0


def test_two_schedulers_reminding_at_once_send_each_reminder_once(db, make):
    """The first marks the receipt reminded in the UPDATE that finds it; the second, running meanwhile, waits for
    the first to commit (a row lock on PostgreSQL, the write lock on SQLite) and then finds nothing to send."""
    import threading

    _notice(db, make, at=local(date(2026, 11, 27)))
    make.user("county", county="盂县", email="c@yx.gov.cn")
    due = local(date(2026, 12, 3), 10)
    counts: dict[str, int] = {}
    first_found = threading.Event()

    def first() -> None:
        with transaction(db) as s:
            counts["first"] = receipts.remind_due(s, now=due)
            first_found.set()
            time.sleep(0.5)  # still holding what it wrote

    def second() -> None:
        first_found.wait(10)
        with transaction(db) as s:
            counts["second"] = receipts.remind_due(s, now=due)

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert counts == {"first": 1, "second": 0}
    with transaction(db) as s:
        assert s.exec(select(sa.func.count()).select_from(OutboxMessage)).one() == 1
        assert s.exec(select(sa.func.count()).select_from(Notification)
                      .where(Notification.kind == "receipt_reminder")).one() == 1


def test_the_scheduler_reminds_the_county_by_itself(app, db, make, tmp_path):
    """The real APScheduler, started in the background at 09:30 Beijing time on the Thursday after the days to sign:
    its receipt job runs at start and reminds the county."""
    from webapp.cli import _scheduler

    app.config["ANCHOR_DIR"] = str(tmp_path / "anchors")  # the anchor job runs at start too
    receipt = _notice(db, make, at=local(date(2026, 11, 27)))
    clerk = make.user("county", county="盂县")
    with time_machine.travel(local(date(2026, 12, 3), 9, 30), tick=True):
        scheduler = _scheduler(app, background=True)
        job = scheduler.get_job("receipt-reminders")
        assert job is not None and "cron" in str(job.trigger)
        scheduler.start()
        try:
            deadline = time.monotonic() + 30
            while _receipts(db)[0].reminded_at is None and time.monotonic() < deadline:
                time.sleep(0.05)
        finally:
            scheduler.shutdown(wait=True)
    reminded = _receipts(db)[0]
    assert reminded.reminded_at is not None
    assert receipts.local_date(reminded.reminded_at) == date(2026, 12, 3)
    with transaction(db) as s:
        told = s.exec(select(Notification.user_id).where(Notification.kind == "receipt_reminder")).all()
    assert told == [clerk.id] and receipt.id == reminded.id


# --- what the trail, the reminder and the export say -------------------------------------------------------------


def _data(event: AuditEvent) -> dict:
    import json

    return json.loads(event.data)


def test_the_trail_names_the_notice_the_county_and_the_days_at_each_step(db, make):
    issued = local(date(2026, 11, 27))
    receipt = _notice(db, make, county="盂县", at=issued, name="批评通报")
    clerk = make.user("county", county="盂县", email="c@yx.gov.cn")
    with transaction(db) as s:
        assert receipts.remind_due(s, now=local(date(2026, 12, 3), 10)) == 1
    with transaction(db) as s:
        receipts.acknowledge(s, make.actor(clerk), receipt.id, local(date(2026, 12, 3), 11))
    [expected] = _events(db, "receipt_expected")
    assert _data(expected) == {"receipt_id": receipt.id, "attachment_id": receipt.attachment_id,
                               "filename": "批评通报.pdf", "notice_kind": "criticism_notice", "unit": "盂县",
                               "remind_date": "2026-12-02"}
    assert (expected.role, expected.case_id, expected.county_id) == ("system", receipt.case_id, receipt.unit_id)
    [reminded] = _events(db, "receipt_reminded")
    assert _data(reminded) == {"receipt_id": receipt.id, "attachment_id": receipt.attachment_id,
                               "filename": "批评通报.pdf", "remind_date": "2026-12-02", "recipients": 1}
    assert (reminded.role, reminded.actor_id) == ("system", None)
    [signed] = _events(db, "receipt_acknowledged")
    assert _data(signed) == {"receipt_id": receipt.id, "attachment_id": receipt.attachment_id,
                             "filename": "批评通报.pdf", "remind_date": "2026-12-02", "late": True}


def test_the_reminder_names_the_case_the_notice_and_the_days_and_reaches_the_countys_users_only(db, make):
    receipt = _notice(db, make, county="盂县", at=local(date(2026, 11, 27)), name="整改通知")
    clerk = make.user("county", county="盂县", email="c@yx.gov.cn")
    make.user("county", county="城区", email="cq@cq.gov.cn")
    due = local(date(2026, 12, 3), 9, 30)
    with transaction(db) as s:
        case = s.get(receipts.Case, receipt.case_id)
        number, title = case.number, case.title
        assert receipts.remind_due(s, now=due) == 1
    with transaction(db) as s:
        [told] = s.exec(select(Notification).where(Notification.kind == "receipt_reminder")).all()
        [mail] = s.exec(select(OutboxMessage).where(OutboxMessage.source == f"receipt:{receipt.id}")).all()
    assert told.user_id == clerk.id and told.case_id == receipt.case_id
    assert told.params == {"number": number, "title": title, "notice": "整改通知", "due_date": "2026-12-02",
                           "issued_date": "2026-11-27", "unit": "盂县", "receipt_id": receipt.id}
    assert told.source_key.startswith(f"receipt:{receipt.id}")
    assert (mail.user_id, mail.channel, mail.case_id) == (clerk.id, "email", receipt.case_id)


def test_the_reminder_of_a_notice_without_a_case_names_the_notice_alone(db, make):
    """A notice kept on a town's record (the praise notice's copy) belongs to no case: no number, no title."""
    town = make.town("西烟镇", county="盂县")
    clerk = make.user("county", county="盂县")
    with transaction(db) as s:
        notice = store_bytes(session=s, actor=Actor.system(), data=PDF, filename="表扬通报.pdf",
                             content_type="application/pdf", kind="praise_notice", now=local(date(2026, 11, 27)),
                             town_id=town.id)
        receipts.expect_receipt(s, attachment=notice, unit_id=town.county_id, now=local(date(2026, 11, 27)))
    with transaction(db) as s:
        assert receipts.remind_due(s, now=local(date(2026, 12, 3), 10)) == 1
        [told] = s.exec(select(Notification).where(Notification.kind == "receipt_reminder")).all()
    assert (told.user_id, told.case_id) == (clerk.id, None)
    assert (told.params["number"], told.params["title"], told.params["notice"]) == ("", "", "表扬通报")


def test_the_export_streams_every_row_the_list_would_show_in_its_order_up_to_its_limit(db, make):
    issued = local(date(2026, 11, 27))
    made = [_notice(db, make, county="盂县", at=issued, name=f"n{i}") for i in range(5)]  # the same moment
    office = make.actor(make.user("office"))
    clerk = make.user("county", county="盂县")
    with transaction(db) as s:
        receipts.acknowledge(s, make.actor(clerk), made[3].id, issued + timedelta(hours=1))
    on_thursday = local(date(2026, 12, 3))
    with transaction(db) as s:
        query = receipts.listing_query(office, now=on_thursday)
        listed = [v.id for v in receipts.listing(s, office, now=on_thursday).items]
        # waiting first; at the same moment of issue the later notice first
        assert listed == [made[4].id, made[2].id, made[1].id, made[0].id, made[3].id]
        streamed = list(receipts.listing_rows(s, query, now=on_thursday, limit=10, batch=2))
        assert [v.id for v in streamed] == listed
        assert [(v.overdue, v.signed, v.late) for v in streamed] == [(True, False, False)] * 4 + [(False, True, False)]
        assert [v.id for v in receipts.listing_rows(s, query, now=on_thursday, limit=3, batch=2)] == listed[:3]
        first = streamed[0]
        assert (first.filename, first.kind, first.unit_name, first.issued_at, first.remind_date, first.reminded_at,
                first.notice) == ("n4.pdf", "criticism_notice", "盂县", issued, date(2026, 12, 2), None, "n4")
        case = s.get(receipts.Case, made[4].case_id)
        assert (first.case_id, first.case_number, first.case_title) == (case.id, case.number, case.title)
        unsigned = receipts.listing_query(office, now=on_thursday, status="unsigned")
        assert [v.id for v in receipts.listing_rows(s, unsigned, now=on_thursday, limit=10)] == listed[:4]


def test_a_role_that_sees_no_receipts_is_told_so_and_a_missing_notice_answers_not_found(db, make, now):
    receipt = _notice(db, make)
    member, office = make.actor(make.user("member")), make.actor(make.user("office"))
    with transaction(db) as s:
        with pytest.raises(Forbidden) as refused:
            receipts.get_receipt(s, member, receipt.id, now=now)
        assert (refused.value.zh, refused.value.en) == ("您的角色无权查看通知签收情况。",
                                                        "Your role may not see who acknowledged the notices.")
        with pytest.raises(Forbidden):
            receipts.listing_query(member, now=now)
        with pytest.raises(NotFound) as missing:
            receipts.get_receipt(s, office, receipt.id + 1000, now=now)
        assert (missing.value.code, missing.value.status) == ("not_found", 404)
        with pytest.raises(InvalidInput) as bad:
            receipts.listing_query(office, now=now, status="late")
        assert bad.value.zh == "状态只能是 all、unsigned、signed 或 overdue。"
        assert bad.value.en == "status must be all, unsigned, signed or overdue."
        assert bad.value.code == "invalid_input"
        assert bad.value.details == [{"field": "status", "zh": "状态不正确", "en": "unknown status"}]


def test_on_the_day_to_sign_by_a_notice_is_neither_overdue_nor_late_and_the_list_says_when_it_was_reminded(db, make):
    receipt = _notice(db, make, county="盂县", at=local(date(2026, 11, 27)), name="当日")  # to sign by 2 December
    reminded = _notice(db, make, county="盂县", at=local(date(2026, 11, 20)), name="已提醒")  # by 25 November
    office = make.actor(make.user("office"))
    clerk = make.actor(make.user("county", county="盂县"))
    on_the_day = local(date(2026, 12, 2), 17)
    with transaction(db) as s:
        assert receipts.remind_due(s, now=local(date(2026, 11, 26), 10)) == 1
    with transaction(db) as s:
        overdue = receipts.listing(s, office, now=on_the_day, status="overdue")
        assert [v.id for v in overdue.items] == [reminded.id]
        assert overdue.items[0].reminded_at == local(date(2026, 11, 26), 10)
        assert receipts.get_receipt(s, office, receipt.id, now=on_the_day).overdue is False
    with transaction(db) as s:
        view = receipts.acknowledge(s, clerk, receipt.id, on_the_day)
    assert (view.late, view.overdue, view.reminded_at) == (False, False, None)


def test_the_list_is_newest_issued_first_twenty_to_a_page(db, make):
    # filed in one order, issued in another: the list follows the day of issue
    early = _notice(db, make, at=local(date(2026, 11, 2)), name="晚登记早发出")
    made = [_notice(db, make, at=local(date(2026, 11, 3)) + timedelta(minutes=i), name=f"n{i}") for i in range(21)]
    late = _notice(db, make, at=local(date(2026, 11, 1)), name="最早发出")
    office = make.actor(make.user("office"))
    with transaction(db) as s:
        first = receipts.listing(s, office, now=local(date(2026, 12, 3)))
        second = receipts.listing(s, office, now=local(date(2026, 12, 3)), page=2)
    assert (first.total, len(first.items), first.per_page) == (23, 20, 20)
    assert [v.id for v in first.items] == [m.id for m in reversed(made)][:20]
    assert [v.id for v in second.items] == [made[0].id, early.id, late.id]
