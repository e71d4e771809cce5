"""导出 Excel on every list (issue 15 §2): the case list, the inbox, the supervision board, the town registry and the
notices' acknowledgements export exactly the rows their filters show (all of them, not one page), with Chinese
headers, widths and number formats, through the same services and the same access scoping as the pages; a county's
export never holds another county's case; more rows than one file holds are cut at the limit and the file and the
page say so; every export is an audit event; the API exports the case list and the receipts."""

from __future__ import annotations

import io
import re
from datetime import UTC, datetime
from urllib.parse import quote

import openpyxl
import pytest
import time_machine
from sqlmodel import select

from conftest import COMPLETE_APPLICATION, api_headers, csrf_token, login
from workflow.core.db import transaction
from workflow.core.engine import fire
from workflow.core.exports import HEADER_ROW
from workflow.core.models import AuditEvent, Unit

CASE_HEADERS = ["编号", "标题", "流程", "状态", "县（区）", "专业镇", "期限", "剩余工作日", "期限为估算", "最近变更"]
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@pytest.fixture(autouse=True)
def _frozen(now):
    with time_machine.travel(now, tick=False):  # Friday 27 November 2026, 10:00 in Beijing
        yield


@pytest.fixture
def world(db, make):
    office = make.user("office", username="office_li")
    yx_clerk = make.user("county", county="盂县", username="yx_clerk")
    pd_clerk = make.user("county", county="平定县", username="pd_clerk")
    leader = make.user("leader", username="leader_wang")
    member = make.user("member", username="member_kj")
    dongfeng = make.town("东风镇", county="盂县", industry_category="manufacturing", leading_industry="装备制造")
    niangziguan = make.town("娘子关镇", county="平定县")
    orders = {
        "yx_soon": make.case("rectification", town=dongfeng, by=office,
                             data={"problem": "安全台账不全", "due_date": "2026-12-04"}),
        "yx_later": make.case("rectification", town=dongfeng, by=office,
                              data={"problem": "=危化品储存不规范", "due_date": "2026-12-18"}),
        "pd": make.case("rectification", town=niangziguan, by=office,
                        data={"problem": "消防通道堵塞", "due_date": "2026-12-02"}),
    }
    applications = {
        "yx": make.case("designation", town=dongfeng, by=yx_clerk),
        "pd": make.case("designation", town=niangziguan, by=pd_clerk),
    }
    with transaction(db) as s:
        counties = {u.name: u.id for u in s.exec(select(Unit)).all()}
    return {"office": office, "yx_clerk": yx_clerk, "pd_clerk": pd_clerk, "leader": leader, "member": member,
            "orders": orders, "applications": applications, "counties": counties,
            "towns": {"东风镇": dongfeng, "娘子关镇": niangziguan}}


def signed_in(app, user):
    client = app.test_client()
    assert login(client, user.username).status_code == 302
    return client


def export(client, url: str, page: str, **fields):
    response = client.post(url, data={"csrf_token": csrf_token(client, page), **fields})
    assert response.status_code == 200, response.get_data(as_text=True)[:2000]
    assert response.mimetype == XLSX
    return response, openpyxl.load_workbook(io.BytesIO(response.get_data())).active


def rows_of(sheet) -> list[list]:
    return [[c.value for c in row] for row in sheet.iter_rows(min_row=HEADER_ROW + 1)]


def numbers_on(html: str) -> list[str]:
    return re.findall(r'<a href="/cases/\d+">([A-Z]+-\d{4}-\d+)</a>', html)


def events(db, kind: str = "list_exported") -> list[AuditEvent]:
    with transaction(db) as s:
        return list(s.exec(select(AuditEvent).where(AuditEvent.kind == kind).order_by(AuditEvent.seq)))


