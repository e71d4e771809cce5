"""The problem ledger's pages: the log form with its evidence (a refusal keeps nothing), the ledger's filters and
pages, its Excel export (a POST, audited), the office's assignment form and the unit's answer on the case page's
own form, and an existing Excel ledger read in: every row or none, each problem named by row and column."""

from __future__ import annotations

import io
from datetime import datetime

import ledger_world
import time_machine
from openpyxl import Workbook, load_workbook
from sqlmodel import select

from conftest import csrf_token, login, reload
from workflow.core.calendar import LOCAL_TZ
from workflow.core.db import transaction
from workflow.core.exports import HEADER_ROW
from workflow.core.models import Attachment, AuditEvent, Case
from workflow.problems.excel import COLUMNS, SHEET

NOW = datetime(2026, 11, 27, 10, tzinfo=LOCAL_TZ)  # a Friday
PDF = b"%PDF-1.4\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n"
people = ledger_world.people  # the fixture


def logged_in(app, username):
    client = app.test_client()
    login(client, username)
    return client


def problems(db):
    with transaction(db) as s:
        return s.exec(select(Case).where(Case.definition_key == "problem").order_by(Case.id)).all()


def test_a_member_unit_logs_a_problem_with_its_evidence(app, db, people):
    with time_machine.travel(NOW, tick=False):
        client = logged_in(app, "kj_staff")
        page = client.get("/problems/new")
        assert page.status_code == 200 and "用地" in page.get_data(as_text=True)
        form = {"csrf_token": csrf_token(client, "/problems/new"), "town_id": str(people.towns["西烟镇"].id),
                "category": "land", "description": "园区用地指标不足", "origin": "enterprise"}
        # an enterprise's problem must name the enterprise: refused, and the file is not kept
        refused = client.post("/problems/new", data={**form, "evidence": (io.BytesIO(PDF), "现场照片.pdf")},
                              content_type="multipart/form-data")
        assert refused.status_code == 422 and "企业反映的问题请填写企业名称" in refused.get_data(as_text=True)
        assert problems(db) == []
        done = client.post("/problems/new", data={**form, "enterprise_name": "盂县华盛铸造有限公司",
                                                  "evidence": [(io.BytesIO(PDF), "现场照片.pdf"),
                                                               (io.BytesIO(PDF), "企业申请.pdf")]},
                           content_type="multipart/form-data")
        assert done.status_code == 302, done.get_data(as_text=True)
        [case] = problems(db)
        shown = client.get(f"/cases/{case.id}").get_data(as_text=True)
    assert case.data["enterprise_name"] == "盂县华盛铸造有限公司" and case.data["raised_by"] == "市科技局"
    with transaction(db) as s:
        files = s.exec(select(Attachment.filename).where(Attachment.case_id == case.id)).all()
    assert sorted(files) == ["企业申请.pdf", "现场照片.pdf"]
    assert "园区用地指标不足" in shown and "企业反映" in shown


def test_the_office_assigns_on_its_form_and_the_unit_answers_on_the_case_page(app, db, make, people):
    with time_machine.travel(NOW, tick=False):
        office = logged_in(app, "office_staff")
        token = csrf_token(office, "/problems/new")
        office.post("/problems/new", data={"csrf_token": token, "town_id": str(people.towns["娘子关镇"].id),
                                           "category": "energy", "description": "天然气管网未通"})
        [case] = problems(db)
        form = office.get(f"/problems/{case.id}/assign")
        assert form.status_code == 200 and "市发改委" in form.get_data(as_text=True)
        assert "盂县" not in form.get_data(as_text=True)  # only the problem's own county
        shown = office.get(f"/cases/{case.id}").get_data(as_text=True)
        assert f"/problems/{case.id}/assign" in shown
        sent = office.post(f"/problems/{case.id}/assign", data={
            "csrf_token": token, "expected_version": str(case.version),
            "responsible_unit_id": str(people.units["市发改委"]), "due_date": "2026-12-11"})
        assert sent.status_code == 302
        assert reload(db, case.id).state == "assigned"
        unit = logged_in(app, "fgw_staff")
        page = unit.get(f"/cases/{case.id}/do/report_progress")
        assert page.status_code == 200 and "计划" in page.get_data(as_text=True)
        answered = unit.post(f"/cases/{case.id}/do/report_progress", data={
            "csrf_token": csrf_token(unit, "/inbox"), "expected_version": str(reload(db, case.id).version),
            "plan": "已协调燃气公司延伸管线", "plan_date": "2026-12-18"})
        assert answered.status_code == 302
    assert reload(db, case.id).state == "in_progress"
    assert reload(db, case.id).data["due_date"] == "2026-12-18"


