"""The application form (申报书): field checks, completeness through the engine, the pages, the live panel."""

from __future__ import annotations

import re
from html import unescape

import pytest
from playwright.sync_api import expect

from conftest import ARTIFACTS, PASSWORD, csrf_token, login, reload
from workflow.core.db import transaction
from workflow.core.engine import create_case, fire
from workflow.core.errors import Unprocessable
from workflow.core.models import Case, Town
from workflow.designation import application

COMPLETE = {
    "industry_category": "manufacturing", "leading_industry": "装备制造", "main_products": "矿山机械",
    "output_yi": 12.5, "county_share_pct": 35, "jobs": 3200, "local_workers": 2800, "average_income": 52000,
    "leading_enterprises": [{"name": "阳泉重工", "honours": ["zjtx"]}], "supporting_enterprises": 24,
    "business_environment": "一站式服务",
}


def problems(data):
    return [(r["field"], r["zh"]) for r in application.check_types(data)]


# ---- field checks (workflow/designation/application.py) -----------------------------------------------------


@pytest.mark.parametrize(("data", "expected"), [
    ({"output_yi": -1}, [("output_yi", "上年度主导产业产值不能为负数")]),
    ({"output_yi": 8.505}, [("output_yi", "上年度主导产业产值最多保留 2 位小数")]),
    ({"output_yi": "8.50"}, [("output_yi", "上年度主导产业产值必须是数字")]),
    ({"output_yi": True}, [("output_yi", "上年度主导产业产值必须是数字")]),
    ({"county_share_pct": 120}, [("county_share_pct", "主导产业占全县（区）工业比重不能大于 100")]),
    ({"jobs": 1.5}, [("jobs", "带动就业人数必须是整数")]),
    ({"supporting_enterprises": -1}, [("supporting_enterprises", "上下游配套企业户数不能为负数")]),
    ({"leading_industry": "装" * 201}, [("leading_industry", "主导产业不能超过 200 字（现有 201 字）")]),
    ({"main_products": 42}, [("main_products", "主导产品必须是文字")]),
    ({"industry_category": "mining"}, [("industry_category", "产业类别的选项不正确")]),
    ({"leading_enterprises": "阳泉重工"}, [("leading_enterprises", "龙头企业格式不正确（应为列表）")]),
    ({"leading_enterprises": ["阳泉重工"]}, [("leading_enterprises", "第 1 项龙头企业格式不正确")]),
    ({"leading_enterprises": [{"name": "甲", "rank": 1}]}, [("leading_enterprises", "第 1 项龙头企业格式不正确")]),
    ({"leading_enterprises": [{"name": "甲", "honours": ["nobel"]}]},
     [("leading_enterprises", "第 1 项龙头企业：荣誉与平台的选项不正确")]),
    ({"leading_enterprises": [{"name": "甲", "honours": "zjtx"}]},
     [("leading_enterprises", "第 1 项龙头企业：荣誉与平台的选项不正确")]),
    ({"brands": [{"name": "甲", "level": "city"}, {"name": "乙" * 101, "level": "county"}]},
     [("brands", "第 2 项品牌：品牌名称不能超过 100 字（现有 101 字）"), ("brands", "第 2 项品牌：级别的选项不正确")]),
    ({"standards": [{"name": "T/YQ 1", "level": "national", "role": "wrote"}]},
     [("standards", "第 1 项标准：主导或参与的选项不正确")]),
    ({"platforms": [{"kind": "testing", "name": "甲"}, {"kind": "testing", "name": "乙"}]},
     [("platforms", "公共服务平台有重复项")]),
    ({"platforms": [{"kind": "spaceport", "name": "甲"}]}, [("platforms", "第 1 项平台：功能的选项不正确")]),
    ({"relaxation_basis": "famous"}, [("relaxation_basis", "放宽认定依据的选项不正确")]),
    ({"leading_enterprises": [{}] * 51}, [("leading_enterprises", "龙头企业最多填写 50 项")]),
])
def test_type_problems_name_their_field(data, expected):
    assert problems(data) == expected


def test_a_complete_application_and_empty_values_have_no_type_problems():
    assert problems(COMPLETE) == []
    assert problems({name: None for name in application.FIELDS}) == []
    assert problems({"output_yi": 0, "county_share_pct": 100, "output_yi_extra": "ignored"}) == []


