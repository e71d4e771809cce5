"""Guards and actions of the designation process (definitions/designation.yaml)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from workflow.core.access import MAX_ID
from workflow.core.catalog import CATALOG
from workflow.core.db import table_of
from workflow.core.engine import FireContext
from workflow.core.models import Case, CaseParty, Unit, UnitKind
from workflow.core.queries import REGISTRY, registry_case
from workflow.core.reasons import due_date_reasons, parse_date, reason
from workflow.core.registry import action, guard
from workflow.core.visibility import summary
from workflow.designation import application, eligibility


@guard("application_fields_valid")
def application_fields_valid(ctx: FireContext) -> list[dict[str, Any]]:
    """Every application field has its type and stays within its limits (workflow/designation/application.py)."""
    return application.check_types(ctx.data)


@guard("application_complete")
def application_complete(ctx: FireContext) -> list[dict[str, Any]]:
    """Every required field is filled in and no hard criterion of definitions/eligibility.yaml fails."""
    found = application.check_complete(ctx.data, has_town=ctx.case.town_id is not None)
    for failed in eligibility.evaluate(ctx.data, hard_only=True).hard_failures:
        if not failed.incomplete:  # an empty required field is already listed above
            found.append(reason(failed.reason.zh, failed.reason.en, failed.field))
    return found


@guard("materials_complete")
def materials_complete(ctx: FireContext) -> list[dict[str, Any]]:
    """A file of every required kind of definitions/materials.yaml is attached; the missing kinds are named."""
    from workflow.designation import materials

    lacking = materials.missing(ctx.session, ctx.case.id, ctx.data)
    if not lacking:
        return []
    return [reason("缺少证明材料：" + "、".join(m.label.zh for m in lacking),
                   "supporting documents missing: " + "; ".join(m.label.en for m in lacking), "materials")]


REGISTRY_OPEN = "candidate"  # the registry level from which a town may be designated (definitions/town.yaml)


@guard("town_open_for_application")
def town_open_for_application(ctx: FireContext) -> list[dict[str, Any]]:
    """The town is still a candidate (not designated at any level, not revoked: revocation is final in the
    registry, DOMAIN.md §2) and no other application for it is open. Its registry record and the other open
    applications come in one query."""
    if ctx.case.town_id is None:
        return []  # application_complete says that a town must be chosen
    finals = [name for name, state in ctx.definition.states.items() if state.final]
    table = table_of(Case)
    found = ctx.session.connection().execute(
        sa.select(table.c.definition_key, table.c.definition_version, table.c.state, table.c.number, table.c.data)
        .where(table.c.town_id == ctx.case.town_id,
               sa.or_(table.c.definition_key == REGISTRY,
                      sa.and_(table.c.definition_key == ctx.definition.key, table.c.state.not_in(finals),
                              table.c.id != (ctx.case.id or 0))))
        .order_by(table.c.id)).all()
    record = next((row for row in found if row.definition_key == REGISTRY), None)
    other = next((row for row in found if row.definition_key == ctx.definition.key), None)
    return _registry_reasons(ctx, record) or _other_open_application(ctx, other)


@guard("town_still_candidate")
def town_still_candidate(ctx: FireContext) -> list[dict[str, Any]]:
    """The town is not designated at any level nor revoked (the check before its designation notice issues)."""
    if ctx.case.town_id is None:
        return []
    return _registry_reasons(ctx, registry_case(ctx.session, ctx.case.town_id))


def _registry_reasons(ctx: FireContext, record: Any) -> list[dict[str, Any]]:
    """Why the town may not be designated, by its registry record (none: nothing to say)."""
    if record is not None and record.state != REGISTRY_OPEN:
        registry = CATALOG.get(record.definition_key, record.definition_version, ctx.session)
        level = registry.state_label(record.state)
        number = (record.data or {}).get("designation_number")
        if record.state == "revoked":
            return [reason(f"该镇已被撤销认定（{number or level}），撤销认定后不能再次申报",
                           f"the town's designation was revoked ({number or 'revoked'}); it cannot apply again",
                           "town_id")]
        return [reason(f"该镇已认定（{level}{'，' + number if number else ''}），不能重复申报认定",
                       f"the town is already designated ({registry.state_label(record.state, 'en')}"
                       f"{', ' + number if number else ''}); it cannot apply again", "town_id")]
    return []


def _other_open_application(ctx: FireContext, other: Any) -> list[dict[str, Any]]:
    """The refusal when another application for the town is open (`other`: the first of them, or None)."""
    if other is not None:
        return [reason(f"该镇已有一份未办结的认定申请（{other.number}，{ctx.definition.state_label(other.state)}），"
                       "不能重复申报",
                       f"the town already has an open application ({other.number}, "
                       f"{ctx.definition.state_label(other.state, 'en')})", "town_id")]
    return []


@guard("member_units_valid")
def member_units_valid(ctx: FireContext) -> list[dict[str, Any]]:
    """At least one active member unit is chosen, and every id is one."""
    ids = ctx.payload.get("member_units")
    if not isinstance(ids, list) or not ids or not all(isinstance(i, int) and not isinstance(i, bool) for i in ids):
        return [reason("请至少选择一个成员单位", "choose at least one member unit", "member_units")]
    in_range = [i for i in ids if 0 < i <= MAX_ID]  # PostgreSQL refuses a larger number for an INTEGER column
    known = set(ctx.session.connection().execute(
        sa.select(Unit.id).where(Unit.id.in_(in_range),  # type: ignore[call-overload,union-attr]  # SQLModel types a column as its Python value, not a SQL expression
                                 Unit.kind == UnitKind.member.value,
                                 Unit.is_active.is_(True))).scalars())  # type: ignore[attr-defined]  # SQLModel types a column as its Python value, not a SQL expression
    unknown = [i for i in ids if i not in known]
    if unknown:
        return [reason(f"成员单位不存在：{unknown}", f"no such member unit: {unknown}", "member_units")]
    return []


@guard("opinion_due_date_valid")
def opinion_due_date_valid(ctx: FireContext) -> list[dict[str, Any]]:
    """An opinion deadline, when given, is a working day after today, within the limit."""
    raw = ctx.payload.get("opinion_due_date")
    if raw in (None, ""):
        ctx.data.pop("opinion_due_date", None)
        return []
    return due_date_reasons(raw, field="opinion_due_date", zh="会审意见期限", en="the opinion deadline",
                            today=ctx.today, calendar=ctx.calendar)


@action("invite_member_units")
def invite_member_units(ctx: FireContext) -> None:
    """Bring the chosen member units into the case: they now see it and are asked for opinions."""
    ids = sorted(set(ctx.data.pop("member_units")))
    table = table_of(CaseParty)
    ctx.session.connection().execute(table.insert(), [
        {"case_id": ctx.case.id, "unit_id": unit_id, "purpose": "consultation", "created_at": ctx.now}
        for unit_id in ids])
    ctx.data["consulted_units"] = ids
    ctx.data["opinions"] = {}
    ctx.audit_data["member_units"] = ids


@guard("opinion_valid")
def opinion_valid(ctx: FireContext) -> list[dict[str, Any]]:
    """Agree or disagree, reasons when disagreeing, once per invited unit."""
    found = []
    answer = ctx.payload.get("opinion")
    if answer not in ("agree", "disagree"):
        found.append(reason("意见只能是“同意”或“不同意”", "opinion must be agree or disagree", "opinion"))
    if answer == "disagree" and not ctx.comment:
        found.append(reason("不同意时必须说明理由", "give reasons when disagreeing", "comment"))
    if ctx.actor.unit_id not in ctx.data.get("consulted_units", []):
        found.append(reason("本单位未被邀请会审", "your unit was not asked for an opinion"))
    elif str(ctx.actor.unit_id) in ctx.data.get("opinions", {}):
        found.append(reason("本单位已提交过意见", "your unit has already given its opinion"))
    return found


@action("record_opinion")
def record_opinion(ctx: FireContext) -> None:
    """Keep the unit's answer, reasons, person and time in the case."""
    answer = ctx.data.pop("opinion")
    opinions = dict(ctx.data.get("opinions", {}))
    opinions[str(ctx.actor.unit_id)] = {"unit": ctx.actor.unit_name, "answer": answer, "reason": ctx.comment,
                                        "by": ctx.actor.name, "at": ctx.now.isoformat(timespec="seconds")}
    ctx.data["opinions"] = opinions
    ctx.audit_data["opinion"] = answer
    table = table_of(CaseParty)
    ctx.session.connection().execute(table.update().where(
        table.c.case_id == ctx.case.id, table.c.unit_id == ctx.actor.unit_id, table.c.purpose == "consultation",
    ).values(responded_at=ctx.now))


