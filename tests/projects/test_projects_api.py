"""The project libraries through the JSON API: a key project's life from 储备 to 达效 and an investment project's
from 洽谈 to 落地 or 终止 (each stage's date kept, a date out of order refused with nothing written), a county
sees and changes only its own projects, the office any county's, the leader reads and a member unit is refused;
and 三个一批 counted against figures worked out by hand."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import time_machine
from sqlmodel import col, select

from conftest import api_headers, footprint
from workflow.core.db import transaction
from workflow.core.models import AuditEvent, Case
from workflow.projects import LIBRARIES
from workflow.projects.ledger import create_project

DAY = datetime(2026, 11, 27, 2, 0, tzinfo=UTC)  # a Friday in the fourth quarter


@pytest.fixture
def people(make):
    yx, pd = make.town("西烟镇", county="盂县"), make.town("娘子关镇", county="平定县")
    jq = make.town("河底镇", county="郊区")
    return {"county": make.user("county", county="盂县", username="yx_clerk"),
            "other": make.user("county", county="平定县", username="pd_clerk"),
            "jq": make.user("county", county="郊区", username="jq_clerk"),
            "office": make.user("office", username="office_zhang"),
            "leader": make.user("leader", username="leader_li"),
            "member": make.user("member", username="kj_staff"),
            "yx_town": yx, "pd_town": pd, "jq_town": jq}


def _create(api, headers, library="key", **body):
    return api.post(f"/api/v1/projects/{library}", headers=headers, json=body)


def _move(api, headers, case, trigger, day, **more):
    return api.post(f"/api/v1/projects/{case['id']}/stage", headers=headers,
                    json={"trigger": trigger, "date": day, "expected_version": case["version"], **more})


def test_a_key_project_from_reserve_to_full_output_through_the_api(app, db, people):
    api = app.test_client()
    with time_machine.travel(DAY, tick=False):
        county = api_headers(api, "yx_clerk")
        missing = _create(api, county, town_id=people["yx_town"].id, data={"enterprise": "盂县石材有限公司"})
        assert missing.status_code == 422
        assert {d["field"] for d in missing.json["details"]} == {"project_name", "investment_planned"}
        made = _create(api, county, town_id=people["yx_town"].id,
                       data={"project_name": "年产 50 万吨石材深加工项目", "enterprise": "盂县石材有限公司",
                             "investment_planned": 32000, "investment_completed": 0})
        assert made.status_code == 201, made.json
        case = made.json
        assert case["state"] == "reserve" and case["title"] == "年产 50 万吨石材深加工项目"
        assert case["data"]["report_due_date"].startswith("2027-01")  # after the fourth quarter ends
        assert case["data"]["last_activity_date"] == "2026-11-27"

        case = _move(api, county, case, "sign", "2026-10-12").json
        assert case["state"] == "signed" and case["data"]["signed_date"] == "2026-10-12"
        before = footprint(db)
        early = _move(api, county, case, "start", "2026-10-01")  # before it was signed
        assert early.status_code == 422 and early.json["details"][0]["field"] == "started_date"
        future = _move(api, county, case, "start", "2026-12-01")
        assert future.status_code == 422
        wrong = _move(api, county, case, "produce", "2026-11-01")  # not a move from 签约
        assert wrong.status_code == 409
        assert footprint(db) == before  # nothing written by a refusal
        case = _move(api, county, case, "start", "2026-11-02").json
        update = api.post(f"/api/v1/projects/{case['id']}/update", headers=county, json={
            "data": {"investment_completed": 5400, "support": "省级专项资金 300 万元"},
            "expected_version": case["version"]})
        assert update.status_code == 200, update.json
        case = update.json
        assert case["data"]["investment_completed"] == 5400 and case["data"]["last_update_date"] == "2026-11-27"
        negative = api.post(f"/api/v1/projects/{case['id']}/update", headers=county, json={
            "data": {"investment_completed": -1}, "expected_version": case["version"]})
        assert negative.status_code == 422 and negative.json["details"][0]["field"] == "investment_completed"
        case = _move(api, county, case, "produce", "2026-11-20").json
        case = _move(api, county, case, "reach_output", "2026-11-27").json
        assert case["state"] == "effective"
        assert {k: case["data"][k] for k in ("signed_date", "started_date", "producing_date", "effective_date")} == {
            "signed_date": "2026-10-12", "started_date": "2026-11-02", "producing_date": "2026-11-20",
            "effective_date": "2026-11-27"}
        ended = api.post(f"/api/v1/projects/{case['id']}/update", headers=county, json={
            "data": {"investment_completed": 32000}, "expected_version": case["version"]})
        assert ended.status_code == 409  # a project at full output is no longer updated
        listed = api.get("/api/v1/projects/key?stage=effective", headers=county).json
        assert [p["number"] for p in listed["items"]] == [case["number"]]
        assert listed["items"][0]["stage_label"] == {"zh": "达效", "en": "At full output"}
    with transaction(db) as s:
        triggers = list(s.exec(select(AuditEvent.trigger).where(AuditEvent.case_id == case["id"])
                               .order_by(col(AuditEvent.seq))))
    assert triggers == [None, "sign", "start", "update_project", "produce", "reach_output"]


def test_an_investment_project_is_signed_and_lands_or_is_terminated_with_its_reason(app, people):
    api = app.test_client()
    with time_machine.travel(DAY, tick=False):
        county = api_headers(api, "yx_clerk")
        one = _create(api, county, "investment",
                      data={"project_name": "光伏组件生产线", "enterprise": "某新能源集团",
                            "investment_planned": 50000})
        assert one.status_code == 201 and one.json["state"] == "negotiating" and one.json["town_id"] is None
        one = _move(api, county, one.json, "sign", "2026-09-30").json
        one = _move(api, county, one, "land", "2026-11-03").json
        assert one["state"] == "landed" and one["data"]["landed_date"] == "2026-11-03"
        two = _create(api, county, "investment",
                      data={"project_name": "数据中心", "enterprise": "某科技公司", "investment_planned": 80000}).json
        no_reason = _move(api, county, two, "terminate", "2026-11-10")
        assert no_reason.status_code == 422 and no_reason.json["details"][0]["field"] == "termination_reason"
        two = _move(api, county, two, "terminate", "2026-11-10", termination_reason="投资方战略调整").json
        assert two["state"] == "terminated" and two["data"]["termination_reason"] == "投资方战略调整"
        listing = api.get("/api/v1/projects/investment", headers=county).json
        assert {p["stage"] for p in listing["items"]} == {"landed", "terminated"}


def test_a_county_sees_and_changes_only_its_own_projects(app, db, make, people):
    api = app.test_client()
    with time_machine.travel(DAY, tick=False):
        yx, pd = api_headers(api, "yx_clerk"), api_headers(api, "pd_clerk")
        own = _create(api, yx, town_id=people["yx_town"].id,
                      data={"project_name": "盂县项目", "investment_planned": 1000}).json
        other = _create(api, pd, town_id=people["pd_town"].id,
                        data={"project_name": "平定项目", "investment_planned": 2000}).json
        assert _create(api, yx, town_id=people["pd_town"].id,  # another county's town
                       data={"project_name": "越界", "investment_planned": 1}).status_code == 422
        assert [p["name"] for p in api.get("/api/v1/projects/key", headers=yx).json["items"]] == ["盂县项目"]
        assert api.get(f"/api/v1/projects/key?county={other['county_id']}",
                       headers=yx).json["items"] == []
        assert _move(api, yx, other, "sign", "2026-11-01").status_code == 404
        assert api.get(f"/api/v1/cases/{other['id']}", headers=yx).status_code == 404
        office = api_headers(api, "office_zhang")
        assert api.get("/api/v1/projects/key", headers=office).json["total"] == 2
        by_office = _create(api, office, town_id=people["jq_town"].id,
                            data={"project_name": "郊区项目", "investment_planned": 3000})
        assert by_office.status_code == 201 and by_office.json["county_id"] == people["jq_town"].county_id
        assert _move(api, office, own, "sign", "2026-11-01").status_code == 200
        leader = api_headers(api, "leader_li")
        assert api.get("/api/v1/projects/key", headers=leader).json["total"] == 3
        assert _create(api, leader, town_id=people["yx_town"].id,
                       data={"project_name": "x", "investment_planned": 1}).status_code == 403
        member = api_headers(api, "kj_staff")
        assert api.get("/api/v1/projects/key", headers=member).status_code == 403
        assert api.get("/api/v1/projects/batches/2026", headers=member).status_code == 403
        assert api.get("/api/v1/projects/nonsense", headers=office).status_code == 404


def _project(db, make, user, key, town, name, amount, moves):
    """A project created on DAY and taken through `moves` [(trigger, date_key, date)] by `user`."""
    from workflow.core.engine import fire

    with transaction(db) as s:
        case = create_project(session=s, key=key, actor=make.actor(user), now=DAY,
                              town_id=town.id if town else None, county_id=None,
                              data={"project_name": name, "investment_planned": amount})
        for trigger, date_key, day in moves:
            fire(session=s, case_id=case.id, trigger=trigger, actor=make.actor(user), now=DAY,
                 payload={date_key: day})
        return case.id


def test_three_batches_are_counted_by_quarter_and_county_as_worked_out_by_hand(app, db, make, people):
    yx, pd = people["county"], people["other"]
    s, st, pr = ("sign", "signed_date"), ("start", "started_date"), ("produce", "producing_date")
    # 盂县: A signed in Q1 and started in Q3; B signed and started in Q2 (two stages in one quarter), put into
    # production in Q3; C signed in 2025 (not this year's), started in Q1; an investment project signed in Q2.
    _project(db, make, yx, "key_project", people["yx_town"], "A", 1000, [(*s, "2026-02-10"), (*st, "2026-08-01")])
    _project(db, make, yx, "key_project", people["yx_town"], "B", 2000,
             [(*s, "2026-04-01"), (*st, "2026-06-30"), (*pr, "2026-07-15")])
    _project(db, make, yx, "key_project", people["yx_town"], "C", 4000, [(*s, "2025-12-31"), (*st, "2026-01-05")])
    _project(db, make, yx, "investment_project", None, "招商一", 500, [(*s, "2026-05-20")])
    _project(db, make, yx, "key_project", people["yx_town"], "储备中", 9000, [])
    # 平定县: one key project signed in Q2 (counted in 平定县, not 盂县), one investment project signed in Q4.
    _project(db, make, pd, "key_project", people["pd_town"], "D", 300, [(*s, "2026-06-01")])
    _project(db, make, pd, "investment_project", None, "招商二", 700, [(*s, "2026-10-08")])

    api = app.test_client()
    with time_machine.travel(DAY, tick=False):
        report = api.get("/api/v1/projects/batches/2026", headers=api_headers(api, "office_zhang")).json
        yx_id, pd_id = people["yx_town"].county_id, people["pd_town"].county_id

        def counts(quarter, county):
            row = next(r for r in report["rows"] if r["quarter"] == quarter and r["county_id"] == county)
            return tuple(row[b]["count"] for b in ("signed", "started", "producing"))

        assert counts(1, yx_id) == (1, 1, 0)  # A signed; C started
        assert counts(2, yx_id) == (2, 1, 0)  # B signed and started, 招商一 signed
        assert counts(3, yx_id) == (0, 1, 1)  # A started; B in production
        assert counts(4, yx_id) == (0, 0, 0)
        assert counts(2, pd_id) == (1, 0, 0) and counts(4, pd_id) == (1, 0, 0)
        assert counts(0, yx_id) == (3, 3, 1) and counts(0, pd_id) == (2, 0, 0)
        assert counts(2, None) == (3, 1, 0) and counts(0, None) == (5, 3, 1)
        q2 = next(r for r in report["rows"] if r["quarter"] == 2 and r["county_id"] == yx_id)
        assert q2["signed"]["investment"] == 2500.0 and q2["started"]["investment"] == 2000.0
        mine = api.get("/api/v1/projects/batches/2026", headers=api_headers(api, "yx_clerk")).json
        assert {r["county_id"] for r in mine["rows"]} == {yx_id, None}  # a county: its own
        assert next(r for r in mine["rows"] if r["quarter"] == 0 and r["county_id"] is None)["signed"]["count"] == 3
    with transaction(db) as session:
        assert len(session.exec(select(Case.id).where(col(Case.definition_key).in_(LIBRARIES))).all()) == 7
