"""The town evaluation's guards and actions (definitions/evaluation_town.yaml): the county's self-assessment, the
office's single return, the member units' values (each unit once, only its own indicators), closing the scoring
(a value still missing is flagged, never scored 0), the office's entries and adjustments (each with its reason,
kept in the breakdown), and the final scores."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

import sqlalchemy as sa
from sqlmodel import col

from workflow.core.db import table_of
from workflow.core.engine import FireContext
from workflow.core.models import Attachment, CaseParty, Unit, UnitKind
from workflow.core.reasons import reason
from workflow.core.registry import action, guard
from workflow.evaluation import values as v
from workflow.evaluation.scoring import Adjustment, adjust

PURPOSE = "evaluation"  # the member units brought into a town's evaluation to give their values


def _assessment(ctx: FireContext) -> tuple[dict[str, Any], dict[str, str], dict[str, Any], list[dict[str, Any]]]:
    spec = v.spec_of(ctx.case)
    values, problems = v.read_values(v.provided_by(spec, "county"), ctx.data.get("assessment"), "assessment")
    texts, more = v.read_texts(spec, ctx.data.get("group_texts"))
    targets, still = v.read_values(v.target_indicators(spec), ctx.data.get("targets"), "targets")
    return values, texts, targets, problems + more + still


def _case_attachment_ids(ctx: FireContext, ids: set[int]) -> set[int]:
    """Those of `ids` that are attachments of the case."""
    if not ids:
        return set()
    table = table_of(Attachment)
    return set(ctx.session.connection().execute(
        sa.select(table.c.id).where(table.c.case_id == ctx.case.id, table.c.id.in_(ids))).scalars())


@guard("assessment_valid")
def assessment_valid(ctx: FireContext) -> list[dict[str, Any]]:
    """Every value the county gives fits its indicator (yes/no, a number from 0, a percentage to 100), every group
    text is short enough, every target is a number; a group's evidence is attachments of this case."""
    evidence, problems = v.read_evidence(v.spec_of(ctx.case), ctx.data.get("group_evidence"))
    named = {i for ids in evidence.values() for i in ids}
    if named - _case_attachment_ids(ctx, named):
        problems.append(reason("证明材料只能是本案件的附件", "evidence must be attachments of this case",
                               "group_evidence"))
    return _assessment(ctx)[3] + problems


@guard("assessment_complete")
def assessment_complete(ctx: FireContext) -> list[dict[str, Any]]:
    """Before submitting: a value for every indicator the county provides, and the target of every share."""
    values, _, targets, problems = _assessment(ctx)
    if problems:
        return []
    spec = v.spec_of(ctx.case)
    found = [reason(f"请填写{i.label.zh}", f"{i.label.en} is missing", i.key)
             for i in v.provided_by(spec, "county") if i.key not in values]
    found += [reason(f"请填写{i.label.zh}的目标", f"the target of {i.label.en} is missing", f"target-{i.key}")
              for i in v.target_indicators(spec) if i.key not in targets]
    return found


@action("keep_assessment")
def keep_assessment(ctx: FireContext) -> None:
    """Store the values, texts, targets and each group's evidence as read."""
    ctx.data["assessment"], ctx.data["group_texts"], ctx.data["targets"], _ = _assessment(ctx)
    ctx.data["group_evidence"] = v.read_evidence(v.spec_of(ctx.case), ctx.data.get("group_evidence"))[0]


@guard("not_returned_before")
def not_returned_before(ctx: FireContext) -> list[dict[str, Any]]:
    """The office returns a self-assessment once."""
    if int(ctx.data.get("returns") or 0) >= 1:
        return [reason("自评已退回过一次，不能再次退回", "the self-assessment has already been returned once")]
    return []


@action("count_return")
def count_return(ctx: FireContext) -> None:
    ctx.data["returns"] = int(ctx.data.get("returns") or 0) + 1


