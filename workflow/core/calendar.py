"""Working days: weekends and statutory holidays skipped, official make-up days (调休) counted."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime, time, timedelta
from functools import cache, lru_cache
from zoneinfo import ZoneInfo

import chinese_calendar
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, select

from workflow.core.db import Prepared, is_sqlite, table_of
from workflow.core.models import CalendarDay, CalendarYear, Counter

LOCAL_TZ = ZoneInfo("Asia/Shanghai")
UTC = UTC


def local_date(moment: datetime) -> date:
    """The local (Beijing) date of a UTC moment (naive values are read as UTC)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(LOCAL_TZ).date()


def local_moment(day: date, at: time = time(0, 0)) -> datetime:
    """The UTC moment of a local date and wall-clock time."""
    return datetime.combine(day, at, tzinfo=LOCAL_TZ).astimezone(UTC)


def to_local(moment: datetime) -> datetime:
    """An aware local datetime for display."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(LOCAL_TZ)


TIME_FORMAT = "%Y-%m-%d %H:%M"


def shown_time(value: datetime | str | None, fmt: str = TIME_FORMAT) -> str:
    """A moment as a person reads it: Beijing time. The one function every page, document and message uses.

    `value` is a datetime or the ISO text a case's data keeps ("2026-12-03T16:30:00+00:00"); naive values are
    UTC. Empty or unreadable text is shown as it is, never as a wrong time.
    """
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            return value
    else:
        moment = value
    return to_local(moment).strftime(fmt)


@cache
def package_knows(year: int) -> bool:
    """Whether the chinese-calendar package has the holidays of `year`."""
    try:
        chinese_calendar.is_workday(date(year, 6, 1))
    except NotImplementedError:
        return False
    return True


@lru_cache(maxsize=8192)
def package_is_workday(day: date) -> bool:
    """chinese-calendar's answer for `day`, remembered: the package scans its whole table on every call."""
    return bool(chinese_calendar.is_workday(day))


class WorkCalendar:
    """Working days from the system's own table (entered years) or the chinese-calendar package.

    A year known to neither counts weekends only; results then say they are estimated.
    """

    def __init__(self, overrides: Mapping[date, bool] | None = None, entered_years: frozenset[int] = frozenset()):
        self.overrides = dict(overrides or {})
        self.entered_years = frozenset(entered_years)

    def knows(self, year: int) -> bool:
        return year in self.entered_years or package_knows(year)

    def is_workday(self, day: date) -> bool:
        if day.year in self.entered_years:
            return self.overrides.get(day, day.weekday() < 5)
        if package_knows(day.year):
            return package_is_workday(day)
        return day.weekday() < 5

    def add_working_days(self, start: date, days: int) -> tuple[date, bool]:
        """The `days`-th working day after `start`, and whether an unknown year made it an estimate."""
        day, counted, estimated = start, 0, False
        while counted < days:
            day += timedelta(days=1)
            estimated = estimated or not self.knows(day.year)
            if self.is_workday(day):
                counted += 1
        return day, estimated

    def working_days_before(self, day: date, days: int) -> date:
        """The working day `days` working days before `day` (0: `day` itself)."""
        counted = 0
        while counted < days:
            day -= timedelta(days=1)
            if self.is_workday(day):
                counted += 1
        return day

    def working_days_between(self, start: date, end: date) -> int:
        """Working days after `start` up to and including `end` (negative when `end` is earlier)."""
        if end < start:
            return -self.working_days_between(end, start)
        return sum(1 for i in range(1, (end - start).days + 1) if self.is_workday(start + timedelta(days=i)))


DEFAULT_CALENDAR = WorkCalendar()


# --- the system's own table of holidays and make-up days ------------------------------------------------------

# Each change of the table counts this number up in the same transaction (a Counter row: key "calendar", year 0).
# Every process keeps the table it loaded with the number it read then, and asks the database for the number
# (one primary-key read) whenever it needs a calendar: an entry committed by another process is seen at once.
VERSION_KEY = "calendar"
_counter = table_of(Counter)
# Built once: the version is read whenever a calendar is asked for (inside every fire).
_VERSION = Prepared(sa.select(_counter.c.value).where(_counter.c.key == VERSION_KEY, _counter.c.year == 0))
_cached: dict[str, tuple[int, WorkCalendar]] = {}  # by database URL: the version read, the calendar loaded
_CHANGED = "zyz.calendar_changed"  # session.info: this transaction changed the table (not committed yet)


