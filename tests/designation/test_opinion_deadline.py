"""The office may set the joint review's opinion deadline itself: a real working day after today, at most
ZYZ_MAX_DUE_DAYS days ahead; left empty, it is seven working days."""

from __future__ import annotations

import pytest

from conftest import footprint, reload
from workflow.core.db import transaction
from workflow.core.engine import fire
from workflow.core.errors import Unprocessable


@pytest.fixture
def submitted(make, complete_application):
    county = make.user("county", county="盂县")
    case = make.case("designation", state="submitted", by=county, data=complete_application)
    return case, make.user("office"), make.user("member", unit="市科技局")


def _accept(make, db, now, case, office, member, day):
    with transaction(db) as s:
        fire(session=s, case_id=case.id, trigger="accept", actor=make.actor(office), now=now,
             payload={"member_units": [member.unit_id], "opinion_due_date": day})


@pytest.mark.parametrize(("day", "expected"), [
    ("2026-12-05", "会审意见期限：2026年12月5日是休息日，请改为下一个工作日 2026-12-07"),  # a Saturday
    ("2026-11-27", "会审意见期限必须是今天以后的日期"),  # today
    ("2028-01-03", "会审意见期限不能晚于 2027-11-28（今天起 366 天以内）"),
    (20261204, "意见截止日期应为 YYYY-MM-DD 格式的有效日期"),
    ("2026-12-32", "意见截止日期应为 YYYY-MM-DD 格式的有效日期"),
], ids=["Saturday", "today", "beyond the limit", "a number", "no such day"])
def test_an_opinion_deadline_off_a_working_day_or_out_of_range_is_refused(make, db, now, submitted, day, expected):
    case, office, member = submitted
    before = footprint(db)
    with pytest.raises(Unprocessable) as refused:
        _accept(make, db, now, case, office, member, day)
    assert [d["zh"] for d in refused.value.details] == [expected]
    assert footprint(db) == before


def test_a_working_day_within_the_limit_is_the_deadline(make, db, now, submitted):
    case, office, member = submitted
    _accept(make, db, now, case, office, member, "2026-12-07")
    assert reload(db, case.id).data["opinion_due_date"] == "2026-12-07"
