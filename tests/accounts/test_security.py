"""Security hardening, one test per point: headers, cookies, HTTPS behind a proxy, sessions that end on the
server at once, lockout without account enumeration, the per-address login limit, the password profiles,
legacy hashes, templates without inline script, and the production start checks."""

from __future__ import annotations

import hashlib
import json
import re
import statistics
import time
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
import time_machine
from sqlmodel import select
from werkzeug.security import generate_password_hash

from conftest import PASSWORD, api_headers, app_config, csrf_token, login
from workflow.accounts.auth import ASVS, MLPS, password_problems, username_pseudonym
from workflow.core.db import transaction
from workflow.core.models import AuditEvent, LoginSession, User

ROOT = Path(__file__).resolve().parents[2]
TEMPLATES = ROOT / "webapp" / "templates"
COOKIE = "zyz_session"
NEW_PASSWORD = "Neues-Passwort-2027"




def events(db, kind: str) -> list[AuditEvent]:
    with transaction(db) as s:
        return list(s.exec(select(AuditEvent).where(AuditEvent.kind == kind).order_by(AuditEvent.seq)))


def goes_to_login(response) -> bool:
    return response.status_code == 302 and response.headers["Location"].startswith("/login")


def token_request(client, username, password, **kwargs):
    return client.post("/api/v1/auth/token", json={"username": username, "password": password}, **kwargs)


# --- headers ---------------------------------------------------------------------------------------------------


def csp_directives(response) -> dict[str, str]:
    policy = response.headers["Content-Security-Policy"]
    return {part.split()[0]: " ".join(part.split()[1:]) for part in policy.split(";") if part.strip()}


def assert_hardened(response) -> None:
    """The headers every response carries, whatever its kind."""
    csp = csp_directives(response)
    assert csp["frame-ancestors"] == "'none'" and csp["script-src"] == "'self'" and csp["object-src"] == "'none'"
    assert csp["default-src"] == "'self'" and csp["base-uri"] == "'self'" and csp["form-action"] == "'self'"
    assert "unsafe-inline" not in response.headers["Content-Security-Policy"]
    assert "unsafe-eval" not in response.headers["Content-Security-Policy"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Referrer-Policy"] == "same-origin"


def test_every_kind_of_response_carries_the_security_headers(make, client):
    make.user("county", username="yx_clerk")
    responses = {
        "page": client.get("/login"),
        "redirect": client.get("/inbox"),
        "404 page": client.get("/no-such-page"),
        "CSRF refusal": client.post("/login", data={"username": "x", "password": "y"}),
        "static file": client.get("/static/css/app.css"),
        "API error": client.get("/api/v1/me"),
        "API 404": client.get("/api/v1/nothing"),
        "OpenAPI": client.get("/api/v1/openapi.json"),
        "405": client.get("/logout"),
    }
    for name, response in responses.items():
        response.close()
        assert_hardened(response), name
        assert "Strict-Transport-Security" not in response.headers, name  # plain HTTP: no HSTS
    assert responses["page"].headers["Cache-Control"] == "no-store"
    assert login(client, "yx_clerk").status_code == 302
    assert_hardened(client.get("/inbox"))


def test_hsts_is_sent_over_https_only(make, apps):
    plain = apps()
    assert "Strict-Transport-Security" not in plain.test_client().get("/login").headers
    over_tls = plain.test_client().get("/login", base_url="https://zyz.example")
    assert over_tls.headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"
    # a header a client made up is not believed unless a proxy is configured to set it
    spoofed = plain.test_client().get("/login", headers={"X-Forwarded-Proto": "https"})
    assert "Strict-Transport-Security" not in spoofed.headers
    proxied = apps(PROXIES=1).test_client().get("/login", headers={"X-Forwarded-Proto": "https"})
    assert "Strict-Transport-Security" in proxied.headers


def set_cookie_of(response, name: str) -> str:
    found = [h for h in response.headers.getlist("Set-Cookie") if h.startswith(f"{name}=")]
    assert found, response.headers
    return found[-1]


def test_the_session_cookie_is_httponly_and_samesite_lax_and_secure_only_behind_https(make, apps, monkeypatch,
                                                                                       database_url, tmp_path):
    make.user("county", username="yx_clerk")
    plain = apps().test_client()
    cookie = set_cookie_of(login(plain, "yx_clerk"), COOKIE)
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie
    monkeypatch.setenv("ZYZ_HTTPS", "1")  # read by create_app from the environment, as in production
    secure_app = apps()
    assert secure_app.config["SESSION_COOKIE_SECURE"] and secure_app.config["PREFERRED_URL_SCHEME"] == "https"
    secure = secure_app.test_client()
    token = csrf_token(secure)
    response = secure.post("/login", data={"username": "yx_clerk", "password": PASSWORD, "csrf_token": token},
                           base_url="https://zyz.example")
    cookie = set_cookie_of(response, COOKIE)
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_the_client_address_comes_from_x_forwarded_for_only_behind_a_configured_proxy(make, apps, db):
    make.user("county", username="yx_clerk")
    for app, expected in ((apps(), "127.0.0.1"), (apps(PROXIES=1), "203.0.113.9")):
        client = app.test_client()
        token_request(client, "yx_clerk", "Wrong-pass-1", headers={"X-Forwarded-For": "203.0.113.9"})
        assert events(db, "login_failed")[-1].ip == expected


# --- templates -------------------------------------------------------------------------------------------------

INLINE = [
    (re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.I), "inline <script>"),
    (re.compile(r"\son[a-z]+\s*=", re.I), "on* event handler attribute"),
    (re.compile(r"\sstyle\s*=", re.I), "style= attribute"),
    (re.compile(r"<style", re.I), "<style> element"),
    (re.compile(r"javascript:", re.I), "javascript: URL"),
    (re.compile(r"\|\s*safe\b"), "|safe filter"),
    (re.compile(r"autoescape\s+false", re.I), "autoescape off"),
]


