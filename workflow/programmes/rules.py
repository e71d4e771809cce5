"""Guards and actions of the action plan (definitions/action_plan.yaml) and its tasks (definitions/plan_task.yaml)."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

import sqlalchemy as sa

from workflow.core.access import MAX_ID
from workflow.core.db import json_key, table_of
from workflow.core.deadlines import close_deadlines, insert_deadlines, plan_deadlines
from workflow.core.engine import FireContext, create_case
from workflow.core.indicators import indicators
from workflow.core.models import Attachment, Case, CaseParty, Town, Unit, UnitKind
from workflow.core.reasons import due_date_reasons, parse_date, reason
from workflow.core.registry import action, guard
from workflow.programmes import periods
from workflow.programmes.catalog import programme_spec
from workflow.programmes.opening import open_task

PLAN = "action_plan"
MAX_TITLE = 200
MAX_TEXT = 2000
MAX_MILESTONES = 12
LEAD = "lead"  # the programme's lead unit: sees the task
RESPONSIBLE = "responsible"  # the member unit that carries the task out and reports on it
SOURCES = ("plan", "meeting")

_units = table_of(Unit)
_cases = table_of(Case)
_towns = table_of(Town)


def _finite(value: Any) -> Decimal | None:
    """The number written (a finite one: "NaN" and "Infinity" are no figure), or None."""
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        return None
    return number if number.is_finite() else None


def _text(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""


def _is_id(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 < value <= MAX_ID


def unit_kinds(conn: sa.Connection, ids: list[int]) -> dict[int, tuple[str, str]]:
    """{id: (kind, name)} of the active units among `ids`."""
    if not ids:
        return {}
    rows = conn.execute(sa.select(_units.c.id, _units.c.kind, _units.c.name)
                        .where(_units.c.id.in_(ids), _units.c.is_active.is_(True)))
    return {r.id: (r.kind, r.name) for r in rows}


def task_entry_reasons(conn: sa.Connection, task: Any, year: int | None,
                       lead_required: bool = True) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """A task of the plan as the office enters it, cleaned, and the reasons it is refused (empty: valid). A meeting's
    decision may have no lead unit (`lead_required` false)."""
    if not isinstance(task, dict):
        return {}, [reason("任务内容格式不正确", "the task must be a mapping", "task")]
    found: list[dict[str, Any]] = []
    programme = programme_spec().get(str(task.get("programme") or ""))
    if programme is None:
        found.append(reason("请选择所属工程", "choose the programme", "programme"))
    title = _text(task.get("title"))
    if not title or len(title) > MAX_TITLE:
        found.append(reason(f"请填写任务名称（不超过{MAX_TITLE}字）", "give the task's title", "title"))
    lead = task.get("lead_unit_id")
    units = task.get("units")
    if not isinstance(units, list) or not units or not all(_is_id(u) for u in units) or len(set(units)) != len(units):
        found.append(reason("请选择责任单位（成员单位或县区，各一次）", "choose the responsible units, each once",
                            "units"))
        units = []
    ids = [u for u in [lead, *units] if _is_id(u)]
    kinds = unit_kinds(conn, ids)
    if lead is None and not lead_required:
        pass
    elif not _is_id(lead) or kinds.get(int(lead), ("", ""))[0] != UnitKind.member.value:  # type: ignore[arg-type]  # checked by _is_id
        found.append(reason("牵头单位必须是成员单位", "the lead unit must be a member unit", "lead_unit_id"))
    bad = [u for u in units if kinds.get(u, ("", ""))[0] not in (UnitKind.member.value, UnitKind.county.value)]
    if bad:
        found.append(reason("责任单位必须是成员单位或县（区）", "responsible units must be member units or counties",
                            "units"))
    town_id = task.get("town_id")
    if town_id not in (None, ""):
        town = conn.execute(sa.select(_towns.c.county_id).where(_towns.c.id == town_id)).first() \
            if _is_id(town_id) else None
        if town is None or town[0] not in units:
            found.append(reason("专业镇须属于所选的县（区）", "the town must be in one of the counties chosen",
                                "town_id"))
    else:
        town_id = None
    target = _text(task.get("target_text"))
    if not target or len(target) > MAX_TEXT:
        found.append(reason("请填写目标任务", "give the target", "target_text"))
    figure = task.get("target_figure")
    if figure not in (None, ""):
        number = _finite(figure)
        if number is None:
            found.append(reason("目标数值必须是数字", "the target figure must be a number", "target_figure"))
        else:
            figure = str(number)
    else:
        figure = None
    indicator = _text(task.get("indicator")) or None
    if indicator is not None and indicator not in indicators():
        found.append(reason("关联指标不是工作看板的发展目标指标", "the indicator is not one of the dashboard's targets",
                            "indicator"))
    cycle = task.get("report_cycle") or "monthly"
    if cycle not in periods.CYCLES:
        found.append(reason("报送周期只能是按月或按季度", "reports are monthly or quarterly", "report_cycle"))
    milestones: list[dict[str, str]] = []
    raw = task.get("milestones") or []
    if not isinstance(raw, list) or len(raw) > MAX_MILESTONES:
        found.append(reason(f"节点目标最多{MAX_MILESTONES}个", f"at most {MAX_MILESTONES} milestones", "milestones"))
        raw = []
    for i, m in enumerate(raw, 1):
        day = parse_date(m.get("due_date")) if isinstance(m, dict) else None
        what = _text(m.get("title")) if isinstance(m, dict) else ""
        if not what or day is None or (year is not None and day.year != year):
            found.append(reason(f"第{i}个节点目标须有内容和本年度内的完成日期",
                                f"milestone {i} needs a title and a due date in the plan's year", "milestones"))
            continue
        milestones.append({"title": what, "due_date": day.isoformat()})
    clean = {"programme": programme.key if programme else None, "title": title, "lead_unit_id": lead,
             "units": units, "town_id": town_id, "target_text": target, "target_figure": figure, "indicator": indicator,
             "report_cycle": cycle,
             "milestones": sorted(milestones, key=lambda m: m["due_date"])}
    return clean, found


# --- the plan ---------------------------------------------------------------------------------------------------

@guard("plan_year_valid")
def plan_year_valid(ctx: FireContext) -> list[dict[str, Any]]:
    """One plan a year, for this year or the next."""
    year = ctx.data.get("plan_year")
    if isinstance(year, bool) or not isinstance(year, int) or not ctx.today.year - 1 <= year <= ctx.today.year + 1:
        return [reason("计划年度须为上一年、本年或下一年", "the plan's year must be last year, this year or next",
                       "plan_year")]
    taken = ctx.session.connection().execute(sa.select(_cases.c.id).where(
        _cases.c.definition_key == PLAN, json_key(_cases.c.data, "plan_year").as_integer() == year)).first()
    if taken is not None:
        return [reason(f"{year}年度行动计划已存在", f"the action plan of {year} exists already", "plan_year")]
    return []


@guard("plan_task_entry_valid")
def plan_task_entry_valid(ctx: FireContext) -> list[dict[str, Any]]:
    """A task under a programme, with its units, target, milestones and report cycle; an edit names a task held."""
    no = ctx.payload.get("task_no")
    found: list[dict[str, Any]] = []
    if no is not None and no not in {t["no"] for t in ctx.data.get("tasks") or []}:
        found.append(reason("没有这个任务", "no such task", "task_no"))
    return found + task_entry_reasons(ctx.session.connection(), ctx.payload.get("task"), ctx.data.get("plan_year"))[1]


@action("keep_plan_task")
def keep_plan_task(ctx: FireContext) -> None:
    """Add the task (numbered after the last) or replace the one named by task_no."""
    clean, _ = task_entry_reasons(ctx.session.connection(), ctx.data.pop("task"), ctx.data.get("plan_year"))
    tasks = list(ctx.data.get("tasks") or [])
    no = ctx.data.pop("task_no", None)
    if no is None:
        no = max((t["no"] for t in tasks), default=0) + 1
        tasks.append({"no": no, **clean})
    else:
        tasks = [{"no": no, **clean} if t["no"] == no else t for t in tasks]
    ctx.data["tasks"] = tasks
    ctx.audit_data["task_no"] = no


@guard("plan_task_exists")
def plan_task_exists(ctx: FireContext) -> list[dict[str, Any]]:
    if ctx.payload.get("task_no") not in {t["no"] for t in ctx.data.get("tasks") or []}:
        return [reason("没有这个任务", "no such task", "task_no")]
    return []


@action("drop_plan_task")
def drop_plan_task(ctx: FireContext) -> None:
    no = ctx.data.pop("task_no")
    ctx.data["tasks"] = [t for t in ctx.data.get("tasks") or [] if t["no"] != no]
    ctx.audit_data["task_no"] = no


@guard("plan_has_tasks")
def plan_has_tasks(ctx: FireContext) -> list[dict[str, Any]]:
    if not ctx.data.get("tasks"):
        return [reason("计划中还没有任务", "the plan has no task yet")]
    return []


@action("open_plan_tasks")
def open_plan_tasks(ctx: FireContext) -> None:
    """One task case per task and responsible unit, opened by the system as the leader approves the plan."""
    opened: list[int] = []
    for task in ctx.data.get("tasks") or []:
        for unit_id in task["units"]:
            case = open_task(ctx.session, now=ctx.now, calendar=ctx.calendar, unit_id=unit_id, task=task,
                             source="plan", extra={"plan_id": ctx.case.id, "plan_year": ctx.data["plan_year"],
                                                   "task_no": task["no"]})
            opened.append(case.id)  # type: ignore[arg-type]  # a saved row has its id
    ctx.data["task_cases"] = opened
    ctx.audit_data["task_cases"] = len(opened)


# --- a task -----------------------------------------------------------------------------------------------------

@guard("task_case_valid")
def task_case_valid(ctx: FireContext) -> list[dict[str, Any]]:
    """A task names its title, its responsible unit, its source and its first report's due date."""
    found: list[dict[str, Any]] = []
    if not _text(ctx.data.get("task_title")):
        found.append(reason("请填写任务名称", "give the task's title", "task_title"))
    if not _is_id(ctx.data.get("responsible_unit_id")):
        found.append(reason("请指定责任单位", "name the responsible unit", "responsible_unit_id"))
    if ctx.data.get("source") not in SOURCES:
        found.append(reason("任务来源不正确", "unknown source", "source"))
    if ctx.data.get("report_cycle") not in periods.CYCLES or parse_date(ctx.data.get("report_due_date")) is None:
        found.append(reason("请指定报送周期", "give the report cycle", "report_cycle"))
    return found


