"""The JSON API under /api/v1: tokens, definitions, cases, transitions, the audit trail of a case, and
every refusal (401 / 403 / 404 / 409 / 422) with its bilingual JSON error body."""

from __future__ import annotations

import hashlib
import json
from datetime import timedelta

import pytest
import time_machine
from sqlmodel import select
from werkzeug.test import EnvironBuilder, run_wsgi_app

from conftest import PASSWORD, api_headers, footprint
from workflow.core.db import transaction
from workflow.core.models import AuditEvent, Case, LoginSession, Unit

COMPLETE = {"industry_category": "agriculture", "leading_industry": "小杂粮", "output_yi": 3.2, "jobs": 1800}


def audit_kinds(db) -> list[str]:
    with transaction(db) as s:
        return list(s.exec(select(AuditEvent.kind).order_by(AuditEvent.seq)).all())


def assert_error(response, status: int, code: str) -> dict:
    """A JSON error body {error, message: {zh, en}, details} with this status and code."""
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/json"
    body = response.json
    assert set(body) == {"error", "message", "details"}
    assert body["error"] == code
    assert body["message"]["zh"] and body["message"]["en"]
    assert body["message"]["zh"] != body["message"]["en"]
    assert "Traceback" not in response.get_data(as_text=True)
    return body


def fire(client, headers, case_id: int, trigger: str, version: int, **extra):
    return client.post(f"/api/v1/cases/{case_id}/transitions", headers=headers,
                       json={"trigger": trigger, "expected_version": version, **extra})


# --- tokens ----------------------------------------------------------------------------------------------------


def test_token_is_issued_for_the_right_password_and_works_as_bearer(make, client, db, now):
    county = make.user("county", county="盂县")
    with time_machine.travel(now, tick=False) as traveller:
        response = client.post("/api/v1/auth/token", json={"username": county.username, "password": PASSWORD})
        assert response.status_code == 200
        assert set(response.json) == {"token", "expires_at"}
        token = response.json["token"]
        assert len(token) >= 40
        assert response.json["expires_at"].startswith("2026-11-27T10:00:00")  # eight hours
        assert audit_kinds(db)[-1] == "login_ok"
        with transaction(db) as s:
            row = s.exec(select(LoginSession)).one()
        assert row.kind == "api" and row.user_id == county.id
        assert row.key_hash == hashlib.sha256(token.encode()).hexdigest()  # the token itself is not stored

        bearer = {"Authorization": f"Bearer {token}"}
        me = client.get("/api/v1/me", headers=bearer)
        assert me.status_code == 200 and me.json["username"] == county.username
        for _ in range(16):  # in use every 29 minutes: never idle, but over after eight hours all the same
            traveller.shift(timedelta(minutes=29))
            assert client.get("/api/v1/me", headers=bearer).status_code == 200
        traveller.shift(timedelta(minutes=15))  # 7 h 59 min
        assert client.get("/api/v1/me", headers=bearer).status_code == 200
        traveller.shift(timedelta(minutes=1))
        assert_error(client.get("/api/v1/me", headers=bearer), 401, "unauthorized")


def test_a_token_unused_for_thirty_minutes_stops_working(make, client, db, now):
    county = make.user("county")
    with time_machine.travel(now, tick=False) as traveller:
        bearer = api_headers(client, county.username)
        traveller.shift(timedelta(minutes=30))
        assert client.get("/api/v1/me", headers=bearer).status_code == 200
        traveller.shift(timedelta(minutes=30, seconds=1))
        assert_error(client.get("/api/v1/me", headers=bearer), 401, "unauthorized")
        traveller.shift(timedelta(seconds=1))
        assert_error(client.get("/api/v1/me", headers=bearer), 401, "unauthorized")
    assert audit_kinds(db)[-1] == "session_ended"
    assert audit_kinds(db).count("session_ended") == 1


def test_wrong_password_and_unknown_user_get_the_same_answer(make, client, db):
    county = make.user("county")
    wrong = client.post("/api/v1/auth/token", json={"username": county.username, "password": "Wrong-pass-1"})
    unknown = client.post("/api/v1/auth/token", json={"username": "nobody_here", "password": "Wrong-pass-1"})
    body = assert_error(wrong, 401, "bad_credentials")
    assert unknown.status_code == 401
    assert unknown.json == body
    assert body["message"] == {"zh": "用户名或密码错误。", "en": "Wrong username or password."}
    assert audit_kinds(db)[-2:] == ["login_failed", "login_failed"]


def test_five_failures_lock_the_token_endpoint_too(make, client, db, now):
    county = make.user("county")
    with time_machine.travel(now, tick=False) as traveller:
        for _ in range(5):
            assert_error(client.post("/api/v1/auth/token", json={"username": county.username,
                                                                 "password": "Wrong-pass-1"}),
                         401, "bad_credentials")
        assert "lockout" in audit_kinds(db)
        body = assert_error(client.post("/api/v1/auth/token", json={"username": county.username,
                                                                    "password": PASSWORD}), 401, "locked")
        assert "锁定" in body["message"]["zh"]
        traveller.shift(timedelta(minutes=15))
        assert client.post("/api/v1/auth/token",
                           json={"username": county.username, "password": PASSWORD}).status_code == 200


