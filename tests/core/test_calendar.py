"""Working days: the package's years, the system's own table, weekends-only estimates and the office's warning."""

import os
import subprocess
import sys
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from click.testing import CliRunner
from sqlmodel import select

from conftest import csrf_token, login
from workflow.core.actors import Actor
from workflow.core.calendar import (
    LOCAL_TZ,
    WorkCalendar,
    bump_calendar_version,
    calendar_for,
    calendar_version,
    changed_in,
    invalidate_calendar,
    local_date,
    local_moment,
    package_year,
    parse_days,
    shown_time,
    to_local,
)
from workflow.core.calendar_admin import enter_year
from workflow.core.db import make_engine, make_session_factory, migrate, transaction
from workflow.core.errors import Forbidden, Unprocessable
from workflow.core.models import CalendarDay, CalendarYear, Deadline, Notification

# The State Council's 2027 arrangement as the city would enter it (holidays on weekdays, make-up Saturdays/Sundays).
HOLIDAYS_2027 = """
2027-01-01 休 元旦
2027-02-05 休 春节
2027-02-08 休 春节
2027-02-09 休 春节
2027-02-10 休 春节
2027-02-11 休 春节
2027-02-12 休 春节
2027-02-07 班 春节调休
2027-02-20 班 春节调休
"""


@pytest.fixture(autouse=True)
def _fresh_calendar_cache():
    invalidate_calendar()
    yield
    invalidate_calendar()


def test_package_years_skip_holidays_and_count_make_up_days():
    cal = WorkCalendar()
    # 2026 National Day: 1-7 October off; Saturday 10 October is a make-up working day
    assert not cal.is_workday(date(2026, 10, 1)) and not cal.is_workday(date(2026, 10, 7))
    assert cal.is_workday(date(2026, 10, 10))
    due, estimated = cal.add_working_days(date(2026, 9, 30), 1)
    assert (due, estimated) == (date(2026, 10, 8), False)
    assert cal.add_working_days(date(2026, 10, 9), 1)[0] == date(2026, 10, 10)


def test_an_unknown_year_counts_weekends_only_and_says_so():
    cal = WorkCalendar()
    due, estimated = cal.add_working_days(date(2026, 11, 27), 30)
    assert estimated is True
    assert due == date(2027, 1, 8)  # 30 weekdays after Friday 27 November, New Year's Day counted as a weekday


def test_an_entered_year_is_used(db, now):
    with transaction(db) as s:
        enter_year(s, year=2027, text=HOLIDAYS_2027, actor=Actor.system(), now=now)
    with transaction(db) as s:
        cal = calendar_for(s)
    due, estimated = cal.add_working_days(date(2026, 11, 27), 30)
    assert estimated is False
    assert due == date(2027, 1, 11)  # New Year's Day is now a holiday
    assert not cal.is_workday(date(2027, 2, 9)) and cal.is_workday(date(2027, 2, 7))


def test_bad_tables_are_refused_whole(db, now):
    days, problems = parse_days("2027-13-01 休\n2027-01-02 maybe\n")
    assert days == [] and len(problems) == 2
    with transaction(db) as s, pytest.raises(Unprocessable) as refused:
        enter_year(s, year=2027, text="2028-01-01 休", actor=Actor.system(), now=now)
    assert "不属于 2027 年" in refused.value.zh
    county = Actor(user_id=1, name="x", role="county", unit_id=1, unit_name="盂县")
    with transaction(db) as s, pytest.raises(Forbidden):
        enter_year(s, year=2027, text=HOLIDAYS_2027, actor=county, now=now)


def test_an_order_into_2027_before_and_after_the_year_is_entered(make, db, now):
    office = make.user("office")
    first = make.case("rectification", data={"problem": "台账不全"}, by=office)
    with transaction(db) as s:
        row = s.exec(select(Deadline).where(Deadline.case_id == first.id, Deadline.kind == "expiry")).one()
        warned = s.exec(select(Notification).where(Notification.kind == "calendar_missing")).all()
    assert (row.due_date, row.is_estimated) == ("2027-01-08", True)
    assert [n.user_id for n in warned] == [office.id] and warned[0].params == {"year": 2027}

    second = make.case("rectification", data={"problem": "台账不全"}, by=office)  # no second warning this year
    with transaction(db) as s:
        assert len(s.exec(select(Notification).where(Notification.kind == "calendar_missing")).all()) == 1
        enter_year(s, year=2027, text=HOLIDAYS_2027, actor=Actor.system(), now=now)
    third = make.case("rectification", data={"problem": "台账不全"}, by=office)
    with transaction(db) as s:
        rows = {d.case_id: d for d in s.exec(select(Deadline).where(Deadline.kind == "expiry")).all()}
    # the estimates are counted again with the entered year; the order issued afterwards is counted with it
    assert {c.id: (rows[c.id].due_date, rows[c.id].is_estimated) for c in (first, second, third)} == {
        c.id: ("2027-01-11", False) for c in (first, second, third)}


