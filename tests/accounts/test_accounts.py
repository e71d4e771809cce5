"""Account management by the administrator (三员分立): the pages under /admin/users and the service behind them.
Every change is an audit event; nobody changes their own role; the other roles cannot reach these pages."""

from __future__ import annotations

import json
import re

import pytest
from sqlmodel import select

from conftest import PASSWORD, csrf_token, login
from workflow.accounts import services as accounts
from workflow.core.db import transaction
from workflow.core.errors import Forbidden, NotFound
from workflow.core.models import AuditEvent, LoginSession, User

NEW_PASSWORD = "Neues-Passwort-2027"
ONE_TIME = re.compile(r'<code class="secret">([^<]+)</code>')


def events(db, kind: str | None = None) -> list[AuditEvent]:
    with transaction(db) as s:
        query = select(AuditEvent).order_by(AuditEvent.seq)
        if kind:
            query = query.where(AuditEvent.kind == kind)
        return list(s.exec(query))


def user_row(db, user_id: int) -> User:
    with transaction(db) as s:
        return s.get(User, user_id)


@pytest.fixture
def admin(app, make):
    """The administrator's browser, logged in, in English (the pages' texts are checked as written)."""
    user = make.user("admin", username="sysadmin")
    browser = app.test_client()
    assert login(browser, "sysadmin").status_code == 302
    browser.post("/language", data={"lang": "en", "csrf_token": csrf_token(browser, "/admin/users")})
    browser.user = user
    return browser


def post(browser, url: str, data: dict | None = None):
    return browser.post(url, data={**(data or {}), "csrf_token": csrf_token(browser, "/admin/users")})


def text(response) -> str:
    body = response.get_data(as_text=True)
    assert "Traceback" not in body
    return body


def test_the_administrator_starts_on_the_accounts_page(app, make):
    make.user("admin", username="sysadmin")
    browser = app.test_client()
    assert login(browser, "sysadmin").headers["Location"] == "/admin/users"
    assert browser.get("/").headers["Location"] == "/admin/users"
    page = text(browser.get("/admin/users"))
    assert 'href="/admin/users"' in page and 'href="/inbox"' not in page and 'href="/cases"' not in page


@pytest.mark.parametrize("role", ["county", "office", "member", "leader", "auditor"])
def test_no_other_role_reaches_the_account_pages(app, make, role):
    user = make.user(role, username="someone")
    browser = app.test_client()
    login(browser, "someone")
    for url in ("/admin/users", "/admin/users/new", f"/admin/users/{user.id}"):
        assert browser.get(url).status_code == 403, url
    assert post(browser, f"/admin/users/{user.id}/disable").status_code == 403
    assert user_row(make.db, user.id).is_active


def test_the_list_filters_and_pages(app, make, admin):
    for i in range(23):
        make.user("county", county="盂县" if i % 2 else "城区", username=f"clerk_{i:02d}")
    make.user("member", unit="市科技局", username="clerkx0y")
    page = text(admin.get("/admin/users"))
    assert "Page 1 of 2 (25 in all)" in page
    assert "clerk_00" in page and "clerkx0y" not in page
    assert "clerkx0y" in text(admin.get("/admin/users?page=2"))
    assert ">10 in all<" in text(admin.get("/admin/users?q=k_0"))  # _ and % are taken literally
    assert ">0 in all<" in text(admin.get("/admin/users?q=%25"))
    county_page = text(admin.get("/admin/users?role=county"))
    assert "(23 in all)" in county_page and "sysadmin" not in county_page
    yx = make.unit("盂县", "county")
    assert ">11 in all<" in text(admin.get(f"/admin/users?unit={yx.id}"))
    assert ">1 in all<" in text(admin.get("/admin/users?role=admin&status=active"))
    assert ">0 in all<" in text(admin.get("/admin/users?status=disabled"))
    assert admin.get("/admin/users?page=abc&role=<script>&status=x").status_code == 200  # odd filters ignored


