"""The web pages: language, login with lockout, session handling (fixation, idle end, logout, password
change), CSRF, who sees which case, the transition forms, and the inbox."""

from __future__ import annotations

import json
import re
from datetime import timedelta

import pytest
import time_machine
from sqlmodel import select

from conftest import PASSWORD, api_headers, csrf_token, footprint, login, without_csrf_token
from workflow.accounts.auth import username_pseudonym
from workflow.core.db import transaction
from workflow.core.models import AuditEvent, Case, LoginSession, User

COOKIE = "zyz_session"
COMPLETE = {"industry_category": "agriculture", "leading_industry": "小杂粮", "output_yi": 3.2}
NEW_PASSWORD = "Neues-Passwort-2027"
CASE_LINK = re.compile(r'href="/cases/(\d+)"')


def events(db, kind: str) -> list[AuditEvent]:
    with transaction(db) as s:
        return list(s.exec(select(AuditEvent).where(AuditEvent.kind == kind).order_by(AuditEvent.seq)))


def reload(db, case_id: int) -> Case:
    with transaction(db) as s:
        return s.get(Case, case_id)


def session_cookie(client) -> str | None:
    cookie = client.get_cookie(COOKIE)
    return cookie.value if cookie else None


def with_cookie(app, value: str):
    """A fresh browser that carries only this session cookie."""
    browser = app.test_client()
    browser.set_cookie(COOKIE, value)
    return browser


def goes_to_login(response) -> bool:
    return response.status_code == 302 and response.headers["Location"].startswith("/login")


def text(response) -> str:
    body = response.get_data(as_text=True)
    assert "Traceback" not in body
    return body


def without_own_url(page: str) -> str:
    """The page without the language form's return address (the only place a page repeats its own URL) and
    without the CSRF token (it carries the second it was made in)."""
    return re.sub(r'name="next" value="[^"]*"', 'name="next" value=""', without_csrf_token(page))


def post_form(client, url: str, data: dict, *, token_from: str | None = None):
    """POST a form with the CSRF token of the page at `token_from` (default: the page itself)."""
    return client.post(url, data={**data, "csrf_token": csrf_token(client, token_from or url)})


# --- language --------------------------------------------------------------------------------------------------


def test_login_page_is_chinese_by_default_and_english_on_request(client):
    page = text(client.get("/login"))
    assert "<h1>登录</h1>" in page and 'lang="zh-CN"' in page
    assert "用户名" in page and "密码" in page

    switched = client.post("/language", data={"lang": "en", "next": "/login", "csrf_token": csrf_token(client)})
    assert switched.status_code == 302 and switched.headers["Location"] == "/login"
    page = text(client.get("/login"))
    assert "<h1>Log in</h1>" in page and 'lang="en"' in page
    assert "登录" not in page and "Username" in page

    client.post("/language", data={"lang": "zh_CN", "next": "/login", "csrf_token": csrf_token(client)})
    assert "<h1>登录</h1>" in text(client.get("/login"))


def test_language_switch_refuses_other_sites_and_unknown_languages(client):
    token = csrf_token(client)
    away = client.post("/language", data={"lang": "en", "next": "https://evil.example/", "csrf_token": token})
    assert away.status_code == 302 and away.headers["Location"] == "/inbox"
    client.post("/language", data={"lang": "fr", "next": "/login", "csrf_token": token})
    assert "<h1>Log in</h1>" in text(client.get("/login"))  # still English: an unknown language changes nothing
    assert client.post("/language", data={"lang": "zh_CN"}).status_code == 400  # no CSRF token


def test_the_language_survives_login(make, client):
    county = make.user("county")
    client.post("/language", data={"lang": "en", "next": "/login", "csrf_token": csrf_token(client)})
    assert login(client, county.username).status_code == 302
    assert "My inbox" in text(client.get("/inbox"))


# --- login -----------------------------------------------------------------------------------------------------


