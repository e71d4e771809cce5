"""Small helpers the guard modules share."""

from __future__ import annotations

import re
from datetime import date, timedelta
from typing import Any, TypeVar, overload

from workflow.core.access import MAX_ID
from workflow.core.calendar import WorkCalendar
from workflow.core.settings import settings

ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
ASCII_DIGITS = re.compile(r"[0-9]+")
T = TypeVar("T")


def reason(zh: str, en: str, field: str | None = None) -> dict[str, Any]:
    """One refusal reason in both languages, tied to a form field when there is one."""
    found: dict[str, Any] = {"zh": zh, "en": en}
    if field:
        found["field"] = field
    return found


@overload
def parse_whole(raw: object, *, low: int = 1, high: int = MAX_ID) -> int | None: ...
@overload
def parse_whole(raw: object, *, low: int = 1, high: int = MAX_ID, default: T) -> int | T: ...
def parse_whole(raw: object, *, low: int = 1, high: int = MAX_ID, default: object = None) -> object:
    """A whole number a person typed (a query string, a form, an API parameter): ASCII digits only, from `low` to
    `high` (by default what an id may be); `default` for anything else: no sign, no spaces, no underscores, no
    other script's digits ("١٢", "１２"), no superscripts or circled digits ("²", "①"), nothing out of range."""
    if not isinstance(raw, str) or not ASCII_DIGITS.fullmatch(raw):
        return default
    if len(raw.lstrip("0")) > len(str(high)):  # too long to be in range: not worth converting
        return default
    number = int(raw)
    return number if low <= number <= high else default


def parse_date(value: Any) -> date | None:
    """A real date written YYYY-MM-DD, or None for anything else (a number such as 20270216, 2027-02-30, ...)."""
    if not isinstance(value, str) or not ISO_DATE.fullmatch(value):
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        return None


def due_date_reasons(value: Any, *, field: str, zh: str, en: str, today: date,
                     calendar: WorkCalendar) -> list[dict[str, Any]]:
    """A deadline a person sets: a real date after today, at most `settings.max_due_days` days away, on a working
    day; a day off is refused with the working day to choose instead named in the reason."""
    day = parse_date(value)
    if day is None:
        return [reason(f"{zh}不是有效日期，请按 YYYY-MM-DD 填写", f"{en} must be a real date written YYYY-MM-DD",
                       field)]
    if day <= today:
        return [reason(f"{zh}必须是今天以后的日期", f"{en} must be a date after today", field)]
    days = settings.max_due_days
    latest = today + timedelta(days=days)
    if day > latest:
        return [reason(f"{zh}不能晚于 {latest.isoformat()}（今天起 {days} 天以内）",
                       f"{en} may be at most {days} days away (by {latest.isoformat()})", field)]
    if calendar.is_workday(day):
        return []
    off = (f"{zh}：{day.year}年{day.month}月{day.day}日是休息日", f"{en}: {day.isoformat()} is a day off")
    later, _estimated = calendar.add_working_days(day, 1)
    if later <= latest:
        return [reason(f"{off[0]}，请改为下一个工作日 {later.isoformat()}",
                       f"{off[1]}; choose the next working day, {later.isoformat()}", field)]
    earlier = calendar.working_days_before(day, 1)
    if earlier > today:  # the next working day lies beyond the limit: the one before is the latest possible
        return [reason(f"{off[0]}，请改为前一个工作日 {earlier.isoformat()}",
                       f"{off[1]}; choose the working day before, {earlier.isoformat()}", field)]
    return [reason(f"{off[0]}，请选择工作日", f"{off[1]}; choose a working day", field)]
