"""Two-step verification (workflow.accounts.second_factor): enrolment with a QR code drawn on the server, the code
after the password on the login page and in the token request, codes that work once and count towards the lockout
and the per-address limit, recovery codes, the per-role policy with its grace period, and the administrator's
reset."""

from __future__ import annotations

import json
import re
from contextlib import closing
from datetime import timedelta
from urllib.parse import parse_qs, unquote, urlsplit

import pyotp
import pytest
import sqlalchemy as sa
import time_machine
from sqlmodel import select

from conftest import PASSWORD, csrf_token, login
from notifications.errors import DeliveryError
from notifications.settings import SmsSettings
from notifications.sms import ConsoleSms
from webapp.config import ConfigError, factor_policy
from workflow.accounts import second_factor
from workflow.accounts.auth import WrongCurrentPassword, start_session
from workflow.core.db import one_action, transaction
from workflow.core.errors import AuthError, Conflict, Forbidden, Unprocessable
from workflow.core.models import AuditEvent, LoginSession, RecoveryCode, SecondFactor, User

WRONG_OR_USED = "动态验证码不正确或已使用。"




@pytest.fixture
def clock(now):
    with time_machine.travel(now, tick=False) as traveller:
        yield traveller


def enrol(db, make, user: User, now) -> tuple[str, list[str]]:
    """Turn the second factor on for `user` as the enrolment page does; its secret and recovery codes."""
    with transaction(db) as s:
        secret = second_factor.begin_enrolment(s, user=s.get(User, user.id), now=now, actor=make.actor(user))
    with transaction(db) as s:
        codes = second_factor.confirm_enrolment(s, user=s.get(User, user.id), code=pyotp.TOTP(secret).at(now),
                                                now=now, actor=make.actor(user))
    return secret, codes


def events(db, kind: str) -> list[AuditEvent]:
    with transaction(db) as s:
        return list(s.exec(select(AuditEvent).where(AuditEvent.kind == kind).order_by(AuditEvent.seq)))


def user_row(db, user_id: int) -> User:
    with transaction(db) as s:
        return s.get(User, user_id)


def send_code(client, code: str, next_url: str = ""):
    return client.post("/login/code" + (f"?next={next_url}" if next_url else ""),
                       data={"code": code, "csrf_token": csrf_token(client, "/login/code")})


def token_request(client, username: str, password: str = PASSWORD, **fields):
    return client.post("/api/v1/auth/token", json={"username": username, "password": password, **fields})


def page_post(client, url: str, data: dict | None = None, form_page: str = "/account/two-step"):
    return client.post(url, data={**(data or {}), "csrf_token": csrf_token(client, form_page)})


# --- enrolment -------------------------------------------------------------------------------------------------


def test_the_enrolment_page_draws_the_qr_code_itself_and_the_first_right_code_turns_it_on(make, client, db, now,
                                                                                          clock):
    user = make.user("office", username="gx_office")
    assert login(client, "gx_office").status_code == 302
    page = client.get("/account/two-step").get_data(as_text=True)
    assert "设置两步验证" in page and "data:image/svg+xml" not in page  # nothing made before asked for

    assert page_post(client, "/account/two-step/start").headers["Location"] == "/account/two-step"
    page = client.get("/account/two-step").get_data(as_text=True)
    with transaction(db) as s:
        row = s.exec(select(SecondFactor).where(SecondFactor.user_id == user.id)).one()
    secret = row.totp_secret
    assert re.fullmatch(r"[A-Z2-7]{32}", secret) and row.confirmed_at is None
    assert f'<code class="secret">{secret}</code>' in page
    images = re.findall(r'<img class="qr" src="([^"]+)"', page)
    assert len(images) == 1 and images[0].startswith("data:image/svg+xml")  # drawn here: no request leaves
    svg = unquote(images[0].replace("&amp;", "&").split(",", 1)[1])
    assert svg.startswith("<svg ") and "http" not in svg.replace("http://www.w3.org/2000/svg", "")
    issuer = "%E9%98%B3%E6%B3%89%E4%B8%93%E4%B8%9A%E9%95%87"  # 阳泉专业镇
    assert second_factor.provisioning_uri(user, secret) == (
        f"otpauth://totp/{issuer}:gx_office?secret={secret}&issuer={issuer}")

    wrong = page_post(client, "/account/two-step/confirm", {"code": "000000"})
    assert wrong.status_code == 422 and "验证码不正确" in wrong.get_data(as_text=True)
    shown = page_post(client, "/account/two-step/confirm", {"code": pyotp.TOTP(secret).at(now)})
    assert shown.status_code == 200
    codes = re.findall(r'<code class="secret">([a-z2-9]{5}-[a-z2-9]{5})</code>', shown.get_data(as_text=True))
    assert len(codes) == 10 and len(set(codes)) == 10
    with transaction(db) as s:
        stored = s.exec(select(RecoveryCode).where(RecoveryCode.user_id == user.id)).all()
        row = s.exec(select(SecondFactor).where(SecondFactor.user_id == user.id)).one()
    assert row.confirmed_at == now and row.last_step == int(now.timestamp()) // 30
    assert len(stored) == 10 and all(r.code_hash.startswith("$argon2id$") and r.used_at is None for r in stored)
    assert not any(code.replace("-", "") in r.code_hash for code in codes for r in stored)
    [enrolled] = events(db, "second_factor_enrolled")
    assert enrolled.actor_id == user.id and json.loads(enrolled.data) == {"method": "totp", "recovery_codes": 10}
    # the page now says it is on, and starting again is refused (a reset by the administrator comes first)
    page = client.get("/account/two-step").get_data(as_text=True)
    assert "两步验证自" in page and "剩余恢复码：10 个。" in page and "data:image/svg+xml" not in page
    again = page_post(client, "/account/two-step/start")
    assert again.status_code == 409


