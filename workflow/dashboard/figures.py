"""The dashboard's figures: each target of a plan period with its current value, the share reached and the pace;
output by year, for all towns and by county; the registry, the designations and the supervision at a glance.

Everything is an aggregate computed by the database, read from what it keeps counted or from indexes alone: the
towns' levels, the designations and the rectification orders by county and state from the case tally (`case_tally`,
kept by triggers on the cases, migration 0026), the output from the accepted statistics (`town_statistics`, GROUP
BY over its index, migration 0016), the brands and standards from the items of those rows (town_statistics_item,
kept in step with them), the designations of the year and the year's criticism notices through their indexes.
The office and the leading group see every county; a county sees the same figures for its own towns only
(workflow.core.access)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from workflow.core.access import case_filter
from workflow.core.actors import Actor
from workflow.core.calendar import local_moment
from workflow.core.catalog import CATALOG
from workflow.core.db import saved_id, table_of
from workflow.core.errors import Forbidden, NotFound
from workflow.core.indicators import Indicator, Reading
from workflow.core.models import Attachment, Case, CaseTally, Role, TownStatistics, TownStatisticsItem, Unit, UnitKind
from workflow.core.review import overdue_count
from workflow.core.yamlcheck import Label
from workflow.dashboard.targets import Period, Target, period_for, plan_periods

READERS = frozenset({Role.office.value, Role.leader.value, Role.county.value})
YEARS_SHOWN = 10  # the output trend shows at most the last ten years with accepted figures
# Registry levels of a designated town (a provincial one is a municipal one too, and a revocation under way keeps
# the designation until it is decided), as the municipal towns' target of definitions/targets.yaml counts them.
DESIGNATED_LEVELS = ("municipal", "recommended_provincial", "provincial", "revocation_proposed", "revocation_decision")
# Rectification orders past their deadline: overdue, a criticism being drafted, criticised (until reissued).
OVERDUE_STATES = ("overdue", "criticism_pending", "criticised")
PACE_LABELS = {
    "met": Label("已完成", "Met"),
    "on_track": Label("进度正常", "On track"),
    "behind": Label("进度滞后", "Behind schedule"),
    "missed": Label("未完成", "Missed"),
}


@dataclass(frozen=True)
class CountyFigure:
    county_id: int
    county: str
    value: Decimal
    goal: Decimal | None
    share: Decimal | None


@dataclass(frozen=True)
class TargetFigure:
    target: Target
    value: Decimal
    goal: Decimal | None  # the city's target, or on a county's dashboard the county's own share (None: not set)
    share: Decimal | None  # value / goal
    pace: str | None  # met | on_track | behind | missed (PACE_LABELS)
    year: int | None  # statistics_sum: the year of the figure
    counties: tuple[CountyFigure, ...] = ()  # every county's part (the city's dashboard)


@dataclass(frozen=True)
class CountyOrders:
    county_id: int
    county: str
    open: int
    overdue: int
    criticisms: int

    @property
    def overdue_rate(self) -> Decimal | None:
        return _ratio(Decimal(self.overdue), Decimal(self.open))


@dataclass
class Dashboard:
    period: Period
    periods: tuple[Period, ...]
    today: date
    elapsed: Decimal  # the share of the period elapsed by today, 0 to 1
    county: Unit | None  # a county's own dashboard
    counties: list[Unit]
    targets: list[TargetFigure]
    years: list[int]
    output_total: dict[int, Decimal]  # year -> total output of the towns that reported it
    towns_reported: dict[int, int]  # year -> towns with accepted figures
    output_by_county: dict[int, dict[int, Decimal]]  # county id -> year -> output
    levels: dict[int, dict[str, int]]  # county id -> registry level -> towns
    designations: dict[str, int]  # designation state -> cases
    applications_in_progress: int  # designation cases not in a final state
    designated_this_year: int
    orders: list[CountyOrders]
    criticisms_this_year: int
    extra: dict[str, Any] = field(default_factory=dict)
    reviews_overdue: int = 0  # designated towns whose review date has passed without a renewal (复核逾期)

    def designated_towns(self, county_id: int) -> int:
        return sum(n for level, n in self.levels.get(county_id, {}).items() if level in DESIGNATED_LEVELS)

    @property
    def open_orders(self) -> int:
        return sum(o.open for o in self.orders)

    @property
    def overdue_orders(self) -> int:
        return sum(o.overdue for o in self.orders)

    @property
    def overdue_rate(self) -> Decimal | None:
        return _ratio(Decimal(self.overdue_orders), Decimal(self.open_orders))


def _ratio(value: Decimal, of: Decimal | None) -> Decimal | None:
    if of is None or of == 0:
        return None
    return (value / of).quantize(Decimal("0.0001"))


def elapsed_share(period: Period, today: date) -> Decimal:
    """The share of the period's days gone by the end of `today` (0 before it starts, 1 after it ends)."""
    days = (period.end - period.start).days + 1
    gone = min(max((today - period.start).days + 1, 0), days)
    return (Decimal(gone) / Decimal(days)).quantize(Decimal("0.0001"))


