"""A trainer walks a rectification order through time with the demo clock: the reminders and the expiry the sweep
fires, their in-app notices and their queued e-mails and SMS are dated by it, and `zyz notifications dispatch
--once` sends them by the same clock to a real SMTP server on loopback; the scheduler's jobs read it too."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine
from sqlmodel import select
from test_notifications_email import SENDER, SmtpSink, orders

from conftest import reload
from workflow.core import democlock
from workflow.core.actors import Actor
from workflow.core.calendar import LOCAL_TZ
from workflow.core.db import transaction
from workflow.core.models import AuditEvent, Notification, OutboxMessage


@pytest.fixture
def sink():
    server = SmtpSink().start()
    yield server
    server.stop()


def mail_env(port: int) -> dict[str, str]:
    return {"ZYZ_ENV": "test", "ZYZ_SMTP_HOST": "127.0.0.1", "ZYZ_SMTP_PORT": str(port), "ZYZ_SMTP_SECURITY": "none",
            "ZYZ_SMTP_FROM": SENDER, "ZYZ_SMS_PROVIDER": "console"}


def morning_after(due: date) -> tuple[date, datetime]:
    """The day after a deadline and 09:00 (Beijing) on it: the expiry and every reminder are due then."""
    day = due + timedelta(days=1)
    return day, datetime(day.year, day.month, day.day, 9, tzinfo=LOCAL_TZ).astimezone(UTC)


def deadline_messages(db, case_id: int) -> list[OutboxMessage]:
    with transaction(db) as s:
        return list(s.exec(select(OutboxMessage).where(OutboxMessage.case_id == case_id,
                                                       OutboxMessage.source.like("deadline:%"))))


def announce(run_zyz, make, sink, env):
    """An order issued today (real time) and its announcement sent, so that what follows is the deadline's."""
    _, (county,), (order,) = orders(make)
    announced = run_zyz("notifications", "dispatch", "--once", env=env)
    assert announced.exit_code == 0, announced.output
    assert len(sink.received) == 1
    sink.received.clear()
    return county, order


def test_the_demo_clock_dates_what_the_sweep_writes_and_the_dispatcher_sends_it(run_zyz, make, db, now, sink):
    env = mail_env(sink.port)
    with time_machine.travel(now, tick=False):
        county, order = announce(run_zyz, make, sink, env)
        day, moment = morning_after(date.fromisoformat(order.data["due_date"]))
        put = run_zyz("demo", "clock", "set", f"{day}T09:00", env=env)
        assert put.exit_code == 0, put.output
        swept = run_zyz("deadlines", "sweep", env=env)
        assert swept.exit_code == 0, swept.output
        # the clock jumped past the deadline: its reminders are too late to mean anything, the expiry fires
        assert swept.output == (f"swept as of {moment.isoformat()}: 0 reminders, 1 expiries, 4 reminders skipped "
                                "(too late), 0 failed tries, 0 new incidents\n")

        queued = deadline_messages(db, order.id)
        assert len(queued) == 2  # the expiry, an e-mail and an SMS to the county
        assert {(m.status, m.created_at, m.next_attempt_at) for m in queued} == {("queued", moment, moment)}
        with transaction(db) as s:
            notices = s.exec(select(Notification).where(Notification.case_id == order.id,
                                                        Notification.kind.in_(["reminder", "expired"]))).all()
            expired = s.exec(select(AuditEvent).where(AuditEvent.case_id == order.id,
                                                      AuditEvent.trigger == "expire")).one()
        assert len(notices) == 2 and {n.created_at for n in notices} == {moment}  # the county and the office
        assert expired.occurred_at == moment
        overdue = reload(db, order.id)
        assert overdue.state == "overdue" and overdue.updated_at == moment

        sent = run_zyz("notifications", "dispatch", "--once", env=env)
        assert sent.exit_code == 0, sent.output
        assert sent.output == "2 sent, 0 to retry, 0 failed, 0 held for quiet hours, 0 in doubt\n"
    mails = sink.messages()
    assert len(mails) == 1 and {rcpts[0] for _, rcpts, _ in sink.received} == {county.email}
    assert {m["Date"].datetime for m in mails} == {moment}
    assert sum("逾期" in m["Subject"] for m in mails) == 1
    assert {(m.status, m.sent_at) for m in deadline_messages(db, order.id)} == {("sent", moment)}


def test_a_sweep_as_of_a_later_day_sets_the_clock_so_the_dispatcher_sends_what_it_queued(run_zyz, make, db, now,
                                                                                          sink):
    env = mail_env(sink.port)
    with time_machine.travel(now, tick=False):
        _, order = announce(run_zyz, make, sink, env)
        day, moment = morning_after(date.fromisoformat(order.data["due_date"]))
        swept = run_zyz("deadlines", "sweep", "--as-of", f"{day}T09:00", env=env)
        assert swept.exit_code == 0, swept.output
        assert swept.output.startswith(f"swept as of {moment.isoformat()}: 0 reminders, 1 expiries, 4 reminders")
        sent = run_zyz("notifications", "dispatch", "--once", env=env)
        assert sent.exit_code == 0, sent.output
        assert sent.output.startswith("2 sent, 0 to retry, 0 failed")
        shown = run_zyz("demo", "clock", "show", env=env)  # the clock stays where the sweep put it
        assert shown.output.startswith(f"demo clock: {day} 09:00:00 (Beijing time)")
    assert len(sink.messages()) == 1
    assert {m["Date"].datetime for m in sink.messages()} == {moment}


def test_the_schedulers_jobs_read_the_demo_clock_outside_any_request(app, make, db, now, sink):
    from webapp.cli import _scheduler

    app.config.update(SMTP_HOST="127.0.0.1", SMTP_PORT=str(sink.port), SMTP_SECURITY="none", SMTP_FROM=SENDER)
    with time_machine.travel(now, tick=False):
        _, _, (order,) = orders(make)
        _, moment = morning_after(date.fromisoformat(order.data["due_date"]))
        with transaction(db) as s:
            democlock.set_offset(s, offset=moment - now, real_now=now, actor=Actor.system())
        scheduler = _scheduler(app, background=True)  # built, not started: each job is run here, in this thread
        scheduler.get_job("deadline-sweep").func()
        scheduler.get_job("notification-dispatch").func()
    assert reload(db, order.id).state == "overdue"
    assert {(m.status, m.created_at, m.sent_at) for m in deadline_messages(db, order.id)} == {
        ("sent", moment, moment)}
    assert {m["Date"].datetime for m in sink.messages()[1:]} == {moment}  # after the order's own announcement