def changed_in(session: Session) -> bool:
    """Whether the session's transaction has changed the holiday table (not committed yet)."""
    return bool(session.info.get(_CHANGED))


def calendar_version(session: Session) -> int:
    """The number of the holiday table's last change (0: never changed)."""
    found = _VERSION.fetch(session.connection(), {})
    return int(found[0][0]) if found else 0


def bump_calendar_version(session: Session) -> int:
    """Count the table's version up inside the caller's transaction (the change and the number commit together)."""
    dialect = sqlite if is_sqlite(session) else postgresql
    statement = (dialect.insert(_counter).values(key=VERSION_KEY, year=0, value=1)
                 .on_conflict_do_update(index_elements=["key", "year"], set_={"value": _counter.c.value + 1})
                 .returning(_counter.c.value))
    session.info[_CHANGED] = True
    return int(session.connection().execute(statement).scalar_one())


def load_calendar(session: Session) -> WorkCalendar:
    """The calendar with every year entered in the database."""
    years = frozenset(session.exec(select(CalendarYear.year)).all())
    days = {d.day: d.is_workday for d in session.exec(select(CalendarDay)).all()} if years else {}
    return WorkCalendar(days, years)


def calendar_for(session: Session) -> WorkCalendar:
    """The database calendar: the one loaded before while the table's version is unchanged, else loaded again.

    The version is read before the table, so a change committed in between is loaded under the older number
    and loaded once more on the next call, never the other way round. The transaction that changes the table
    reads it uncached: should it roll back, its number would be given to another change.
    """
    if session.info.get(_CHANGED):
        return load_calendar(session)
    key = str(session.get_bind().engine.url)
    version = calendar_version(session)
    found = _cached.get(key)
    if found is None or found[0] != version:
        found = (version, load_calendar(session))
        _cached[key] = found
    return found[1]


def invalidate_calendar() -> None:
    """Forget every loaded table (a database emptied or restored under a running process)."""
    _cached.clear()


HOLIDAY_WORDS = {"holiday", "休", "假", "off"}
WORKDAY_WORDS = {"workday", "班", "调休上班", "work"}


def parse_days(text: str) -> tuple[list[tuple[date, bool, str | None]], list[str]]:
    """Lines 'YYYY-MM-DD holiday|workday|休|班 [note]' → days, and the problems found (with line numbers)."""
    days: list[tuple[date, bool, str | None]] = []
    problems: list[str] = []
    for number, line in enumerate(text.splitlines(), 1):
        line = line.split("#", 1)[0].strip().replace("，", ",").replace(",", " ")
        if not line:
            continue
        parts = line.split(None, 2)
        try:
            day = date.fromisoformat(parts[0])
        except ValueError:
            problems.append(f"第 {number} 行：日期应为 YYYY-MM-DD / line {number}: date must be YYYY-MM-DD")
            continue
        kind = parts[1].lower() if len(parts) > 1 else ""
        if kind not in HOLIDAY_WORDS | WORKDAY_WORDS:
            problems.append(f"第 {number} 行：类型应为 休 或 班 / line {number}: type must be holiday or workday")
            continue
        days.append((day, kind in WORKDAY_WORDS, parts[2].strip() if len(parts) > 2 else None))
    return days, problems


def package_year(year: int) -> list[tuple[date, bool, str | None]]:
    """The days of `year` where the chinese-calendar package departs from the weekend rule."""
    found = []
    day = date(year, 1, 1)
    while day.year == year:
        workday = bool(chinese_calendar.is_workday(day))
        if workday != (day.weekday() < 5):
            holiday = chinese_calendar.get_holiday_detail(day)[1]
            found.append((day, workday, str(holiday) if holiday else None))
        day += timedelta(days=1)
    return found