def test_english_messages():
    [item] = application.check_types({"brands": [{"name": "甲", "level": "county"}]})
    assert item["en"] == "Brand 1: level is not one of the choices"
    [item] = application.check_types({"output_yi": -2})
    assert item["en"] == "Last year's output of the leading industry cannot be negative"


@pytest.mark.parametrize(("text", "value"), [
    ("8.5", 8.5), ("8.50", 8.5), ("10.00", 10), ("１２.５", 12.5), ("1,234", 1234), (" 0 ", 0), ("", None),
    ("-3", -3),
])
def test_numbers_typed_into_the_form(text, value):
    assert application.number_from_text("output_yi", text) == value


@pytest.mark.parametrize(("name", "text", "zh"), [
    ("output_yi", "8.505", "上年度主导产业产值最多保留 2 位小数"),
    ("output_yi", "8.500000000000000001", "上年度主导产业产值最多保留 2 位小数"),
    ("output_yi", "很多", "上年度主导产业产值必须是数字"),
    ("jobs", "12.5", "带动就业人数必须是整数"),
    ("jobs", "1e5", "带动就业人数必须是整数"),
])
def test_numbers_that_cannot_be_read(name, text, zh):
    with pytest.raises(application.NotANumber) as raised:
        application.number_from_text(name, text)
    assert raised.value.reason == {"field": name, "zh": zh, "en": raised.value.reason["en"]}


def test_completeness_lists_every_missing_field():
    missing = application.check_complete({}, has_town=False)
    assert [r["field"] for r in missing] == [
        "town_id", "industry_category", "leading_industry", "main_products", "output_yi", "county_share_pct",
        "jobs", "local_workers", "average_income", "supporting_enterprises", "business_environment"]
    assert missing[4]["zh"] == "未填写上年度主导产业产值"
    assert application.check_complete(COMPLETE, has_town=True) == []


def test_completeness_of_list_entries_and_grounds():
    data = {**COMPLETE, "relaxation_basis": "market_share",
            "brands": [{"name": "甲", "level": None}], "platforms": [{"kind": "testing", "name": None}]}
    assert [(r["field"], r["zh"]) for r in application.check_complete(data, has_town=True)] == [
        ("brands", "第 1 项品牌未填写级别"), ("platforms", "第 1 项平台未填写平台名称"),
        ("relaxation_grounds", "未填写放宽认定理由")]
    assert application.check_complete({**COMPLETE, "relaxation_basis": "none"}, has_town=True) == []


# ---- through the engine -------------------------------------------------------------------------------------


@pytest.fixture
def county(make):
    return make.user("county", county="盂县")


def test_create_refuses_type_errors_with_their_fields(db, now, make, county):
    town = make.town(county="盂县")
    with pytest.raises(Unprocessable) as raised, transaction(db) as s:
        create_case(session=s, definition_key="designation", actor=make.actor(county), now=now, town_id=town.id,
                    data={"output_yi": -1, "county_share_pct": 120})
    assert [(r["field"], r["zh"]) for r in raised.value.details] == [
        ("output_yi", "上年度主导产业产值不能为负数"), ("county_share_pct", "主导产业占全县（区）工业比重不能大于 100")]


def test_partial_draft_saves_and_submit_lists_every_reason(db, now, make, county):
    case = make.case("designation", by=county, data={"industry_category": "manufacturing", "output_yi": 8.5})
    me = make.actor(county)
    with transaction(db) as s:
        fire(session=s, case_id=case.id, trigger="edit", actor=me, now=now,
             payload={"leading_industry": "装备制造", "supporting_enterprises": 9})
    assert reload(db, case.id).data == {"industry_category": "manufacturing", "output_yi": 8.5,
                                        "leading_industry": "装备制造", "supporting_enterprises": 9}
    with pytest.raises(Unprocessable) as raised, transaction(db) as s:
        fire(session=s, case_id=case.id, trigger="submit", actor=me, now=now)
    assert [(r["field"], r["zh"]) for r in raised.value.details] == [
        ("main_products", "未填写主导产品"),
        ("county_share_pct", "未填写主导产业占全县（区）工业比重"),
        ("jobs", "未填写带动就业人数"),
        ("local_workers", "未填写本地务工人数"),
        ("average_income", "未填写务工人员人均年收入"),
        ("business_environment", "未填写营商环境"),
        ("output_yi", "制造业类主导产业产值 8.50 亿元，低于 10 亿元"),
        ("leading_enterprises", "龙头企业 0 家，至少应有 1 家"),
        ("supporting_enterprises", "上下游配套企业 9 户，少于 10 户"),
    ]
    assert "制造业类主导产业产值 8.50 亿元，低于 10 亿元" in raised.value.zh
    assert reload(db, case.id).state == "draft"