def pace(share: Decimal | None, elapsed: Decimal, period: Period, today: date) -> str | None:
    """Met at 100 %; after the period's end, missed below it; before, on track while the share reached is at least
    the share of the period elapsed, else behind."""
    if share is None:
        return None
    if share >= 1:
        return "met"
    if today > period.end:
        return "missed"
    return "on_track" if share >= elapsed else "behind"


def _scope(column: Any, actor: Actor) -> sa.ColumnElement[bool]:
    return sa.true() if actor.role in (Role.office, Role.leader) else column == actor.unit_id


def _items_query(session: Session, source_field: str, where: tuple[tuple[str, tuple[str, ...]], ...],
                 first: int, last: int, county_id: int | None) -> dict[int, int]:
    """Per county: the distinct items (town and name) of a list field in the accepted reports of the years whose
    choices match every condition of `where` in the same year's report; counted from town_statistics_item (kept in
    step with the statistics rows, workflow.core.models), through its index, without reading any row's JSON."""
    item = table_of(TownStatisticsItem)
    matches = [sa.and_(item.c.choice_key == key, item.c.choice_value.in_(values)) for key, values in where]
    query = sa.select(item.c.county_id, item.c.town_id, item.c.name, item.c.year).where(
        item.c.field == source_field, item.c.year.between(first, last), sa.or_(*matches) if matches else sa.true())
    if county_id is not None:
        query = query.where(item.c.county_id == county_id)
    query = query.group_by(item.c.county_id, item.c.town_id, item.c.name, item.c.year)
    if len(where) > 1:
        query = query.having(sa.func.count(sa.distinct(item.c.choice_key)) == len(where))
    found = query.subquery()
    distinct = sa.select(found.c.county_id, found.c.town_id, found.c.name).distinct().subquery()
    counted = sa.select(distinct.c.county_id, sa.func.count()).group_by(distinct.c.county_id)
    return {int(c): int(n) for c, n in session.connection().execute(counted)}


def _sum_query(session: Session, source_field: str, year: int, county_id: int | None) -> dict[int, Decimal]:
    """Per county: the sum of a number field of the year's accepted reports (the output is summed from the rows'
    own column by `_by_year`)."""
    value = col(TownStatistics.figures)[source_field].as_float()
    query = (select(TownStatistics.county_id, sa.func.sum(value)).where(TownStatistics.year == year)
             .group_by(col(TownStatistics.county_id)))
    if county_id is not None:
        query = query.where(TownStatistics.county_id == county_id)
    return {int(c): _decimal(v) for c, v in session.exec(query).all()}


def _decimal(value: Any) -> Decimal:
    return Decimal(str(round(float(value or 0), 2)))


def _tally(session: Session, definition_key: str, scope: sa.ColumnElement[bool]) -> dict[int, dict[str, int]]:
    """Cases of a kind by county and state, from the tally the database keeps (CaseTally), without counting them."""
    counts: dict[int, dict[str, int]] = {}
    for county_id, state, n in session.exec(
            select(CaseTally.county_id, CaseTally.state, CaseTally.n)
            .where(CaseTally.definition_key == definition_key, col(CaseTally.n) > 0, scope)).all():
        counts.setdefault(int(county_id), {})[state] = int(n)
    return counts


