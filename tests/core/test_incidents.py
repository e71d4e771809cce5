"""A failed automatic step is tried again after a pause, then becomes an incident that the office sees, retries or
resolves by hand; never a silently stuck case."""

import json
import threading
import time
from datetime import UTC, datetime, timedelta
from typing import ClassVar

import pytest
import sqlalchemy as sa
from sqlmodel import select
from test_sweep import DEADLINES, add_sweep_process

from conftest import reload
from workflow.core import incidents
from workflow.core.db import transaction
from workflow.core.errors import Conflict, NotFound, Unprocessable
from workflow.core.models import AuditEvent, Incident, Notification
from workflow.core.sweep import retry_incident, sweep, worker_name


@pytest.fixture
def office(make):
    return make.user("office")


@pytest.fixture
def county(make):
    return make.user("county")


@pytest.fixture
def process(isolated_catalog):
    """The sweep tests' own process (a waiting state with a reply deadline that lapses)."""
    return add_sweep_process(isolated_catalog)


def _waiting_case(db, make, now, office):
    from workflow.core.engine import create_case

    town = make.town()
    with transaction(db) as s:
        return create_case(session=s, definition_key="sweeptest", actor=make.actor(office), now=now, town_id=town.id)


@pytest.fixture
def broken(monkeypatch):
    """The expiry's step fails for the cases in `broken.cases` (as a full disk or a refused step would)."""
    import workflow.core.sweep as sweep_module

    real_fire = sweep_module.fire

    class Broken:
        cases: ClassVar[set[int]] = set()

        @staticmethod
        def fire(**kwargs):
            if kwargs["case_id"] in Broken.cases:
                raise RuntimeError("磁盘已满")
            return real_fire(**kwargs)

    monkeypatch.setattr(sweep_module, "fire", Broken.fire)
    return Broken


def _expiry(db, case):
    with transaction(db) as s:
        query = sa.select(DEADLINES).where(DEADLINES.c.case_id == case.id, DEADLINES.c.name == "reply",
                                           DEADLINES.c.kind == "expiry")
        return dict(s.connection().execute(query).mappings().one())


def _incidents(db):
    with transaction(db) as s:
        return s.exec(select(Incident).order_by(Incident.id)).all()


def _kinds(db, case_id=None):
    with transaction(db) as s:
        query = select(AuditEvent.kind).order_by(AuditEvent.seq)
        if case_id is not None:
            query = query.where(AuditEvent.case_id == case_id)
        return list(s.exec(query).all())


def _fail_three_times(db, make, now, office, broken):
    case = _waiting_case(db, make, now, office)
    broken.cases = {case.id}
    due = _expiry(db, case)["due_at"]
    assert sweep(db, now=due).failed == 1  # the first try
    assert sweep(db, now=due + timedelta(seconds=59)).total == 0  # waits a minute before the second
    assert sweep(db, now=due + timedelta(minutes=1)).failed == 1
    assert sweep(db, now=due + timedelta(minutes=10, seconds=59)).total == 0  # then ten minutes before the third
    last = sweep(db, now=due + timedelta(minutes=11))
    assert (last.failed, last.incidents) == (1, 1)
    return case, due


def test_a_step_that_keeps_failing_becomes_one_incident_and_the_office_is_told_once(db, make, now, office, county,
                                                                                     process, broken):
    case, due = _fail_three_times(db, make, now, office, broken)
    [incident] = _incidents(db)
    assert (incident.case_id, incident.deadline_id, incident.trigger, incident.job, incident.status) == (
        case.id, _expiry(db, case)["id"], "lapse", None, "open")
    assert (incident.error_zh, incident.error_en) == ("系统内部错误：RuntimeError: 磁盘已满",
                                                      "Internal error: RuntimeError: 磁盘已满")
    assert (incident.tries, incident.first_failed_at, incident.last_failed_at) == (
        3, due, due + timedelta(minutes=11))
    assert reload(db, case.id).state == "waiting"
    assert _expiry(db, case)["status"] == "failed"  # not tried again by the sweep: a person decides now
    assert sweep(db, now=due + timedelta(days=30)).total == 0
    assert _kinds(db, case.id).count("deadline_failed") == 3 and _kinds(db, case.id)[-1] == "incident_opened"
    with transaction(db) as s:
        told = s.exec(select(Notification).where(Notification.kind == "incident")).all()
    assert [(n.user_id, n.case_id) for n in told] == [(office.id, case.id)]  # the office, not the county
    assert (told[0].params["error"], told[0].params["title"], told[0].params["trigger"]) == (
        "系统内部错误：RuntimeError: 磁盘已满", f"{case.number} {case.title}", "lapse")
    with transaction(db) as s:
        events = s.exec(select(AuditEvent).where(AuditEvent.kind.in_(["deadline_failed", "incident_opened"]))
                        .order_by(AuditEvent.seq)).all()
    assert {(e.case_id, e.county_id, e.role, e.trigger) for e in events} == {(case.id, case.county_id, "system",
                                                                             "lapse")}
    assert [json.loads(e.data)["try"] for e in events[:3]] == [1, 2, 3]


