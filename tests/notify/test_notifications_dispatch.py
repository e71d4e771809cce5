"""The dispatcher as a real process: killed by SIGKILL between the SMTP server accepting a message and the row
being marked, then restarted (no second copy); several dispatchers on PostgreSQL (nothing sent twice);
taking back what a dead dispatcher held; the office's retry."""

from __future__ import annotations

import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlmodel import select
from test_notifications_email import SENDER, SmtpSink, email_rows, orders

from notifications import outbox
from notifications.dispatcher import IN_DOUBT, dispatch, reconcile, worker_name
from notifications.settings import NotifySettings, SmsSettings, SmtpSettings
from workflow.core import audit
from workflow.core.actors import Actor
from workflow.core.db import transaction
from workflow.core.errors import Conflict, Forbidden
from workflow.core.models import AuditEvent, OutboxMessage

ZYZ = str(Path(sys.executable).parent / "zyz")
_table = OutboxMessage.__table__


def _start(database_url, tmp_path, name, smtp_port, *extra, **env):
    environment = {**os.environ, "ZYZ_DATABASE_URL": database_url, "ZYZ_ENV": "test", "ZYZ_NOTIFY_SECONDS": "1",
                   "ZYZ_INSTANCE_PATH": str(tmp_path / name), "ZYZ_SMTP_HOST": "127.0.0.1",
                   "ZYZ_SMTP_PORT": str(smtp_port), "ZYZ_SMTP_SECURITY": "none", "ZYZ_SMTP_FROM": SENDER,
                   "ZYZ_SMS_PROVIDER": "console", **env}
    log = open(tmp_path / f"{name}.log", "w")  # noqa: SIM115 - closed by the test after the process ends
    return subprocess.Popen([ZYZ, "notifications", "dispatch", *extra], env=environment, stdout=log,
                            stderr=subprocess.STDOUT), log


def _statuses(db) -> Counter:
    """Counted without a write lock (SQLite's BEGIN IMMEDIATE would queue behind the dispatcher)."""
    engine = db.kw["bind"]
    if engine.dialect.name == "sqlite":
        with sqlite3.connect(engine.url.database, timeout=30) as conn:
            return Counter(r[0] for r in conn.execute("SELECT status FROM outbox_message WHERE channel = 'email'"))
    with engine.connect() as conn:
        return Counter(conn.execute(sa.select(_table.c.status).where(_table.c.channel == "email")).scalars())


def _wait_until(predicate, timeout=90):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)  # polling another process, not waiting for the clock
    return False


@pytest.mark.slow
def test_killed_after_the_server_accepted_a_message_the_recipient_gets_no_second_copy(make, db, database_url,
                                                                                      tmp_path):
    users = tuple(f"county{i}@yx.gov.cn" for i in range(6))
    orders(make, users=users)  # the order's announcement: six e-mails, six SMS
    dispatcher = {}

    def kill_at_the_first_message(count: int) -> None:
        # The server has the message; the dispatcher is killed before it reads the 250 reply and marks the row.
        if count == 1:
            os.kill(dispatcher["pid"], signal.SIGKILL)

    sink = SmtpSink(on_data=kill_at_the_first_message).start()
    try:
        first, log = _start(database_url, tmp_path, "first", sink.port)
        dispatcher["pid"] = first.pid
        try:
            assert first.wait(timeout=60) == -signal.SIGKILL, (tmp_path / "first.log").read_text()
        finally:
            log.close()
        assert len(sink.received) == 1
        assert _statuses(db) == {"sending": 1, "claimed": 5}  # one handed over, five claimed and not begun

        second, log = _start(database_url, tmp_path, "second", sink.port)
        try:
            assert _wait_until(lambda: _statuses(db)["sent"] == 5), (tmp_path / "second.log").read_text()
        finally:
            second.send_signal(signal.SIGTERM)
            second.wait(timeout=20)
            log.close()
    finally:
        sink.stop()

    ids = sink.message_ids()
    assert len(ids) == 6 and len(set(ids)) == 6  # six messages, six distinct Message-IDs: nobody got two
    assert Counter(rcpts[0] for _, rcpts, _ in sink.received) == Counter(users)
    rows = email_rows(db)
    assert sorted(r.message_id for r in rows) == sorted(ids)
    (doubt,) = [r for r in rows if r.status == "failed"]
    assert (doubt.error_kind, doubt.last_error, doubt.message_id) == ("in_doubt", IN_DOUBT, ids[0])
    assert {r.status for r in rows if r.id != doubt.id} == {"sent"}
    with transaction(db) as s:
        event = s.exec(select(AuditEvent).where(AuditEvent.kind == "notification_failed")).one()
        assert json.loads(event.data)["error_kind"] == "in_doubt"
        assert audit.verify(s).ok


@pytest.mark.postgres
@pytest.mark.slow
def test_several_dispatchers_on_postgresql_send_nothing_twice(make, db, database_url, tmp_path):
    users = ("a@yx.gov.cn", "b@yx.gov.cn")
    orders(make, count=200, users=users)  # 400 e-mails
    sink = SmtpSink().start()
    processes = []
    try:
        processes = [_start(database_url, tmp_path, f"dispatcher{i}", sink.port, "--once", ZYZ_NOTIFY_BATCH="5")
                     for i in range(3)]
        for process, log in processes:
            assert process.wait(timeout=120) == 0
            log.close()
    finally:
        for process, log in processes:
            if process.poll() is None:
                process.kill()
                log.close()
        sink.stop()
    ids = sink.message_ids()
    assert len(ids) == 400 and len(set(ids)) == 400
    rows = email_rows(db)
    assert {r.status for r in rows} == {"sent"} and sorted(r.message_id for r in rows) == sorted(ids)
    workers = Counter(r.claimed_by for r in rows)
    assert len(workers) >= 2, f"one dispatcher did all the work: {workers}"


