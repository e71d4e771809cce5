"""Planning inspections: one town, a campaign over every designated town, and the yearly campaign."""

from __future__ import annotations

from datetime import date, datetime

from sqlmodel import Session, select

from workflow.core.access import MAX_ID
from workflow.core.actors import Actor
from workflow.core.calendar import local_date
from workflow.core.engine import create_case, next_number
from workflow.core.errors import Forbidden, Unprocessable
from workflow.core.models import Case, Role, Town

# Registry levels at which a town is designated and therefore inspected.
DESIGNATED_LEVELS = ("municipal", "recommended_provincial", "provincial", "revocation_proposed",
                     "revocation_decision")


def plan_inspection(*, session: Session, actor: Actor, town_id: int, now: datetime, campaign: str | None = None,
                    planned_date: str | None = None, note: str | None = None) -> Case:
    """Plan an inspection of one town."""
    data = {k: v for k, v in (("campaign", campaign), ("planned_date", planned_date), ("note", note)) if v}
    town = session.get(Town, town_id) if 0 < town_id <= MAX_ID else None  # create_case refuses a town not found
    return create_case(session=session, definition_key="inspection", actor=actor, now=now, town_id=town_id,
                       title=f"专项检查 · {town.name}" if town else None, data=data)


def designated_towns(session: Session) -> list[Town]:
    """Towns whose registry record is at a designated level."""
    query = (select(Town).join(Case, (Case.town_id == Town.id) & (Case.definition_key == "town"))  # type: ignore[arg-type]  # SQLModel types a column as its Python value, not a SQL expression
             .where(Case.state.in_(DESIGNATED_LEVELS))  # type: ignore[attr-defined]  # SQLModel types a column as its Python value, not a SQL expression
             .order_by(Town.county_id, Town.name))  # type: ignore[arg-type]  # SQLModel types a column as its Python value, not a SQL expression
    return list(session.exec(query).all())


def plan_campaign(*, session: Session, actor: Actor, now: datetime, name: str,
                  planned_date: str | None = None) -> list[Case]:
    """Plan an inspection of every designated town at once."""
    if actor.role not in (Role.office, Role.system):
        raise Forbidden("只有领导小组办公室可以组织专项检查。", "Only the office plans inspections.")
    name = (name or "").strip()
    if not name or len(name) > 100:
        raise Unprocessable("请填写检查名称（不超过100字）。", "Name the campaign (at most 100 characters).",
                            details=[{"field": "name", "zh": "请填写检查名称", "en": "name the campaign"}])
    towns = designated_towns(session)
    if not towns:
        raise Unprocessable("目前没有已认定的专业镇。", "There is no designated town yet.")
    return [plan_inspection(session=session, actor=actor, town_id=t.id, now=now, campaign=name,  # type: ignore[arg-type]  # SQLModel types an id as optional; this row is saved
                            planned_date=planned_date) for t in towns]


def open_yearly_campaign(*, session: Session, now: datetime, month_day: str = "03-01") -> list[Case]:
    """Open this year's campaign once its date has come; a second call in the same year does nothing."""
    today = local_date(now)
    month, day = (int(x) for x in month_day.split("-"))
    if today < date(today.year, month, day) or not designated_towns(session):
        return []
    if next_number(session, "annual-inspection", today.year) != 1:
        return []  # already opened this year (by this process or another)
    return plan_campaign(session=session, actor=Actor.system(), now=now, name=f"{today.year}年度专业镇专项检查")