@action("invite_scoring_units")
def invite_scoring_units(ctx: FireContext) -> None:
    """Bring the member units named as providers into the case (they see it and are asked for their values); a
    provider with no active unit of that name is noted, its values then missing for the office."""
    names = v.member_providers(v.spec_of(ctx.case))
    units: dict[str, int | None] = {name: unit_id for name, unit_id in ctx.session.connection().execute(
        sa.select(col(Unit.name), col(Unit.id)).where(col(Unit.kind) == UnitKind.member.value,
                                                      col(Unit.name).in_(names), col(Unit.is_active).is_(True)))}
    asked = {str(units[n]): n for n in names if n in units}
    if asked:
        ctx.session.connection().execute(table_of(CaseParty).insert(), [
            {"case_id": ctx.case.id, "unit_id": int(unit_id), "purpose": PURPOSE, "created_at": ctx.now}
            for unit_id in asked])
    ctx.data["scoring_units"] = asked
    ctx.data["unit_answers"] = {}
    ctx.data["units_not_found"] = [n for n in names if n not in units]
    ctx.audit_data["scoring_units"] = sorted(int(u) for u in asked)


def _unit_name(ctx: FireContext) -> str | None:
    return (ctx.data.get("scoring_units") or {}).get(str(ctx.actor.unit_id))


@guard("unit_values_valid")
def unit_values_valid(ctx: FireContext) -> list[dict[str, Any]]:
    """A unit asked for values gives them once, only for its own indicators, each fitting its indicator."""
    name = _unit_name(ctx)
    if name is None:
        return [reason("本单位不是本次评价的数值提供单位", "your unit does not provide values for this evaluation")]
    if str(ctx.actor.unit_id) in (ctx.data.get("unit_answers") or {}):
        return [reason("本单位已提交过评价数值", "your unit has already given its values")]
    return v.read_values(v.provided_by(v.spec_of(ctx.case), name), ctx.data.get("unit_values"), "unit_values")[1]


@action("record_unit_values")
def record_unit_values(ctx: FireContext) -> None:
    """Keep the unit's values (an indicator left empty stays missing), who gave them and when; the unit has
    answered (it is reminded no more)."""
    name = _unit_name(ctx)
    assert name is not None
    values, _ = v.read_values(v.provided_by(v.spec_of(ctx.case), name), ctx.data.pop("unit_values"), "unit_values")
    answers = dict(ctx.data.get("unit_answers") or {})
    answers[str(ctx.actor.unit_id)] = {"unit": name, "values": values, "by": ctx.actor.name,
                                       "at": ctx.now.isoformat(timespec="seconds")}
    ctx.data["unit_answers"] = answers
    ctx.audit_data["values"] = values
    table = table_of(CaseParty)
    ctx.session.connection().execute(table.update().where(
        table.c.case_id == ctx.case.id, table.c.unit_id == ctx.actor.unit_id, table.c.purpose == PURPOSE,
    ).values(responded_at=ctx.now))


@guard("scoring_done_or_due")
def scoring_done_or_due(ctx: FireContext) -> list[dict[str, Any]]:
    """The office closes the scoring early only once every unit asked has answered (the deadline closes it else)."""
    waiting = [n for u, n in (ctx.data.get("scoring_units") or {}).items()
               if u not in (ctx.data.get("unit_answers") or {})]
    if waiting:
        return [reason(f"尚有成员单位未提交评价数值：{'、'.join(waiting)}",
                       f"member units have not answered yet: {', '.join(waiting)}")]
    return []


@action("close_scoring")
def close_scoring(ctx: FireContext) -> None:
    """The values still missing are flagged for the office (never scored 0): the units that did not answer and the
    indicators without a value; the statistics are read again when the year was not accepted at the opening."""
    spec = v.spec_of(ctx.case)
    if not ctx.data.get("statistics_year") and ctx.case.town_id is not None:
        found, last, year = v.statistics_values(ctx.session, spec, ctx.case.town_id,
                                                int(ctx.data["evaluation_year"]))
        if year:
            ctx.data.update(statistics_values=found, last_values=last, statistics_year=year)
    answers = ctx.data.get("unit_answers") or {}
    ctx.data["units_not_answered"] = [n for u, n in (ctx.data.get("scoring_units") or {}).items()
                                      if u not in answers]
    ctx.data["missing"] = [s.key for s in v.missing(spec, ctx.data)]
    ctx.audit_data.update(units_not_answered=ctx.data["units_not_answered"], missing=ctx.data["missing"])


def _indicator(ctx: FireContext) -> tuple[Any, list[dict[str, Any]]]:
    key = ctx.data.get("indicator")
    found = v.spec_of(ctx.case).indicator(str(key)) if isinstance(key, str) else None
    if found is None:
        return None, [reason(f"没有评价指标 {key}", f"no indicator {key}", "indicator")]
    return found, []


