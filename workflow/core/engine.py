"""The one entry point for changing a case: `fire`, and `create_case` to start one.

Callback order inside `fire`: visibility, role, expected version, fields, guards (all of them),
then the `transitions` trigger (state change, then the transition's actions in file order), the
versioned UPDATE, the audit event, deadlines closed and opened, then the after-fire hooks. All of
it runs in the caller's transaction; any exception rolls every part back.

A payload field's name says its type, whatever the process: `*_date` is a date written YYYY-MM-DD,
`*_id` and `*_no` a positive whole number that fits an INTEGER column. The fields check refuses any
other value (a guard then says nothing more about that field), and a negative zero anywhere in a
payload is kept as zero.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm.attributes import flag_modified, set_committed_value
from sqlmodel import Session

from workflow.core import audit
from workflow.core.access import MAX_ID, case_read
from workflow.core.actors import Actor
from workflow.core.calendar import WorkCalendar, calendar_for, local_date
from workflow.core.catalog import CATALOG, Catalog
from workflow.core.db import Prepared, is_sqlite, table_of
from workflow.core.deadlines import close_deadlines, insert_deadlines, plan_deadlines
from workflow.core.definitions import Definition, TransitionSpec
from workflow.core.errors import Conflict, Forbidden, InvalidInput, Unprocessable
from workflow.core.labels import field_label
from workflow.core.models import Case, Counter, Role, Town, Unit, UnitKind
from workflow.core.reasons import parse_date
from workflow.core.registry import ACTIONS, GUARDS
from workflow.core.search import index_case
from workflow.core.visibility import CHANGED_FACT, RECORDED, personal_as_fact

MAX_COMMENT = 2000

_case_table = table_of(Case)
# The versioned write of every fire, built once (building a statement costs more than executing it);
# the columns to set come from the parameters' keys.
_UPDATE_CASE = Prepared(sa.update(_case_table).where(_case_table.c.id == sa.bindparam("b_id"),
                                                     _case_table.c.version == sa.bindparam("b_version")))


@dataclass
class FireContext:
    """What guards and actions see: the case, the working copy of its data, who acts and when."""

    session: Session
    case: Case
    definition: Definition
    spec: TransitionSpec
    actor: Actor
    now: datetime
    payload: dict[str, Any]
    comment: str | None
    data: dict[str, Any]
    calendar: WorkCalendar
    audit_data: dict[str, Any] = field(default_factory=dict)
    planned: list[dict[str, Any]] | None = None  # the deadline rows opened on entering a new state
    # What caused this transition when it is part of another event (the sweep's `deadline:<id>` of an expiry):
    # the notifications of both are then one event, one message per person and channel.
    cause: str | None = None

    @property
    def today(self):
        return local_date(self.now)


class _Bound:
    """The `transitions` model for one call: its state property reads and writes the row's column.

    `fire` hands it straight to the machine's event (`machine.events[trigger].trigger(model, ...)`,
    the call `add_model` would put on the model as `model.<trigger>`), so nothing is bound to or
    removed from the shared machine: `add_model` attaches some fifty convenience methods per call
    (one per trigger, `may_` variant and `is_<state>`) that the engine never uses, and cost more
    than the rest of the state change. The callbacks run in the same order either way.
    """

    def __init__(self, case: Case):
        self._case = case

    @property
    def state(self) -> str:
        return self._case.state

    @state.setter
    def state(self, value: str) -> None:
        set_committed_value(self._case, "state", value)


Hook = Callable[[FireContext, str], None]
AFTER_FIRE: list[Hook] = []  # (ctx, from_state): notifications plug in here, inside the transaction
# (ctx): a new case, inserted with its create actions done (the parties they bring in included) and its deadlines
# planned (ctx.planned): the notifications of its first state plug in here, inside the transaction
AFTER_CREATE: list[Callable[[FireContext], None]] = []
# hook(session, year=..., now=...): a deadline was counted with weekends only, its year's holidays unknown
ESTIMATED_YEAR: list[Callable[..., Any]] = []


def fire(
    *,
    session: Session,
    case_id: int,
    trigger: str,
    actor: Actor,
    now: datetime,
    payload: dict[str, Any] | None = None,
    comment: str | None = None,
    expected_version: int | None = None,
    catalog: Catalog = CATALOG,
    calendar: WorkCalendar | None = None,
    cause: str | None = None,
    case: Case | None = None,
) -> Case:
    """Fire `trigger` on a case for `actor`; raise a WorkflowError and change nothing when refused.

    `cause`: the event this transition belongs to (a deadline's expiry), named in its notifications.
    `case`: the case as get_case read it for `actor` in this transaction (the page that fires a step reads it
    first), so as not to read it twice; otherwise it is read here once the head is locked. Either way the
    versioned UPDATE refuses the transition if the row has changed since it was read."""
    audit.lock_head(session)  # the first lock of every writer: see workflow.core.audit.lock_head
    case = case_read(session, actor, case_id, case)
    definition = catalog.get(case.definition_key, case.definition_version, session)
    spec = check_transition(definition, case, trigger, actor, expected_version)
    payload = _without_negative_zero(dict(payload or {}))
    comment = (comment or "").strip() or None
    ctx = FireContext(session=session, case=case, definition=definition, spec=spec, actor=actor, now=now,
                      payload=payload, comment=comment, data={**copy.deepcopy(case.data), **payload},
                      calendar=calendar or calendar_for(session), cause=cause)
    reasons, refused_fields = _field_reasons(spec, payload, comment)
    _add_guard_reasons(reasons, spec.guards, ctx, refused_fields)
    if reasons:
        raise Unprocessable("不能执行该操作：" + "；".join(r["zh"] for r in reasons),
                            "Cannot do this: " + "; ".join(r["en"] for r in reasons), details=reasons)

    from_state, old_version, old_data = case.state, case.version, case.data
    catalog.machine(definition).events[trigger].trigger(_Bound(case), ctx=ctx)
    to_state = case.state
    final = definition.states[to_state].final
    moved = spec.moves and to_state != from_state
    planned = plan_deadlines(session, case_id=case.id, state=definition.states[to_state], data=ctx.data,
                             now=now, calendar=ctx.calendar) if moved else []
    values: dict[str, Any] = {"state": to_state, "version": old_version + 1, "data": ctx.data, "updated_at": now}
    if final and spec.moves:
        values["closed_at"] = now
    if _UPDATE_CASE.execute(session.connection(), {**values, "b_id": case.id, "b_version": old_version}) != 1:
        raise Conflict("该案件已被他人修改，请刷新后重试。", "The case was changed meanwhile; reload and try again.",
                       code="concurrent_change")
    for key, value in values.items():
        set_committed_value(case, key, value)

    changes = {k: [old_data.get(k), v] for k, v in ctx.data.items() if old_data.get(k) != v}
    changes.update({k: [v, None] for k, v in old_data.items() if k not in ctx.data})
    changes = personal_as_fact(changes, CHANGED_FACT)
    audit.record(session, kind="transition", now=now, actor=actor, case_id=case.id, county_id=case.county_id,
                 trigger=trigger, from_state=from_state, to_state=to_state, comment=comment,
                 data={"changes": changes, **ctx.audit_data} if (changes or ctx.audit_data) else None)
    if moved:
        if definition.states[from_state].deadlines:  # a state that declares none has no rows to close
            close_deadlines(session, case_id=case.id, state=from_state, now=now)  # type: ignore[arg-type]  # SQLModel types an id as optional; this row is saved
        insert_deadlines(session, case.id, planned)  # type: ignore[arg-type]  # SQLModel types an id as optional; this row is saved
        _warn_estimates(session, planned, now)
        ctx.planned = planned
    for hook in AFTER_FIRE:
        hook(ctx, from_state)
    index_case(session, case.id)  # type: ignore[arg-type]  # SQLModel types an id as optional; this row is saved
    return case


def check_transition(definition: Definition, case: Case, trigger: str, actor: Actor,
                     expected_version: int | None) -> TransitionSpec:
    """The transition to fire, after the trigger, role and version checks (no guards)."""
    if not definition.has_trigger(trigger):
        raise InvalidInput(f"未知的操作：{trigger}", f"Unknown trigger: {trigger}", code="unknown_trigger")
    spec = definition.transition(trigger, case.state)
    if spec is None:
        state = definition.state_label(case.state)
        raise Conflict(f"案件当前状态为“{state}”，不能执行“{definition.trigger_label(trigger)}”。",
                       f"'{definition.trigger_label(trigger, 'en')}' is not possible in state "
                       f"'{definition.state_label(case.state, 'en')}'.", code="invalid_trigger")
    if actor.role not in spec.roles:
        raise Forbidden("您的角色无权执行该操作。", "Your role may not do this.", code="role_not_allowed")
    if expected_version is not None and expected_version != case.version:
        raise Conflict("案件已被他人修改（版本已变化），请刷新后重试。",
                       "The case has changed since you loaded it (stale version); reload and try again.",
                       code="stale_version", details={"current_version": case.version})
    return spec


def allowed_transitions(definition: Definition, case: Case, actor: Actor) -> list[TransitionSpec]:
    """The transitions `actor` may try now (state and role; guards are checked when fired)."""
    return [t for t in definition.available(case.state) if actor.role in t.roles and not t.system]


def _field_reasons(spec: TransitionSpec, payload: dict[str, Any],
                   comment: str | None) -> tuple[list[dict[str, Any]], set[str]]:
    """Fields not accepted, missing or of the wrong type, and a comment missing or too long; and the fields whose
    value is missing or has the wrong type (the guards' reasons about those would say the same again)."""
    reasons: list[dict[str, Any]] = []
    allowed = set(spec.requires) | set(spec.accepts)
    for key in payload:
        if key not in allowed:
            reasons.append({"field": key, "zh": f"不接受字段 {field_label(key)}",
                            "en": f"field {field_label(key, 'en')} is not accepted here"})
    missing = {key for key in spec.requires if payload.get(key) in (None, "", [], {})}
    for key in spec.requires:
        if key in missing:
            reasons.append({"field": key, "zh": f"必须填写{field_label(key)}",
                            "en": f"{field_label(key, 'en')} is required"})
    if spec.comment == "required" and not comment:
        reasons.append({"field": "comment", "zh": "必须填写意见或理由", "en": "a comment is required"})
    if comment and len(comment) > MAX_COMMENT:
        reasons.append({"field": "comment", "zh": f"意见不能超过 {MAX_COMMENT} 字",
                        "en": f"comment longer than {MAX_COMMENT} characters"})
    mistyped = [found for key, value in payload.items() if key in allowed and value not in (None, "")
                for found in _type_reasons(key, value)]
    return reasons + mistyped, {r["field"] for r in mistyped} | missing


def _type_reasons(key: str, value: Any) -> list[dict[str, Any]]:
    """What is wrong with a value for the type its field's name declares (see the module's docstring)."""
    if key.endswith("_date") and parse_date(value) is None:
        return [{"field": key, "zh": f"{field_label(key)}应为 YYYY-MM-DD 格式的有效日期",
                 "en": f"{field_label(key, 'en')} must be a real date written YYYY-MM-DD"}]
    if key.endswith(("_id", "_no")) and (isinstance(value, bool) or not isinstance(value, int)
                                          or not 0 < value <= MAX_ID):
        return [{"field": key, "zh": f"{field_label(key)}应为正整数",
                 "en": f"{field_label(key, 'en')} must be a positive whole number"}]
    return []


def _add_guard_reasons(reasons: list[dict[str, Any]], guards: tuple[str, ...], ctx: FireContext,
                       refused_fields: set[str]) -> None:
    """Every guard's reasons, but none about a field already refused as missing or mistyped: a problem is said once."""
    for name in guards:
        reasons.extend(r for r in GUARDS[name](ctx) if r.get("field") not in refused_fields)


def _without_negative_zero(value: Any) -> Any:
    """`value` with every -0.0 in it made 0.0 (JSON allows -0.0; nobody means it)."""
    if isinstance(value, float) and value == 0:
        return 0.0
    if isinstance(value, dict):
        return {k: _without_negative_zero(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_without_negative_zero(v) for v in value]
    return value


def next_number(session: Session, key: str, year: int) -> int:
    """The next number of counter `key` in `year`, taken inside the transaction and never reused.

    One upsert: two transactions taking the first number of a year at once cannot both insert.
    """
    table = table_of(Counter)
    dialect = sqlite if is_sqlite(session) else postgresql
    statement = (dialect.insert(table).values(key=key, year=year, value=1)
                 .on_conflict_do_update(index_elements=["key", "year"], set_={"value": table.c.value + 1})
                 .returning(table.c.value))
    return int(session.connection().execute(statement).scalar_one())


HOLDERS = (UnitKind.county.value, UnitKind.office.value)  # a case is a county's, or the city's (held by the office)


def _may_hold(session: Session, unit_id: Any) -> bool:
    """`unit_id` names a unit that may hold a case: a county (区县), or the office for the city's own cases (the
    year's action plan, the ranking, a recommendation round); never a member unit, the leading group or no row."""
    if isinstance(unit_id, bool) or not isinstance(unit_id, int) or not 0 < unit_id <= MAX_ID:
        return False
    unit = session.get(Unit, unit_id)
    return unit is not None and unit.kind in HOLDERS


def create_case(
    *,
    session: Session,
    definition_key: str,
    actor: Actor,
    now: datetime,
    town_id: int | None = None,
    county_id: int | None = None,
    title: str | None = None,
    data: dict[str, Any] | None = None,
    parent_id: int | None = None,
    catalog: Catalog = CATALOG,
    calendar: WorkCalendar | None = None,
) -> Case:
    """Start a case on the current version of a definition, in its initial state."""
    definition = catalog.current(definition_key)
    audit.lock_head(session)
    if actor.role not in definition.create_roles:
        raise Forbidden("您的角色无权新建此类案件。", "Your role may not start this kind of case.",
                        code="role_not_allowed")
    town = session.get(Town, town_id) if town_id is not None and 0 < town_id <= MAX_ID else None
    if town_id is not None and (town is None or (actor.role == Role.county and town.county_id != actor.unit_id)):
        raise Unprocessable("所选专业镇不存在。", "No such town.",
                            details=[{"field": "town_id", "zh": "所选专业镇不存在", "en": "no such town"}])
    given = county_id
    if actor.role == Role.county:
        county_id = actor.unit_id
    elif town is not None:
        county_id = town.county_id
    if given is not None and town is not None and actor.role != Role.county and given != county_id:
        # the office names a town and a county that is not the town's (a county user's own county is always used)
        raise Unprocessable("所选专业镇不属于所选县（区）。", "The town is not in the county chosen.",
                            details=[{"field": "town_id", "zh": "所选专业镇不属于所选县（区）",
                                      "en": "the town is not in the county chosen"}])
    if county_id is None:
        raise Unprocessable("必须指定所属县（区）。", "A county is required.",
                            details=[{"field": "county_id", "zh": "必须指定县（区）", "en": "county is required"}])
    if town is None and actor.role != Role.county and not _may_hold(session, county_id):
        raise Unprocessable("所选县（区）不存在。", "No such county.",
                            details=[{"field": "county_id", "zh": "所选县（区）不存在", "en": "no such county"}])
    data = _without_negative_zero(dict(data or {}))
    case = Case(number="", definition_key=definition.key, definition_version=definition.version,
                state=definition.initial, version=1, county_id=county_id, town_id=town_id, parent_id=parent_id,
                title=title or f"{definition.label.zh}{' · ' + town.name if town else ''}",
                data=data, created_by_id=actor.user_id, created_at=now, updated_at=now)
    ctx = FireContext(session=session, case=case, definition=definition, spec=definition.create, actor=actor,
                      now=now, payload=data, comment=None, data=data, calendar=calendar or calendar_for(session))
    reasons, refused_fields = _field_reasons(definition.create, data, None)
    _add_guard_reasons(reasons, definition.create.guards, ctx, refused_fields)
    if reasons:
        raise Unprocessable("不能新建：" + "；".join(r["zh"] for r in reasons),
                            "Cannot create: " + "; ".join(r["en"] for r in reasons), details=reasons)
    catalog.ensure_stored(session, definition, now)
    planned = plan_deadlines(session, case_id=None, state=definition.states[definition.initial], data=ctx.data,
                             now=now, calendar=ctx.calendar)
    year = local_date(now).year
    case.number = f"{definition.number_prefix}-{year}-{next_number(session, 'case:' + definition.key, year):04d}"
    case.data = ctx.data
    session.add(case)
    session.flush()
    for name in definition.create.actions:  # after the flush: an action may need the case's id
        ACTIONS[name](ctx)
    if definition.create.actions:  # the actions changed the very dict the row was inserted with: mark it
        case.data = dict(ctx.data)
        flag_modified(case, "data")
    audit.record(session, kind="case_created", now=now, actor=actor, case_id=case.id, county_id=county_id,
                 to_state=case.state, data={"definition": f"{definition.key}@{definition.version}",
                                            "number": case.number,
                                            "data": personal_as_fact(case.data, RECORDED), **ctx.audit_data})
    insert_deadlines(session, case.id, planned)  # type: ignore[arg-type]  # SQLModel types an id as optional; this row is saved
    _warn_estimates(session, planned, now)
    if definition.create.actions:
        session.flush()  # the data the actions changed, read back by the index
    ctx.planned = planned
    for hook in AFTER_CREATE:
        hook(ctx)
    index_case(session, case.id)  # type: ignore[arg-type]  # SQLModel types an id as optional; this row is saved
    return case


def _warn_estimates(session: Session, planned: list[dict[str, Any]], now: datetime) -> None:
    """A deadline counted with weekends only: the ESTIMATED_YEAR hooks hear of its year (the office is told)."""
    for year in sorted({int(row["due_date"][:4]) for row in planned if row["is_estimated"]}):
        for hook in ESTIMATED_YEAR:
            hook(session, year=year, now=now)

