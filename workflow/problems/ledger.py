"""The problem ledger's services: logging a problem (with its evidence), the ledger (filtered, paginated, exported),
and the unit's answer and the office's escalation named as the ledger names them (each one `fire`)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import IO, Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from workflow.core.access import case_filter
from workflow.core.actors import Actor
from workflow.core.attachments import store_upload
from workflow.core.catalog import CATALOG
from workflow.core.engine import create_case, fire
from workflow.core.errors import InvalidInput
from workflow.core.exports import DAYS_LEFT, Column, Filter, ListSpec, as_date, county_filter
from workflow.core.models import Case, ProblemEntry, Town, Unit
from workflow.core.queries import DeadlineBadge, Page, count_of, deadline_badges, unit_names
from workflow.core.yamlcheck import Label
from workflow.problems.categories import by_key as category

KEY = "problem"
TITLE_LENGTH = 40
STATES = ("logged", "assigned", "in_progress", "overdue", "answered", "for_meeting", "escalated", "closed")
OPEN_STATES = ("logged", "assigned", "in_progress", "overdue", "answered", "for_meeting")
# the unit's three answers, as the API names them
ANSWERS = {"resolved": ("report_resolved", "resolution"), "in_progress": ("report_progress", "plan"),
           "unsolvable": ("report_unsolvable", "unsolvable_reason")}


def problem_title(description: str, place: str) -> str:
    """A problem's title: where, then the start of what."""
    text = " ".join(description.split())
    short = text if len(text) <= TITLE_LENGTH else text[:TITLE_LENGTH] + "…"
    return f"{place}：{short}" if place else short


def log_problem(*, session: Session, actor: Actor, now: datetime, data: dict[str, Any], town_id: int | None = None,
                county_id: int | None = None, files: list[tuple[str, IO[bytes]]] = (),  # type: ignore[assignment]
                upload_dir: Path | str | None = None) -> Case:
    """Log a problem (town, or a county for a problem with no town) with its evidence, in one transaction."""
    town = session.get(Town, town_id) if isinstance(town_id, int) and 0 < town_id < 2**31 else None
    county = session.get(Unit, county_id) if isinstance(county_id, int) and 0 < county_id < 2**31 else None
    if county_id is not None and (county is None or county.kind != "county"):
        raise InvalidInput("所选县（区）不存在。", "No such county.",
                           details=[{"field": "county_id", "zh": "所选县（区）不存在", "en": "no such county"}])
    place = town.name if town else (county.name if county else "")
    case = create_case(session=session, definition_key=KEY, actor=actor, now=now, town_id=town_id,
                       county_id=county_id, data=data,
                       title=problem_title(str(data.get("description") or ""), place))
    if files:
        assert case.id is not None and upload_dir is not None
        for filename, stream in files:
            store_upload(session=session, actor=actor, case_id=case.id, filename=filename, stream=stream, now=now,
                         upload_dir=upload_dir)
    return case


def answer(*, session: Session, actor: Actor, now: datetime, case_id: int, outcome: str, text: str | None,
           plan_date: str | None = None, expected_version: int | None = None) -> Case:
    """The responsible unit's answer: resolved (what was done), in_progress (the plan and its date), unsolvable
    (why); the plan of a problem already in progress is updated."""
    if outcome not in ANSWERS:
        raise InvalidInput("答复类型应为 resolved、in_progress 或 unsolvable。",
                           "outcome must be resolved, in_progress or unsolvable.",
                           details=[{"field": "outcome", "zh": "答复类型不正确", "en": "unknown outcome"}])
    trigger, field = ANSWERS[outcome]
    payload: dict[str, Any] = {field: text}
    if outcome == "in_progress":
        payload["plan_date"] = plan_date
        current = session.get(Case, case_id) if 0 < case_id < 2**31 else None
        if current is not None and current.state == "in_progress":
            trigger = "update_plan"
    return fire(session=session, case_id=case_id, trigger=trigger, actor=actor, now=now, payload=payload,
                expected_version=expected_version)


# --- the ledger --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LedgerFilters:
    county_id: int | None = None
    town_id: int | None = None
    category: str | None = None
    state: str | None = None
    unit_id: int | None = None  # the responsible unit
    overdue: bool = False


def ledger_query(actor: Actor, f: LedgerFilters) -> Any:
    """The problems `actor` may see that match the filters, the newest first."""
    query = select(Case).where(Case.definition_key == KEY, case_filter(actor))
    if f.county_id:
        query = query.where(Case.county_id == f.county_id)
    if f.town_id:
        query = query.where(Case.town_id == f.town_id)
    if f.category:
        query = query.where(col(Case.id).in_(select(ProblemEntry.case_id).where(ProblemEntry.category == f.category)))
    if f.overdue:
        query = query.where(Case.state == "overdue")
    elif f.state:
        query = query.where(Case.state == f.state)
    if f.unit_id:
        responsible = select(ProblemEntry.case_id).where(ProblemEntry.responsible_unit_id == f.unit_id)
        query = query.where(col(Case.id).in_(responsible))
    return query.order_by(col(Case.id).desc())