def test_type_errors_come_first_and_are_not_repeated_as_missing(db, now, make, county):
    case = make.case("designation", by=county, data=COMPLETE)
    with transaction(db) as s:  # data written before the checks existed: submit must catch it
        s.connection().execute(Case.__table__.update().where(Case.__table__.c.id == case.id)
                               .values(data={**COMPLETE, "output_yi": -3, "jobs": "很多"}))
    with pytest.raises(Unprocessable) as raised, transaction(db) as s:
        fire(session=s, case_id=case.id, trigger="submit", actor=make.actor(county), now=now)
    assert [(r["field"], r["zh"]) for r in raised.value.details] == [
        ("output_yi", "上年度主导产业产值不能为负数"), ("jobs", "带动就业人数必须是整数")]


def test_complete_application_submits_and_resubmit_is_checked_too(db, now, make, county):
    case = make.case("designation", by=county, data=COMPLETE)
    me = make.actor(county)
    with transaction(db) as s:
        fire(session=s, case_id=case.id, trigger="submit", actor=me, now=now)
    office = make.actor(make.user("office"))
    with transaction(db) as s:
        fire(session=s, case_id=case.id, trigger="return_for_revision", actor=office, now=now, comment="补充")
    with transaction(db) as s:
        fire(session=s, case_id=case.id, trigger="edit", actor=me, now=now, payload={"supporting_enterprises": 3})
    with pytest.raises(Unprocessable) as raised, transaction(db) as s:
        fire(session=s, case_id=case.id, trigger="resubmit", actor=me, now=now)
    assert [r["zh"] for r in raised.value.details] == ["上下游配套企业 3 户，少于 10 户"]


def test_a_relaxed_application_without_grounds_is_refused(db, now, make, county):
    case = make.case("designation", by=county, data={**COMPLETE, "industry_category": "agriculture",
                                                     "output_yi": 0.8, "relaxation_basis": "historic_origin"})
    with pytest.raises(Unprocessable) as raised, transaction(db) as s:
        fire(session=s, case_id=case.id, trigger="submit", actor=make.actor(county), now=now)
    assert [(r["field"], r["zh"]) for r in raised.value.details] == [
        ("relaxation_grounds", "未填写放宽认定理由"),
        ("relaxation_grounds", "特优农业类主导产业产值 0.80 亿元，未达标准；按“历史发源地”放宽认定须写明放宽理由"),
        # a relaxed admission needs its grounds among the supporting documents (definitions/materials.yaml)
        ("materials", "缺少证明材料：放宽认定依据（历史渊源、地理标志或市场占有率证明）")]


# ---- the pages ------------------------------------------------------------------------------------------------

FORM = {
    "town_id": "new", "new_town": "东风镇", "industry_category": "manufacturing", "leading_industry": "装备制造",
    "main_products": "矿山机械", "output_yi": "8.5", "le-0-name": "阳泉重工", "le-0-honours": ["zjtx", "little_giant"],
    "br-0-name": "阳泉造", "br-0-level": "city", "pf-testing": "1", "pf-testing-name": "市质检中心",
    "le_rows": "5", "br_rows": "3", "st_rows": "3",
}


def field_error(page: str, name: str) -> str:
    match = re.search(rf'<div class="field-error" id="err-{re.escape(name)}">(.*?)</div>', page, re.S)
    return unescape(re.sub(r"<[^>]+>", " ", match.group(1))).strip() if match else ""


def post(client, url, data, action="save"):
    return client.post(url, data={**data, "action": action, "csrf_token": csrf_token(client, "/inbox")})


@pytest.fixture
def clerk(make, client):
    user = make.user("county", county="盂县")
    login(client, user.username)
    return user


