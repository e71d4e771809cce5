"""Dates and numbers typed on the pages or sent to the API are checked as a person would expect: a deadline is a real
working day after today within ZYZ_MAX_DUE_DAYS (a day off names the next working day, in Chinese on the page and in
both languages in the API's JSON), a date is never taken as a number, -0 is stored as 0, and an object where a number
belongs is a 422 that stores nothing."""

from __future__ import annotations

import json
import math

import pytest
import time_machine

from conftest import api_headers, csrf_token, footprint, login, reload
from webapp.config import ConfigError
from workflow.core.settings import settings

SATURDAY = "2026-12-05"  # `now` is Friday 27 November 2026; the next working day is Monday 7 December
DAY_OFF_ZH = "2026年12月5日是休息日，请改为下一个工作日 2026-12-07"
DAY_OFF_EN = "2026-12-05 is a day off; choose the next working day, 2026-12-07"


@pytest.fixture
def at_now(now):
    with time_machine.travel(now, tick=False):
        yield


@pytest.fixture
def extension(make, client):
    """An order whose county asked for more time, and the office's Bearer headers."""
    office = make.user("office")
    order = make.case("rectification", state="extension_requested", by=office, data={"problem": "台账不全"})
    return order, office, api_headers(client, office.username)


def grant(client, headers, order, body: str):
    return client.post(f"/api/v1/cases/{order.id}/transitions", headers=headers, content_type="application/json",
                       data=f'{{"trigger": "grant_extension", "expected_version": {order.version}, "data": {body}}}')


@pytest.mark.parametrize("due", ["20270216", "20270216.0", "true", '["2027-02-16"]', '{"date": "2027-02-16"}',
                                 '"2027-02-30"', '"20270216"'])
def test_the_api_takes_a_deadline_only_as_a_real_date_written_yyyy_mm_dd(client, db, at_now, extension, due):
    order, _office, headers = extension
    before = footprint(db)
    response = grant(client, headers, order, f'{{"due_date": {due}}}')
    assert response.status_code == 422
    assert response.json["details"] == [{"field": "due_date", "zh": "期限应为 YYYY-MM-DD 格式的有效日期",
                                         "en": "Deadline must be a real date written YYYY-MM-DD"}]
    assert footprint(db) == before


def test_the_api_once_stored_a_deadline_given_as_a_number(client, db, make, at_now):
    """POST /cases with "due_date": 20270216 kept the integer; now it is refused and nothing is created."""
    office = make.user("office")
    town = make.town()
    headers = api_headers(client, office.username)
    before = footprint(db)
    response = client.post("/api/v1/cases", headers=headers, json={
        "definition": "rectification", "town_id": town.id, "data": {"problem": "台账不全", "due_date": 20270216}})
    assert response.status_code == 422 and response.json["details"][0]["field"] == "due_date"
    assert footprint(db) == before


def test_the_api_names_the_next_working_day_in_both_languages(client, db, at_now, extension):
    order, _office, headers = extension
    response = grant(client, headers, order, f'{{"due_date": "{SATURDAY}"}}')
    assert response.status_code == 422
    assert response.json["details"] == [{"field": "due_date", "zh": f"新的整改期限：{DAY_OFF_ZH}",
                                         "en": f"the new deadline: {DAY_OFF_EN}"}]
    assert DAY_OFF_ZH in response.json["message"]["zh"] and DAY_OFF_EN in response.json["message"]["en"]
    assert grant(client, headers, order, '{"due_date": "2026-12-07"}').status_code == 200
    assert reload(db, order.id).data["due_date"] == "2026-12-07"


def test_the_page_says_in_chinese_which_working_day_to_choose(client, db, at_now, extension):
    order, office, _headers = extension
    login(client, office.username)
    url = f"/cases/{order.id}/do/grant_extension"
    before = footprint(db)
    response = client.post(url, data={"due_date": SATURDAY, "expected_version": str(order.version),
                                      "csrf_token": csrf_token(client, url)})
    assert response.status_code == 422
    assert DAY_OFF_ZH in response.get_data(as_text=True)
    assert footprint(db) == before