def test_admin_enters_a_year_on_the_page_and_with_the_command(make, app, client, db):
    admin = make.user("admin")
    login(client, admin.username)
    page = client.get("/admin/calendar").get_data(as_text=True)
    assert "2027" in page
    token = csrf_token(client, "/admin/calendar/2027")
    bad = client.post("/admin/calendar/2027", data={"days": "2027-02-30 休", "csrf_token": token})
    assert bad.status_code == 422 and "日期应为" in bad.get_data(as_text=True)
    ok = client.post("/admin/calendar/2027", data={"days": HOLIDAYS_2027, "csrf_token": token})
    assert ok.status_code == 302

    from webapp.cli import main

    runner = CliRunner()
    listed = runner.invoke(main, ["calendar", "list", "2027"], obj=_script_info(app))
    assert listed.exit_code == 0 and "2027-02-07 班" in listed.output and "entered" in listed.output
    copied = runner.invoke(main, ["calendar", "import", "2025", "--from-package"], obj=_script_info(app))
    assert copied.exit_code == 0, copied.output
    assert "2025-10-01 休" in runner.invoke(main, ["calendar", "list", "2025"], obj=_script_info(app)).output


def test_county_cannot_reach_the_calendar_page(make, client):
    county = make.user("county")
    login(client, county.username)
    assert client.get("/admin/calendar").status_code == 403


def _script_info(app):
    from flask.cli import ScriptInfo

    return ScriptInfo(create_app=lambda: app)


# --- Beijing dates of UTC moments ---------------------------------------------------------------------------------


def test_a_moment_falls_on_its_beijing_date():
    # 16:00 UTC is midnight in Beijing: the last UTC second of 30 November is already 1 December there
    assert local_date(datetime(2026, 11, 30, 15, 59, 59, tzinfo=UTC)) == date(2026, 11, 30)
    assert local_date(datetime(2026, 11, 30, 16, 0, tzinfo=UTC)) == date(2026, 12, 1)
    assert local_date(datetime(2026, 11, 30, 16, 0)) == date(2026, 12, 1)  # naive values are UTC


def test_a_beijing_date_and_clock_time_is_a_utc_moment():
    assert local_moment(date(2026, 12, 1)) == datetime(2026, 11, 30, 16, 0, tzinfo=UTC)
    nine = local_moment(date(2026, 12, 1), time(9, 0))
    assert nine == datetime(2026, 12, 1, 1, 0, tzinfo=UTC) and nine.utcoffset() == timedelta(0)


def test_times_are_shown_in_beijing_time():
    shown = to_local(datetime(2026, 11, 30, 16, 30, tzinfo=UTC))
    assert (shown.date(), shown.hour, shown.minute) == (date(2026, 12, 1), 0, 30)
    assert shown.tzinfo == LOCAL_TZ
    assert to_local(datetime(2026, 11, 30, 16, 30)) == shown  # naive values are UTC


# --- counting back and between ------------------------------------------------------------------------------------


def test_reminder_days_count_back_over_holidays_and_make_up_days():
    cal = WorkCalendar()
    due = date(2026, 10, 12)  # Monday after National Day; Saturday 10 October is a make-up working day
    assert cal.working_days_before(due, 0) == due
    assert cal.working_days_before(due, 1) == date(2026, 10, 10)
    assert cal.working_days_before(due, 2) == date(2026, 10, 9)
    assert cal.working_days_before(due, 3) == date(2026, 10, 8)
    assert cal.working_days_before(due, 4) == date(2026, 9, 30)  # 1-7 October are holidays
    assert cal.working_days_before(date(2026, 11, 30), 1) == date(2026, 11, 27)  # Monday → Friday


def test_working_days_between_counts_after_start_up_to_end_and_negative_backwards():
    cal = WorkCalendar()
    friday, monday = date(2026, 11, 27), date(2026, 11, 30)
    assert cal.working_days_between(friday, friday) == 0
    assert cal.working_days_between(friday, monday) == 1  # the weekend does not count
    assert cal.working_days_between(monday, friday) == -1  # "已逾期 1 个工作日"
    assert cal.working_days_between(friday, date(2026, 12, 4)) == 5
    assert cal.working_days_between(date(2026, 9, 30), date(2026, 10, 12)) == 4  # 8, 9, 10 (make-up), 12
    assert cal.working_days_between(date(2026, 10, 12), date(2026, 9, 30)) == -4
    assert cal.working_days_between(date(2026, 10, 1), date(2026, 10, 7)) == 0  # inside the holiday


