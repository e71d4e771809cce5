"""Client certificates (a government UKey with SM2 certificates) as the second factor: the reverse proxy verifies the
certificate and passes its subject; with ZYZ_CLIENT_CERT=required a login needs the subject registered for the
account (`zyz users certificate`), on the page and for an API token. The headers are believed only behind a proxy."""

from __future__ import annotations

import json

import pytest
from sqlmodel import select

from conftest import PASSWORD, csrf_token, login
from webapp.config import ConfigError
from workflow.accounts.auth import set_certificate
from workflow.core.db import transaction
from workflow.core.errors import Forbidden
from workflow.core.models import AuditEvent, LoginSession, User

SECRET = "test-secret-key-that-is-long-enough-0123456789"
DN = "CN=王丽,OU=盂县工信局,O=阳泉市,C=CN"
GOOD = {"X-SSL-Client-Verify": "SUCCESS", "X-SSL-Client-S-DN": DN}


@pytest.fixture
def cert_app(database_url, tmp_path):
    from webapp import create_app

    app = create_app({"DATABASE_URL": database_url, "ZYZ_ENV": "test", "TESTING": True, "SECRET_KEY": SECRET,
                      "UPLOAD_DIR": str(tmp_path / "files"), "CLIENT_CERT": "required", "PROXIES": 1,
                      "LOGIN_RATE_LIMIT": 0})
    yield app
    app.extensions["zyz"]["engine"].dispose()


def page_login(app, headers: dict[str, str], password: str = PASSWORD, client=None, username: str = "yx_clerk"):
    client = client or app.test_client()
    token = csrf_token(client)
    return client.post("/login", data={"username": username, "password": password, "csrf_token": token},
                       headers=headers)


def token(app, headers: dict[str, str]):
    return app.test_client().post("/api/v1/auth/token", json={"username": "yx_clerk", "password": PASSWORD},
                                  headers=headers)


def failures(db) -> list[str]:
    with transaction(db) as s:
        return [json.loads(e.data)["reason"] for e in s.exec(select(AuditEvent).where(AuditEvent.kind ==
                                                                                     "login_failed")).all()]


@pytest.fixture
def clerk(make, run_zyz):
    user = make.user("county", username="yx_clerk")
    registered = run_zyz("users", "certificate", "yx_clerk", f"  {DN}  ")
    assert registered.exit_code == 0 and registered.output.strip() == f"certificate of yx_clerk: {DN}"
    return user


def test_the_registered_certificate_and_the_password_log_in_on_the_page_and_for_a_token(cert_app, clerk):
    assert page_login(cert_app, GOOD).status_code == 302
    answer = token(cert_app, {**GOOD, "X-SSL-Client-S-DN": f" {DN} "})  # spaces around are not the subject's
    assert answer.status_code == 200 and answer.json["token"]


@pytest.mark.parametrize("headers", [
    {},  # no certificate
    {"X-SSL-Client-Verify": "FAILED:certificate has expired", "X-SSL-Client-S-DN": DN},
    {"X-SSL-Client-Verify": "SUCCESS", "X-SSL-Client-S-DN": "CN=李强,OU=平定县工信局,O=阳泉市,C=CN"},
    {"X-SSL-Client-Verify": "NONE"},
])
def test_without_the_accounts_own_verified_certificate_the_right_password_is_refused(cert_app, db, clerk, headers):
    page = page_login(cert_app, headers)
    assert page.status_code == 401 and "请使用本人登记的数字证书（UKey）登录。" in page.get_data(as_text=True)
    answer = token(cert_app, headers)
    assert answer.status_code == 401 and answer.json["error"] == "certificate_required"
    assert failures(db) == ["certificate", "certificate"]
    with transaction(db) as s:
        assert s.get(User, clerk.id).failed_logins == 2  # counted towards the lock like a wrong password
        assert s.exec(select(LoginSession)).all() == []


def test_an_account_without_a_registered_certificate_cannot_log_in(cert_app, db, make):
    make.user("county", username="yx_clerk")
    assert token(cert_app, GOOD).json["error"] == "certificate_required"


def test_a_wrong_password_with_the_right_certificate_is_a_wrong_password(cert_app, db, clerk):
    assert page_login(cert_app, GOOD, password="Wrong-pass-1").status_code == 401
    assert failures(db) == ["bad_password"]


