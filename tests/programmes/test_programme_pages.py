"""The action plan's pages: the office starts the year's plan and adds a task on the plan page (a bad one is marked
field by field, nothing saved), submits it and the leader approves it through the case page's steps; the county
reports with its evidence on the task's report form; the board shows it, prints, and exports to .xlsx (audited);
the task list is filtered; the office records a meeting's decisions. Who may open which page."""

from __future__ import annotations

import io
from datetime import UTC, datetime

from openpyxl import load_workbook
from sqlmodel import select

from conftest import MATERIAL_PDF, csrf_token, login
from workflow.core.calendar import local_date
from workflow.core.db import transaction
from workflow.core.models import AuditEvent, Case, User

YEAR = local_date(datetime.now(UTC)).year


def _unit(db, user) -> int:
    with transaction(db) as s:
        return s.get(User, user.id).unit_id


def _version(db, case_id) -> str:
    with transaction(db) as s:
        return str(s.get(Case, case_id).version)


def _post(client, url, data, page=None, **kw):
    return client.post(url, data={"csrf_token": csrf_token(client, page or url), **data}, **kw)


def test_the_pages_from_the_plan_to_the_board(app, db, make):
    office, leader = make.user("office"), make.user("leader")
    county, kj = make.user("county", county="盂县"), make.user("member", unit="市科技局")
    other = make.user("county", county="平定县")
    c = app.test_client()
    login(c, office.username)
    plan_page = f"/programmes/plan?year={YEAR}"
    assert "/programmes/plan" in c.get(plan_page).get_data(as_text=True)
    assert _post(c, "/programmes/plan", {"year": str(YEAR)}, plan_page).status_code == 303
    with transaction(db) as s:
        plan = s.exec(select(Case).where(Case.definition_key == "action_plan")).one()
    bad = _post(c, f"/programmes/plan/{plan.id}/tasks", {"title": ""}, plan_page)
    assert bad.status_code == 422 and 'id="err-programme"' in bad.get_data(as_text=True)
    form = {"programme": "innovation", "title": "新建省级企业技术中心", "lead_unit_id": str(_unit(db, kj)),
            "units": [str(_unit(db, county))], "target_text": "新建3家", "target_figure": "3",
            "milestones": f"{YEAR}-12-20 完成申报", "report_cycle": "monthly"}
    saved = _post(c, f"/programmes/plan/{plan.id}/tasks", form, plan_page)
    assert saved.status_code == 303, saved.get_data(as_text=True)
    shown = c.get(plan_page).get_data(as_text=True)
    assert "新建省级企业技术中心" in shown and f"{YEAR}-12-20 完成申报" in shown
    editing = c.get(f"{plan_page}&edit=1").get_data(as_text=True)
    assert 'name="task_no" value="1"' in editing and "新建3家" in editing
    assert _post(c, f"/programmes/plan/{plan.id}/tasks", {**form, "task_no": "1", "target_text": "新建4家"},
                 plan_page).status_code == 303
    added = _post(c, f"/programmes/plan/{plan.id}/tasks", {**form, "title": "待删除的任务"}, plan_page)
    assert added.status_code == 303
    assert _post(c, f"/programmes/plan/{plan.id}/tasks/remove", {"task_no": "2"}, plan_page).status_code == 303
    with transaction(db) as s:
        tasks = s.get(Case, plan.id).data["tasks"]
    assert [(t["no"], t["target_text"]) for t in tasks] == [(1, "新建4家")]
    assert _post(c, f"/cases/{plan.id}/do/submit_plan", {"confirmed": "yes", "expected_version": _version(db, plan.id)},
                 f"/cases/{plan.id}").status_code in (302, 303)
    lc = app.test_client()
    login(lc, leader.username)
    approved = _post(lc, f"/cases/{plan.id}/do/approve_plan",
                     {"confirmed": "yes", "expected_version": _version(db, plan.id)}, f"/cases/{plan.id}")
    assert approved.status_code in (302, 303)
    with transaction(db) as s:
        [task] = s.exec(select(Case).where(Case.definition_key == "plan_task")).all()

    cc = app.test_client()
    login(cc, county.username)
    report_page = f"/programmes/tasks/{task.id}/report"
    assert 'id="report-form"' in cc.get(report_page).get_data(as_text=True)
    sent = _post(cc, report_page, {"report": "已完成2家申报", "report_figure": "2", "version": str(task.version),
                                   "files": (io.BytesIO(MATERIAL_PDF), "申报材料.pdf")}, report_page,
                 content_type="multipart/form-data")
    assert sent.status_code == 303, sent.get_data(as_text=True)
    with transaction(db) as s:
        task = s.get(Case, task.id)
    assert task.data["reports"][0]["attachments"] and task.data["reports"][0]["figure"] == "2"
    case_page = cc.get(f"/cases/{task.id}").get_data(as_text=True)
    assert 'id="task-reports"' in case_page and "已完成2家申报" in case_page
    assert f"/attachments/{task.data['reports'][0]['attachments'][0]}\"" in case_page
    assert 'id="plan-summary"' in c.get(f"/cases/{plan.id}").get_data(as_text=True)
    kc = app.test_client()
    login(kc, kj.username)
    assert 'id="report-form"' not in kc.get(report_page).get_data(as_text=True)  # the lead unit reads, no form

    board = cc.get(f"/programmes?year={YEAR}").get_data(as_text=True)
    assert "已完成2家申报" in board and "data-print" in board
    oc = app.test_client()
    login(oc, other.username)
    assert "已完成2家申报" not in oc.get(f"/programmes?year={YEAR}").get_data(as_text=True)
    assert oc.get(report_page).status_code == 404
    assert oc.get(plan_page).status_code == 403

    exported = _post(c, "/programmes/export", {"year": str(YEAR)}, f"/programmes?year={YEAR}")
    assert exported.status_code == 200
    sheet = load_workbook(io.BytesIO(exported.data)).active
    assert any(row and "新建省级企业技术中心" in [str(v) for v in row] for row in sheet.iter_rows(values_only=True))
    with transaction(db) as s:
        assert s.exec(select(AuditEvent).where(AuditEvent.kind == "list_exported")).first() is not None
    listed = c.get(f"/programmes/tasks?year={YEAR}&standing=on_track").get_data(as_text=True)
    assert task.number in listed
    assert task.number not in c.get(f"/programmes/tasks?year={YEAR}&standing=done").get_data(as_text=True)

    meeting = _post(c, "/programmes/meeting", {"meeting_date": local_date(datetime.now(UTC)).isoformat(),
                                               "meeting_title": "领导小组第三次全体会议",
                                               "title_1": "研究用地指标", "target_1": "一个月内提出方案",
                                               "units_1": [str(_unit(db, county))]})
    assert meeting.status_code == 303, meeting.get_data(as_text=True)
    assert cc.get("/programmes/tasks").get_data(as_text=True).count("研究用地指标") == 1
    assert _post(cc, "/programmes/meeting", {}, "/programmes/tasks").status_code == 403