# --- the database calendar, cached per database until its table changes ------------------------------------------


def _enter_directly(db, year: int, days: dict[date, bool]) -> None:
    """Rows written without the table's version: no process is told of them."""
    with transaction(db) as s:
        conn = s.connection()
        conn.execute(sa.insert(CalendarYear.__table__),
                     [{"year": year, "entered_at": datetime(2026, 11, 27, tzinfo=UTC), "entered_by": "其他进程"}])
        conn.execute(sa.insert(CalendarDay.__table__), [{"day": d, "is_workday": w, "note": None}
                                                        for d, w in days.items()])


def test_the_table_is_loaded_again_only_when_its_version_changes(db):
    new_year = date(2027, 1, 1)  # a Friday, a weekday under the weekend rule
    with transaction(db) as s:
        assert calendar_version(s) == 0 and calendar_for(s).is_workday(new_year)
    _enter_directly(db, 2027, {new_year: False})
    with transaction(db) as s:
        assert calendar_for(s).is_workday(new_year)  # the same version: the table loaded before
    with transaction(db) as s:
        assert bump_calendar_version(s) == 1
    with transaction(db) as s:
        assert calendar_version(s) == 1 and not calendar_for(s).is_workday(new_year)


def test_a_transaction_that_counts_the_version_up_knows_it_changed_the_table_and_the_next_does_not(db):
    """A year checked once in a transaction is checked again after the transaction has changed the holiday table."""
    with transaction(db) as s:
        assert changed_in(s) is False
        bump_calendar_version(s)
        assert changed_in(s) is True
    with transaction(db) as s:
        assert changed_in(s) is False


def test_each_entry_counts_the_version_up(db, now):
    for expected in (1, 2):
        with transaction(db) as s:
            enter_year(s, year=2027, text=HOLIDAYS_2027, actor=Actor.system(), now=now)
        with transaction(db) as s:
            assert calendar_version(s) == expected
    with transaction(db) as s, pytest.raises(Unprocessable):
        enter_year(s, year=2027, text="2027-02-30 休", actor=Actor.system(), now=now)
    with transaction(db) as s:
        assert calendar_version(s) == 2  # a refused table changes nothing


