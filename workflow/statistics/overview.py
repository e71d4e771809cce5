"""What the pages read of the statistics: a year's reports with their towns and states, a town's accepted years,
and the form's rows (each field with last year's value and whether its change needs a reason)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from workflow.core.access import case_filter, get_case, get_town
from workflow.core.actors import Actor
from workflow.core.exports import AMOUNT, INTEGER, Column, Filter, ListSpec, county_filter
from workflow.core.models import Case, Town, TownStatistics, Unit
from workflow.core.queries import Page, count_of, paginate
from workflow.core.yamlcheck import Label
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


def _year_query(actor: Actor, year: int, county_id: int | None, state: str | None) -> Any:
    query = (select(Case, Town.name, Unit.name).join(Town, col(Town.id) == col(Case.town_id))
             .join(Unit, col(Unit.id) == col(Case.county_id)).where(_of_year(actor, year))
             .order_by(col(Case.county_id), col(Town.name), col(Case.id)))
    if county_id:
        query = query.where(Case.county_id == county_id)
    if state:
        query = query.where(Case.state == state)
    return query


def year_reports(session: Session, actor: Actor, year: int, *, county_id: int | None = None,
                 state: str | None = None, page: int = 1, per_page: int = 50) -> Page[YearRow]:
    """One page of the reports of `year` the actor may see, by county and town, filtered by county and state."""
    found = paginate(session, _year_query(actor, year, county_id, state), page, per_page)
    return Page([YearRow(case, town, county) for case, town, county in found.items], found.total, found.page,
                found.per_page)


def year_rows(session: Session, actor: Actor, year: int, *, county_id: int | None = None,
              state: str | None = None, limit: int) -> Iterator[YearRow]:
    """Every report of the year the page's filters show (at most `limit`), in the page's order, for the export."""
    for case, town, county in session.exec(_year_query(actor, year, county_id, state).limit(limit)):
        yield YearRow(case, town, county)


def year_total(session: Session, actor: Actor, year: int, *, county_id: int | None = None,
               state: str | None = None) -> int:
    return count_of(session, _year_query(actor, year, county_id, state))


def _figure(key: str) -> Callable[[YearRow], Any]:
    return lambda r: (r.case.data.get("figures") or {}).get(key)


def _state(row: YearRow) -> Label:
    from workflow.core.catalog import CATALOG

    spec = CATALOG.get(row.case.definition_key, row.case.definition_version).states.get(row.case.state)
    return spec.label if spec else Label(row.case.state, row.case.state)


def year_list() -> ListSpec[YearRow]:
    """The year's reports as an Excel export: the report, its town and state, then every number of the year's
    fields with its unit (as the form shows them)."""
    numbers = [f for f in spec_of.statistics_spec().fields if f.is_number]
    return ListSpec("statistics_year", Label("年度统计", "Annual statistics"), "statistics", (
        Column("编号", "Number", lambda r: r.case.number, 16),
        Column("专业镇", "Town", lambda r: r.town, 14),
        Column("县（区）", "County", lambda r: r.county, 10),
        Column("状态", "State", _state, 12),
        *(Column(f"{f.label.zh}（{f.unit.zh}）" if f.unit else f.label.zh,
                 f"{f.label.en} ({f.unit.en})" if f.unit else f.label.en, _figure(f.key), 14,
                 AMOUNT if f.type == "decimal" else INTEGER) for f in numbers)))


def year_filters(session: Session, year: int, *, county_id: int | None = None,
                 state: str | None = None) -> list[Filter]:
    """The filters of the year's list, as the exported sheet names them."""
    from workflow.core.catalog import CATALOG

    found = [Filter("year", year, Label("统计年度", "Year"), str(year))]
    if county_id:
        found.append(county_filter(session, county_id))
    if state:
        spec = CATALOG.current("statistics_report").states.get(state)
        found.append(Filter("state", state, Label("状态", "State"), spec.label if spec else state))
    return found


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