@dataclass
class LedgerRow:
    case: Case
    county: str
    town: str
    badge: DeadlineBadge | None

    @property
    def data(self) -> dict[str, Any]:
        return self.case.data

    @property
    def category(self) -> Label:
        found = category(self.case.data.get("category"))
        return found.label if found else Label("", "")

    @property
    def state(self) -> Label:
        spec = CATALOG.get(KEY, self.case.definition_version).states.get(self.case.state)
        return spec.label if spec else Label(self.case.state, self.case.state)

    @property
    def is_overdue(self) -> bool:
        return self.case.state == "overdue" or bool(self.badge and self.badge.overdue)


def _rows(session: Session, cases: list[Case], now: datetime) -> list[LedgerRow]:
    ids = [c.id for c in cases if c.id is not None]
    badges = deadline_badges(session, ids, now=now) if ids else {}
    counties = unit_names(session, {c.county_id for c in cases})
    town_ids = {c.town_id for c in cases if c.town_id}
    towns: dict[int, str] = {}
    if town_ids:
        towns = {i: n for i, n in session.exec(select(Town.id, Town.name).where(col(Town.id).in_(town_ids))) if i}
    return [LedgerRow(c, counties.get(c.county_id, ""), towns.get(c.town_id, "") if c.town_id else "",
                      badges.get(c.id) if c.id else None) for c in cases]


def ledger_page(session: Session, actor: Actor, f: LedgerFilters, *, now: datetime, page: int = 1,
                per_page: int = 20) -> Page[LedgerRow]:
    """One page of the ledger, with the total count."""
    page, per_page = max(1, page), max(1, min(per_page, 100))
    query = ledger_query(actor, f)
    total = count_of(session, query)
    cases = list(session.exec(query.offset((page - 1) * per_page).limit(per_page)).all())
    return Page(_rows(session, cases, now), total, page, per_page)


def ledger_rows(session: Session, actor: Actor, f: LedgerFilters, *, now: datetime, limit: int,
                batch: int = 500) -> Iterator[LedgerRow]:
    """Every matching problem (at most `limit`), read `batch` at a time, for the export."""
    result = session.exec(ledger_query(actor, f).limit(limit).execution_options(yield_per=batch))
    for chunk in result.partitions(batch):
        yield from _rows(session, list(chunk), now)


def ledger_total(session: Session, actor: Actor, f: LedgerFilters) -> int:
    return count_of(session, ledger_query(actor, f))


def responsible_units(session: Session) -> list[Unit]:
    """The units a problem may be assigned to: active member units and counties."""
    return list(session.exec(select(Unit).where(col(Unit.kind).in_(("member", "county")),
                                                col(Unit.is_active).is_(True)).order_by(col(Unit.kind), col(Unit.id))))


def _origin(row: LedgerRow) -> Label:
    from workflow.problems.rules import ORIGINS

    found = ORIGINS.get(str(row.data.get("origin") or ""))
    return Label(*found) if found else Label("", "")


LEDGER: ListSpec[LedgerRow] = ListSpec("problem_ledger", Label("问题台账", "Problem ledger"), "problem-ledger", (
    Column("编号", "Number", lambda r: r.case.number, 18),
    Column("县（区）", "County", lambda r: r.county, 10),
    Column("专业镇", "Town", lambda r: r.town, 12),
    Column("类别", "Category", lambda r: r.category, 8),
    Column("问题描述", "Description", lambda r: r.data.get("description") or "", 50),
    Column("来源", "Origin", _origin, 12),
    Column("反映人", "Raised by", lambda r: r.data.get("raised_by") or "", 16),
    Column("企业", "Enterprise", lambda r: r.data.get("enterprise_name") or "", 20),
    Column("登记时间", "Logged", lambda r: r.case.created_at, 17),
    Column("责任单位", "Responsible unit", lambda r: r.data.get("responsible_unit") or "", 16),
    Column("办理期限", "Deadline", lambda r: as_date(r.data.get("due_date")), 12),
    Column("剩余工作日", "Working days left", lambda r: r.badge.working_days_left if r.badge else None, 12, DAYS_LEFT),
    Column("状态", "State", lambda r: r.state, 14),
    Column("逾期", "Overdue", lambda r: Label("是", "yes") if r.is_overdue else Label("", ""), 6),
    Column("办理情况", "Answer", lambda r: r.data.get("resolution") or r.data.get("plan")
           or r.data.get("unsolvable_reason") or "", 40),
    Column("督办通知", "Rectification order", lambda r: r.data.get("order_number") or "", 18),
))


