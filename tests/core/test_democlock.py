"""The demo clock: one time for the pages, the rules and the sweep in training (ZYZ_ENV demo or test), set with
`zyz demo clock`, stored in the database, never read in production; the demo commands find the demo's database
and refuse one without the schema in one line."""

from __future__ import annotations

import io
import json
from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine
from docx import Document
from sqlmodel import select

from conftest import csrf_token, login, reload
from workflow.core import democlock
from workflow.core.actors import Actor
from workflow.core.calendar import LOCAL_TZ
from workflow.core.db import make_engine, make_session_factory, migrate, transaction
from workflow.core.models import Attachment, AuditEvent, DemoClock, Notification

ONE_LINE_REFUSAL = ("error: 数据库尚未初始化：请先运行 zyz demo 或 zyz init / "
                    "database not initialised: run zyz demo or zyz init first")


def local(day: date, hour: int = 9) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=LOCAL_TZ).astimezone(UTC)


def clock_events(db) -> list[dict]:
    with transaction(db) as s:
        rows = s.exec(select(AuditEvent).where(AuditEvent.kind == "demo_clock_set").order_by(AuditEvent.seq)).all()
    return [{"at": e.occurred_at, "by": e.actor_name, **json.loads(e.data)} for e in rows]


def clock_row(db) -> DemoClock | None:
    with transaction(db) as s:
        return s.get(DemoClock, 1)


# --- zyz demo clock ----------------------------------------------------------------------------------------------


def test_the_trainer_sets_advances_shows_and_resets_the_demo_clock(run_zyz, db, now):
    test = {"ZYZ_ENV": "test"}
    with time_machine.travel(now, tick=False):
        shown = run_zyz("demo", "clock", "show", env=test)
        assert shown.exit_code == 0, shown.output
        assert shown.output == "demo clock: not set, the real time 2026-11-27 10:00:00 (Beijing time)\n"

        put = run_zyz("demo", "clock", "set", "2027-03-01T09:00", env=test)
        assert put.exit_code == 0, put.output
        assert put.output == ("demo clock: 2027-03-01 09:00:00 (Beijing time), 93 days 23:00 ahead of the real "
                              "time\n")
        moved = run_zyz("demo", "clock", "advance", "--days", "10", "--hours", "3", env=test)
        assert moved.exit_code == 0, moved.output
        assert moved.output.startswith("demo clock: 2027-03-11 12:00:00 (Beijing time), 104 days 02:00 ahead")
        assert run_zyz("demo", "clock", "show", env=test).output == moved.output
        assert clock_row(db).offset_us == (local(date(2027, 3, 11), 12) - now) // timedelta(microseconds=1)

        back = run_zyz("demo", "clock", "reset", env=test)
        assert back.exit_code == 0, back.output
        assert back.output == "demo clock: not set, the real time 2026-11-27 10:00:00 (Beijing time)\n"
    assert clock_row(db) is None
    events = clock_events(db)  # each change is in the audit trail, at the time the clock then reads
    assert [(e["at"], e["from"][:16], e["to"][:16], e["by"]) for e in events] == [
        (local(date(2027, 3, 1)), "2026-11-27T02:00", "2027-03-01T01:00", "zyz demo clock"),
        (local(date(2027, 3, 11), 12), "2027-03-01T01:00", "2027-03-11T04:00", "zyz demo clock"),
        (now, "2027-03-11T04:00", "2026-11-27T02:00", "zyz demo clock")]
    assert all(e["real"].startswith("2026-11-27T02:00") for e in events)


def test_advance_needs_a_length_and_set_an_iso_time(run_zyz, db):
    nothing = run_zyz("demo", "clock", "advance", env={"ZYZ_ENV": "test"})
    assert nothing.exit_code == 2
    assert nothing.output == "error: 请给出 --days 或 --hours / give --days or --hours (to go back, use set or reset)\n"
    garbled = run_zyz("demo", "clock", "set", "next monday", env={"ZYZ_ENV": "test"})
    assert garbled.exit_code == 2
    assert garbled.output.startswith("error: 不是 ISO 格式的时间：next monday / not an ISO time: next monday")
    backwards = run_zyz("demo", "clock", "advance", "--days", "-3", env={"ZYZ_ENV": "test"})
    assert backwards.exit_code == 2 and "Traceback" not in backwards.output
    assert clock_row(db) is None and clock_events(db) == []