def test_an_enrolment_is_confirmed_only_by_a_code_of_its_own_secret(make, db, now):
    user = make.user("county", username="yx_clerk")
    with transaction(db) as s:
        first = second_factor.begin_enrolment(s, user=s.get(User, user.id), now=now, actor=make.actor(user))
    with transaction(db) as s:
        second = second_factor.begin_enrolment(s, user=s.get(User, user.id), now=now, actor=make.actor(user))
    assert first != second  # starting again replaces an unconfirmed secret
    with pytest.raises(Unprocessable) as refused, transaction(db) as s:
        second_factor.confirm_enrolment(s, user=s.get(User, user.id), code=pyotp.TOTP(first).at(now), now=now,
                                        actor=make.actor(user))
    assert refused.value.zh == "验证码不正确，请输入手机应用当前显示的 6 位数字。" and refused.value.details == [
        {"field": "code", "zh": "验证码不正确", "en": "wrong code"}]
    assert events(db, "second_factor_enrolled") == []


# --- the page login --------------------------------------------------------------------------------------------


def test_the_page_login_of_an_enrolled_user_asks_for_the_code_and_starts_the_session_only_after_it(
        make, client, db, now, clock):
    user = make.user("office", username="gx_office")
    secret, _codes = enrol(db, make, user, now - timedelta(minutes=5))
    token = csrf_token(client, "/login?next=/towns")
    asked = client.post("/login?next=/towns", data={"username": "gx_office", "password": PASSWORD,
                                                     "csrf_token": token})
    assert asked.status_code == 302 and urlsplit(asked.headers["Location"]).path == "/login/code"
    assert parse_qs(urlsplit(asked.headers["Location"]).query) == {"next": ["/towns"]}
    assert client.get("/inbox").headers["Location"].startswith("/login")  # not logged in yet
    with transaction(db) as s:
        assert s.exec(select(LoginSession).where(LoginSession.user_id == user.id)).all() == []
    page = client.get("/login/code")
    assert page.status_code == 200 and "身份验证器应用当前显示的 6 位动态验证码" in page.get_data(as_text=True)

    done = send_code(client, pyotp.TOTP(secret).at(now), next_url="/towns")
    assert done.status_code == 302 and done.headers["Location"] == "/towns"
    assert client.get("/inbox").status_code == 200
    [ok] = events(db, "login_ok")
    assert ok.actor_id == user.id and json.loads(ok.data) == {"via": "web", "factor": "totp"}
    assert user_row(db, user.id).last_login_at == now


def test_the_code_page_without_a_password_first_goes_back_to_the_login(make, client, db, now, clock):
    user = make.user("office", username="gx_office")
    enrol(db, make, user, now)
    assert client.get("/login/code").headers["Location"] == "/login"
    login(client, "gx_office")
    clock.shift(timedelta(minutes=6))  # five minutes to type the code
    assert client.get("/login/code").headers["Location"] == "/login"


def test_a_totp_code_works_once_and_the_next_one_works(make, client, app, db, now, clock):
    user = make.user("office", username="gx_office")
    secret, _codes = enrol(db, make, user, now - timedelta(minutes=5))
    code = pyotp.TOTP(secret).at(now)
    login(client, "gx_office")
    assert send_code(client, code).status_code == 302

    other = app.test_client()  # someone who saw the code typed, within its 30 seconds
    login(other, "gx_office")
    replayed = send_code(other, code)
    assert replayed.status_code == 401 and WRONG_OR_USED in replayed.get_data(as_text=True)
    assert json.loads(events(db, "login_failed")[-1].data) == {"username": "gx_office", "reason": "otp_reused",
                                                    "via": "second_factor"}
    assert user_row(db, user.id).failed_logins == 1
    clock.shift(timedelta(seconds=30))
    assert send_code(other, pyotp.TOTP(secret).at(now + timedelta(seconds=30))).status_code == 302
    assert user_row(db, user.id).failed_logins == 0


def test_an_older_code_than_the_last_one_used_is_refused_too(make, db, now):
    """Codes of the step before are taken (a clock a little off), but not once a later code has been used."""
    user = make.user("office", username="gx_office")
    secret, _codes = enrol(db, make, user, now - timedelta(minutes=5))
    totp = pyotp.TOTP(secret)
    with transaction(db) as s:
        assert second_factor.check_code(s, user=s.get(User, user.id), code=totp.at(now), ip=None, now=now) == "totp"
    with pytest.raises(AuthError) as refused, transaction(db) as s:
        second_factor.check_code(s, user=s.get(User, user.id), code=totp.at(now - timedelta(seconds=30)), ip=None,
                                 now=now)
    assert refused.value.code == "bad_otp"
    later = now + timedelta(seconds=30)
    with transaction(db) as s:  # a code spaced "123 456" as the app shows it
        shown = totp.at(later + timedelta(seconds=30))
        assert second_factor.check_code(s, user=s.get(User, user.id), code=f"{shown[:3]} {shown[3:]}", ip=None,
                                        now=later) == "totp"


def test_wrong_codes_count_towards_the_same_lockout_as_passwords_and_the_password_does_not_reset_it(
        make, client, db, now, clock):
    user = make.user("office", username="gx_office")
    secret, _codes = enrol(db, make, user, now - timedelta(minutes=5))
    assert login(client, "gx_office", "Wrong-pass-1").status_code == 401  # a wrong password: 1
    for failures in (2, 3, 4):  # the right password each time, then a wrong code
        assert login(client, "gx_office").headers["Location"].startswith("/login/code")
        wrong = send_code(client, "123456" if pyotp.TOTP(secret).at(now) != "123456" else "654321")
        assert wrong.status_code == 401
        assert user_row(db, user.id).failed_logins == failures
    login(client, "gx_office")
    locked = send_code(client, "abcde-fghij")  # the fifth failure: a recovery code that is none
    assert locked.status_code == 401
    row = user_row(db, user.id)
    assert row.locked_until == now + timedelta(minutes=15) and row.failed_logins == 0
    assert [json.loads(e.data)["until"] for e in events(db, "lockout")] == [str(now + timedelta(minutes=15))]
    reasons = [json.loads(e.data)["reason"] for e in events(db, "login_failed")]
    assert reasons == ["bad_password", "bad_otp", "bad_otp", "bad_otp", "bad_recovery_code"]
    # locked: neither the password nor the right code gets in
    assert login(client, "gx_office").status_code == 401
    assert client.get("/login/code").headers["Location"] == "/login"


