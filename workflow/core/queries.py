"""Read-side services: inbox, case lists, timelines, open deadlines; all through the access filter."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import sqlalchemy as sa
from sqlmodel import Session, select

from workflow.core.access import case_filter, get_case
from workflow.core.actors import Actor
from workflow.core.catalog import CATALOG, Catalog
from workflow.core.models import AuditEvent, Case, CaseParty, Deadline, DeadlineStatus, Role, Unit

T = TypeVar("T")
MAX_PAGE_SIZE = 100


@dataclass
class Page(Generic[T]):
    items: list[T]
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))

    @property
    def has_next(self) -> bool:
        return self.page < self.pages

    @property
    def has_prev(self) -> bool:
        return self.page > 1


def paginate(session: Session, query: Any, page: int, per_page: int) -> Page[Any]:
    """One page of a SELECT, with the total count."""
    page = max(1, page)
    per_page = max(1, min(per_page, MAX_PAGE_SIZE))
    total = session.exec(select(sa.func.count()).select_from(query.order_by(None).subquery())).one()
    items = session.exec(query.offset((page - 1) * per_page).limit(per_page)).all()
    return Page(list(items), int(total), page, per_page)


def actionable_filter(actor: Actor, catalog: Catalog = CATALOG) -> sa.ColumnElement[bool]:
    """Cases in a state that waits for the actor's role (the states' `actors` in the definitions)."""
    clauses = []
    for key in catalog.keys():
        definition = catalog.current(key)
        states = sorted(name for name, spec in definition.states.items() if actor.role in spec.actors)
        if states:
            clauses.append(sa.and_(Case.definition_key == key,  # type: ignore[arg-type]  # SQLModel types a column as its Python value, not a SQL expression
                                   Case.state.in_(states)))  # type: ignore[attr-defined]  # SQLModel types a column as its Python value, not a SQL expression
    if not clauses:
        return sa.false()
    found = sa.or_(*clauses)
    if actor.role == Role.member:
        # a member unit's work is done once it has answered
        waiting = select(CaseParty.case_id).where(CaseParty.unit_id == actor.unit_id,
                                                  CaseParty.responded_at.is_(None))  # type: ignore[union-attr]  # SQLModel types a column as its Python value, not a SQL expression
        found = sa.and_(found, Case.id.in_(waiting))  # type: ignore[union-attr]  # SQLModel types a column as its Python value, not a SQL expression
    return found


def inbox(session: Session, actor: Actor, *, page: int = 1, per_page: int = 20) -> Page[Case]:
    """The cases the actor can act on now, oldest change first."""
    query = (select(Case).where(case_filter(actor), actionable_filter(actor), Case.closed_at.is_(None))  # type: ignore[union-attr]  # SQLModel types a column as its Python value, not a SQL expression
             .order_by(Case.updated_at, Case.id))  # type: ignore[arg-type]  # SQLModel types a column as its Python value, not a SQL expression
    return paginate(session, query, page, per_page)


def case_list(session: Session, actor: Actor, *, definition: str | None = None, state: str | None = None,
              county_id: int | None = None, town_id: int | None = None, page: int = 1,
              per_page: int = 20) -> Page[Case]:
    """Every case the actor may see, filtered, newest first."""
    query = select(Case).where(case_filter(actor))
    if definition:
        query = query.where(Case.definition_key == definition)
    if state:
        query = query.where(Case.state == state)
    if county_id:
        query = query.where(Case.county_id == county_id)
    if town_id:
        query = query.where(Case.town_id == town_id)
    return paginate(session, query.order_by(Case.id.desc()), page, per_page)  # type: ignore[union-attr]  # SQLModel types a column as its Python value, not a SQL expression


def case_events(session: Session, actor: Actor, case_id: int) -> list[AuditEvent]:
    """The case's timeline as `actor` may read it (404 when the case is not visible; definitions/visibility.yaml
    for what of each step)."""
    from workflow.core.visibility import visible_events

    case = get_case(session, actor, case_id)
    return visible_events(actor, case, list(session.exec(select(AuditEvent).where(AuditEvent.case_id == case_id)
                                                         .order_by(AuditEvent.seq))))  # type: ignore[arg-type]  # SQLModel types a column as its Python value, not a SQL expression


def open_deadlines(session: Session, case_ids: list[int], *, kind: str = "expiry") -> dict[int, list[Deadline]]:
    """Open deadline rows of the given cases, soonest first."""
    if not case_ids:
        return {}
    rows = session.exec(select(Deadline).where(
        Deadline.case_id.in_(case_ids), Deadline.status == DeadlineStatus.open.value,  # type: ignore[attr-defined]  # SQLModel types a column as its Python value, not a SQL expression
        Deadline.kind == kind).order_by(Deadline.due_at))  # type: ignore[arg-type]  # SQLModel types a column as its Python value, not a SQL expression
    found: dict[int, list[Deadline]] = {}
    for row in rows:
        found.setdefault(row.case_id, []).append(row)
    return found


def unit_names(session: Session, ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    return dict(session.exec(select(Unit.id, Unit.name).where(Unit.id.in_(ids))).all())  # type: ignore[union-attr,arg-type]  # SQLModel types a column as its Python value, not a SQL expression


@dataclass
class DeadlineBadge:
    due_date: str
    working_days_left: int  # negative once passed
    is_estimated: bool

    @property
    def tone(self) -> str:
        return "late" if self.working_days_left < 0 else "soon" if self.working_days_left <= 3 else "fine"


def deadline_badges(session: Session, case_ids: list[int], *, now: Any) -> dict[int, DeadlineBadge]:
    """The nearest open deadline of each case with the working days left (for lists and the board)."""
    from datetime import date

    from workflow.core.calendar import calendar_for, local_date

    calendar = calendar_for(session)
    today = local_date(now)
    found = {}
    for case_id, rows in open_deadlines(session, case_ids).items():
        row = rows[0]
        if row.due_date:
            found[case_id] = DeadlineBadge(row.due_date, calendar.working_days_between(
                today, date.fromisoformat(row.due_date)), row.is_estimated)
    return found


OPEN_ORDER_STATES = ("issued", "rectifying", "extension_requested", "under_verification", "overdue",
                     "criticism_pending", "criticised")


def supervision_board(session: Session, actor: Actor, *, now: Any, county_id: int | None = None,
                      state: str | None = None) -> list[tuple[Case, str, str, DeadlineBadge | None]]:
    """Open rectification orders: overdue first, then by working days left, with county and town names."""
    from workflow.core.models import Town

    query = (select(Case, Unit.name, Town.name).join(Unit, Unit.id == Case.county_id)  # type: ignore[arg-type]  # SQLModel types a column as its Python value, not a SQL expression
             .outerjoin(Town, Town.id == Case.town_id)  # type: ignore[arg-type]  # SQLModel types a column as its Python value, not a SQL expression
             .where(case_filter(actor), Case.definition_key == "rectification", Case.closed_at.is_(None)))  # type: ignore[union-attr]  # SQLModel types a column as its Python value, not a SQL expression
    if county_id:
        query = query.where(Case.county_id == county_id)
    if state:
        query = query.where(Case.state == state)
    rows = session.exec(query).all()
    badges = deadline_badges(session, [c.id for c, _, _ in rows], now=now)  # type: ignore[misc]  # rows from the database: every id is set
    board = [(case, county, town or "", badges.get(case.id)) for case, county, town in rows]  # type: ignore[arg-type]  # SQLModel types an id as optional; this row is saved
    order = {s: i for i, s in enumerate(("overdue", "criticism_pending", "criticised"))}
    board.sort(key=lambda r: (order.get(r[0].state, 9), r[3].working_days_left if r[3] else 10**6, r[1], r[0].id))
    return board


def sent_reminders(session: Session, case_id: int) -> list[Deadline]:
    """Reminders the scheduler has sent for a case, in order."""
    return list(session.exec(select(Deadline).where(
        Deadline.case_id == case_id, Deadline.kind == "reminder",
        Deadline.status == DeadlineStatus.fired.value).order_by(Deadline.fired_at)))  # type: ignore[arg-type]  # SQLModel types a column as its Python value, not a SQL expression


def registry_case(session: Session, town_id: int) -> Case | None:
    """The town's registry record (the case of definition `town` that every town has from its creation)."""
    return session.exec(select(Case).where(Case.definition_key == "town", Case.town_id == town_id)).first()
