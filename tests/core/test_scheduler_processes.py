"""The scheduler as a real process: killed mid-sweep and restarted, or two of them at once; every due
reminder and expiry fires exactly once."""

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from click.testing import CliRunner
from sqlmodel import select

from workflow.core.audit import ANCHOR_FILE
from workflow.core.db import transaction
from workflow.core.models import AuditEvent, Deadline

ZYZ = str(Path(sys.executable).parent / "zyz")
ORDERS = 150  # each has an expiry and four reminders, all due: the reminders are skipped, the expiry fires
DONE = ("fired", "skipped")


def _due_orders(make, count=ORDERS):
    office = make.user("office")
    town = make.town()
    make.now = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)  # issued in March: everything is due by today
    return [make.case("rectification", state="rectifying", town=town, by=office,
                      data={"problem": f"问题 {i}"}) for i in range(count)]


def _start(database_url, tmp_path, name):
    env = {**os.environ, "ZYZ_DATABASE_URL": database_url, "ZYZ_SWEEP_SECONDS": "1", "ZYZ_ENV": "test",
           "ZYZ_SWEEP_BATCH": "25",
           "ZYZ_INSTANCE_PATH": str(tmp_path / name)}
    log = open(tmp_path / f"{name}.log", "w")  # noqa: SIM115 - closed by the test after the process ends
    return subprocess.Popen([ZYZ, "scheduler"], env=env, stdout=log, stderr=subprocess.STDOUT), log


def _status_counts(db):
    """Counted without a write lock (SQLite's BEGIN IMMEDIATE would queue behind the sweeping process)."""
    engine = db.kw["bind"]
    if engine.dialect.name == "sqlite":
        import sqlite3

        with sqlite3.connect(engine.url.database, timeout=30) as conn:
            return Counter(row[0] for row in conn.execute("SELECT status FROM deadline"))
    with engine.connect() as conn:
        return Counter(conn.execute(sa.select(Deadline.status)).scalars().all())


def _done(db):
    counts = _status_counts(db)
    return sum(counts[status] for status in DONE)


def _wait_until(predicate, timeout=120):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return False


def _assert_each_fired_once(db, orders):
    """The orders' deadlines (the scheduler's yearly jobs may open cases of their own: not counted here)."""
    ids = [o.id for o in orders]
    with transaction(db) as s:
        rows = s.exec(select(Deadline).where(Deadline.status != "closed", Deadline.case_id.in_(ids))).all()
        events = s.exec(select(AuditEvent).where(AuditEvent.kind.in_(["reminder_sent", "reminder_skipped",
                                                                         "transition"]),
                                                 AuditEvent.case_id.in_(ids))).all()
    reminders = [r.id for r in rows if r.kind == "reminder"]
    skipped = Counter(json.loads(e.data)["deadline_id"] for e in events if e.kind == "reminder_skipped")
    assert sorted(skipped) == sorted(reminders) and set(skipped.values()) == {1}  # the deadline has passed
    assert not [e for e in events if e.kind == "reminder_sent"]
    expired = Counter(e.case_id for e in events if e.kind == "transition" and e.trigger == "expire")
    assert expired == {o.id: 1 for o in orders}
    assert {r.status for r in rows if r.kind == "expiry"} == {"fired"}
    assert {r.status for r in rows if r.kind == "reminder"} == {"skipped"}


@pytest.mark.slow
def test_scheduler_killed_mid_sweep_and_restarted_fires_everything_once(make, db, database_url, tmp_path):
    orders = _due_orders(make)
    total = _status_counts(db)["open"]
    assert total == ORDERS * 5
    first, log = _start(database_url, tmp_path, "first")
    try:
        assert _wait_until(lambda: _done(db) > 0), "the sweep never started"
        os.kill(first.pid, signal.SIGKILL)  # in the middle of the sweep: some batches committed, one open
        first.wait(timeout=10)
    finally:
        log.close()
    part = _done(db)
    assert 0 < part < total, f"not mid-sweep: {part} of {total} fired"
    second, log = _start(database_url, tmp_path, "second")
    try:
        assert _wait_until(lambda: _done(db) == total), (tmp_path / "second.log").read_text()
        # its other jobs run too, in the scheduler's threads: the audit trail's anchor of the day, written at start
        anchor = tmp_path / "second" / "anchors" / ANCHOR_FILE
        assert _wait_until(anchor.exists, timeout=30), (tmp_path / "second.log").read_text()
    finally:
        second.send_signal(signal.SIGTERM)  # as a service manager stops it
        second.wait(timeout=20)
        log.close()
    assert second.returncode == 0 and "scheduler stopped" in (tmp_path / "second.log").read_text()  # not killed
    _assert_each_fired_once(db, orders)


@pytest.mark.postgres
@pytest.mark.slow
def test_two_schedulers_on_postgresql_share_the_work_without_duplicates(make, db, database_url, tmp_path):
    orders = _due_orders(make, count=300)
    total = _status_counts(db)["open"]
    processes = [_start(database_url, tmp_path, f"scheduler{i}") for i in (1, 2)]
    try:
        assert _wait_until(lambda: _done(db) == total)
    finally:
        for process, log in processes:
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=20)
            log.close()
    _assert_each_fired_once(db, orders)
    with transaction(db) as s:
        workers = Counter(s.connection().execute(
            sa.select(Deadline.claimed_by).where(Deadline.status == "fired")).scalars().all())
    assert len(workers) == 2, f"one scheduler did all the work: {workers}"


def test_sweep_as_of_is_refused_outside_demo_and_test(app):
    from flask.cli import ScriptInfo

    from webapp.cli import main

    runner = CliRunner()
    app.config["ZYZ_ENV"] = "production"
    refused = runner.invoke(main, ["deadlines", "sweep", "--as-of", "2027-01-15T09:00"],
                            obj=ScriptInfo(create_app=lambda: app))
    assert refused.exit_code == 2 and "only allowed" in refused.output
    app.config["ZYZ_ENV"] = "test"
    allowed = runner.invoke(main, ["deadlines", "sweep", "--as-of", "2027-01-15T09:00"],
                            obj=ScriptInfo(create_app=lambda: app))
    assert allowed.exit_code == 0 and "2027-01-15T01:00:00+00:00" in allowed.output