def test_the_right_code_of_a_locked_account_is_refused(make, client, app, db, now, clock):
    user = make.user("office", username="gx_office")
    secret, _codes = enrol(db, make, user, now - timedelta(minutes=5))
    login(client, "gx_office")  # the password was right; meanwhile the account is locked from elsewhere
    with transaction(db) as s:
        s.get(User, user.id).locked_until = now + timedelta(minutes=10)
    refused = send_code(client, pyotp.TOTP(secret).at(now))
    assert refused.status_code == 401 and "账户已被锁定" in refused.get_data(as_text=True)
    assert json.loads(events(db, "login_failed")[-1].data) == {"username": "gx_office", "reason": "locked",
                                                    "via": "second_factor"}
    assert client.get("/login/code").headers["Location"] == "/login"  # back to the password


def test_codes_count_towards_the_per_address_login_limit(make, apps, db, now, clock):
    user = make.user("office", username="gx_office")
    secret, _codes = enrol(db, make, user, now - timedelta(minutes=5))
    client = apps(LOGIN_RATE_LIMIT=3).test_client()
    login(client, "gx_office")  # 1
    assert send_code(client, "000000").status_code == 401  # 2
    assert send_code(client, "000001").status_code == 401  # 3
    refused = send_code(client, pyotp.TOTP(secret).at(now))
    assert refused.status_code == 429 and refused.headers["Retry-After"] == "60"
    assert len(events(db, "login_failed")) == 2  # the refused attempt did not reach the check


def test_a_recovery_code_logs_in_once(make, client, app, db, now, clock):
    user = make.user("office", username="gx_office")
    _secret, codes = enrol(db, make, user, now - timedelta(minutes=5))
    login(client, "gx_office")
    done = send_code(client, codes[3].upper())  # as typed off paper, in capitals
    assert done.status_code == 302
    assert "您已使用恢复码登录，还剩 9 个。" in client.get(done.headers["Location"]).get_data(as_text=True)
    [used] = events(db, "recovery_code_used")
    assert used.actor_id == user.id and json.loads(used.data) == {"left": 9}
    assert json.loads(events(db, "login_ok")[-1].data) == {"via": "web", "factor": "recovery"}

    again = app.test_client()
    login(again, "gx_office")
    refused = send_code(again, codes[3])
    assert refused.status_code == 401 and WRONG_OR_USED in refused.get_data(as_text=True)
    assert json.loads(events(db, "login_failed")[-1].data)["reason"] == "bad_recovery_code"
    assert send_code(again, codes[4]).status_code == 302
    with transaction(db) as s:
        assert second_factor.recovery_codes_left(s, user.id) == 8


def test_a_session_is_never_started_for_an_enrolled_user_without_the_second_factor(make, db, now):
    user = make.user("office", username="gx_office")
    enrol(db, make, user, now)
    with pytest.raises(AuthError) as refused, transaction(db) as s:
        start_session(s, user=s.get(User, user.id), kind="web", ip=None, now=now)
    assert refused.value.code == "otp_required"


# --- the token -------------------------------------------------------------------------------------------------


def test_the_token_of_an_enrolled_user_takes_the_code_in_otp(make, client, db, now, clock):
    user = make.user("office", username="gx_office")
    secret, codes = enrol(db, make, user, now - timedelta(minutes=5))
    missing = token_request(client, "gx_office")
    assert missing.status_code == 401
    assert missing.json == {"error": "otp_required", "details": None, "message": {
        "zh": "该账户已启用两步验证：请在 otp 字段提供手机应用显示的动态验证码或一个恢复码。",
        "en": "Two-step verification is on for this account: send the app's one-time code or a recovery code in "
              "the otp field."}}
    assert user_row(db, user.id).failed_logins == 0  # nothing was guessed
    assert json.loads(events(db, "login_failed")[-1].data) == {"username": "gx_office", "reason": "otp_missing",
                                                                "via": "api"}

    wrong = token_request(client, "gx_office", otp="000000")
    assert wrong.status_code == 401 and wrong.json["error"] == "bad_otp"
    assert wrong.json["message"] == {"zh": WRONG_OR_USED, "en": "The one-time code is wrong or was already used."}
    assert user_row(db, user.id).failed_logins == 1
    wrong_password = token_request(client, "gx_office", "Wrong-pass-1", otp=pyotp.TOTP(secret).at(now))
    assert wrong_password.status_code == 401 and wrong_password.json["error"] == "bad_credentials"

    code = pyotp.TOTP(secret).at(now)
    issued = token_request(client, "gx_office", otp=code)
    assert issued.status_code == 200
    me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {issued.json['token']}"})
    assert me.status_code == 200 and me.json["username"] == "gx_office"
    assert json.loads(events(db, "login_ok")[-1].data) == {"via": "api", "factor": "totp"}
    assert user_row(db, user.id).failed_logins == 0
    reused = token_request(client, "gx_office", otp=code)
    assert reused.status_code == 401 and reused.json["error"] == "bad_otp"
    assert token_request(client, "gx_office", otp=codes[0]).status_code == 200
    assert token_request(client, "gx_office", otp=codes[0]).status_code == 401


def test_a_user_without_a_second_factor_gets_the_token_whatever_otp_says(make, client, db, clock):
    make.user("county", username="yx_clerk")
    assert token_request(client, "yx_clerk", otp="123456").status_code == 200
    assert token_request(client, "yx_clerk").status_code == 200


# --- the policy: who must enrol, and by when -------------------------------------------------------------------


