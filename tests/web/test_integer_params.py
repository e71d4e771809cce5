"""Whole numbers typed into a query string, a form or an API parameter: ASCII digits only. "²", "①", "١٢" (Arabic-
Indic), "１２" (fullwidth), a sign, spaces, underscores or hex are not a page, a year or an id: a list shows its first
page (or its default year, or no filter), an API answers its own 400, a template version its 404, never a 500.
The parsing itself (workflow.core.reasons.parse_whole) is tested in tests/core/test_reasons.py."""

from __future__ import annotations

import re
from urllib.parse import quote

import pytest

from conftest import api_headers, csrf_token, footprint, login

BAD = ["²", "١٢", "①", "１２", " 12", "12 ", "+12", "-1", "1_000", "0x10", "1.0", "1e3", "12\n"]


# --- the pages ---------------------------------------------------------------------------------------------------

# what a page echoes of its address: the language switch returns to it, the export button sends its filters again
ECHOED = re.compile(r'name="next" value="[^"]*"|<input type="hidden" name="\w+" value="[^"]*">')

# url with {} where the bad value goes, the role that may open it, and the same page as it looks with no value
PAGES = [
    ("/cases?page={}", "office", "/cases"),
    ("/cases?county={}&town={}", "office", "/cases"),
    ("/inbox?page={}", "county", "/inbox"),
    ("/search?q=镇&page={}", "office", "/search?q=镇"),
    ("/notifications?page={}", "county", "/notifications"),
    ("/notifications/failed?page={}", "office", "/notifications/failed"),
    ("/incidents?page={}", "office", "/incidents"),
    ("/towns?page={}&county={}", "office", "/towns"),
    ("/statistics?page={}&year={}&county={}", "office", "/statistics"),
    ("/evaluation?year={}", "office", "/evaluation"),
    ("/evaluation/ranking?year={}", "office", "/evaluation/ranking"),
    ("/admin/users?page={}&unit={}", "admin", "/admin/users"),
    ("/admin/units?page={}", "admin", "/admin/units"),
    ("/receipts?page={}", "county", "/receipts"),
    ("/receipts/overview?page={}&county={}", "office", "/receipts/overview"),
    ("/supervision?county={}", "office", "/supervision"),
    ("/programmes?year={}&unit={}", "office", "/programmes"),
    ("/programmes/tasks?page={}&unit={}", "office", "/programmes/tasks"),
    ("/programmes/plan?year={}&edit={}", "office", "/programmes/plan"),
    ("/problems?page={}&county={}&town={}&unit={}", "office", "/problems"),
    ("/projects/key?page={}&county={}&town={}", "office", "/projects/key"),
    ("/projects/batches?year={}", "office", "/projects/batches"),
]


def _page(client, url: str) -> tuple[int, str]:
    response = client.get(url)
    return response.status_code, ECHOED.sub("", response.get_data(as_text=True))


@pytest.fixture
def browsers(app, make):
    """A logged-in browser per role, on a database with a town and a user in each county."""
    make.town("西烟镇", county="盂县")
    make.town("义井镇", county="城区")
    found = {}
    for role in ("county", "office", "admin", "auditor"):
        user = make.user(role, username=f"{role}_digits")
        browser = app.test_client()
        assert login(browser, user.username).status_code == 302
        found[role] = browser
    return found


@pytest.mark.parametrize("url, role, plain", PAGES, ids=[p[0].split("?")[0] for p in PAGES])
def test_a_superscript_two_shows_the_page_as_without_it(browsers, url, role, plain):
    status, body = _page(browsers[role], url.replace("{}", quote("²")))
    assert (status, body) == _page(browsers[role], plain)
    assert status == 200


@pytest.mark.parametrize("url, role, plain", [PAGES[0], PAGES[8], PAGES[10], PAGES[16]],
                         ids=["cases", "statistics", "ranking", "programmes"])
def test_other_scripts_signs_and_spaces_show_the_page_as_without_them(browsers, url, role, plain):
    expected = _page(browsers[role], plain)
    for bad in BAD:
        assert _page(browsers[role], url.replace("{}", quote(bad))) == expected, bad


@pytest.mark.parametrize("bad", ["²", "١٢", "+3", "0x10"])
def test_the_audit_trail_search_says_choose_from_the_list(browsers, bad):
    response = browsers["auditor"].get("/auditor/", query_string={"unit": bad, "county": bad})
    assert response.status_code == 400
    assert response.get_data(as_text=True).count("请从列表中选择") == 2


@pytest.mark.parametrize("bad", ["²", "١٢", "-1"])
def test_the_audit_trail_refuses_a_bad_position(browsers, bad):
    assert browsers["auditor"].get("/auditor/", query_string={"before": bad}).status_code == 400
    assert browsers["auditor"].get("/auditor/", query_string={"after": bad}).status_code == 400
    assert browsers["auditor"].get("/auditor/", query_string={"before": "12"}).status_code == 200


@pytest.mark.parametrize("bad", ["²", "١٢", "+1", "0", str(2**31)])
def test_a_template_version_that_is_not_a_number_is_not_found(browsers, bad):
    response = browsers["office"].get("/document-templates/designation_notice/download", query_string={"version": bad})
    assert response.status_code == 404


def test_the_audit_trail_finds_no_case_and_no_user_numbered_with_a_superscript(browsers):
    response = browsers["auditor"].get("/auditor/", query_string={"case": "²", "user": "²"})
    assert response.status_code == 200
    assert "没有符合条件的事件" in response.get_data(as_text=True)


