"""The tasks' services: opening a task case (from an approved plan or a meeting's decision), recording a meeting of
the leading group, the year's plan, the task list (filtered, paginated) and the programme board (per programme and
per unit: on track / late / done, with each task's latest report), and the board as an .xlsx workbook."""

from __future__ import annotations

from collections import Counter as Tally
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import IO, Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from workflow.core import audit
from workflow.core.access import case_filter
from workflow.core.actors import Actor
from workflow.core.calendar import calendar_for, local_date
from workflow.core.catalog import CATALOG
from workflow.core.db import json_key
from workflow.core.engine import create_case
from workflow.core.errors import Unprocessable
from workflow.core.exports import Column, Exported, Filter, ListSpec, write_xlsx
from workflow.core.indicators import Reading, readings
from workflow.core.models import Case, Unit, UnitKind
from workflow.core.queries import Page, office_unit, paginate
from workflow.core.reasons import parse_date, reason
from workflow.core.yamlcheck import Label
from workflow.programmes.catalog import programme_spec
from workflow.programmes.opening import TASK, open_task
from workflow.programmes.rules import MAX_TEXT, MAX_TITLE, PLAN, task_entry_reasons

# How the board counts a task's state: on track, late (its report overdue or under a 督办 path), done.
STANDING = {"in_progress": "on_track", "late": "late", "supervised": "late", "supervision_overdue": "late",
            "criticism_pending": "late", "criticised": "late", "escalated": "late", "completed": "done"}
STANDING_LABELS = {"on_track": Label("正常推进", "On track"), "late": Label("滞后", "Late"),
                   "done": Label("已完成", "Done")}
MAX_DECISIONS = 30


def open_plan(session: Session, *, actor: Actor, now: datetime, year: int) -> Case:
    """The office starts the year's action plan (one a year), held by the office's unit."""
    return create_case(session=session, definition_key=PLAN, actor=actor, now=now, county_id=office_unit(session).id,
                       title=f"{year}年度专业镇工作行动计划", data={"plan_year": year})


def plan_case(session: Session, year: int) -> Case | None:
    return session.exec(select(Case).where(Case.definition_key == PLAN,
                                           json_key(col(Case.data), "plan_year").as_integer() == year)).first()


@dataclass
class Decision:
    title: str
    units: list[int]
    target_text: str
    report_cycle: str = "monthly"
    lead_unit_id: int | None = None
    town_id: int | None = None


def record_meeting(session: Session, *, actor: Actor, now: datetime, meeting_date: Any, title: Any,
                   decisions: Any) -> list[Case]:
    """A meeting of the leading group and its decisions (领导小组会议决定事项): each decision opens one task per unit
    assigned, followed up as a plan's task is (source "meeting"). All or nothing; the meeting is audited."""
    if actor.role != "office":
        from workflow.core.errors import Forbidden
        raise Forbidden("只有领导小组办公室可以登记会议决定事项。", "Only the office records a meeting's decisions.")
    found: list[dict[str, Any]] = []
    day = parse_date(meeting_date)
    if day is None or day > local_date(now):
        found.append(reason("会议日期须为今天或以前的有效日期",
                            "the meeting's date must be a real date, not in the future", "meeting_date"))
    name = title.strip() if isinstance(title, str) else ""
    if not name or len(name) > MAX_TITLE:
        found.append(reason("请填写会议名称", "give the meeting's title", "meeting_title"))
    if not isinstance(decisions, list) or not decisions or len(decisions) > MAX_DECISIONS:
        found.append(reason(f"请填写决定事项（1至{MAX_DECISIONS}项）", "give the decisions", "decisions"))
        decisions = []
    clean: list[dict[str, Any]] = []
    conn = session.connection()
    for i, d in enumerate(decisions, 1):
        entry = dict(d) if isinstance(d, dict) else {}
        lead = entry.get("lead_unit_id") or next(
            (u for u, (kind, _) in _kinds(conn, entry.get("units")).items() if kind == UnitKind.member.value), None)
        task, problems = task_entry_reasons(conn, {**entry, "programme": entry.get("programme") or "environment",
                                                   "lead_unit_id": lead}, None, lead_required=False)
        task["programme"] = entry.get("programme") or None
        found.extend({**p, "zh": f"第{i}项：{p['zh']}", "en": f"decision {i}: {p['en']}"} for p in problems)
        clean.append({**task, "no": i})
    if found:
        raise Unprocessable("不能登记会议：" + "；".join(r["zh"] for r in found),
                            "Cannot record the meeting: " + "; ".join(r["en"] for r in found), details=found)
    assert day is not None
    meeting_id = int(now.timestamp())
    opened: list[Case] = []
    calendar = calendar_for(session)
    for decision in clean:
        for unit_id in decision["units"]:
            opened.append(open_task(session, now=now, calendar=calendar, unit_id=unit_id, task=decision,
                                    source="meeting", extra={"meeting_id": meeting_id, "meeting_title": name,
                                                             "plan_year": day.year,
                                                             "meeting_date": day.isoformat(),
                                                             "decision_no": decision["no"]}))
    audit.record(session, kind="meeting_recorded", now=now, actor=actor,
                 data={"meeting_id": meeting_id, "meeting_title": name, "meeting_date": day.isoformat(),
                       "decisions": len(clean), "tasks": [c.id for c in opened]})
    return opened