def test_no_template_has_inline_script_event_handlers_styles_or_unescaped_output():
    """The CSP allows neither inline script nor inline style; nothing a user typed is marked safe."""
    found = []
    for path in sorted(TEMPLATES.rglob("*.html")):
        text = path.read_text(encoding="utf-8")
        found += [(str(path.relative_to(ROOT)), why) for pattern, why in INLINE if pattern.search(text)]
    assert found == []
    assert len(list(TEMPLATES.rglob("*.html"))) > 20


def test_no_python_code_marks_text_as_safe_html():
    found = [str(p.relative_to(ROOT)) for p in (ROOT / "webapp").rglob("*.py")
             if re.search(r"\bMarkup\(|markupsafe|\|safe|autoescape\s*=\s*False", p.read_text(encoding="utf-8"))]
    assert found == []


# --- sessions end on the server --------------------------------------------------------------------------------


def test_a_web_session_ends_after_twelve_hours_however_active(make, client, db, now):
    user = make.user("county", username="yx_clerk")
    with time_machine.travel(now, tick=False) as traveller:
        assert login(client, "yx_clerk").status_code == 302
        for _ in range(35):  # every 20 minutes for 11 h 40 min: never idle
            traveller.shift(timedelta(minutes=20))
            assert client.get("/inbox").status_code == 200
        traveller.shift(timedelta(minutes=19, seconds=59))
        assert client.get("/inbox").status_code == 200
        traveller.shift(timedelta(seconds=1))  # twelve hours after the login
        assert goes_to_login(client.get("/inbox"))
        traveller.shift(timedelta(minutes=1))
        assert goes_to_login(client.get("/inbox"))
    with transaction(db) as s:
        row = s.exec(select(LoginSession).where(LoginSession.user_id == user.id)).one()
    assert row.ended_reason == "expired" and row.ended_at == row.expires_at == now + timedelta(hours=12)
    assert json.loads(events(db, "session_ended")[-1].data) == {"reason": "expired", "via": "web"}


def test_an_idle_api_token_and_browser_session_both_end_after_thirty_minutes(make, client, app, now):
    make.user("county", username="yx_clerk")
    with time_machine.travel(now, tick=False) as traveller:
        headers = api_headers(client, "yx_clerk")
        assert login(client, "yx_clerk").status_code == 302
        traveller.shift(timedelta(minutes=30))
        assert client.get("/inbox").status_code == 200
        assert client.get("/api/v1/me", headers=headers).status_code == 200
        traveller.shift(timedelta(minutes=30, seconds=1))
        assert goes_to_login(client.get("/inbox"))
        assert client.get("/api/v1/me", headers=headers).status_code == 401


@pytest.fixture
def admin_client(app, make):
    make.user("admin", username="sysadmin")
    browser = app.test_client()
    assert login(browser, "sysadmin").status_code == 302
    return browser


def admin_post(admin_client, url: str, data: dict | None = None):
    return admin_client.post(url, data={**(data or {}), "csrf_token": csrf_token(admin_client, "/admin/users")})


@pytest.mark.parametrize("action, reason", [("disable", "disabled"), ("end-sessions", "ended_by_admin"),
                                            ("reset-password", "password_reset")])
