"""The problem ledger's guards and actions (definitions/problem.yaml): what a logged problem must say, who may be
made responsible for it, the responsible unit's answers, and the escalations: a rectification order (督办) or the
leading group's meeting.

Who sees a problem: its county (the case's county), the office and the leader, and the member units brought into
it as parties: the unit that logged it (already answered: it owes nothing) and the unit responsible now. A unit
that was responsible before keeps seeing the problem as a former party."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from workflow.core.db import table_of
from workflow.core.engine import FireContext, create_case
from workflow.core.models import CaseParty, ProblemEntry, Role, Town, Unit, UnitKind
from workflow.core.reasons import due_date_reasons, reason
from workflow.core.registry import action, guard
from workflow.problems.categories import by_key as category

RAISER = "problem_raiser"  # the member unit that logged the problem
RESPONSIBLE = "problem_responsible"  # the unit responsible for it now
FORMER = "problem_former"  # a unit responsible before the problem was assigned again
ORIGINS = {"field_work": ("走访调研发现", "Found in field work"), "enterprise": ("企业反映", "Raised by an enterprise")}
MAX_TEXT = 2000
MAX_NAME = 100
_parties = table_of(CaseParty)
_entries = table_of(ProblemEntry)


def _text(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""


def _long_text(ctx: FireContext, key: str, zh: str, en: str, limit: int = MAX_TEXT) -> list[dict[str, Any]]:
    text = _text(ctx.payload.get(key))
    if not text:
        return [reason(f"请填写{zh}", f"{en} is required", key)]
    if len(text) > limit:
        return [reason(f"{zh}不能超过 {limit} 字", f"{en} may be at most {limit} characters", key)]
    return []


@guard("problem_valid")
def problem_valid(ctx: FireContext) -> list[dict[str, Any]]:
    """A problem has a category of the list, a description, where it came from; an enterprise's problem names the
    enterprise."""
    found = []
    if category(ctx.payload.get("category")) is None:
        found.append(reason("请选择问题类别", "choose the category", "category"))
    found += _long_text(ctx, "description", "问题描述", "the description")
    origin = ctx.payload.get("origin") or "field_work"
    if origin not in ORIGINS:
        found.append(reason("问题来源不正确", "unknown origin", "origin"))
    for key, zh, en in (("raised_by", "反映人", "who raised it"), ("enterprise_name", "企业名称", "the enterprise")):
        if len(_text(ctx.payload.get(key))) > MAX_NAME:
            found.append(reason(f"{zh}不能超过 {MAX_NAME} 字", f"{en} may be at most {MAX_NAME} characters", key))
    if origin == "enterprise" and not _text(ctx.payload.get("enterprise_name")):
        found.append(reason("企业反映的问题请填写企业名称", "name the enterprise that raised it", "enterprise_name"))
    if ctx.case.town_id is not None:
        town = ctx.session.get(Town, ctx.case.town_id)
        if town is not None and town.county_id != ctx.case.county_id:
            found.append(reason("所选专业镇不属于所选县（区）", "the town is not in the county chosen", "town_id"))
    return found


@action("record_raiser")
def record_raiser(ctx: FireContext) -> None:
    """Keep the texts trimmed and who logged the problem; a member unit that logged it sees it from now on."""
    for key in ("description", "raised_by", "enterprise_name"):
        if key in ctx.data:
            ctx.data[key] = _text(ctx.data[key])
    ctx.data["origin"] = ctx.data.get("origin") or "field_work"
    ctx.data["raiser_unit"] = ctx.actor.unit_name or ""
    ctx.session.connection().execute(_entries.insert().values(case_id=ctx.case.id, category=ctx.data["category"]))
    if not ctx.data.get("raised_by"):
        ctx.data["raised_by"] = ctx.actor.unit_name or ctx.actor.name
    if ctx.actor.role == Role.member and ctx.actor.unit_id is not None:
        ctx.session.connection().execute(_parties.insert().values(
            case_id=ctx.case.id, unit_id=ctx.actor.unit_id, purpose=RAISER, created_at=ctx.now, responded_at=ctx.now))


def _unit(ctx: FireContext) -> Unit | None:
    unit_id = ctx.payload.get("responsible_unit_id")
    return ctx.session.get(Unit, unit_id) if isinstance(unit_id, int) and not isinstance(unit_id, bool) else None


@guard("assignment_valid")
def assignment_valid(ctx: FireContext) -> list[dict[str, Any]]:
    """The responsible unit is an active member unit or the problem's own county; a deadline given is a working day
    after today."""
    found = []
    unit = _unit(ctx)
    if "responsible_unit_id" not in ctx.payload or not isinstance(ctx.payload.get("responsible_unit_id"), int):
        pass  # missing or mistyped: the engine has said so
    elif unit is None or not unit.is_active or unit.kind not in (UnitKind.member, UnitKind.county):
        found.append(reason("责任单位须为在用的成员单位或县（区）", "the responsible unit must be an active member "
                            "unit or a county", "responsible_unit_id"))
    elif unit.kind == UnitKind.county and unit.id != ctx.case.county_id:
        found.append(reason("只能交由问题所在的县（区）办理", "a county may only be made responsible for a problem "
                            "in that county", "responsible_unit_id"))
    if ctx.payload.get("due_date") not in (None, ""):
        found += due_date_reasons(ctx.payload["due_date"], field="due_date", zh="办理期限", en="the deadline",
                                  today=ctx.today, calendar=ctx.calendar)
    return found


@action("assign_unit")
def assign_unit(ctx: FireContext) -> None:
    """Make the unit responsible (a party of the case, owing an answer); the unit responsible before becomes a
    former party. No deadline given: it is counted again from today."""
    unit = _unit(ctx)
    assert unit is not None and unit.id is not None  # assignment_valid has passed
    conn = ctx.session.connection()
    case_id = ctx.case.id
    current = _parties.c
    before = [u for (u,) in conn.execute(sa.select(current.unit_id).where(
        current.case_id == case_id, current.purpose == RESPONSIBLE))]
    for old in before:
        if old != unit.id:
            conn.execute(_parties.delete().where(current.case_id == case_id, current.unit_id == old,
                                                 current.purpose == FORMER))
            # a former unit owes nothing: out of its inbox and of the reminders, whether it answered or not
            conn.execute(_parties.update().where(current.case_id == case_id, current.unit_id == old,
                                                 current.purpose == RESPONSIBLE)
                         .values(purpose=FORMER, responded_at=sa.func.coalesce(current.responded_at, ctx.now)))
    if unit.id in before:
        conn.execute(_parties.update().where(current.case_id == case_id, current.unit_id == unit.id,
                                             current.purpose == RESPONSIBLE).values(responded_at=None))
    else:
        conn.execute(_parties.insert().values(case_id=case_id, unit_id=unit.id, purpose=RESPONSIBLE,
                                              created_at=ctx.now, responded_at=None))
    conn.execute(_entries.update().where(_entries.c.case_id == case_id).values(responsible_unit_id=unit.id))
    ctx.data["responsible_unit"] = unit.name
    ctx.data["assigned_at"] = ctx.now.isoformat()
    if not ctx.payload.get("due_date"):
        ctx.data.pop("due_date", None)  # counted again when the state is entered
    for key in ("resolution", "plan", "plan_date", "unsolvable_reason", "outcome"):
        ctx.data.pop(key, None)
    ctx.audit_data["responsible_unit"] = unit.name


@guard("responsible_unit")
def responsible_unit(ctx: FireContext) -> list[dict[str, Any]]:
    """Only the unit responsible for the problem answers it."""
    if ctx.actor.unit_id is None or ctx.actor.unit_id != ctx.case.data.get("responsible_unit_id"):
        return [reason("本单位不是该问题的责任单位", "your unit is not responsible for this problem")]
    return []


@guard("answer_valid")
def answer_valid(ctx: FireContext) -> list[dict[str, Any]]:
    """An answer says what was done, or why the problem cannot be solved at this level."""
    key = "resolution" if ctx.spec.trigger == "report_resolved" else "unsolvable_reason"
    if key not in ctx.payload:
        return []
    return _long_text(ctx, key, "办理情况" if key == "resolution" else "无法解决的原因",
                      "what was done" if key == "resolution" else "the reason")


def _answered(ctx: FireContext, outcome: str) -> None:
    ctx.data["outcome"] = outcome
    ctx.data["answered_at"] = ctx.now.isoformat()
    ctx.audit_data["outcome"] = outcome


@action("keep_answer")
def keep_answer(ctx: FireContext) -> None:
    """The unit has answered: it owes nothing until the office sends the problem back."""
    outcome = "resolved" if ctx.spec.trigger == "report_resolved" else "unsolvable"
    for key in ("resolution", "unsolvable_reason"):
        if key in ctx.payload:
            ctx.data[key] = _text(ctx.payload[key])
    if outcome == "resolved":
        ctx.data.pop("unsolvable_reason", None)
    else:
        ctx.data.pop("resolution", None)
    _answered(ctx, outcome)
    _respond(ctx, ctx.now)


def _respond(ctx: FireContext, when: Any) -> None:
    ctx.session.connection().execute(_parties.update().where(
        _parties.c.case_id == ctx.case.id, _parties.c.purpose == RESPONSIBLE).values(responded_at=when))


@guard("plan_valid")
def plan_valid(ctx: FireContext) -> list[dict[str, Any]]:
    """A plan says how the problem is being solved and by when (a working day after today)."""
    found = _long_text(ctx, "plan", "解决计划", "the plan") if "plan" in ctx.payload else []
    if ctx.payload.get("plan_date") not in (None, ""):
        found += due_date_reasons(ctx.payload["plan_date"], field="plan_date", zh="计划解决日期",
                                  en="the planned date", today=ctx.today, calendar=ctx.calendar)
    return found


@action("keep_plan")
def keep_plan(ctx: FireContext) -> None:
    """The plan's date becomes the problem's deadline (the first one kept as the original)."""
    ctx.data["plan"] = _text(ctx.payload.get("plan"))
    ctx.data.setdefault("original_due_date", ctx.data.get("due_date"))
    ctx.data["due_date"] = ctx.payload["plan_date"]
    _answered(ctx, "in_progress")


@action("replan_answer")
def replan_answer(ctx: FireContext) -> None:
    """A new plan in the same state: its deadline rows are planned again from the new date."""
    from workflow.core.deadlines import close_deadlines, insert_deadlines, plan_deadlines

    case_id = ctx.case.id
    assert case_id is not None
    close_deadlines(ctx.session, case_id=case_id, state=ctx.case.state, now=ctx.now)
    insert_deadlines(ctx.session, case_id, plan_deadlines(
        ctx.session, case_id=case_id, state=ctx.definition.states[ctx.case.state], data=ctx.data, now=ctx.now,
        calendar=ctx.calendar))


@action("mark_closed")
def mark_closed(ctx: FireContext) -> None:
    ctx.data["closed_on"] = ctx.today.isoformat()


@guard("new_answer_deadline")
def new_answer_deadline(ctx: FireContext) -> list[dict[str, Any]]:
    """A new deadline given when sending a problem back is a working day after today."""
    if ctx.payload.get("due_date") in (None, ""):
        return []
    return due_date_reasons(ctx.payload["due_date"], field="due_date", zh="办理期限", en="the deadline",
                            today=ctx.today, calendar=ctx.calendar)


@action("reopen_answer")
def reopen_answer(ctx: FireContext) -> None:
    """Sent back: the responsible unit owes an answer again, by the new deadline or 10 working days from today."""
    if not ctx.payload.get("due_date"):
        ctx.data.pop("due_date", None)
    ctx.data["returns"] = int(ctx.data.get("returns") or 0) + 1
    _respond(ctx, None)


@guard("escalation_valid")
def escalation_valid(ctx: FireContext) -> list[dict[str, Any]]:
    """An order goes to a town: the problem must name one; its deadline is a working day after today."""
    found = []
    if ctx.case.town_id is None:
        found.append(reason("问题未指定专业镇，不能转为整改通知；可提请领导小组会议研究",
                            "the problem names no town, so no rectification order can be issued; refer it to the "
                            "leading group's meeting instead"))
    if ctx.payload.get("order_due_date") not in (None, ""):
        found += due_date_reasons(ctx.payload["order_due_date"], field="order_due_date", zh="整改期限",
                                  en="the order's deadline", today=ctx.today, calendar=ctx.calendar)
    if len(_text(ctx.payload.get("order_problem"))) > MAX_TEXT:
        found.append(reason(f"整改问题不能超过 {MAX_TEXT} 字", f"the order's text may be at most {MAX_TEXT} characters",
                            "order_problem"))
    return found


@action("issue_order")
def issue_order(ctx: FireContext) -> None:
    """Issue the rectification order naming the problem; it then runs its own path (overdue, criticism)."""

    text = _text(ctx.payload.get("order_problem")) or str(ctx.data.get("description") or "")
    ctx.data["order_problem"] = text
    order = create_case(session=ctx.session, definition_key="rectification", actor=ctx.actor, now=ctx.now,
                        town_id=ctx.case.town_id, parent_id=ctx.case.id,
                        data={"source": "problem", "problem_id": ctx.case.id, "problem": text,
                              "due_date": ctx.payload["order_due_date"]},
                        calendar=ctx.calendar)
    ctx.data["order_id"] = order.id
    ctx.data["order_number"] = order.number
    _respond(ctx, ctx.now)
    ctx.audit_data["order"] = order.number


@guard("meeting_note_valid")
def meeting_note_valid(ctx: FireContext) -> list[dict[str, Any]]:
    """The office says why the problem goes to the meeting and what it proposes."""
    return _long_text(ctx, "meeting_note", "提请会议研究的说明", "the note for the meeting") \
        if "meeting_note" in ctx.payload else []


@action("keep_meeting_note")
def keep_meeting_note(ctx: FireContext) -> None:
    ctx.data["meeting_note"] = _text(ctx.payload.get("meeting_note"))
    ctx.data["referred_on"] = ctx.today.isoformat()
    _respond(ctx, ctx.now)


@guard("decision_valid")
def decision_valid(ctx: FireContext) -> list[dict[str, Any]]:
    """The leader's decision is written down."""
    return _long_text(ctx, "decision_text", "会议决定", "the decision") if "decision_text" in ctx.payload else []


@action("keep_decision")
def keep_decision(ctx: FireContext) -> None:
    ctx.data["decision_text"] = _text(ctx.payload.get("decision_text"))
    ctx.data["decided_on"] = ctx.today.isoformat()
