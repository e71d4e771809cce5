"""Saved choices of member units (常用组合) that the office applies when it accepts an application (受理).

The office saves the member units it has ticked under a name (e.g. 工业类常用会审单位); applying the preset later ticks
exactly those units. Saving under a name that exists replaces that preset's units. Every unit of a preset must be an
active member unit when it is saved; one made inactive afterwards stays in the preset and is left out where the
preset is applied (`PresetView.active_ids`). Only the office lists, saves and deletes presets; every change is in
the audit trail. Changes are serialised on the audit chain's head, which every writer takes first: two saves of one
name at once give one preset, the second replacing the first.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from workflow.core import audit
from workflow.core.access import MAX_ID
from workflow.core.actors import Actor
from workflow.core.db import saved_id
from workflow.core.errors import Forbidden, InvalidInput, NotFound
from workflow.core.models import Role, Unit, UnitKind, UnitPreset, User

NAME_MAX = 40
MANAGING_ROLES = frozenset({Role.office.value})


@dataclass(frozen=True)
class PresetUnit:
    id: int
    name: str
    active: bool  # an active member unit: applying the preset ticks it


@dataclass(frozen=True)
class PresetView:
    """A preset as the pages and the API show it: its units by name, in order of id."""

    id: int
    name: str
    unit_ids: list[int]  # as saved
    units: list[PresetUnit]
    created_by: str | None
    created_at: datetime
    updated_at: datetime

    @property
    def active_ids(self) -> list[int]:
        """The units applying the preset ticks: those still active member units."""
        return [u.id for u in self.units if u.active]


@dataclass(frozen=True)
class Saved:
    preset: PresetView
    replaced: bool  # a preset of that name existed; its units were replaced


def _may_manage(actor: Actor) -> None:
    if actor.role not in MANAGING_ROLES:
        raise Forbidden("只有领导小组办公室可以管理成员单位常用组合。",
                        "Only the office manages the saved sets of member units.", code="role_not_allowed")


def _not_found() -> NotFound:
    return NotFound("该常用组合不存在。", "No such saved set of member units.", code="not_found")


def _invalid(field: str, zh: str, en: str, code: str) -> InvalidInput:
    return InvalidInput(zh, en, code=code, details=[{"field": field, "zh": zh, "en": en}])


def clean_name(raw: Any) -> str:
    """The name as saved: stripped, inner runs of white space as one space, no control characters."""
    text = raw if isinstance(raw, str) else ""
    text = " ".join(text.split())
    return "".join(ch for ch in text if unicodedata.category(ch) not in ("Cc", "Cf", "Cs"))


def _views(session: Session, rows: list[UnitPreset]) -> list[PresetView]:
    unit_ids = {i for r in rows for i in r.unit_ids if isinstance(i, int)}
    units = {u.id: u for u in session.exec(select(Unit).where(col(Unit.id).in_(unit_ids))).all()} if unit_ids else {}
    user_ids = {r.created_by_id for r in rows if r.created_by_id is not None}
    names: dict[int, str] = dict(session.exec(  # type: ignore[arg-type]  # SQLModel's select() of two columns is typed as a row of Any
        select(User.id, User.display_name).where(col(User.id).in_(user_ids))).all()) if user_ids else {}
    found = []
    for row in rows:
        shown = [PresetUnit(id=i, name=units[i].name,
                            active=units[i].is_active and units[i].kind == UnitKind.member.value)
                 for i in row.unit_ids if i in units]
        found.append(PresetView(id=saved_id(row), name=row.name, unit_ids=list(row.unit_ids), units=shown,
                                created_by=names.get(row.created_by_id) if row.created_by_id else None,
                                created_at=row.created_at, updated_at=row.updated_at))
    return found


def list_presets(session: Session, actor: Actor) -> list[PresetView]:
    """Every preset, by name."""
    _may_manage(actor)
    rows = list(session.exec(select(UnitPreset).order_by(col(UnitPreset.name))).all())
    return _views(session, rows)


def get_preset(session: Session, actor: Actor, preset_id: int) -> PresetView:
    _may_manage(actor)
    row = session.get(UnitPreset, preset_id) if 0 < preset_id <= MAX_ID else None
    if row is None:
        raise _not_found()
    return _views(session, [row])[0]


def _checked_units(session: Session, unit_ids: Any) -> list[Unit]:
    """The active member units `unit_ids` names, in order of id; refused unless every id is one."""
    if not isinstance(unit_ids, list | tuple) or not unit_ids:
        raise _invalid("unit_ids", "请至少选择一个成员单位。", "Choose at least one member unit.", "no_units")
    if not all(isinstance(i, int) and not isinstance(i, bool) for i in unit_ids):
        raise _invalid("unit_ids", "成员单位须以编号给出。", "Member units are given by their ids.", "invalid_units")
    wanted = sorted(set(unit_ids))
    in_range = [i for i in wanted if 0 < i <= MAX_ID]  # PostgreSQL refuses a larger number for an INTEGER column
    units = list(session.exec(select(Unit).where(col(Unit.id).in_(in_range), Unit.kind == UnitKind.member.value,
                                                 col(Unit.is_active).is_(True)).order_by(col(Unit.id))).all())
    unknown = sorted(set(wanted) - {u.id for u in units})
    if unknown:
        shown = "、".join(map(str, unknown))
        raise _invalid("unit_ids", f"以下编号不是在用的成员单位：{shown}。",
                       f"Not an active member unit: {', '.join(map(str, unknown))}.", "unknown_units")
    return units


def save_preset(session: Session, actor: Actor, *, name: Any, unit_ids: Any, now: datetime) -> Saved:
    """Save the units under `name`; a preset of that name gets these units instead of its own."""
    _may_manage(actor)
    clean = clean_name(name)
    if not clean:
        raise _invalid("name", "请填写常用组合的名称。", "Give the saved set a name.", "no_name")
    if len(clean) > NAME_MAX:
        raise _invalid("name", f"常用组合的名称不能超过 {NAME_MAX} 个字。",
                       f"The name is longer than {NAME_MAX} characters.", "name_too_long")
    units = _checked_units(session, unit_ids)
    ids = [saved_id(u) for u in units]
    audit.lock_head(session)  # one change of the presets at a time (see the module's docstring)
    row = session.exec(select(UnitPreset).where(UnitPreset.name == clean)).first()
    previous = list(row.unit_ids) if row is not None else None
    if row is None:
        row = UnitPreset(name=clean, unit_ids=ids, created_by_id=actor.user_id, created_at=now, updated_at=now)
    else:
        row.unit_ids = ids
        row.updated_at = now
    session.add(row)
    session.flush()
    data: dict[str, Any] = {"preset_id": row.id, "name": clean, "unit_ids": ids, "units": [u.name for u in units],
                            "replaced": previous is not None}
    if previous is not None:
        data["previous_unit_ids"] = previous
    audit.record(session, kind="unit_preset_saved", now=now, actor=actor, data=data)
    return Saved(preset=_views(session, [row])[0], replaced=previous is not None)


def delete_preset(session: Session, actor: Actor, preset_id: int, now: datetime) -> PresetView:
    """Delete the preset; returns it as it was."""
    _may_manage(actor)
    if not 0 < preset_id <= MAX_ID:
        raise _not_found()
    audit.lock_head(session)
    row = session.get(UnitPreset, preset_id)
    if row is None:
        raise _not_found()
    gone = _views(session, [row])[0]
    session.delete(row)
    session.flush()
    audit.record(session, kind="unit_preset_deleted", now=now, actor=actor,
                 data={"preset_id": gone.id, "name": gone.name, "unit_ids": gone.unit_ids,
                       "units": [u.name for u in gone.units]})
    return gone