def test_what_the_administrator_does_to_an_account_ends_its_sessions_at_the_next_request(
        app, make, db, admin_client, action, reason):
    user = make.user("county", username="yx_clerk")
    browser = app.test_client()
    assert login(browser, "yx_clerk").status_code == 302
    headers = api_headers(app.test_client(), "yx_clerk")
    assert browser.get("/inbox").status_code == 200 and browser.get("/api/v1/me", headers=headers).status_code == 200

    assert admin_post(admin_client, f"/admin/users/{user.id}/{action}").status_code in (200, 302)
    assert goes_to_login(browser.get("/inbox"))  # the very next request
    assert browser.get("/api/v1/me", headers=headers).status_code == 401
    with transaction(db) as s:
        reasons = {r.ended_reason for r in s.exec(select(LoginSession).where(LoginSession.user_id == user.id))}
    assert reasons == {reason}


def test_a_disabled_account_cannot_log_in_and_is_told_nothing_more_than_a_wrong_password(app, make, admin_client):
    user = make.user("county", username="yx_clerk")
    admin_post(admin_client, f"/admin/users/{user.id}/disable")
    refused = token_request(app.test_client(), "yx_clerk", PASSWORD)
    wrong = token_request(app.test_client(), "yx_clerk", "Wrong-pass-1")
    assert refused.status_code == wrong.status_code == 401 and refused.json == wrong.json
    admin_post(admin_client, f"/admin/users/{user.id}/enable")
    assert token_request(app.test_client(), "yx_clerk", PASSWORD).status_code == 200


# --- lockout and enumeration -----------------------------------------------------------------------------------


def test_an_unknown_username_locks_like_a_real_one(make, app, db, now):
    """Five failures lock a real account; an unknown name answers "locked" too, so the lock tells nothing."""
    make.user("county", username="yx_clerk")
    with time_machine.travel(now, tick=False) as traveller:
        for name in ("yx_clerk", "no_such_clerk"):
            client = app.test_client()
            answers = [token_request(client, name, f"Wrong-pass-{i}").json for i in range(7)]
            assert [a["error"] for a in answers] == ["bad_credentials"] * 5 + ["locked"] * 2
            page = login(app.test_client(), name, PASSWORD)
            assert page.status_code == 401 and "账户已被锁定" in page.get_data(as_text=True)
        real = [token_request(app.test_client(), n, "x").json for n in ("yx_clerk", "no_such_clerk")]
        assert real[0] == real[1]
        traveller.shift(timedelta(minutes=15))
        assert token_request(app.test_client(), "yx_clerk", PASSWORD).status_code == 200
        assert token_request(app.test_client(), "no_such_clerk", "x").json["error"] == "bad_credentials"
    assert len(events(db, "lockout")) == 1  # only a real account's lock is an event of its own


def test_a_password_typed_into_the_username_field_is_kept_nowhere(make, app, db, database_url):
    """A name that names no account (often a password typed in the wrong field) is recorded as a placeholder and
    a keyed pseudonym: the same name gives the same pseudonym, so repeated guesses show as one; a real account's
    name is recorded as it is."""
    make.user("county", username="yx_clerk")
    secret = "Wo-de-mima-2026!"
    for name in (secret, secret, "someone_else", "yx_clerk"):
        assert login(app.test_client(), name, "Wrong-pass-1").status_code == 401
    failed = [json.loads(e.data) for e in events(db, "login_failed")]
    assert failed[:3] == [
        {"username": "（无此账户）", "pseudonym": username_pseudonym(secret), "reason": "unknown_user"},
        {"username": "（无此账户）", "pseudonym": username_pseudonym(secret), "reason": "unknown_user"},
        {"username": "（无此账户）", "pseudonym": username_pseudonym("someone_else"), "reason": "unknown_user"}]
    assert failed[3] == {"username": "yx_clerk", "reason": "bad_password"}
    assert len(username_pseudonym(secret)) == 32 and username_pseudonym(secret) != username_pseudonym("someone_else")
    with transaction(db) as s:  # the whole database, as text: the typed password is nowhere
        conn = s.connection()
        tables = sa.inspect(conn).get_table_names()
        dump = "\n".join(str(row) for t in tables for row in conn.exec_driver_sql(f'SELECT * FROM "{t}"'))
    assert secret not in dump and hashlib.sha256(secret.encode()).hexdigest() not in dump
    assert f"unknown-user:{username_pseudonym(secret)}" in dump  # the lock of an unknown name is kept by pseudonym