def test_a_browser_session_cookie_is_no_api_credential(make, client):
    from conftest import login

    county = make.user("county")
    assert login(client, county.username).status_code == 302
    assert_error(client.get("/api/v1/me"), 401, "unauthorized")
    assert_error(client.get("/api/v1/me", headers={"Authorization": "Bearer not-a-token"}), 401, "unauthorized")


def test_me_names_the_user_role_and_unit(make, client):
    member = make.user("member", unit="市科技局", username="kj_staff")
    response = client.get("/api/v1/me", headers=api_headers(client, "kj_staff"))
    assert response.status_code == 200
    assert response.json["id"] == member.id
    assert response.json["username"] == "kj_staff"
    assert response.json["role"] == "member"
    assert response.json["unit"]["name"] == "市科技局" and response.json["unit"]["kind"] == "member"


def test_every_endpoint_but_the_token_needs_a_token(make, client):
    case = make.case("designation")
    for method, url in (("get", "/api/v1/me"), ("get", "/api/v1/definitions"), ("get", "/api/v1/cases"),
                        ("post", "/api/v1/cases"), ("get", f"/api/v1/cases/{case.id}"),
                        ("post", f"/api/v1/cases/{case.id}/transitions"),
                        ("get", f"/api/v1/cases/{case.id}/events")):
        kwargs = {"json": {}} if method == "post" else {}
        assert_error(getattr(client, method)(url, **kwargs), 401, "unauthorized")


# --- definitions -----------------------------------------------------------------------------------------------


def test_definitions_lists_the_six_processes(make, client):
    make.user("office", username="office1")
    response = client.get("/api/v1/definitions", headers=api_headers(client, "office1"))
    assert response.status_code == 200
    by_key = {d["key"]: d for d in response.json}
    assert set(by_key) == {"designation", "town", "inspection", "rectification", "statistics_report",
                           "redesignation", "evaluation_town", "evaluation_ranking",
                           "key_project", "investment_project", "problem",
                           "action_plan", "plan_task", "provincial_recommendation"}
    for d in by_key.values():
        assert d["version"] >= 1 and d["label"]["zh"] and d["label"]["en"]
        assert d["initial"] in {s["name"] for s in d["states"]}
        assert d["states"] and d["transitions"]
    designation = by_key["designation"]
    states = {s["name"]: s for s in designation["states"]}
    assert set(states) >= {"draft", "submitted", "returned", "consultation", "expert_review", "decision",
                           "publicity", "designated", "rejected", "withdrawn"}
    assert states["draft"]["label"] == {"zh": "草稿", "en": "Draft"}
    assert states["designated"]["final"] and not states["draft"]["final"]
    submit = next(t for t in designation["transitions"] if t["trigger"] == "submit")
    assert submit["sources"] == ["draft"] and submit["dest"] == "submitted" and submit["roles"] == ["county"]
    assert submit["confirm"] is True and submit["system"] is False
    expire = next(t for t in designation["transitions"] if t["trigger"] == "expire")
    assert expire["system"] is True and expire["roles"] == ["system"]
    assert designation["create_roles"] == ["county"]
    rectification = {t["trigger"] for t in by_key["rectification"]["transitions"]}
    assert {"acknowledge", "submit_report", "request_extension", "grant_extension", "criticise"} <= rectification


# --- creating cases --------------------------------------------------------------------------------------------


def test_county_creates_a_designation_for_a_town_of_its_county(make, client, db):
    county = make.user("county", county="盂县")
    town = make.town("梁家寨乡", county="盂县")
    headers = api_headers(client, county.username)
    response = client.post("/api/v1/cases", headers=headers,
                           json={"definition": "designation", "town_id": town.id, "data": COMPLETE})
    assert response.status_code == 201, response.json
    body = response.json
    assert body["definition"] == "designation" and body["state"] == "draft" and body["version"] == 1
    assert body["state_label"] == {"zh": "草稿", "en": "Draft"}
    assert body["town_id"] == town.id and body["county_id"] == county.unit_id
    assert body["data"] == COMPLETE
    assert body["number"].startswith("SQ-")
    assert {t["trigger"] for t in body["transitions"]} == {"edit", "submit", "withdraw"}
    with transaction(db) as s:
        stored = s.get(Case, body["id"])
        event = s.exec(select(AuditEvent).where(AuditEvent.case_id == body["id"])).one()
    assert stored.data == COMPLETE and stored.created_by_id == county.id
    assert event.kind == "case_created" and event.actor_id == county.id