def test_the_policy_is_off_outside_production_unless_configured_and_refuses_an_unknown_role():
    assert factor_policy({"ZYZ_ENV": "production"}) == second_factor.FactorPolicy(
        required_roles=frozenset({"office", "leader", "admin", "auditor"}), grace=timedelta(days=14))
    for env in ("test", "demo", "development"):
        assert factor_policy({"ZYZ_ENV": env}).required_roles == frozenset()
    assert factor_policy({"ZYZ_ENV": "test", "TWO_FACTOR_REQUIRED": " Office, county ",
                          "TWO_FACTOR_GRACE_DAYS": 3}) == second_factor.FactorPolicy(
        required_roles=frozenset({"office", "county"}), grace=timedelta(days=3))
    assert factor_policy({"ZYZ_ENV": "production", "TWO_FACTOR_REQUIRED": ""}).required_roles == frozenset()
    with pytest.raises(ConfigError, match="ZYZ_2FA_REQUIRED: unknown role 'clerk'"):
        factor_policy({"ZYZ_ENV": "test", "TWO_FACTOR_REQUIRED": "office,clerk"})


def test_the_grace_period_invites_then_after_it_only_the_enrolment_page_is_reachable(make, apps, db, now, clock):
    office = make.user("office", username="gx_office")
    make.user("county", username="yx_clerk")
    app = apps(TWO_FACTOR_REQUIRED="office,leader", TWO_FACTOR_GRACE_DAYS=7)

    county = app.test_client()  # a role the policy leaves out: nothing changes
    assert login(county, "yx_clerk").status_code == 302 and county.get("/inbox").status_code == 200

    browser = app.test_client()
    assert login(browser, "gx_office").status_code == 302
    [required] = events(db, "second_factor_required")
    assert required.actor_id == office.id and json.loads(required.data) == {"enrol_by": str(now + timedelta(days=7))}
    invited = browser.get("/inbox")  # once per login: to the enrolment page, which may be skipped
    assert invited.headers["Location"] == "/account/two-step?next=/inbox"
    page = browser.get(invited.headers["Location"]).get_data(as_text=True)
    assert "自 2026-12-04 10:00 起，您的账户须启用两步验证。" in page and 'href="/inbox">稍后再说</a>' in page
    assert browser.get("/inbox").status_code == 200  # skipped
    assert token_request(app.test_client(), "gx_office").status_code == 200  # within the grace period

    clock.shift(timedelta(days=7))
    late = app.test_client()
    assert login(late, "gx_office").status_code == 302
    for url in ("/inbox", "/towns", "/notifications"):
        response = late.get(url)
        assert response.status_code == 302 and response.headers["Location"] == "/account/two-step", url
    page = late.get("/account/two-step").get_data(as_text=True)
    assert "您的账户须启用两步验证。请完成设置后继续工作。" in page and "稍后再说" not in page
    refused = token_request(app.test_client(), "gx_office")
    assert refused.status_code == 403 and refused.json["error"] == "second_factor_enrolment_required"
    assert len(events(db, "second_factor_required")) == 1  # the deadline is set once

    assert page_post(late, "/account/two-step/start").status_code == 302
    with transaction(db) as s:
        secret = s.exec(select(SecondFactor.totp_secret).where(SecondFactor.user_id == office.id)).one()
    later = now + timedelta(days=7)
    assert page_post(late, "/account/two-step/confirm", {"code": pyotp.TOTP(secret).at(later)}).status_code == 200
    assert late.get("/inbox").status_code == 200


def test_a_token_issued_in_the_grace_period_ends_with_it(make, apps, db, now, clock):
    """Eight hours is a token's life; one asked ten minutes before the grace period ends lives ten minutes."""
    office = make.user("office", username="gx_office")
    app = apps(TWO_FACTOR_REQUIRED="office", TWO_FACTOR_GRACE_DAYS=7)
    assert login(app.test_client(), "gx_office").status_code == 302  # the grace period starts
    enrol_by = now + timedelta(days=7)
    early = token_request(app.test_client(), "gx_office")
    assert early.status_code == 200
    clock.shift(timedelta(days=7) - timedelta(minutes=10))
    late = token_request(app.test_client(), "gx_office")
    assert late.status_code == 200
    with transaction(db) as s:
        lifetimes = s.exec(select(LoginSession.expires_at).where(LoginSession.user_id == office.id,
                                                                 LoginSession.kind == "api")
                           .order_by(LoginSession.id)).all()
    assert lifetimes == [now + timedelta(hours=8), enrol_by]
    client = app.test_client()
    headers = {"Authorization": f"Bearer {late.json['token']}"}
    clock.shift(timedelta(minutes=9))
    assert client.get("/api/v1/me", headers=headers).status_code == 200
    clock.shift(timedelta(minutes=1))  # not idle (ten minutes), but the grace period is over
    assert client.get("/api/v1/me", headers=headers).status_code == 401


def test_a_page_reads_the_two_step_standing_once_a_login_and_the_clock_still_ends_the_grace(make, apps, db, now,
                                                                                             clock):
    office = make.user("office", username="gx_office")
    enrolled = make.user("office", username="gx_director")
    secret, _codes = enrol(db, make, enrolled, now)
    app = apps(TWO_FACTOR_REQUIRED="office", TWO_FACTOR_GRACE_DAYS=7)
    engine = app.extensions["zyz"]["engine"]
    statements: list[str] = []

    def count(conn, cursor, statement, parameters, context, executemany):
        if "second_factor" in statement or statement.startswith("SELECT seat.role \nFROM seat"):
            statements.append(statement)

    director = app.test_client()
    assert login(director, "gx_director").status_code == 302
    clock.shift(timedelta(seconds=30))
    assert send_code(director, pyotp.TOTP(secret).at(now + timedelta(seconds=30))).status_code == 302
    browser = app.test_client()
    assert login(browser, "gx_office").status_code == 302
    assert browser.get("/inbox").headers["Location"] == "/account/two-step?next=/inbox"  # invited once
    for client in (director, browser):
        assert client.get("/inbox").status_code == 200  # the standing read and kept
    sa.event.listen(engine, "before_cursor_execute", count)
    try:
        for client in (director, browser):
            for url in ("/inbox", "/towns", "/notifications"):
                assert client.get(url).status_code == 200, url
    finally:
        sa.event.remove(engine, "before_cursor_execute", count)
    assert statements == []

    clock.shift(timedelta(days=7) - timedelta(minutes=10))
    browser = app.test_client()
    assert login(browser, "gx_office").status_code == 302
    assert browser.get("/inbox").status_code == 302 and browser.get("/inbox").status_code == 200
    clock.shift(timedelta(minutes=10))  # the grace period ends during the login
    assert browser.get("/inbox").headers["Location"] == "/account/two-step"
    assert page_post(browser, "/account/two-step/start").status_code == 302
    with transaction(db) as s:
        late_secret = s.exec(select(SecondFactor.totp_secret).where(SecondFactor.user_id == office.id)).one()
    code = pyotp.TOTP(late_secret).at(now + timedelta(days=7, seconds=30))
    assert page_post(browser, "/account/two-step/confirm", {"code": code}).status_code == 200
    assert browser.get("/inbox").status_code == 200  # enrolled: what was kept is read again