def test_a_passing_fault_needs_nobody(db, make, now, office, process, broken):
    case = _waiting_case(db, make, now, office)
    broken.cases = {case.id}
    due = _expiry(db, case)["due_at"]
    assert sweep(db, now=due).failed == 1
    broken.cases = set()  # the database is back
    assert sweep(db, now=due + timedelta(minutes=1)).expiries == 1
    assert reload(db, case.id).state == "lapsed"
    row = _expiry(db, case)
    assert (row["status"], row["attempts"], row["fired_at"]) == ("fired", 1, due + timedelta(minutes=1))
    assert _incidents(db) == []


def test_a_retry_after_the_cause_is_fixed_runs_the_step_and_resolves_the_incident(db, make, now, office, process,
                                                                                   broken):
    case, due = _fail_three_times(db, make, now, office, broken)
    [incident] = _incidents(db)
    broken.cases = set()
    later = due + timedelta(days=1)
    with transaction(db) as s:  # the failed tries were another server's: the row names the one that retried
        s.connection().execute(DEADLINES.update().where(DEADLINES.c.id == incident.deadline_id)
                               .values(claimed_by="zyz-node-2:4711"))
    with transaction(db) as s:
        _, error = retry_incident(s, incident.id, actor=make.actor(office), now=later)
    assert error is None
    assert reload(db, case.id).state == "lapsed"
    row = _expiry(db, case)
    assert (row["status"], row["fired_at"], row["claimed_at"], row["claimed_by"]) == (
        "fired", later, later, worker_name())
    [resolved] = _incidents(db)
    assert (resolved.status, resolved.resolution, resolved.resolved_by_id, resolved.resolved_at) == (
        "resolved", "retried", office.id, later)
    assert _kinds(db, case.id)[-1] == "incident_retried"
    with transaction(db) as s, pytest.raises(Conflict):
        retry_incident(s, incident.id, actor=make.actor(office), now=later)


def test_a_retry_that_fails_again_is_counted_and_the_incident_stays_open(db, make, now, office, process, broken,
                                                                          caplog):
    case, due = _fail_three_times(db, make, now, office, broken)
    [incident] = _incidents(db)
    with transaction(db) as s, caplog.at_level("WARNING", logger="workflow.core.sweep"):
        _, error = retry_incident(s, incident.id, actor=make.actor(office), now=due + timedelta(hours=2))
    assert error == ("系统内部错误：RuntimeError: 磁盘已满", "Internal error: RuntimeError: 磁盘已满")
    # the server's log names the incident and the cause for whoever maintains it
    assert f"retry of incident {incident.id} failed: 磁盘已满" in caplog.messages
    [still] = _incidents(db)
    assert (still.status, still.tries, still.last_failed_at) == ("open", 4, due + timedelta(hours=2))
    assert _expiry(db, case)["status"] == "failed" and reload(db, case.id).state == "waiting"
    with transaction(db) as s:
        event = s.exec(select(AuditEvent).where(AuditEvent.kind == "incident_retry_failed")).one()
    assert (event.case_id, event.actor_id, json.loads(event.data)["tries"]) == (case.id, office.id, 4)


@pytest.mark.parametrize("limit", [1, 50])  # one row a batch, or all in one
def test_several_incidents_in_one_sweep_are_all_counted(db, make, now, office, process, broken, limit):
    cases = [_waiting_case(db, make, now, office) for _ in range(3)]
    broken.cases = {c.id for c in cases}
    with transaction(db) as s:  # the last try of each is due
        s.connection().execute(DEADLINES.update().values(attempts=2))
    result = sweep(db, now=now + timedelta(days=30), limit=limit)
    assert (result.incidents, result.failed) == (3, 3)
    # the last try waits for nothing more: a person decides now
    assert [_expiry(db, c)["next_try_at"] for c in cases] == [None, None, None]
    assert sorted(i.case_id for i in _incidents(db)) == sorted(c.id for c in cases)