def test_application_data_is_validated_with_every_reason(make, client, db):
    county = make.user("county")
    town = make.town(county="盂县")
    headers = api_headers(client, county.username)
    before = footprint(db)
    response = client.post("/api/v1/cases", headers=headers, json={
        "definition": "designation", "town_id": town.id,
        "data": {"output_yi": "很多", "jobs": -3, "colour": "red"}})
    body = assert_error(response, 422, "guards_failed")
    assert {d["field"] for d in body["details"]} == {"output_yi", "jobs", "colour"}
    for item in body["details"]:
        assert item["zh"] and item["en"]
    assert footprint(db) == before


def test_unknown_definition_is_refused(make, client, db):
    county = make.user("county")
    headers = api_headers(client, county.username)
    before = footprint(db)
    body = assert_error(client.post("/api/v1/cases", headers=headers, json={"definition": "lottery"}),
                        400, "unknown_definition")
    assert "lottery" in body["message"]["en"]
    assert footprint(db) == before


def test_office_may_not_create_a_designation(make, client, db):
    make.user("office", username="office1")
    town = make.town(county="盂县")
    headers = api_headers(client, "office1")
    before = footprint(db)
    assert_error(client.post("/api/v1/cases", headers=headers,
                             json={"definition": "designation", "town_id": town.id}), 403, "role_not_allowed")
    assert footprint(db) == before


def test_county_may_not_apply_for_a_town_of_another_county(make, client, db):
    county = make.user("county", county="盂县")
    elsewhere = make.town("娘子关镇", county="平定县")
    headers = api_headers(client, county.username)
    before = footprint(db)
    body = assert_error(client.post("/api/v1/cases", headers=headers,
                                    json={"definition": "designation", "town_id": elsewhere.id}),
                        422, "guards_failed")
    assert [d["field"] for d in body["details"]] == ["town_id"]
    # exactly the answer for a town that does not exist: the other county's town is not even confirmed
    missing = client.post("/api/v1/cases", headers=headers, json={"definition": "designation", "town_id": 999999})
    assert missing.status_code == 422 and missing.json == body
    assert footprint(db) == before


def test_a_case_filed_under_a_unit_that_is_not_a_county_is_refused_in_its_field(make, client, db):
    make.user("office", username="office1")
    member = make.user("member", username="member1")
    headers = api_headers(client, "office1")
    before = footprint(db)
    for county_id in (member.unit_id, 999_999, 0, "盂县"):
        response = client.post("/api/v1/cases", headers=headers, json={
            "definition": "key_project", "county_id": county_id, "data": {"project_name": "石材加工园"}})
        assert response.status_code == 422, (county_id, response.json)
        assert [d["field"] for d in response.json["details"]] == ["county_id"], response.json
        if county_id in (member.unit_id, 999_999):  # a member unit answers exactly as a missing one
            assert response.json["details"] == [{"field": "county_id", "zh": "所选县（区）不存在",
                                                 "en": "no such county"}]
    assert footprint(db) == before


def test_office_starts_a_rectification_order(make, client):
    make.user("office", username="office1")
    town = make.town(county="盂县")
    response = client.post("/api/v1/cases", headers=api_headers(client, "office1"), json={
        "definition": "rectification", "town_id": town.id,
        "data": {"problem": "安全生产台账缺失", "due_date": "2027-01-29"}})
    assert response.status_code == 201, response.json
    assert response.json["state"] == "issued"
    assert response.json["county_id"] == town.county_id
    assert [d["name"] for d in response.json["deadlines"]] == ["rectify"]
    assert response.json["deadlines"][0]["due_date"] == "2027-01-29"


# --- listing cases ---------------------------------------------------------------------------------------------


def test_case_list_filters_paginates_and_shows_only_what_the_caller_may_see(make, client):
    yx = make.user("county", county="盂县", username="yx_user")
    pd = make.user("county", county="平定县", username="pd_user")
    make.user("office", username="office1")
    pd_town = make.town("冠山镇", county="平定县")
    yx_cases = [make.case("designation", by=yx, county="盂县") for _ in range(5)]  # a town each: one open application
    waiting = make.case("designation", by=yx, county="盂县", state="submitted")
    pd_case = make.case("designation", by=pd, town=pd_town)
    yx_id, pd_id = yx.unit_id, pd.unit_id

    office = api_headers(client, "office1")
    everything = client.get("/api/v1/cases?definition=designation&per_page=100", headers=office).json
    assert everything["total"] == 7 and len(everything["items"]) == 7
    assert {c["definition"] for c in everything["items"]} == {"designation"}
    # the most urgent first (the application under its completeness-check deadline), then newest first
    ids = [c["id"] for c in everything["items"]]
    assert ids[0] == waiting.id and ids[1:] == sorted(ids[1:], reverse=True)
    towns = client.get("/api/v1/cases?definition=town", headers=office).json
    assert towns["total"] == 7 and {c["state"] for c in towns["items"]} == {"candidate"}
    by_county = client.get(f"/api/v1/cases?definition=designation&county={pd_id}", headers=office).json
    assert [c["id"] for c in by_county["items"]] == [pd_case.id]
    by_state = client.get("/api/v1/cases?state=submitted", headers=office).json
    assert by_state["total"] == 1 and by_state["items"][0]["state"] == "submitted"

    county = api_headers(client, "yx_user")
    own = client.get("/api/v1/cases?definition=designation&state=draft&per_page=2&page=3", headers=county).json
    assert (own["total"], own["page"], own["per_page"]) == (5, 3, 2)
    assert [c["id"] for c in own["items"]] == [yx_cases[0].id]
    pages = [client.get(f"/api/v1/cases?definition=designation&per_page=2&page={n}", headers=county).json
             for n in (1, 2, 3, 4)]
    seen = [c["id"] for p in pages for c in p["items"]]
    assert len(seen) == len(set(seen)) == 6 and pages[3]["items"] == []
    assert {c["county_id"] for p in pages for c in p["items"]} == {yx_id}
    assert client.get(f"/api/v1/cases?county={pd_id}", headers=county).json["total"] == 0
    assert client.get("/api/v1/cases?per_page=500", headers=county).json["per_page"] == 100

    for bad in ("page=0", "page=abc", "per_page=-1", "county=x", f"county={2**40}"):
        assert_error(client.get(f"/api/v1/cases?{bad}", headers=county), 400, "bad_request")


