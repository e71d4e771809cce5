"""What the pages read of the statistics: a year's reports with their towns and states, a town's accepted years,
and the form's rows (each field with last year's value and whether its change needs a reason)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from workflow.core.access import case_filter, get_case, get_town
from workflow.core.actors import Actor
from workflow.core.models import Case, Town, TownStatistics, Unit
from workflow.core.queries import Page, paginate
from workflow.statistics import fields as spec_of
from workflow.statistics.history import last_accepted


@dataclass(frozen=True)
class YearRow:
    case: Case
    town: str
    county: str


def _of_year(actor: Actor, year: int) -> Any:
    return sa.and_(case_filter(actor), col(Case.definition_key) == "statistics_report",
                   col(Case.data)["report_year"].as_integer() == year)


def year_reports(session: Session, actor: Actor, year: int, *, county_id: int | None = None,
                 state: str | None = None, page: int = 1, per_page: int = 50) -> Page[YearRow]:
    """One page of the reports of `year` the actor may see, by county and town, filtered by county and state."""
    query = (select(Case, Town.name, Unit.name).join(Town, col(Town.id) == col(Case.town_id))
             .join(Unit, col(Unit.id) == col(Case.county_id)).where(_of_year(actor, year))
             .order_by(col(Case.county_id), col(Town.name), col(Case.id)))
    if county_id:
        query = query.where(Case.county_id == county_id)
    if state:
        query = query.where(Case.state == state)
    found = paginate(session, query, page, per_page)
    return Page([YearRow(case, town, county) for case, town, county in found.items], found.total, found.page,
                found.per_page)


def year_counts(session: Session, actor: Actor, year: int) -> dict[str, int]:
    """How many of the year's reports the actor may see are in each state."""
    return {state: int(n) for state, n in session.exec(
        select(Case.state, sa.func.count()).where(_of_year(actor, year)).group_by(Case.state)).all()}


def report_years(session: Session, actor: Actor) -> list[int]:
    """The years that have reports the actor may see, the latest first."""
    years = session.exec(select(col(Case.data)["report_year"].as_integer()).distinct()
                         .where(case_filter(actor), Case.definition_key == "statistics_report")).all()
    return sorted((int(y) for y in years if y is not None), reverse=True)


def town_statistics(session: Session, actor: Actor, town_id: int) -> list[TownStatistics]:
    """A town's accepted years, the latest first (NotFound when the town is not visible)."""
    get_town(session, actor, town_id)
    return list(session.exec(select(TownStatistics).where(TownStatistics.town_id == town_id)
                             .order_by(col(TownStatistics.year).desc())))


@dataclass(frozen=True)
class FormRow:
    field: spec_of.Field
    last: Any  # last accepted year's value, or None
    moved: spec_of.Anomaly | None  # the change to explain, if any


def form_rows(session: Session, actor: Actor, case_id: int, figures: dict[str, Any]) -> tuple[
        list[tuple[spec_of.Group, list[FormRow]]], int | None]:
    """The report's fields by group, each with last year's value and the change to explain; the year compared."""
    case = get_case(session, actor, case_id)
    spec = spec_of.statistics_spec()
    last = last_accepted(session, case.town_id or 0, before=int(case.data.get("report_year") or 0))
    moved = {a.field.key: a for a in spec_of.anomalies(spec, figures, last.figures if last else None)}
    groups = [(g, [FormRow(f, (last.figures.get(f.key) if last else None), moved.get(f.key)) for f in g.fields])
              for g in spec.groups]
    return groups, last.year if last else None