def _kinds(conn: sa.Connection, units: Any) -> dict[int, tuple[str, str]]:
    from workflow.programmes.rules import unit_kinds
    return unit_kinds(conn, [u for u in units if isinstance(u, int)]) if isinstance(units, list) else {}


# --- lists and the board ----------------------------------------------------------------------------------------

def task_query(actor: Actor, *, year: int | None = None, programme: str | None = None, unit_id: int | None = None,
               standing: str | None = None, source: str | None = None):
    """SELECT of the tasks `actor` may see, filtered, by number."""
    query = select(Case).where(Case.definition_key == TASK, case_filter(actor))
    if year is not None:
        query = query.where(json_key(col(Case.data), "plan_year").as_integer() == year)  # a meeting's task: its year
    if programme:
        query = query.where(json_key(col(Case.data), "programme").as_string() == programme)
    if unit_id is not None:
        query = query.where(sa.or_(col(Case.data)["responsible_unit_id"].as_integer() == unit_id,
                                   col(Case.data)["lead_unit_id"].as_integer() == unit_id))
    if standing in STANDING_LABELS:
        query = query.where(col(Case.state).in_([s for s, k in STANDING.items() if k == standing]))
    if source in ("plan", "meeting"):
        query = query.where(col(Case.data)["source"].as_string() == source)
    return query.order_by(col(Case.id))


def task_page(session: Session, actor: Actor, *, page: int = 1, per_page: int = 20, **filters: Any) -> Page[Case]:
    return paginate(session, task_query(actor, **filters), page, per_page)


@dataclass
class TaskRow:
    case: Case
    programme: str | None
    unit: str
    lead: str | None
    standing: str
    state: Label
    latest: dict[str, Any] | None
    due: str | None
    indicator: Reading | None = None  # the city's current figure of the dashboard's indicator the task names


@dataclass
class BoardGroup:
    key: str
    label: Label
    counts: dict[str, int]
    rows: list[TaskRow] = field(default_factory=list)


@dataclass
class Board:
    year: int
    by_programme: list[BoardGroup]
    by_unit: list[BoardGroup]
    total: dict[str, int]


