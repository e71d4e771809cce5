"""The project libraries' guards and actions (definitions/key_project.yaml, definitions/investment_project.yaml):
the project's fields checked, every stage's date kept, the key project's quarterly update (due a number of
working days after each quarter ends; an update or a missed deadline plans the next one) and the stalled flag.

Quarters: the update of a quarter is made after it ends and is due `update_working_days` working days later
(definitions/project_rules.yaml). An update on day d is the report of the last quarter that ended; the next one
is due after the quarter holding d ends. A deadline passed leaves the project overdue until its update is made.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import sqlalchemy as sa

from workflow.core.calendar import WorkCalendar
from workflow.core.deadlines import close_deadlines, insert_deadlines, plan_deadlines
from workflow.core.engine import FireContext
from workflow.core.models import Case
from workflow.core.reasons import parse_date, reason
from workflow.core.registry import action, guard
from workflow.projects import KEY
from workflow.projects.settings import project_rules

MAX_NAME = 200
MAX_TEXT = 2000
MAX_AMOUNT = 100_000_000  # 万元: a trillion yuan
# Each stage's date, by the trigger that moves a project into it; 三个一批 counts them.
STAGE_DATES = {"sign": "signed_date", "start": "started_date", "produce": "producing_date",
               "reach_output": "effective_date", "land": "landed_date", "terminate": "terminated_date"}
# The stage dates in the order a project passes them (a stage's date is never before the one before it).
ORDER = ("signed_date", "started_date", "producing_date", "effective_date")
FINAL_STATES = {"effective", "landed", "terminated"}


def quarter_of(day: date) -> tuple[int, int]:
    return day.year, (day.month - 1) // 3 + 1


def quarter_index(day: date) -> int:
    year, quarter = quarter_of(day)
    return year * 4 + quarter - 1


def quarter_start(index: int) -> date:
    return date(index // 4, index % 4 * 3 + 1, 1)


def quarter_end(index: int) -> date:
    return quarter_start(index + 1) - timedelta(days=1)


def update_due(day: date, calendar: WorkCalendar) -> date:
    """When the update of the quarter holding `day` is due: working days after that quarter ends."""
    return calendar.add_working_days(quarter_end(quarter_index(day)), project_rules().update_working_days)[0]


def last_activity(data: dict[str, Any]) -> date | None:
    return parse_date(data.get("last_activity_date"))


def is_stalled(case: Case, today: date) -> bool:
    """No stage change and no new completed investment for `stalled_quarters` whole quarters (a project that has
    reached its last stage, or has ended, is never stalled)."""
    if case.state in FINAL_STATES:
        return False
    last = last_activity(case.data) or case.created_at.date()
    return quarter_index(today) - quarter_index(last) > project_rules().stalled_quarters


def is_overdue(case: Case, today: date) -> bool:
    """The key project's quarterly update is past its deadline and not made yet."""
    due = parse_date(case.data.get("report_due_date"))
    return case.definition_key == KEY and case.state not in FINAL_STATES and due is not None and due < today


def stalled_since(today: date) -> date:
    """A project whose last progress is before this day is stalled (today's quarter less `stalled_quarters`)."""
    return quarter_start(quarter_index(today) - project_rules().stalled_quarters)


def stalled_clause(today: date, definition_key: str) -> sa.ColumnElement[bool]:
    """The SQL form of `is_stalled`, for the lists' filter."""
    from sqlmodel import col

    last = col(Case.data)["last_activity_date"].as_string()
    finals = sorted(FINAL_STATES)
    return sa.and_(col(Case.definition_key) == definition_key, col(Case.state).not_in(finals),
                   last < stalled_since(today).isoformat())


def _number(ctx: FireContext, key: str, found: list[dict[str, Any]]) -> float | None:
    value = ctx.payload.get(key)
    if value in (None, ""):
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= MAX_AMOUNT:
        found.append(reason("金额应为不小于 0 的数（万元）", "the amount must be a number from 0 (10,000 yuan)", key))
        return None
    return float(value)