def _opinion_deadline_passed(ctx: FireContext) -> bool:
    due = parse_date(ctx.data.get("opinion_due_date"))
    return due is not None and ctx.today > due


@guard("opinions_complete")
def opinions_complete(ctx: FireContext) -> list[dict[str, Any]]:
    """Every invited unit has answered, or the opinion deadline has passed."""
    missing = [u for u in ctx.data.get("consulted_units", []) if str(u) not in ctx.data.get("opinions", {})]
    if missing and not _opinion_deadline_passed(ctx):
        return [reason(f"尚有 {len(missing)} 个成员单位未提交意见，且会审期限未到",
                       f"{len(missing)} member units have not answered and the deadline has not passed")]
    return []


@guard("all_opinions_in")
def all_opinions_in(ctx: FireContext) -> list[dict[str, Any]]:
    """Every invited unit has answered (true once, on the opinion that completes the set)."""
    consulted = ctx.data.get("consulted_units", [])
    missing = [u for u in consulted if str(u) not in ctx.data.get("opinions", {})]
    if not consulted or missing:
        return [reason(f"尚有 {len(missing)} 个成员单位未提交意见", f"{len(missing)} member units have not answered")]
    return []


@action("close_opinions")
def close_opinions(ctx: FireContext) -> None:
    """Units that did not answer by the deadline are recorded as deemed to have no objection."""
    opinions = dict(ctx.data.get("opinions", {}))
    consulted = ctx.data.get("consulted_units", [])
    names: dict[int, str] = dict(ctx.session.connection().execute(
        sa.select(Unit.id, Unit.name).where(Unit.id.in_(consulted))).all())  # type: ignore[call-overload,union-attr]  # SQLModel types a column as its Python value, not a SQL expression
    for unit_id in consulted:
        if str(unit_id) not in opinions:
            opinions[str(unit_id)] = {"unit": names.get(unit_id), "answer": "no_objection_deemed",
                                      "reason": "逾期视为无意见", "by": None, "at": None}
    ctx.data["opinions"] = opinions
    from workflow.designation.documents import attach_opinion_sheet

    attach_opinion_sheet(ctx.session, ctx.case, ctx.now, data=ctx.data)