@action("bring_in_task_units")
def bring_in_task_units(ctx: FireContext) -> None:
    """A member unit's task: the unit as a party (asked to report); the lead unit as a party that sees the task."""
    rows = []
    responsible = ctx.data["responsible_unit_id"]
    if responsible != ctx.case.county_id:
        rows.append({"case_id": ctx.case.id, "unit_id": responsible, "purpose": RESPONSIBLE, "created_at": ctx.now,
                     "responded_at": None})
    lead = ctx.data.get("lead_unit_id")
    if _is_id(lead) and lead != responsible:
        # marked as answered: the reminders to the units still owing (pending_units) do not go to the lead unit
        rows.append({"case_id": ctx.case.id, "unit_id": lead, "purpose": LEAD, "created_at": ctx.now,
                     "responded_at": ctx.now})
    if rows:
        ctx.session.connection().execute(table_of(CaseParty).insert(), rows)


@guard("task_opening")
def task_opening(ctx: FireContext) -> list[dict[str, Any]]:
    """The task is being opened (true once: not when it comes back in progress after a late report or a 督办).
    The "opened" notice of definitions/notifications.yaml speaks only then."""
    if ctx.spec is not ctx.definition.create:
        return [reason("任务重新回到推进中，不是新下达", "the task is back in progress, not opened")]
    return []


