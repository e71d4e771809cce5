"""The town registry as users see it: each town with its level, tier, designation and cases."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlmodel import Session, select

from workflow.core.access import case_filter, get_town, town_filter
from workflow.core.actors import Actor
from workflow.core.models import Case, Town, Unit
from workflow.core.queries import Page
from workflow.core.tiers import Tier, tier_of, tiers  # noqa: F401  (the registry's grading, read from here by its pages)


@dataclass
class TownEntry:
    town: Town
    county: str
    record: Case | None  # the registry record (definition `town`); its state is the level

    @property
    def level(self) -> str | None:
        return self.record.state if self.record else None

    @property
    def info(self) -> dict[str, Any]:
        return self.record.data if self.record else {}

    @property
    def output_yi(self) -> Any:
        """The output of the latest accepted year's statistics, else the one declared when it applied."""
        return self.town.output_yi if self.town.output_yi is not None else self.info.get("output_yi")

    @property
    def tier(self) -> Tier | None:
        return tier_of(self.output_yi)


def town_entries(session: Session, actor: Actor, *, county_id: int | None = None, level: str | None = None,
                 industry_category: str | None = None, tier: str | None = None, page: int = 1,
                 per_page: int = 20) -> Page[TownEntry]:
    """The towns the actor may see, filtered by county, level, industry category and tier."""
    query = (select(Town, Unit.name, Case).join(Unit, Unit.id == Town.county_id)  # type: ignore[arg-type]  # SQLModel types a column as its Python value, not a SQL expression
             .outerjoin(Case, (Case.town_id == Town.id) & (Case.definition_key == "town"))  # type: ignore[arg-type]  # SQLModel types a column as its Python value, not a SQL expression
             .where(town_filter(actor)).order_by(Town.county_id, Town.name))  # type: ignore[arg-type]  # SQLModel types a column as its Python value, not a SQL expression
    if county_id:
        query = query.where(Town.county_id == county_id)
    if level:
        query = query.where(Case.state == level)
    if industry_category:
        query = query.where(Town.industry_category == industry_category)
    entries = [TownEntry(town, county, record) for town, county, record in session.exec(query).all()]
    if tier:
        entries = [e for e in entries if e.tier is not None and e.tier.key == tier]
    page = max(1, page)
    return Page(entries[(page - 1) * per_page: page * per_page], len(entries), page, per_page)


def town_entry(session: Session, actor: Actor, town_id: int) -> tuple[TownEntry, list[Case]]:
    """One town (404 outside the actor's scope) and every case about it that the actor may see."""
    town = get_town(session, actor, town_id)
    record = session.exec(select(Case).where(Case.town_id == town_id, Case.definition_key == "town")).first()
    county = session.get(Unit, town.county_id)
    cases = session.exec(select(Case).where(Case.town_id == town_id, case_filter(actor))
                         .order_by(Case.id.desc())).all()  # type: ignore[union-attr]  # SQLModel types a column as its Python value, not a SQL expression
    return TownEntry(town, county.name if county else "", record), list(cases)
