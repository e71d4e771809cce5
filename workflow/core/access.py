"""The one place that decides which cases and towns a user may see."""

from __future__ import annotations

from functools import cache
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, select

from workflow.core.actors import Actor
from workflow.core.db import Prepared, persistent, table_of
from workflow.core.errors import NotFound, not_found_case
from workflow.core.models import Case, CaseParty, Role, Town

SEES_ALL = {Role.office, Role.leader, Role.system}
MAX_ID = 2**31 - 1  # ids are INTEGER columns


def case_filter(actor: Actor) -> sa.ColumnElement[bool]:
    """A WHERE clause restricting cases to what `actor` may see."""
    return _visibility(actor.role, actor.unit_id)


def _visibility(role: str, unit_id: Any) -> sa.ColumnElement[bool]:
    """The rule itself, for a unit id given as a value or as a bound parameter."""
    if role in SEES_ALL:
        return sa.true()
    if role == Role.county:
        return Case.county_id == unit_id
    if role == Role.member:
        asked = select(CaseParty.case_id).where(CaseParty.unit_id == unit_id)
        return Case.id.in_(asked)  # type: ignore[union-attr]  # SQLModel types a column as its Python value, not a SQL expression
    return sa.false()


_cases = table_of(Case)


@cache
def _case_by_id(role: str) -> Prepared:
    """get_case's query for one role, built once (every fire starts with it)."""
    return Prepared(sa.select(*_cases.columns).where(_cases.c.id == sa.bindparam("case_id"),
                                                     _visibility(role, sa.bindparam("unit_id"))))


def town_filter(actor: Actor) -> sa.ColumnElement[bool]:
    """A WHERE clause restricting towns: a county sees its own; business roles see all; others none."""
    if actor.role in SEES_ALL or actor.role == Role.member:
        return sa.true()
    if actor.role == Role.county:
        return Town.county_id == actor.unit_id  # type: ignore[return-value]  # SQLModel types a column as its Python value, not a SQL expression
    return sa.false()


def visible_cases(actor: Actor):
    """SELECT of the cases `actor` may see."""
    return select(Case).where(case_filter(actor))


def get_case(session: Session, actor: Actor, case_id: int) -> Case:
    """The case if `actor` may see it; otherwise NotFound, exactly as for a case that does not exist."""
    if not 0 < case_id <= MAX_ID:  # PostgreSQL refuses to compare an integer column with a larger number
        raise not_found_case()
    rows = _case_by_id(actor.role).fetch(session.connection(), {"case_id": case_id, "unit_id": actor.unit_id})
    if not rows:
        raise not_found_case()
    return persistent(session, Case, rows[0])


def case_read(session: Session, actor: Actor, case_id: int, read: Case | None) -> Case:
    """`read` when the caller already has case `case_id` from get_case for `actor` (a page reads it once for all its
    parts); otherwise get_case."""
    return read if read is not None and read.id == case_id else get_case(session, actor, case_id)


def get_town(session: Session, actor: Actor, town_id: int) -> Town:
    """The town if `actor` may see it; otherwise NotFound."""
    if not 0 < town_id <= MAX_ID:
        raise NotFound("专业镇不存在。", "No such town.")
    town = session.exec(select(Town).where(Town.id == town_id, town_filter(actor))).first()
    if town is None:
        raise NotFound("专业镇不存在。", "No such town.")
    return town