@pytest.mark.parametrize("env", [None, "development", "production"])
@pytest.mark.parametrize("args", [("demo", "clock", "set", "2027-03-01T09:00"), ("demo", "clock", "advance", "--days",
                                  "3"), ("demo", "clock", "reset"), ("demo", "clock", "show"),
                                  ("deadlines", "sweep", "--as-of", "2027-03-01T09:00")])
def test_the_demo_clock_is_refused_outside_demo_and_test(run_zyz, db, env, args):
    extra = {"ZYZ_ENV": env}
    if env == "production":
        extra |= {"ZYZ_SECRET_KEY": "Jf3q-9xKwB2mZtY7vLr0_Hs5NdUe8GcP1aQoXiVy4Tk",
                  "ZYZ_AUDIT_HMAC_KEY": "u7Rk2Wn-Zb9EfQx4Lm0_TdYs3HcVa8PjNgK5oXi1By6"}
    refused = run_zyz(*args, env=extra)
    assert refused.exit_code == 2
    lines = refused.output.splitlines()
    assert len(lines) == 1 and "is only allowed when ZYZ_ENV is demo or test" in lines[0], refused.output
    assert lines[0].startswith("error: ") and "只在 ZYZ_ENV 为 demo 或 test 时可用" in lines[0]
    assert clock_row(db) is None and clock_events(db) == []


def test_outside_demo_and_test_the_stored_clock_is_never_read(app, db, now, monkeypatch):
    from webapp.database import utcnow

    with transaction(db) as s:
        democlock.set_offset(s, offset=timedelta(days=90), real_now=now, actor=Actor.system())

    def no_reading(engine):
        raise AssertionError("the demo clock was read")

    for env in ("production", "development"):
        app.config["ZYZ_ENV"] = env
        monkeypatch.setattr(democlock, "offset", no_reading)
        with time_machine.travel(now, tick=False), app.test_request_context("/"):
            assert utcnow() == now  # the real clock, and no query for the stored one
        monkeypatch.undo()
    app.config["ZYZ_ENV"] = "test"
    with time_machine.travel(now, tick=False), app.test_request_context("/"):
        assert utcnow() == now + timedelta(days=90)


# --- the pages and the rules ---------------------------------------------------------------------------------


def test_a_page_reads_the_demo_clock_once_and_shows_it(app, make, db, now, monkeypatch):
    make.user("county", username="yx_clerk")
    make.case("rectification", data={"problem": "台账缺失"})  # the inbox counts its deadlines against now
    with time_machine.travel(now, tick=False):
        client = app.test_client()
        login(client, "yx_clerk")
        assert "演示时钟" not in client.get("/inbox").get_data(as_text=True)  # not set: no banner
        with transaction(db) as s:
            democlock.set_offset(s, offset=timedelta(minutes=20), real_now=now, actor=Actor.system())
        reads = []
        real_offset = democlock.offset
        monkeypatch.setattr(democlock, "offset", lambda engine: reads.append(1) or real_offset(engine))
        page = client.get("/inbox")
    assert page.status_code == 200
    assert len(reads) == 1  # the session check, the deadline badges and the banner share one reading
    assert "演示时钟：2026-11-27 10:20（北京时间）" in page.get_data(as_text=True)