def test_the_filtered_case_list_exports_the_rows_the_page_shows_with_hand_checked_values(app, db, world, now):
    office = signed_in(app, world["office"])
    yx = world["counties"]["盂县"]
    orders = world["orders"]
    page = office.get(f"/cases?definition=rectification&county={yx}").get_data(as_text=True)
    assert "导出 Excel" in page
    assert '<input type="hidden" name="definition" value="rectification">' in page
    assert f'<input type="hidden" name="county" value="{yx}">' in page
    response, sheet = export(office, "/cases/export.xlsx", f"/cases?definition=rectification&county={yx}",
                             definition="rectification", county=str(yx))
    assert sheet.title == "案件列表"
    assert sheet["A1"].value == "案件列表"
    assert sheet["A2"].value == "筛选条件：流程：限期整改通知；县（区）：盂县"
    assert sheet["A3"].value.startswith("导出时间：2026-11-27 10:00:00（北京时间）　导出人：office用户（市工信局）")
    assert sheet["A4"].value == "共 2 条"
    assert [c.value for c in sheet[HEADER_ROW]] == CASE_HEADERS
    rows = rows_of(sheet)
    assert [r[0] for r in rows] == numbers_on(page) == [orders["yx_soon"].number, orders["yx_later"].number]
    soon = rows[0]
    assert soon[2:6] == ["限期整改通知", "已下达", "盂县", "东风镇"]
    assert soon[6] == datetime(2026, 12, 4)  # a real date
    assert soon[7] == 5  # Monday 30 November to Friday 4 December
    assert soon[8] is None
    assert soon[9] == datetime(2026, 11, 27, 10, 0)  # the last change, in Beijing time
    assert rows[1][7] == 15
    cells = sheet[HEADER_ROW + 1]
    assert cells[6].number_format == "yyyy-mm-dd" and cells[7].number_format == '0;[Red]"逾期 "0;0'
    assert cells[9].number_format == "yyyy-mm-dd hh:mm"
    assert sheet.column_dimensions["B"].width == 40 and sheet.freeze_panes == f"A{HEADER_ROW + 1}"
    disposition = response.headers["Content-Disposition"]
    assert disposition == ("attachment; filename=\"cases-20261127-1000.xlsx\"; "
                           f"filename*=UTF-8''{quote('案件列表-20261127-1000.xlsx')}")
    assert response.headers["X-Export-Rows"] == "2" and response.headers["X-Export-Total"] == "2"
    [event] = events(db)
    assert event.actor_name == "office用户" and event.county_id == yx
    assert '"list":"cases"' in event.data and '"rows":2' in event.data and '"total":2' in event.data
    assert f'"filters":{{"county_id":{yx},"definition":"rectification"}}' in event.data


def test_every_matching_case_is_exported_not_one_page(app, db, make, world):
    town = world["towns"]["东风镇"]
    for i in range(21):
        make.case("rectification", town=town, by=world["office"], data={"problem": f"问题{i}"})
    office = signed_in(app, world["office"])
    page = office.get("/cases?definition=rectification").get_data(as_text=True)
    assert len(numbers_on(page)) == 20  # one page
    _, sheet = export(office, "/cases/export.xlsx", "/cases", definition="rectification")
    assert len(rows_of(sheet)) == 24 and sheet["A4"].value == "共 24 条"


def test_a_county_export_never_holds_another_county_case(app, db, world):
    yx_clerk = signed_in(app, world["yx_clerk"])
    _, sheet = export(yx_clerk, "/cases/export.xlsx", "/cases")
    numbers = {r[0] for r in rows_of(sheet)}
    assert numbers == set(numbers_on(yx_clerk.get("/cases").get_data(as_text=True)))  # what the page lists
    assert {world["orders"]["yx_soon"].number, world["orders"]["yx_later"].number,
            world["applications"]["yx"].number} <= numbers
    assert not numbers & {world["orders"]["pd"].number, world["applications"]["pd"].number}
    assert {r[4] for r in rows_of(sheet)} == {"盂县"}
    # asking for the other county's cases by its filter gives nothing, as on the page
    _, other = export(yx_clerk, "/cases/export.xlsx", "/cases", county=str(world["counties"]["平定县"]))
    assert rows_of(other) == [] and other["A4"].value == "共 0 条"
    headers = api_headers(app.test_client(), "yx_clerk")
    api = app.test_client().post(f"/api/v1/cases/export.xlsx?county={world['counties']['平定县']}", headers=headers)
    assert api.status_code == 200 and rows_of(openpyxl.load_workbook(io.BytesIO(api.get_data())).active) == []