def test_wrong_password_shows_the_chinese_error_and_is_audited(make, client, db):
    county = make.user("county", username="yx_clerk")
    response = login(client, "yx_clerk", "Wrong-pass-1")
    assert response.status_code == 401
    assert "用户名或密码错误。" in text(response)
    assert session_cookie(client) is not None and goes_to_login(client.get("/inbox"))
    failed = events(db, "login_failed")
    assert len(failed) == 1
    assert failed[0].actor_id == county.id and json.loads(failed[0].data)["reason"] == "bad_password"
    assert failed[0].ip == "127.0.0.1"

    unknown = login(client, "nobody_here", "Wrong-pass-1")
    assert unknown.status_code == 401 and "用户名或密码错误。" in text(unknown)
    assert json.loads(events(db, "login_failed")[1].data) == {
        "username": "（无此账户）", "pseudonym": username_pseudonym("nobody_here"), "reason": "unknown_user"}


def test_five_failures_lock_the_account_for_fifteen_minutes(make, client, db, now):
    make.user("county", username="yx_clerk")
    with time_machine.travel(now, tick=False) as traveller:
        for _ in range(5):
            assert login(client, "yx_clerk", "Wrong-pass-1").status_code == 401
        assert len(events(db, "lockout")) == 1
        refused = login(client, "yx_clerk", PASSWORD)
        assert refused.status_code == 401 and "账户已被锁定" in text(refused)
        traveller.shift(timedelta(minutes=14, seconds=59))
        assert login(client, "yx_clerk", PASSWORD).status_code == 401
        traveller.shift(timedelta(seconds=1))
        assert login(client, "yx_clerk", PASSWORD).status_code == 302
        assert text(client.get("/inbox")).count("我的待办") >= 1
    assert [json.loads(e.data)["reason"] for e in events(db, "login_failed")] == ["bad_password"] * 5 + ["locked"] * 2


def test_a_lock_that_ran_out_counts_failures_afresh(make, client, now):
    make.user("county", username="yx_clerk")
    with time_machine.travel(now, tick=False) as traveller:
        for _ in range(5):
            login(client, "yx_clerk", "Wrong-pass-1")
        traveller.shift(timedelta(minutes=15))
        assert login(client, "yx_clerk", "Wrong-pass-1").status_code == 401
        assert login(client, "yx_clerk", PASSWORD).status_code == 302  # one failure does not lock again


def test_login_redirects_only_within_the_site(make, client):
    make.user("county", username="yx_clerk")
    token = csrf_token(client)
    response = client.post("/login?next=//evil.example/x", data={"username": "yx_clerk", "password": PASSWORD,
                                                                  "csrf_token": token})
    assert response.status_code == 302 and response.headers["Location"] == "/inbox"


def test_pages_need_a_login(make, client):
    case = make.case("designation")
    for url in ("/", "/inbox", "/cases", f"/cases/{case.id}", f"/cases/{case.id}/do/submit", "/password"):
        assert goes_to_login(client.get(url)), url
    assert client.get("/inbox").headers["Location"] == "/login?next=/inbox"


# --- sessions --------------------------------------------------------------------------------------------------


def test_the_session_id_changes_at_login(app, make, client, db):
    make.user("county", username="yx_clerk")
    client.get("/login")
    before = session_cookie(client)
    assert before
    assert login(client, "yx_clerk").status_code == 302
    after = session_cookie(client)
    assert after and after != before
    assert client.get("/inbox").status_code == 200
    # the cookie from before the login was not promoted: it is still anonymous
    assert goes_to_login(with_cookie(app, before).get("/inbox"))


def test_a_planted_session_cookie_does_not_become_authenticated(app, make, client):
    make.user("county", username="yx_clerk")
    attacker = app.test_client()
    attacker.get("/login")
    planted = session_cookie(attacker)
    victim = with_cookie(app, planted)
    assert login(victim, "yx_clerk").status_code == 302
    assert session_cookie(victim) != planted
    assert victim.get("/inbox").status_code == 200
    assert goes_to_login(attacker.get("/inbox"))