def test_a_seat_of_a_required_role_makes_its_holder_required(make, db, now):
    """A member unit's officer who holds the office director's seat acts as the office: the office's rule."""
    from workflow.accounts import seats

    member = make.user("member", username="kj_officer")
    make.user("office", username="gx_office")  # the office's unit, which the seat acts for
    admin = make.user("admin", username="sysadmin")
    with transaction(db) as s:
        seat = seats.create_seat(s, actor=make.actor(admin), position="office_director", title="办公室主任",
                                 unit_id=member.unit_id, now=now)
        seats.assign(s, actor=make.actor(admin), seat_id=seat.id, user_id=member.id, now=now)
    policy = second_factor.FactorPolicy(required_roles=frozenset({"office"}))
    with transaction(db) as s:
        user = s.get(User, member.id)
        assert second_factor.roles_of(s, user) == {"member", "office"}
        assert second_factor.standing(s, user=user, factors=policy, now=now) == second_factor.Standing("grace")
        assert second_factor.standing(s, user=user, factors=second_factor.FactorPolicy(
            required_roles=frozenset({"leader"})), now=now) == second_factor.Standing("not_required")


# --- new recovery codes ----------------------------------------------------------------------------------------


def regenerate(db, make, user: User, password: str, now) -> list[str]:
    """New recovery codes as the page asks for them: a refusal that keeps its writes (the failed login) commits
    them, as the web layer does."""
    with closing(db()) as session, one_action(session):
        return second_factor.regenerate_recovery_codes(session, user=session.get(User, user.id), password=password,
                                                        now=now, actor=make.actor(user))


def stored_codes(db, user_id: int) -> list[tuple[str, object]]:
    with transaction(db) as s:
        rows = s.exec(select(RecoveryCode).where(RecoveryCode.user_id == user_id).order_by(RecoveryCode.id)).all()
        return [(r.code_hash, r.used_at) for r in rows]


def use_codes(db, user_id: int, count: int, now) -> None:
    """Mark the first `count` recovery codes used (as `count` logins with them would)."""
    table = RecoveryCode.__table__
    with transaction(db) as s:
        ids = s.exec(select(RecoveryCode.id).where(RecoveryCode.user_id == user_id)
                     .order_by(RecoveryCode.id).limit(count)).all()
        s.connection().execute(table.update().where(table.c.id.in_(ids)).values(used_at=now))


def test_new_recovery_codes_replace_every_old_one_and_each_new_one_works_once(make, db, now):
    user = make.user("office", username="gx_office")
    _secret, old = enrol(db, make, user, now - timedelta(minutes=5))
    with transaction(db) as s:
        assert second_factor.check_code(s, user=s.get(User, user.id), code=old[0], ip=None, now=now) == "recovery"
    later = now + timedelta(minutes=1)
    codes = regenerate(db, make, user, PASSWORD, later)
    assert len(codes) == 10 and len(set(codes)) == 10 and not set(codes) & set(old)
    assert all(re.fullmatch(r"[a-z2-9]{5}-[a-z2-9]{5}", code) for code in codes)
    stored = stored_codes(db, user.id)  # the used one went too: only the ten new ones are left
    assert len(stored) == 10 and all(h.startswith("$argon2id$") and used is None for h, used in stored)
    [event] = events(db, "recovery_codes_regenerated")
    assert event.actor_id == user.id and event.occurred_at == later
    assert json.loads(event.data) == {"discarded_unused": 9, "recovery_codes": 10}  # counts, never a code
    for old_code in old[1:3]:
        with pytest.raises(AuthError) as refused, transaction(db) as s:
            second_factor.check_code(s, user=s.get(User, user.id), code=old_code, ip=None, now=later)
        assert refused.value.code == "bad_otp"
    with transaction(db) as s:
        assert second_factor.check_code(s, user=s.get(User, user.id), code=codes[5], ip=None, now=later) == "recovery"
    with pytest.raises(AuthError), transaction(db) as s:
        second_factor.check_code(s, user=s.get(User, user.id), code=codes[5], ip=None, now=later)
    with transaction(db) as s:
        assert second_factor.recovery_codes_left(s, user.id) == 9


def test_a_wrong_password_is_a_failed_login_that_counts_towards_the_lock_and_keeps_the_old_codes(make, db, now):
    user = make.user("office", username="gx_office")
    _secret, old = enrol(db, make, user, now - timedelta(minutes=5))
    before = stored_codes(db, user.id)
    with pytest.raises(WrongCurrentPassword) as refused:
        regenerate(db, make, user, "Wrong-pass-1", now)
    assert refused.value.status == 422 and refused.value.zh == "当前密码不正确。"
    assert refused.value.details == [{"field": "password", "zh": "当前密码不正确",
                                      "en": "the current password is wrong"}]
    [failed] = events(db, "login_failed")
    assert failed.actor_id == user.id
    assert json.loads(failed.data) == {"username": "gx_office", "reason": "bad_password", "via": "recovery_codes"}
    assert user_row(db, user.id).failed_logins == 1
    for attempt in range(2, 6):  # the fifth wrong password locks the account, as at the login
        with pytest.raises(WrongCurrentPassword):
            regenerate(db, make, user, f"Wrong-pass-{attempt}", now)
    assert user_row(db, user.id).locked_until == now + timedelta(minutes=15)
    assert [json.loads(e.data) for e in events(db, "lockout")] == [{"until": str(now + timedelta(minutes=15))}]
    with pytest.raises(AuthError) as locked:  # locked: the right password is refused too
        regenerate(db, make, user, PASSWORD, now)
    assert locked.value.code == "locked"
    assert json.loads(events(db, "login_failed")[-1].data) == {"username": "gx_office", "reason": "locked",
                                                                "via": "recovery_codes"}
    assert stored_codes(db, user.id) == before and events(db, "recovery_codes_regenerated") == []
    with transaction(db) as s:
        assert second_factor.check_code(s, user=s.get(User, user.id), code=old[0], ip=None,
                                        now=now + timedelta(minutes=15)) == "recovery"