def test_member_unit_lists_only_the_cases_it_was_invited_to(make, client):
    make.user("member", unit="市科技局", username="kj_user")
    make.user("office", username="office1")
    invited = make.case("designation", state="submitted")
    make.case("designation", state="submitted")
    kj_unit = make.unit("市科技局", "member")
    office = api_headers(client, "office1")
    assert fire(client, office, invited.id, "accept", 1, data={"member_units": [kj_unit.id]}).status_code == 200
    listed = client.get("/api/v1/cases", headers=api_headers(client, "kj_user")).json
    assert [c["id"] for c in listed["items"]] == [invited.id]


@pytest.mark.parametrize("role", ["admin", "auditor"])
def test_admin_and_auditor_see_no_cases_through_the_api(make, client, role):
    make.user(role, username="watcher")
    case = make.case("designation")
    headers = api_headers(client, "watcher")
    assert_error(client.get("/api/v1/cases", headers=headers), 403, "forbidden")
    for url in (f"/api/v1/cases/{case.id}", f"/api/v1/cases/{case.id}/events", "/api/v1/cases/999999"):
        assert_error(client.get(url, headers=headers), 403, "forbidden")


# --- one case --------------------------------------------------------------------------------------------------


def test_case_shows_state_version_data_allowed_transitions_and_open_deadlines(make, client, now,
                                                                              complete_application):
    county = make.user("county", county="盂县")
    make.user("office", username="office1")
    case = make.case("designation", by=county, data=complete_application)
    yx, office = api_headers(client, county.username), api_headers(client, "office1")

    shown = client.get(f"/api/v1/cases/{case.id}", headers=yx).json
    assert (shown["id"], shown["state"], shown["version"]) == (case.id, "draft", 1)
    assert shown["data"] == complete_application
    assert {t["trigger"] for t in shown["transitions"]} == {"edit", "submit", "withdraw"}
    submit = next(t for t in shown["transitions"] if t["trigger"] == "submit")
    assert submit["label"] == {"zh": "提交申报", "en": "Submit"} and submit["confirm"] is True
    assert shown["deadlines"] == []
    assert client.get(f"/api/v1/cases/{case.id}", headers=office).json["transitions"] == []

    with time_machine.travel(now, tick=False):  # Friday 27 November 2026
        assert fire(client, yx, case.id, "submit", 1).status_code == 200
        as_office = client.get(f"/api/v1/cases/{case.id}", headers=office).json
        assert {t["trigger"] for t in as_office["transitions"]} == {"accept", "return_for_revision"}
        returned = fire(client, office, case.id, "return_for_revision", 2, comment="缺少产值证明")
    assert returned.status_code == 200, returned.json
    shown = client.get(f"/api/v1/cases/{case.id}", headers=yx).json
    assert (shown["state"], shown["version"]) == ("returned", 3)
    assert {t["trigger"] for t in shown["transitions"]} == {"edit", "resubmit", "withdraw"}
    assert len(shown["deadlines"]) == 1
    deadline = shown["deadlines"][0]
    assert deadline["name"] == "resubmit" and deadline["trigger"] == "expire"
    assert deadline["due_date"] == "2026-12-11"  # ten working days


# --- transitions -----------------------------------------------------------------------------------------------


