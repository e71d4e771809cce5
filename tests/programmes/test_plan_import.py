"""The draft plan's tasks imported from Excel: a file with errors is refused whole, every problem named by row and
column, nothing written; a good file adds every row as a task of the draft (audited); the same through the API;
the template's header row is the import's; a submitted plan takes no import."""

from __future__ import annotations

import io
from datetime import UTC, datetime

import pytest
from openpyxl import Workbook, load_workbook
from sqlmodel import select

from conftest import api_headers, csrf_token, login
from workflow.core.calendar import local_date
from workflow.core.db import transaction
from workflow.core.models import AuditEvent, Case
from workflow.programmes.excel import COLUMNS, SHEET

YEAR = local_date(datetime.now(UTC)).year


@pytest.fixture
def people(make):
    return {"office": make.user("office"), "yx": make.user("county", county="盂县"),
            "kj": make.user("member", unit="市科技局"), "sw": make.user("member", unit="市商务局"),
            "county": make.user("county", county="平定县")}


def workbook(rows, headers=None) -> io.BytesIO:
    book = Workbook()
    sheet = book.active
    sheet.title = SHEET
    sheet.append(headers or [c.header for c in COLUMNS])
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    out.seek(0)
    return out


GOOD = ("创新能力提升工程", "新建省级企业技术中心", "市科技局", "市科技局、盂县", "全年新建省级企业技术中心3家", 3,
        "按月", f"{YEAR}-06-30 完成申报；{YEAR}-12-20 通过认定")
SECOND = ("market_expansion", "组织专业镇企业参加展会", "市商务局", "平定县", "组织参展不少于5场", None, "按季度", None)


def _plan(db) -> Case:
    with transaction(db) as s:
        return s.exec(select(Case).where(Case.definition_key == "action_plan")).one()


def test_the_office_imports_the_tasks_whole_or_not_at_all(app, db, people):
    c = app.test_client()
    login(c, people["office"].username)
    page = f"/programmes/plan?year={YEAR}"
    token = csrf_token(c, page)
    assert c.post("/programmes/plan", data={"csrf_token": token, "year": str(YEAR)}).status_code == 303
    plan = _plan(db)
    url = f"/programmes/plan/{plan.id}/import"
    assert f'href="{url}"' in c.get(page).get_data(as_text=True)
    template = c.get("/programmes/plan/import-template.xlsx")
    assert template.status_code == 200
    sheet = load_workbook(io.BytesIO(template.data))[SHEET]
    assert [cell.value for cell in sheet[1]] == [col.header for col in COLUMNS]

    bad = c.post(url, data={"csrf_token": token, "file": (workbook([
        GOOD, ("不存在的工程", "", "盂县", "市科技局、市不存在局", "目标", "三", "每周", "12月底完成"),
        ("创新能力提升工程", "任务", "市科技局", "盂县", "目标", None, None, f"{YEAR - 1}-05-01 去年的节点")]),
        "任务.xlsx")}, content_type="multipart/form-data")
    text = bad.get_data(as_text=True)
    assert bad.status_code == 422
    for expected in ("第 3 行 A 列（所属工程）", "第 3 行 B 列（任务名称）", "第 3 行 C 列（牵头单位）",
                     "第 3 行 D 列（责任单位）", "第 3 行 G 列（报送周期）", "第 3 行 H 列（节点目标）",
                     "第 4 行 H 列（节点目标）"):
        assert expected in text, expected
    assert _plan(db).data.get("tasks") in (None, [])  # the good row neither

    done = c.post(url, data={"csrf_token": token, "file": (workbook([GOOD, SECOND]), "任务.xlsx")},
                  content_type="multipart/form-data")
    assert done.status_code == 303, done.get_data(as_text=True)
    first, second = _plan(db).data["tasks"]
    assert (first["no"], first["programme"], first["title"], first["target_figure"], first["report_cycle"]) == \
        (1, "innovation", "新建省级企业技术中心", "3", "monthly")
    assert len(first["units"]) == 2 and first["milestones"] == [
        {"title": "完成申报", "due_date": f"{YEAR}-06-30"}, {"title": "通过认定", "due_date": f"{YEAR}-12-20"}]
    assert (second["programme"], second["report_cycle"], second["milestones"]) == \
        ("market_expansion", "quarterly", [])
    with transaction(db) as s:
        event = s.exec(select(AuditEvent).where(AuditEvent.kind == "plan_tasks_imported")).one()
        assert event.case_id == plan.id and '"rows":2' in event.data


def test_the_import_through_the_api_and_who_may_use_it(app, client, db, people):
    office = api_headers(client, people["office"].username)
    county = api_headers(client, people["yx"].username)
    assert client.post(f"/api/v1/programmes/plans/{YEAR}/import", headers=office).status_code == 404
    assert client.post("/api/v1/programmes/plans", headers=office, json={"year": YEAR}).status_code == 201
    url = f"/api/v1/programmes/plans/{YEAR}/import"
    assert client.post(url, headers=county, data={"file": (workbook([GOOD]), "t.xlsx")},
                       content_type="multipart/form-data").status_code == 403
    wrong = client.post(url, headers=office, data={"file": (workbook([GOOD], headers=["工程"]), "t.xlsx")},
                        content_type="multipart/form-data")
    assert wrong.status_code == 422 and wrong.json["details"][0]["row"] == 1
    refused = client.post(url, headers=office, data={"file": (workbook([SECOND, (*SECOND[:5], "x", *SECOND[6:])]),
                                                              "t.xlsx")}, content_type="multipart/form-data")
    assert refused.status_code == 422
    assert [(d["row"], d["column"]) for d in refused.json["details"]] == [(3, "F")]
    assert _plan(db).data.get("tasks") in (None, [])
    done = client.post(url, headers=office, data={"file": (workbook([GOOD, SECOND]), "t.xlsx")},
                       content_type="multipart/form-data")
    assert done.status_code == 200, done.get_data(as_text=True)
    assert done.json["task_nos"] == [1, 2]
    again = client.post(url, headers=office, data={"file": (workbook([SECOND]), "t.xlsx")},
                        content_type="multipart/form-data")
    assert again.json["task_nos"] == [3]  # added after the tasks held
    version = client.get(f"/api/v1/cases/{done.json['case_id']}", headers=office).json["version"]
    assert client.post(f"/api/v1/cases/{done.json['case_id']}/transitions", headers=office,
                       json={"trigger": "submit_plan", "expected_version": version}).status_code == 200
    late = client.post(url, headers=office, data={"file": (workbook([SECOND]), "t.xlsx")},
                       content_type="multipart/form-data")
    assert late.status_code == 422 and "已报送" in late.json["details"][0]["zh"]
    assert len(_plan(db).data["tasks"]) == 3
