"""The deadline a person sets (workflow.core.reasons.due_date_reasons), day by day at its limits: each refusal
names the field and says in both languages what to choose instead."""

from datetime import date

import pytest

from workflow.core.access import MAX_ID
from workflow.core.calendar import WorkCalendar
from workflow.core.reasons import due_date_reasons, parse_whole
from workflow.core.settings import configure, settings

TODAY = date(2026, 11, 27)  # a Friday
CALENDAR = WorkCalendar(overrides={}, entered_years=frozenset({2026}))


@pytest.fixture
def limit():
    before = settings.max_due_days

    def set_to(days: int) -> None:
        configure(max_due_days=days)

    yield set_to
    configure(max_due_days=before)


def check(value):
    return due_date_reasons(value, field="due_date", zh="整改期限", en="due date", today=TODAY, calendar=CALENDAR)


def test_not_a_date_or_not_after_today(limit):
    limit(10)
    assert check("2026-13-01") == [{"zh": "整改期限不是有效日期，请按 YYYY-MM-DD 填写",
                                    "en": "due date must be a real date written YYYY-MM-DD", "field": "due_date"}]
    assert check("2026-11-27") == [{"zh": "整改期限必须是今天以后的日期", "en": "due date must be a date after today",
                                    "field": "due_date"}]


def test_the_last_day_of_the_limit_is_allowed_and_the_next_refused(limit):
    limit(10)  # by Monday 7 December
    assert check("2026-12-07") == []
    assert check("2026-12-08") == [{"zh": "整改期限不能晚于 2026-12-07（今天起 10 天以内）",
                                    "en": "due date may be at most 10 days away (by 2026-12-07)",
                                    "field": "due_date"}]


def test_a_day_off_names_the_next_working_day_even_on_the_last_day_of_the_limit(limit):
    limit(10)
    assert check("2026-12-06") == [{"zh": "整改期限：2026年12月6日是休息日，请改为下一个工作日 2026-12-07",
                                    "en": "due date: 2026-12-06 is a day off; choose the next working day, 2026-12-07",
                                    "field": "due_date"}]


def test_a_day_off_at_the_limit_names_the_working_day_before(limit):
    limit(8)  # by Saturday 5 December: Monday is too late
    assert check("2026-12-05") == [{"zh": "整改期限：2026年12月5日是休息日，请改为前一个工作日 2026-12-04",
                                    "en": "due date: 2026-12-05 is a day off; choose the working day before, "
                                          "2026-12-04", "field": "due_date"}]


def test_a_day_off_with_no_working_day_left_within_the_limit(limit):
    limit(1)  # by Saturday 28 November: the working day before is today
    assert check("2026-11-28") == [{"zh": "整改期限：2026年11月28日是休息日，请选择工作日",
                                    "en": "due date: 2026-11-28 is a day off; choose a working day",
                                    "field": "due_date"}]


BAD = ["²", "١٢", "①", "１２", " 12", "12 ", "+12", "-1", "1_000", "0x10", "1.0", "1e3", "12\n"]


# --- a whole number typed by a person (a page, a year, an id): ASCII digits only --------------------------------------


@pytest.mark.parametrize("raw, number", [("1", 1), ("12", 12), ("007", 7), (str(MAX_ID), MAX_ID)])
def test_ascii_digits_within_the_range_are_the_number(raw, number):
    assert parse_whole(raw) == number


@pytest.mark.parametrize("raw", [*BAD, "", "0", str(2**31), "9" * 5000, None, 12, 1.0])
def test_anything_else_is_the_default(raw):
    assert parse_whole(raw) is None
    assert parse_whole(raw, default=1) == 1


def test_the_caller_sets_the_range():
    assert parse_whole("0", low=0) == 0
    assert parse_whole("2026", low=1000, high=9999) == 2026
    assert parse_whole("999", low=1000, high=9999, default=2025) == 2025
    assert parse_whole("10000", low=1000, high=9999, default=2025) == 2025
    assert parse_whole("00002026", low=1000, high=9999) == 2026  # leading zeros do not count towards the length
    assert parse_whole(str(2**31), high=2**62) == 2**31
    assert parse_whole("١٢", low=0, high=99) is None