def test_after_a_batch_that_failed_the_next_batch_runs_straight_again(db, make, now, office, process, broken,
                                                                      monkeypatch):
    import workflow.core.sweep as sweep_module

    failing, fine = (_waiting_case(db, make, now, office) for _ in range(2))
    broken.cases = {failing.id}
    carefully: list[int] = []
    real = sweep_module._process_safely

    def row_by_row(session, row, **kwargs):
        carefully.append(row.case_id)
        return real(session, row, **kwargs)

    monkeypatch.setattr(sweep_module, "_process_safely", row_by_row)
    # due by the reply's end: each case's notice period, two reminders and the reply's expiry, soonest first; the
    # first batch of seven ends with the failing case's expiry, the second holds the other case's alone
    result = sweep(db, now=_expiry(db, fine)["due_at"], limit=7)
    assert carefully == [failing.id, fine.id] * 3 + [failing.id]  # the failed batch again, row by row; not the next
    assert (result.failed, result.expiries) == (1, 3)
    assert reload(db, fine.id).state == "lapsed" and reload(db, failing.id).state == "waiting"


def test_a_scheduled_jobs_incident_is_not_retried_from_a_case_deadline(db, make, now, office):
    with transaction(db) as s:
        incident = incidents.open_incident(s, now=now, error=("邮件服务器无响应", "mail server down"), tries=3,
                                           first_failed_at=now, notifier=_Silent, job="notification-dispatch")
    with transaction(db) as s, pytest.raises(Conflict) as refused:
        retry_incident(s, incident.id, actor=make.actor(office), now=now)
    assert refused.value.code == "job_incident"
    assert refused.value.zh == "定时任务的失败请由运维人员在服务器上运行 zyz incidents retry 重试。"
    assert refused.value.en == "A scheduled job's failure is retried on the server: zyz incidents retry."
    assert _incidents(db)[0].status == "open"


class _Silent:
    @staticmethod
    def recipient_ids(*_args):
        return []

    @staticmethod
    def notify(*_args, **_kwargs):
        return 0


def test_resolving_by_hand_needs_a_comment_and_leaves_the_step_undone(db, make, now, office, county, process, broken):
    case, due = _fail_three_times(db, make, now, office, broken)
    [incident] = _incidents(db)
    for comment in (None, "", "   ", "长" * 1001):
        with transaction(db) as s, pytest.raises(Unprocessable) as refused:
            incidents.resolve_by_hand(s, incident.id, actor=make.actor(office), now=due, comment=comment)
        assert refused.value.details[0]["field"] == "comment"
    assert _incidents(db)[0].status == "open"
    with transaction(db) as s, pytest.raises(NotFound):  # only the office handles incidents
        incidents.resolve_by_hand(s, incident.id, actor=make.actor(county), now=due, comment="已处理")
    with transaction(db) as s, pytest.raises(NotFound):
        incidents.resolve_by_hand(s, 10**20, actor=make.actor(office), now=due, comment="已处理")
    with transaction(db) as s:
        incidents.resolve_by_hand(s, incident.id, actor=make.actor(office), now=due, comment=" 已人工办结 ")
    [resolved] = _incidents(db)
    assert (resolved.status, resolved.resolution, resolved.comment, resolved.resolved_by_id) == (
        "resolved", "by_hand", "已人工办结", office.id)
    assert reload(db, case.id).state == "waiting" and _expiry(db, case)["status"] == "failed"
    with transaction(db) as s:
        event = s.exec(select(AuditEvent).where(AuditEvent.kind == "incident_resolved")).one()
    assert (event.case_id, event.comment, event.actor_id) == (case.id, "已人工办结", office.id)
    with transaction(db) as s, pytest.raises(Conflict):
        incidents.resolve_by_hand(s, incident.id, actor=make.actor(office), now=due, comment="再次")