@guard("task_reporter")
def task_reporter(ctx: FireContext) -> list[dict[str, Any]]:
    """Only the responsible unit reports (the lead unit sees the task but does not report on it)."""
    unit = ctx.data.get("responsible_unit_id")
    if ctx.actor.unit_id != unit:
        return [reason("只有责任单位可以报送进度", "only the responsible unit reports progress")]
    return []


def _attachment_ids(ctx: FireContext, ids: Any) -> list[int]:
    if not isinstance(ids, list):
        return []
    wanted = [i for i in ids if _is_id(i)]
    if not wanted:
        return []
    table = table_of(Attachment)
    held = set(ctx.session.connection().execute(
        sa.select(table.c.id).where(table.c.case_id == ctx.case.id, table.c.id.in_(wanted))).scalars())
    return [i for i in wanted if i in held]


@guard("task_report_valid")
def task_report_valid(ctx: FireContext) -> list[dict[str, Any]]:
    """A report has a text; its figure is a number; its attachments are the case's."""
    found: list[dict[str, Any]] = []
    text = _text(ctx.payload.get("report"))
    if not text or len(text) > MAX_TEXT:
        found.append(reason(f"请填写进展情况（不超过{MAX_TEXT}字）", "describe the progress", "report"))
    figure = ctx.payload.get("report_figure")
    if figure not in (None, "") and _finite(figure) is None:
        found.append(reason("完成数值必须是数字", "the figure must be a number", "report_figure"))
    given = ctx.payload.get("report_attachments")
    if given not in (None, []) and (not isinstance(given, list) or len(_attachment_ids(ctx, given)) != len(given)):
        found.append(reason("证明材料须先上传到本任务", "upload the evidence to this task first", "report_attachments"))
    return found