def test_the_ledger_filters_pages_and_exports(app, db, make, people):
    with time_machine.travel(NOW, tick=False):
        office = logged_in(app, "office_staff")
        token = csrf_token(office, "/problems/new")
        for i in range(23):
            town = "西烟镇" if i % 2 else "娘子关镇"
            office.post("/problems/new", data={"csrf_token": token, "town_id": str(people.towns[town].id),
                                               "category": "talent" if i < 3 else "land",
                                               "description": f"问题{i:02d}：技工短缺"})
        assert len(problems(db)) == 23
        first = office.get("/problems").get_data(as_text=True)
        assert "问题22" in first and "问题02" not in first
        second = office.get("/problems?page=2").get_data(as_text=True)
        assert "问题02" in second
        talent = office.get("/problems?category=talent").get_data(as_text=True)
        assert "问题02" in talent and "问题05" not in talent
        exported = office.post("/problems/export.xlsx", data={"csrf_token": token, "category": "talent",
                                                              "county": str(people.units["平定县"])})
        assert exported.status_code == 200 and exported.headers["X-Export-Rows"] == "2"
        sheet = load_workbook(io.BytesIO(exported.data)).active
        rows = list(sheet.iter_rows(min_row=HEADER_ROW + 1, values_only=True))
        assert [r[4] for r in rows] == ["问题02：技工短缺", "问题00：技工短缺"]
        assert {r[3] for r in rows} == {"人才"} and {r[1] for r in rows} == {"平定县"}
        county = logged_in(app, "yx_clerk")
        assert "问题02" not in county.get("/problems").get_data(as_text=True)  # 平定县's
    with transaction(db) as s:
        event = s.exec(select(AuditEvent).where(AuditEvent.kind == "list_exported")).one()
    assert "problem_ledger" in event.data


def workbook(rows) -> io.BytesIO:
    book = Workbook()
    sheet = book.active
    sheet.title = SHEET
    sheet.append([c.header for c in COLUMNS])
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    out.seek(0)
    return out


def test_an_excel_ledger_is_imported_whole_or_not_at_all(app, db, people):
    good = ("盂县", "西烟镇", "用地", "铸造园区用地指标不足", "企业反映", "刘建国", "盂县华盛铸造有限公司", "市发改委",
            "2026-12-11")
    with time_machine.travel(NOW, tick=False):
        office = logged_in(app, "office_staff")
        token = csrf_token(office, "/problems/import")
        bad = office.post("/problems/import", data={"csrf_token": token, "file": (workbook([
            good, ("盂县", "不存在镇", "用地", "描述", "", "", "", "", ""),
            ("平定县", "娘子关镇", "交通", "", "", "", "", "市不存在局", "")]), "台账.xlsx")},
            content_type="multipart/form-data")
        text = bad.get_data(as_text=True)
        assert bad.status_code == 422
        for expected in ("第 3 行 B 列（专业镇）", "第 4 行 C 列（问题类别）", "第 4 行 D 列（问题描述）",
                         "第 4 行 H 列（责任单位）"):
            assert expected in text, expected
        assert problems(db) == []  # the good row neither
        done = office.post("/problems/import", data={"csrf_token": token, "file": (workbook([
            good, ("平定县", "", "能源", "电力增容周期长", "", "", "", "", "")]), "台账.xlsx")},
            content_type="multipart/form-data")
        assert done.status_code == 422  # 能源 is not a category's label: 用能 is
        done = office.post("/problems/import", data={"csrf_token": token, "file": (workbook([
            good, ("平定县", "", "用能", "电力增容周期长", "", "", "", "", "")]), "台账.xlsx")},
            content_type="multipart/form-data")
        assert done.status_code == 302, done.get_data(as_text=True)
    first, second = problems(db)
    assert (first.state, first.data["responsible_unit"], first.data["due_date"]) == ("assigned", "市发改委",
                                                                                      "2026-12-11")
    assert first.data["enterprise_name"] == "盂县华盛铸造有限公司" and first.data["origin"] == "enterprise"
    assert second.state == "logged" and second.town_id is None and second.data["category"] == "energy"
    with transaction(db) as s:
        assert '"rows":2' in s.exec(select(AuditEvent).where(AuditEvent.kind == "problems_imported")).one().data