# --- in-process: reconciling and retrying ----------------------------------------------------------------------


def _dead_worker() -> str:
    """The name a dispatcher on this host in a process that has ended would have."""
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return f"{socket.gethostname()}:{process.pid}"


def test_what_a_dead_dispatcher_held_is_requeued_or_in_doubt(make, db, now):
    orders(make, users=("a@yx.gov.cn", "b@yx.gov.cn", "c@yx.gov.cn"))
    rows = email_rows(db)
    dead, alive = _dead_worker(), f"{socket.gethostname()}:{os.getppid()}:c0"  # a live process: pytest's parent
    with transaction(db) as s:
        conn = s.connection()
        conn.execute(_table.update().where(_table.c.id == rows[0].id).values(status="sending", claimed_by=dead,
                                                                             claimed_at=now, attempts=1))
        conn.execute(_table.update().where(_table.c.id == rows[1].id).values(status="claimed", claimed_by=dead,
                                                                             claimed_at=now))
        conn.execute(_table.update().where(_table.c.id == rows[2].id).values(status="claimed", claimed_by=alive,
                                                                             claimed_at=now))
    result = reconcile(db, now=now + timedelta(seconds=5), worker=worker_name(), lease=timedelta(minutes=15))
    assert (result.in_doubt, result.requeued) == (1, 1)
    after = {r.id: r for r in email_rows(db)}
    assert (after[rows[0].id].status, after[rows[0].id].error_kind) == ("failed", "in_doubt")
    assert (after[rows[1].id].status, after[rows[1].id].claimed_by) == ("queued", None)
    assert after[rows[2].id].status == "claimed"  # a live dispatcher's claim is left alone...
    late = reconcile(db, now=now + timedelta(minutes=16), worker=worker_name(), lease=timedelta(minutes=15))
    assert late.requeued == 1  # ...until its lease runs out


def test_the_office_retries_a_failed_message_with_the_same_message_id(make, db, now):
    office, (county,), (order,) = orders(make, users=("gone@yx.gov.cn",))
    sink = SmtpSink(refuse_rcpt={"gone@yx.gov.cn": "550 5.1.1 no such user"}).start()
    settings = NotifySettings(smtp=SmtpSettings(host="127.0.0.1", port=sink.port, security="none", sender=SENDER),
                              sms=SmsSettings(provider="console"))
    try:
        dispatch(db, now=now, settings=settings)
        (row,) = email_rows(db)
        assert row.status == "failed"
        with transaction(db) as s:
            failed, total = outbox.failed(s, page=1)
        assert total == 1 and failed[0].id == row.id and failed[0].rule_label == ("下达整改通知",
                                                                                "Rectification order issued")
        with pytest.raises(Forbidden), transaction(db) as s:
            outbox.retry(s, outbox_id=row.id, actor=make.actor(county), now=now)
        with transaction(db) as s:
            outbox.retry(s, outbox_id=row.id, actor=make.actor(office), now=now + timedelta(minutes=1))
        with pytest.raises(Conflict), transaction(db) as s:
            outbox.retry(s, outbox_id=row.id, actor=make.actor(office), now=now)
        with transaction(db) as s:
            shown = outbox.deliveries(s, case_id=order.id, viewer=make.actor(office))
        assert [(d.channel, d.shown_status) for d in shown] == [("sms", "sent"), ("email", "retried")]
        sink.refuse_rcpt.clear()  # the mailbox exists again
        dispatch(db, now=now + timedelta(minutes=1), settings=settings)
    finally:
        sink.stop()
    (row,) = email_rows(db)
    assert (row.status, row.attempts, row.retries) == ("sent", 1, 1)
    assert sink.message_ids() == [row.message_id]
    with transaction(db) as s:
        kinds = [e.kind for e in s.exec(select(AuditEvent).where(AuditEvent.kind.like("notification_%"))
                                        .order_by(AuditEvent.seq)).all()]
        county_view = outbox.deliveries(s, case_id=order.id, viewer=Actor.of(county, None))
    assert kinds == ["notification_failed", "notification_sent", "notification_retried", "notification_sent"]
    assert {d.recipient for d in county_view} == {"county用户"}


def test_a_row_taken_back_by_another_dispatcher_is_not_handed_over(make, db, now):
    orders(make, users=("a@yx.gov.cn", "b@yx.gov.cn", "c@yx.gov.cn"))
    rows = email_rows(db)

    def another_dispatcher_takes_the_second(count: int) -> None:
        # while the first message is with the server, another dispatcher takes back the second row (its lease ran out)
        if count == 1:
            with transaction(db) as s:
                s.connection().execute(_table.update().where(_table.c.id == rows[1].id)
                                       .values(status="claimed", claimed_by="elsewhere:1:c0"))

    sink = SmtpSink(on_data=another_dispatcher_takes_the_second).start()
    settings = NotifySettings(smtp=SmtpSettings(host="127.0.0.1", port=sink.port, security="none", sender=SENDER),
                              sms=SmsSettings(provider="console"), connections=1)
    try:
        result = dispatch(db, now=now, settings=settings)
    finally:
        sink.stop()
    after = {r.id: r for r in email_rows(db)}
    assert sorted(rcpts[0] for _, rcpts, _ in sink.received) == ["a@yx.gov.cn", "c@yx.gov.cn"]
    assert (after[rows[1].id].status, after[rows[1].id].claimed_by) == ("claimed", "elsewhere:1:c0")
    assert result.sent == 5  # two e-mails and three SMS (console)
