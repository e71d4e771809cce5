"""The action plan and its tasks through the API: the office drafts the year's plan (tasks under the programmes,
member units and counties responsible), the leader returns it and approves it, approval opens one task per
responsible unit (a county's task is the county's case, a member unit's the office's with the unit brought in, the
programme's lead unit brought in to see it); the responsible unit reports with its evidence and the office marks
the task complete; a meeting's decisions become tasks too. Each unit sees only its own tasks or those it leads."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime

import pytest
from sqlmodel import select

from conftest import MATERIAL_PDF, api_headers, footprint
from workflow.core.calendar import local_date
from workflow.core.db import transaction
from workflow.core.models import AuditEvent, Case, CaseParty, User

YEAR = local_date(datetime.now(UTC)).year


@pytest.fixture
def people(make, db):
    users = {"office": make.user("office"), "leader": make.user("leader"),
             "yx": make.user("county", county="盂县"), "pd": make.user("county", county="平定县"),
             "kj": make.user("member", unit="市科技局"), "gx": make.user("member", unit="市工信局（成员）"),
             "sw": make.user("member", unit="市商务局"), "ny": make.user("member", unit="市农业农村局")}
    return users


def unit_of(db, user) -> int:
    with transaction(db) as s:
        return s.get(User, user.id).unit_id


def _fire(client, headers, case_id, trigger, data=None, comment=None):
    version = client.get(f"/api/v1/cases/{case_id}", headers=headers).json["version"]
    return client.post(f"/api/v1/cases/{case_id}/transitions", headers=headers,
                       json={"trigger": trigger, "data": data or {}, "comment": comment, "expected_version": version})


def drafted(client, db, people, headers):
    created = client.post("/api/v1/programmes/plans", headers=headers["office"], json={"year": YEAR})
    assert created.status_code == 201, created.get_data(as_text=True)
    assert client.post("/api/v1/programmes/plans", headers=headers["office"], json={"year": YEAR}).status_code == 422
    plan_id = created.json["case_id"]
    kj, sw, ny = (unit_of(db, people[k]) for k in ("kj", "sw", "ny"))
    yx, pd = unit_of(db, people["yx"]), unit_of(db, people["pd"])
    first = {"programme": "innovation", "title": "新建省级企业技术中心", "lead_unit_id": kj, "units": [kj, yx],
             "target_text": "全年新建省级企业技术中心3家", "target_figure": "3", "report_cycle": "monthly",
             "milestones": [{"title": "完成申报", "due_date": f"{YEAR}-12-20"}]}
    second = {"programme": "market_expansion", "title": "组织专业镇企业参加展会", "lead_unit_id": sw,
              "units": [ny, pd], "target_text": "组织参展不少于5场", "report_cycle": "quarterly"}
    for task in (first, second):
        response = _fire(client, headers["office"], plan_id, "save_task", {"task": task})
        assert response.status_code == 200, response.get_data(as_text=True)
    return plan_id


def test_the_plan_from_draft_to_tasks_done(app, client, db, people):
    headers = {k: api_headers(client, u.username) for k, u in people.items()}
    plan_id = drafted(client, db, people, headers)

    bad = _fire(client, headers["office"], plan_id, "save_task",
                {"task": {"programme": "nope", "title": "", "lead_unit_id": unit_of(db, people["yx"]), "units": []}})
    assert bad.status_code == 422
    fields = {d.get("field") for d in bad.json["details"]}
    assert {"programme", "title", "lead_unit_id", "units", "target_text"} <= fields
    before = footprint(db)
    assert _fire(client, headers["office"], plan_id, "save_task", {"task": {"title": "x"}}).status_code == 422
    assert footprint(db) == before  # nothing half-written

    assert _fire(client, headers["office"], plan_id, "submit_plan").status_code == 200
    assert _fire(client, headers["leader"], plan_id, "return_plan", comment="请补充节点目标").json["state"] == "draft"
    assert _fire(client, headers["office"], plan_id, "submit_plan").status_code == 200
    assert _fire(client, headers["office"], plan_id, "approve_plan").status_code == 403
    approved = _fire(client, headers["leader"], plan_id, "approve_plan")
    assert approved.json["state"] == "approved", approved.get_data(as_text=True)

    plan = client.get(f"/api/v1/programmes/plans/{YEAR}", headers=headers["leader"]).json
    assert plan["state"] == "approved" and len(plan["task_cases"]) == 4
    with transaction(db) as s:
        cases = s.exec(select(Case).where(Case.definition_key == "plan_task").order_by(Case.id)).all()
        parties = {(p.case_id, p.unit_id, p.purpose) for p in s.exec(select(CaseParty)).all()}
    by_unit = {c.data["responsible_unit_id"]: c for c in cases}
    yx, kj, ny, sw = (unit_of(db, people[k]) for k in ("yx", "kj", "ny", "sw"))
    assert by_unit[yx].county_id == yx  # a county's task is the county's
    assert by_unit[kj].county_id != kj and (by_unit[kj].id, kj, "responsible") in parties
    assert (by_unit[kj].id, kj, "lead") not in parties  # a unit that leads its own task is brought in once
    assert (by_unit[ny].id, ny, "responsible") in parties and (by_unit[ny].id, sw, "lead") in parties
    assert (by_unit[yx].id, kj, "lead") in parties
    assert by_unit[yx].data["report_due_date"] and by_unit[yx].data["source"] == "plan"

    # scoping: a county its own tasks; a member unit what it carries out or leads
    def seen(who):
        return {t["case_id"] for t in client.get(f"/api/v1/programmes/tasks?year={YEAR}",
                                                 headers=headers[who]).json["items"]}
    assert seen("yx") == {by_unit[yx].id}
    assert seen("pd") == {by_unit[unit_of(db, people["pd"])].id}
    assert seen("kj") == {by_unit[kj].id, by_unit[yx].id}
    assert seen("sw") == {by_unit[ny].id, by_unit[unit_of(db, people["pd"])].id}
    assert seen("ny") == {by_unit[ny].id}
    assert seen("gx") == set()
    assert len(seen("office")) == 4
    assert client.get(f"/api/v1/programmes/tasks/{by_unit[yx].id}", headers=headers["pd"]).status_code == 404
    assert client.get(f"/api/v1/programmes/plans/{YEAR}", headers=headers["yx"]).status_code == 403

    # the lead unit sees but does not report; the responsible unit reports with its evidence
    task_id = by_unit[ny].id
    assert _fire(client, headers["sw"], task_id, "submit_report", {"report": "已参展2场"}).status_code == 422
    upload = client.post(f"/api/v1/cases/{task_id}/attachments", headers=headers["ny"],
                         data={"file": (io.BytesIO(MATERIAL_PDF), "参展证明.pdf")})
    assert upload.status_code == 201, upload.get_data(as_text=True)
    assert _fire(client, headers["office"], task_id, "complete").status_code == 422  # no evidence yet
    reported = _fire(client, headers["ny"], task_id, "submit_report",
                     {"report": "已组织参加广交会等展会2场", "report_figure": "2",
                      "report_attachments": [upload.json["id"]]})
    assert reported.status_code == 200, reported.get_data(as_text=True)
    [report] = client.get(f"/api/v1/programmes/tasks/{task_id}/reports", headers=headers["sw"]).json
    assert report["attachments"] == [upload.json["id"]] and report["late"] is False and report["figure"] == "2"
    done = _fire(client, headers["office"], task_id, "complete")
    assert done.json["state"] == "completed"

    board = client.get(f"/api/v1/programmes/board/{YEAR}", headers=headers["office"]).json
    assert board["total"] == {"on_track": 3, "done": 1}
    expansion = next(g for g in board["by_programme"] if g["key"] == "market_expansion")
    assert expansion["counts"] == {"on_track": 1, "done": 1}
    done_row = next(t for t in expansion["tasks"] if t["case_id"] == task_id)
    assert done_row["reports"][-1]["text"] == "已组织参加广交会等展会2场"
    assert client.get(f"/api/v1/programmes/board/{YEAR}", headers=headers["pd"]).json["total"] == {"on_track": 1}


def test_a_meetings_decisions_become_tasks(client, db, people):
    headers = {k: api_headers(client, u.username) for k, u in people.items()}
    yx, kj = unit_of(db, people["yx"]), unit_of(db, people["kj"])
    body = {"meeting_date": local_date(datetime.now(UTC)).isoformat(),
            "meeting_title": "领导小组第三次全体会议",
            "decisions": [{"title": "研究解决专业镇用地指标问题", "units": [yx, kj],
                           "target_text": "一个月内提出方案"}]}
    assert client.post("/api/v1/programmes/meetings", headers=headers["kj"], json=body).status_code == 403
    bad = client.post("/api/v1/programmes/meetings", headers=headers["office"],
                      json={**body, "meeting_date": "2099-01-01"})
    assert bad.status_code == 422
    made = client.post("/api/v1/programmes/meetings", headers=headers["office"], json=body)
    assert made.status_code == 201, made.get_data(as_text=True)
    assert len(made.json["task_ids"]) == 2
    mine = client.get("/api/v1/programmes/tasks", headers=headers["yx"]).json["items"]
    assert [t["source"] for t in mine] == ["meeting"] and mine[0]["title"] == "研究解决专业镇用地指标问题"
    with transaction(db) as s:
        event = s.exec(select(AuditEvent).where(AuditEvent.kind == "meeting_recorded")).one()
    assert json.loads(event.data)["decisions"] == 1