def test_an_entry_by_another_process_is_seen_at_once(make, db, database_url, tmp_path):
    """A web worker holds the calendar it loaded; `zyz calendar import` runs as a process of its own."""
    office = make.user("office")
    new_year = date(2027, 1, 1)
    with transaction(db) as s:
        assert calendar_for(s).is_workday(new_year)
    table = tmp_path / "2027.txt"
    table.write_text(HOLIDAYS_2027, encoding="utf-8")
    env = {**os.environ, "ZYZ_DATABASE_URL": database_url, "ZYZ_ENV": "test",
           "ZYZ_INSTANCE_PATH": str(tmp_path / "instance")}
    done = subprocess.run([str(Path(sys.executable).parent / "zyz"), "calendar", "import", "2027", str(table)],
                          env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    with transaction(db) as s:
        assert not calendar_for(s).is_workday(new_year)
    order = make.case("rectification", data={"problem": "台账不全"}, by=office)  # counted in this process
    with transaction(db) as s:
        row = s.exec(select(Deadline).where(Deadline.case_id == order.id, Deadline.kind == "expiry")).one()
    assert (row.due_date, row.is_estimated) == ("2027-01-11", False)


def test_a_rolled_back_entry_leaves_no_table_behind(db, now):
    new_year, monday = date(2027, 1, 1), date(2027, 1, 4)
    with pytest.raises(RuntimeError), transaction(db) as s:
        enter_year(s, year=2027, text="2027-01-01 休", actor=Actor.system(), now=now)
        assert not calendar_for(s).is_workday(new_year)  # the transaction counts with its own table
        raise RuntimeError("the entry fails after all")
    with transaction(db) as s:
        enter_year(s, year=2027, text="2027-01-04 休", actor=Actor.system(), now=now)  # the same version number
    with transaction(db) as s:
        calendar = calendar_for(s)
    assert calendar.is_workday(new_year) and not calendar.is_workday(monday)


def test_each_database_has_its_own_calendar(db, tmp_path):
    other_engine = make_engine(f"sqlite:///{tmp_path / 'other.db'}")
    migrate(other_engine)
    other = make_session_factory(other_engine)
    new_year = date(2027, 1, 1)
    _enter_directly(other, 2027, {new_year: False})
    try:
        with transaction(other) as s:
            assert not calendar_for(s).is_workday(new_year)
        with transaction(db) as s:
            assert calendar_for(s).is_workday(new_year)
        with transaction(other) as s:
            assert not calendar_for(s).is_workday(new_year)
    finally:
        other_engine.dispose()


# --- the holiday file ---------------------------------------------------------------------------------------------


def test_the_holiday_file_takes_comments_commas_and_notes_of_several_words():
    text = """# 2027 年节假日安排（国务院办公厅通知）

2027-01-01 休 元旦  # a comment
2027-02-07，班，春节 调休 上班  # full-width commas, a note of three words
2027-02-20,Workday
2027-10-01 Holiday 国庆节 # first # second
"""
    days, problems = parse_days(text)
    assert problems == []
    assert days == [(date(2027, 1, 1), False, "元旦"),
                    (date(2027, 2, 7), True, "春节 调休 上班"),
                    (date(2027, 2, 20), True, None),
                    (date(2027, 10, 1), False, "国庆节")]


def test_the_holiday_file_names_the_line_of_each_problem():
    text = "# 2027\n\n2027-01-01 休\n2027-02-30 休\n2027-02-07\n2027-02-08 maybe\n2027-02-09 off\n"
    days, problems = parse_days(text)
    assert days == [(date(2027, 1, 1), False, None), (date(2027, 2, 9), False, None)]
    assert problems == ["第 4 行：日期应为 YYYY-MM-DD / line 4: date must be YYYY-MM-DD",
                        "第 5 行：类型应为 休 或 班 / line 5: type must be holiday or workday",
                        "第 6 行：类型应为 休 或 班 / line 6: type must be holiday or workday"]


def test_the_package_year_lists_the_days_that_depart_from_the_weekend_rule():
    days = package_year(2026)
    assert days[0] == (date(2026, 1, 1), False, "New Year's Day")  # the first day of the year counts
    assert (date(2026, 10, 1), False, "National Day") in days
    assert (date(2026, 10, 10), True, "National Day") in days  # a make-up Saturday
    listed = {d for d, _, _ in days}
    assert date(2026, 11, 28) not in listed and date(2026, 11, 27) not in listed  # an ordinary Saturday, Friday
    assert all(d.year == 2026 for d in listed) and len(days) == 25


def test_dates_and_moments_do_not_depend_on_the_server_clock(monkeypatch):
    """A server set to Beijing time (or any other) reads naive values as UTC and answers in UTC."""
    import time as clock

    monkeypatch.setenv("TZ", "Asia/Shanghai")
    clock.tzset()
    try:
        assert local_date(datetime(2026, 11, 30, 16, 0)) == date(2026, 12, 1)  # naive: UTC
        assert to_local(datetime(2026, 11, 30, 16, 30)).hour == 0
        evening = datetime(2026, 11, 30, 20, 0, tzinfo=LOCAL_TZ)  # already Beijing time: kept as it is
        assert local_date(evening) == date(2026, 11, 30) and to_local(evening).hour == 20
        nine = local_moment(date(2026, 12, 1), time(9, 0))
        assert nine.utcoffset() == timedelta(0) and nine.hour == 1
    finally:
        monkeypatch.delenv("TZ")
        clock.tzset()


def test_working_days_between_counts_the_first_day_after_the_start():
    cal = WorkCalendar()
    assert cal.working_days_between(date(2026, 11, 30), date(2026, 12, 1)) == 1  # Monday to Tuesday
    assert cal.working_days_between(date(2026, 11, 30), date(2026, 12, 4)) == 4


def test_a_moment_is_shown_in_beijing_time_and_empty_or_unreadable_text_as_it_is():
    """Every page, document and message shows a time through shown_time: the data's ISO text or a datetime, naive
    ones read as UTC, in Beijing time; nothing, empty text or text that is no time is never shown as a wrong time."""
    assert shown_time("2026-12-03T16:30:00+00:00") == "2026-12-04 00:30"
    assert shown_time(datetime(2026, 12, 3, 16, 30, tzinfo=UTC)) == "2026-12-04 00:30"
    assert shown_time(datetime(2026, 12, 3, 16, 30)) == "2026-12-04 00:30"  # naive: UTC
    assert shown_time("2026-12-03T16:30:00", "%H:%M") == "00:30"
    assert (shown_time(None), shown_time(""), shown_time("下周一前")) == ("", "", "下周一前")
