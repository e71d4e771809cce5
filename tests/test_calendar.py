"""Working days: the package's years, the system's own table, weekends-only estimates and the office's warning."""

from datetime import date

import pytest
from click.testing import CliRunner
from sqlmodel import select

from conftest import csrf_token, login
from workflow.actors import Actor
from workflow.calendar import WorkCalendar, calendar_for, invalidate_calendar, parse_days
from workflow.db import transaction
from workflow.errors import Forbidden, Unprocessable
from workflow.models import Deadline, Notification
from workflow.services.calendar_admin import enter_year

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
        cal = calendar_for(s, now)
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
    assert rows[second.id].due_date == "2027-01-08"
    assert (rows[third.id].due_date, rows[third.id].is_estimated) == ("2027-01-11", False)


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
