"""A task's target figure linked to one of the dashboard's indicators (definitions/targets.yaml): the plan refuses
a key that is not one; the task carries the key it names; its page, the programme board, the task list and the API
show the city's current figure, the dashboard's own, beside the task's target; the import reads the indicator."""

from __future__ import annotations

import io
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from openpyxl import Workbook
from sqlmodel import select

from conftest import api_headers, login
from workflow.core.actors import Actor
from workflow.core.calendar import local_date
from workflow.core.db import transaction
from workflow.core.indicators import indicators
from workflow.core.models import Case, User
from workflow.dashboard.figures import build
from workflow.programmes.excel import COLUMNS, SHEET

YEAR = local_date(datetime.now(UTC)).year


@pytest.fixture
def people(make):
    return {"office": make.user("office"), "leader": make.user("leader"), "yx": make.user("county", county="盂县"),
            "kj": make.user("member", unit="市科技局")}


def _unit(db, user) -> int:
    with transaction(db) as s:
        return s.get(User, user.id).unit_id


def _fire(client, headers, case_id, trigger, data=None):
    version = client.get(f"/api/v1/cases/{case_id}", headers=headers).json["version"]
    return client.post(f"/api/v1/cases/{case_id}/transitions", headers=headers,
                       json={"trigger": trigger, "data": data or {}, "expected_version": version})


def _municipal(db, make, names):
    for name in names:
        town = make.town(name, county="盂县")
        with transaction(db) as s:
            s.connection().execute(sa.update(Case.__table__).where(Case.__table__.c.town_id == town.id,
                                                                  Case.__table__.c.definition_key == "town")
                                   .values(state="municipal"))


def test_the_indicators_are_the_dashboard_s_targets():
    assert {"provincial_towns", "municipal_towns", "total_output"} <= set(indicators())
    assert indicators()["municipal_towns"].label.zh == "市级专业镇"


def test_a_task_shows_its_indicator_s_city_figure(app, client, db, make, people):
    _municipal(db, make, ("西烟镇", "路家村镇"))
    with transaction(db) as s:  # the figure the dashboard shows the city
        office = Actor.of(s.get(User, people["office"].id), None)
        dashboard = build(s, office, local_date(datetime.now(UTC)))
    city = next(f.value for f in dashboard.targets if f.target.key == "municipal_towns")
    assert city == 2

    h = {k: api_headers(client, u.username) for k, u in people.items()}
    plan_id = client.post("/api/v1/programmes/plans", headers=h["office"], json={"year": YEAR}).json["case_id"]
    task = {"programme": "quality_brands", "title": "新认定市级专业镇", "lead_unit_id": _unit(db, people["kj"]),
            "units": [_unit(db, people["yx"])], "target_text": "全年新认定市级专业镇3个", "target_figure": "3",
            "report_cycle": "monthly"}
    bad = _fire(client, h["office"], plan_id, "save_task", {"task": {**task, "indicator": "no_such_indicator"}})
    assert bad.status_code == 422 and [d["field"] for d in bad.json["details"]] == ["indicator"]
    assert _fire(client, h["office"], plan_id, "save_task",
                 {"task": {**task, "indicator": "municipal_towns"}}).status_code == 200
    assert _fire(client, h["office"], plan_id, "submit_plan").status_code == 200
    assert _fire(client, h["leader"], plan_id, "approve_plan").json["state"] == "approved"
    with transaction(db) as s:
        opened = s.exec(select(Case).where(Case.definition_key == "plan_task")).one()
    assert (opened.data["indicator"], opened.definition_version) == ("municipal_towns", 2)

    shown = client.get(f"/api/v1/programmes/tasks/{opened.id}", headers=h["yx"]).json
    assert shown["target_figure"] == "3"
    assert {k: shown["indicator"][k] for k in ("key", "city_value", "city_goal")} == \
        {"key": "municipal_towns", "city_value": "2", "city_goal": str(next(
            f.goal for f in dashboard.targets if f.target.key == "municipal_towns"))}
    board = client.get(f"/api/v1/programmes/board/{YEAR}", headers=h["office"]).json
    assert board["by_programme"][[g["key"] for g in board["by_programme"]].index("quality_brands")]["tasks"][0][
        "indicator"]["city_value"] == "2"

    c = app.test_client()
    login(c, people["yx"].username)
    page = c.get(f"/cases/{opened.id}").get_data(as_text=True)
    assert 'id="task-indicator"' in page and "<strong>2</strong>" in page and "市级专业镇" in page
    board_page = c.get(f"/programmes?year={YEAR}").get_data(as_text=True)
    assert "3" in board_page and "市级专业镇" in board_page and 'class="indicator"' in board_page

    _municipal(db, make, ("梁家寨乡",))  # the figure is read, not kept: it follows the registry
    assert client.get(f"/api/v1/programmes/tasks/{opened.id}", headers=h["yx"]).json["indicator"][
        "city_value"] == "3"


def test_the_import_names_an_indicator_by_its_name(app, client, db, people):
    h = api_headers(client, people["office"].username)
    assert client.post("/api/v1/programmes/plans", headers=h, json={"year": YEAR}).status_code == 201
    book = Workbook()
    sheet = book.active
    sheet.title = SHEET
    sheet.append([c.header for c in COLUMNS])
    row = ["质量品牌提升工程", "新认定市级专业镇", "市科技局", "盂县", "新认定3个", 3, "", ""]
    sheet.append([*row, "市级专业镇"])
    sheet.append([*row, "不存在的指标"])
    out = io.BytesIO()
    book.save(out)
    out.seek(0)
    url = f"/api/v1/programmes/plans/{YEAR}/import"
    refused = client.post(url, headers=h, data={"file": (out, "t.xlsx")}, content_type="multipart/form-data")
    assert [(d["row"], d["column"]) for d in refused.json["details"]] == [(3, "I")]
    sheet.delete_rows(3)
    out = io.BytesIO()
    book.save(out)
    out.seek(0)
    done = client.post(url, headers=h, data={"file": (out, "t.xlsx")}, content_type="multipart/form-data")
    assert done.status_code == 200, done.get_data(as_text=True)
    plan = client.get(f"/api/v1/programmes/plans/{YEAR}", headers=h).json
    assert plan["tasks"][0]["indicator"] == "municipal_towns"