def test_without_the_setting_the_headers_are_not_read(client, make):
    make.user("county", username="yx_clerk")
    answer = client.post("/api/v1/auth/token", json={"username": "yx_clerk", "password": PASSWORD},
                         headers={"X-SSL-Client-Verify": "FAILED"})
    assert answer.status_code == 200


def test_the_setting_needs_a_proxy_and_a_known_value(database_url, tmp_path):
    from webapp import create_app

    base = {"DATABASE_URL": database_url, "ZYZ_ENV": "test", "SECRET_KEY": SECRET, "UPLOAD_DIR": str(tmp_path)}
    with pytest.raises(ConfigError, match="ZYZ_CLIENT_CERT=required needs ZYZ_PROXIES"):
        create_app({**base, "CLIENT_CERT": "required", "PROXIES": 0})
    with pytest.raises(ConfigError, match="ZYZ_CLIENT_CERT must be 'required' or empty, not 'yes'"):
        create_app({**base, "CLIENT_CERT": "yes", "PROXIES": 1})


def test_registering_a_certificate_is_audited_ends_the_sessions_and_can_be_removed(cert_app, db, clerk, run_zyz):
    assert token(cert_app, GOOD).status_code == 200
    removed = run_zyz("users", "certificate", "yx_clerk", "")
    assert removed.exit_code == 0 and removed.output.strip() == "certificate of yx_clerk: none"
    with transaction(db) as s:
        assert s.get(User, clerk.id).cert_subject is None
        assert all(row.ended_at is not None for row in s.exec(select(LoginSession)).all())
        changes = [json.loads(e.data) for e in s.exec(select(AuditEvent).where(AuditEvent.kind == "admin_change"))
                   if "set_certificate" in e.data]
    assert [(c["subject"], c["sessions_ended"]) for c in changes] == [(DN, 0), (None, 1)]
    assert token(cert_app, GOOD).json["error"] == "certificate_required"
    unknown = run_zyz("users", "certificate", "nobody", DN)
    assert unknown.exit_code == 1 and "No such user." in unknown.output


# --- on the administrator's account page ------------------------------------------------------------------------

ADMIN_DN = "CN=张伟,OU=阳泉市工信局,O=阳泉市,C=CN"
NEW_DN = "CN=王丽,OU=盂县工信局,O=阳泉市,C=CN,serialNumber=2"


def set_subject(client, user_id: int, subject: str):
    return client.post(f"/admin/users/{user_id}/certificate",
                       data={"subject": subject, "csrf_token": csrf_token(client, "/password")})


def certificate_changes(db) -> list[tuple[int | None, dict]]:
    """(actor, data) of every registration of a certificate subject, in order."""
    with transaction(db) as s:
        found = [(e.actor_id, json.loads(e.data)) for e in s.exec(
            select(AuditEvent).where(AuditEvent.kind == "admin_change").order_by(AuditEvent.seq))]
    return [(who, data) for who, data in found if data.get("action") == "set_certificate"]


