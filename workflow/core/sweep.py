"""The deadline sweep: claim what is due and fire each reminder and expiry exactly once.

Deadline rows are the truth. A batch of due rows is claimed inside one transaction (a conditional
UPDATE on SQLite, whose BEGIN IMMEDIATE serialises writers; SELECT ... FOR UPDATE SKIP LOCKED on
PostgreSQL, so that several schedulers share the work), each row is processed in a savepoint, and
the batch commits together with the rows' new status. A process killed halfway commits nothing, and
the next sweep finds the same rows open again.

A row whose processing raises is tried again after a pause, and after its last try becomes an incident for the
office (workflow.core.incidents); the sweep itself has done its job and says so. A reminder that a sweep
catching up after a stop finds too late to mean anything (its moment passed more than a day ago, a later
reminder of the same deadline is due as well, or the deadline itself has passed) is closed as skipped: recorded,
not sent; only the most recent message still true goes out.
"""

from __future__ import annotations

import logging
import os
import socket
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import sessionmaker
from sqlmodel import Session

from workflow.core import audit, incidents
from workflow.core.actors import Actor
from workflow.core.calendar import WorkCalendar
from workflow.core.catalog import CATALOG
from workflow.core.db import is_sqlite, table_of, transaction
from workflow.core.engine import fire
from workflow.core.errors import Conflict, WorkflowError
from workflow.core.models import Case, Deadline, DeadlineStatus, Incident

log = logging.getLogger(__name__)


class _NobodyTold:
    """Until a process says who is told of deadlines (workflow.notify does, at start), nobody is."""

    @staticmethod
    def recipient_ids(conn: sa.Connection, case_id: int, county_id: int | None, selectors: Any) -> list[int]:
        return []

    @staticmethod
    def notify(session: Session, **_: Any) -> int:
        return 0


# Who is told of a reminder or an expiry: `recipient_ids(conn, case_id, county_id, selectors)` and
# `notify(session, user_ids=..., case_id=..., kind=..., params=..., source=..., now=..., deadline=...)`.
NOTIFIER: Any = _NobodyTold
_table = table_of(Deadline)
BATCH = 50  # a batch holds the audit head until it commits: web requests wait for it
STALE_REMINDER = timedelta(days=1)  # a reminder found later than this after its moment is skipped, not sent


@dataclass
class SweepResult:
    reminders: int = 0
    expiries: int = 0
    failed: int = 0  # tries that raised (each is tried again later, or has become an incident)
    incidents: int = 0  # rows whose last try failed: an incident was opened for each
    skipped: int = 0  # reminders caught up too late, closed without being sent
    fired_ids: list[int] = field(default_factory=list)

    @property
    def total(self) -> int:
        return self.reminders + self.expiries + self.failed + self.skipped


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def due_query(now: datetime, limit: int) -> sa.Select[Any]:
    """The lookup: open rows due by `now` and not waiting for their next try, soonest first (served by the
    (status, due_at) index)."""
    return (sa.select(_table.c.id).where(_table.c.status == DeadlineStatus.open.value, _table.c.due_at <= now,
                                         sa.or_(_table.c.next_try_at.is_(None), _table.c.next_try_at <= now))
            .order_by(_table.c.due_at, _table.c.id).limit(limit))


_cases = table_of(Case)
# A claimed row with what processing it needs of its case, so the case is not loaded again for that.
_CLAIMED = (sa.select(_table, _cases.c.state.label("case_state"), _cases.c.county_id, _cases.c.number,
                      _cases.c.title, _cases.c.definition_key, _cases.c.definition_version)
            .join(_cases, _cases.c.id == _table.c.case_id)
            .where(_table.c.id.in_(sa.bindparam("b_ids", expanding=True)))
            .order_by(_table.c.due_at, _table.c.id))


