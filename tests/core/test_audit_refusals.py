"""Permission refusals are audited: every 403, from the API or the pages, the engine's or a blueprint's, is one
permission_refused event (who, what was tried, on which object), committed on its own while the refused
action's writes are rolled back. A 404 is not: another county's case answers exactly as a missing one. Beyond ten
a minute from one session, refusals are counted into one summary event for the minute."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest
import sqlalchemy as sa

from conftest import api_headers, csrf_token, login
from workflow.core.db import transaction
from workflow.core.models import AuditEvent, Case, LoginSession

TABLE = AuditEvent.__table__
COMPLETE = {"industry_category": "agriculture", "leading_industry": "小杂粮", "output_yi": 3.2, "jobs": 1800}


def trail(db) -> list[dict]:
    with transaction(db) as s:
        return [dict(r) for r in s.connection().execute(sa.select(TABLE).order_by(TABLE.c.seq)).mappings()]


def refusals(db) -> list[dict]:
    return [e for e in trail(db) if e["kind"] == "permission_refused"]


def case_row(db, case_id: int) -> tuple:
    with transaction(db) as s:
        case = s.get(Case, case_id)
        return case.state, case.version, case.data


def test_a_county_firing_an_office_trigger_through_the_api_is_refused_and_recorded(make, client, db):
    county = make.user("county", username="yx_clerk")
    case = make.case("designation", by=county, state="submitted", data=COMPLETE)
    headers = api_headers(client, "yx_clerk")
    before, state = trail(db), case_row(db, case.id)
    response = client.post(f"/api/v1/cases/{case.id}/transitions", headers=headers,
                           json={"trigger": "accept", "expected_version": 1, "data": {"member_units": [1]}})
    assert response.status_code == 403 and response.json["error"] == "role_not_allowed"
    after = trail(db)
    assert after[:len(before)] == before and len(after) == len(before) + 1  # one event, nothing else
    event = after[-1]
    assert event["kind"] == "permission_refused"
    assert (event["actor_id"], event["actor_name"], event["role"], event["unit_id"]) == (
        county.id, county.display_name, "county", county.unit_id)
    assert (event["trigger"], event["case_id"], event["county_id"]) == ("accept", case.id, case.county_id)
    assert json.loads(event["data"]) == {
        "method": "POST", "path": f"/api/v1/cases/{case.id}/transitions", "endpoint": "api.transition",
        "code": "role_not_allowed", "object": {"case_id": str(case.id)}}
    assert event["ip"] == "127.0.0.1"
    assert case_row(db, case.id) == state


def test_the_same_refusal_through_the_pages_is_recorded_once_per_request(make, client, db):
    make.user("county", username="yx_clerk")
    case = make.case("designation", state="submitted", data=COMPLETE)
    login(client, "yx_clerk")
    token = csrf_token(client, "/inbox")
    assert client.get(f"/cases/{case.id}/do/accept").status_code == 403
    assert client.post(f"/cases/{case.id}/do/accept", data={"csrf_token": token, "expected_version": "1",
                                                            "member_units": ["1"]}).status_code == 403
    recorded = refusals(db)
    assert [(e["trigger"], e["case_id"], json.loads(e["data"])["method"]) for e in recorded] == [
        ("accept", case.id, "GET"), ("accept", case.id, "POST")]
    assert all(json.loads(e["data"])["endpoint"] == "cases.transition" for e in recorded)


def test_a_refusal_inside_a_service_rolls_its_writes_back_and_keeps_the_record(make, client, db):
    """The office may not start a designation: create_case refuses after its checks; the refusal is kept."""
    make.user("office", username="office1")
    town = make.town(county="盂县")
    headers = api_headers(client, "office1")
    before = trail(db)
    with transaction(db) as s:
        cases_before = s.execute(sa.select(sa.func.count()).select_from(Case)).scalar_one()
    response = client.post("/api/v1/cases", headers=headers, json={"definition": "designation", "town_id": town.id})
    assert response.status_code == 403
    with transaction(db) as s:
        assert s.execute(sa.select(sa.func.count()).select_from(Case)).scalar_one() == cases_before
    added = trail(db)[len(before):]
    assert [e["kind"] for e in added] == ["permission_refused"]
    assert json.loads(added[0]["data"])["path"] == "/api/v1/cases" and added[0]["case_id"] is None


def test_another_countys_case_answers_as_a_missing_one_and_neither_is_recorded(make, client, db):
    make.user("county", county="平定县", username="pd_clerk")
    theirs = make.case("designation", county="盂县", state="submitted", data=COMPLETE)
    headers = api_headers(client, "pd_clerk")
    before = trail(db)
    answers = []
    for case_id in (theirs.id, 999_999):
        response = client.post(f"/api/v1/cases/{case_id}/transitions", headers=headers,
                               json={"trigger": "accept", "expected_version": 1})
        answers.append((response.status_code, response.get_data(as_text=True)))
    assert answers[0] == answers[1] and answers[0][0] == 404
    assert trail(db) == before


def test_blueprint_refusals_are_recorded_with_the_path(make, client, db):
    make.user("office", username="office1")
    login(client, "office1")
    assert client.get("/admin/calendar/2027?x=1").status_code == 403
    (event,) = refusals(db)
    assert (event["role"], event["case_id"], event["trigger"]) == ("office", None, None)
    assert json.loads(event["data"]) == {"method": "GET", "path": "/admin/calendar/2027",
                                         "endpoint": "admin.calendar_year", "code": "forbidden",
                                         "object": {"year": "2027"}}


def test_the_auditor_refused_elsewhere_is_recorded_too(make, client, db):
    make.user("auditor", username="auditor1")
    login(client, "auditor1")
    assert client.get("/admin/calendar").status_code == 403
    (event,) = refusals(db)
    assert event["role"] == "auditor" and json.loads(event["data"])["path"] == "/admin/calendar"


def test_a_refusal_that_cannot_be_recorded_is_still_a_refusal(make, client, db, monkeypatch):
    from webapp import errors

    def broken(*_args, **_kwargs):
        raise RuntimeError("disk full")

    make.user("county", username="yx_clerk")
    login(client, "yx_clerk")
    monkeypatch.setattr(errors.audit, "record", broken)
    assert client.get("/admin/calendar").status_code == 403
    assert refusals(db) == []


# --- a flood of refusals from one session: the first ten a minute one by one, the rest counted -------------------

class Clock:
    """The time the refusals are recorded at, moved by the test."""

    def __init__(self, at: datetime):
        self.at = at

    def __call__(self) -> datetime:
        return self.at


@pytest.fixture
def clock(monkeypatch, now):
    from webapp import errors

    ticking = Clock(now + timedelta(seconds=5))  # 5 s into a minute
    monkeypatch.setattr(errors, "utcnow", ticking)
    return ticking


def session_of(db, user_id: int, kind: str = "web") -> int:
    with transaction(db) as s:
        return s.execute(sa.select(LoginSession.id).where(LoginSession.user_id == user_id,
                                                          LoginSession.kind == kind)).scalar_one()


def summaries(db) -> list[dict]:
    return [e for e in trail(db) if e["kind"] == "permission_refused_summary"]


def test_beyond_ten_refusals_a_minute_a_session_is_counted_and_summarised_at_its_next_refusal(make, client, db,
                                                                                             clock, now):
    clerk = make.user("county", username="yx_clerk")
    login(client, "yx_clerk")
    for _ in range(12):
        assert client.get("/admin/calendar").status_code == 403
    assert len(refusals(db)) == 10 and summaries(db) == []
    clock.at = now + timedelta(seconds=65)  # the next minute
    assert client.get("/admin/users").status_code == 403
    (summary,) = summaries(db)
    assert json.loads(summary["data"]) == {
        "session": f"session:{session_of(db, clerk.id)}", "from": "2026-11-27T02:00:00.000000+00:00",
        "to": "2026-11-27T02:01:00.000000+00:00", "refused": 12, "recorded": 10, "counted": 2}
    assert (summary["actor_id"], summary["role"], summary["ip"]) == (clerk.id, "county", "127.0.0.1")
    latest = trail(db)[-1]  # the refusal that closed the minute is recorded on its own, after the summary
    assert (latest["kind"], json.loads(latest["data"])["path"]) == ("permission_refused", "/admin/users")
    assert len(refusals(db)) == 11


def test_the_scheduler_summarises_a_minute_that_no_later_refusal_closes(make, client, db, clock, now):
    from workflow.accounts.throttle import flush_refusals

    clerk = make.user("county", username="yx_clerk")
    login(client, "yx_clerk")
    for _ in range(13):
        client.get("/admin/calendar")
    with transaction(db) as s:
        assert flush_refusals(s, now=now + timedelta(seconds=40)) == 0  # the minute is not over
    with transaction(db) as s:
        assert flush_refusals(s, now=now + timedelta(seconds=61)) == 1
    with transaction(db) as s:
        assert flush_refusals(s, now=now + timedelta(seconds=62)) == 0  # once
    (summary,) = summaries(db)
    assert json.loads(summary["data"])["counted"] == 3 and json.loads(summary["data"])["refused"] == 13
    assert (summary["actor_id"], summary["actor_name"], summary["role"]) == (clerk.id, clerk.display_name, "county")
    clock.at = now + timedelta(seconds=70)
    client.get("/admin/calendar")  # a new minute: recorded on its own, no second summary of the old one
    assert len(summaries(db)) == 1 and len(refusals(db)) == 11


def test_ten_refusals_a_minute_or_fewer_are_each_recorded_and_never_summarised(make, client, db, clock, now):
    from workflow.accounts.throttle import flush_refusals

    make.user("county", username="yx_clerk")
    login(client, "yx_clerk")
    for _ in range(10):
        client.get("/admin/calendar")
    clock.at = now + timedelta(seconds=65)
    client.get("/admin/calendar")
    with transaction(db) as s:
        assert flush_refusals(s, now=now + timedelta(minutes=5)) == 0
    assert len(refusals(db)) == 11 and summaries(db) == []


def test_each_session_has_its_own_count(make, client, db, clock):
    make.user("county", username="yx_clerk")
    login(client, "yx_clerk")
    headers = api_headers(client, "yx_clerk")
    for _ in range(10):
        assert client.get("/admin/calendar").status_code == 403
        assert client.post("/api/v1/cases", headers=headers, json={"definition": "town"}).status_code == 403
    paths = [json.loads(e["data"])["path"] for e in refusals(db)]
    assert (paths.count("/admin/calendar"), paths.count("/api/v1/cases")) == (10, 10)


def test_the_scheduler_process_summarises_every_minute(app, make, client, db, clock):
    from webapp.cli import scheduled_jobs

    jobs = {job_id: (function, trigger) for job_id, function, trigger in scheduled_jobs(app)}
    function, trigger = jobs["refusal-summaries"]
    assert (trigger["trigger"], trigger["seconds"]) == ("interval", 60)
    make.user("county", username="yx_clerk")
    login(client, "yx_clerk")
    for _ in range(11):
        client.get("/admin/calendar")
    function()  # by the application's clock, long after the minute of the refusals
    assert [json.loads(e["data"])["counted"] for e in summaries(db)] == [1]