def test_county_starting_a_case_lands_on_the_application_form(client, clerk):
    response = client.get("/cases/new")
    assert response.status_code == 302 and response.location.endswith("/cases/new/application")
    page = client.get("/cases/new/application").get_data(as_text=True)
    assert 'id="application-form"' in page and 'id="eligibility-panel"' in page
    assert 'name="le-4-name"' in page and 'name="le-5-name"' not in page  # five enterprise rows at first
    assert "含家庭农场、专业合作社" in page


def test_saving_a_partial_draft_creates_the_town_and_the_case(db, client, clerk):
    response = post(client, "/cases/new/application", FORM)
    assert response.status_code == 302, response.get_data(as_text=True)
    with transaction(db) as s:
        case = s.exec(Case.__table__.select().where(Case.__table__.c.definition_key == "designation")).one()
        town = s.get(Town, case.town_id)
        assert town.name == "东风镇" and town.industry_category == "manufacturing"
    assert response.location.endswith(f"/cases/{case.id}/application")
    assert case.data == {"industry_category": "manufacturing", "leading_industry": "装备制造",
                         "main_products": "矿山机械", "output_yi": 8.5,
                         "leading_enterprises": [{"name": "阳泉重工", "honours": ["zjtx", "little_giant"]}],
                         "brands": [{"name": "阳泉造", "level": "city"}],
                         "platforms": [{"kind": "testing", "name": "市质检中心"}]}
    page = client.get(response.location).get_data(as_text=True)
    assert 'value="8.50"' in page and 'value="阳泉重工"' in page
    assert "制造业类主导产业产值 8.50 亿元，低于 10 亿元" in page


def test_errors_beside_fields_in_chinese_and_input_kept(db, client, clerk):
    data = {**FORM, "output_yi": "-3", "county_share_pct": "120", "jobs": "很多", "br-0-level": "county"}
    response = post(client, "/cases/new/application", data)
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert field_error(page, "output_yi") == "上年度主导产业产值不能为负数"
    assert field_error(page, "county_share_pct") == "主导产业占全县（区）工业比重不能大于 100"
    assert field_error(page, "jobs") == "带动就业人数必须是整数"
    assert field_error(page, "brands") == "第 1 项品牌：级别的选项不正确"
    for kept in ('value="-3"', 'value="120"', 'value="很多"', 'value="东风镇"', 'value="阳泉重工"',
                 'value="市质检中心"', 'value="zjtx" checked', 'value="manufacturing" id="f-industry_category-'
                 'manufacturing" checked'):
        assert kept in page, kept
    assert 'aria-invalid="true"' in page
    with transaction(db) as s:
        assert s.exec(Case.__table__.select().where(Case.__table__.c.definition_key == "designation")).all() == []
        assert s.exec(Town.__table__.select().where(Town.__table__.c.name == "东风镇")).all() == []


def test_in_english_labels_and_messages_are_english(client, clerk):
    client.post("/language", data={"lang": "en", "csrf_token": csrf_token(client, "/inbox")})
    response = post(client, "/cases/new/application", {**FORM, "output_yi": "-3"})
    page = response.get_data(as_text=True)
    assert field_error(page, "output_yi") == "Last year's output of the leading industry cannot be negative"
    assert "Last year&#39;s output of the leading industry (100 million yuan)" in page
    assert "Manufacturing" in page and "Specialised and innovative SME (专精特新)" in page
    page = post(client, "/cases/new/application", {**FORM, "output_yi": "8.5"}, action="check").get_data(as_text=True)
    assert "Manufacturing: leading-industry output of 8.50 (100 million yuan) is below 10" in page


def test_a_new_town_name_already_taken_is_shown_beside_the_name(make, client, clerk):
    make.town("东风镇", county="盂县")
    page = post(client, "/cases/new/application", FORM).get_data(as_text=True)
    assert field_error(page, "new_town") == "该县（区）已有同名专业镇"


def test_an_existing_candidate_town_can_be_chosen(db, make, client, clerk):
    town = make.town("西烟镇", county="盂县")
    make.town("冠山镇", county="平定县")
    page = client.get("/cases/new/application").get_data(as_text=True)
    assert "西烟镇" in page and "冠山镇" not in page
    response = post(client, "/cases/new/application", {**FORM, "town_id": str(town.id), "new_town": ""})
    assert response.status_code == 302
    with transaction(db) as s:
        assert s.exec(Case.__table__.select().where(Case.__table__.c.definition_key == "designation")).one().town_id \
            == town.id


