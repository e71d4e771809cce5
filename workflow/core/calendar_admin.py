"""Entering a year's statutory holidays and make-up working days (admin page and `zyz calendar`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlmodel import Session, select

from workflow.core import audit
from workflow.core.actors import Actor
from workflow.core.calendar import bump_calendar_version, load_calendar, package_knows, parse_days
from workflow.core.db import table_of
from workflow.core.errors import Forbidden, Unprocessable
from workflow.core.models import CalendarDay, CalendarYear, Role
from workflow.core.recount import recount_deadlines


@dataclass(frozen=True)
class YearEntered:
    days: int  # days of the year entered (holidays and make-up working days)
    recounted: int  # deadlines whose date or estimate changed


def enter_year(session: Session, *, year: int, text: str, actor: Actor, now: datetime) -> YearEntered:
    """Replace `year`'s table with the days in `text`; from then on the system's table decides that year, and the
    open deadlines it can move are counted again in the same transaction."""
    if actor.role not in (Role.admin, Role.system):
        raise Forbidden("只有系统管理员可以维护节假日。", "Only the administrator maintains the holidays.")
    if not 2000 <= year <= 2100:
        raise Unprocessable("年份不正确。", "Bad year.",
                            details=[{"field": "year", "zh": "年份不正确", "en": "bad year"}])
    days, problems = parse_days(text)
    problems += [f"{d} 不属于 {year} 年 / {d} is not in {year}" for d, _, _ in days if d.year != year]
    if not days and not problems:
        problems.append("请至少填写一天（节假日或调休上班日）/ enter at least one day")
    if problems:
        raise Unprocessable("节假日表有误：" + "；".join(problems),
                            "The holiday table has errors: " + "; ".join(problems),
                            details=[{"field": "days", "zh": p, "en": p} for p in problems])
    audit.lock_head(session)  # the first lock, as in fire and the sweep: deadline rows and cases are written below
    table = table_of(CalendarDay)
    conn = session.connection()
    conn.execute(table.delete().where(table.c.day >= date(year, 1, 1), table.c.day <= date(year, 12, 31)))
    unique = {d: (w, n) for d, w, n in days}
    conn.execute(table.insert(), [{"day": d, "is_workday": w, "note": n} for d, (w, n) in sorted(unique.items())])
    years = table_of(CalendarYear)
    conn.execute(years.delete().where(years.c.year == year))
    conn.execute(years.insert().values(year=year, entered_at=now, entered_by=actor.name))
    bump_calendar_version(session)
    audit.record(session, kind="admin_change", now=now, actor=actor,
                 data={"calendar_year": year, "days": len(unique),
                       "holidays": sum(1 for w, _ in unique.values() if not w)})
    recounted = recount_deadlines(session, year=year, calendar=load_calendar(session), entered_by=actor.name,
                                  now=now)
    return YearEntered(days=len(unique), recounted=recounted)


def year_days(session: Session, year: int) -> list[CalendarDay]:
    return list(session.exec(select(CalendarDay).where(
        CalendarDay.day >= date(year, 1, 1), CalendarDay.day <= date(year, 12, 31))
        .order_by(CalendarDay.day)))  # type: ignore[arg-type]  # SQLModel types a column as its Python value, not a SQL expression


def known_years(session: Session) -> dict[int, str]:
    """Every year from 2004 to two years ahead, with where its holidays come from: table, package or none."""
    entered = set(session.exec(select(CalendarYear.year)).all())
    latest = max([*entered, 2026]) + 2
    return {y: "table" if y in entered else "package" if package_knows(y) else "none" for y in range(2004, latest + 1)}