def test_the_administrator_registers_and_removes_the_subject_on_the_account_page(cert_app, db, make, clerk, run_zyz):
    admin = make.user("admin", username="sysadmin")
    assert run_zyz("users", "certificate", "sysadmin", ADMIN_DN).exit_code == 0
    bearer = {"Authorization": f"Bearer {token(cert_app, GOOD).json['token']}"}
    browser = cert_app.test_client()
    admin_cert = {"X-SSL-Client-Verify": "SUCCESS", "X-SSL-Client-S-DN": ADMIN_DN}
    assert page_login(cert_app, admin_cert, client=browser, username="sysadmin").status_code == 302

    page = browser.get(f"/admin/users/{clerk.id}").get_data(as_text=True)
    assert f"<dt>客户端证书主题</dt><dd><code>{DN}</code></dd>" in page
    assert "仅在部署设置 ZYZ_CLIENT_CERT=required 时使用" in page and "本系统当前要求客户端证书。" in page
    assert 'data-confirm="确定登记该证书主题？该用户的会话将立即全部结束。"' in page
    assert f'<input id="subject" name="subject" value="{DN}"' in page

    done = set_subject(browser, clerk.id, f"  {NEW_DN} ")
    assert done.status_code == 302 and done.headers["Location"] == f"/admin/users/{clerk.id}"
    page = browser.get(done.headers["Location"]).get_data(as_text=True)
    assert "证书主题已登记；该用户的会话已全部结束。" in page and f"<dd><code>{NEW_DN}</code></dd>" in page
    assert cert_app.test_client().get("/api/v1/me", headers=bearer).status_code == 401  # the token ended
    assert certificate_changes(db)[-1] == (admin.id, {"action": "set_certificate", "user_id": clerk.id,
                                                      "username": "yx_clerk", "subject": NEW_DN,
                                                      "sessions_ended": 1})
    assert token(cert_app, GOOD).json["error"] == "certificate_required"  # the certificate registered before
    assert token(cert_app, {**GOOD, "X-SSL-Client-S-DN": NEW_DN}).status_code == 200

    removed = set_subject(browser, clerk.id, "")
    page = browser.get(removed.headers["Location"]).get_data(as_text=True)
    assert "证书主题已清除；该用户的会话已全部结束。" in page and "<dt>客户端证书主题</dt><dd>未登记</dd>" in page
    assert certificate_changes(db)[-1] == (admin.id, {"action": "set_certificate", "user_id": clerk.id,
                                                      "username": "yx_clerk", "subject": None, "sessions_ended": 1})
    with transaction(db) as s:
        assert s.get(User, clerk.id).cert_subject is None
        assert s.exec(select(LoginSession).where(LoginSession.user_id == clerk.id,
                                                 LoginSession.ended_at.is_(None))).all() == []
    assert token(cert_app, {**GOOD, "X-SSL-Client-S-DN": NEW_DN}).json["error"] == "certificate_required"
    assert browser.get("/admin/users").status_code == 200  # the administrator's own session goes on


def test_a_subject_too_long_is_refused_on_the_page_and_nothing_changes(app, db, make, clerk):
    make.user("admin", username="sysadmin")
    clerk_browser = app.test_client()
    assert login(clerk_browser, "yx_clerk").status_code == 302  # this deployment does not ask for certificates
    admin = app.test_client()
    login(admin, "sysadmin")
    assert "本系统当前不要求客户端证书。" in admin.get(f"/admin/users/{clerk.id}").get_data(as_text=True)
    too_long = "CN=" + "王" * 498
    refused = set_subject(admin, clerk.id, too_long)
    body = refused.get_data(as_text=True)
    assert refused.status_code == 422
    assert '<p class="field-error" id="err-subject">不能超过 500 个字符</p>' in body
    assert f'value="{too_long}"' in body and f"<dd><code>{DN}</code></dd>" in body  # what was typed; what stands
    with transaction(db) as s:
        assert s.get(User, clerk.id).cert_subject == DN
    assert [data["subject"] for _who, data in certificate_changes(db)] == [DN]  # the command's, no other
    assert clerk_browser.get("/inbox").status_code == 200  # still logged in


def test_only_the_administrator_registers_a_subject_and_not_for_their_own_account(app, db, make, clerk, now):
    admin = make.user("admin", username="sysadmin")
    make.user("auditor", username="sec_auditor")
    for username in ("yx_clerk", "sec_auditor"):
        browser = app.test_client()
        login(browser, username)
        assert set_subject(browser, clerk.id, NEW_DN).status_code == 403
    with pytest.raises(Forbidden) as refused, transaction(db) as s:
        set_certificate(s, username="yx_clerk", subject=NEW_DN, now=now, actor=make.actor(clerk))
    assert refused.value.zh == "只有系统管理员可以管理账户。"

    browser = app.test_client()
    login(browser, "sysadmin")
    page = browser.get(f"/admin/users/{admin.id}").get_data(as_text=True)
    assert "本人账户的证书须由另一位系统管理员登记。" in page and 'name="subject"' not in page
    own = set_subject(browser, admin.id, ADMIN_DN)
    assert own.status_code == 403 and "不能登记自己的证书，请联系另一位系统管理员。" in own.get_data(as_text=True)
    with transaction(db) as s:
        assert s.get(User, clerk.id).cert_subject == DN and s.get(User, admin.id).cert_subject is None
    assert [data["username"] for _who, data in certificate_changes(db)] == ["yx_clerk"]  # the command's only
