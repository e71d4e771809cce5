"""What `fire` and `create_case` check of a payload whatever the process: a field's name says its type (`*_date` a
date written YYYY-MM-DD, `*_id` and `*_no` a positive whole number that fits an INTEGER column), a number field
takes numbers only, and a negative zero is kept as zero. A refused value is a 422 with its reason and writes nothing."""

from __future__ import annotations

import math

import pytest

from conftest import footprint, reload
from workflow.core.db import transaction
from workflow.core.engine import create_case, fire
from workflow.core.errors import Unprocessable
from workflow.supervision.inspections import plan_inspection

NOT_DATES = [20270216, 20270216.5, True, ["2027-02-16"], {"day": "2027-02-16"}, "2027-02-30", "20270216",
             "2027/02/16", "16.02.2027"]
NOT_IDS = [{"id": 1}, [1], "1", 1.0, True, 0, -3, 2**31, 10**22]


def refused(db, action) -> Unprocessable:
    before = footprint(db)
    with pytest.raises(Unprocessable) as raised:
        action()
    assert footprint(db) == before, "a refused payload writes nothing"
    return raised.value


def fields_of(error: Unprocessable) -> list[str | None]:
    return [d.get("field") for d in error.details]


@pytest.mark.parametrize("value", NOT_DATES, ids=repr)
def test_a_date_field_takes_only_a_real_date_written_yyyy_mm_dd(make, db, now, value):
    """An inspection's planned date has no guard of its own: the name is enough."""
    office = make.user("office")
    town = make.town()

    def plan(day):
        with transaction(db) as s:
            return plan_inspection(session=s, actor=make.actor(office), town_id=town.id, now=now, planned_date=day)

    error = refused(db, lambda: plan(value))
    assert error.details == [{"field": "planned_date", "zh": "计划日期应为 YYYY-MM-DD 格式的有效日期",
                              "en": "Planned date must be a real date written YYYY-MM-DD"}]
    assert reload(db, plan("2027-02-16").id).data["planned_date"] == "2027-02-16"


@pytest.mark.parametrize("value", NOT_IDS, ids=repr)
def test_an_id_field_takes_only_a_whole_number_that_fits_the_database(make, db, now, value):
    office = make.user("office")
    town = make.town()

    def order(inspection_id):
        with transaction(db) as s:
            return create_case(session=s, definition_key="rectification", actor=make.actor(office), now=now,
                               town_id=town.id, data={"problem": "台账不全", "inspection_id": inspection_id})

    error = refused(db, lambda: order(value))
    assert fields_of(error) == ["inspection_id"]
    assert error.details[0]["zh"] == "检查案件应为正整数"
    assert reload(db, order(7).id).data["inspection_id"] == 7


@pytest.mark.parametrize("value", NOT_IDS, ids=repr)
def test_a_finding_number_that_is_not_one_is_refused_never_a_server_error(make, db, now, value):
    office = make.user("office")
    inspection = make.case("inspection", state="in_progress", by=office)
    with transaction(db) as s:
        fire(session=s, case_id=inspection.id, trigger="record_finding", actor=make.actor(office), now=now,
             payload={"finding": {"text": "台账更新不及时", "severity": "low"}})

    def decide():
        with transaction(db) as s:
            fire(session=s, case_id=inspection.id, trigger="decide_finding", actor=make.actor(office), now=now,
                 payload={"finding_no": value, "decision": "no_action"})

    assert fields_of(refused(db, decide)) == ["finding_no"]


@pytest.mark.parametrize("value", [{"yi": 3}, [3.2], True, "3.2亿", "NaN"], ids=repr)
def test_an_object_or_text_where_a_number_belongs_is_refused(make, db, now, value):
    county = make.user("county")
    case = make.case("designation", by=county, data={"output_yi": 3.2})

    def edit():
        with transaction(db) as s:
            fire(session=s, case_id=case.id, trigger="edit", actor=make.actor(county), now=now,
                 payload={"output_yi": value, "jobs": value, "average_income": value})

    assert sorted(fields_of(refused(db, edit))) == ["average_income", "jobs", "output_yi"]
    assert reload(db, case.id).data["output_yi"] == 3.2


@pytest.mark.parametrize("score", [{"score": 90}, [90], True, "90"], ids=repr)
def test_an_expert_score_that_is_not_a_number_is_refused(make, db, now, score, complete_application):
    office = make.user("office")
    case = make.case("designation", state="expert_review", data=complete_application)

    def record():
        with transaction(db) as s:
            fire(session=s, case_id=case.id, trigger="record_experts", actor=make.actor(office), now=now,
                 payload={"experts": [{"name": "王工", "score": score}], "expert_recommendation": "建议认定"})

    assert fields_of(refused(db, record)) == ["experts"]


