"""Read-side services: inbox, case lists, timelines, open deadlines; all through the access filter."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, TypeVar

import sqlalchemy as sa
from sqlmodel import Session, col, select

from workflow.core.access import case_filter, case_read
from workflow.core.actors import Actor
from workflow.core.catalog import CATALOG, Catalog
from workflow.core.db import table_of
from workflow.core.models import AuditEvent, Case, CaseParty, Deadline, DeadlineStatus, Role, Unit, UnitKind

if TYPE_CHECKING:
    from datetime import date

    from workflow.core.calendar import WorkCalendar

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


def count_of(session: Session, query: Any) -> int:
    """How many rows a SELECT gives."""
    return int(session.exec(select(sa.func.count()).select_from(query.order_by(None).subquery())).one())


def paginate(session: Session, query: Any, page: int, per_page: int) -> Page[Any]:
    """One page of a SELECT, with the total count."""
    page = max(1, page)
    per_page = max(1, min(per_page, MAX_PAGE_SIZE))
    total = count_of(session, query)
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


def passed_states(catalog: Catalog = CATALOG) -> dict[str, set[str]]:
    """Per process, the states a case is in because a deadline passed, where that deadline stays in sight as
    overdue: the destination of an expiry trigger, and what follows it only from there (an overdue order's
    criticism drafted, then issued), as long as the state has no deadline of its own and is not final. A state
    also reached otherwise (a report under verification, late or not) is not one of them."""
    found: dict[str, set[str]] = {}
    for key in catalog.keys():
        definition = catalog.current(key)
        waiting = {name for name, state in definition.states.items() if not state.deadlines and not state.final}
        passed: set[str] = set()
        for name, state in definition.states.items():
            for spec in state.deadlines:
                leaving = definition.transition(spec.on_expiry, name) if spec.on_expiry else None
                if leaving is not None and leaving.dest in waiting:
                    passed.add(leaving.dest)
        grown = True
        while grown:
            grown = False
            for name in sorted(waiting - passed):
                into = [t for t in definition.transitions if t.dest == name]
                if into and all(source in passed for t in into for source in t.sources):
                    passed.add(name)
                    grown = True
        if passed:
            found[key] = passed
    return found


def urgency_due(catalog: Catalog = CATALOG) -> sa.ColumnElement[Any]:
    """The date a case is due by: its nearest open deadline, or, in a state a passed deadline led to, that
    deadline's date, or a deadline that passed without moving the case (a notice still to issue) while the case
    waits in its state; NULL when nothing is due. ISO dates sort as text: the earliest is the most urgent."""
    dl = table_of(Deadline).alias("urgency_dl")
    open_due = (sa.select(sa.func.min(dl.c.due_date)).where(
        dl.c.case_id == Case.id, dl.c.kind == "expiry", dl.c.status == DeadlineStatus.open.value)
        .correlate(Case).scalar_subquery())
    passed_due = (sa.select(sa.func.max(dl.c.due_date)).where(
        dl.c.case_id == Case.id, dl.c.kind == "expiry", dl.c.status == DeadlineStatus.fired.value,
        dl.c.trigger.is_not(None)).correlate(Case).scalar_subquery())
    stalled_due = (sa.select(sa.func.max(dl.c.due_date)).where(
        dl.c.case_id == Case.id, dl.c.kind == "expiry", dl.c.status == DeadlineStatus.fired.value,
        dl.c.trigger.is_(None), dl.c.state == Case.state).correlate(Case).scalar_subquery())
    in_passed = [sa.and_(Case.definition_key == key, Case.state.in_(sorted(states)))  # type: ignore[arg-type,attr-defined]  # SQLModel types a column as its Python value, not a SQL expression
                 for key, states in passed_states(catalog).items()]
    if not in_passed:
        return sa.func.coalesce(open_due, stalled_due)
    return sa.func.coalesce(open_due, sa.case((sa.or_(*in_passed), passed_due), else_=stalled_due))


def by_urgency(query: Any, *then: Any) -> Any:
    """Overdue first (the most overdue on top), then the soonest due, then cases without a deadline."""
    due = urgency_due()
    return query.order_by(due.is_(None), due, *then)


def inbox_query(actor: Actor) -> Any:
    """The cases the actor can act on now, the most urgent first, then the oldest change (the inbox's SELECT)."""
    query = select(Case).where(case_filter(actor), actionable_filter(actor), Case.closed_at.is_(None))  # type: ignore[union-attr]  # SQLModel types a column as its Python value, not a SQL expression
    return by_urgency(query, Case.updated_at, Case.id)


def inbox(session: Session, actor: Actor, *, page: int = 1, per_page: int = 20) -> Page[Case]:
    """The cases the actor can act on now, the most urgent first, then the oldest change."""
    return paginate(session, inbox_query(actor), page, per_page)


def case_list_query(actor: Actor, *, definition: str | None = None, state: str | None = None,
                    county_id: int | None = None, town_id: int | None = None) -> Any:
    """Every case the actor may see, filtered, the most urgent first, then newest first (the list's SELECT)."""
    query = select(Case).where(case_filter(actor))
    if definition:
        query = query.where(Case.definition_key == definition)
    if state:
        query = query.where(Case.state == state)
    if county_id:
        query = query.where(Case.county_id == county_id)
    if town_id:
        query = query.where(Case.town_id == town_id)
    return by_urgency(query, Case.id.desc())  # type: ignore[union-attr]  # SQLModel types a column as its Python value, not a SQL expression


def case_list(session: Session, actor: Actor, *, definition: str | None = None, state: str | None = None,
              county_id: int | None = None, town_id: int | None = None, page: int = 1,
              per_page: int = 20) -> Page[Case]:
    """Every case the actor may see, filtered, the most urgent first, then newest first."""
    query = case_list_query(actor, definition=definition, state=state, county_id=county_id, town_id=town_id)
    return paginate(session, query, page, per_page)


@dataclass
class CaseRow:
    """A case as a list shows it: with its county's and town's names and its nearest deadline."""

    case: Case
    county: str
    town: str
    badge: DeadlineBadge | None


def case_rows(session: Session, query: Any, *, now: Any, limit: int, batch: int = 500) -> Iterator[CaseRow]:
    """The cases of a list's SELECT (`inbox_query`, `case_list_query`), at most `limit`, read `batch` at a time
    (streamed from the database, not loaded at once), each with what the list shows beside it."""
    from workflow.core.models import Town

    result = session.exec(query.limit(limit).execution_options(yield_per=batch))
    for chunk in result.partitions(batch):
        cases = list(chunk)
        ids = [c.id for c in cases if c.id is not None]
        badges = deadline_badges(session, ids, now=now)
        counties = unit_names(session, {c.county_id for c in cases})
        town_ids = {c.town_id for c in cases if c.town_id}
        towns: dict[int, str] = {}
        if town_ids:
            towns = dict(session.exec(select(Town.id, Town.name).where(Town.id.in_(town_ids))).all())  # type: ignore[union-attr,arg-type]  # SQLModel types a column as its Python value, not a SQL expression
        for case in cases:
            town = towns.get(case.town_id, "") if case.town_id else ""
            yield CaseRow(case, counties.get(case.county_id, ""), town, badges.get(case.id) if case.id else None)


def case_events(session: Session, actor: Actor, case_id: int, case: Case | None = None) -> list[AuditEvent]:
    """The case's timeline as `actor` may read it (404 when the case is not visible; definitions/visibility.yaml
    for what of each step). `case`: the case as get_case gave it to `actor`, when the caller has read it."""
    from workflow.core.visibility import visible_events

    case = case_read(session, actor, case_id, case)
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
    name: str = ""
    state: str = ""

    @property
    def overdue(self) -> bool:
        return self.working_days_left < 0

    @property
    def tone(self) -> str:
        return "late" if self.working_days_left < 0 else "soon" if self.working_days_left <= 3 else "fine"


def deadline_badges(session: Session, case_ids: list[int], *, now: Any) -> dict[int, DeadlineBadge]:
    """The nearest open deadline of each case with the working days left (for lists and the board); a case
    that a passed deadline moved (an order now overdue) keeps that deadline, with the working days since."""
    from datetime import date

    from workflow.core.calendar import calendar_for, local_date

    calendar = calendar_for(session)
    today = local_date(now)
    rows = {case_id: found[0] for case_id, found in open_deadlines(session, case_ids).items()}
    rows.update(passed_deadlines(session, [i for i in case_ids if i not in rows]))
    return {case_id: DeadlineBadge(row.due_date, working_days_left(calendar, today, date.fromisoformat(
                row.due_date)), row.is_estimated, row.name, row.state)
            for case_id, row in rows.items() if row.due_date}


def working_days_left(calendar: WorkCalendar, today: date, due: date) -> int:
    """Working days from `today` up to the due date; once the due date is behind, negative and at least one: a
    deadline that passed on a Friday is late over the weekend, not due today."""
    left = calendar.working_days_between(today, due)
    return min(left, -1) if today > due else left


def passed_deadlines(session: Session, case_ids: list[int]) -> dict[int, Deadline]:
    """The passed deadline that keeps a case overdue: in a state a passed deadline led to (see `passed_states`),
    that deadline's row; otherwise a deadline of the state the case is still in that passed without moving it
    (no expiry trigger: the office was told, the work is still to do)."""
    if not case_ids:
        return {}
    states = passed_states()
    cases = {c.id: c for c in session.exec(select(Case).where(Case.id.in_(case_ids)))}  # type: ignore[union-attr]  # SQLModel types a column as its Python value, not a SQL expression
    found: dict[int, Deadline] = {}
    for row in session.exec(select(Deadline).where(
            Deadline.case_id.in_(list(cases)), Deadline.kind == "expiry",  # type: ignore[attr-defined]  # SQLModel types a column as its Python value, not a SQL expression
            Deadline.status == DeadlineStatus.fired.value)
            .order_by(Deadline.due_date, Deadline.id)):  # type: ignore[arg-type]  # SQLModel types a column as its Python value, not a SQL expression
        case = cases[row.case_id]
        led_here = case.state in states.get(case.definition_key, ()) and row.trigger is not None
        stalled_here = row.trigger is None and row.state == case.state
        if led_here or stalled_here:
            found[row.case_id] = row  # the latest one wins
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
    # overdue first (the most overdue on top: criticised ones too, their passed deadline stays in sight), then
    # the soonest due, then orders without a running deadline (awaiting verification)
    board.sort(key=lambda r: (r[3] is None, r[3].working_days_left if r[3] else 0, r[1], r[0].id))
    return board


def case_reminders(session: Session, case_id: int) -> tuple[list[Deadline], list[Deadline]]:
    """A case's reminders in one query: those still to be sent (soonest first) and those the scheduler has sent
    (in the order it sent them)."""
    rows = session.exec(select(Deadline).where(
        Deadline.case_id == case_id, Deadline.kind == "reminder",
        col(Deadline.status).in_((DeadlineStatus.open.value, DeadlineStatus.fired.value)))).all()
    waiting = sorted((r for r in rows if r.status == DeadlineStatus.open.value), key=lambda r: (r.due_at, r.id))
    sent = sorted((r for r in rows if r.status == DeadlineStatus.fired.value), key=lambda r: (r.fired_at, r.id))
    return waiting, sent


def office_unit(session: Session) -> Unit:
    """The leading group's office's unit: it holds the city's own cases (a year's ranking, the action plan)."""
    office = session.exec(select(Unit).where(Unit.kind == UnitKind.office.value).order_by(col(Unit.id))).first()
    if office is None:
        raise LookupError("the office's unit is missing")
    return office


REGISTRY = "town"  # the definition of the registry record every town has from its creation


def registry_case(session: Session, town_id: int) -> Case | None:
    """The town's registry record (the case of definition `town` that every town has from its creation)."""
    return session.exec(select(Case).where(Case.definition_key == REGISTRY, Case.town_id == town_id)).first()


@dataclass
class DeadlineView:
    """One deadline of a case as its page shows it."""

    label: Any  # Label (zh/en)
    due_date: str
    due_at: Any
    working_days_left: int  # negative once passed
    is_estimated: bool
    on_expiry_text: Any  # Label or None

    @property
    def overdue(self) -> bool:
        return self.working_days_left < 0

    @property
    def tone(self) -> str:
        return "late" if self.working_days_left < 0 else "soon" if self.working_days_left <= 3 else "fine"


def case_deadlines(session: Session, case: Case, *, now: Any, catalog: Catalog = CATALOG) -> list[DeadlineView]:
    """The open deadlines of a case (or the passed one that made it overdue), each with its label, the working
    days left and what happens when it passes, from the definition the case runs on."""
    from datetime import date

    from workflow.core.calendar import calendar_for, local_date
    from workflow.core.yamlcheck import Label

    assert case.id is not None
    rows = open_deadlines(session, [case.id]).get(case.id) or list(passed_deadlines(session, [case.id]).values())
    if not rows:
        return []
    definition = catalog.get(case.definition_key, case.definition_version, session)
    calendar = calendar_for(session)
    today = local_date(now)
    found = []
    for row in rows:
        if not row.due_date:
            continue
        state = definition.states.get(row.state)
        spec = next((d for d in state.deadlines if d.name == row.name), None) if state else None
        found.append(DeadlineView(
            label=spec.label if spec else Label(row.name, row.name), due_date=row.due_date, due_at=row.due_at,
            working_days_left=working_days_left(calendar, today, date.fromisoformat(row.due_date)),
            is_estimated=row.is_estimated, on_expiry_text=spec.on_expiry_text if spec else None))
    return found