def test_the_pseudonym_is_keyed_by_the_secret_key(make, apps):
    """Without the key the pseudonym cannot be recomputed from a guessed password list."""
    apps(SECRET_KEY="one-secret-key-0123456789abcdefghijklmnop")
    first = username_pseudonym("Wo-de-mima-2026!")
    apps(SECRET_KEY="another-secret-key-0123456789abcdefghijklm")
    assert username_pseudonym("Wo-de-mima-2026!") != first


def test_an_unknown_user_takes_as_long_to_refuse_as_a_wrong_password(make, apps):
    """Both verify an argon2id hash at the same settings; the medians stay within a factor of two."""
    make.user("county", username="yx_clerk")
    client = apps(LOGIN_RATE_LIMIT=0).test_client()
    timings: dict[str, list[float]] = {"wrong": [], "unknown": []}
    for i in range(12):
        for kind, name in (("wrong", "yx_clerk"), ("unknown", f"nobody_{i}")):
            started = time.perf_counter()
            response = token_request(client, name, "Wrong-pass-1")
            timings[kind].append(time.perf_counter() - started)
            assert response.status_code == 401
    wrong, unknown = statistics.median(timings["wrong"]), statistics.median(timings["unknown"])
    assert 0.5 < unknown / wrong < 2.0, timings
    assert wrong > 0.005  # a real hash was verified, not a shortcut


# --- the per-address limit on login and token requests --------------------------------------------------------


def test_too_many_login_attempts_from_one_address_get_429_for_a_minute(make, apps, db, now):
    make.user("county", username="yx_clerk")
    app = apps(LOGIN_RATE_LIMIT=5)
    with time_machine.travel(now, tick=False) as traveller:
        client = app.test_client()
        for i in range(3):
            assert login(client, f"guess_{i}", "Wrong-pass-1").status_code == 401
        assert token_request(client, "yx_clerk", "Wrong-pass-1").status_code == 401
        assert token_request(client, "yx_clerk", PASSWORD).status_code == 200  # the 5th, right: still counted
        refused = token_request(client, "yx_clerk", PASSWORD)
        assert refused.status_code == 429 and refused.json["error"] == "too_many_requests"
        assert refused.headers["Retry-After"] == "60"
        page = login(client, "yx_clerk")
        assert page.status_code == 429 and "请求过于频繁" in page.get_data(as_text=True)
        # another address is not held back
        other = token_request(app.test_client(), "yx_clerk", PASSWORD, environ_base={"REMOTE_ADDR": "10.0.0.8"})
        assert other.status_code == 200
        traveller.shift(timedelta(minutes=1))
        assert token_request(client, "yx_clerk", PASSWORD).status_code == 200
    limited = events(db, "login_rate_limited")
    assert len(limited) == 1 and limited[0].ip == "127.0.0.1"  # the first refusal is audited, not each one
    with transaction(db) as s:  # refused attempts did not reach the password check
        failed = s.exec(select(sa.func.count()).select_from(AuditEvent).where(AuditEvent.kind == "login_failed")).one()
    assert failed == 4


def test_the_limit_is_shared_by_every_worker_process(make, apps, now):
    """Counted in the database: two application instances (two gunicorn workers) see one count."""
    make.user("county", username="yx_clerk")
    workers = [apps(LOGIN_RATE_LIMIT=4).test_client() for _ in range(2)]
    with time_machine.travel(now, tick=False):
        statuses = [token_request(workers[i % 2], "yx_clerk", PASSWORD).status_code for i in range(6)]
    assert statuses == [200, 200, 200, 200, 429, 429]


def test_a_made_up_x_forwarded_for_does_not_escape_the_limit(make, apps, now):
    make.user("county", username="yx_clerk")
    direct, proxied = apps(LOGIN_RATE_LIMIT=2), apps(LOGIN_RATE_LIMIT=2, PROXIES=1)
    with time_machine.travel(now, tick=False):
        statuses = [token_request(direct.test_client(), "yx_clerk", PASSWORD,
                                  headers={"X-Forwarded-For": f"198.51.100.{i}"}).status_code for i in range(3)]
        assert statuses == [200, 200, 429]
        # behind the configured proxy each client address counts on its own
        statuses = [token_request(proxied.test_client(), "yx_clerk", PASSWORD,
                                  headers={"X-Forwarded-For": f"198.51.100.{i}"}).status_code for i in range(3)]
        assert statuses == [200, 200, 200]


