"""In-app notifications: who is told, and one row per recipient per cause (never twice)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, select

from workflow.db import is_sqlite
from workflow.models import Case, CaseParty, Notification, Role, User

_table = Notification.__table__  # type: ignore[attr-defined]


def recipients(session: Session, case: Case, selectors: Iterable[str]) -> list[int]:
    """Active users named by selectors: county (the case's county), office, leader, pending_units."""
    clauses = []
    for who in selectors:
        if who == "county":
            clauses.append(sa.and_(User.role == Role.county.value, User.unit_id == case.county_id))
        elif who in ("office", "leader"):
            clauses.append(User.role == who)
        elif who == "pending_units":
            waiting = select(CaseParty.unit_id).where(CaseParty.case_id == case.id,
                                                      CaseParty.responded_at.is_(None))  # type: ignore[union-attr]
            clauses.append(sa.and_(User.role == Role.member.value, User.unit_id.in_(waiting)))  # type: ignore[attr-defined]
        else:
            raise ValueError(f"unknown recipients {who!r}")
    if not clauses:
        return []
    query = select(User.id).where(User.is_active.is_(True), sa.or_(*clauses)).order_by(User.id)  # type: ignore[attr-defined]
    return [int(i) for i in session.exec(query).all()]


def recipients_by_role(session: Session, role: str) -> list[int]:
    """Every active user of a role."""
    query = select(User.id).where(User.is_active.is_(True), User.role == role).order_by(User.id)  # type: ignore[attr-defined]
    return [int(i) for i in session.exec(query).all()]


def notify(session: Session, *, user_ids: Iterable[int], case_id: int | None, kind: str, params: dict[str, Any],
           source: str, now: datetime) -> int:
    """Write one notification per user for `source`; a cause already notified to a user is skipped."""
    rows = [{"user_id": uid, "case_id": case_id, "kind": kind, "params": params,
             "source_key": f"{source}:u{uid}", "created_at": now} for uid in user_ids]
    if not rows:
        return 0
    dialect = sqlite if is_sqlite(session) else postgresql
    statement = dialect.insert(_table).values(rows).on_conflict_do_nothing(index_elements=["source_key"])
    return int(session.connection().execute(statement).rowcount or 0)


def unread_count(session: Session, user_id: int) -> int:
    return int(session.exec(select(sa.func.count()).select_from(_table).where(
        _table.c.user_id == user_id, _table.c.read_at.is_(None))).one())


def mark_read(session: Session, *, user_id: int, now: datetime, notification_id: int | None = None) -> int:
    """Mark one (or every) notification of the user read; another user's id changes nothing."""
    query = _table.update().where(_table.c.user_id == user_id, _table.c.read_at.is_(None))
    if notification_id is not None:
        query = query.where(_table.c.id == notification_id)
    return int(session.connection().execute(query.values(read_at=now)).rowcount or 0)