@guard("entered_value_valid")
def entered_value_valid(ctx: FireContext) -> list[dict[str, Any]]:
    """The office enters a value of a known indicator that fits it, with its reason."""
    indicator, problems = _indicator(ctx)
    if indicator is None:
        return problems
    value, problem = v.read_value(indicator, ctx.data.get("value"))
    if problem:
        return [problem]
    if value is None:
        return [reason(f"请填写{indicator.label.zh}的数值", f"enter the value of {indicator.label.en}", "value")]
    return []


@action("keep_entered_value")
def keep_entered_value(ctx: FireContext) -> None:
    indicator, _ = _indicator(ctx)
    value, _ = v.read_value(indicator, ctx.data.pop("value"))
    ctx.data.pop("indicator")
    entered = dict(ctx.data.get("entered") or {})
    entered[indicator.key] = {"value": value, "reason": ctx.comment, "by": ctx.actor.name,
                              "at": ctx.now.isoformat(timespec="seconds")}
    ctx.data["entered"] = entered
    ctx.audit_data.update(indicator=indicator.key, value=value)


def _points(ctx: FireContext) -> tuple[Decimal | None, list[dict[str, Any]]]:
    indicator, problems = _indicator(ctx)
    if indicator is None:
        return None, problems
    raw = ctx.data.get("points")
    try:
        points = Decimal(str(raw).strip()) if not isinstance(raw, bool) and raw not in (None, "") else None
    except InvalidOperation:
        points = None
    if points is None or not points.is_finite() or not 0 <= points <= indicator.points \
            or points != points.quantize(Decimal("0.01")):
        return None, [reason(f"{indicator.label.zh}的得分应在 0～{indicator.points:f} 分之间（最多两位小数）",
                             f"the score of {indicator.label.en} must be from 0 to {indicator.points:f}", "points")]
    return points, []


@guard("adjustment_valid")
def adjustment_valid(ctx: FireContext) -> list[dict[str, Any]]:
    """A score set by hand is of a known indicator, within its points, with its reason (the comment)."""
    problems = _points(ctx)[1]
    if not (ctx.comment or "").strip():
        problems.append(reason("调整得分必须说明理由", "an adjusted score needs its reason", "comment"))
    return problems


@action("keep_adjustment")
def keep_adjustment(ctx: FireContext) -> None:
    """The office's score, its reason, and the score the rule gave (audited)."""
    indicator, _ = _indicator(ctx)
    points, _ = _points(ctx)
    assert points is not None and ctx.comment
    ctx.data.pop("indicator")
    ctx.data.pop("points")
    adjustments = dict(ctx.data.get("adjustments") or {})
    adjustments.pop(indicator.key, None)  # the rule's score, not an earlier adjustment's
    unadjusted = v.score_data(v.spec_of(ctx.case), {**ctx.data, "adjustments": adjustments})
    computed = next(s for s in unadjusted.scores if s.key == indicator.key)
    adjusted = adjust(computed, Adjustment(points, ctx.comment))
    adjustments[indicator.key] = {"points": str(adjusted.points), "reason": ctx.comment.strip(),
                                  "by": ctx.actor.name, "at": ctx.now.isoformat(timespec="seconds")}
    ctx.data["adjustments"] = adjustments
    ctx.audit_data.update(indicator=indicator.key, points=str(adjusted.points),
                          computed=None if computed.points is None else str(computed.points))


@guard("scores_complete")
def scores_complete(ctx: FireContext) -> list[dict[str, Any]]:
    """Every indicator is scored: a missing value entered by the office or its score set with a reason."""
    return [reason(s.explanation.zh, s.explanation.en, s.key) for s in v.missing(v.spec_of(ctx.case), ctx.data)]


@action("fix_scores")
def fix_scores(ctx: FireContext) -> None:
    """The final scores as computed now: the total, each group's points and each indicator's points and
    explanation (the ranking recomputes the same from the values, adjustments and rules of the version)."""
    score = v.score_data(v.spec_of(ctx.case), ctx.data)
    ctx.data["result"] = {
        "total": str(score.total), "groups": {k: str(p) for k, p in score.groups.items()},
        "scores": {s.key: {"points": str(s.points), "zh": s.explanation.zh, "en": s.explanation.en}
                   for s in score.scores}}
    ctx.audit_data["total"] = str(score.total)