def test_without_two_step_verification_there_are_no_codes_to_replace_and_no_password_is_checked(make, db, now):
    user = make.user("county", username="yx_clerk")
    for password in (PASSWORD, "Wrong-pass-1"):
        with pytest.raises(Conflict) as refused:
            regenerate(db, make, user, password, now)
        assert refused.value.status == 409 and refused.value.zh == "两步验证尚未启用，没有可重新生成的恢复码。"
    with transaction(db) as s:  # set up but not yet confirmed: no codes either
        second_factor.begin_enrolment(s, user=s.get(User, user.id), now=now, actor=make.actor(user))
    with pytest.raises(Conflict):
        regenerate(db, make, user, PASSWORD, now)
    assert events(db, "login_failed") == [] and user_row(db, user.id).failed_logins == 0
    assert stored_codes(db, user.id) == [] and events(db, "recovery_codes_regenerated") == []


def test_the_page_counts_the_codes_left_warns_when_few_are_left_and_replaces_them_after_the_password(
        make, app, client, db, now, clock):
    user = make.user("office", username="gx_office")
    secret, old = enrol(db, make, user, now - timedelta(minutes=5))
    login(client, "gx_office")
    assert send_code(client, pyotp.TOTP(secret).at(now)).status_code == 302
    page = client.get("/account/two-step").get_data(as_text=True)
    assert "剩余恢复码：10 个。" in page and "恢复码仅剩" not in page and "恢复码已全部用完" not in page
    form = re.search(r'<form method="post" action="/account/two-step/recovery-codes" novalidate '
                     r'data-confirm="([^"]+)">.*?</form>', page, re.S)
    assert form and form.group(1) == "确定重新生成十个恢复码？原有恢复码（包括抄写或打印在纸上的）将立即全部失效。"
    assert 'name="csrf_token"' in form.group(0) and 'name="password" type="password"' in form.group(0)
    assert ">重新生成恢复码</button>" in form.group(0)

    use_codes(db, user.id, 8, now)
    page = client.get("/account/two-step").get_data(as_text=True)
    assert "剩余恢复码：2 个。" in page and "恢复码仅剩 2 个，请在用完之前于下方重新生成。" in page
    use_codes(db, user.id, 10, now)
    page = client.get("/account/two-step").get_data(as_text=True)
    assert "剩余恢复码：0 个。" in page and "恢复码已全部用完：手机不在身边时将无法登录。请在下方重新生成。" in page

    empty = page_post(client, "/account/two-step/recovery-codes", {"password": ""})
    assert empty.status_code == 422 and "请输入当前密码。" in empty.get_data(as_text=True)
    wrong = page_post(client, "/account/two-step/recovery-codes", {"password": "Wrong-pass-1"})
    assert wrong.status_code == 422 and '<p class="field-error" id="err-password">当前密码不正确</p>' in \
        wrong.get_data(as_text=True)
    assert json.loads(events(db, "login_failed")[-1].data)["via"] == "recovery_codes"
    assert user_row(db, user.id).failed_logins == 1 and events(db, "recovery_codes_regenerated") == []

    shown = page_post(client, "/account/two-step/recovery-codes", {"password": PASSWORD})
    body = shown.get_data(as_text=True)
    assert shown.status_code == 200 and "<h1>新的恢复码</h1>" in body and "原有的恢复码已全部失效。" in body
    codes = re.findall(r'<code class="secret">([a-z2-9]{5}-[a-z2-9]{5})</code>', body)
    assert len(codes) == 10 and len(set(codes)) == 10
    assert 'href="/account/two-step">继续</a>' in body
    assert json.loads(events(db, "recovery_codes_regenerated")[0].data) == {"discarded_unused": 0,
                                                                            "recovery_codes": 10}
    page = client.get("/account/two-step").get_data(as_text=True)  # still logged in; the warning is gone
    assert "剩余恢复码：10 个。" in page and "恢复码仅剩" not in page and "恢复码已全部用完" not in page
    assert not any(code in client.get("/account/two-step").get_data(as_text=True) for code in codes)  # shown once

    other = app.test_client()
    login(other, "gx_office")
    assert send_code(other, old[0]).status_code == 401  # an old code (used or not) is gone
    assert send_code(other, codes[0]).status_code == 302


def test_the_page_offers_no_new_codes_without_two_step_verification_and_refuses_them(make, client, db, now, clock):
    make.user("county", username="yx_clerk")
    login(client, "yx_clerk")
    page = client.get("/account/two-step").get_data(as_text=True)
    assert "设置两步验证" in page and "重新生成恢复码" not in page and "剩余恢复码" not in page
    refused = page_post(client, "/account/two-step/recovery-codes", {"password": PASSWORD})
    assert refused.status_code == 409
    assert "两步验证尚未启用，没有可重新生成的恢复码。" in refused.get_data(as_text=True)
    assert events(db, "recovery_codes_regenerated") == [] and events(db, "login_failed") == []


def test_new_codes_count_towards_the_per_address_login_limit(make, apps, db, now, clock):
    user = make.user("office", username="gx_office")
    secret, _codes = enrol(db, make, user, now - timedelta(minutes=5))
    client = apps(LOGIN_RATE_LIMIT=3).test_client()
    login(client, "gx_office")  # 1
    assert send_code(client, pyotp.TOTP(secret).at(now)).status_code == 302  # 2
    assert page_post(client, "/account/two-step/recovery-codes", {"password": "Wrong-pass-1"}).status_code == 422  # 3
    refused = page_post(client, "/account/two-step/recovery-codes", {"password": PASSWORD})
    assert refused.status_code == 429 and refused.headers["Retry-After"] == "60"
    assert len(events(db, "login_failed")) == 1 and events(db, "recovery_codes_regenerated") == []