# --- passwords -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("password, mlps, asvs", [
    ("Yqzyz2026", [], ["at least 12 characters"]),
    ("Password2026!", ["a common or breached password: choose one that is harder to guess"],
     ["a common or breached password: choose one that is harder to guess"]),
    ("zhangwei19900101", ["use at least three of: lower case, upper case, digits, symbols",
                          "a common or breached password: choose one that is harder to guess"],
     ["a common or breached password: choose one that is harder to guess"]),
    ("correct horse battery", ["use at least three of: lower case, upper case, digits, symbols"], []),
    ("yangquanzhuanyezhen", ["use at least three of: lower case, upper case, digits, symbols"], []),
    ("阳泉专业镇高质量发展领导小组", ["use at least three of: lower case, upper case, digits, symbols"], []),
    ("short", ["at least 8 characters", "use at least three of: lower case, upper case, digits, symbols"],
     ["at least 12 characters"]),
    ("x" * 129, ["use at least three of: lower case, upper case, digits, symbols", "at most 128 characters"],
     ["at most 128 characters"]),
])
def test_the_two_password_profiles(password, mlps, asvs):
    assert [p["en"] for p in password_problems(password, MLPS)] == mlps
    assert [p["en"] for p in password_problems(password, ASVS)] == asvs
    assert (MLPS.max_age, ASVS.max_age) == (timedelta(days=90), None)


def test_an_unknown_password_policy_stops_the_start(database_url, tmp_path):
    from webapp import create_app
    from webapp.config import ConfigError

    with pytest.raises(ConfigError, match="ZYZ_PASSWORD_POLICY"):
        create_app(app_config(database_url, tmp_path, PASSWORD_POLICY="none"))


def english(client) -> None:
    """Switch this browser to English (the pages' texts are checked in their msgid language)."""
    client.post("/language", data={"lang": "en", "csrf_token": csrf_token(client, "/password")})


def change_password(client, current, new):
    return client.post("/password", data={"current": current, "new": new, "confirm": new,
                                          "csrf_token": csrf_token(client, "/password")})


def test_the_asvs_profile_takes_a_long_passphrase_and_never_forces_a_change(make, apps, db, now):
    app = apps(PASSWORD_POLICY="asvs")
    user = make.user("county", username="yx_clerk")
    client = app.test_client()
    with time_machine.travel(now + timedelta(days=400), tick=False):
        assert login(client, "yx_clerk").status_code == 302
        assert client.get("/inbox").status_code == 200  # 400 days old, no change asked
        english(client)
        assert "At least 12 characters; a passphrase" in client.get("/password").get_data(as_text=True)
        short = change_password(client, PASSWORD, "eleven char")
        assert short.status_code == 422 and "at least 12 characters" in short.get_data(as_text=True)
        assert change_password(client, PASSWORD, "yangquan towns passphrase").status_code == 302
    assert login(app.test_client(), "yx_clerk", "yangquan towns passphrase").status_code == 302
    assert events(db, "password_expired") == [] and user.id


def test_the_mlps_profile_forces_a_change_of_a_password_older_than_ninety_days(make, app, db, now):
    make.user("county", username="yx_clerk")
    with time_machine.travel(now + timedelta(days=89, hours=23), tick=False):
        fresh = app.test_client()
        assert login(fresh, "yx_clerk").status_code == 302
        assert fresh.get("/inbox").status_code == 200
    with time_machine.travel(now + timedelta(days=90), tick=False):
        client = app.test_client()
        assert login(client, "yx_clerk").status_code == 302
        assert client.get("/inbox").headers["Location"] == "/password"
        english(client)
        page = client.get("/password").get_data(as_text=True)
        assert "At least 8 characters, using at least three of" in page
        assert "A password must be changed every 90 days." in page
        refused = token_request(app.test_client(), "yx_clerk", PASSWORD)
        assert refused.status_code == 403 and refused.json["error"] == "password_change_required"
        assert change_password(client, PASSWORD, NEW_PASSWORD).status_code == 302
        again = app.test_client()
        assert login(again, "yx_clerk", NEW_PASSWORD).status_code == 302
        assert again.get("/inbox").status_code == 200
        assert token_request(app.test_client(), "yx_clerk", NEW_PASSWORD).status_code == 200
    expired = events(db, "password_expired")
    assert len(expired) == 1 and expired[0].actor_name == "county用户"


def test_an_initial_password_gives_no_api_token_until_it_is_changed(make, app, db):
    make.user("county", username="yx_new", must_change_password=True)
    refused = token_request(app.test_client(), "yx_new", PASSWORD)
    assert refused.status_code == 403 and refused.json["error"] == "password_change_required"
    assert refused.json["message"]["en"].startswith("Change the password on the web pages")
    with transaction(db) as s:
        assert s.exec(select(LoginSession)).all() == []  # no token was made
    assert json.loads(events(db, "login_failed")[-1].data)["reason"] == "password_change_required"


