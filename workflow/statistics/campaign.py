"""Opening the year's statistics reports: one report case per candidate, municipal and provincial town, for the
year just ended, by the scheduler on a configurable date or by the office by hand; never twice for a town and
year."""

from __future__ import annotations

from datetime import date, datetime

from sqlmodel import Session, col, select

from workflow.core import audit
from workflow.core.actors import Actor
from workflow.core.calendar import local_date
from workflow.core.engine import create_case, next_number
from workflow.core.errors import Forbidden, Unprocessable
from workflow.core.models import Case, Role, Town
from workflow.statistics.fields import statistics_spec

# Registry levels whose towns report their figures every year (the candidates too: their growth is what
# designation will weigh).
REPORTING_LEVELS = ("candidate", "municipal", "recommended_provincial", "provincial", "revocation_proposed",
                    "revocation_decision")
FIRST_YEAR = 2000


def reporting_towns(session: Session) -> list[Town]:
    """Towns whose registry record is at a reporting level, by county and name."""
    query = (select(Town).join(Case, (col(Case.town_id) == col(Town.id)) & (col(Case.definition_key) == "town"))
             .where(col(Case.state).in_(REPORTING_LEVELS)).order_by(col(Town.county_id), col(Town.name)))
    return list(session.exec(query).all())


def open_reports(*, session: Session, actor: Actor, now: datetime, year: int) -> list[Case]:
    """Open the report of `year` for every reporting town that has none yet; the reports opened (possibly none)."""
    if actor.role not in (Role.office, Role.system):
        raise Forbidden("只有领导小组办公室可以发起年度统计。", "Only the office opens the annual statistics.")
    today = local_date(now)
    if isinstance(year, bool) or not isinstance(year, int) or not FIRST_YEAR <= year < today.year:
        raise Unprocessable(f"统计年度应为 {FIRST_YEAR}～{today.year - 1} 年之间已结束的年份。",
                            f"The year must be a year that has ended ({FIRST_YEAR}–{today.year - 1}).",
                            details=[{"field": "year", "zh": "统计年度不正确", "en": "invalid year"}])
    towns = reporting_towns(session)
    if not towns:
        raise Unprocessable("目前没有需要报送统计的专业镇。", "No town reports statistics yet.")
    have = set(session.exec(select(Case.town_id).where(Case.definition_key == "statistics_report",
                                                       col(Case.data)["report_year"].as_integer() == year)).all())
    spec = statistics_spec()
    opened = [create_case(session=session, definition_key="statistics_report", actor=actor, now=now,
                          town_id=t.id, title=f"{year}年度统计 · {t.name}",
                          data={"report_year": year, "spec_version": spec.version})
              for t in towns if t.id not in have]
    if opened:
        audit.record(session, kind="statistics_campaign_opened", now=now, actor=actor,
                     data={"report_year": year, "reports": len(opened)})
    return opened


def open_yearly_reports(*, session: Session, now: datetime, month_day: str = "01-10") -> list[Case]:
    """Once the year's date has come, open last year's reports for the towns that have none, once a year (a town
    added after that gets its report when the office opens the year again by hand); nothing before the date."""
    today = local_date(now)
    month, day = (int(x) for x in month_day.split("-"))
    if today < date(today.year, month, day) or not reporting_towns(session):
        return []
    if next_number(session, "annual-statistics", today.year) != 1:
        return []  # already opened this year (by this process or another)
    return open_reports(session=session, actor=Actor.system(), now=now, year=today.year - 1)