# --- the administrator's reset ---------------------------------------------------------------------------------


def test_the_administrator_resets_a_second_factor_after_confirming_and_the_user_enrols_again(
        make, apps, db, now, clock):
    office = make.user("office", username="gx_office")
    administrator = make.user("admin", username="sysadmin")
    secret, _codes = enrol(db, make, office, now - timedelta(minutes=5))
    app = apps(TWO_FACTOR_REQUIRED="office")
    user_browser = app.test_client()
    login(user_browser, "gx_office")
    assert send_code(user_browser, pyotp.TOTP(secret).at(now)).status_code == 302
    admin = app.test_client()
    assert login(admin, "sysadmin").status_code == 302  # the administrator's role is not required here

    account = admin.get(f"/admin/users/{office.id}").get_data(as_text=True)
    assert f'href="/admin/users/{office.id}/reset-second-factor">重置两步验证</a>' in account
    confirm = admin.get(f"/admin/users/{office.id}/reset-second-factor")
    assert confirm.status_code == 200 and "此操作不可撤销" in confirm.get_data(as_text=True)
    assert events(db, "second_factor_reset") == []  # the page only asks

    done = page_post(admin, f"/admin/users/{office.id}/reset-second-factor", form_page="/admin/users")
    assert done.status_code == 302 and done.headers["Location"] == f"/admin/users/{office.id}"
    [reset] = events(db, "second_factor_reset")
    assert reset.actor_id == administrator.id
    assert json.loads(reset.data) == {"user_id": office.id, "username": "gx_office", "was_enrolled": True,
                                      "sessions_ended": 1}
    with transaction(db) as s:
        row = s.exec(select(SecondFactor).where(SecondFactor.user_id == office.id)).one()
        left = s.exec(select(sa.func.count()).select_from(RecoveryCode)).one()
    assert (row.totp_secret, row.confirmed_at, row.last_step, row.enrol_by_at, left) == (None, None, None, now, 0)
    assert user_browser.get("/inbox").headers["Location"].startswith("/login")  # logged out at once

    again = app.test_client()  # the password alone, then straight to the enrolment: no second grace period
    assert login(again, "gx_office").headers["Location"] == "/inbox"
    assert again.get("/inbox").headers["Location"] == "/account/two-step"


def test_the_administrator_cannot_reset_their_own_second_factor(make, db, now):
    admin = make.user("admin", username="sysadmin")
    enrol(db, make, admin, now)
    with pytest.raises(Forbidden) as refused, transaction(db) as s:
        second_factor.reset(s, actor=make.actor(admin), user_id=admin.id, now=now)
    assert refused.value.zh == "不能重置自己的两步验证，请联系另一位系统管理员。"
    office = make.user("office", username="gx_office")
    with pytest.raises(Forbidden) as refused, transaction(db) as s:
        second_factor.reset(s, actor=make.actor(office), user_id=admin.id, now=now)
    assert refused.value.zh == "只有系统管理员可以管理账户。"
    with transaction(db) as s:
        assert s.exec(select(SecondFactor.confirmed_at).where(SecondFactor.user_id == admin.id)).one() == now


def test_a_reset_with_nothing_to_reset_changes_nothing_and_says_so(make, app, db, now, clock):
    make.user("admin", username="sysadmin")
    county = make.user("county", username="yx_clerk")
    clerk = app.test_client()
    login(clerk, "yx_clerk")
    admin = app.test_client()
    login(admin, "sysadmin")
    done = page_post(admin, f"/admin/users/{county.id}/reset-second-factor", form_page="/admin/users")
    assert done.status_code == 302
    assert "该用户未设置两步验证，无需重置。" in admin.get(done.headers["Location"]).get_data(as_text=True)
    assert events(db, "second_factor_reset") == []
    assert clerk.get("/inbox").status_code == 200  # still logged in


# --- codes by SMS ----------------------------------------------------------------------------------------------

MOBILE = "13812345678"


class FailingSms:
    name = "failing"

    def send(self, **_message):
        raise DeliveryError("gateway HTTP 503", transient=True)


@pytest.fixture
def sms(app):
    """The SMS gateway the app sends login codes through, keeping what it was given (nothing leaves)."""
    gateway = ConsoleSms(SmsSettings())
    app.extensions["zyz"]["sms_gateway"] = gateway
    return gateway


def last_code(gateway) -> str:
    mobile, text = gateway.sent[-1]
    assert mobile == MOBILE
    match = re.fullmatch(r"您的登录验证码为(\d{6})，5分钟内有效。如非本人操作，请忽略本短信并尽快修改密码。", text)
    assert match, text
    return match.group(1)