def test_the_administrator_creates_an_account_that_must_change_its_one_time_password(app, make, admin, db):
    unit = make.unit("盂县", "county")
    response = post(admin, "/admin/users/new", {"username": "yx_new", "display_name": "王丽", "role": "county",
                                                "unit_id": str(unit.id), "email": "wangli@yq.gov.cn",
                                                "mobile": "13800000000"})
    assert response.status_code == 200
    password = ONE_TIME.search(text(response)).group(1)
    assert len(password) >= 14
    with transaction(db) as s:
        created = s.exec(select(User).where(User.username == "yx_new")).one()
    assert created.must_change_password and created.role == "county" and created.unit_id == unit.id
    assert password not in created.password_hash and created.password_hash.startswith("$argon2id$")
    event = events(db, "user_created")[-1]
    assert event.actor_id == admin.user.id and json.loads(event.data)["username"] == "yx_new"
    assert password not in json.dumps([e.data for e in events(db)])  # never in the trail
    assert password not in text(admin.get(f"/admin/users/{created.id}"))  # shown once only

    newcomer = app.test_client()
    assert login(newcomer, "yx_new", password).status_code == 302
    assert newcomer.get("/inbox").headers["Location"] == "/password"
    newcomer.post("/password", data={"current": password, "new": NEW_PASSWORD, "confirm": NEW_PASSWORD,
                                     "csrf_token": csrf_token(newcomer, "/password")})
    again = app.test_client()
    assert login(again, "yx_new", NEW_PASSWORD).status_code == 302
    assert again.get("/inbox").status_code == 200


@pytest.mark.parametrize("form, field", [
    ({"username": "sysadmin"}, "username taken"),
    ({"username": "a b"}, "username: 3-64 letters"),
    ({"role": "admin"}, "the role does not fit the unit"),
    ({"role": "system"}, "unknown role"),
    ({"display_name": " "}, "name is required"),
    ({"unit_id": "999999"}, "no such unit"),
])
def test_a_refused_account_says_why_and_creates_nothing(app, make, admin, db, form, field):
    unit = make.unit("盂县", "county")
    before = len(events(db))
    data = {"username": "yx_new", "display_name": "王丽", "role": "county", "unit_id": str(unit.id), **form}
    response = post(admin, "/admin/users/new", data)
    assert response.status_code == 422 and field in text(response)
    assert len(events(db)) == before
    with transaction(db) as s:
        assert s.exec(select(User).where(User.username == "yx_new")).first() is None


def test_editing_an_account_is_audited_and_a_new_role_applies_at_the_next_request(app, make, admin, db):
    office = make.user("office", username="office_staff")
    browser = app.test_client()
    login(browser, "office_staff")
    assert browser.get("/inbox").status_code == 200
    form = {"display_name": "张敏（调岗）", "email": "zhangmin@yq.gov.cn", "mobile": "+86 139-0000-0000",
            "unit_id": str(office.unit_id), "role": "auditor"}
    response = post(admin, f"/admin/users/{office.id}", form)
    assert response.status_code == 302 and "Saved." in text(admin.get(response.headers["Location"]))
    row = user_row(db, office.id)
    assert (row.display_name, row.email, row.mobile, row.role) == ("张敏（调岗）", "zhangmin@yq.gov.cn",
                                                                   "13900000000", "auditor")
    change = json.loads(events(db, "admin_change")[-1].data)
    assert change["action"] == "update_account" and change["user_id"] == office.id
    assert change["changes"]["role"] == ["office", "auditor"]
    assert change["changes"]["email"] == "changed"  # personal data stays out of the trail
    assert "zhangmin" not in events(db, "admin_change")[-1].data
    assert browser.get("/inbox").status_code == 403  # the very next request, same session
    # saving the same again changes nothing and writes nothing
    before = len(events(db))
    post(admin, f"/admin/users/{office.id}", {**form, "mobile": "13900000000"})
    assert len(events(db)) == before


def test_a_bad_edit_says_why_and_changes_nothing(make, admin, db):
    county = make.user("county", username="yx_clerk")
    before = (user_row(db, county.id), len(events(db)))
    response = post(admin, f"/admin/users/{county.id}", {"display_name": "", "email": "not-an-address",
                                                          "unit_id": str(county.unit_id), "role": "office"})
    body = text(response)
    assert response.status_code == 422
    assert "name is required" in body and "not a valid e-mail address" in body and "does not fit the unit" in body
    assert (user_row(db, county.id), len(events(db))) == before