def test_no_town_chosen(make, client, clerk):
    make.town("西烟镇", county="盂县")
    page = post(client, "/cases/new/application", {**FORM, "town_id": ""}).get_data(as_text=True)
    assert field_error(page, "town_id")


def test_more_rows_without_javascript_keeps_everything(client, clerk):
    response = post(client, "/cases/new/application", FORM, action="more:leading_enterprises")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert 'name="le-7-name"' in page and 'name="le-8-name"' not in page
    assert 'id="le-5-name" name="le-5-name" value="" maxlength="100" autofocus' in page
    assert 'value="阳泉重工"' in page and 'value="东风镇"' in page and 'value="8.5"' in page


def test_check_eligibility_button_shows_the_panel_and_saves_nothing(db, client, clerk):
    page = post(client, "/cases/new/application", {**FORM, "output_yi": "12"}, action="check").get_data(as_text=True)
    assert "制造业类主导产业产值 12.00 亿元，达到 10 亿元" in page
    assert 'data-criterion="agglomeration" data-outcome="pass"' in page
    assert "专精特新：阳泉重工" in page
    with transaction(db) as s:
        assert s.exec(Case.__table__.select().where(Case.__table__.c.definition_key == "designation")).all() == []


def test_live_preview_endpoint_returns_the_panel(client, clerk):
    token = csrf_token(client, "/inbox")
    response = client.post("/cases/eligibility-preview", data={**FORM, "output_yi": "9.99", "csrf_token": token})
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and page.lstrip().startswith('<section class="card eligibility"')
    assert 'aria-live="polite"' in page
    assert "制造业类主导产业产值 9.99 亿元，低于 10 亿元" in page
    assert client.post("/cases/eligibility-preview", data=FORM).status_code == 400  # no CSRF token


def test_edit_submit_refused_with_reasons_beside_fields_then_accepted(db, make, client, clerk):
    case = make.case("designation", by=clerk, data={"industry_category": "manufacturing", "output_yi": 8.5})
    url = f"/cases/{case.id}/application"
    page = client.get(url).get_data(as_text=True)
    version = re.search(r'name="expected_version" value="(\d+)"', page).group(1)
    form = {**FORM, "expected_version": version, "supporting_enterprises": "9", "confirmed": "yes"}
    form.pop("town_id"), form.pop("new_town")
    response = post(client, url, form, action="submit")
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert field_error(page, "output_yi") == "制造业类主导产业产值 8.50 亿元，低于 10 亿元"
    assert field_error(page, "supporting_enterprises") == "上下游配套企业 9 户，少于 10 户"
    assert field_error(page, "business_environment") == "未填写营商环境"
    assert field_error(page, "jobs") == "未填写带动就业人数"
    saved = reload(db, case.id)
    assert (saved.state, saved.data["supporting_enterprises"]) == ("draft", 9)  # the draft was kept

    version = re.search(r'name="expected_version" value="(\d+)"', page).group(1)
    form.update({"expected_version": version, "output_yi": "12", "supporting_enterprises": "10",
                 "county_share_pct": "35.5", "jobs": "3200", "local_workers": "2800", "average_income": "52000",
                 "business_environment": "一站式服务", "confirmed": "yes"})
    response = post(client, url, form, action="submit")
    assert response.status_code == 302 and response.location.endswith(f"/cases/{case.id}")
    assert reload(db, case.id).state == "submitted"
    # a submitted application can no longer be edited: back to the case page
    response = client.get(url)
    assert response.status_code == 302 and response.location.endswith(f"/cases/{case.id}")


def test_submit_needs_the_confirmation_box(make, client, clerk):
    case = make.case("designation", by=clerk, data=COMPLETE)
    page = post(client, f"/cases/{case.id}/application", {**FORM, "expected_version": "1"}, action="submit")
    assert page.status_code == 422
    assert field_error(page.get_data(as_text=True), "confirmed")