def claim(session: Session, *, now: datetime, worker: str, limit: int = BATCH) -> list[Any]:
    """Claim up to `limit` due rows for this transaction."""
    conn = session.connection()
    claimed = (_claim_on_sqlite if is_sqlite(conn) else _claim_on_postgres)(conn, now, worker, limit)
    if not claimed:
        return []
    return list(conn.execute(_CLAIMED, {"b_ids": claimed}).all())


def _claim_on_sqlite(conn: sa.Connection, now: datetime, worker: str, limit: int) -> list[int]:
    """One conditional UPDATE (BEGIN IMMEDIATE already lets one writer at a time in)."""
    return list(conn.execute(
        _table.update().where(_table.c.id.in_(due_query(now, limit).scalar_subquery()),
                              _table.c.status == DeadlineStatus.open.value)
        .values(status=DeadlineStatus.claimed.value, claimed_by=worker, claimed_at=now)
        .returning(_table.c.id)).scalars().all())


def _claim_on_postgres(conn: sa.Connection, now: datetime, worker: str, limit: int) -> list[int]:
    """The due rows no other scheduler holds (FOR UPDATE SKIP LOCKED), then marked claimed."""
    ids = list(conn.execute(due_query(now, limit).with_for_update(skip_locked=True)).scalars().all())
    if ids:
        conn.execute(_table.update().where(_table.c.id.in_(ids))
                     .values(status=DeadlineStatus.claimed.value, claimed_by=worker, claimed_at=now))
    return ids


def sweep(sessions: sessionmaker[Session], *, now: datetime, calendar: WorkCalendar | None = None,
          worker: str | None = None, limit: int = BATCH) -> SweepResult:
    """Process everything due by `now`, batch after batch, until nothing is left.

    A batch first runs straight through. Should any row fail, the batch is rolled back whole and run
    again with a savepoint around each row, so that the failing row is recorded as failed and the others
    go through; the next batch runs straight again.
    """
    result = SweepResult()
    worker = worker or worker_name()
    careful = False
    while True:
        batch = SweepResult()
        try:
            with transaction(sessions) as session:
                audit.lock_head(session)  # before any deadline row: see workflow.core.audit.lock_head
                rows = claim(session, now=now, worker=worker, limit=limit)
                finished: dict[str, list[int]] = {}  # each row's final status, written once per batch
                for row in rows:
                    process = _process_safely if careful else _process
                    status = process(session, row, now=now, calendar=calendar, result=batch)
                    finished.setdefault(status, []).append(row.id)
                for status, ids in finished.items():
                    values: dict[str, Any] = {"status": status}
                    if status != DeadlineStatus.open.value:  # open again: it waits for its next try
                        values["fired_at"] = now
                        batch.fired_ids += ids
                    session.connection().execute(_table.update().where(_table.c.id.in_(ids)).values(**values))
        except Exception:
            if careful:
                raise
            log.info("a deadline in this batch failed; running the batch again row by row")
            careful = True
            continue
        careful = False
        result.reminders += batch.reminders
        result.expiries += batch.expiries
        result.failed += batch.failed
        result.incidents += batch.incidents
        result.skipped += batch.skipped
        result.fired_ids += batch.fired_ids
        if len(rows) < limit:
            return result


def _process_safely(session: Session, row: Any, *, now: datetime, calendar: WorkCalendar | None,
                    result: SweepResult) -> str:
    """_process inside a savepoint: a row that fails is tried again later, or becomes an incident after its last
    try; the batch goes on."""
    audit.flush_head(session)  # the savepoint may roll back events: the head must be in the table before it
    savepoint = session.begin_nested()
    try:
        status = _process(session, row, now=now, calendar=calendar, result=result)
        audit.flush_head(session)
        savepoint.commit()
    except Exception as exc:  # one bad row must not hold back the rest: it is counted, retried, then an incident
        savepoint.rollback()
        session.expire_all()  # fire() sets values without marking them dirty: reload what the savepoint undid
        log.exception("deadline %s of case %s failed", row.id, row.case_id)
        status = _failed(session, row, exc, now=now, result=result)
    return status


