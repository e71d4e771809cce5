"""The town registry: towns, their registry record case, designation numbers."""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING

from sqlmodel import Session, select

from workflow.core import audit
from workflow.core.actors import Actor
from workflow.core.calendar import local_date
from workflow.core.errors import Forbidden, Unprocessable
from workflow.core.models import Role, Town, Unit, UnitKind
from workflow.core.queries import registry_case
from workflow.core.reference import INDUSTRY_CATEGORIES
from workflow.core.review import cycle_after

if TYPE_CHECKING:
    from workflow.core.engine import FireContext



def create_town(*, session: Session, actor: Actor, name: str, county_id: int, now: datetime,
                industry_category: str | None = None, leading_industry: str | None = None) -> Town:
    """Register a candidate town (a county only in its own county) and open its registry record."""
    from workflow.core.engine import create_case

    name = (name or "").strip()
    if actor.role not in (Role.county, Role.office, Role.system):
        raise Forbidden("您的角色无权登记专业镇。", "Your role may not register towns.")
    if actor.role == Role.county:
        county_id = actor.unit_id  # type: ignore[assignment]  # an office actor's unit id is an int; the parameter is declared optional
    reasons = []
    if not name or len(name) > 100:
        reasons.append({"field": "name", "zh": "请填写镇名（不超过100字）", "en": "name is required (at most 100)"})
    county = session.get(Unit, county_id)
    if county is None or county.kind != UnitKind.county:
        reasons.append({"field": "county_id", "zh": "所属县（区）不存在", "en": "no such county"})
    elif session.exec(select(Town).where(Town.county_id == county_id, Town.name == name)).first():
        reasons.append({"field": "name", "zh": "该县（区）已有同名专业镇", "en": "the county already has this town"})
    if industry_category is not None and industry_category not in INDUSTRY_CATEGORIES:
        reasons.append({"field": "industry_category", "zh": "产业类别不正确", "en": "unknown industry category"})
    if reasons:
        raise Unprocessable("专业镇信息有误：" + "；".join(r["zh"] for r in reasons),
                            "Town details are wrong: " + "; ".join(r["en"] for r in reasons), details=reasons)
    town = Town(name=name, county_id=county_id, industry_category=industry_category,
                leading_industry=leading_industry, created_at=now)
    session.add(town)
    session.flush()
    audit.record(session, kind="town_created", now=now, actor=actor, county_id=county_id,
                 data={"town_id": town.id, "name": name})
    create_case(session=session, definition_key="town", actor=Actor.system(), now=now, town_id=town.id,
                county_id=county_id, title=f"{name}档案")
    return town


def review_date(designated: date) -> date:
    """When a town designated on `designated` is reviewed: the same day, a designation cycle later."""
    return cycle_after(designated)


def designate(ctx: FireContext) -> None:
    """Number the designation inside the transaction and move the town to municipal level."""
    from workflow.core.engine import fire, next_number

    today = local_date(ctx.now)
    from workflow.core.documents import catalog

    spec = catalog().get("designation_notice")
    number = spec.number(today.year, next_number(ctx.session, spec.counter or "designation", today.year))
    review = review_date(today)
    ctx.data.update({"designation_number": number, "designated_date": today.isoformat(),
                     "review_date": review.isoformat()})
    ctx.audit_data["designation_number"] = number
    record = registry_case(ctx.session, ctx.case.town_id)  # type: ignore[arg-type]  # designation cases always have a town
    if record is None:
        raise Unprocessable("该专业镇没有档案记录。", "The town has no registry record.")
    fire(session=ctx.session, case_id=record.id, trigger="designate", actor=Actor.system(),  # type: ignore[arg-type]  # SQLModel types an id as optional; this row is saved
         now=ctx.now, calendar=ctx.calendar,
         payload={"designation_number": number, "designated_date": today.isoformat(),
                  "review_date": review.isoformat(), "designation_case_id": ctx.case.id,
                  "industry_category": ctx.data.get("industry_category"), "output_yi": ctx.data.get("output_yi")})
    from workflow.towns.documents import attach_designation_notice

    attach_designation_notice(ctx.session, ctx.case, ctx.now, data=ctx.data)