def test_steps_taken_on_the_pages_after_the_clock_moved_are_dated_by_it(app, run_zyz, make, db, now):
    """The sweep makes the order overdue on the demo's day; the office's draft notice and the leader's issued notice
    carry that day, its year numbers the notice, and a new deadline must lie after the demo's today."""
    office = make.user("office", username="office1")
    make.user("leader", username="leader1")
    order = make.case("rectification", state="rectifying", by=office, data={"problem": "公共服务平台未建成"})
    due = date.fromisoformat(order.data["due_date"])
    day = due + timedelta(days=3)
    while day.weekday() >= 5:
        day += timedelta(days=1)
    moment = local(day, 10)
    with time_machine.travel(now, tick=False):
        swept = run_zyz("deadlines", "sweep", "--as-of", f"{day}T10:00",
                        env={"ZYZ_ENV": "test", "ZYZ_UPLOAD_DIR": app.config["UPLOAD_DIR"]})
        assert swept.exit_code == 0, swept.output
        assert swept.output.startswith(f"swept as of {moment.isoformat()}: ") and "1 expiries" in swept.output
        assert reload(db, order.id).state == "overdue"

        client = app.test_client()
        login(client, "office1")
        draft = client.post(f"/cases/{order.id}/do/criticise", data={
            "comment": "逾期未建成公共服务平台。", "expected_version": reload(db, order.id).version,
            "csrf_token": csrf_token(client, f"/cases/{order.id}/do/criticise")})
        assert draft.status_code == 302, draft.get_data(as_text=True)
        leader_client = app.test_client()
        login(leader_client, "leader1")
        issued = leader_client.post(f"/cases/{order.id}/do/approve_criticism", data={
            "confirmed": "yes", "expected_version": reload(db, order.id).version,
            "csrf_token": csrf_token(leader_client, f"/cases/{order.id}/do/approve_criticism")})
        assert issued.status_code == 302, issued.get_data(as_text=True)

        criticised = reload(db, order.id)
        assert criticised.state == "criticised" and criticised.updated_at == moment
        assert criticised.data["criticism"]["drafted_at"] == moment.isoformat(timespec="seconds")
        (notice,) = criticised.data["criticisms"]
        assert notice["issued_date"] == day.isoformat() and notice["number"] == f"阳专镇通〔{day.year}〕1号"
        with transaction(db) as s:
            papers = s.exec(select(Attachment).where(Attachment.case_id == order.id)
                            .where(Attachment.kind.in_(["criticism_draft", "criticism_notice"]))).all()
        assert sorted(p.kind for p in papers) == ["criticism_draft", "criticism_notice"]
        issued_on = f"{day.year}年{day.month}月{day.day}日"
        for paper in papers:
            assert paper.uploaded_at == moment
            with client.get(f"/attachments/{paper.id}") as download:
                text = "\n".join(p.text for p in Document(io.BytesIO(download.data)).paragraphs)
            assert issued_on in text and f"{due.year}年{due.month}月{due.day}日前完成" in text

        # a new deadline after the real today but not after the demo's today is refused
        refused = client.post(f"/cases/{order.id}/do/reissue", data={
            "due_date": (day - timedelta(days=1)).isoformat(), "expected_version": criticised.version,
            "csrf_token": csrf_token(client, f"/cases/{order.id}/do/reissue")})
        assert refused.status_code == 422
        assert reload(db, order.id).state == "criticised"
    with transaction(db) as s:
        told = s.exec(select(Notification).where(Notification.case_id == order.id,
                                                 Notification.kind == "expired")).all()
    assert told and {n.created_at for n in told} == {moment}


# --- which database ------------------------------------------------------------------------------------------