def _failed(session: Session, row: Any, exc: Exception, *, now: datetime, result: SweepResult) -> str:
    """Count a failed try: the row waits for its next try, or after the last one an incident is opened."""
    tries = (row.attempts or 0) + 1
    first = row.first_failed_at or now
    error = incidents.error_texts(exc)
    last = tries >= incidents.MAX_TRIES
    audit.record(session, kind="deadline_failed", now=now, actor=Actor.system(), case_id=row.case_id,
                 county_id=row.county_id, trigger=row.trigger,
                 data={"deadline_id": row.id, "try": tries, "error": error[1][:500]})
    session.connection().execute(_table.update().where(_table.c.id == row.id).values(
        attempts=tries, first_failed_at=first, next_try_at=None if last else now + incidents.backoff(tries)))
    result.failed += 1
    if not last:
        return DeadlineStatus.open.value
    incidents.open_incident(session, now=now, error=error, tries=tries, first_failed_at=first, notifier=NOTIFIER,
                            case_id=row.case_id, county_id=row.county_id, deadline_id=row.id, trigger=row.trigger,
                            title=f"{row.number} {row.title}")
    result.incidents += 1
    return DeadlineStatus.failed.value


def retry_incident(session: Session, incident_id: int, *, actor: Actor,
                   now: datetime) -> tuple[Incident, tuple[str, str] | None]:
    """Run an incident's deadline again now (after its cause was fixed). Returns the incident and, when the try
    failed again, the error (zh, en): the incident then stays open with one more try counted."""
    incident = incidents.get_open(session, incident_id, actor)
    if incident.deadline_id is None:
        raise Conflict("定时任务的失败请由运维人员在服务器上运行 zyz incidents retry 重试。",
                       "A scheduled job's failure is retried on the server: zyz incidents retry.",
                       code="job_incident")
    audit.lock_head(session)
    conn = session.connection()
    conn.execute(_table.update().where(_table.c.id == incident.deadline_id)
                 .values(status=DeadlineStatus.claimed.value, claimed_by=worker_name(), claimed_at=now))
    row = conn.execute(_CLAIMED, {"b_ids": [incident.deadline_id]}).one()
    audit.flush_head(session)
    savepoint = session.begin_nested()
    try:
        status = _process(session, row, now=now, calendar=None, result=SweepResult())
        audit.flush_head(session)
        savepoint.commit()
    except Exception as exc:  # the cause is not fixed yet: the incident stays open and says so
        savepoint.rollback()
        session.expire_all()
        log.warning("retry of incident %s failed: %s", incident.id, exc)
        error = incidents.error_texts(exc)
        conn.execute(_table.update().where(_table.c.id == row.id).values(status=DeadlineStatus.failed.value))
        incidents.failed_again(session, incident, now=now, error=error, actor=actor)
        return incident, error
    conn.execute(_table.update().where(_table.c.id == row.id).values(status=status, fired_at=now))
    incidents.close(session, incident, now=now, actor=actor, resolution="retried")
    return incident, None