def test_more_cases_than_the_limit_are_cut_and_the_file_and_the_page_say_so(app, db, world, monkeypatch):
    from workflow.core import exports

    monkeypatch.setattr(exports, "EXPORT_LIMIT", 2)
    office = signed_in(app, world["office"])
    page = office.get("/cases").get_data(as_text=True)
    assert "共 7 条，一次最多导出前 2 条；请缩小筛选范围后分批导出。" in page  # 5 cases, 2 towns' records
    response, sheet = export(office, "/cases/export.xlsx", "/cases")
    assert sheet["A4"].value == "共 7 条，超过一次导出的上限，只导出了前 2 条；请缩小筛选范围后分批导出。"
    assert len(rows_of(sheet)) == 2
    assert response.headers["X-Export-Rows"] == "2" and response.headers["X-Export-Total"] == "7"
    [event] = events(db)
    assert '"capped":true' in event.data and '"rows":2' in event.data and '"total":7' in event.data


def test_the_inbox_exports_what_waits_for_the_user(app, db, world):
    yx_clerk = signed_in(app, world["yx_clerk"])
    page = yx_clerk.get("/inbox").get_data(as_text=True)
    _, sheet = export(yx_clerk, "/inbox/export.xlsx", "/inbox")
    assert sheet.title == "我的待办" and sheet["A2"].value == "筛选条件：无（您可见的全部）"
    assert [r[0] for r in rows_of(sheet)] == numbers_on(page)
    assert len(numbers_on(page)) == 3
    [event] = events(db)
    assert '"list":"inbox"' in event.data and event.county_id == world["yx_clerk"].unit_id


def test_the_supervision_board_exports_its_filtered_orders_with_due_dates_and_days_left(app, db, world, now):
    leader = signed_in(app, world["leader"])
    yx = world["counties"]["盂县"]
    page = leader.get(f"/supervision?county={yx}&state=issued").get_data(as_text=True)
    assert "导出 Excel" in page
    _, sheet = export(leader, "/supervision/export.xlsx", f"/supervision?county={yx}", county=str(yx),
                      state="issued")
    assert sheet.title == "督办台账"
    assert sheet["A2"].value == "筛选条件：状态：已下达；县（区）：盂县"
    assert [c.value for c in sheet[HEADER_ROW]] == ["编号", "专业镇", "县（区）", "问题", "状态", "整改期限",
                                                    "剩余工作日", "期限为估算", "原定期限"]
    rows = rows_of(sheet)
    assert [r[0] for r in rows] == numbers_on(page)
    assert rows[0][1:7] == ["东风镇", "盂县", "安全台账不全", "已下达", datetime(2026, 12, 4), 5]
    assert rows[1][3] == "=危化品储存不规范"  # text, never a formula
    with time_machine.travel(datetime(2026, 12, 8, 2, 0, tzinfo=UTC), tick=False):  # Tuesday after the due date
        _, later = export(signed_in(app, world["leader"]), "/supervision/export.xlsx", "/supervision",
                          county=str(yx))
    assert [r[6] for r in rows_of(later)] == [-2, 8]  # overdue by two working days (shown red, "逾期 2")


def test_the_town_registry_exports_its_filtered_towns(app, db, world):
    yx_clerk = signed_in(app, world["yx_clerk"])
    _, sheet = export(yx_clerk, "/towns/export.xlsx", "/towns", category="manufacturing")
    assert sheet.title == "专业镇档案"
    assert sheet["A2"].value == "筛选条件：产业类别：制造业"
    assert [c.value for c in sheet[HEADER_ROW]] == ["专业镇", "县（区）", "级别", "梯次", "产业类别", "主导产业",
                                                    "主导产业产值（亿元）", "认定文号", "认定日期", "复核日期",
                                                    "复核逾期"]
    rows = rows_of(sheet)
    assert [r[:6] for r in rows] == [["东风镇", "盂县", "培育对象", None, "制造业", "装备制造"]]
    office = signed_in(app, world["office"])
    _, everything = export(office, "/towns/export.xlsx", "/towns")
    assert {r[0] for r in rows_of(everything)} >= {"东风镇", "娘子关镇"}
    _, pd_only = export(yx_clerk, "/towns/export.xlsx", "/towns", county=str(world["counties"]["平定县"]))
    assert rows_of(pd_only) == []  # a county sees its own towns only