def test_the_demo_commands_find_the_demo_database_by_themselves(run_zyz, tmp_path):
    instance = tmp_path / "training"
    demo = {"ZYZ_ENV": "demo", "ZYZ_DATABASE_URL": None, "ZYZ_INSTANCE_PATH": str(instance)}
    built = run_zyz("demo", "--no-serve", env=demo)
    assert built.exit_code == 0, built.output
    assert f"demo database: {instance / 'demo.db'}" in built.output

    put = run_zyz("demo", "clock", "set", "2027-03-01T09:00", env=demo)
    assert put.exit_code == 0, put.output
    swept = run_zyz("deadlines", "sweep", env=demo)
    assert swept.exit_code == 0, swept.output
    assert swept.output.startswith("swept as of 2027-03-01T01:00")
    sent = run_zyz("notifications", "dispatch", "--once", env=demo)  # no SMTP server: e-mails go to the log
    assert sent.exit_code == 0, sent.output
    listed = run_zyz("deadlines", "list", env=demo)
    assert listed.exit_code == 0, listed.output
    assert run_zyz("demo", "clock", "reset", env=demo).exit_code == 0
    assert run_zyz("audit", "anchor", env=demo).exit_code == 0
    verified = run_zyz("audit", "verify", env=demo)  # times that jump ahead and back leave the chain intact
    assert verified.exit_code == 0 and verified.output.startswith("OK: "), verified.output
    assert (instance / "demo-anchors").is_dir()

    assert sorted(p.name for p in instance.glob("*.db")) == ["demo.db"]  # and no zyz.db beside it
    engine = make_engine(f"sqlite:///{instance / 'demo.db'}")
    try:
        demo_db = make_session_factory(engine)
        assert clock_row(demo_db) is None  # reset
        put, back = clock_events(demo_db)
        assert put["to"][:16] == "2027-03-01T01:00" and back["from"][:13] == "2027-03-01T01"
    finally:
        engine.dispose()


COMMANDS = [("deadlines", "sweep"), ("deadlines", "list"), ("notifications", "dispatch", "--once"),
            ("notifications", "failed"), ("demo", "clock", "show"), ("demo", "clock", "advance", "--days", "1"),
            ("audit", "verify"), ("users", "unlock", "someone")]


@pytest.mark.sqlite
@pytest.mark.parametrize("args", COMMANDS)
def test_a_missing_demo_database_is_one_line_and_no_file(run_zyz, tmp_path, args):
    instance = tmp_path / "training"
    result = run_zyz(*args, env={"ZYZ_ENV": "demo", "ZYZ_DATABASE_URL": None, "ZYZ_INSTANCE_PATH": str(instance)})
    assert result.exit_code == 2
    assert result.output == f"{ONE_LINE_REFUSAL} (sqlite:///{instance / 'demo.db'})\n"
    assert list(instance.glob("*.db*")) == []  # neither demo.db nor zyz.db was made


@pytest.mark.sqlite
@pytest.mark.parametrize("args", COMMANDS[:5])
def test_a_database_without_the_tables_or_behind_the_migrations_is_one_line(run_zyz, tmp_path, args):
    empty = tmp_path / "empty.db"
    empty.touch()
    result = run_zyz(*args, env={"ZYZ_ENV": "test", "ZYZ_DATABASE_URL": f"sqlite:///{empty}"})
    assert result.exit_code == 2
    assert result.output == f"{ONE_LINE_REFUSAL} (sqlite:///{empty})\n"

    old = tmp_path / "old.db"
    engine = make_engine(f"sqlite:///{old}")
    migrate(engine, "0008")
    engine.dispose()
    result = run_zyz(*args, env={"ZYZ_ENV": "test", "ZYZ_DATABASE_URL": f"sqlite:///{old}"})
    assert result.exit_code == 2
    assert result.output == ("error: 数据库结构不是最新：请运行 zyz init（演示数据库：重新运行 zyz demo） / "
                             "the database schema is out of date: run zyz init (the demo database: run zyz demo again) "
                             f"(sqlite:///{old})\n")


@pytest.mark.postgres
def test_a_postgresql_database_that_is_not_there_is_one_line(run_zyz, database_url):
    from sqlalchemy.engine import make_url

    missing = make_url(database_url).set(database="zyz_no_such_database").render_as_string(hide_password=False)
    result = run_zyz("deadlines", "sweep", env={"ZYZ_ENV": "test", "ZYZ_DATABASE_URL": missing})
    assert result.exit_code == 2
    lines = result.output.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: 无法连接数据库 / cannot connect to the database (")
    assert "zyz_no_such_database" in lines[0] and "Traceback" not in result.output