def _process(session: Session, row: Any, *, now: datetime, calendar: WorkCalendar | None,
             result: SweepResult) -> str:
    if row.case_state != row.state:
        return DeadlineStatus.closed.value  # the case has moved on; this deadline no longer applies
    definition = CATALOG.get(row.definition_key, row.definition_version, session)
    state = definition.states.get(row.state)
    spec = next((d for d in state.deadlines if d.name == row.name), None) if state else None
    remind = spec.remind if spec else ("county",)
    params = {"number": row.number, "title": row.title, "deadline": spec.label.zh if spec else row.name,
              "deadline_en": spec.label.en if spec else row.name, "due_date": row.due_date,
              "days_before": row.offset_days, "is_estimated": bool(row.is_estimated),
              "state": definition.state_label(row.state), "state_en": definition.state_label(row.state, "en")}
    conn = session.connection()
    if row.kind == "reminder":
        late = _too_late(conn, row, now)
        if late:
            audit.record(session, kind="reminder_skipped", now=now, actor=Actor.system(), case_id=row.case_id,
                         county_id=row.county_id, data={"deadline_id": row.id, "deadline": row.name,
                                                        "days_before": row.offset_days, "why": late})
            result.skipped += 1
            return DeadlineStatus.skipped.value
        users = NOTIFIER.recipient_ids(conn, row.case_id, row.county_id, remind)
        NOTIFIER.notify(session, user_ids=users, case_id=row.case_id, kind="reminder", params=params,
               source=f"deadline:{row.id}", now=now, deadline=row)
        audit.record(session, kind="reminder_sent", now=now, actor=Actor.system(), case_id=row.case_id,
                     county_id=row.county_id, data={"deadline_id": row.id, "deadline": row.name,
                                                    "days_before": row.offset_days, "recipients": len(users)})
        result.reminders += 1
        return DeadlineStatus.fired.value
    users = NOTIFIER.recipient_ids(conn, row.case_id, row.county_id, (*remind, "office"))
    if row.trigger:
        try:
            case = fire(session=session, case_id=row.case_id, trigger=row.trigger, actor=Actor.system(),
                        now=now, calendar=calendar, cause=f"deadline:{row.id}")
        except WorkflowError as exc:
            log.warning("expiry %s on case %s refused: %s", row.trigger, row.case_id, exc.en)
            raise
        params = {**params, "new_state": definition.state_label(case.state),
                  "new_state_en": definition.state_label(case.state, "en")}
    NOTIFIER.notify(session, user_ids=users, case_id=row.case_id, kind="expired", params=params,
           source=f"deadline:{row.id}", now=now, deadline=row)
    result.expiries += 1
    return DeadlineStatus.fired.value


_LATER = (sa.select(_table.c.kind).where(
    _table.c.case_id == sa.bindparam("b_case"), _table.c.state == sa.bindparam("b_state"),
    _table.c.name == sa.bindparam("b_name"), _table.c.id != sa.bindparam("b_id"),
    _table.c.status.in_([DeadlineStatus.open.value, DeadlineStatus.claimed.value, DeadlineStatus.fired.value]),
    _table.c.due_at <= sa.bindparam("b_now"),
    sa.or_(_table.c.kind == "expiry", _table.c.due_at > sa.bindparam("b_due")))
    .order_by(_table.c.kind).limit(1))  # "expiry" sorts before "reminder": a passed deadline is named first


def _too_late(conn: sa.Connection, row: Any, now: datetime) -> str | None:
    """Why a due reminder no longer means anything (caught up after a stop), or None when it is still true."""
    if now - row.due_at > STALE_REMINDER:
        return "stale"
    later = conn.execute(_LATER, {"b_case": row.case_id, "b_state": row.state, "b_name": row.name, "b_id": row.id,
                                  "b_now": now, "b_due": row.due_at}).scalar()
    if later == "expiry":
        return "deadline_passed"
    return "superseded" if later else None


def upcoming(session: Session, *, now: datetime, limit: int = 50) -> list[Any]:
    """Open deadline rows, soonest first, with their case number (for `zyz deadlines list`)."""
    cases = table_of(Case)
    return list(session.connection().execute(
        sa.select(_table.c.id, _table.c.case_id, cases.c.number, _table.c.state, _table.c.name, _table.c.kind,
                  _table.c.trigger, _table.c.offset_days, _table.c.due_date, _table.c.due_at, _table.c.is_estimated)
        .join(cases, cases.c.id == _table.c.case_id)
        .where(_table.c.status == DeadlineStatus.open.value)
        .order_by(_table.c.due_at, _table.c.id).limit(limit)).all())
