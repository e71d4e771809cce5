"""Opening the year's evaluation: one case per designated town (municipal, recommended for provincial level,
provincial), by the scheduler on a configurable date or by the office by hand; never twice for a town and year.
The values that come from statistics are read from the town's accepted row of that year (`town_statistics`)."""

from __future__ import annotations

from datetime import date, datetime

from sqlmodel import Session, col, select

from workflow.core import audit
from workflow.core.access import case_filter
from workflow.core.actors import Actor
from workflow.core.calendar import calendar_for, local_date
from workflow.core.db import saved_id
from workflow.core.engine import create_case, next_number
from workflow.core.errors import Forbidden, Unprocessable
from workflow.core.models import Case, Role, Town
from workflow.core.review import DESIGNATED_LEVELS
from workflow.evaluation.indicators import evaluation_spec
from workflow.evaluation.ranking import TOWN, open_ranking, ranking_case
from workflow.evaluation.values import statistics_values_of

FIRST_YEAR = 2000


def designated_towns(session: Session) -> list[Town]:
    """Towns whose registry record is at a designated level, by county and name."""
    query = (select(Town).join(Case, (col(Case.town_id) == col(Town.id)) & (col(Case.definition_key) == "town"))
             .where(col(Case.state).in_(DESIGNATED_LEVELS)).order_by(col(Town.county_id), col(Town.name)))
    return list(session.exec(query).all())


def open_evaluation(*, session: Session, actor: Actor, now: datetime, year: int) -> list[Case]:
    """Open the evaluation of `year` for every designated town that has none yet; the cases opened (maybe none)."""
    if actor.role not in (Role.office, Role.system):
        raise Forbidden("只有领导小组办公室可以发起年度评价。", "Only the office opens the annual evaluation.")
    today = local_date(now)
    if isinstance(year, bool) or not isinstance(year, int) or not FIRST_YEAR <= year < today.year:
        raise Unprocessable(f"评价年度应为 {FIRST_YEAR}～{today.year - 1} 年之间已结束的年份。",
                            f"The year must be a year that has ended ({FIRST_YEAR}–{today.year - 1}).",
                            details=[{"field": "year", "zh": "评价年度不正确", "en": "invalid year"}])
    towns = designated_towns(session)
    if not towns:
        raise Unprocessable("目前没有已认定的专业镇。", "No town is designated yet.")
    ranking = ranking_case(session, year)
    if ranking is not None and ranking.state != "scoring":
        raise Unprocessable(f"{year}年度的评价排名已报送审定或已发布，不能再增加评价。",
                            f"The ranking of {year} is submitted or published; no evaluation can be added.")
    have = set(session.exec(select(Case.town_id).where(Case.definition_key == "evaluation_town",
                                                       col(Case.data)["evaluation_year"].as_integer() == year)).all())
    spec = evaluation_spec()
    towns = [town for town in towns if town.id not in have]
    statistics = statistics_values_of(session, spec, [saved_id(town) for town in towns], year)
    calendar = calendar_for(session)  # once: create_case would read the table's version for every case
    opened = []
    for town in towns:
        values, last, stats_year = statistics[saved_id(town)]
        opened.append(create_case(
            session=session, definition_key="evaluation_town", actor=actor, now=now, town_id=town.id,
            title=f"{year}年度评价 · {town.name}", calendar=calendar,
            data={"evaluation_year": year, "spec_version": spec.version, "statistics_values": values,
                  "last_values": last, "statistics_year": stats_year}))
    if opened:
        open_ranking(session, actor=actor, now=now, year=year, spec_version=spec.version)
        audit.record(session, kind="evaluation_campaign_opened", now=now, actor=actor,
                     data={"evaluation_year": year, "cases": len(opened)})
    return opened


def open_yearly_evaluation(*, session: Session, now: datetime, month_day: str = "04-01") -> list[Case]:
    """Once the year's date has come, open last year's evaluation for the designated towns, once a year (a town
    designated after that is added when the office opens the year again by hand); nothing before the date."""
    today = local_date(now)
    month, day = (int(x) for x in month_day.split("-"))
    if today < date(today.year, month, day) or not designated_towns(session):
        return []
    if next_number(session, "annual-evaluation", today.year) != 1:
        return []  # already opened this year
    return open_evaluation(session=session, actor=Actor.system(), now=now, year=today.year - 1)


def year_cases(session: Session, actor: Actor, year: int) -> list[Case]:
    """The evaluations of `year` that `actor` may see (a county its own towns', a member unit those it was asked
    about), by number."""
    return list(session.exec(select(Case).where(Case.definition_key == TOWN,
                                                 col(Case.data)["evaluation_year"].as_integer() == year,
                                                 case_filter(actor)).order_by(col(Case.id))).all())


def evaluation_years(session: Session) -> list[int]:
    """The years that have evaluations, latest first."""
    years = session.exec(select(col(Case.data)["evaluation_year"].as_integer()).distinct()
                         .where(Case.definition_key == "evaluation_town")).all()
    return sorted((int(y) for y in years if y is not None), reverse=True)