def test_a_user_without_an_app_enrols_with_sms_codes_and_logs_in_with_them(make, app, client, db, sms, now, clock):
    user = make.user("county", username="yx_clerk", mobile=MOBILE)
    login(client, "yx_clerk")
    page = client.get("/account/two-step").get_data(as_text=True)
    assert "也可以改为通过短信把验证码发送至 138****5678" in page
    sent = page_post(client, "/account/two-step/sms")
    assert sent.headers["Location"] == "/account/two-step" and len(sms.sent) == 1
    page = client.get("/account/two-step").get_data(as_text=True)
    assert "验证码已通过短信发送至 138****5678，5 分钟内有效。" in page  # the flash
    assert "输入该验证码，即启用短信验证码方式的两步验证。" in page and "data:image/svg+xml" not in page
    assert [json.loads(e.data) for e in events(db, "sms_code_sent")] == [{"mobile": "138****5678"}]
    with transaction(db) as s:
        row = s.exec(select(SecondFactor).where(SecondFactor.user_id == user.id)).one()
    assert row.method == "sms" and row.totp_secret is None and row.sms_code_hash.startswith("$argon2id$")
    assert page_post(client, "/account/two-step/confirm", {"code": "000000" if last_code(sms) != "000000"
                                                           else "000001"}).status_code == 422
    shown = page_post(client, "/account/two-step/confirm", {"code": last_code(sms)})
    assert shown.status_code == 200 and len(re.findall(r'<code class="secret">', shown.get_data(as_text=True))) == 10
    assert json.loads(events(db, "second_factor_enrolled")[-1].data) == {"method": "sms", "recovery_codes": 10}
    assert "通过短信发送至 138****5678 的验证码" in client.get("/account/two-step").get_data(as_text=True)

    clock.shift(timedelta(minutes=2))
    browser = app.test_client()
    asked = login(browser, "yx_clerk")  # the right password sends the code
    assert asked.headers["Location"].startswith("/login/code") and len(sms.sent) == 2
    page = browser.get("/login/code").get_data(as_text=True)
    assert "请输入短信发送到您手机的 6 位验证码。" in page and "重新发送验证码" in page
    code = last_code(sms)
    assert send_code(browser, code).status_code == 302 and browser.get("/inbox").status_code == 200
    assert json.loads(events(db, "login_ok")[-1].data) == {"via": "web", "factor": "sms"}

    clock.shift(timedelta(minutes=2))
    again = app.test_client()
    login(again, "yx_clerk")
    assert len(sms.sent) == 3
    assert send_code(again, code).status_code == 401  # the code of the last login is used up
    assert json.loads(events(db, "login_failed")[-1].data) == {"username": "yx_clerk", "reason": "bad_otp",
                                                                "via": "second_factor"}
    assert user_row(db, user.id).failed_logins == 1
    clock.shift(timedelta(minutes=5))  # the code of this login has expired
    assert send_code(again, last_code(sms)).status_code == 401


def test_another_sms_code_is_sent_at_most_once_a_minute_and_replaces_the_last(make, app, client, db, sms, now,
                                                                              clock):
    user = make.user("county", username="yx_clerk", mobile=MOBILE)
    with transaction(db) as s:
        sent = second_factor.begin_sms_enrolment(s, user=s.get(User, user.id), now=now, actor=make.actor(user))
    with transaction(db) as s:
        second_factor.confirm_enrolment(s, user=s.get(User, user.id), code=sent.code, now=now, actor=make.actor(user))
    clock.shift(timedelta(seconds=61))
    login(client, "yx_clerk")
    first = last_code(sms)
    resend = page_post(client, "/login/code/resend", form_page="/login/code")
    assert resend.headers["Location"] == "/login/code" and len(sms.sent) == 1
    assert re.search(r"验证码刚刚发送过，请 60 秒后再试。", client.get("/login/code").get_data(as_text=True))
    clock.shift(timedelta(seconds=60))
    page_post(client, "/login/code/resend", form_page="/login/code")
    assert len(sms.sent) == 2
    second = last_code(sms)
    assert send_code(client, first).status_code == (302 if first == second else 401)  # one chance in a million
    assert send_code(client, second).status_code == 302


def test_the_token_of_an_sms_user_sends_the_code_first(make, client, db, sms, now, clock):
    user = make.user("office", username="gx_office", mobile=MOBILE)
    with transaction(db) as s:
        sent = second_factor.begin_sms_enrolment(s, user=s.get(User, user.id), now=now, actor=make.actor(user))
    with transaction(db) as s:
        second_factor.confirm_enrolment(s, user=s.get(User, user.id), code=sent.code, now=now, actor=make.actor(user))
    clock.shift(timedelta(minutes=1))
    asked = token_request(client, "gx_office")
    assert asked.status_code == 401 and asked.json == {"error": "otp_sent", "details": None, "message": {
        "zh": "验证码已通过短信发送至 138****5678，请在 otp 字段提供。",
        "en": "A code was sent by SMS to 138****5678: send it in the otp field."}}
    assert len(sms.sent) == 1 and user_row(db, user.id).failed_logins == 0
    issued = token_request(client, "gx_office", otp=last_code(sms))
    assert issued.status_code == 200
    assert json.loads(events(db, "login_ok")[-1].data) == {"via": "api", "factor": "sms"}


def test_an_sms_that_cannot_be_sent_is_said_and_an_account_without_a_mobile_cannot_choose_sms(make, app, client,
                                                                                             db, now, clock):
    app.extensions["zyz"]["sms_gateway"] = FailingSms()
    make.user("county", username="yx_clerk", mobile=MOBILE)
    make.user("county", username="yx_other")
    login(client, "yx_clerk")
    page_post(client, "/account/two-step/sms")
    assert "短信发送失败。请一分钟后重新发送，或使用恢复码。" in client.get("/account/two-step").get_data(as_text=True)

    other = app.test_client()
    login(other, "yx_other")
    assert "使用短信验证码" not in other.get("/account/two-step").get_data(as_text=True)
    refused = page_post(other, "/account/two-step/sms")
    assert refused.headers["Location"] == "/account/two-step"
    assert "账户没有登记手机号码，无法使用短信验证码" in other.get("/account/two-step").get_data(as_text=True)
    assert events(db, "sms_code_sent")[0].actor_name == "county用户" and len(events(db, "sms_code_sent")) == 1


def test_the_totp_secret_is_stored_sealed_under_the_data_key(make, db, now):
    from workflow.core import datakeys

    datakeys.configure("sm4:" + "AAECAwQFBgcICQoLDA0ODw==")  # a key (the conftest sets none again after the test)
    user = make.user("office", username="gx_office")
    secret, _codes = enrol(db, make, user, now - timedelta(minutes=5))
    with transaction(db) as s:
        stored = s.connection().exec_driver_sql(
            f"SELECT totp_secret FROM second_factor WHERE user_id = {int(user.id)}").scalar_one()
    assert stored.startswith("enc1:") and secret not in stored
    with transaction(db) as s:
        assert second_factor.check_code(s, user=s.get(User, user.id), code=pyotp.TOTP(secret).at(now), ip=None,
                                        now=now) == "totp"