def test_the_receipts_export_as_the_overview_and_the_county_list_show_them(app, db, make, world):
    clerk = world["yx_clerk"]
    case = make.case("designation", state="notice_pending", county="盂县", town=make.town("梁家寨乡", county="盂县"),
                     by=clerk,
                     data={**COMPLETE_APPLICATION, "experts": [{"name": "甲", "score": 80}],
                           "expert_recommendation": "同意"})
    with transaction(db) as s:
        fire(session=s, case_id=case.id, trigger="issue_notice", actor=make.actor(world["office"]), now=make.now)
    office = signed_in(app, world["office"])
    _, sheet = export(office, "/receipts/overview/export.xlsx", "/receipts/overview", status="unsigned",
                      county=str(world["counties"]["盂县"]))
    assert sheet.title == "签收情况" and sheet["A2"].value == "筛选条件：县（区）：盂县；签收情况：未签收"
    notices = [r for r in rows_of(sheet) if r[1] == case.number]
    assert len(notices) == 1
    assert notices[0][3] == "盂县" and notices[0][6] == "未签收" and isinstance(notices[0][4], datetime)
    county = signed_in(app, clerk)
    _, mine = export(county, "/receipts/export.xlsx", "/receipts")
    assert mine.title == "待签收" and {r[3] for r in rows_of(mine)} == {"盂县"}
    pd = signed_in(app, world["pd_clerk"])
    _, none = export(pd, "/receipts/export.xlsx", "/receipts")
    assert case.number not in {r[1] for r in rows_of(none)}
    kinds = [e.data for e in events(db)]
    assert len(kinds) == 3 and '"list":"receipts"' in kinds[0] and '"list":"my_receipts"' in kinds[1]


def test_the_api_exports_the_case_list_and_the_receipts_and_documents_them(app, db, world):
    client = app.test_client()
    headers = api_headers(client, "office_li")
    yx = world["counties"]["盂县"]
    response = client.post(f"/api/v1/cases/export.xlsx?definition=rectification&county={yx}", headers=headers)
    assert response.status_code == 200 and response.mimetype == XLSX
    listed = client.get(f"/api/v1/cases?definition=rectification&county={yx}", headers=headers).json
    sheet = openpyxl.load_workbook(io.BytesIO(response.get_data())).active
    assert [r[0] for r in rows_of(sheet)] == [c["number"] for c in listed["items"]]
    assert client.post("/api/v1/cases/export.xlsx?county=x", headers=headers).status_code == 400
    assert client.post("/api/v1/receipts/export.xlsx?status=bad", headers=headers).status_code == 400
    assert client.post("/api/v1/receipts/export.xlsx", headers=headers).status_code == 200
    member = api_headers(client, "member_kj")
    assert client.post("/api/v1/receipts/export.xlsx", headers=member).status_code == 403
    paths = client.get("/api/v1/openapi.json").json["paths"]
    assert "post" in paths["/api/v1/cases/export.xlsx"] and "post" in paths["/api/v1/receipts/export.xlsx"]
    assert {p["name"] for p in paths["/api/v1/cases/export.xlsx"]["post"]["parameters"]} == {
        "definition", "state", "county", "town"}
    assert [e.data.count('"list":"cases"') for e in events(db)][:1] == [1]


def test_an_export_is_shown_in_the_audit_trail_with_its_label(app, db, make, world):
    office = signed_in(app, world["office"])
    export(office, "/cases/export.xlsx", "/cases", definition="designation")
    auditor = make.user("auditor", username="auditor_zhao")
    client = signed_in(app, auditor)
    trail = client.get("/auditor/?kind=list_exported").get_data(as_text=True)
    assert "列表导出 Excel" in trail and "筛选条件" in trail
