"""Client certificates (a government UKey with SM2 certificates) as the second factor: the reverse proxy verifies the
certificate and passes its subject; with ZYZ_CLIENT_CERT=required a login needs the subject registered for the
account (`zyz users certificate`), on the page and for an API token. The headers are believed only behind a proxy."""

from __future__ import annotations

import json

import pytest
from sqlmodel import select

from conftest import PASSWORD, csrf_token
from webapp.config import ConfigError
from workflow.core.db import transaction
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


def page_login(app, headers: dict[str, str], password: str = PASSWORD):
    client = app.test_client()
    token = csrf_token(client)
    return client.post("/login", data={"username": "yx_clerk", "password": password, "csrf_token": token},
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
