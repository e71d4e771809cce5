"""A deadline the office sets (an order's, through a finding, an extension granted, a reissue) or a county asks
for (an extension) is a real date after today, at most ZYZ_MAX_DUE_DAYS days ahead, and a working day; a day off
is refused with the working day to choose instead named in the message."""

from __future__ import annotations

import pytest

from conftest import footprint, reload
from workflow.core.actors import Actor
from workflow.core.calendar import invalidate_calendar
from workflow.core.calendar_admin import enter_year
from workflow.core.db import transaction
from workflow.core.engine import create_case, fire
from workflow.core.errors import Unprocessable
from workflow.core.settings import configure, settings

# Spring Festival 2027 as the administrator would enter it: 5 and 8-12 February off, Sunday 7 February worked.
SPRING_FESTIVAL_2027 = """
2027-01-01 休 元旦
2027-02-05 休 春节
2027-02-08 休 春节
2027-02-09 休 春节
2027-02-10 休 春节
2027-02-11 休 春节
2027-02-12 休 春节
2027-02-07 班 春节调休
"""


@pytest.fixture(autouse=True)
def _calendar_2027(db, now):
    invalidate_calendar()
    with transaction(db) as s:
        enter_year(s, year=2027, text=SPRING_FESTIVAL_2027, actor=Actor.system(), now=now)
    yield
    invalidate_calendar()


@pytest.fixture
def max_due_days():
    """Set ZYZ_MAX_DUE_DAYS's setting for one test."""
    before = settings.max_due_days

    def set_to(days: int) -> None:
        configure(max_due_days=days)

    yield set_to
    configure(max_due_days=before)


class Setter:
    """One way a deadline is set: `attempt(day)` fires it with `day`; `stored()` is the order's due date after."""

    def __init__(self, make, db, now, way: str):
        self.make, self.db, self.now, self.way = make, db, now, way
        self.office = make.user("office")
        self.county = make.user("county")
        self.order_id: int | None = None
        self.case_id: int | None = None
        if way in ("request_extension", "grant_extension", "reissue"):
            state = {"request_extension": "rectifying", "grant_extension": "extension_requested",
                     "reissue": "criticised"}[way]
            self.case_id = self.order_id = make.case("rectification", state=state, by=self.office,
                                                     data={"problem": "台账不全"}).id
        elif way == "decide_finding":
            inspection = make.case("inspection", state="in_progress", by=self.office)
            with transaction(db) as s:
                fire(session=s, case_id=inspection.id, trigger="record_finding", actor=make.actor(self.office),
                     now=now, payload={"finding": {"text": "检验检测平台未运行", "severity": "high"}})
            self.case_id = inspection.id
        self.town = make.town()

    def attempt(self, day) -> None:
        office = self.make.actor(self.office)
        with transaction(self.db) as s:
            if self.way == "order":
                self.order_id = create_case(session=s, definition_key="rectification", actor=office, now=self.now,
                                            town_id=self.town.id, data={"problem": "台账不全", "due_date": day}).id
            elif self.way == "decide_finding":
                case = fire(session=s, case_id=self.case_id, trigger="decide_finding", actor=office, now=self.now,
                            payload={"finding_no": 1, "decision": "rectify", "due_date": day})
                self.order_id = case.data["findings"][0]["order_id"]
            elif self.way == "request_extension":
                fire(session=s, case_id=self.case_id, trigger="request_extension",
                     actor=self.make.actor(self.county), now=self.now, payload={"requested_due_date": day},
                     comment="春节期间企业停工")
            else:
                fire(session=s, case_id=self.case_id, trigger=self.way, actor=office, now=self.now,
                     payload={"due_date": day})

    def refused(self, day) -> Unprocessable:
        before = footprint(self.db)
        with pytest.raises(Unprocessable) as refused:
            self.attempt(day)
        assert footprint(self.db) == before, "a refused deadline writes nothing"
        return refused.value

    def stored(self) -> str:
        data = reload(self.db, self.order_id).data
        return data["requested_due_date"] if self.way == "request_extension" else data["due_date"]

    @property
    def field(self) -> str:
        return "requested_due_date" if self.way == "request_extension" else "due_date"