@guard("project_valid")
def project_valid(ctx: FireContext) -> list[dict[str, Any]]:
    """A name (on creating), the texts not too long, the amounts numbers from 0; a key project is in a town, and
    its first quarterly update is due when the rules say."""
    found: list[dict[str, Any]] = []
    creating = ctx.spec.trigger == "create"
    name = ctx.payload.get("project_name")
    if creating and not (isinstance(name, str) and name.strip()):
        found.append(reason("必须填写项目名称", "the project name is required", "project_name"))
    for key, top in (("project_name", MAX_NAME), ("enterprise", MAX_NAME), ("support", MAX_TEXT)):
        value = ctx.payload.get(key)
        if value is not None and not isinstance(value, str):
            found.append(reason("应为文字", "must be text", key))
        elif isinstance(value, str) and len(value) > top:
            found.append(reason(f"不能超过 {top} 字", f"longer than {top} characters", key))
    _number(ctx, "investment_planned", found)
    _number(ctx, "investment_completed", found)
    if creating and ctx.payload.get("investment_planned") in (None, ""):
        found.append(reason("必须填写计划总投资", "the planned investment is required", "investment_planned"))
    if creating and ctx.definition.key == KEY:
        if ctx.case.town_id is None:
            found.append(reason("重点项目必须选择所在专业镇", "a key project needs its town", "town_id"))
        expected = update_due(ctx.today, ctx.calendar).isoformat()
        if ctx.payload.get("report_due_date") != expected:
            found.append(reason(f"季度更新期限由系统计算，应为 {expected}",
                                f"the quarterly update deadline is computed: {expected}", "report_due_date"))
    return found


@action("project_created")
def project_created(ctx: FireContext) -> None:
    """The case is named after the project; its progress is counted from today."""
    ctx.data["project_name"] = str(ctx.data["project_name"]).strip()
    ctx.case.title = ctx.data["project_name"][:MAX_NAME]
    ctx.data.setdefault("last_activity_date", ctx.today.isoformat())


def _replan(ctx: FireContext, due: date) -> None:
    """The quarterly deadline of the state replaced by one falling on `due` (nothing when it already does)."""
    if ctx.data.get("report_due_date") == due.isoformat():
        return
    ctx.data["report_due_date"] = due.isoformat()
    state = ctx.definition.states[ctx.case.state]
    rows = plan_deadlines(ctx.session, case_id=ctx.case.id, state=state, data=ctx.data, now=ctx.now,
                          calendar=ctx.calendar)
    close_deadlines(ctx.session, case_id=ctx.case.id, state=ctx.case.state, now=ctx.now)  # type: ignore[arg-type]  # a saved case has its id
    insert_deadlines(ctx.session, ctx.case.id, rows)  # type: ignore[arg-type]  # a saved case has its id


@action("keep_update")
def keep_update(ctx: FireContext) -> None:
    """The update kept: new completed investment counts as progress; a key project's quarterly update is done (the
    overdue flag goes) and the next one is due after the current quarter."""
    ctx.data["project_name"] = str(ctx.data.get("project_name") or ctx.case.title).strip()
    ctx.case.title = ctx.data["project_name"][:MAX_NAME]
    before = ctx.case.data.get("investment_completed") or 0
    after = ctx.data.get("investment_completed") or 0
    if after > before:
        ctx.data["last_activity_date"] = ctx.today.isoformat()
    if ctx.definition.key == KEY:
        ctx.data["last_update_date"] = ctx.today.isoformat()
        _replan(ctx, update_due(ctx.today, ctx.calendar))


@guard("stage_date_valid")
def stage_date_valid(ctx: FireContext) -> list[dict[str, Any]]:
    """The stage's date is not in the future, nor before the date of the stage before it."""
    key = STAGE_DATES[ctx.spec.trigger]
    day = parse_date(ctx.payload.get(key))
    if day is None:
        return []  # the engine says it is missing or not a date
    if day > ctx.today:
        return [reason("日期不能晚于今天", "the date cannot be in the future", key)]
    before = ORDER[:ORDER.index(key)] if key in ORDER else ()
    earlier = [d for k in before if (d := parse_date(ctx.data.get(k)))]
    if key in ("landed_date", "terminated_date") and (d := parse_date(ctx.data.get("signed_date"))):
        earlier.append(d)
    if earlier and day < max(earlier):
        return [reason(f"日期不能早于上一阶段的日期 {max(earlier).isoformat()}",
                       f"the date cannot be before the previous stage's date {max(earlier).isoformat()}", key)]
    return []


@action("keep_stage_date")
def keep_stage_date(ctx: FireContext) -> None:
    """A stage change is progress on the day it happened."""
    day = ctx.data[STAGE_DATES[ctx.spec.trigger]]
    ctx.data["last_activity_date"] = max(day, ctx.data.get("last_activity_date") or day)
    if ctx.spec.trigger == "terminate":
        ctx.data["termination_reason"] = str(ctx.data["termination_reason"]).strip()