def test_submit_happy_path_returns_the_case_and_records_the_event(make, client, db, complete_application):
    county = make.user("county")
    case = make.case("designation", by=county, data=complete_application)
    headers = api_headers(client, county.username)
    response = fire(client, headers, case.id, "submit", 1, comment="请审查")
    assert response.status_code == 200, response.json
    assert (response.json["state"], response.json["version"]) == ("submitted", 2)
    assert [t["trigger"] for t in response.json["transitions"]] == ["withdraw"]
    with transaction(db) as s:
        stored = s.get(Case, case.id)
        event = s.exec(select(AuditEvent).where(AuditEvent.case_id == case.id, AuditEvent.kind == "transition")
                       ).one()
    assert (stored.state, stored.version) == ("submitted", 2)
    assert (event.trigger, event.from_state, event.to_state, event.comment) == ("submit", "draft", "submitted",
                                                                               "请审查")
    assert event.actor_id == county.id and event.role == "county"


def test_edit_saves_data_without_moving(make, client):
    county = make.user("county")
    case = make.case("designation", by=county)
    headers = api_headers(client, county.username)
    response = fire(client, headers, case.id, "edit", 1, data={"leading_industry": "香菇", "output_yi": 2.5})
    assert response.status_code == 200, response.json
    assert (response.json["state"], response.json["version"]) == ("draft", 2)
    assert response.json["data"] == {"leading_industry": "香菇", "output_yi": 2.5}


def test_role_not_allowed_is_403(make, client, db):
    county = make.user("county")
    case = make.case("designation", by=county, state="submitted")
    headers = api_headers(client, county.username)
    before = footprint(db)
    body = assert_error(fire(client, headers, case.id, "accept", 1, data={"member_units": [1]}),
                        403, "role_not_allowed")
    assert body["details"] is None
    assert footprint(db) == before


def test_a_case_of_another_county_answers_exactly_like_a_missing_case(make, client, db):
    make.user("county", county="平定县", username="pd_user")
    case = make.case("designation", county="盂县", data=COMPLETE)
    headers = api_headers(client, "pd_user")
    before = footprint(db)
    requests = [
        ("get", "/api/v1/cases/{}", None),
        ("get", "/api/v1/cases/{}/events", None),
        ("post", "/api/v1/cases/{}/transitions", {"trigger": "submit", "expected_version": 1}),
        ("post", "/api/v1/cases/{}/transitions", {"trigger": "no_such_trigger", "expected_version": 1}),
        ("post", "/api/v1/cases/{}/transitions", {"trigger": "accept", "expected_version": 7}),
    ]
    for method, url, body in requests:
        kwargs = {"headers": headers, **({"json": body} if body else {})}
        hidden = getattr(client, method)(url.format(case.id), **kwargs)
        missing = getattr(client, method)(url.format(999999), **kwargs)
        assert_error(hidden, 404, "not_found")
        assert hidden.get_data() == missing.get_data()
        assert dict(hidden.headers) == dict(missing.headers)
    assert footprint(db) == before


def test_stale_expected_version_is_409_and_writes_nothing(make, client, db):
    county = make.user("county")
    case = make.case("designation", by=county, data=COMPLETE)
    headers = api_headers(client, county.username)
    assert fire(client, headers, case.id, "edit", 1, data={"jobs": 10}).status_code == 200
    before = footprint(db)
    body = assert_error(fire(client, headers, case.id, "submit", 1), 409, "stale_version")
    assert body["details"] == {"current_version": 2}
    assert footprint(db) == before


def test_trigger_not_valid_in_this_state_is_409(make, client, db):
    county = make.user("county")
    case = make.case("designation", by=county, data=COMPLETE)
    headers = api_headers(client, county.username)
    before = footprint(db)
    body = assert_error(fire(client, headers, case.id, "resubmit", 1), 409, "invalid_trigger")
    assert "草稿" in body["message"]["zh"] and "Draft" in body["message"]["en"]
    assert footprint(db) == before


def test_failed_guards_list_every_reason(make, client, db):
    county = make.user("county")
    case = make.case("designation", by=county)  # with a town, nothing filled in
    headers = api_headers(client, county.username)
    before = footprint(db)
    body = assert_error(fire(client, headers, case.id, "submit", 1), 422, "guards_failed")
    fields = [d["field"] for d in body["details"] if "field" in d]
    assert {"industry_category", "leading_industry", "output_yi"} <= set(fields)
    assert "town_id" not in fields
    for item in body["details"]:
        assert item["zh"] in body["message"]["zh"] and item["en"] in body["message"]["en"]
    assert footprint(db) == before

    # without a town the missing town is one more reason, listed with all the others
    townless = client.post("/api/v1/cases", headers=headers, json={"definition": "designation"})
    assert townless.status_code == 201 and townless.json["town_id"] is None
    again = assert_error(fire(client, headers, townless.json["id"], "submit", 1), 422, "guards_failed")
    # ... and so are the supporting documents it has not attached (the first case has them)
    assert [d.get("field") for d in again["details"]] == ["town_id", *[d.get("field") for d in body["details"]],
                                                         "materials"]
    assert "缺少证明材料：县（区）政府申报文件、主导产业产值证明（统计部门出具）" in again["message"]["zh"]