def _unit_names(session: Session, ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    return dict(session.exec(select(Unit.id, Unit.name).where(col(Unit.id).in_(ids))).all())  # type: ignore[arg-type]  # ids of saved rows


def task_rows(session: Session, cases: list[Case], today: date | None = None) -> list[TaskRow]:
    """The tasks as the lists show them; given `today`, each with the city's current figure of the indicator it
    names (workflow.core.indicators: the dashboard's figure)."""
    figures = readings(session, today, (c.data.get("indicator") for c in cases)) if today is not None else {}
    ids: set[int] = {c.data["responsible_unit_id"] for c in cases}
    ids |= {c.data["lead_unit_id"] for c in cases if c.data.get("lead_unit_id")}
    names: dict[Any, str] = _unit_names(session, ids)
    rows = []
    for c in cases:
        definition = CATALOG.get(c.definition_key, c.definition_version, session)
        reports = c.data.get("reports") or []
        rows.append(TaskRow(c, c.data.get("programme"), names.get(c.data.get("responsible_unit_id"), "?"),
                            names.get(c.data.get("lead_unit_id")), STANDING.get(c.state, "on_track"),
                            definition.states[c.state].label, reports[-1] if reports else None,
                            c.data.get("report_due_date") if c.state == "in_progress" else
                            c.data.get("supervision_due_date") if c.state == "supervised" else None,
                            figures.get(c.data.get("indicator") or "")))
    return rows


def board(session: Session, actor: Actor, year: int, today: date | None = None, **filters: Any) -> Board:
    """The programme board of `year` as `actor` may see it: per programme and per responsible unit (given `today`,
    each task with its indicator's current city figure)."""
    rows = task_rows(session, list(session.exec(task_query(actor, year=year, **filters)).all()), today)
    spec = programme_spec()
    by_programme = []
    for p in spec.programmes:
        mine = [r for r in rows if r.programme == p.key]
        by_programme.append(BoardGroup(p.key, p.name, dict(Tally(r.standing for r in mine)), mine))
    other = [r for r in rows if spec.get(r.programme or "") is None]
    if other:
        by_programme.append(BoardGroup("meeting", Label("领导小组会议决定事项", "Decisions of the leading group"),
                                       dict(Tally(r.standing for r in other)), other))
    units: dict[str, list[TaskRow]] = {}
    for r in rows:
        units.setdefault(r.unit, []).append(r)
    by_unit = [BoardGroup(name, Label(name, name), dict(Tally(r.standing for r in mine)), mine)
               for name, mine in sorted(units.items())]
    return Board(year, by_programme, by_unit, dict(Tally(r.standing for r in rows)))


def _programme_name(key: str | None) -> Label:
    found = programme_spec().get(key or "")
    return found.name if found else Label("会议决定事项", "Meeting decision")


BOARD_LIST: ListSpec[TaskRow] = ListSpec("programme_board", Label("专业镇十大工程任务推进台账", "Programme board"),
                                         "programme-board", (
    Column("编号", "Number", lambda r: r.case.number, 16),
    Column("所属工程", "Programme", lambda r: _programme_name(r.programme), 22),
    Column("任务", "Task", lambda r: r.case.data.get("task_title"), 40),
    Column("责任单位", "Responsible unit", lambda r: r.unit, 20),
    Column("牵头单位", "Lead unit", lambda r: r.lead or "", 20),
    Column("目标", "Target", lambda r: r.case.data.get("target_text"), 40),
    Column("推进情况", "Standing", lambda r: STANDING_LABELS[r.standing], 10),
    Column("状态", "State", lambda r: r.state, 16),
    Column("下一期限", "Next due", lambda r: r.due, 12),
    Column("最新进展", "Latest report", lambda r: (r.latest or {}).get("text", "")[:MAX_TEXT], 50),
    Column("报送时间", "Reported at", lambda r: (r.latest or {}).get("at"), 18),
))


def export_board(session: Session, out: IO[bytes], *, actor: Actor, year: int, now: datetime, lang: str,
                 **filters: Any) -> Exported:
    """The board's tasks as an .xlsx (the filters as given), the export audited."""
    from workflow.core.exports import record_export
    rows = task_rows(session, list(session.exec(task_query(actor, year=year, **filters)).all()))
    applied = [Filter("year", year, Label("年度", "Year"), str(year))]
    exported = write_xlsx(out, BOARD_LIST, rows, total=len(rows), now=now, lang=lang, actor=actor, filters=applied)
    record_export(session, actor=actor, spec=BOARD_LIST, exported=exported, now=now)
    return exported


def indicator_reading(session: Session, case: Case, today: date) -> Reading | None:
    """The city's current figure of the dashboard's indicator a task names (None: it names none, or none is
    measured in the plan period of `today`)."""
    key = case.data.get("indicator")
    return readings(session, today, [key]).get(key) if key else None


def report_day(day: date) -> str:
    return day.isoformat()
