"""A GET runs read-only on SQLite (webapp.database.App): pages are read while another request holds the write lock,
and a GET that writes after all is run once more as a writer, never answered with a 500. On PostgreSQL the same
requests run once, as before."""

from __future__ import annotations

import logging
import sqlite3
import threading
from datetime import timedelta

import pytest
import sqlalchemy as sa
import time_machine
from flask import flash
from sqlmodel import select

from conftest import ON_POSTGRES, login
from webapp.database import unit_of_work, utcnow
from workflow.core.db import transaction
from workflow.core.models import AuditEvent, LoginSession, Unit

RUN_AGAIN = "wrote while reading: run again as a writer"


class Writer:
    """Another connection to the test's SQLite file holding the write lock midway through its transaction (an
    insert made, not committed), as another worker's request would; it commits after `seconds`, or at `done()`."""

    def __init__(self, database_url: str, seconds: float):
        self.connection = sqlite3.connect(sa.engine.make_url(database_url).database, isolation_level=None, timeout=30,
                                          check_same_thread=False)
        self.connection.execute("BEGIN IMMEDIATE")
        self.connection.execute("INSERT INTO unit (name, kind, is_active, created_at) "
                                "VALUES ('另一请求', 'county', 1, '2026-11-27 02:00:00.000000')")
        self.committed = threading.Event()
        self._lock = threading.Lock()
        self._timer = threading.Timer(seconds, self.done)
        self._timer.start()

    def done(self) -> None:
        with self._lock:
            if not self.committed.is_set():
                self.connection.execute("COMMIT")
                self.committed.set()

    def __enter__(self) -> Writer:
        return self

    def __exit__(self, *_exc) -> None:
        self._timer.cancel()
        self.done()
        self.connection.close()


def reruns(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if RUN_AGAIN in r.getMessage()]


def last_seen(db, user_id: int):
    with transaction(db) as s:
        return s.exec(select(LoginSession.last_seen_at).where(LoginSession.user_id == user_id)).one()


@pytest.mark.sqlite
def test_a_page_is_read_while_another_request_holds_the_write_lock(make, client, database_url, now, caplog):
    county = make.user("county")
    caplog.set_level(logging.INFO, logger="webapp")
    with time_machine.travel(now, tick=False):
        assert login(client, county.username).status_code == 302
        with Writer(database_url, seconds=20) as writer:
            assert client.get("/inbox").status_code == 200
            assert client.get("/api/v1/definitions").status_code == 401  # the API's refusal reads only too
            assert not writer.committed.is_set()  # answered while the other request still held the lock
    assert reruns(caplog) == []


@pytest.mark.sqlite
def test_a_get_that_writes_after_all_waits_for_the_lock_and_runs_again_as_a_writer(make, client, db, database_url,
                                                                                   now, caplog):
    county = make.user("county")
    caplog.set_level(logging.INFO, logger="webapp")
    with time_machine.travel(now, tick=False) as traveller:
        assert login(client, county.username).status_code == 302
        traveller.shift(timedelta(seconds=31))  # the session's last-seen time is moved on at this request
        with Writer(database_url, seconds=1) as writer:
            page = client.get("/inbox")
            assert writer.committed.is_set()  # it waited for the other writer, then wrote after it
        assert page.status_code == 200
        assert "另一请求" not in page.get_data(as_text=True)
    assert last_seen(db, county.id) == now + timedelta(seconds=31)
    assert reruns(caplog) == ["GET cases.inbox wrote while reading: run again as a writer"]


@pytest.mark.sqlite
def test_the_auditors_search_writes_from_the_start_and_waits_for_the_lock(make, client, db, database_url, now,
                                                                          caplog):
    auditor = make.user("auditor")
    caplog.set_level(logging.INFO, logger="webapp")
    with time_machine.travel(now, tick=False):
        assert login(client, auditor.username).status_code == 302
        with Writer(database_url, seconds=1) as writer:
            assert client.get("/auditor/?kind=login_ok").status_code == 200
            assert writer.committed.is_set()
    with transaction(db) as s:
        assert s.exec(select(AuditEvent.kind).order_by(AuditEvent.seq.desc())).first() == "search"  # type: ignore[union-attr]
    assert reruns(caplog) == []


def test_a_get_that_flashes_and_writes_keeps_one_message_and_one_row(app, db, now, caplog):
    """The first, read-only run's flash goes with its rollback: the user sees the message once."""
    runs = []

    def flash_and_write():
        runs.append(1)
        flash("已登记。")
        with unit_of_work() as s:
            s.add(Unit(name=f"第{len(runs)}次", kind="county", created_at=utcnow()))
        return "ok"

    app.add_url_rule("/flash-and-write", "flash_and_write", flash_and_write)
    caplog.set_level(logging.INFO, logger="webapp")
    client = app.test_client()
    assert client.get("/flash-and-write").get_data(as_text=True) == "ok"
    with client.session_transaction() as session:
        assert session["_flashes"] == [("message", "已登记。")]
    with transaction(db) as s:
        names = s.exec(select(Unit.name)).all()
    if ON_POSTGRES:  # a read takes no lock there: run once
        assert (len(runs), names, reruns(caplog)) == (1, ["第1次"], [])
    else:
        assert (len(runs), names) == (2, ["第2次"])
        assert reruns(caplog) == ["GET flash_and_write wrote while reading: run again as a writer"]


def test_a_refused_page_is_recorded_from_its_read_only_request(make, client, db):
    county = make.user("county")
    login(client, county.username)
    assert client.get("/admin/calendar").status_code == 403
    with transaction(db) as s:
        assert s.exec(select(AuditEvent.kind).order_by(AuditEvent.seq.desc())).first() == "permission_refused"  # type: ignore[union-attr]
