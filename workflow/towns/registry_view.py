"""The town registry as users see it: each town with its level, tier, designation and cases."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlmodel import Session, select

from workflow.core.access import case_filter, get_town, town_filter
from workflow.core.actors import Actor
from workflow.core.evaluations import EvaluationYear, evaluation_history
from workflow.core.exports import AMOUNT, Column, Filter, ListSpec, as_date, as_number, county_filter
from workflow.core.models import Case, Town, Unit
from workflow.core.queries import Page
from workflow.core.reference import INDUSTRY_CATEGORIES
from workflow.core.review import ReviewStatus, review_statuses
from workflow.core.search import Segment, highlight, terms_of
from workflow.core.tiers import Tier, tier_of, tiers
from workflow.core.yamlcheck import Label


@dataclass
class TownEntry:
    town: Town
    county: str
    record: Case | None  # the registry record (definition `town`); its state is the level
    terms: tuple[str, ...] = ()  # what the registry was searched for, to mark in the page
    review: ReviewStatus | None = None  # its re-designation review (workflow.core.review), when asked for

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
    def output_yi(self) -> Any:
        """The output of the latest accepted year's statistics, else the one declared when it applied."""
        return self.town.output_yi if self.town.output_yi is not None else self.info.get("output_yi")

    @property
    def tier(self) -> Tier | None:
        return tier_of(self.output_yi)

    @property
    def review_date(self) -> str | None:
        """The review date in force: the newest renewal's, else the designation's."""
        if self.review is not None and self.review.review_date is not None:
            return self.review.review_date.isoformat()
        return self.info.get("review_date")

    @property
    def review_overdue(self) -> bool:
        """Designated, and its review date has passed without a renewal (复核逾期)."""
        return self.review is not None and self.review.overdue


def with_reviews(session: Session, entries: list[TownEntry], today: date | None) -> list[TownEntry]:
    """The entries with their review status as of `today` (none without a day)."""
    if today is None:
        return entries
    statuses = review_statuses(session, today, [e.town.id for e in entries if e.town.id is not None])
    for entry in entries:
        entry.review = statuses.get(entry.town.id)  # type: ignore[arg-type]  # a saved town has its id
    return entries


def town_list(session: Session, actor: Actor, *, county_id: int | None = None, level: str | None = None,
              industry_category: str | None = None, tier: str | None = None,
              q: str | None = None, today: date | None = None) -> list[TownEntry]:
    """Every town the actor may see, filtered by county, level, industry category and tier, and found by `q`
    (every word in the town's name, county, industry or designation number; InvalidInput for more than 100
    characters), by county and name. The registry holds a few hundred towns: they are filtered here, not by an
    index."""
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
    return with_reviews(session, entries, today)


def town_entries(session: Session, actor: Actor, *, county_id: int | None = None, level: str | None = None,
                 industry_category: str | None = None, tier: str | None = None, q: str | None = None,
                 page: int = 1, per_page: int = 20, today: date | None = None) -> Page[TownEntry]:
    """One page of `town_list`, with the review status of its towns as of `today`."""
    entries = town_list(session, actor, county_id=county_id, level=level, industry_category=industry_category,
                        tier=tier, q=q)
    page = max(1, page)
    shown = with_reviews(session, entries[(page - 1) * per_page: page * per_page], today)
    return Page(shown, len(entries), page, per_page)


def town_entry(session: Session, actor: Actor, town_id: int,
               today: date | None = None) -> tuple[TownEntry, list[Case]]:
    """One town (404 outside the actor's scope), with its review status as of `today`, and every case about it
    that the actor may see."""
    town = get_town(session, actor, town_id)
    record = session.exec(select(Case).where(Case.town_id == town_id, Case.definition_key == "town")).first()
    county = session.get(Unit, town.county_id)
    cases = session.exec(select(Case).where(Case.town_id == town_id, case_filter(actor))
                         .order_by(Case.id.desc())).all()  # type: ignore[union-attr]  # SQLModel types a column as its Python value, not a SQL expression
    entry = TownEntry(town, county.name if county else "", record)
    return with_reviews(session, [entry], today)[0], list(cases)


def town_evaluations(session: Session, actor: Actor, town_id: int) -> list[EvaluationYear]:
    """The town's final annual evaluations, latest year first (total, points possible, published rank), for one
    who may see the town (NotFound otherwise)."""
    get_town(session, actor, town_id)
    return evaluation_history(session, town_id)


def _level(entry: TownEntry) -> Label:
    from workflow.core.catalog import CATALOG

    state = CATALOG.current("town").states.get(entry.level or "")
    return state.label if state else Label("", "")


def _category(entry: TownEntry) -> Label:
    found = INDUSTRY_CATEGORIES.get(entry.town.industry_category or "")
    return Label(*found) if found else Label("", "")


REGISTRY: ListSpec[TownEntry] = ListSpec("town_registry", Label("专业镇档案", "Town registry"), "town-registry", (
    Column("专业镇", "Town", lambda e: e.town.name, 18),
    Column("县（区）", "County", lambda e: e.county, 12),
    Column("级别", "Level", _level, 14),
    Column("梯次", "Tier", lambda e: e.tier.label if e.tier else "", 14),
    Column("产业类别", "Industry category", _category, 16),
    Column("主导产业", "Leading industry", lambda e: e.town.leading_industry or "", 24),
    Column("主导产业产值（亿元）", "Output (100 million yuan)", lambda e: as_number(e.output_yi), 14,
           AMOUNT),
    Column("认定文号", "Designation number", lambda e: e.info.get("designation_number") or "", 22),
    Column("认定日期", "Designated on", lambda e: as_date(e.info.get("designated_date")), 12),
    Column("复核日期", "Review date", lambda e: as_date(e.review_date), 12),
    Column("复核逾期", "Review overdue", lambda e: "复核逾期" if e.review_overdue else "", 10),
))


def registry_filters(session: Session, *, county_id: int | None = None, level: str | None = None,
                     industry_category: str | None = None, tier: str | None = None) -> list[Filter]:
    """The registry's filters as the exported sheet names them."""
    from workflow.core.catalog import CATALOG

    found = []
    if county_id:
        found.append(county_filter(session, county_id))
    if level:
        state = CATALOG.current("town").states.get(level)
        found.append(Filter("level", level, Label("级别", "Level"), state.label if state else level))
    if industry_category:
        names = INDUSTRY_CATEGORIES.get(industry_category)
        found.append(Filter("industry_category", industry_category, Label("产业类别", "Industry category"),
                            Label(*names) if names else industry_category))
    if tier:
        chosen = next((t for t in tiers() if t.key == tier), None)
        found.append(Filter("tier", tier, Label("梯次", "Tier"), chosen.label if chosen else tier))
    return found