def test_a_scheduled_job_that_keeps_failing_is_an_incident_until_it_runs_again(db, make, now, office):
    from workflow.core.scheduler import guarded

    clock = {"now": now}
    outcome = {"fail": True}

    def job():
        if outcome["fail"]:
            raise ConnectionError("邮件服务器无响应")

    run = guarded(db, "notification-dispatch", job, lambda: clock["now"])
    for minutes in (0, 1, 11):
        clock["now"] = now + timedelta(minutes=minutes)
        run()
    [incident] = _incidents(db)
    assert (incident.job, incident.case_id, incident.tries, incident.first_failed_at, incident.last_failed_at) == (
        "notification-dispatch", None, 3, now, now + timedelta(minutes=11))
    assert incident.error_zh == "系统内部错误：ConnectionError: 邮件服务器无响应"
    with transaction(db) as s:
        told = s.exec(select(Notification.user_id).where(Notification.kind == "incident")).all()
    assert told == [office.id]
    for _ in range(3):  # three more failures: counted on the same incident
        run()
    assert [(i.tries, i.status) for i in _incidents(db)] == [(6, "open")]
    outcome["fail"] = False
    clock["now"] = now + timedelta(hours=1)
    run()
    [recovered] = _incidents(db)
    assert (recovered.status, recovered.resolution, recovered.resolved_at) == ("resolved", "recovered",
                                                                               now + timedelta(hours=1))
    assert _kinds(db)[-1] == "incident_recovered"


def test_a_failed_job_is_tried_again_by_the_running_scheduler_after_a_pause(db, now):
    from apscheduler.schedulers.background import BackgroundScheduler

    from workflow.core.scheduler import guarded

    def job():
        raise ConnectionError("timeout")

    scheduler = BackgroundScheduler(timezone=UTC)
    scheduler.start(paused=True)
    try:
        before = datetime.now(UTC)
        guarded(db, "yearly-inspections", job, lambda: now, scheduler)()
        retry = scheduler.get_job("yearly-inspections:retry")
        assert retry is not None
        assert before + timedelta(minutes=1) <= retry.next_run_time <= datetime.now(UTC) + timedelta(minutes=1)
    finally:
        scheduler.shutdown(wait=False)
    assert _incidents(db) == []  # not yet: two more tries first


def test_the_sweep_command_reports_incidents_and_still_succeeds_and_the_operator_handles_them(
        db, make, now, office, process, broken, run_zyz):
    case, _ = _fail_three_times(db, make, now, office, broken)
    [incident] = _incidents(db)
    listed = run_zyz("incidents", "list")
    assert listed.exit_code == 0, listed.output
    assert f"#{incident.id} open" in listed.output and case.number in listed.output and "磁盘已满" in listed.output
    again = run_zyz("incidents", "retry", str(incident.id))
    assert again.exit_code == 1 and "failed again" in again.output
    no_comment = run_zyz("incidents", "resolve", str(incident.id), "--comment", " ")
    assert no_comment.exit_code == 1 and "请填写处理说明" in no_comment.output
    broken.cases = set()
    retried = run_zyz("incidents", "retry", str(incident.id))
    assert retried.exit_code == 0 and "retried: done" in retried.output
    assert reload(db, case.id).state == "lapsed"
    with transaction(db) as s:
        event = s.exec(select(AuditEvent).where(AuditEvent.kind == "incident_retried")).one()
    assert (event.actor_name, event.role) == ("zyz incidents retry", "system")
    assert run_zyz("incidents", "list").output.strip() == "no open incidents"
    assert f"#{incident.id} resolved" in run_zyz("incidents", "list", "--all").output
    missing = run_zyz("incidents", "resolve", "999999", "--comment", "x")
    assert missing.exit_code == 1 and "事件不存在" in missing.output


def test_a_sweep_that_opens_an_incident_exits_0(db, make, now, office, process, broken, run_zyz):
    case = _waiting_case(db, make, now, office)
    broken.cases = {case.id}
    with transaction(db) as s:  # the last try is due
        s.connection().execute(DEADLINES.update().where(DEADLINES.c.case_id == case.id).values(attempts=2))
    result = run_zyz("deadlines", "sweep", "--as-of", "2026-12-31T09:00", env={"ZYZ_ENV": "test"})
    assert result.exit_code == 0, result.output
    assert "1 new incidents" in result.output and "zyz incidents list" in result.output
    data = [json.loads(e.data) if isinstance(e.data, str) else e.data for e in _audit(db, "incident_opened")]
    assert [d["tries"] for d in data] == [3]


def _audit(db, kind):
    with transaction(db) as s:
        return s.exec(select(AuditEvent).where(AuditEvent.kind == kind)).all()


def _data(event):
    return json.loads(event.data) if isinstance(event.data, str) else event.data