def positive_zero(value) -> bool:
    return value == 0 and math.copysign(1, value) == 1


def test_negative_zero_is_stored_as_zero(make, db, now, complete_application):
    county, office = make.user("county"), make.user("office")
    with transaction(db) as s:
        case = create_case(session=s, definition_key="designation", actor=make.actor(county), now=now,
                           town_id=make.town().id, data={"output_yi": -0.0, "county_share_pct": -0.0})
    assert positive_zero(reload(db, case.id).data["output_yi"])
    assert positive_zero(reload(db, case.id).data["county_share_pct"])
    with transaction(db) as s:
        fire(session=s, case_id=case.id, trigger="edit", actor=make.actor(county), now=now,
             payload={"average_income": -0.0})
    assert positive_zero(reload(db, case.id).data["average_income"])
    with transaction(db) as s:  # any other number is kept as it is (PostgreSQL's JSON has no -0.0 to tell)
        fire(session=s, case_id=case.id, trigger="edit", actor=make.actor(county), now=now,
             payload={"average_income": 1.0})
    assert reload(db, case.id).data["average_income"] == 1

    review = make.case("designation", state="expert_review", data=complete_application)
    with transaction(db) as s:
        fire(session=s, case_id=review.id, trigger="record_experts", actor=make.actor(office), now=now,
             payload={"experts": [{"name": "王工", "score": -0.0}, {"name": "李工", "score": 80}],
                      "expert_recommendation": "建议认定"})
    experts = reload(db, review.id).data["experts"]
    assert positive_zero(experts[0]["score"]) and experts[1]["score"] == 80


def test_a_number_field_says_what_it_wants_in_both_languages_and_takes_the_whole_range(make, db, now):
    """`*_id` and `*_no` fields: 1 and 2³¹−1 are taken, 0 and 2³¹ refused, each with the field's own name in the
    reader's language (an English reader never reads a Chinese field name)."""
    from workflow.core.access import MAX_ID

    office = make.user("office")
    town = make.town()

    def order(**data):
        with transaction(db) as s:
            return create_case(session=s, definition_key="rectification", actor=make.actor(office), now=now,
                               town_id=town.id, data={"problem": "台账不全", **data})

    error = refused(db, lambda: order(finding_no="2", inspection_id=0))
    assert sorted(error.details, key=lambda d: d["field"]) == [
        {"field": "finding_no", "zh": "问题编号应为正整数", "en": "Finding number must be a positive whole number"},
        {"field": "inspection_id", "zh": "检查案件应为正整数", "en": "Inspection must be a positive whole number"}]
    assert fields_of(refused(db, lambda: order(finding_no=MAX_ID + 1))) == ["finding_no"]
    assert reload(db, order(finding_no=1, inspection_id=MAX_ID).id).data["inspection_id"] == MAX_ID


def test_a_field_the_step_does_not_take_is_named_in_both_languages(make, db, now):
    office = make.user("office")
    town = make.town()

    def order():
        with transaction(db) as s:
            return create_case(session=s, definition_key="rectification", actor=make.actor(office), now=now,
                               town_id=town.id, data={"problem": "台账不全", "requested_due_date": "2027-01-15"})

    assert refused(db, order).details == [{"field": "requested_due_date", "zh": "不接受字段 申请延期至",
                                           "en": "field Requested new deadline is not accepted here"}]

    def mistyped():  # not taken here and not a date either: what is wrong is said once, that it is not taken
        with transaction(db) as s:
            return create_case(session=s, definition_key="rectification", actor=make.actor(office), now=now,
                               town_id=town.id, data={"problem": "台账不全", "requested_due_date": "明年一月"})

    assert refused(db, mistyped).details == [{"field": "requested_due_date", "zh": "不接受字段 申请延期至",
                                              "en": "field Requested new deadline is not accepted here"}]


def test_a_date_field_left_empty_is_no_bad_date(make, db, now):
    """An inspection's planned date is optional: sent empty (as a form sends a field left blank), the inspection
    is planned without one."""
    office = make.user("office")
    with transaction(db) as s:
        planned = create_case(session=s, definition_key="inspection", actor=make.actor(office), now=now,
                              town_id=make.town().id, data={"planned_date": ""})
    assert reload(db, planned.id).data["planned_date"] == ""