def test_required_fields_and_comments_are_reasons_too(make, client, db):
    make.user("office", username="office1")
    case = make.case("designation", state="submitted")
    headers = api_headers(client, "office1")
    before = footprint(db)
    body = assert_error(fire(client, headers, case.id, "return_for_revision", 1), 422, "guards_failed")
    assert [d["field"] for d in body["details"]] == ["comment"]
    body = assert_error(fire(client, headers, case.id, "accept", 1, data={"opinion": "agree"}),
                        422, "guards_failed")
    assert {d["field"] for d in body["details"]} == {"opinion", "member_units"}
    body = assert_error(fire(client, headers, case.id, "accept", 1, data={"member_units": [2**40]}),
                        422, "guards_failed")
    assert [d["field"] for d in body["details"]] == ["member_units"]
    assert footprint(db) == before


def test_consultation_through_the_api(make, client, db, complete_application):
    county = make.user("county", county="盂县")
    make.user("office", username="office1")
    make.user("member", unit="市科技局", username="kj_user")
    make.user("member", unit="市农业农村局", username="ny_user")
    case = make.case("designation", by=county, data=complete_application)
    kj_unit, ny_unit = make.unit("市科技局", "member"), make.unit("市农业农村局", "member")
    yx, office, kj, ny = (api_headers(client, u) for u in (county.username, "office1", "kj_user", "ny_user"))

    assert fire(client, yx, case.id, "submit", 1).status_code == 200
    assert_error(client.get(f"/api/v1/cases/{case.id}", headers=kj), 404, "not_found")
    accepted = fire(client, office, case.id, "accept", 2, data={"member_units": [kj_unit.id, ny_unit.id]})
    assert accepted.status_code == 200 and accepted.json["state"] == "consultation"
    assert [d["name"] for d in accepted.json["deadlines"]] == ["opinions"]

    shown = client.get(f"/api/v1/cases/{case.id}", headers=kj).json
    assert [t["trigger"] for t in shown["transitions"]] == ["record_opinion"]
    assert_error(fire(client, office, case.id, "conclude", 3), 422, "guards_failed")
    body = assert_error(fire(client, ny, case.id, "record_opinion", 3, data={"opinion": "disagree"}),
                        422, "guards_failed")
    assert [d["field"] for d in body["details"]] == ["comment"]
    assert fire(client, kj, case.id, "record_opinion", 3, data={"opinion": "agree"}).status_code == 200
    assert fire(client, ny, case.id, "record_opinion", 4, data={"opinion": "disagree"},
                comment="产值统计口径不清").status_code == 200
    body = assert_error(fire(client, kj, case.id, "record_opinion", 5, data={"opinion": "agree"}),
                        422, "guards_failed")
    assert "already" in body["message"]["en"]
    concluded = fire(client, office, case.id, "conclude", 5)
    assert concluded.status_code == 200 and concluded.json["state"] == "expert_review"
    assert concluded.json["data"]["opinions"][str(ny_unit.id)]["reason"] == "产值统计口径不清"
    with transaction(db) as s:
        ids = s.exec(select(Unit.id).where(Unit.name.in_(["市科技局", "市农业农村局"]))).all()
    assert sorted(concluded.json["data"]["consulted_units"]) == sorted(ids)


# --- the audit trail of a case ---------------------------------------------------------------------------------


def test_events_are_the_audit_trail_of_the_case(make, client, complete_application):
    county = make.user("county")
    make.user("office", username="office1")
    case = make.case("designation", by=county, data=complete_application)
    other = make.case("designation", by=county)
    yx, office = api_headers(client, county.username), api_headers(client, "office1")
    assert fire(client, yx, case.id, "edit", 1, data={"jobs": 2000}).status_code == 200
    assert fire(client, yx, case.id, "submit", 2).status_code == 200
    assert fire(client, office, case.id, "return_for_revision", 3, comment="补充材料").status_code == 200
    assert fire(client, yx, other.id, "withdraw", 1).status_code == 200

    events = client.get(f"/api/v1/cases/{case.id}/events", headers=yx).json["items"]
    assert [(e["kind"], e["trigger"], e["from_state"], e["to_state"]) for e in events] == [
        ("case_created", None, None, "draft"),
        ("transition", "edit", "draft", "draft"),
        ("transition", "submit", "draft", "submitted"),
        ("transition", "return_for_revision", "submitted", "returned"),
    ]
    seqs = [e["seq"] for e in events]
    assert seqs == sorted(seqs)
    assert events[1]["data"]["changes"] == {"jobs": [complete_application["jobs"], 2000]}
    assert events[3]["comment"] == "补充材料" and events[3]["role"] == "office"
    assert events[2]["actor_name"] == "county用户" and events[2]["unit_name"] == "盂县"
    assert client.get(f"/api/v1/cases/{case.id}/events", headers=office).json["items"] == events


# --- bad input -------------------------------------------------------------------------------------------------


@pytest.fixture
def target(make, client):
    """A county user's Bearer headers and a draft application it may edit."""
    county = make.user("county")
    case = make.case("designation", by=county, data=COMPLETE)
    return api_headers(client, county.username), case