WAYS = ["order", "decide_finding", "request_extension", "grant_extension", "reissue"]


@pytest.fixture(params=WAYS)
def setter(request, make, db, now):
    return Setter(make, db, now, request.param)


def test_a_holiday_is_refused_and_the_next_working_day_named(setter):
    refused = setter.refused("2027-02-09")
    [found] = [d for d in refused.details if d["field"] == setter.field]
    assert "2027年2月9日是休息日，请改为下一个工作日 2027-02-15" in found["zh"]
    assert "2027-02-09 is a day off; choose the next working day, 2027-02-15" in found["en"]
    assert found["zh"] in refused.zh and found["en"] in refused.en
    setter.attempt("2027-02-15")
    assert setter.stored() == "2027-02-15"


def test_a_weekend_is_refused_but_a_make_up_sunday_is_a_working_day(setter):
    refused = setter.refused("2027-02-13")  # a Saturday; the Monday after is the next working day
    assert "2027年2月13日是休息日，请改为下一个工作日 2027-02-15" in refused.zh
    setter.attempt("2027-02-07")
    assert setter.stored() == "2027-02-07"


def test_today_and_the_past_are_refused(setter):
    # `now` is Friday 27 November 2026; an extension asked for must even come after the current deadline
    expected = "申请的新期限必须晚于当前期限" if setter.way == "request_extension" else "必须是今天以后的日期"
    for day in ("2026-11-27", "2026-11-20", "2025-12-31"):
        assert expected in setter.refused(day).zh


def test_at_most_a_year_ahead(setter):
    # today is 2026-11-27: 366 days ahead is Sunday 2027-11-28, so the last working day allowed is Friday the 26th
    refused = setter.refused("2027-11-29")
    assert "不能晚于 2027-11-28（今天起 366 天以内）" in refused.zh
    assert "at most 366 days away (by 2027-11-28)" in refused.en
    setter.attempt("2027-11-26")
    assert setter.stored() == "2027-11-26"


def test_a_day_off_at_the_limit_names_the_working_day_before(make, db, now):
    """The next working day after Saturday 2027-11-27 lies beyond the limit: the Friday before is named."""
    setter = Setter(make, db, now, "grant_extension")
    refused = setter.refused("2027-11-27")
    assert "2027年11月27日是休息日，请改为前一个工作日 2027-11-26" in refused.zh


def test_the_limit_is_a_setting(make, db, now, max_due_days):
    max_due_days(30)
    setter = Setter(make, db, now, "reissue")
    assert "不能晚于 2026-12-27（今天起 30 天以内）" in setter.refused("2026-12-28").zh
    setter.attempt("2026-12-25")
    assert setter.stored() == "2026-12-25"


@pytest.mark.parametrize("day", [20270216, 20270216.0, True, ["2027-02-16"], {"date": "2027-02-16"},
                                 "2027-02-30", "20270216", "2027-2-16", " 2027-02-16", "2027-02-16T00:00"],
                         ids=["int", "float", "bool", "list", "object", "30 February", "no dashes", "one digit",
                              "blank before", "with a time"])
def test_a_deadline_that_is_not_a_date_written_yyyy_mm_dd_is_refused(make, db, now, day):
    """The API once stored 20270216 as an integer; every way of setting a deadline refuses it now."""
    for way in WAYS:
        setter = Setter(make, db, now, way)
        refused = setter.refused(day)
        reasons = [d for d in refused.details if d.get("field") == setter.field]
        assert len(reasons) == 1, refused.details  # said once, not again by the guard
        assert "YYYY-MM-DD" in reasons[0]["zh"] and "YYYY-MM-DD" in reasons[0]["en"]
