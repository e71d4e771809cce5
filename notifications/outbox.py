"""The outbox as the pages see it: delivery status per case, failed messages, a retry by the office."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session

from workflow.core import audit
from workflow.core.actors import Actor
from workflow.core.db import table_of
from workflow.core.errors import Conflict, Forbidden, NotFound
from workflow.core.models import Case, OutboxMessage, OutboxStatus, Role, Unit, User
from workflow.notify.rules import rules

_outbox = table_of(OutboxMessage)
_users = table_of(User)
_units = table_of(Unit)
_cases = table_of(Case)
SEE_ALL = (Role.office.value, Role.leader.value)  # who sees every message of a case they may see


@dataclass(frozen=True)
class Delivery:
    id: int
    channel: str
    status: str  # queued | sending | sent | failed, and `retried` when the office put it back
    rule: str
    rule_label: tuple[str, str]
    recipient: str
    unit: str | None
    address: str | None
    attempts: int
    retries: int
    last_error: str | None
    error_kind: str | None
    created_at: datetime
    sent_at: datetime | None
    failed_at: datetime | None
    next_attempt_at: datetime
    case_id: int | None
    case_number: str | None

    @property
    def shown_status(self) -> str:
        """The status as the pages name it: a message the office put back in the queue shows as retried."""
        if self.status in (OutboxStatus.queued, OutboxStatus.claimed) and self.retries:
            return "retried"
        if self.status == OutboxStatus.claimed:
            return "queued"
        return self.status


def _query() -> sa.Select[Any]:
    return (sa.select(_outbox, _users.c.display_name, _units.c.name.label("unit_name"),
                      _cases.c.number.label("case_number"))
            .join(_users, _users.c.id == _outbox.c.user_id)
            .outerjoin(_units, _units.c.id == _users.c.unit_id)
            .outerjoin(_cases, _cases.c.id == _outbox.c.case_id))


def _delivery(row: Any) -> Delivery:
    rule = rules().by_name(row.rule)
    template = rules().templates.get(row.template)  # a message no rule writes (an account's password) is its template
    label = ((rule.label.zh, rule.label.en) if rule else (template.label.zh, template.label.en) if template
             else (row.rule, row.rule))
    return Delivery(id=row.id, channel=row.channel, status=row.status, rule=row.rule, rule_label=label,
                    recipient=row.display_name, unit=row.unit_name, address=row.address, attempts=row.attempts,
                    retries=row.retries, last_error=row.last_error, error_kind=row.error_kind,
                    created_at=row.created_at, sent_at=row.sent_at, failed_at=row.failed_at,
                    next_attempt_at=row.next_attempt_at, case_id=row.case_id, case_number=row.case_number)


def deliveries(session: Session, *, case_id: int, viewer: Actor) -> list[Delivery]:
    """The e-mails and SMS of a case: all of them for the office and the leading group, else one's own."""
    query = _query().where(_outbox.c.case_id == case_id)
    if viewer.role not in SEE_ALL:
        query = query.where(_outbox.c.user_id == viewer.user_id)
    return [_delivery(r) for r in session.connection().execute(query.order_by(_outbox.c.id.desc()).limit(200))]


def failed(session: Session, *, page: int = 1, per_page: int = 50) -> tuple[list[Delivery], int]:
    """Failed messages, newest first, and how many there are."""
    where = _outbox.c.status == OutboxStatus.failed.value
    conn = session.connection()
    total = int(conn.execute(sa.select(sa.func.count()).select_from(_outbox).where(where)).scalar_one())
    rows = conn.execute(_query().where(where).order_by(_outbox.c.failed_at.desc(), _outbox.c.id.desc())
                        .offset((max(page, 1) - 1) * per_page).limit(per_page))
    return [_delivery(r) for r in rows], total


def failed_count(session: Session) -> int:
    return int(session.connection().execute(sa.select(sa.func.count()).select_from(_outbox).where(
        _outbox.c.status == OutboxStatus.failed.value)).scalar_one())


def retry(session: Session, *, outbox_id: int, actor: Actor, now: datetime) -> None:
    """Put a failed message back in the queue (the office only); it keeps its idempotency key and Message-ID."""
    if actor.role != Role.office:
        raise Forbidden("只有领导小组办公室可以重发消息。", "Only the office may retry messages.")
    conn = session.connection()
    row = conn.execute(sa.select(_outbox.c.id, _outbox.c.status, _outbox.c.case_id, _outbox.c.channel,
                                 _outbox.c.user_id, _outbox.c.error_kind, _outbox.c.last_error, _cases.c.county_id)
                       .outerjoin(_cases, _cases.c.id == _outbox.c.case_id).where(_outbox.c.id == outbox_id)).first()
    if row is None:
        raise NotFound("消息不存在。", "No such message.")
    changed = conn.execute(_outbox.update().where(_outbox.c.id == outbox_id,
                                                  _outbox.c.status == OutboxStatus.failed.value)
                           .values(status=OutboxStatus.queued.value, attempts=0, next_attempt_at=now,
                                   retries=_outbox.c.retries + 1, claimed_by=None, failed_at=None)).rowcount
    if not changed:
        raise Conflict("该消息没有发送失败，无需重发。", "This message has not failed; there is nothing to retry.")
    audit.record(session, kind="notification_retried", now=now, actor=actor, case_id=row.case_id,
                 county_id=row.county_id, data={"outbox_id": outbox_id, "channel": row.channel,
                                                "user_id": row.user_id, "previous_error": row.last_error,
                                                "error_kind": row.error_kind})