def test_wrong_current_passwords_count_as_failed_logins_and_lock_the_account(make, app, db, now):
    """Someone holding a session cannot guess the password on the password page: each wrong current password
    is a failed login (audited, counted), the fifth locks the account, and the lock holds there and at the login."""
    user = make.user("county", username="yx_clerk")
    with time_machine.travel(now, tick=False) as traveller:
        client = app.test_client()
        assert login(client, "yx_clerk").status_code == 302
        answers = [change_password(client, f"Wrong-pass-{i}", NEW_PASSWORD) for i in range(5)]
        assert [a.status_code for a in answers] == [422] * 5
        assert "当前密码不正确" in answers[0].get_data(as_text=True)
        locked = change_password(client, PASSWORD, NEW_PASSWORD)  # the right one, too late
        assert locked.status_code == 422
        assert "账户已被锁定，请稍后再试或联系管理员。" in locked.get_data(as_text=True)
        page = login(app.test_client(), "yx_clerk", PASSWORD)
        assert page.status_code == 401 and "账户已被锁定，请稍后再试或联系管理员。" in page.get_data(as_text=True)
        traveller.shift(timedelta(minutes=15))
        assert change_password(client, PASSWORD, NEW_PASSWORD).status_code == 302
    by_form = {"username": "yx_clerk", "via": "password_change"}
    assert [json.loads(e.data) for e in events(db, "login_failed")] == (
        [{**by_form, "reason": "bad_password"}] * 5 + [{**by_form, "reason": "locked"}]
        + [{"username": "yx_clerk", "reason": "locked"}])
    assert {(e.actor_id, e.ip) for e in events(db, "login_failed")} == {(user.id, "127.0.0.1")}
    lockout = events(db, "lockout")
    assert [(e.actor_id, json.loads(e.data)) for e in lockout] == [
        (user.id, {"until": str(now + timedelta(minutes=15))})]
    with transaction(db) as s:
        row = s.get(User, user.id)
        assert (row.failed_logins, row.locked_until) == (0, None)


def test_password_changes_count_towards_the_per_address_login_limit(make, apps, db, now):
    make.user("county", username="yx_clerk")
    app = apps(LOGIN_RATE_LIMIT=4)
    with time_machine.travel(now, tick=False):
        client = app.test_client()
        assert login(client, "yx_clerk").status_code == 302  # the 1st attempt of the minute
        assert [change_password(client, f"Wrong-pass-{i}", NEW_PASSWORD).status_code for i in range(3)] == [422] * 3
        refused = change_password(client, "Wrong-pass-4", NEW_PASSWORD)
        assert refused.status_code == 429 and refused.headers["Retry-After"] == "60"
        assert "请求过于频繁，请稍后再试。" in refused.get_data(as_text=True)
        assert login(app.test_client(), "yx_clerk").status_code == 429  # the login shares the count
    assert len(events(db, "login_failed")) == 3  # the refused attempt did not reach the password check
    assert len(events(db, "login_rate_limited")) == 1


def test_a_common_password_set_before_the_check_must_be_changed_at_the_next_login(make, client, db):
    """An account whose password was set before the list knew it (or was imported) logs in, and is sent to the
    password page first; the API gives it no token until then (ASVS 2.1.7: checked at login too)."""
    user = make.user("county", username="yx_clerk")
    with transaction(db) as s:
        s.connection().execute(sa.update(User.__table__).where(User.__table__.c.id == user.id)
                               .values(password_hash=generate_password_hash("Woaini1314!")))
    page = login(client, "yx_clerk", "Woaini1314!")
    assert page.status_code == 302
    inbox = client.get(page.headers["Location"])
    assert inbox.status_code == 302 and inbox.headers["Location"].startswith("/password")
    assert [e.actor_id for e in events(db, "password_common")] == [user.id]
    with transaction(db) as s:
        assert s.get(User, user.id).must_change_password is True
    refused = token_request(client, "yx_clerk", "Woaini1314!")
    assert refused.status_code == 403 and refused.json["error"] == "password_change_required"
    assert len(events(db, "password_common")) == 1  # asked once; the change itself is what remains


