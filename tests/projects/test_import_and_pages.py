"""The project libraries' pages and the Excel import: a county imports its existing list from the template (every
project created and taken to its stage with each stage's date), a file with mistakes writes nothing and names
every problem by row and column, the office imports for any county; the list's filters, its export (audited),
the new-project form, and 三个一批's page and workbook."""

from __future__ import annotations

import io
from datetime import UTC, datetime

import pytest
import time_machine
from openpyxl import Workbook, load_workbook
from sqlmodel import col, select

from conftest import csrf_token, footprint, login
from workflow.core.db import transaction
from workflow.core.models import AuditEvent, Case
from workflow.projects import LIBRARIES

DAY = datetime(2026, 11, 27, 2, 0, tzinfo=UTC)


@pytest.fixture
def people(make):
    return {"county": make.user("county", county="盂县", username="yx_clerk"),
            "other": make.user("county", county="平定县", username="pd_clerk"),
            "office": make.user("office", username="office_zhang"),
            "yx": make.town("西烟镇", county="盂县"), "yx2": make.town("路家村镇", county="盂县"),
            "pd": make.town("娘子关镇", county="平定县")}


def _workbook(template: bytes, rows: list[list[object]]) -> bytes:
    book = load_workbook(io.BytesIO(template))
    sheet = book["项目清单"]
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _upload(client, library: str, content: bytes):
    return client.post(f"/projects/{library}/import", content_type="multipart/form-data", data={
        "csrf_token": csrf_token(client, f"/projects/{library}"), "file": (io.BytesIO(content), "list.xlsx")})


def _projects(db) -> list[Case]:
    with transaction(db) as s:
        return list(s.exec(select(Case).where(col(Case.definition_key).in_(LIBRARIES)).order_by(col(Case.id))))


def test_a_county_imports_its_key_projects_from_the_template(client, db, people):
    with time_machine.travel(DAY, tick=False):
        login(client, "yx_clerk")
        template = client.get("/projects/key/template.xlsx")
        assert template.status_code == 200 and template.mimetype.endswith("spreadsheetml.sheet")
        headers = [c.value for c in load_workbook(io.BytesIO(template.data))["项目清单"][1]]
        assert headers == ["项目名称", "建设（投资）主体", "专业镇", "计划总投资（万元）", "累计完成投资（万元）",
                           "阶段",
                           "签约日期", "开工日期", "投产日期", "达效日期", "已获支持"]  # a county: no county column
        good = _workbook(template.data, [
            ["石材深加工", "盂县石材公司", "西烟镇", 32000, 5000, "开工", "2026-03-10", datetime(2026, 6, 1), None,
             None, "省级专项资金"],
            ["耐火材料技改", "某耐材公司", "路家村镇", "8000", None, "", None, None, None, None, None],
            ["农产品冷链", "某农业公司", "西烟镇", 1200.5, 1200.5, "达效", "2025-01-05", "2025-03-01", "2025-10-01",
             "2026-09-30", None]])
        done = _upload(client, "key", good)
        assert done.status_code == 303, done.get_data(as_text=True)
    made = _projects(db)
    assert [(c.title, c.state) for c in made] == [("石材深加工", "started"), ("耐火材料技改", "reserve"),
                                                   ("农产品冷链", "effective")]
    assert made[0].data["started_date"] == "2026-06-01" and made[0].data["investment_completed"] == 5000
    assert made[2].data["effective_date"] == "2026-09-30" and made[2].data["investment_planned"] == 1200.5
    assert {c.county_id for c in made} == {people["yx"].county_id}
    with transaction(db) as s:  # each project's creation and every move is in the trail
        moves = s.exec(select(AuditEvent.trigger).where(AuditEvent.case_id == made[2].id)
                       .order_by(col(AuditEvent.seq))).all()
    assert list(moves) == [None, "sign", "start", "produce", "reach_output"]


def test_a_file_with_mistakes_writes_nothing_and_names_each_by_row_and_column(client, db, people):
    with time_machine.travel(DAY, tick=False):
        login(client, "yx_clerk")
        template = client.get("/projects/key/template.xlsx").data
        bad = _workbook(template, [
            ["正确的项目", "某公司", "西烟镇", 1000, None, "签约", "2026-05-01", None, None, None, None],
            ["", "某公司", "娘子关镇", "一千", None, "投产", "2026-05-01", "2026-04-01", None, None, None],
            ["未来项目", None, "西烟镇", 100, None, "开工", "2026-05-01", "2027-01-01", None, None, None],
            ["阶段有误", None, "西烟镇", 100, None, "完工", None, None, None, None, None]])
        before = footprint(db)
        refused = _upload(client, "key", bad)
        assert refused.status_code == 422
        page = refused.get_data(as_text=True)
        assert footprint(db) == before and _projects(db) == []  # nothing written, not even the good row
    cells = {(int(r), c) for r, c in __import__("re").findall(r'data-row="(\d+)" data-column="([A-Z]*)"', page)}
    assert cells == {(3, "A"), (3, "C"), (3, "D"), (3, "H"), (3, "I"), (4, "H"), (5, "F")}
    assert "本县（区）没有专业镇“娘子关镇”" in page and "日期不能晚于今天" in page and "请填写项目名称" in page
    assert "请填写投产日期" in page or "投产日期" in page