def test_thirty_minutes_idle_ends_the_session(make, client, db, now):
    user = make.user("county", username="yx_clerk")
    with time_machine.travel(now, tick=False) as traveller:
        assert login(client, "yx_clerk").status_code == 302
        traveller.shift(timedelta(minutes=29))
        assert client.get("/inbox").status_code == 200  # activity keeps it alive
        traveller.shift(timedelta(minutes=29))
        assert client.get("/inbox").status_code == 200
        traveller.shift(timedelta(minutes=31))
        response = client.get("/inbox")
        assert goes_to_login(response)
        assert goes_to_login(client.get("/inbox"))  # ended for good, not only for one request
    ended = events(db, "session_ended")
    assert len(ended) == 1
    assert ended[0].actor_id == user.id and json.loads(ended[0].data) == {"reason": "idle", "via": "web"}
    with transaction(db) as s:
        row = s.exec(select(LoginSession).where(LoginSession.user_id == user.id)).one()
    assert row.ended_reason == "idle"


def test_logout_is_post_only_and_ends_the_session_on_the_server(app, make, client, db):
    user = make.user("county", username="yx_clerk")
    assert login(client, "yx_clerk").status_code == 302
    cookie = session_cookie(client)
    refused = client.get("/logout")
    assert refused.status_code == 405  # the error page keeps Allow (its methods in no set order)
    assert set(refused.headers["Allow"].split(", ")) == {"OPTIONS", "POST"}
    assert "不支持该请求方法。" in text(refused)
    assert client.get("/inbox").status_code == 200  # the GET did not log out

    response = post_form(client, "/logout", {}, token_from="/inbox")
    assert goes_to_login(response)
    assert "您已退出登录。" in text(client.get("/login"))
    assert goes_to_login(client.get("/inbox"))
    assert goes_to_login(with_cookie(app, cookie).get("/inbox"))  # the old cookie replayed
    assert [e.actor_id for e in events(db, "logout")] == [user.id]
    with transaction(db) as s:
        assert s.exec(select(LoginSession.ended_reason).where(LoginSession.user_id == user.id)).one() == "logout"