@pytest.mark.parametrize("method", ["pbkdf2:sha256:600000", "pbkdf2:sha256:260000", "scrypt"])
def test_a_legacy_hash_is_replaced_by_argon2id_at_the_first_successful_login(make, client, db, method):
    user = make.user("county", username="yx_clerk")
    legacy = generate_password_hash(PASSWORD, method=method)
    with transaction(db) as s:
        s.connection().execute(sa.update(User.__table__).where(User.__table__.c.id == user.id)
                               .values(password_hash=legacy))
    assert token_request(client, "yx_clerk", "Wrong-pass-1").status_code == 401
    with transaction(db) as s:
        assert s.get(User, user.id).password_hash == legacy  # a failed login changes nothing
    assert token_request(client, "yx_clerk", PASSWORD).status_code == 200
    with transaction(db) as s:
        upgraded = s.get(User, user.id).password_hash
    assert upgraded.startswith("$argon2id$v=19$m=19456,t=2,p=1$")
    assert token_request(client, "yx_clerk", PASSWORD).status_code == 200
    assert [e.actor_id for e in events(db, "password_rehashed")] == [user.id]


@pytest.mark.parametrize("stored", ["plain-text-password", "md5$x$" + "0" * 32, "pbkdf2:md5:1000$salt$00",
                                    "scrypt:1:1$salt$00", "", "$argon2id$garbage"])
def test_an_unknown_or_broken_stored_hash_never_matches(make, client, db, stored):
    user = make.user("county", username="yx_clerk")
    with transaction(db) as s:
        s.connection().execute(sa.update(User.__table__).where(User.__table__.c.id == user.id)
                               .values(password_hash=stored))
    for attempt in {PASSWORD, stored, "plain-text-password"} - {""}:
        response = token_request(client, "yx_clerk", attempt)
        assert response.status_code == 401 and "Traceback" not in response.get_data(as_text=True)


# --- the production start ---------------------------------------------------------------------------------------

SECRET_KEY = "Jf3q-9xKwB2mZtY7vLr0_Hs5NdUe8GcP1aQoXiVy4Tk"
AUDIT_KEY = "u7Rk2Wn-Zb9EfQx4Lm0_TdYs3HcVa8PjNgK5oXi1By6"
GOOD_PRODUCTION = {"ZYZ_ENV": "production", "SECRET_KEY": SECRET_KEY, "AUDIT_HMAC_KEY": AUDIT_KEY, "TESTING": False}
WEAK_KEYS = {
    "dev-secret-change-me": "it is a known default value",
    "dev-audit-anchor-key-change-me": "it is a known default value",
    "": "it has fewer than 32 characters",
    "short-but-not-default": "it has fewer than 32 characters",
    "a" * 32: "it has fewer than 12 different characters",
    "0123456789" * 4: "it has fewer than 12 different characters",
    "0123456789abcdef" * 3: "it repeats one piece",
}


@pytest.mark.parametrize("change, message", [
    ({"SECRET_KEY": "dev-secret-change-me"}, "ZYZ_SECRET_KEY"),
    ({"SECRET_KEY": ""}, "ZYZ_SECRET_KEY"),
    ({"SECRET_KEY": "short-but-not-default"}, "ZYZ_SECRET_KEY"),
    ({"DEBUG": True}, "debug"),
])
def test_a_production_start_refuses_the_default_secret_key_and_debug_mode(database_url, tmp_path, change, message):
    from webapp import create_app
    from webapp.config import ConfigError

    with pytest.raises(ConfigError, match=message):
        create_app({"DATABASE_URL": database_url, "UPLOAD_DIR": str(tmp_path), **GOOD_PRODUCTION, **change})


def test_a_production_start_with_a_real_secret_works_and_a_debug_flag_from_the_environment_is_refused(
        database_url, tmp_path, monkeypatch):
    from webapp import create_app
    from webapp.config import ConfigError

    app = create_app({"DATABASE_URL": database_url, "UPLOAD_DIR": str(tmp_path), **GOOD_PRODUCTION})
    assert app.config["ZYZ_ENV"] == "production" and not app.debug
    app.extensions["zyz"]["engine"].dispose()
    monkeypatch.setenv("FLASK_DEBUG", "1")  # `flask --debug` and FLASK_DEBUG turn DEBUG on
    with pytest.raises(ConfigError, match="debug"):
        create_app({"DATABASE_URL": database_url, "UPLOAD_DIR": str(tmp_path), **GOOD_PRODUCTION})


@pytest.mark.parametrize("setting, variable", [("SECRET_KEY", "ZYZ_SECRET_KEY"),
                                               ("AUDIT_HMAC_KEY", "ZYZ_AUDIT_HMAC_KEY")])