def test_nobody_changes_their_own_role_or_locks_themselves_out(make, admin, db):
    me = admin.user
    before = len(events(db, "admin_change"))
    response = post(admin, f"/admin/users/{me.id}", {"display_name": "管理员", "unit_id": str(me.unit_id),
                                                    "role": "auditor"})
    assert response.status_code == 403
    assert user_row(db, me.id).role == "admin"
    for action in ("disable", "unlock", "reset-password", "end-sessions"):
        assert post(admin, f"/admin/users/{me.id}/{action}").status_code == 403, action
    assert user_row(db, me.id).is_active and len(events(db, "admin_change")) == before
    # the own name and contact details may be changed
    assert post(admin, f"/admin/users/{me.id}", {"display_name": "管理员", "unit_id": str(me.unit_id),
                                                "role": "admin"}).status_code == 302
    page = text(admin.get(f"/admin/users/{me.id}"))
    assert "You cannot change your own role." in page and "/disable" not in page


def test_disable_enable_unlock_reset_and_end_sessions_are_each_audited(app, make, admin, db, now):
    county = make.user("county", username="yx_clerk")
    for _ in range(5):
        login(app.test_client(), "yx_clerk", "Wrong-pass-1")
    assert user_row(db, county.id).locked_until is not None
    assert "Unlock" in text(admin.get(f"/admin/users/{county.id}"))
    assert post(admin, f"/admin/users/{county.id}/unlock").status_code == 302
    assert user_row(db, county.id).locked_until is None
    assert login(app.test_client(), "yx_clerk").status_code == 302

    assert post(admin, f"/admin/users/{county.id}/disable").status_code == 302
    assert not user_row(db, county.id).is_active
    assert login(app.test_client(), "yx_clerk").status_code == 401
    assert post(admin, f"/admin/users/{county.id}/enable").status_code == 302
    assert login(app.test_client(), "yx_clerk").status_code == 302

    reset = post(admin, f"/admin/users/{county.id}/reset-password")
    one_time = ONE_TIME.search(text(reset)).group(1)
    assert login(app.test_client(), "yx_clerk", PASSWORD).status_code == 401
    fresh = app.test_client()
    assert login(fresh, "yx_clerk", one_time).status_code == 302
    assert fresh.get("/inbox").headers["Location"] == "/password"

    ended = post(admin, f"/admin/users/{county.id}/end-sessions")
    assert ended.status_code == 302 and "1 sessions or tokens ended" in text(admin.get(ended.headers["Location"]))
    with transaction(db) as s:
        live = s.exec(select(LoginSession).where(LoginSession.user_id == county.id,
                                                 LoginSession.ended_at.is_(None))).all()
    assert live == []

    trail = [(e.kind, json.loads(e.data).get("action")) for e in events(db) if e.actor_id == admin.user.id
             and e.kind not in ("login_ok",)]
    assert trail == [("user_unlocked", "unlock"), ("user_locked", "disable"), ("user_unlocked", "enable"),
                     ("admin_change", "reset_password"), ("admin_change", "end_sessions")]


def test_the_service_refuses_anyone_but_the_administrator(make, db, now):
    county = make.user("county", username="yx_clerk")
    office = make.user("office", username="office_staff")
    with transaction(db) as s:
        for call in (lambda: accounts.list_accounts(s, actor=make.actor(office), now=now),
                     lambda: accounts.set_active(s, actor=make.actor(office), user_id=county.id, active=False,
                                                 now=now),
                     lambda: accounts.reset_password(s, actor=make.actor(county), user_id=county.id, now=now)):
            with pytest.raises(Forbidden):
                call()
    admin = make.user("admin", username="sysadmin")
    with transaction(db) as s, pytest.raises(NotFound):
        accounts.get_account(s, actor=make.actor(admin), user_id=2**40)


def test_the_account_page_links_to_the_notification_settings_once_that_page_exists(app, make, admin):
    county = make.user("county", username="yx_clerk")
    page = text(admin.get(f"/admin/users/{county.id}"))
    has_page = any(r.rule == "/admin/users/<int:user_id>/notifications" for r in app.url_map.iter_rules())
    assert (f'href="/admin/users/{county.id}/notifications"' in page) == has_page
