"""Working days: weekends and statutory holidays skipped, official make-up days (调休) counted."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime, time, timedelta
from functools import cache, lru_cache
from zoneinfo import ZoneInfo

import chinese_calendar

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

RELOAD_AFTER = timedelta(seconds=60)  # other processes' edits are seen within a minute
_cached: dict[str, tuple[datetime, WorkCalendar]] = {}  # by database URL


def load_calendar(session) -> WorkCalendar:
    """The calendar with every year entered in the database."""
    from sqlmodel import select

    from workflow.core.models import CalendarDay, CalendarYear

    years = frozenset(session.exec(select(CalendarYear.year)).all())
    days = {d.day: d.is_workday for d in session.exec(select(CalendarDay)).all()} if years else {}
    return WorkCalendar(days, years)


def calendar_for(session, now: datetime) -> WorkCalendar:
    """The database calendar, reloaded when older than a minute (or after an edit in this process)."""
    key = str(session.get_bind().url)
    found = _cached.get(key)
    if found is None or not found[0] <= now < found[0] + RELOAD_AFTER:
        found = (now, load_calendar(session))
        _cached[key] = found
    return found[1]


def invalidate_calendar() -> None:
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