def ledger_filters(session: Session, f: LedgerFilters) -> list[Filter]:
    """The filters applied, as the exported sheet names them."""
    found = []
    if f.county_id:
        found.append(county_filter(session, f.county_id))
    if f.town_id:
        town = session.get(Town, f.town_id)
        found.append(Filter("town_id", f.town_id, Label("专业镇", "Town"), town.name if town else str(f.town_id)))
    if f.category and category(f.category):
        found.append(Filter("category", f.category, Label("类别", "Category"), category(f.category).label))  # type: ignore[union-attr]  # checked
    if f.state:
        spec = CATALOG.current(KEY).states.get(f.state)
        found.append(Filter("state", f.state, Label("状态", "State"), spec.label if spec else f.state))
    if f.unit_id:
        unit = session.get(Unit, f.unit_id)
        found.append(Filter("unit_id", f.unit_id, Label("责任单位", "Responsible unit"),
                            unit.name if unit else str(f.unit_id)))
    if f.overdue:
        found.append(Filter("overdue", True, Label("逾期", "Overdue"), Label("是", "yes")))
    return found


def states_count(session: Session, actor: Actor) -> dict[str, int]:
    """How many problems `actor` sees in each state."""
    rows = session.exec(select(Case.state, sa.func.count()).where(Case.definition_key == KEY, case_filter(actor))
                        .group_by(Case.state)).all()
    return {state: int(n) for state, n in rows}


def verify(*, session: Session, actor: Actor, now: datetime, case_id: int, close: bool, comment: str | None = None,
           due_date: str | None = None, expected_version: int | None = None) -> Case:
    """The office's verification of an answer: close the problem, or send it back (why, and a new deadline or ten
    working days from today)."""
    if close:
        return fire(session=session, case_id=case_id, trigger="close_problem", actor=actor, now=now, comment=comment,
                    expected_version=expected_version)
    return fire(session=session, case_id=case_id, trigger="send_back", actor=actor, now=now, comment=comment,
                payload={"due_date": due_date} if due_date else {}, expected_version=expected_version)


def escalate(*, session: Session, actor: Actor, now: datetime, case_id: int, to: str, order_due_date: str | None = None,
             order_problem: str | None = None, meeting_note: str | None = None,
             expected_version: int | None = None) -> Case:
    """The office escalates a problem: into a rectification order of the problem's town (`to` "order"), or to the
    leading group's meeting (`to` "meeting") with its note."""
    if to == "order":
        payload: dict[str, Any] = {"order_due_date": order_due_date}
        if order_problem:
            payload["order_problem"] = order_problem
        return fire(session=session, case_id=case_id, trigger="escalate_order", actor=actor, now=now, payload=payload,
                    expected_version=expected_version)
    if to == "meeting":
        return fire(session=session, case_id=case_id, trigger="refer_to_meeting", actor=actor, now=now,
                    payload={"meeting_note": meeting_note}, expected_version=expected_version)
    raise InvalidInput("升级方式应为 order（转督办）或 meeting（提请会议研究）。",
                       "to must be order or meeting.",
                       details=[{"field": "to", "zh": "升级方式不正确", "en": "unknown escalation"}])


def decide(*, session: Session, actor: Actor, now: datetime, case_id: int, decision_text: str | None,
           responsible_unit_id: int | None = None, due_date: str | None = None,
           expected_version: int | None = None) -> Case:
    """The leader's decision on a problem referred to the meeting: assign it (交办) to a unit with a deadline, or,
    with no unit named, close it with the decision."""
    if responsible_unit_id is None:
        return fire(session=session, case_id=case_id, trigger="meeting_close", actor=actor, now=now,
                    payload={"decision_text": decision_text}, expected_version=expected_version)
    payload = {"decision_text": decision_text, "responsible_unit_id": responsible_unit_id}
    if due_date:
        payload["due_date"] = due_date
    return fire(session=session, case_id=case_id, trigger="meeting_assign", actor=actor, now=now, payload=payload,
                expected_version=expected_version)


def assign(*, session: Session, actor: Actor, now: datetime, case_id: int, responsible_unit_id: int | None,
           due_date: str | None = None, expected_version: int | None = None) -> Case:
    """The office assigns a problem to a responsible unit, by a deadline (ten working days when none is given)."""
    payload: dict[str, Any] = {"responsible_unit_id": responsible_unit_id}
    if due_date:
        payload["due_date"] = due_date
    return fire(session=session, case_id=case_id, trigger="assign", actor=actor, now=now, payload=payload,
                expected_version=expected_version)
