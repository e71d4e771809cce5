"""Incidents: an automatic step that still failed after its retries, for a person to see, retry or resolve.

An automatic step is a deadline's expiry or reminder (run by the sweep) or a scheduled job. When one raises, it
is tried again after a pause (BACKOFF), so that a passing fault (a dropped database connection, a lock timeout)
needs nobody. When the last try fails, an incident is opened: a row naming the case, the deadline or job, the
trigger and the error in Chinese and English, with the number of tries and when the first and last failed. The
office is told once, sees it on its incident list and as a red banner on the case page, and either retries it
(after fixing the cause: workflow.core.sweep.retry_incident) or resolves it by hand with a comment (for example
when it fired another transition instead). A case whose state declares a deadline is therefore never left
without either an open deadline or an open incident.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from workflow.core import audit
from workflow.core.access import MAX_ID
from workflow.core.actors import Actor
from workflow.core.db import table_of
from workflow.core.errors import Conflict, NotFound, Unprocessable, WorkflowError
from workflow.core.models import Case, Incident, IncidentStatus, Role

MAX_TRIES = 3  # the first try and two retries
BACKOFF = (timedelta(minutes=1), timedelta(minutes=10))  # the pause before the second and the third try
COMMENT_MAX = 1000


def backoff(failed_tries: int) -> timedelta:
    """The pause after the `failed_tries`-th failure (1 → before the second try)."""
    return BACKOFF[min(failed_tries, len(BACKOFF)) - 1]


def error_texts(exc: BaseException) -> tuple[str, str]:
    """What failed, in Chinese and English: a refusal of the engine says it in both already."""
    if isinstance(exc, WorkflowError):
        return exc.zh[:COMMENT_MAX], exc.en[:COMMENT_MAX]
    text = f"{type(exc).__name__}: {exc}"[:900]
    return f"系统内部错误：{text}", f"Internal error: {text}"


def open_incident(session: Session, *, now: datetime, error: tuple[str, str], tries: int, first_failed_at: datetime,
                  notifier: Any, case_id: int | None = None, county_id: int | None = None,
                  deadline_id: int | None = None, job: str | None = None, trigger: str | None = None,
                  title: str = "") -> Incident:
    """Open an incident, write its audit event, and tell the office (once: the notification's key is the
    incident)."""
    incident = Incident(case_id=case_id, deadline_id=deadline_id, job=job, trigger=trigger, error_zh=error[0],
                        error_en=error[1], tries=tries, first_failed_at=first_failed_at, last_failed_at=now)
    session.add(incident)
    session.flush()
    audit.record(session, kind="incident_opened", now=now, actor=Actor.system(), case_id=case_id,
                 county_id=county_id, trigger=trigger,
                 data={"incident_id": incident.id, "deadline_id": deadline_id, "job": job, "tries": tries,
                       "error": error[1]})
    users = notifier.recipient_ids(session.connection(), case_id, county_id, ("office",))
    notifier.notify(session, user_ids=users, case_id=case_id, kind="incident",
                    params={"incident_id": incident.id, "title": title, "job": job, "trigger": trigger,
                            "error": error[0], "error_en": error[1]},
                    source=f"incident:{incident.id}", now=now)
    return incident


def failed_again(session: Session, incident: Incident, *, now: datetime, error: tuple[str, str], actor: Actor) -> None:
    """A retry of an open incident failed too: count it and keep the newest error."""
    incident.tries += 1
    incident.last_failed_at = now
    incident.error_zh, incident.error_en = error
    session.add(incident)
    audit.record(session, kind="incident_retry_failed", now=now, actor=actor, case_id=incident.case_id,
                 trigger=incident.trigger, data={"incident_id": incident.id, "tries": incident.tries,
                                                 "error": error[1]})


def close(session: Session, incident: Incident, *, now: datetime, actor: Actor, resolution: str,
          comment: str | None = None) -> None:
    """Mark an incident resolved (retried successfully, by hand, or recovered by the job's next run)."""
    incident.status = IncidentStatus.resolved.value
    incident.resolved_at = now
    incident.resolved_by_id = actor.user_id
    incident.resolution = resolution
    incident.comment = comment
    session.add(incident)
    kind = {"retried": "incident_retried", "by_hand": "incident_resolved"}.get(resolution, "incident_recovered")
    audit.record(session, kind=kind, now=now, actor=actor, case_id=incident.case_id, trigger=incident.trigger,
                 comment=comment, data={"incident_id": incident.id, "resolution": resolution})


def may_handle(actor: Actor) -> bool:
    """The office handles incidents (the command line's operator acts as the system)."""
    return actor.role in (Role.office.value, Role.system.value)


def get_open(session: Session, incident_id: int, actor: Actor, *, for_update: bool = True) -> Incident:
    """An open incident the actor may handle; a missing or resolved one is refused in words."""
    if not may_handle(actor):
        raise NotFound("事件不存在。", "No such incident.")
    incident = get(session, incident_id, for_update=for_update)
    if incident.status != IncidentStatus.open.value:
        raise Conflict("该事件已处理，无需再次处理。", "This incident has already been resolved.",
                       code="incident_resolved")
    return incident


def get(session: Session, incident_id: int, *, for_update: bool = False) -> Incident:
    query = select(Incident).where(Incident.id == incident_id)
    if for_update:
        query = query.with_for_update()
    incident = session.exec(query).first() if 0 < incident_id <= MAX_ID else None
    if incident is None:
        raise NotFound("事件不存在。", "No such incident.")
    return incident


def resolve_by_hand(session: Session, incident_id: int, *, actor: Actor, now: datetime,
                    comment: str | None) -> Incident:
    """The office says how the failure was dealt with (a comment is required); the deadline stays failed."""
    incident = get_open(session, incident_id, actor)
    text = (comment or "").strip()
    if not text or len(text) > COMMENT_MAX:
        reason = {"field": "comment", "zh": f"请填写处理说明（不超过 {COMMENT_MAX} 字）",
                  "en": f"say how it was resolved (at most {COMMENT_MAX} characters)"}
        raise Unprocessable("请填写处理说明。", "A comment is required.", details=[reason])
    audit.lock_head(session)
    close(session, incident, now=now, actor=actor, resolution="by_hand", comment=text)
    return incident


def open_for_case(session: Session, case_id: int) -> list[Incident]:
    return list(session.exec(select(Incident).where(Incident.case_id == case_id,
                                                    Incident.status == IncidentStatus.open.value)
                             .order_by(col(Incident.id))).all())


def open_count(session: Session) -> int:
    return int(session.exec(select(sa.func.count()).select_from(Incident)
                            .where(Incident.status == IncidentStatus.open.value)).one())


def listing(session: Session, *, status: str | None = IncidentStatus.open.value) -> sa.Select[Any]:
    """Incidents, newest failure first, with their case's number and title (for the office's list)."""
    table, cases = table_of(Incident), table_of(Case)
    query = (sa.select(table, cases.c.number, cases.c.title)
             .outerjoin(cases, cases.c.id == table.c.case_id)
             .order_by(table.c.last_failed_at.desc(), table.c.id.desc()))
    if status:
        query = query.where(table.c.status == status)
    return query


def job_failed(session: Session, *, job: str, now: datetime, error: tuple[str, str], tries: int,
               first_failed_at: datetime, notifier: Any) -> Incident:
    """A scheduled job failed its last try: open an incident for it, or count the failures on the one still open."""
    incident = session.exec(select(Incident).where(Incident.job == job, Incident.status == IncidentStatus.open.value)
                            .with_for_update()).first()
    audit.lock_head(session)
    if incident is None:
        return open_incident(session, now=now, error=error, tries=tries, first_failed_at=first_failed_at,
                             notifier=notifier, job=job)
    incident.tries += tries
    incident.last_failed_at = now
    incident.error_zh, incident.error_en = error
    session.add(incident)
    audit.record(session, kind="incident_retry_failed", now=now, actor=Actor.system(),
                 data={"incident_id": incident.id, "job": job, "tries": incident.tries, "error": error[1]})
    return incident


def job_recovered(session: Session, *, job: str, now: datetime) -> int:
    """The job ran through: its open incident is resolved as recovered."""
    found = list(session.exec(select(Incident).where(Incident.job == job,
                                                     Incident.status == IncidentStatus.open.value)).all())
    if found:
        audit.lock_head(session)
    for incident in found:
        close(session, incident, now=now, actor=Actor.system(), resolution="recovered")
    return len(found)