def test_negative_zero_sent_to_the_api_is_stored_as_zero(client, db, make, at_now):
    county = make.user("county")
    town = make.town()
    response = client.post("/api/v1/cases", headers=api_headers(client, county.username),
                           content_type="application/json",
                           data=json.dumps({"definition": "designation", "town_id": town.id,
                                            "data": {"output_yi": -0.0, "jobs": -0}}))
    assert response.status_code == 201, response.json
    sent_back = response.json["data"]["output_yi"]
    assert sent_back == 0 and math.copysign(1, sent_back) == 1
    stored = reload(db, response.json["id"]).data
    assert stored["output_yi"] == 0 and math.copysign(1, stored["output_yi"]) == 1 and stored["jobs"] == 0


@pytest.mark.parametrize("value", ['{"yi": 3}', "[3]", "true", '"三亿"'])
def test_an_object_where_a_number_belongs_is_a_422_and_nothing_is_stored(client, db, make, at_now, value):
    county = make.user("county")
    case = make.case("designation", by=county, data={"output_yi": 3.2})
    headers = api_headers(client, county.username)
    before = footprint(db)
    response = client.post(f"/api/v1/cases/{case.id}/transitions", headers=headers, content_type="application/json",
                           data=f'{{"trigger": "edit", "expected_version": 1, "data": {{"output_yi": {value}}}}}')
    assert response.status_code == 422
    assert [d["field"] for d in response.json["details"]] == ["output_yi"]
    assert response.json["details"][0]["zh"] == "上年度主导产业产值必须是数字"
    assert footprint(db) == before and reload(db, case.id).data["output_yi"] == 3.2


def test_a_finding_number_sent_as_an_object_is_a_422_not_a_server_error(client, db, make, at_now):
    office = make.user("office")
    inspection = make.case("inspection", state="in_progress", by=office,
                           data={"findings": [{"no": 1, "text": "台账不全", "severity": "low", "decision": None}]})
    response = client.post(f"/api/v1/cases/{inspection.id}/transitions", headers=api_headers(client, office.username),
                           json={"trigger": "decide_finding", "expected_version": inspection.version,
                                 "data": {"finding_no": {"no": 1}, "decision": "no_action"}})
    assert response.status_code == 422
    assert response.json["details"] == [{"field": "finding_no", "zh": "问题编号应为正整数",
                                         "en": "Finding number must be a positive whole number"}]


@pytest.fixture
def restore_settings():
    before = settings.max_due_days
    yield
    settings.max_due_days = before


def test_zyz_max_due_days_sets_how_far_ahead_a_deadline_may_be(database_url, tmp_path, monkeypatch, make, db, now,
                                                               restore_settings):
    from webapp import create_app

    monkeypatch.setenv("ZYZ_MAX_DUE_DAYS", "30")
    app = create_app({"DATABASE_URL": database_url, "ZYZ_ENV": "test", "TESTING": True,
                      "SECRET_KEY": "test-secret-key-that-is-long-enough-0123456789", "UPLOAD_DIR": str(tmp_path)})
    try:
        assert app.config["MAX_DUE_DAYS"] == 30 and settings.max_due_days == 30
        client = app.test_client()
        office = make.user("office")
        order = make.case("rectification", state="extension_requested", by=office, data={"problem": "台账不全"})
        headers = api_headers(client, office.username)
        with time_machine.travel(now, tick=False):
            response = grant(client, headers, order, '{"due_date": "2027-01-04"}')  # 38 days ahead
            assert response.status_code == 422
            assert response.json["details"][0]["zh"] == "新的整改期限不能晚于 2026-12-27（今天起 30 天以内）"
            assert grant(client, headers, order, '{"due_date": "2026-12-25"}').status_code == 200
    finally:
        app.extensions["zyz"]["engine"].dispose()


@pytest.mark.parametrize("value", ["0", "-5", "a year", "1.5"])
def test_a_max_due_days_that_is_not_a_positive_whole_number_stops_the_start(database_url, tmp_path, monkeypatch,
                                                                            value):
    from webapp import create_app

    monkeypatch.setenv("ZYZ_MAX_DUE_DAYS", value)
    with pytest.raises(ConfigError, match="ZYZ_MAX_DUE_DAYS"):
        create_app({"DATABASE_URL": database_url, "ZYZ_ENV": "test", "TESTING": True,
                    "SECRET_KEY": "test-secret-key-that-is-long-enough-0123456789", "UPLOAD_DIR": str(tmp_path)})