def _levels(session: Session, scope: sa.ColumnElement[bool]) -> dict[int, dict[str, int]]:
    """The registry: towns by county and level."""
    return _tally(session, "town", scope)


def _by_year(session: Session, scope: sa.ColumnElement[bool]) -> dict[int, dict[int, tuple[int, Decimal]]]:
    """The accepted statistics by year and county (an index-only scan of (year, county_id, output_yi)): year ->
    county -> (towns reported, output)."""
    by_year: dict[int, dict[int, tuple[int, Decimal]]] = {}
    for year, county_id, n, total in session.exec(
            select(TownStatistics.year, TownStatistics.county_id, sa.func.count(),
                   sa.func.sum(TownStatistics.output_yi)).where(scope)
            .group_by(col(TownStatistics.year), col(TownStatistics.county_id))).all():
        by_year.setdefault(int(year), {})[int(county_id)] = (int(n), _decimal(total))
    return by_year


def build(session: Session, actor: Actor, today: date, period_key: str | None = None) -> Dashboard:
    """The dashboard of a plan period (the one `today` falls in unless named) as `actor` may see it."""
    if actor.role not in READERS:
        raise Forbidden("只有领导小组、领导小组办公室和县（区）可以查看工作看板。",
                        "Only the leading group, the office and the counties see the dashboard.")
    period = period_for(today, period_key)
    if period is None:
        raise NotFound("没有这个规划期。", "No such plan period.")
    own = actor.unit_id if actor.role == Role.county else None
    # the city's dashboard lists the active counties; a county's own is of its unit, active or no longer
    active = col(Unit.is_active).is_(True) if own is None else sa.true()
    counties = list(session.exec(select(Unit).where(Unit.kind == UnitKind.county, active, _scope(Unit.id, actor))
                                 .order_by(col(Unit.id))).all())
    county = counties[0] if own is not None else None

    tally_scope = _scope(CaseTally.county_id, actor)  # what case_filter lets the dashboard's readers see
    levels = _levels(session, tally_scope)
    by_year = _by_year(session, _scope(TownStatistics.county_id, actor))
    years = sorted(by_year)[-YEARS_SHOWN:]
    output_total = {y: sum((v[1] for v in by_year[y].values()), Decimal(0)) for y in years}
    towns_reported = {y: sum(v[0] for v in by_year[y].values()) for y in years}
    output_by_county = {c: {y: by_year[y][c][1] for y in years if c in by_year[y]}
                        for c in (saved_id(u) for u in counties)}

    elapsed = elapsed_share(period, today)
    names = {u.id: u.name for u in counties}
    figures = [_target_figure(session, t, period, today, elapsed, county, names, levels, by_year)
               for t in period.targets]

    # designations
    designations: dict[str, int] = {}
    for by_state in _tally(session, "designation", tally_scope).values():
        for state, n in by_state.items():
            designations[state] = designations.get(state, 0) + n
    ongoing = {k for k, s in CATALOG.current("designation").states.items() if not s.final}
    year_start, year_end = local_moment(date(today.year, 1, 1)), local_moment(date(today.year + 1, 1, 1))
    designated_this_year = int(session.exec(
        select(sa.func.count()).select_from(Case).where(Case.definition_key == "designation",
                                                        Case.state == "designated", case_filter(actor),
                                                        col(Case.closed_at) >= year_start,
                                                        col(Case.closed_at) < year_end)).one())

    # supervision: rectification orders by county and state, and the criticism notices issued this year
    final = {k for k, s in CATALOG.current("rectification").states.items() if s.final}
    open_by: dict[int, int] = {}
    overdue_by: dict[int, int] = {}
    for county_id, by_state in _tally(session, "rectification", tally_scope).items():
        for state, n in by_state.items():
            if state not in final:
                open_by[county_id] = open_by.get(county_id, 0) + n
            if state in OVERDUE_STATES:
                overdue_by[county_id] = overdue_by.get(county_id, 0) + n
    criticised_by = {int(c): int(n) for c, n in session.exec(
        select(Case.county_id, sa.func.count()).select_from(Attachment)
        .join(Case, col(Case.id) == col(Attachment.case_id))
        .where(Attachment.kind == "criticism_notice", col(Attachment.uploaded_at) >= year_start,
               col(Attachment.uploaded_at) < year_end, case_filter(actor))
        .group_by(col(Case.county_id))).all()}
    orders = [CountyOrders(u.id, u.name, open_by.get(u.id, 0), overdue_by.get(u.id, 0),  # type: ignore[arg-type]  # saved units have ids
                           criticised_by.get(u.id, 0)) for u in counties]  # type: ignore[arg-type]  # saved units have ids
    return Dashboard(period=period, periods=plan_periods(), today=today, elapsed=elapsed, county=county,
                     counties=counties, targets=figures, years=years, output_total=output_total,
                     towns_reported=towns_reported, output_by_county=output_by_county, levels=levels,
                     designations=designations,
                     applications_in_progress=sum(n for k, n in designations.items() if k in ongoing),
                     designated_this_year=designated_this_year, orders=orders,
                     criticisms_this_year=sum(criticised_by.values()),
                     reviews_overdue=overdue_count(session, today, county_id=own))