def _raw(client, url, headers, body: bytes | str, content_type="application/json"):
    return client.post(url, headers=headers, data=body, content_type=content_type)


BAD_TRANSITIONS = [
    # (name, body, content type, status, code)
    ("malformed JSON", '{"trigger": "submit", ', "application/json", 400, "malformed_json"),
    ("not UTF-8", b'{"trigger": "\xff\xfe"}', "application/json", 400, "malformed_json"),
    ("NaN", '{"trigger": "edit", "expected_version": 1, "data": {"output_yi": NaN}}', "application/json",
     400, "malformed_json"),
    ("Infinity", '{"trigger": "edit", "expected_version": 1, "data": {"output_yi": -Infinity}}',
     "application/json", 400, "malformed_json"),
    ("deeply nested", '{"trigger": "edit", "expected_version": 1, "data": {"x": ' + "[" * 100_000 + "]" * 100_000
     + "}}", "application/json", 400, "malformed_json"),
    ("form encoded", "trigger=submit&expected_version=1", "application/x-www-form-urlencoded", 415,
     "unsupported_media_type"),
    ("plain text", '{"trigger": "submit", "expected_version": 1}', "text/plain", 415, "unsupported_media_type"),
    ("not an object", '["submit", 1]', "application/json", 422, "invalid_input"),
    ("version as a string", '{"trigger": "submit", "expected_version": "1"}', "application/json", 422,
     "invalid_input"),
    ("version as a boolean", '{"trigger": "submit", "expected_version": true}', "application/json", 422,
     "invalid_input"),
    ("version missing", '{"trigger": "submit"}', "application/json", 422, "invalid_input"),
    ("version out of range", '{"trigger": "submit", "expected_version": 99999999999999999999}',
     "application/json", 422, "invalid_input"),
    ("data as a list", '{"trigger": "edit", "expected_version": 1, "data": ["jobs", 3]}', "application/json",
     422, "invalid_input"),
    ("comment as a number", '{"trigger": "submit", "expected_version": 1, "comment": 5}', "application/json",
     422, "invalid_input"),
    ("unknown field", '{"trigger": "submit", "expected_version": 1, "force": true}', "application/json", 422,
     "invalid_input"),
    ("NUL in text", '{"trigger": "edit", "expected_version": 1, "data": {"leading_industry": "a\\u0000b"}}',
     "application/json", 422, "invalid_input"),
    ("NUL in a comment", '{"trigger": "submit", "expected_version": 1, "comment": "\\u0000"}', "application/json",
     422, "invalid_input"),
    ("lone surrogate", '{"trigger": "edit", "expected_version": 1, "data": {"main_products": "\\ud800"}}',
     "application/json", 422, "invalid_input"),
    ("unknown trigger", '{"trigger": "approve_everything", "expected_version": 1}', "application/json", 400,
     "unknown_trigger"),
    ("empty trigger", '{"trigger": "", "expected_version": 1}', "application/json", 422, "invalid_input"),
]


@pytest.mark.parametrize(("body", "content_type", "status", "code"), [b[1:] for b in BAD_TRANSITIONS],
                         ids=[b[0] for b in BAD_TRANSITIONS])
def test_bad_transition_requests_are_refused_and_write_nothing(client, db, target, body, content_type, status,
                                                               code):
    headers, case = target
    before = footprint(db)
    response = _raw(client, f"/api/v1/cases/{case.id}/transitions", headers, body, content_type)
    payload = assert_error(response, status, code)
    if status == 422 and code == "invalid_input" and body.startswith("{"):
        assert payload["details"], "each invalid field is named"
    assert footprint(db) == before


BAD_CREATES = [
    ("unknown definition", '{"definition": "lottery"}', 400, "unknown_definition"),
    ("data as a list", '{"definition": "designation", "data": [1, 2]}', 422, "invalid_input"),
    ("town id as a string", '{"definition": "designation", "town_id": "12"}', 422, "invalid_input"),
    ("town id out of range", '{"definition": "designation", "town_id": 99999999999}', 422, "invalid_input"),
    ("unknown field", '{"definition": "designation", "state": "designated"}', 422, "invalid_input"),
    ("NUL in the title", '{"definition": "designation", "title": "a\\u0000"}', 422, "invalid_input"),
    ("NUL in a data key", '{"definition": "designation", "data": {"a\\u0000": 1}}', 422, "invalid_input"),
    ("malformed JSON", '{"definition": designation}', 400, "malformed_json"),
]


@pytest.mark.parametrize(("body", "status", "code"), [b[1:] for b in BAD_CREATES], ids=[b[0] for b in BAD_CREATES])
def test_bad_create_requests_are_refused_and_write_nothing(client, db, target, body, status, code):
    headers, _case = target
    before = footprint(db)
    assert_error(_raw(client, "/api/v1/cases", headers, body), status, code)
    assert footprint(db) == before


