"""The statistics report through the pages and the API: the scheduler opens the year's reports on its day, the
county fills the form (last year's figures beside each, a large change explained in a box of its own), the
office opens a year by hand and accepts; the town's page shows its figures by year and its tier."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest
import time_machine
from sqlmodel import select

from conftest import api_headers, csrf_token, login
from workflow.core.db import transaction
from workflow.core.models import Case, Town
from workflow.statistics.campaign import open_reports

DAY = datetime(2027, 1, 12, 2, 0, tzinfo=UTC)  # Tuesday 12 January 2027, 10:00 in Yangquan
FIGURES = {"output_yi": "12.5", "tax_wan": "3200", "market_entities": "860", "above_scale_firms": "14",
           "employees": "5200", "high_tech_firms": "3", "specialised_firms": "2", "invention_patents": "11",
           "geographical_indications": "1", "service_platforms": "2", "key_projects": "4",
           "project_investment_yi": "6.8", "brands-0-name": "盂县石材", "brands-0-level": "provincial"}


@pytest.fixture
def people(make):
    return {"office": make.user("office", username="office_zhang"),
            "county": make.user("county", county="盂县", username="yx_clerk"),
            "other": make.user("county", county="平定县", username="pd_clerk")}


@pytest.fixture
def report(db, make, people):
    town = make.town("西烟镇", county="盂县")
    make.town("娘子关镇", county="平定县")
    with transaction(db) as s:
        reports = open_reports(session=s, actor=make.actor(people["office"]), now=DAY, year=2026)
    return next(r for r in reports if r.town_id == town.id)


def post_form(client, url, data):
    return client.post(url, data={"csrf_token": csrf_token(client, url), **data})


def test_the_scheduler_opens_last_year_s_reports_on_its_day(app, db, make):
    from webapp.cli import _scheduler

    make.town("西烟镇", county="盂县")
    app.config["STATISTICS_DATE"] = "01-11"
    with time_machine.travel(DAY, tick=True):
        scheduler = _scheduler(app, background=True)
        scheduler.start()
        try:
            for _ in range(100):  # the job runs at start, then every morning
                with transaction(db) as s:
                    found = s.exec(select(Case).where(Case.definition_key == "statistics_report")).all()
                if found:
                    break
                time.sleep(0.1)
        finally:
            scheduler.shutdown(wait=True)
    assert [(c.title, c.data["report_year"], c.state) for c in found] == [("2026年度统计 · 西烟镇", 2026, "filling")]


def test_the_county_fills_saves_explains_and_submits_on_the_form(client, db, people, report):
    url = f"/statistics/reports/{report.id}/fill"
    with time_machine.travel(DAY, tick=False):
        login(client, "yx_clerk")
        page = client.get(url)
        assert page.status_code == 200
        text = page.get_data(as_text=True)
        assert "主导产业产值（亿元）" in text and "该镇没有上年已审核的统计数据" in text
        bad = post_form(client, url, {"expected_version": report.version, "action": "save",
                                      "output_yi": "十二", "employees": "5200.5"})
        assert bad.status_code == 422
        body = bad.get_data(as_text=True)
        assert "主导产业产值须为数字" in body and "从业人员须为整数" in body and 'value="十二"' in body
        saved = post_form(client, url, {"expected_version": report.version, "action": "save", **FIGURES})
        assert saved.status_code == 302
        unconfirmed = post_form(client, url, {"expected_version": report.version + 1, "action": "submit", **FIGURES})
        assert unconfirmed.status_code == 422 and "请勾选" in unconfirmed.get_data(as_text=True)
        sent = post_form(client, url, {"expected_version": report.version + 1, "action": "submit", "confirmed": "yes",
                                       **FIGURES})
        assert sent.status_code == 302
    with transaction(db) as s:
        row = s.get(Case, report.id)
    assert row.state == "submitted"
    assert row.data["figures"]["output_yi"] == 12.5
    assert row.data["figures"]["brands"] == [{"name": "盂县石材", "level": "provincial"}]


def test_a_large_change_shows_its_reason_box_and_the_office_s_acceptance_reaches_the_town(client, app, db, make,
                                                                                          people, report):
    api = app.test_client()
    with time_machine.travel(DAY, tick=False):
        office, county = api_headers(api, "office_zhang"), api_headers(api, "yx_clerk")
        # 2025, filed and accepted through the API
        with transaction(db) as s:
            (earlier,) = [c for c in open_reports(session=s, actor=make.actor(people["office"]), now=DAY, year=2025)
                          if c.town_id == report.town_id]
        figures = {k: v for k, v in FIGURES.items() if "-" not in k}
        sent = api.post(f"/api/v1/cases/{earlier.id}/transitions", headers=county, json={
            "trigger": "submit_figures", "expected_version": 1, "data": {"figures": figures}})
        assert sent.status_code == 200, sent.json
        assert api.post(f"/api/v1/cases/{earlier.id}/transitions", headers=office, json={
            "trigger": "accept_figures", "expected_version": 2}).status_code == 200
        # 2026 on the form: the output doubled
        login(client, "yx_clerk")
        url = f"/statistics/reports/{report.id}/fill"
        refused = post_form(client, url, {"expected_version": report.version, "action": "submit", "confirmed": "yes",
                                          **FIGURES, "output_yi": "25"})
        assert refused.status_code == 422
        body = refused.get_data(as_text=True)
        assert "主导产业产值由上年的 12.5亿元 变为 25亿元（+100%），请说明原因" in body
        assert 'name="why-output_yi"' in body and "上年：12.5" in body
        done = post_form(client, url, {"expected_version": report.version, "action": "submit", "confirmed": "yes",
                                       **FIGURES, "output_yi": "25", "why-output_yi": "新增两家龙头企业投产"})
        assert done.status_code == 302
        assert api.post(f"/api/v1/cases/{report.id}/transitions", headers=office, json={
            "trigger": "accept_figures", "expected_version": report.version + 1}).status_code == 200
        town_page = client.get(f"/towns/{report.town_id}").get_data(as_text=True)
        registry = client.get("/towns").get_data(as_text=True)
        with transaction(db) as s:
            from workflow.core.queries import registry_case

            record = registry_case(s, report.town_id)
        history = client.get(f"/cases/{record.id}").get_data(as_text=True)
    # the town's registry record: a line in its history for each tier change
    assert "2025 年产值 12.5 亿元，产值级别 — → 10亿级" in history
    assert "2026 年产值 25 亿元，产值级别 10亿级 → 20亿级" in history
    assert "25 亿元（2026 年）" in registry  # the registry's list: the latest accepted output and its year
    assert "20亿级" in town_page and "2026年统计" in town_page
    assert 'data-year="2026"' in town_page and 'data-year="2025"' in town_page
    with transaction(db) as s:
        assert s.get(Town, report.town_id).output_yi == 25.0


def test_the_office_opens_a_year_by_hand_and_each_county_sees_only_its_own(client, app, db, people, make):
    make.town("西烟镇", county="盂县")
    make.town("娘子关镇", county="平定县")
    with time_machine.travel(DAY, tick=False):
        login(client, "office_zhang")
        token = csrf_token(client, "/statistics")
        refused = client.post("/statistics/open", data={"csrf_token": token, "year": "2026"})
        assert refused.status_code == 303
        assert "请勾选确认后再发起" in client.get("/statistics").get_data(as_text=True)
        opened = client.post("/statistics/open", data={"csrf_token": token, "year": "2026", "confirmed": "yes"})
        assert opened.status_code == 303
        overview = client.get("/statistics?year=2026").get_data(as_text=True)
        assert "已为 2026 年发起 2 份统计报表。" in overview
        assert "西烟镇" in overview and "娘子关镇" in overview
        client.get("/logout")
        other = app.test_client()
        login(other, "pd_clerk")
        mine = other.get("/statistics?year=2026").get_data(as_text=True)
    assert "娘子关镇" in mine and "西烟镇" not in mine


def test_only_the_report_s_own_county_fills_it(client, app, db, people, report):
    url = f"/statistics/reports/{report.id}/fill"
    with time_machine.travel(DAY, tick=False):
        login(client, "pd_clerk")
        assert client.get(url).status_code == 404  # another county's report is not there at all
        office = app.test_client()
        login(office, "office_zhang")
        shown = office.get(url)  # the office checks reports; it does not fill them
        assert shown.status_code == 302 and shown.headers["Location"].endswith(f"/cases/{report.id}")


def test_the_year_s_list_is_paged_and_filtered_by_county_and_state(client, db, people, make):
    for i in range(55):
        make.town(f"测试镇{i:02d}", county="盂县" if i % 2 else "平定县")
    with transaction(db) as s:
        open_reports(session=s, actor=make.actor(people["office"]), now=DAY, year=2026)
    with time_machine.travel(DAY, tick=False):
        login(client, "office_zhang")
        first = client.get("/statistics?year=2026").get_data(as_text=True)
        second = client.get("/statistics?year=2026&page=2").get_data(as_text=True)
        with transaction(db) as s:
            pd = s.exec(select(Case.county_id).where(Case.title.like("%测试镇00"))).one()
        county = client.get(f"/statistics?year=2026&county={pd}").get_data(as_text=True)
        submitted = client.get("/statistics?year=2026&state=submitted").get_data(as_text=True)
    assert "共 55 份" in first and "第 1 / 2 页（共 55 条）" in first
    assert first.count("<tr><td><a href=\"/cases/") == 50 and second.count("<tr><td><a href=\"/cases/") == 5
    assert county.count("<tr><td><a href=\"/cases/") == 28 and "测试镇01" not in county
    assert "该年度尚无统计报表" in submitted


def test_the_year_s_list_exports_its_figures_with_the_filters(client, app, db, people, report, make):
    import io

    from openpyxl import load_workbook

    with time_machine.travel(DAY, tick=False):
        with transaction(db) as s:
            from workflow.core.engine import fire

            fire(session=s, case_id=report.id, trigger="submit_figures", actor=make.actor(people["county"]),
                 now=DAY, payload={"figures": {k: v for k, v in FIGURES.items() if "-" not in k}})
        login(client, "yx_clerk")  # a county: its own towns only
        token = csrf_token(client, "/statistics?year=2026")
        got = client.post("/statistics/export.xlsx", data={"csrf_token": token, "year": "2026"})
    assert got.status_code == 200 and got.headers["X-Export-Rows"] == "1"
    sheet = load_workbook(io.BytesIO(got.data)).active
    rows = [r for r in sheet.iter_rows(values_only=True) if any(v is not None for v in r)]
    header = next(i for i, r in enumerate(rows) if r[0] == "编号")
    assert rows[header][:6] == ("编号", "专业镇", "县（区）", "状态", "主导产业产值（亿元）", "税收（万元）")
    assert rows[header + 1][:6] == (report.number, "西烟镇", "盂县", "待审核", 12.5, 3200)
    assert len(rows) == header + 2  # 平定县's town is not in it
    assert any("统计年度：2026" in str(r[0]) for r in rows[:header])