def _target_figure(session: Session, target: Target, period: Period, today: date, elapsed: Decimal,
                   county: Unit | None, names: dict[int | None, str], levels: dict[int, dict[str, int]],
                   by_year: dict[int, dict[int, tuple[int, Decimal]]]) -> TargetFigure:
    source = target.source
    own = county.id if county is not None else None
    year: int | None = None
    per_county: dict[int, Decimal]
    if source.kind == "registry_count":
        per_county = {c: Decimal(sum(n for s, n in by_state.items() if s in source.levels))
                      for c, by_state in levels.items()}
    elif source.kind == "statistics_sum":
        assert source.field is not None
        last = min(period.end.year, today.year)
        year = max((y for y in by_year if y <= last), default=None)
        if year is None:
            per_county = {}
        elif source.field == "output_yi":
            per_county = {c: v[1] for c, v in by_year[year].items()}
        else:
            per_county = _sum_query(session, source.field, year, own)
    else:
        assert source.field is not None
        per_county = {c: Decimal(n) for c, n in _items_query(
            session, source.field, source.where, period.start.year, min(period.end.year, today.year), own).items()}
    value = sum(per_county.values(), Decimal(0))
    goal = target.county_value(county.name) if county is not None else target.value
    share = _ratio(value, goal)
    counties: tuple[CountyFigure, ...] = ()
    if county is None:
        counties = tuple(CountyFigure(c, name, per_county.get(c, Decimal(0)), target.county_value(name),
                                      _ratio(per_county.get(c, Decimal(0)), target.county_value(name)))
                         for c, name in names.items() if c is not None)
    return TargetFigure(target, value, goal, share, pace(share, elapsed, period, today), year, counties)


# --- the targets as the city's indicators (workflow.core.indicators) ----------------------------------------------

def indicator_catalogue() -> dict[str, Indicator]:
    """Every target of definitions/targets.yaml as an indicator, by key (a key of several periods: the latest's
    label)."""
    return {t.key: Indicator(t.key, t.label, t.unit) for p in plan_periods() for t in p.targets}


def city_readings(session: Session, today: date, keys: frozenset[str]) -> dict[str, Reading]:
    """The city's current figure of each target named in `keys` that the plan period `today` falls in measures:
    the same figure as the city's dashboard shows (every county, no scope)."""
    period = period_for(today)
    assert period is not None  # without a key there is always one: today's, else the first or the last
    targets = [t for t in period.targets if t.key in keys]
    if not targets:
        return {}
    elapsed = elapsed_share(period, today)
    levels = _levels(session, sa.true()) if any(t.source.kind == "registry_count" for t in targets) else {}
    by_year = _by_year(session, sa.true()) if any(t.source.kind == "statistics_sum" for t in targets) else {}
    found = {}
    for t in targets:
        figure = _target_figure(session, t, period, today, elapsed, None, {}, levels, by_year)
        found[t.key] = Reading(Indicator(t.key, t.label, t.unit), figure.value, figure.goal, period.label,
                               figure.year)
    return found