# --- the API -----------------------------------------------------------------------------------------------------

API = [
    ("/api/v1/cases?{}=²", ("county", "town", "page", "per_page")),
    ("/api/v1/receipts?{}=²", ("county", "page", "per_page")),
    ("/api/v1/search?q=镇&{}=²", ("page", "per_page")),
    ("/api/v1/problems?{}=²", ("county", "town", "unit", "page", "per_page")),
    ("/api/v1/programmes/tasks?{}=²", ("year", "unit", "page", "per_page")),
    ("/api/v1/projects/key?{}=²", ("county", "town", "page", "per_page")),
]


@pytest.mark.parametrize("url, names", API, ids=[a[0].split("?")[0] for a in API])
def test_the_api_answers_400_naming_the_parameter(client, make, url, names):
    make.user("office", username="office_api")
    headers = api_headers(client, "office_api")
    for name in names:
        response = client.get(url.format(name), headers=headers)
        assert response.status_code == 400, name
        assert response.json["message"] == {"zh": f"参数 {name} 须为正整数。",
                                                     "en": f"{name} must be a positive integer."}, name


@pytest.mark.parametrize("method, url, name, message", [
    ("GET", "/api/v1/cases", "page", "page must be a positive integer."),
    ("GET", "/api/v1/incidents", "page", "status must be open, resolved or all; page a positive integer."),
    ("POST", "/api/v1/cases/export.xlsx", "county", "county must be a positive integer."),
    ("POST", "/api/v1/receipts/export.xlsx", "county", "county must be a positive integer."),
], ids=["cases", "incidents", "cases export", "receipts export"])
def test_the_api_refuses_every_other_way_of_writing_a_number(client, make, method, url, name, message):
    make.user("office", username="office_api")
    headers = api_headers(client, "office_api")
    for bad in [*BAD, "0", str(2**31)]:
        response = client.open(url, method=method, query_string={name: bad}, headers=headers)
        assert (response.status_code, response.json["message"]["en"]) == (400, message), bad


def test_the_api_still_reads_ascii_digits(client, make):
    make.user("office", username="office_api")
    headers = api_headers(client, "office_api")
    response = client.get("/api/v1/cases?page=2&per_page=5", headers=headers)
    assert response.status_code == 200
    assert (response.json["page"], response.json["per_page"]) == (2, 5)


# --- forms -------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("bad", ["²", "١", "+1", " 1"])
def test_a_step_whose_version_is_not_ascii_digits_is_an_incomplete_form(make, client, db, complete_application, bad):
    county = make.user("county", username="yx_digits")
    case = make.case("designation", by=county, data=complete_application)
    assert login(client, "yx_digits").status_code == 302
    token = csrf_token(client, f"/cases/{case.id}")
    before = footprint(db)
    response = client.post(f"/cases/{case.id}/do/submit",
                           data={"expected_version": bad, "confirmed": "yes", "csrf_token": token})
    assert response.status_code == 422
    assert "表单不完整，请刷新页面。" in response.get_data(as_text=True)
    assert footprint(db) == before
    response = client.post(f"/cases/{case.id}/do/submit",
                           data={"expected_version": str(case.version), "confirmed": "yes", "csrf_token": token})
    assert response.status_code == 302, response.get_data(as_text=True)[-3000:]


@pytest.mark.parametrize("bad", ["²", "١٢", "①"])
def test_an_inspection_of_a_town_written_in_other_digits_asks_for_a_town(make, client, db, bad):
    make.user("office", username="office_digits")
    assert login(client, "office_digits").status_code == 302
    before = footprint(db)
    response = client.post("/inspections/plan", data={"town_id": bad, "planned_date": "2027-03-01",
                                                      "csrf_token": csrf_token(client, "/inspections/plan")})
    assert response.status_code == 422
    assert "请选择专业镇" in response.get_data(as_text=True)
    assert footprint(db) == before


@pytest.mark.parametrize("bad", ["²⁰²⁷", "٢٠٢٧", "２０２７", " 2027"])
def test_a_plan_year_in_other_digits_asks_for_four_digits(make, client, db, bad):
    make.user("office", username="office_digits")
    assert login(client, "office_digits").status_code == 302
    before = footprint(db)
    response = client.post("/programmes/plan", data={"year": bad, "csrf_token": csrf_token(client,
                                                                                                 "/programmes/plan")})
    assert response.status_code == 303
    assert "请填写计划年度（四位数字）。" in client.get(response.headers["Location"]).get_data(as_text=True)
    assert footprint(db) == before


@pytest.mark.parametrize("value", ["²", "٩٠", "+90"])
def test_a_setting_in_other_digits_stops_the_start(database_url, tmp_path, monkeypatch, value):
    from webapp import create_app
    from webapp.config import ConfigError

    monkeypatch.setenv("ZYZ_MAX_DUE_DAYS", value)
    with pytest.raises(ConfigError, match="ZYZ_MAX_DUE_DAYS must be a whole number of at least 1"):
        create_app({"DATABASE_URL": database_url, "ZYZ_ENV": "test", "TESTING": True,
                    "SECRET_KEY": "test-secret-key-that-is-long-enough-0123456789", "UPLOAD_DIR": str(tmp_path)})


def test_a_quiet_time_in_other_digits_is_not_a_clock_time():
    from workflow.notify.rules import parse_clock

    for bad in ("٠٧:٠٠", "07:٠٠", "²:00", "+7:00"):
        with pytest.raises(ValueError):
            parse_clock(bad)
