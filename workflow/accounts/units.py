"""The units (单位) as the administrator keeps them: counties, member units, the office and the leading group are
rows, created, renamed, deactivated and reactivated — never deleted, since cases, towns, accounts and the audit
trail point at them. A deactivated county or member unit is no longer offered for new work; what it did stays.
Every change is an audit event (admin_change). The web pages (role admin) and the `zyz units` commands (the
operator at the console, `actor` None) call the same functions."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Session, col, select

from workflow.core import audit
from workflow.core.actors import Actor
from workflow.core.errors import Conflict, Forbidden, NotFound, Unprocessable
from workflow.core.models import Role, Unit, UnitKind
from workflow.core.queries import Page, paginate

KINDS = tuple(k.value for k in UnitKind)
KIND_LABELS = {"county": ("县（区）", "County"), "office": ("领导小组办公室", "The office"),
               "member": ("成员单位", "Member unit"), "leading_group": ("领导小组", "Leading group")}
STATUSES = ("active", "inactive")
MAX_NAME = 100  # the column's length
# The system has one office and one leading group: decisions and notices go to them, so neither is made twice
# nor switched off (rename it when its name changes).
SINGLE_KINDS = (UnitKind.office.value, UnitKind.leading_group.value)


def _admin_only(actor: Actor | None) -> None:
    if actor is not None and actor.role != Role.admin:
        raise Forbidden("只有系统管理员可以管理单位。", "Only the administrator manages units.")


def _name(session: Session, raw: str | None, *, except_id: int | None = None) -> str:
    name = " ".join((raw or "").split())
    if not name:
        raise Unprocessable("请填写单位名称。", "Give the unit's name.", code="invalid_unit",
                            details=[{"field": "name", "zh": "请填写单位名称。", "en": "Give the unit's name."}])
    if len(name) > MAX_NAME:
        zh, en = f"单位名称最多 {MAX_NAME} 个字。", f"A unit's name has at most {MAX_NAME} characters."
        raise Unprocessable(zh, en, code="invalid_unit", details=[{"field": "name", "zh": zh, "en": en}])
    taken = session.exec(select(Unit).where(Unit.name == name)).first()
    if taken is not None and taken.id != except_id:
        state = "" if taken.is_active else "（已停用，可重新启用）"
        state_en = "" if taken.is_active else " (inactive: it can be reactivated)"
        zh, en = f"已有名为“{name}”的单位{state}。", f"A unit named {name} exists already{state_en}."
        raise Unprocessable(zh, en, code="duplicate_unit", details=[{"field": "name", "zh": zh, "en": en}])
    return name


def get_unit(session: Session, *, actor: Actor | None, unit_id: int) -> Unit:
    """The unit with this id (administrator only); NotFound otherwise."""
    _admin_only(actor)
    unit = session.get(Unit, unit_id) if 0 < unit_id <= 2**31 - 1 else None
    if unit is None:
        raise NotFound("单位不存在。", "No such unit.")
    return unit


def unit_by_name(session: Session, *, actor: Actor | None, name: str) -> Unit:
    """The unit named `name`; NotFound otherwise."""
    _admin_only(actor)
    unit = session.exec(select(Unit).where(Unit.name == name.strip())).first()
    if unit is None:
        raise NotFound(f"单位不存在：{name}", f"No such unit: {name}")
    return unit


def list_units(session: Session, *, actor: Actor | None, kind: str | None = None, status: str | None = None,
               page: int = 1, per_page: int = 20) -> Page[Unit]:
    """One page of units, by kind (counties first) and then in the order they were made."""
    _admin_only(actor)
    order = sa.case({UnitKind.county.value: 0, UnitKind.office.value: 1, UnitKind.leading_group.value: 2},
                    value=col(Unit.kind), else_=3)
    query = select(Unit).order_by(order, col(Unit.id))
    if kind in KINDS:
        query = query.where(Unit.kind == kind)
    if status == "active":
        query = query.where(col(Unit.is_active).is_(True))
    elif status == "inactive":
        query = query.where(col(Unit.is_active).is_(False))
    return paginate(session, query, page, per_page)


def create_unit(session: Session, *, actor: Actor | None, name: str, kind: str, now: datetime) -> Unit:
    """A new active unit of `kind`."""
    _admin_only(actor)
    if kind not in KINDS:
        zh, en = "请选择单位类别。", "Choose the unit's kind."
        raise Unprocessable(zh, en, code="invalid_unit", details=[{"field": "kind", "zh": zh, "en": en}])
    name = _name(session, name)
    if kind in SINGLE_KINDS and session.exec(select(Unit.id).where(Unit.kind == kind)).first() is not None:
        label = KIND_LABELS[kind]
        zh = f"系统中只能有一个{label[0]}；名称变化时请改名。"
        en = f"There is one {label[1].lower()}; rename it instead."
        raise Unprocessable(zh, en, code="single_unit", details=[{"field": "kind", "zh": zh, "en": en}])
    unit = Unit(name=name, kind=kind, is_active=True, created_at=now)
    session.add(unit)
    session.flush()
    audit.record(session, kind="admin_change", now=now, actor=actor,
                 data={"action": "unit_created", "unit_id": unit.id, "name": name, "unit_kind": kind})
    return unit


def rename_unit(session: Session, *, actor: Actor | None, unit_id: int, name: str, now: datetime) -> bool:
    """Give the unit a new name (its cases, towns and accounts follow it); False when the name is the same."""
    unit = get_unit(session, actor=actor, unit_id=unit_id)
    new = _name(session, name, except_id=unit.id)
    if new == unit.name:
        return False
    old, unit.name = unit.name, new
    session.add(unit)
    session.flush()  # the search text of the county's cases follows (workflow.core.search's flush hook)
    audit.record(session, kind="admin_change", now=now, actor=actor,
                 data={"action": "unit_renamed", "unit_id": unit.id, "from": old, "to": new,
                       "unit_kind": unit.kind})
    return True


def set_unit_active(session: Session, *, actor: Actor | None, unit_id: int, active: bool, now: datetime) -> bool:
    """Deactivate a unit (no longer chosen for new work; its history stays) or reactivate it; False when it was
    so already."""
    unit = get_unit(session, actor=actor, unit_id=unit_id)
    if unit.is_active == active:
        return False
    if not active and unit.kind in SINGLE_KINDS:
        label = KIND_LABELS[unit.kind]
        raise Conflict(f"{label[0]}不能停用：系统的审定和发文都经由它。名称变化时请改名。",
                       f"The {label[1].lower()} cannot be deactivated: decisions and notices go through it. "
                       f"Rename it when its name changes.", code="unit_required")
    unit.is_active = active
    session.add(unit)
    audit.record(session, kind="admin_change", now=now, actor=actor,
                 data={"action": "unit_activated" if active else "unit_deactivated", "unit_id": unit.id,
                       "name": unit.name, "unit_kind": unit.kind})
    return True