class _Recorder:
    """A notifier that keeps what it was asked to send."""

    def __init__(self):
        self.asked, self.sent = [], []

    def recipient_ids(self, _conn, case_id, county_id, selectors):
        self.asked.append((case_id, county_id, selectors))
        return [7]

    def notify(self, _session, **kwargs):
        self.sent.append(kwargs)
        return 1


def test_what_an_incident_records_and_says_at_each_step(db, make, now, office):
    """The audit trail and the office's notice carry what a person needs to act: which case, step and try, and the
    error; each refusal says in Chinese and English what is wrong."""
    case = make.case("designation", state="returned", by=make.user("county"))
    told = _Recorder()
    with transaction(db) as s:
        first = incidents.open_incident(s, now=now, error=("数据库连接中断", "connection lost"), tries=3,
                                        first_failed_at=now - timedelta(minutes=11), notifier=told, case_id=case.id,
                                        county_id=case.county_id, deadline_id=None, trigger="expire",
                                        title=f"{case.number} {case.title}")
    assert told.asked == [(case.id, case.county_id, ("office",))]
    assert told.sent == [{"user_ids": [7], "case_id": case.id, "kind": "incident",
                          "params": {"incident_id": first.id, "title": f"{case.number} {case.title}", "job": None,
                                     "trigger": "expire", "error": "数据库连接中断", "error_en": "connection lost"},
                          "source": f"incident:{first.id}", "now": now}]
    [opened] = _audit(db, "incident_opened")
    assert (opened.case_id, opened.county_id, opened.trigger, opened.role) == (case.id, case.county_id, "expire",
                                                                               "system")
    assert _data(opened) == {"incident_id": first.id, "deadline_id": None, "job": None, "tries": 3,
                             "error": "connection lost"}

    later = now + timedelta(hours=1)
    with transaction(db) as s:
        incidents.failed_again(s, s.get(Incident, first.id), now=later, error=("磁盘已满", "disk full"),
                               actor=make.actor(office))
    [again] = _audit(db, "incident_retry_failed")
    assert (again.case_id, again.trigger, again.actor_id) == (case.id, "expire", office.id)
    assert _data(again) == {"incident_id": first.id, "tries": 4, "error": "disk full"}

    with transaction(db) as s:
        second = incidents.open_incident(s, now=later, error=("甲", "a"), tries=3, first_failed_at=later,
                                         notifier=told, case_id=case.id, trigger="expire")
        third = incidents.open_incident(s, now=now, error=("乙", "b"), tries=3, first_failed_at=now, notifier=told,
                                        job="audit-anchor")
    with transaction(db) as s:
        assert [i.id for i in incidents.open_for_case(s, case.id)] == [first.id, second.id]
        assert incidents.open_count(s) == 3
        incidents.resolve_by_hand(s, second.id, actor=make.actor(office), now=later, comment="已改为人工办理")
    with transaction(db) as s:
        assert [i.id for i in incidents.open_for_case(s, case.id)] == [first.id]
        assert incidents.open_count(s) == 2
        listed = s.connection().execute(incidents.listing(s, status=None)).all()
        open_only = s.connection().execute(incidents.listing(s)).all()
        resolved = s.connection().execute(incidents.listing(s, status="resolved")).all()
    # newest failure first (ties: the newer incident), with the case's number and title; a job has none
    assert [(r.id, r.number, r.title) for r in listed] == [(second.id, case.number, case.title),
                                                           (first.id, case.number, case.title),
                                                           (third.id, None, None)]
    assert [r.id for r in open_only] == [first.id, third.id] and [r.id for r in resolved] == [second.id]
    [closed] = _audit(db, "incident_resolved")
    assert (closed.case_id, closed.trigger, closed.comment, closed.actor_id) == (case.id, "expire", "已改为人工办理",
                                                                                 office.id)
    assert _data(closed) == {"incident_id": second.id, "resolution": "by_hand"}

    with transaction(db) as s, pytest.raises(Conflict) as done:
        incidents.get_open(s, second.id, make.actor(office))
    assert (done.value.zh, done.value.en, done.value.code) == (
        "该事件已处理，无需再次处理。", "This incident has already been resolved.", "incident_resolved")
    for who, incident_id in ((make.actor(make.user("leader")), first.id), (make.actor(office), 0),
                             (make.actor(office), 10**12)):
        with transaction(db) as s, pytest.raises(NotFound) as missing:
            incidents.get_open(s, incident_id, who)
        assert (missing.value.zh, missing.value.en) == ("事件不存在。", "No such incident.")
    with transaction(db) as s, pytest.raises(Unprocessable) as empty:
        incidents.resolve_by_hand(s, first.id, actor=make.actor(office), now=later, comment="")
    assert (empty.value.zh, empty.value.en) == ("请填写处理说明。", "A comment is required.")
    assert empty.value.details == [{"field": "comment", "zh": "请填写处理说明（不超过 1000 字）",
                                    "en": "say how it was resolved (at most 1000 characters)"}]