def test_a_body_over_one_megabyte_is_413_and_writes_nothing(client, db, target):
    headers, case = target
    before = footprint(db)
    big = '{"trigger": "edit", "expected_version": 1, "data": {"main_products": "' + "x" * (1024 * 1024) + '"}}'
    assert_error(_raw(client, f"/api/v1/cases/{case.id}/transitions", headers, big), 413, "too_large")
    assert_error(_raw(client, "/api/v1/cases", headers, big), 413, "too_large")
    # chunked, without a Content-Length (as gunicorn passes it on): the limit still holds
    environ = EnvironBuilder(path=f"/api/v1/cases/{case.id}/transitions", method="POST", headers=headers,
                             data=big.encode(), content_type="application/json").get_environ()
    del environ["CONTENT_LENGTH"]
    environ["wsgi.input_terminated"] = True
    body, status, _headers = run_wsgi_app(client.application, environ, buffered=True)
    assert status.startswith("413")
    assert json.loads(b"".join(body))["error"] == "too_large"
    assert footprint(db) == before


@pytest.mark.parametrize("url", ["/api/v1/cases/abc", "/api/v1/cases/1.5", "/api/v1/cases/-1",
                                 "/api/v1/cases/abc/events", "/api/v1/cases/99999999999999999999",
                                 "/api/v1/cases/99999999999", "/api/v1/nothing-here"])
def test_a_case_id_that_is_not_a_number_is_a_json_404(client, db, target, url):
    headers, _case = target
    before = footprint(db)
    assert_error(client.get(url, headers=headers), 404, "not_found")
    assert footprint(db) == before


def test_transition_on_a_non_numeric_or_huge_id_is_a_json_404(client, db, target):
    headers, _case = target
    before = footprint(db)
    for url in ("/api/v1/cases/abc/transitions", "/api/v1/cases/99999999999/transitions"):
        assert_error(client.post(url, headers=headers, json={"trigger": "submit", "expected_version": 1}),
                     404, "not_found")
    assert footprint(db) == before


def allowed(response) -> set[str]:
    return {method.strip() for method in response.headers["Allow"].split(",")}


def test_wrong_method_is_a_json_405_that_names_the_allowed_methods(client, target):
    """RFC 9110 §15.5.6: a 405 carries Allow; the JSON error handler keeps it."""
    headers, case = target
    read = client.delete(f"/api/v1/cases/{case.id}", headers=headers)
    assert_error(read, 405, "method_not_allowed")
    assert allowed(read) == {"GET", "HEAD", "OPTIONS"}
    act = client.get(f"/api/v1/cases/{case.id}/transitions", headers=headers)
    assert_error(act, 405, "method_not_allowed")
    assert allowed(act) == {"POST", "OPTIONS"}


def test_bad_token_requests_write_no_audit_event(client, db, make):
    make.user("county", username="yx_user")
    before = footprint(db)
    assert_error(_raw(client, "/api/v1/auth/token", {}, '{"username": "yx_user", '), 400, "malformed_json")
    assert_error(_raw(client, "/api/v1/auth/token", {}, '{"username": "yx_user"}'), 422, "invalid_input")
    assert_error(_raw(client, "/api/v1/auth/token", {}, '{"username": "yx_user", "password": 12345678}'),
                 422, "invalid_input")
    assert_error(_raw(client, "/api/v1/auth/token", {}, '{"username": "a\\u0000", "password": "x"}'),
                 422, "invalid_input")
    assert_error(_raw(client, "/api/v1/auth/token", {}, "username=yx_user", "application/x-www-form-urlencoded"),
                 415, "unsupported_media_type")
    assert footprint(db) == before


def test_query_strings_with_nul_are_refused(client, db, target):
    headers, _case = target
    before = footprint(db)
    assert_error(client.get("/api/v1/cases?state=draft%00", headers=headers), 400, "bad_request")
    assert_error(client.get("/api/v1/cases?definition=%00", headers=headers), 400, "bad_request")
    assert footprint(db) == before


# --- generated requests ----------------------------------------------------------------------------------------


def test_requests_generated_from_the_openapi_document_never_get_a_server_error(app, client, make,
                                                                               complete_application):
    """Schemathesis builds requests (valid and not) for every documented operation from the document itself."""
    import schemathesis
    from hypothesis import HealthCheck, given, settings

    county = make.user("county", username="yx_clerk")
    make.case("designation", by=county, data=complete_application, materials=False)  # no file to download
    headers = api_headers(client, "yx_clerk")
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    problems = []

    @settings(max_examples=25, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))
    def exercise(case):
        case.headers = {**(case.headers or {}), **headers}
        response = case.call()
        if response.status_code >= 500 or b"Traceback" in response.content:  # a workbook is not text
            problems.append((case.operation.label, case.path_parameters, case.query, case.body,
                             response.status_code))
        elif response.status_code >= 400:
            assert response.json()["error"], case.operation.label

    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 8
    for operation in operations:
        given(operation.as_strategy())(exercise)()
    assert problems == []
