"""The town registry as users see it: each town with its level, tier, designation and cases."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from typing import Any

import yaml
from sqlmodel import Session, select

from workflow.core.access import case_filter, get_town, town_filter
from workflow.core.actors import Actor
from workflow.core.definitions import DEFINITIONS_DIR, Label
from workflow.core.models import Case, Town, Unit
from workflow.core.queries import Page
from workflow.core.reference import INDUSTRY_CATEGORIES
from workflow.core.search import Segment, highlight, terms_of


@dataclass(frozen=True)
class Tier:
    key: str
    min_yi: Decimal
    label: Label


@lru_cache(maxsize=1)
def tiers() -> tuple[Tier, ...]:
    """The grading table of definitions/registry.yaml, highest first."""
    raw = yaml.safe_load((DEFINITIONS_DIR / "registry.yaml").read_text(encoding="utf-8"))
    found = tuple(Tier(t["key"], Decimal(str(t["min_yi"])), Label(t["label"]["zh"], t["label"]["en"]))
                  for t in raw["tiers"])
    if list(found) != sorted(found, key=lambda t: t.min_yi, reverse=True):
        raise ValueError("registry.yaml: tiers: must be listed highest first")
    return found


def tier_of(output_yi: Any) -> Tier | None:
    """The tier of an output in 亿元, or None below the lowest."""
    try:
        value = Decimal(str(output_yi))
    except (InvalidOperation, ValueError):
        return None
    return next((t for t in tiers() if value >= t.min_yi), None)


@dataclass
class TownEntry:
    town: Town
    county: str
    record: Case | None  # the registry record (definition `town`); its state is the level
    terms: tuple[str, ...] = ()  # what the registry was searched for, to mark in the page

    def marked(self, text: Any) -> list[Segment]:
        """`text` with the searched terms marked (segments, as workflow.core.search.highlight)."""
        return highlight(str(text or ""), self.terms)

    def search_text(self) -> str:
        """What a town is found by in the registry: its name, county, industry and designation number."""
        category = INDUSTRY_CATEGORIES.get(self.town.industry_category or "")
        return "\n".join(str(part) for part in (self.town.name, self.county, self.town.leading_industry,
                                                 *(category or ()), self.info.get("designation_number")) if part)

    @property
    def level(self) -> str | None:
        return self.record.state if self.record else None

    @property
    def info(self) -> dict[str, Any]:
        return self.record.data if self.record else {}

    @property
    def tier(self) -> Tier | None:
        return tier_of(self.info.get("output_yi")) if self.info.get("output_yi") is not None else None


def town_entries(session: Session, actor: Actor, *, county_id: int | None = None, level: str | None = None,
                 industry_category: str | None = None, tier: str | None = None, q: str | None = None,
                 page: int = 1, per_page: int = 20) -> Page[TownEntry]:
    """The towns the actor may see, filtered by county, level, industry category and tier, and found by `q`
    (every word in the town's name, county, industry or designation number; InvalidInput for more than 100
    characters). The registry holds a few hundred towns: they are filtered here, not by an index."""
    terms = tuple(terms_of(q)) if q is not None and q.strip() else ()
    query = (select(Town, Unit.name, Case).join(Unit, Unit.id == Town.county_id)  # type: ignore[arg-type]  # SQLModel types a column as its Python value, not a SQL expression
             .outerjoin(Case, (Case.town_id == Town.id) & (Case.definition_key == "town"))  # type: ignore[arg-type]  # SQLModel types a column as its Python value, not a SQL expression
             .where(town_filter(actor)).order_by(Town.county_id, Town.name))  # type: ignore[arg-type]  # SQLModel types a column as its Python value, not a SQL expression
    if county_id:
        query = query.where(Town.county_id == county_id)
    if level:
        query = query.where(Case.state == level)
    if industry_category:
        query = query.where(Town.industry_category == industry_category)
    entries = [TownEntry(town, county, record, terms) for town, county, record in session.exec(query).all()]
    if terms:
        entries = [e for e in entries if all(t.casefold() in e.search_text().casefold() for t in terms)]
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