def test_a_jobs_repeated_failures_are_recorded_on_its_one_open_incident(db, now):
    told = _Recorder()
    with transaction(db) as s:
        first = incidents.job_failed(s, job="audit-anchor", now=now, error=("甲", "a"), tries=3, first_failed_at=now,
                                     notifier=told)
    later = now + timedelta(hours=1)
    with transaction(db) as s:
        same = incidents.job_failed(s, job="audit-anchor", now=later, error=("乙", "b"), tries=2,
                                    first_failed_at=later, notifier=told)
    assert same.id == first.id and len(told.sent) == 1  # the office was told once
    [row] = _incidents(db)
    assert (row.tries, row.last_failed_at, row.first_failed_at, row.error_zh, row.error_en) == (5, later, now, "乙",
                                                                                                "b")
    [again] = _audit(db, "incident_retry_failed")
    assert (again.role, again.case_id) == ("system", None)
    assert _data(again) == {"incident_id": first.id, "job": "audit-anchor", "tries": 5, "error": "b"}
    with transaction(db) as s:
        assert incidents.job_recovered(s, job="notification-dispatch", now=later) == 0  # another job's: untouched
        assert incidents.job_recovered(s, job="audit-anchor", now=later) == 1
    [recovered] = _audit(db, "incident_recovered")
    assert _data(recovered) == {"incident_id": first.id, "resolution": "recovered"}
    assert (recovered.actor_id, recovered.role) == (None, "system")


def test_a_job_that_fails_again_after_recovering_gets_a_new_incident_and_each_job_its_own(db, now):
    told = _Recorder()
    hour = timedelta(hours=1)
    with transaction(db) as s:
        first = incidents.job_failed(s, job="audit-anchor", now=now, error=("甲", "a"), tries=3, first_failed_at=now,
                                     notifier=told)
    with transaction(db) as s:
        assert incidents.job_recovered(s, job="audit-anchor", now=now + hour) == 1
    with transaction(db) as s:
        second = incidents.job_failed(s, job="audit-anchor", now=now + 2 * hour, error=("乙", "b"), tries=3,
                                      first_failed_at=now + 2 * hour, notifier=told)
        other = incidents.job_failed(s, job="notification-dispatch", now=now + 2 * hour, error=("丙", "c"),
                                     tries=3, first_failed_at=now + 2 * hour, notifier=told)
    assert len({first.id, second.id, other.id}) == 3 and len(told.sent) == 3
    with transaction(db) as s:
        assert incidents.job_recovered(s, job="audit-anchor", now=now + 3 * hour) == 1  # the one still open
    rows = {i.id: i for i in _incidents(db)}
    assert (rows[first.id].status, rows[first.id].resolved_at, rows[first.id].tries) == ("resolved", now + hour, 3)
    assert (rows[second.id].status, rows[second.id].resolved_at) == ("resolved", now + 3 * hour)
    assert (rows[other.id].status, rows[other.id].job, rows[other.id].tries) == ("open", "notification-dispatch", 3)
    assert len(_audit(db, "incident_recovered")) == 2


def test_a_resolution_may_use_every_character_allowed(db, make, now):
    office = make.user("office")
    with transaction(db) as s:
        incident = incidents.job_failed(s, job="audit-anchor", now=now, error=("甲", "a"), tries=3,
                                        first_failed_at=now, notifier=_Recorder())
    comment = "长" * incidents.COMMENT_MAX
    with transaction(db) as s:
        incidents.resolve_by_hand(s, incident.id, actor=make.actor(office), now=now, comment=comment)
    [resolved] = _incidents(db)
    assert (resolved.status, resolved.comment) == ("resolved", comment)


