"""When a task's progress report is due: monthly by the `settings.task_report_day`-th working day of the next month
(ZYZ_TASK_REPORT_DAY, default the 5th), or quarterly by that working day of the month after the quarter."""

from __future__ import annotations

from datetime import date

from workflow.core.calendar import WorkCalendar
from workflow.core.settings import settings

CYCLES = ("monthly", "quarterly")


def nth_working_day(year: int, month: int, n: int, calendar: WorkCalendar) -> date:
    """The `n`-th working day of the month (day 1 counts when it is a working day)."""
    day = date(year, month, 1)
    first = day if calendar.is_workday(day) else calendar.add_working_days(day, 1)[0]
    return calendar.add_working_days(first, n - 1)[0] if n > 1 else first


def _next_month(year: int, month: int) -> tuple[int, int]:
    return (year + 1, 1) if month == 12 else (year, month + 1)


def period_of(day: date, cycle: str) -> str:
    """The period a day falls in: 2026-11 (monthly) or 2026-Q4 (quarterly)."""
    if cycle == "quarterly":
        return f"{day.year}-Q{(day.month - 1) // 3 + 1}"
    return f"{day.year}-{day.month:02d}"


def due_for_period(period: str, calendar: WorkCalendar) -> date:
    """The day the report on `period` is due: the report day of the month after it."""
    year, rest = period.split("-")
    last_month = int(rest[1:]) * 3 if rest.startswith("Q") else int(rest)
    y, m = _next_month(int(year), last_month)
    return nth_working_day(y, m, settings.task_report_day, calendar)


def next_period(period: str) -> str:
    year, rest = period.split("-")
    if rest.startswith("Q"):
        q = int(rest[1:])
        return f"{int(year) + 1}-Q1" if q == 4 else f"{year}-Q{q + 1}"
    y, m = _next_month(int(year), int(rest))
    return f"{y}-{m:02d}"


def first_report(today: date, cycle: str, calendar: WorkCalendar) -> tuple[str, date]:
    """The first period a new task reports on (the current one) and its due day."""
    period = period_of(today, cycle)
    return period, due_for_period(period, calendar)


def following_report(period: str, today: date, calendar: WorkCalendar) -> tuple[str, date]:
    """The period reported on after `period` whose report is not yet past due on `today`, and its due day."""
    period = next_period(period)
    due = due_for_period(period, calendar)
    while due < today:
        period = next_period(period)
        due = due_for_period(period, calendar)
    return period, due