def test_the_office_imports_investment_projects_for_any_county(client, db, people):
    with time_machine.travel(DAY, tick=False):
        login(client, "office_zhang")
        template = client.get("/projects/investment/template.xlsx").data
        headers = [c.value for c in load_workbook(io.BytesIO(template))["项目清单"][1]]
        assert headers[:4] == ["项目名称", "建设（投资）主体", "县（区）", "专业镇"] and "终止原因" in headers
        rows = [["光伏组件", "某新能源", "盂县", None, 50000, "落地", "2026-02-01", "2026-05-01", None, None, None],
                ["数据中心", "某科技", "平定县", "娘子关镇", 80000, "终止", "2026-03-01", None, "2026-08-01",
                 "投资方战略调整", None],
                ["文旅综合体", "某文旅", "郊区", None, 20000, "洽谈", None, None, None, None, None]]
        refused = _upload(client, "investment", _workbook(template, rows))
        assert refused.status_code == 422 and "没有县（区）“郊区”" in refused.get_data(as_text=True)
        assert _projects(db) == []
        done = _upload(client, "investment", _workbook(template, rows[:2]))
        assert done.status_code == 303
    made = _projects(db)
    assert [(c.title, c.state) for c in made] == [("光伏组件", "landed"), ("数据中心", "terminated")]
    assert made[1].county_id == people["pd"].county_id and made[1].town_id == people["pd"].id
    assert made[1].data["termination_reason"] == "投资方战略调整" and made[1].data["signed_date"] == "2026-03-01"


def test_not_a_workbook_is_refused(client, db, people):
    with time_machine.travel(DAY, tick=False):
        login(client, "yx_clerk")
        refused = _upload(client, "key", b"not a spreadsheet")
        assert refused.status_code == 422 and "不是 Excel 工作簿" in refused.get_data(as_text=True)
        book = Workbook()
        book.active.title = "别的表"
        out = io.BytesIO()
        book.save(out)
        assert "没有工作表“项目清单”" in _upload(client, "key", out.getvalue()).get_data(as_text=True)


def test_the_lists_filters_export_and_the_new_project_form(client, db, people):
    with time_machine.travel(DAY, tick=False):
        login(client, "yx_clerk")
        form = client.get("/projects/key/new").get_data(as_text=True)
        assert "计划总投资" in form and "report_due_date" not in form
        token = csrf_token(client, "/projects/key/new")
        missing = client.post("/projects/key/new", data={"csrf_token": token, "town_id": str(people["yx"].id),
                                                         "project_name": "", "investment_planned": ""})
        assert missing.status_code == 422 and "必须填写项目名称" in missing.get_data(as_text=True)
        made = client.post("/projects/key/new", data={"csrf_token": token, "town_id": str(people["yx"].id),
                                                      "project_name": "新材料产业园", "enterprise": "某集团",
                                                      "investment_planned": "150000"})
        assert made.status_code == 302
        case_id = int(made.headers["Location"].rsplit("/", 1)[1])
        page = client.get(f"/cases/{case_id}").get_data(as_text=True)
        assert "新材料产业园" in page and f"/cases/{case_id}/do/sign" in page
        sign = client.post(f"/cases/{case_id}/do/sign", data={"csrf_token": token, "expected_version": "1",
                                                               "signed_date": "2026-11-26"})
        assert sign.status_code == 302
        listing = client.get("/projects/key?stage=signed").get_data(as_text=True)
        assert "新材料产业园" in listing and "盂县" in listing
        assert "新材料产业园" not in client.get("/projects/key?stage=reserve").get_data(as_text=True)
        assert "新材料产业园" not in client.get(f"/projects/key?town={people['yx2'].id}").get_data(as_text=True)
        exported = client.post("/projects/key/export.xlsx", data={"csrf_token": token, "stage": "signed"})
        assert exported.status_code == 200
        sheet = load_workbook(io.BytesIO(exported.data)).active
        values = [c for row in sheet.iter_rows(values_only=True) for c in row if c]
        assert "新材料产业园" in values and 150000 in values
        with transaction(db) as s:
            event = s.exec(select(AuditEvent).where(AuditEvent.kind == "list_exported")).one()
        assert '"list":"key_projects"' in event.data.replace(" ", "")
        batches = client.get("/projects/batches?year=2026").get_data(as_text=True)
        assert 'data-quarter="4"' in batches and "签约一批" in batches
        book = client.post("/projects/batches/export.xlsx", data={"csrf_token": token, "year": "2026"})
        assert book.status_code == 200
        rows = list(load_workbook(io.BytesIO(book.data)).active.iter_rows(values_only=True))
        assert any(r[:3] == ("第4季度", "盂县", 1) for r in rows)
        dashboard = client.get("/dashboard").get_data(as_text=True)  # the panel on the dashboard, as an SVG chart
        assert 'id="h-batches"' in dashboard and dashboard.count('data-batch="signed"') >= 4
        assert f'<tr data-quarter="4" data-county="{people["yx"].county_id}"' in dashboard
        login(other := client.application.test_client(), "pd_clerk")
        assert "新材料产业园" not in other.get("/projects/key").get_data(as_text=True)
        assert other.get(f"/cases/{case_id}").status_code == 404