@pytest.mark.postgres
def test_two_clerks_resolving_one_incident_at_once_the_second_is_told_it_is_done(db, make, now):
    """The first clerk's resolution holds the incident's row until it commits; the second waits, then reads it
    resolved and is refused in words, so the trail has one resolution, not two."""
    office = make.actor(make.user("office"))
    with transaction(db) as s:
        incident = incidents.job_failed(s, job="audit-anchor", now=now, error=("甲", "a"), tries=3,
                                        first_failed_at=now, notifier=_Recorder())
    outcome: dict[str, str] = {}

    def second_clerk():
        try:
            with transaction(db) as s:
                incidents.resolve_by_hand(s, incident.id, actor=office, now=now, comment="乙处理")
            outcome["second"] = "resolved"
        except Conflict as refused:
            outcome["second"] = refused.code

    with transaction(db) as first:
        incidents.resolve_by_hand(first, incident.id, actor=office, now=now, comment="甲处理")
        with transaction(db) as reader:  # the list and the page read it meanwhile, without waiting
            reader.connection().exec_driver_sql("SET LOCAL lock_timeout = '2s'")
            assert incidents.get(reader, incident.id).status == "open"
        clerk = threading.Thread(target=second_clerk)
        clerk.start()
        for _ in range(100):  # until the second clerk's transaction waits on a lock the first holds
            with transaction(db) as probe:
                waiting = probe.connection().exec_driver_sql(
                    "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'").scalar_one()
            if waiting:
                break
            time.sleep(0.05)
        assert waiting
    clerk.join(10)
    assert outcome == {"second": "incident_resolved"}
    [resolved] = _incidents(db)
    assert (resolved.status, resolved.comment) == ("resolved", "甲处理")
    assert len(_audit(db, "incident_resolved")) == 1


def _job_incident(s, failed_at, **fields):
    """An open incident of a scheduled job that failed (three times) at `failed_at`."""
    incident = Incident(**{"job": "audit-anchor", "error_zh": "甲", "error_en": "a", "tries": 3,
                           "first_failed_at": failed_at, "last_failed_at": failed_at, **fields})
    s.add(incident)
    s.flush()
    return incident


def test_the_largest_id_an_incident_can_have_is_found_and_one_past_it_is_not(db, now):
    with transaction(db) as s:
        _job_incident(s, now, id=incidents.MAX_ID)
    with transaction(db) as s:
        assert incidents.get(s, incidents.MAX_ID).id == incidents.MAX_ID
        for missing in (incidents.MAX_ID + 1, 0, -1):
            with pytest.raises(NotFound):
                incidents.get(s, missing)


def test_a_cases_open_incidents_are_shown_oldest_first_whatever_order_they_were_written_in(db, make, now):
    case = make.case("designation", state="returned", by=make.user("county"))
    with transaction(db) as s:
        for incident_id in (9000, 8000, 8500):
            _job_incident(s, now, id=incident_id, case_id=case.id)
        _job_incident(s, now, id=7000, case_id=case.id, status="resolved")
    with transaction(db) as s:
        assert [i.id for i in incidents.open_for_case(s, case.id)] == [8000, 8500, 9000]


def test_a_long_internal_error_is_kept_to_its_first_900_characters_so_that_it_fits_the_incident(db, now):
    """The error column holds 1,000 characters: the prefix and 900 of the error's own text fit, in either language."""
    message = "连接池已耗尽" + "。" * 2000
    zh, en = incidents.error_texts(RuntimeError(message))
    kept = f"RuntimeError: {message}"[:900]
    assert (zh, en) == (f"系统内部错误：{kept}", f"Internal error: {kept}")
    assert len(kept) == 900
    with transaction(db) as s:
        incidents.job_failed(s, job="audit-anchor", now=now, error=(zh, en), tries=3, first_failed_at=now,
                             notifier=_Recorder())
    [stored] = _incidents(db)
    assert (stored.error_zh, stored.error_en) == (zh, en)
    # a refusal of the engine says it in both languages already, cut to the column
    refusal = Unprocessable("长" * 1500, "long " * 300)
    assert incidents.error_texts(refusal) == ("长" * 1000, ("long " * 300)[:1000])


def test_the_list_shows_the_latest_failure_first_and_of_two_at_the_same_moment_the_later_incident(db, now):
    with transaction(db) as s:
        for incident_id, failed in ((100, now), (200, now), (300, now - timedelta(hours=1)), (50, now)):
            _job_incident(s, failed, id=incident_id)
    with transaction(db) as s:
        assert [row.id for row in s.connection().execute(incidents.listing(s))] == [200, 100, 50, 300]