def test_stale_version_keeps_the_input(make, client, clerk):
    case = make.case("designation", by=clerk, data=COMPLETE)
    response = post(client, f"/cases/{case.id}/application", {**FORM, "expected_version": "7"})
    page = response.get_data(as_text=True)
    assert response.status_code == 409 and 'value="阳泉重工"' in page


def test_a_county_cannot_open_another_countys_application(make, client, clerk):
    other = make.case("designation", county="平定县", data=COMPLETE)
    url = f"/cases/{other.id}/application"
    assert client.get(url).status_code == 404
    assert post(client, url, {**FORM, "expected_version": "1"}).status_code == 404
    assert client.get(f"/cases/{other.id + 1000}/application").status_code == 404


def test_office_reads_but_cannot_edit(make, client):
    case = make.case("designation", data=COMPLETE)
    office = make.user("office")
    login(client, office.username)
    assert client.get(f"/cases/{case.id}/application").status_code == 403
    assert client.get("/cases/new/application").status_code == 403


def test_partials_for_the_case_page(app, make, county):
    from flask import render_template_string

    case = make.case("designation", by=county, data={**COMPLETE, "output_yi": 8.5, "brands": [
        {"name": "阳泉造", "level": "province"}], "platforms": [{"kind": "ecommerce", "name": "电商园"}]})
    with app.test_request_context("/"):
        panel = render_template_string('{% include "designation/_eligibility.html" %}', case=case)
        data = render_template_string('{% include "designation/_application.html" %}', case=case)
        rectification = make.case("rectification", by=make.user("office"), data={"problem": "x"})
        assert render_template_string('{% include "designation/_eligibility.html" %}', case=rectification).strip() == ""
    assert "制造业类主导产业产值 8.50 亿元，低于 10 亿元" in panel and 'aria-live' not in panel
    assert "专精特新：阳泉重工" in panel
    assert "8.50 亿元" in data and "省级" in data and "电子商务" in data and "电商园" in data
    assert "阳泉重工" in data and "专精特新" in data


# ---- the browser ----------------------------------------------------------------------------------------------


@pytest.mark.browser
def test_keyboard_only_application_with_the_live_panel(db, make, live_server, page):
    clerk = make.user("county", county="盂县")
    page.goto(f"{live_server}/login")
    page.focus("#username")
    page.keyboard.type(clerk.username)
    page.keyboard.press("Tab")
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url(f"{live_server}/inbox")
    page.goto(f"{live_server}/cases/new")
    page.wait_for_url(f"{live_server}/cases/new/application")

    page.focus("#f-town_id")  # no candidate town yet: "a new town" is chosen
    page.keyboard.press("Tab")
    page.keyboard.type("东风镇")
    page.keyboard.press("Tab")  # into the category radio group, on 制造业
    page.keyboard.press("Space")
    assert page.is_checked("#f-industry_category-manufacturing")
    page.keyboard.press("Tab")
    page.keyboard.type("装备制造")
    page.keyboard.press("Tab")
    page.keyboard.type("矿山机械")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "f-output_yi"
    page.keyboard.type("8")

    agglomeration = page.locator('#eligibility-panel [data-criterion="agglomeration"]')
    expect(agglomeration).to_contain_text("制造业类主导产业产值 8.00 亿元，低于 10 亿元")
    expect(agglomeration).to_have_attribute("data-outcome", "fail")
    expect(page.locator("#eligibility-panel [data-summary]")).to_have_attribute("data-summary", "fail")

    page.keyboard.press("Control+A")
    page.keyboard.type("12")
    expect(agglomeration).to_contain_text("制造业类主导产业产值 12.00 亿元，达到 10 亿元")
    expect(agglomeration).to_have_attribute("data-outcome", "pass")

    page.keyboard.press("Enter")  # Enter in a text box saves the draft
    page.wait_for_url(re.compile(rf"{live_server}/cases/\d+/application$"))
    assert page.locator(".flash.success").count() == 1
    assert page.input_value("#f-output_yi") == "12.00"
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "application-form.png"), full_page=True)
    with transaction(db) as s:
        case = s.exec(Case.__table__.select().where(Case.__table__.c.definition_key == "designation")).one()
        assert s.get(Town, case.town_id).name == "东风镇"
    assert case.data == {"industry_category": "manufacturing", "leading_industry": "装备制造",
                         "main_products": "矿山机械", "output_yi": 12}
