"""Entering a year's statutory holidays and make-up working days (admin page and `zyz calendar`).

The open deadlines and reminders the change can move are counted again in the same transaction.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from itertools import groupby
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, select

from workflow.core import audit, sweep
from workflow.core.actors import Actor
from workflow.core.calendar import (
    WorkCalendar,
    bump_calendar_version,
    load_calendar,
    package_knows,
    parse_days,
    to_local,
)
from workflow.core.catalog import CATALOG
from workflow.core.db import table_of
from workflow.core.deadlines import count_again
from workflow.core.errors import Forbidden, Unprocessable
from workflow.core.models import CalendarDay, CalendarYear, Case, Deadline, DeadlineStatus, Role


@dataclass(frozen=True)
class YearEntered:
    days: int  # days of the year entered (holidays and make-up working days)
    recounted: int  # deadlines whose date or estimate changed


def enter_year(session: Session, *, year: int, text: str, actor: Actor, now: datetime) -> YearEntered:
    """Replace `year`'s table with the days in `text`; from then on the system's table decides that year."""
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


# --- counting open deadlines again -----------------------------------------------------------------------------

_deadlines = table_of(Deadline)
_cases = table_of(Case)
# Open rows the year can move: falling in it or later, counted from a day in it or earlier (a fixed date: its
# reminders count back from it, and its estimate flag may go), with what the recount needs of their case.
_AFFECTED = (sa.select(_deadlines, _cases.c.state.label("case_state"), _cases.c.county_id, _cases.c.number,
                       _cases.c.title, _cases.c.definition_key, _cases.c.definition_version)
             .join(_cases, _cases.c.id == _deadlines.c.case_id)
             .where(_deadlines.c.status == DeadlineStatus.open.value,
                    _deadlines.c.due_date >= sa.bindparam("b_first"),
                    sa.or_(_deadlines.c.counted_from.is_(None), _deadlines.c.counted_from <= sa.bindparam("b_last")))
             .order_by(_deadlines.c.case_id, _deadlines.c.state, _deadlines.c.name, _deadlines.c.id))


@dataclass
class _Change:
    row: Any
    due: date
    at: datetime
    estimated: bool


def recount_deadlines(session: Session, *, year: int, calendar: WorkCalendar, entered_by: str,
                      now: datetime) -> int:
    """Count every open deadline and reminder that `year`'s table can move again with `calendar`; the number of
    deadlines changed.

    Per deadline of a case that changed: its rows move (reminders already sent stay as they were), a date the
    case holds in a field follows, one audit event keeps the date shown until now, and when the date moved the
    county and the office are told.
    """
    conn = session.connection()
    rows = conn.execute(_AFFECTED, {"b_first": date(year, 1, 1).isoformat(),
                                    "b_last": date(year, 12, 31).isoformat()}).all()
    changed = 0
    for _key, group in groupby(rows, key=lambda r: (r.case_id, r.state, r.name)):
        changes = list(_changes(group, calendar))
        if changes:
            _apply(session, changes, year=year, entered_by=entered_by, now=now)
            changed += 1
    return changed


def _changes(rows: Iterator[Any], calendar: WorkCalendar) -> Iterator[_Change]:
    for row in rows:
        due, at, estimated = count_again(row, calendar)
        if (due.isoformat(), at, estimated) != (row.due_date, row.due_at, bool(row.is_estimated)):
            yield _Change(row, due, at, estimated)


def _apply(session: Session, changes: list[_Change], *, year: int, entered_by: str, now: datetime) -> None:
    """Move one deadline's rows, the case's copy of a counted date, and record and announce the change."""
    conn = session.connection()
    first = changes[0].row  # the rows of one deadline share its date, flag and counting basis
    old_due, new_due, estimated = first.due_date, changes[0].due.isoformat(), changes[0].estimated
    for change in changes:
        conn.execute(_deadlines.update().where(_deadlines.c.id == change.row.id)
                     .values(due_date=change.due.isoformat(), due_at=change.at, is_estimated=change.estimated))
    definition = CATALOG.get(first.definition_key, first.definition_version, session)
    state = definition.states.get(first.state)
    spec = next((d for d in state.deadlines if d.name == first.name), None) if state else None
    label = (spec.label.zh, spec.label.en) if spec else (first.name, first.name)
    field = _follow_in_case(conn, first, spec.field if spec else None, old_due, new_due, now)
    event = audit.record(
        session, kind="deadline_recounted", now=now, actor=Actor.system(), case_id=first.case_id,
        county_id=first.county_id,
        data={"deadline": first.name, "label": label[0], "label_en": label[1], "state": first.state,
              "from": old_due, "to": new_due, "was_estimated": bool(first.is_estimated), "is_estimated": estimated,
              "calendar_year": year, "entered_by": entered_by, "deadline_ids": [c.row.id for c in changes],
              "reminders": [{"days_before": c.row.offset_days, "from": _shown(c.row.due_at), "to": _shown(c.at)}
                            for c in changes if c.row.kind == "reminder" and c.at != c.row.due_at],
              **({"field": field} if field else {})})
    if new_due == old_due:
        return  # the date stands (its estimate flag went, or only a reminder moved): nothing to tell
    selectors = tuple(dict.fromkeys(("county", "office", *(spec.remind if spec else ()))))
    users = sweep.NOTIFIER.recipient_ids(conn, first.case_id, first.county_id, selectors)
    sweep.NOTIFIER.notify(
        session, user_ids=users, case_id=first.case_id, kind="deadline_recounted", source=f"recount:{event['seq']}",
        now=now, params={"number": first.number, "title": first.title, "deadline": label[0], "deadline_en": label[1],
                         "old_due_date": old_due, "due_date": new_due, "was_estimated": bool(first.is_estimated),
                         "year": year})


def _follow_in_case(conn: sa.Connection, row: Any, field: str | None, old_due: str, new_due: str,
                    now: datetime) -> str | None:
    """A counted date the case holds in a field (read again by its later states) moves with its deadline."""
    if not field or not row.counted_from or old_due == new_due or row.state != row.case_state:
        return None
    data = conn.execute(sa.select(_cases.c.data).where(_cases.c.id == row.case_id)).scalar_one()
    if str(data.get(field)) != old_due:
        return None
    conn.execute(_cases.update().where(_cases.c.id == row.case_id)
                 .values(data={**data, field: new_due}, version=_cases.c.version + 1, updated_at=now))
    return field


def _shown(moment: datetime) -> str:
    return to_local(moment).strftime("%Y-%m-%d %H:%M")
def year_days(session: Session, year: int) -> list[CalendarDay]:
    return list(session.exec(select(CalendarDay).where(
        CalendarDay.day >= date(year, 1, 1), CalendarDay.day <= date(year, 12, 31))
        .order_by(CalendarDay.day)))  # type: ignore[arg-type]  # SQLModel types a column as its Python value, not a SQL expression


def known_years(session: Session) -> dict[int, str]:
    """Every year from 2004 to two years ahead, with where its holidays come from: table, package or none."""
    entered = set(session.exec(select(CalendarYear.year)).all())
    latest = max([*entered, 2026]) + 2
    return {y: "table" if y in entered else "package" if package_knows(y) else "none" for y in range(2004, latest + 1)}