def test_changing_the_password_ends_the_sessions_and_the_new_password_works(app, make, client, db):
    make.user("county", username="yx_clerk")
    token = api_headers(client, "yx_clerk")
    assert login(client, "yx_clerk").status_code == 302
    cookie = session_cookie(client)

    response = post_form(client, "/password", {"current": PASSWORD, "new": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert goes_to_login(response)
    assert "密码已修改，请重新登录。" in text(client.get("/login"))
    assert goes_to_login(with_cookie(app, cookie).get("/inbox"))
    assert client.get("/api/v1/me", headers=token).status_code == 401  # the API token ended too
    assert len(events(db, "password_changed")) == 1

    fresh = app.test_client()
    assert login(fresh, "yx_clerk", PASSWORD).status_code == 401
    assert login(fresh, "yx_clerk", NEW_PASSWORD).status_code == 302
    assert fresh.get("/inbox").status_code == 200


@pytest.mark.parametrize(("form", "message"), [
    ({"current": "Wrong-pass-1", "new": NEW_PASSWORD, "confirm": NEW_PASSWORD}, "当前密码不正确"),
    ({"current": PASSWORD, "new": "short1A", "confirm": "short1A"}, "密码至少 8 位"),
    ({"current": PASSWORD, "new": "alllowercase", "confirm": "alllowercase"}, "至少三类"),
    ({"current": PASSWORD, "new": NEW_PASSWORD, "confirm": NEW_PASSWORD + "x"}, "两次输入的新密码不一致。"),
    ({"current": PASSWORD, "new": PASSWORD, "confirm": PASSWORD}, "新密码不能与当前密码相同"),
])
def test_a_refused_password_change_says_why_in_chinese_and_changes_nothing(make, client, db, form, message):
    user = make.user("county", username="yx_clerk")
    assert login(client, "yx_clerk").status_code == 302
    response = post_form(client, "/password", form)
    assert response.status_code == 422
    assert message in text(response)
    with transaction(db) as s:
        assert s.get(User, user.id).password_hash == user.password_hash
    assert client.get("/inbox").status_code == 200
    assert events(db, "password_changed") == []


def test_a_user_who_must_change_the_password_is_sent_to_the_password_page(app, make, client):
    make.user("county", username="yx_new", must_change_password=True)
    assert login(client, "yx_new").status_code == 302
    for url in ("/inbox", "/cases"):
        response = client.get(url)
        assert response.status_code == 302 and response.headers["Location"] == "/password"
    page = text(client.get("/password"))
    assert "请先设置新密码再继续使用。" in page
    assert post_form(client, "/password", {"current": PASSWORD, "new": NEW_PASSWORD,
                                           "confirm": NEW_PASSWORD}).status_code == 302
    assert login(client, "yx_new", NEW_PASSWORD).status_code == 302
    assert client.get("/inbox").status_code == 200


# --- CSRF ------------------------------------------------------------------------------------------------------


def test_a_transition_without_csrf_token_is_refused_and_writes_nothing(make, client, db):
    county = make.user("county", username="yx_clerk")
    case = make.case("designation", by=county, data=COMPLETE)
    assert login(client, "yx_clerk").status_code == 302
    before = footprint(db)
    response = client.post(f"/cases/{case.id}/do/submit", data={"expected_version": "1", "confirmed": "yes"})
    assert response.status_code == 400
    assert "表单已过期或来源不明" in text(response)
    response = client.post(f"/cases/{case.id}/do/submit", data={"expected_version": "1", "confirmed": "yes",
                                                                "csrf_token": "forged"})
    assert response.status_code == 400
    assert footprint(db) == before


def test_logout_without_csrf_token_is_refused(make, client, db):
    make.user("county", username="yx_clerk")
    assert login(client, "yx_clerk").status_code == 302
    before = footprint(db)
    assert client.post("/logout").status_code == 400
    assert client.get("/inbox").status_code == 200
    assert footprint(db) == before


def test_login_without_csrf_token_is_refused_and_not_counted(make, client, db):
    make.user("county", username="yx_clerk")
    before = footprint(db)
    assert client.post("/login", data={"username": "yx_clerk", "password": PASSWORD}).status_code == 400
    assert goes_to_login(client.get("/inbox"))
    assert footprint(db) == before


def test_a_csrf_token_of_another_session_is_refused(app, make, client, db):
    county = make.user("county", username="yx_clerk")
    case = make.case("designation", by=county, data=COMPLETE)
    assert login(client, "yx_clerk").status_code == 302
    other = app.test_client()
    foreign = csrf_token(other)
    before = footprint(db)
    response = client.post(f"/cases/{case.id}/do/submit", data={"expected_version": "1", "confirmed": "yes",
                                                                "csrf_token": foreign})
    assert response.status_code == 400
    assert footprint(db) == before


# --- who sees what ---------------------------------------------------------------------------------------------


def test_county_a_cannot_see_county_b_case_through_the_pages(app, make, client, db):
    make.user("county", county="平定县", username="pd_clerk")
    case = make.case("designation", county="盂县", data=COMPLETE)
    assert login(client, "pd_clerk").status_code == 302
    before = footprint(db)
    for url in (f"/cases/{case.id}", f"/cases/{case.id}/do/submit", f"/cases/{case.id}/do/edit",
                f"/cases/{case.id}/do/accept"):
        hidden, missing = client.get(url), client.get(url.replace(str(case.id), "999999"))
        assert hidden.status_code == missing.status_code == 404
        assert without_own_url(text(hidden)) == without_own_url(text(missing))
    token = csrf_token(client, "/inbox")
    hidden = client.post(f"/cases/{case.id}/do/submit", data={"expected_version": "1", "confirmed": "yes",
                                                             "csrf_token": token})
    assert hidden.status_code == 404
    assert case.number not in text(client.get("/cases")) and case.number not in text(client.get("/inbox"))
    assert footprint(db) == before
    # ... and through the API
    headers = api_headers(client, "pd_clerk")
    assert client.get(f"/api/v1/cases/{case.id}", headers=headers).status_code == 404
    assert client.get("/api/v1/cases?definition=designation", headers=headers).json["total"] == 0


def test_a_member_unit_sees_only_the_cases_it_was_invited_to(app, make, client, db):
    make.user("member", unit="市科技局", username="kj_staff")
    make.user("member", unit="市农业农村局", username="ny_staff")
    make.user("office", username="office_staff")
    invited = make.case("designation", state="submitted", data=COMPLETE)
    other = make.case("designation", state="submitted", data=COMPLETE)
    kj = make.unit("市科技局", "member")
    office = app.test_client()
    login(office, "office_staff")
    assert post_form(office, f"/cases/{invited.id}/do/accept", {"member_units": [str(kj.id)],
                                                                "expected_version": "1"}).status_code == 302

    assert login(client, "kj_staff").status_code == 302
    assert client.get(f"/cases/{invited.id}").status_code == 200
    assert client.get(f"/cases/{other.id}").status_code == 404
    assert set(CASE_LINK.findall(text(client.get("/inbox")))) == {str(invited.id)}
    assert set(CASE_LINK.findall(text(client.get("/cases")))) == {str(invited.id)}

    elsewhere = app.test_client()
    login(elsewhere, "ny_staff")
    assert elsewhere.get(f"/cases/{invited.id}").status_code == 404
    assert CASE_LINK.findall(text(elsewhere.get("/inbox"))) == []


@pytest.mark.parametrize("role", ["admin", "auditor"])
def test_admin_and_auditor_see_no_cases(make, client, role):
    """三员分立: the case pages refuse both (403), for a case that exists as for one that does not."""
    make.user(role, username="watcher")
    case = make.case("designation", data=COMPLETE)
    assert login(client, "watcher").status_code == 302
    for url in ("/inbox", "/cases", f"/cases/{case.id}", f"/cases/{case.id}/do/submit", "/cases/999999"):
        response = client.get(url)
        assert response.status_code == 403, url
        assert CASE_LINK.findall(text(response)) == [] and case.number not in text(response)
    assert "/inbox" not in text(client.get("/notifications"))  # nor does the menu offer them


@pytest.mark.parametrize("url", ["/cases/abc", "/cases/abc/do/submit", "/cases/99999999999",
                                 "/cases/99999999999999999999/do/submit", "/no-such-page"])
def test_odd_case_urls_are_a_404_page(make, client, url):
    make.user("office", username="office_staff")
    login(client, "office_staff")
    response = client.get(url)
    assert response.status_code == 404
    assert "页面或对象不存在" in text(response) or "案件不存在" in text(response)


def test_nul_in_a_query_or_form_is_a_400_page(make, client, db):
    make.user("office", username="office_staff")
    login(client, "office_staff")
    assert client.get("/cases?state=draft%00").status_code == 400
    before = footprint(db)
    fresh_token = csrf_token(client, "/inbox")
    assert client.post("/logout", data={"csrf_token": fresh_token, "x": "\x00"}).status_code == 400
    assert client.get("/inbox").status_code == 200
    assert footprint(db) == before


# --- the transition forms --------------------------------------------------------------------------------------


def test_county_edits_and_submits_office_accepts_member_answers(app, make, client, db, complete_application):
    make.user("county", county="盂县", username="yx_clerk")
    make.user("office", username="office_staff")
    make.user("member", unit="市科技局", username="kj_staff")
    make.user("member", unit="市农业农村局", username="ny_staff")
    rest = {k: v for k, v in complete_application.items()
            if k not in ("industry_category", "leading_industry", "output_yi")}
    case_id = make.case("designation", county="盂县", data=rest).id  # the form fills in the three others
    login(client, "yx_clerk")

    page = text(client.get(f"/cases/{case_id}"))
    assert f"/cases/{case_id}/do/submit" in page and f"/cases/{case_id}/do/withdraw" in page
    assert f"/cases/{case_id}/do/accept" not in page  # an office step: no button for the county

    edit_form = text(client.get(f"/cases/{case_id}/do/edit"))
    assert 'name="expected_version" value="1"' in edit_form
    edited = post_form(client, f"/cases/{case_id}/do/edit", {
        "industry_category": "manufacturing", "leading_industry": "装备制造", "output_yi": "12.5",
        "expected_version": "1"})
    assert edited.status_code == 302 and edited.headers["Location"] == f"/cases/{case_id}"
    case = reload(db, case_id)
    assert (case.state, case.version) == ("draft", 2)
    assert case.data["leading_industry"] == "装备制造" and float(case.data["output_yi"]) == 12.5

    unconfirmed = post_form(client, f"/cases/{case_id}/do/submit", {"expected_version": "2"})
    assert unconfirmed.status_code == 422
    assert "请勾选确认框以确认此操作。" in text(unconfirmed)
    assert (reload(db, case_id).state, reload(db, case_id).version) == ("draft", 2)

    submitted = post_form(client, f"/cases/{case_id}/do/submit", {"expected_version": "2", "confirmed": "yes"})
    assert submitted.status_code == 302
    assert "已完成：提交申报。" in text(client.get(f"/cases/{case_id}"))
    assert reload(db, case_id).state == "submitted"

    office = app.test_client()
    login(office, "office_staff")
    accept_form = text(office.get(f"/cases/{case_id}/do/accept"))
    kj, ny = make.unit("市科技局", "member"), make.unit("市农业农村局", "member")
    assert f'name="member_units" value="{kj.id}"' in accept_form and "市农业农村局" in accept_form
    nobody = post_form(office, f"/cases/{case_id}/do/accept", {"expected_version": "3"})
    refused = text(nobody)  # the field by its label, said once (the guard does not say it again)
    assert nobody.status_code == 422 and refused.count("必须填写征求意见的成员单位") == 1
    assert "必须填写 member_units" not in refused
    accepted = post_form(office, f"/cases/{case_id}/do/accept", {"member_units": [str(kj.id), str(ny.id)],
                                                                 "expected_version": "3"})
    assert accepted.status_code == 302
    case = reload(db, case_id)
    assert case.state == "consultation" and sorted(case.data["consulted_units"]) == sorted([kj.id, ny.id])

    member = app.test_client()
    login(member, "kj_staff")
    assert CASE_LINK.findall(text(member.get("/inbox"))) == [str(case_id)]
    answered = post_form(member, f"/cases/{case_id}/do/record_opinion", {"opinion": "agree",
                                                                         "expected_version": "4"})
    assert answered.status_code == 302
    case = reload(db, case_id)
    assert case.data["opinions"][str(kj.id)]["answer"] == "agree"
    assert CASE_LINK.findall(text(member.get("/inbox"))) == []  # answered: nothing more waits for it

    timeline = [(e.kind, e.trigger, e.actor_name) for e in events(db, "transition") if e.case_id == case_id]
    assert [t[1] for t in timeline] == ["edit", "submit", "accept", "record_opinion"]


def test_field_errors_are_shown_in_chinese(make, client, db):
    county = make.user("county", username="yx_clerk")
    case = make.case("designation", by=county)
    login(client, "yx_clerk")
    before = footprint(db)
    response = post_form(client, f"/cases/{case.id}/do/edit", {"output_yi": "很多", "jobs": "-3",
                                                                "expected_version": "1"})
    assert response.status_code == 422
    page = text(response)
    assert "请输入数字" in page or "必须是数字" in page
    assert 'value="很多"' in page  # what was typed is kept
    assert footprint(db) == before

    submitted = post_form(client, f"/cases/{case.id}/do/submit", {"expected_version": "1", "confirmed": "yes"})
    assert submitted.status_code == 422
    page = text(submitted)
    for missing in ("未填写产业类别", "未填写主导产业"):  # every reason, not only the first
        assert missing in page
    assert reload(db, case.id).state == "draft"
    assert footprint(db) == before


def test_field_errors_in_english_when_english_is_chosen(make, client):
    county = make.user("county", username="yx_clerk")
    case = make.case("designation", by=county)
    client.post("/language", data={"lang": "en", "next": "/login", "csrf_token": csrf_token(client)})
    login(client, "yx_clerk")
    response = post_form(client, f"/cases/{case.id}/do/submit", {"expected_version": "1", "confirmed": "yes"})
    assert response.status_code == 422
    assert "leading_industry is missing" in text(response) or "Leading industry" in text(response)


def test_a_stale_form_shows_the_conflict_and_changes_nothing(app, make, client, db):
    county = make.user("county", username="yx_clerk")
    case = make.case("designation", by=county, data=COMPLETE)
    login(client, "yx_clerk")
    stale_page = text(client.get(f"/cases/{case.id}/do/edit"))
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', stale_page).group(1)
    # meanwhile someone else saves the application
    assert post_form(client, f"/cases/{case.id}/do/edit", {"leading_industry": "核桃",
                                                           "expected_version": "1"}).status_code == 302
    before = footprint(db)
    response = client.post(f"/cases/{case.id}/do/edit", data={"leading_industry": "香菇", "expected_version": "1",
                                                              "csrf_token": token})
    assert response.status_code in (409, 422)
    assert "案件已被他人修改（版本已变化），请刷新后重试。" in text(response)
    assert footprint(db) == before
    assert reload(db, case.id).data["leading_industry"] == "核桃"


def test_a_role_that_may_not_fire_the_trigger_gets_403(make, client, db):
    make.user("county", username="yx_clerk")
    case = make.case("designation", state="submitted", data=COMPLETE)
    login(client, "yx_clerk")
    before = footprint(db)
    assert client.get(f"/cases/{case.id}/do/accept").status_code == 403
    assert post_form(client, f"/cases/{case.id}/do/accept", {"expected_version": "1", "member_units": ["1"]},
                     token_from="/inbox").status_code == 403
    assert footprint(db) == before


def test_a_step_not_possible_now_redirects_with_a_message(make, client, db):
    county = make.user("county", username="yx_clerk")
    case = make.case("designation", by=county, data=COMPLETE)
    login(client, "yx_clerk")
    before = footprint(db)
    response = client.get(f"/cases/{case.id}/do/resubmit")
    assert response.status_code == 302 and response.headers["Location"] == f"/cases/{case.id}"
    assert "当前不能执行该操作。" in text(client.get(f"/cases/{case.id}"))
    assert client.get(f"/cases/{case.id}/do/expire").status_code == 302  # a system trigger: not by hand
    assert footprint(db) == before


# --- the inbox -------------------------------------------------------------------------------------------------


def test_inbox_is_paginated_by_twenty(make, client):
    county = make.user("county", username="yx_clerk")
    ids = {make.case("designation", by=county, county="盂县").id for _ in range(25)}  # a town each
    login(client, "yx_clerk")
    first, second = text(client.get("/inbox")), text(client.get("/inbox?page=2"))
    on_first, on_second = CASE_LINK.findall(first), CASE_LINK.findall(second)
    assert len(on_first) == 20 and len(on_second) == 5
    assert {int(i) for i in on_first + on_second} == ids
    assert "/inbox?page=2" in first and "/inbox?page=1" in second
    assert CASE_LINK.findall(text(client.get("/inbox?page=abc"))) == on_first


def test_inbox_lists_what_waits_for_the_user_only(make, client, app):
    county = make.user("county", username="yx_clerk")
    make.user("office", username="office_staff")
    draft = make.case("designation", by=county)
    submitted = make.case("designation", by=county, state="submitted")
    make.case("designation", by=county, state="withdrawn")
    login(client, "yx_clerk")
    assert set(CASE_LINK.findall(text(client.get("/inbox")))) == {str(draft.id)}
    office = app.test_client()
    login(office, "office_staff")
    assert set(CASE_LINK.findall(text(office.get("/inbox")))) == {str(submitted.id)}