def replan_report(ctx: FireContext) -> None:
    """The task stays in progress: its report deadline moves on to the next period (closed and opened again)."""
    state = ctx.definition.states["in_progress"]
    close_deadlines(ctx.session, case_id=ctx.case.id, state="in_progress", now=ctx.now)  # type: ignore[arg-type]  # a saved row has its id
    insert_deadlines(ctx.session, ctx.case.id, plan_deadlines(  # type: ignore[arg-type]  # a saved row has its id
        ctx.session, case_id=ctx.case.id, state=state, data=ctx.data, now=ctx.now, calendar=ctx.calendar))


def _advance(ctx: FireContext) -> None:
    period = ctx.data.get("report_period") or periods.period_of(ctx.today, ctx.data["report_cycle"])
    period, due = periods.following_report(period, ctx.today, ctx.calendar)
    ctx.data["report_period"], ctx.data["report_due_date"] = period, due.isoformat()


@action("record_task_report")
def record_task_report(ctx: FireContext) -> None:
    """Keep the report (period, text, figure, evidence, late or not); in progress, the next period's report is due."""
    due = parse_date(ctx.data.get("report_due_date"))
    late = (ctx.case.state == "in_progress" and ctx.spec.dest is not None) or (due is not None and ctx.today > due)
    reports = list(ctx.data.get("reports") or [])
    figure = ctx.data.pop("report_figure", None)
    reports.append({"period": ctx.data.get("report_period"), "text": _text(ctx.data.pop("report")),
                    "figure": str(Decimal(str(figure))) if figure not in (None, "") else None,
                    "attachments": _attachment_ids(ctx, ctx.data.pop("report_attachments", None)),
                    "late": late, "by": ctx.actor.name, "at": ctx.now.isoformat(timespec="seconds")})
    ctx.data["reports"] = reports
    ctx.audit_data["late"] = late
    if ctx.case.state == "in_progress":
        _advance(ctx)
        if ctx.spec.dest is None:
            replan_report(ctx)


@action("next_task_report")
def next_task_report(ctx: FireContext) -> None:
    """Back in progress after a 督办: the next report due on or after today."""
    due = parse_date(ctx.data.get("report_due_date"))
    if due is None or due < ctx.today:
        _advance(ctx)


@guard("task_has_evidence")
def task_has_evidence(ctx: FireContext) -> list[dict[str, Any]]:
    """The office checks the evidence: at least one report carries an attachment."""
    if not any(r.get("attachments") for r in ctx.data.get("reports") or []):
        return [reason("尚无附证明材料的进度报告，不能确认完成",
                       "no report with evidence yet: it cannot be marked complete")]
    return []


@guard("supervision_due_valid")
def supervision_due_valid(ctx: FireContext) -> list[dict[str, Any]]:
    return due_date_reasons(ctx.payload.get("supervision_due_date"), field="supervision_due_date", zh="督办期限",
                            en="The supervision deadline", today=ctx.today, calendar=ctx.calendar)


@action("issue_task_supervision")
def issue_task_supervision(ctx: FireContext) -> None:
    """Keep the notice: what it asks and by when."""
    notices = list(ctx.data.get("supervisions") or [])
    notices.append({"text": ctx.comment, "due_date": ctx.data["supervision_due_date"], "by": ctx.actor.name,
                    "at": ctx.now.isoformat(timespec="seconds")})
    ctx.data["supervisions"] = notices


@guard("task_has_town")
def task_has_town(ctx: FireContext) -> list[dict[str, Any]]:
    """A rectification order needs a town: only a task of a town may be escalated into one."""
    found = [] if ctx.case.town_id else [reason("该任务没有落实到专业镇，不能转为限期整改通知",
                                                 "the task names no town; it cannot become a rectification order")]
    return found + due_date_reasons(ctx.payload.get("due_date"), field="due_date", zh="整改期限",
                                    en="The rectification deadline", today=ctx.today, calendar=ctx.calendar)


@action("escalate_task")
def escalate_task(ctx: FireContext) -> None:
    """The office's rectification order, naming this task (source "task")."""
    order = create_case(session=ctx.session, definition_key="rectification", actor=ctx.actor, now=ctx.now,
                        town_id=ctx.case.town_id, calendar=ctx.calendar,
                        data={"source": "task", "task_id": ctx.case.id, "due_date": ctx.data.pop("due_date"),
                              "problem": f"{ctx.data.get('task_title')}：{ctx.comment}"})
    ctx.data["rectification_id"] = order.id
    ctx.audit_data["rectification_id"] = order.id