@pytest.mark.parametrize("key", list(WEAK_KEYS))
def test_a_production_start_refuses_a_guessable_key(setting, variable, key):
    from webapp.config import ConfigError, check_production

    with pytest.raises(ConfigError) as refused:
        check_production({**GOOD_PRODUCTION, setting: key})
    assert str(refused.value).startswith(f"{variable} must be a random value of at least 32 characters in production")
    assert f"({WEAK_KEYS[key]})" in str(refused.value)
    assert "secrets.token_urlsafe(48)" in str(refused.value)


def test_a_production_start_takes_random_keys_and_refuses_the_secret_key_as_the_audit_key():
    import secrets

    from webapp.config import ConfigError, check_production

    check_production({**GOOD_PRODUCTION, "SECRET_KEY": secrets.token_urlsafe(48),
                      "AUDIT_HMAC_KEY": secrets.token_hex(32)})
    with pytest.raises(ConfigError, match=r"^ZYZ_AUDIT_HMAC_KEY .* \(it is the secret key\)"):
        check_production({**GOOD_PRODUCTION, "AUDIT_HMAC_KEY": SECRET_KEY})


@pytest.mark.parametrize("value, name", [
    (None, "development"), ("development", "development"), (" Demo ", "demo"), ("TEST", "test"),
    ("\tDevelopment\n", "development"), ("production", "production"), (" Production ", "production"),
    ("prod", "production"), ("PRODUCTION", "production"), ("staging", "production"), ("", "production"),
    ("dev", "production"), ("testing", "production"),
])
def test_any_zyz_env_but_development_demo_or_test_is_production(database_url, tmp_path, monkeypatch, value, name):
    """However ZYZ_ENV is spelt, a value that is not one of the three others is production: the safeguards hold."""
    from webapp import create_app
    from webapp.config import ConfigError

    if value is None:
        monkeypatch.delenv("ZYZ_ENV", raising=False)
    else:
        monkeypatch.setenv("ZYZ_ENV", value)
    settings = {"DATABASE_URL": database_url, "UPLOAD_DIR": str(tmp_path), "TESTING": False}
    if name == "production":
        with pytest.raises(ConfigError, match=r"^ZYZ_SECRET_KEY must be a random value"):
            create_app(settings)  # the default (development) secret key
        settings |= {"SECRET_KEY": SECRET_KEY, "AUDIT_HMAC_KEY": AUDIT_KEY}
    app = create_app(settings)
    assert app.config["ZYZ_ENV"] == name
    app.extensions["zyz"]["engine"].dispose()


@pytest.fixture
def served(monkeypatch):
    """The addresses `zyz serve` would listen on (the server itself is not started)."""
    import werkzeug.serving

    hosts: list[str] = []
    monkeypatch.setattr(werkzeug.serving, "run_simple", lambda host, port, app, **kwargs: hosts.append(host))
    return hosts


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.168.1.20", "zyz.example.gov.cn", "127.0.0.2"])
def test_serve_with_the_default_secret_key_refuses_any_address_but_this_computer(run_zyz, served, host):
    refused = run_zyz("serve", "--host", host, env={"ZYZ_SECRET_KEY": None})
    assert refused.exit_code == 2 and served == []
    assert refused.output == (
        f"error: 使用默认（开发）密钥时只能监听本机地址（127.0.0.1、::1、localhost），不能监听 {host}："
        "请先将 ZYZ_SECRET_KEY 设为随机值 / with the default (development) secret key the server listens on this "
        f"computer only (127.0.0.1, ::1, localhost), not on {host}: set ZYZ_SECRET_KEY to a random value first\n")


def test_serve_with_the_default_secret_key_listens_on_this_computer_and_with_a_real_one_anywhere(run_zyz, served):
    for host in ("127.0.0.1", "::1", "localhost"):
        assert run_zyz("serve", "--host", host, env={"ZYZ_SECRET_KEY": None}).exit_code == 0
    assert run_zyz("serve", env={"ZYZ_SECRET_KEY": None}).exit_code == 0  # 127.0.0.1 unless told otherwise
    assert run_zyz("serve", "--host", "0.0.0.0", env={"ZYZ_SECRET_KEY": SECRET_KEY}).exit_code == 0
    assert served == ["127.0.0.1", "::1", "localhost", "127.0.0.1", "0.0.0.0"]


def test_the_demo_with_the_default_secret_key_is_served_on_this_computer_only(run_zyz, served):
    refused = run_zyz("demo", "--host", "0.0.0.0", env={"ZYZ_SECRET_KEY": None})
    assert refused.exit_code == 2 and served == []
    assert "不能监听 0.0.0.0" in refused.output and "set ZYZ_SECRET_KEY to a random value first" in refused.output