@action("announce_publicity")
def announce_publicity(ctx: FireContext) -> None:
    """The public notice starts: write its announcement, with the period the deadline will count."""
    from workflow.core.deadlines import due_date_for
    from workflow.designation.documents import attach_announcement

    spec = next(d for d in ctx.definition.states["publicity"].deadlines if d.name == "publicity")
    end, _ = due_date_for(spec, ctx.data, ctx.today, ctx.calendar)
    attach_announcement(ctx.session, ctx.case, ctx.now, data=ctx.data, end=end,
                        working_days=spec.working_days or 0)


@guard("experts_valid")
def experts_valid(ctx: FireContext) -> list[dict[str, Any]]:
    """A panel of named experts: each scored on every criterion of definitions/experts.yaml (the total is their sum),
    or, as recorded before the criteria, with one score from 0 to 100 (workflow/designation/experts.py)."""
    from workflow.designation import experts

    return experts.problems(ctx.payload.get("experts"))


@guard("experts_recorded")
def experts_recorded(ctx: FireContext) -> list[dict[str, Any]]:
    """The expert panel and its recommendation are on the case."""
    if not ctx.data.get("experts") or not ctx.data.get("expert_recommendation"):
        return [reason("尚未录入专家评审结果", "the expert review has not been recorded")]
    return []


@summary("expert_average")
def expert_average(data: dict[str, Any]) -> float | None:
    """The panel's average score, to one decimal, or None before the review is recorded."""
    from workflow.designation.experts import score_of

    scores = [s for s in (score_of(e) for e in data.get("experts") or []) if s is not None]
    return round(sum(scores) / len(scores), 1) if scores else None
