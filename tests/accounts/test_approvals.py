"""三员分立 without a back door: a business account created by the administrator, or a business user's password
reset, takes effect only when a second person approves it (the auditor or the office, ZYZ_ACCOUNT_APPROVER), and the
one-time password goes to the user's own e-mail address (read here from a real SMTP server) and mobile number,
sealed in the outbox, never shown on a page."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta

import pytest
from notify.test_notifications_email import SmtpSink, settings_for
from sqlmodel import select

from conftest import PASSWORD, csrf_token, login
from notifications.dispatcher import dispatch
from webapp.config import ConfigError, account_approver, check_production
from workflow.accounts import approvals
from workflow.accounts import services as accounts
from workflow.core import datakeys
from workflow.core.db import transaction
from workflow.core.errors import Conflict, Forbidden, Unprocessable
from workflow.core.models import AccountRequest, AuditEvent, LoginSession, OutboxMessage, Unit, User
from workflow.core.sealing import open_params
from workflow.core.settings import configure

ONE_TIME = re.compile(r'<code class="secret">([^<]+)</code>')
MAILED = re.compile(r"一次性密码：(\S+)")


@pytest.fixture
def smtp():
    sink = SmtpSink().start()
    yield sink
    sink.stop()


def use(approver: str) -> None:
    configure(account_approver=approver)


def browser_of(app, username: str, password: str = PASSWORD):
    browser = app.test_client()
    assert login(browser, username, password).status_code == 302
    browser.post("/language", data={"lang": "en", "csrf_token": csrf_token(browser, "/password")})
    return browser


def post(browser, url: str, data: dict | None = None):
    return browser.post(url, data={**(data or {}), "csrf_token": csrf_token(browser, "/password")})


def text(response) -> str:
    body = response.get_data(as_text=True)
    assert "Traceback" not in body
    return body


def row(db, model, row_id):
    with transaction(db) as s:
        return s.get(model, row_id)


def requests(db) -> list[AccountRequest]:
    with transaction(db) as s:
        return list(s.exec(select(AccountRequest).order_by(AccountRequest.id)))


def outbox(db) -> list[OutboxMessage]:
    with transaction(db) as s:
        return list(s.exec(select(OutboxMessage).order_by(OutboxMessage.id)))


def trail(db, *kinds: str) -> list[tuple[str, int | None, dict]]:
    with transaction(db) as s:
        found = s.exec(select(AuditEvent).where(AuditEvent.kind.in_(kinds)).order_by(AuditEvent.seq))
        return [(e.kind, e.actor_id, json.loads(e.data)) for e in found]


def deliver(db, port: int):
    """Run the dispatcher as of a minute from now against the SMTP server on `port`."""
    return dispatch(db, now=datetime.now(UTC) + timedelta(minutes=1), settings=settings_for(port))


def unit_id(db, name: str) -> int:
    with transaction(db) as s:
        return s.exec(select(Unit.id).where(Unit.name == name)).one()


@pytest.fixture
def people(app, make):
    """The administrator, the auditor and an office user, each with a logged-in browser (in English)."""
    users = {"admin": make.user("admin", username="sysadmin"), "auditor": make.user("auditor", username="sec_auditor"),
             "office": make.user("office", username="office_staff")}
    make.user("county", county="盂县", username="yx_existing")  # makes the county unit
    return {role: (user, browser_of(app, user.username)) for role, user in users.items()}


NEWCOMER = {"username": "yx_newcomer", "display_name": "新来的", "role": "county", "email": "yx.new@yq.gov.cn",
            "mobile": "13912345678"}


def test_with_the_auditor_a_new_county_account_opens_on_approval_and_its_password_arrives_by_mail(
        app, db, people, smtp):
    use("auditor")
    admin_user, admin = people["admin"]
    auditor_user, auditor = people["auditor"]
    created = post(admin, "/admin/users/new", {**NEWCOMER, "unit_id": unit_id(db, "盂县")})
    body = text(created)
    assert created.status_code == 200
    assert "Account created: awaiting approval" in body and ONE_TIME.search(body) is None
    with transaction(db) as s:
        user = s.exec(select(User).where(User.username == "yx_newcomer")).one()
    assert (user.is_active, user.must_change_password) == (False, True)
    [pending] = requests(db)
    assert (pending.kind, pending.user_id, pending.requested_by, pending.status) == (
        "create", user.id, admin_user.id, "pending")
    page = text(admin.get(f"/admin/users/{user.id}"))
    assert "New account: " in page and "Awaiting approval" in page
    assert f'action="/admin/users/{user.id}/enable"' not in page
    refused = post(admin, f"/admin/users/{user.id}/enable")
    assert refused.status_code == 403
    assert "This account&#39;s opening is waiting for approval" in text(refused)
    assert not row(db, User, user.id).is_active
    assert login(app.test_client(), "yx_newcomer", "anything-1A").status_code == 401

    listing = text(auditor.get("/account-requests"))
    for shown in ("New account", "yx_newcomer", "新来的", "County", "盂县", "sysadmin", "E-mail y***@yq.gov.cn",
                  "SMS 139****5678"):
        assert shown in listing, shown
    assert "yx.new@yq.gov.cn" not in listing and "13912345678" not in listing
    unconfirmed = post(auditor, f"/account-requests/{pending.id}/approve")
    assert unconfirmed.status_code == 422
    assert "tick the confirmation: this cannot be undone" in text(unconfirmed)
    assert not row(db, User, user.id).is_active
    approved = post(auditor, f"/account-requests/{pending.id}/approve", {"confirm": "yes"})
    assert approved.status_code == 302 and approved.headers["Location"] == "/account-requests"
    assert "the one-time password is on its way" in text(auditor.get("/account-requests"))
    assert row(db, User, user.id).is_active
    assert (row(db, AccountRequest, pending.id).status, row(db, AccountRequest, pending.id).decided_by) == (
        "approved", auditor_user.id)

    queued = outbox(db)
    assert [(m.channel, m.template, m.user_id, m.status) for m in queued] == [
        ("email", "account_password", user.id, "queued"), ("sms", "account_password", user.id, "queued")]
    assert sorted(queued[0].params) == ["fixed_address", "kind", "password_sealed", "username"]
    assert [m.address for m in queued] == ["yx.new@yq.gov.cn", "13912345678"]  # where the approver saw it go
    assert queued[0].params["password_sealed"].startswith("enc1:")
    password = open_params(queued[0].params, queued[0].source)["password"]
    assert password not in json.dumps([m.params for m in queued])
    assert deliver(db, smtp.port).sent >= 1
    [mail] = smtp.messages()
    assert mail["To"].addresses[0].addr_spec == "yx.new@yq.gov.cn"
    assert mail["Subject"] == "【阳泉市专业镇案件管理系统】您的账户已开通"
    mailed = MAILED.search(mail.get_body(("plain",)).get_content()).group(1)
    assert mailed == password
    assert outbox(db)[0].params == {"kind": "create", "username": "yx_newcomer", "fixed_address": True}  # secret gone

    newcomer = app.test_client()
    assert login(newcomer, "yx_newcomer", mailed).status_code == 302
    assert newcomer.get("/inbox").headers["Location"] == "/password"
    for browser, url in ((admin, f"/admin/users/{user.id}"), (auditor, "/account-requests"),
                         (auditor, f"/account-requests/{pending.id}")):
        assert mailed not in text(browser.get(url))

    assert trail(db, "account_requested", "account_request_approved", "account_request_rejected") == [
        ("account_requested", admin_user.id,
         {"request_id": pending.id, "request": "create", "user_id": user.id, "username": "yx_newcomer",
          "role": "county", "approver": "auditor"}),
        ("account_request_approved", auditor_user.id,
         {"request_id": pending.id, "request": "create", "user_id": user.id, "username": "yx_newcomer",
          "role": "county", "requested_by": admin_user.id, "sent_to": ["email", "sms"]}),
    ]
    with transaction(db) as s:
        every = [e.data for e in s.exec(select(AuditEvent))]
    assert not any(mailed in data for data in every)


def test_a_contact_changed_after_the_approval_does_not_send_the_password_elsewhere(app, db, make, people, smtp):
    """The administrator edits the clerk's e-mail between the approval and the sending: the password still goes to
    the address the approver saw."""
    use("auditor")
    _admin_user, admin = people["admin"]
    _auditor_user, auditor = people["auditor"]
    clerk = make.user("county", username="yx_clerk", email="clerk@yx.gov.cn")
    post(admin, f"/admin/users/{clerk.id}/reset-password")
    [pending] = requests(db)
    assert post(auditor, f"/account-requests/{pending.id}/approve", {"confirm": "yes"}).status_code == 302
    edited = post(admin, f"/admin/users/{clerk.id}", {"display_name": clerk.display_name, "email": "admin@evil.cn",
                                                      "mobile": "", "unit_id": clerk.unit_id, "role": "county"})
    assert edited.status_code == 302 and row(db, User, clerk.id).email == "admin@evil.cn"
    deliver(db, smtp.port)
    [mail] = smtp.messages()
    assert mail["To"].addresses[0].addr_spec == "clerk@yx.gov.cn"


def test_with_the_office_a_reset_changes_nothing_until_an_office_user_approves_and_ends_the_sessions(
        app, db, make, people, smtp):
    use("office")
    admin_user, admin = people["admin"]
    office_user, office = people["office"]
    _auditor_user, auditor = people["auditor"]
    clerk = make.user("county", username="yx_clerk", email="clerk@yx.gov.cn", mobile="13700001111")
    clerk_browser = app.test_client()
    assert login(clerk_browser, "yx_clerk").status_code == 302
    before = row(db, User, clerk.id).password_hash

    reset = post(admin, f"/admin/users/{clerk.id}/reset-password")
    body = text(reset)
    assert reset.status_code == 200 and "Password reset: awaiting approval" in body and ONE_TIME.search(body) is None
    assert row(db, User, clerk.id).password_hash == before
    assert clerk_browser.get("/inbox").status_code == 200  # nothing changed yet
    again = post(admin, f"/admin/users/{clerk.id}/reset-password")
    assert again.status_code == 409
    assert "This account already has a request waiting for approval" in text(again)
    assert len(requests(db)) == 1

    assert auditor.get("/account-requests").status_code == 403  # the office decides, as configured
    assert admin.get("/account-requests").status_code == 403
    [pending] = requests(db)
    assert post(admin, f"/account-requests/{pending.id}/approve", {"confirm": "yes"}).status_code == 403
    listing = text(office.get("/account-requests"))
    assert "Password reset" in listing and "E-mail c***@yx.gov.cn" in listing and "SMS 137****1111" in listing
    approved = post(office, f"/account-requests/{pending.id}/approve", {"confirm": "yes", "comment": "本人电话确认"})
    assert approved.status_code == 302
    assert row(db, User, clerk.id).password_hash != before
    assert clerk_browser.get("/inbox").status_code == 302  # the sessions ended
    with transaction(db) as s:
        live = s.exec(select(LoginSession).where(LoginSession.user_id == clerk.id,
                                                 LoginSession.ended_at.is_(None))).all()
    assert live == []
    assert login(app.test_client(), "yx_clerk", PASSWORD).status_code == 401
    deliver(db, smtp.port)
    [mail] = smtp.messages()
    assert mail["To"].addresses[0].addr_spec == "clerk@yx.gov.cn"
    assert mail["Subject"] == "【阳泉市专业镇案件管理系统】您的密码已重置"
    mailed = MAILED.search(mail.get_body(("plain",)).get_content()).group(1)
    fresh = app.test_client()
    assert login(fresh, "yx_clerk", mailed).status_code == 302
    assert fresh.get("/inbox").headers["Location"] == "/password"
    assert trail(db, "account_request_approved") == [
        ("account_request_approved", office_user.id,
         {"request_id": pending.id, "request": "reset", "user_id": clerk.id, "username": "yx_clerk", "role": "county",
          "requested_by": admin_user.id, "comment": "本人电话确认", "sessions_ended": 1, "sent_to": ["email", "sms"]}),
    ]
    # decided: a new reset may be asked for
    assert post(admin, f"/admin/users/{clerk.id}/reset-password").status_code == 200
    assert [r.status for r in requests(db)] == ["approved", "pending"]


def test_a_rejected_account_stays_disabled_and_a_rejected_reset_keeps_the_password(app, db, make, people):
    use("auditor")
    admin_user, admin = people["admin"]
    auditor_user, auditor = people["auditor"]
    post(admin, "/admin/users/new", {**NEWCOMER, "unit_id": unit_id(db, "盂县")})
    clerk = make.user("county", username="yx_clerk", email="clerk@yx.gov.cn")
    before = row(db, User, clerk.id).password_hash
    post(admin, f"/admin/users/{clerk.id}/reset-password")
    create, reset = requests(db)

    no_reason = post(auditor, f"/account-requests/{create.id}/reject", {"confirm": "yes"})
    assert no_reason.status_code == 422 and "give the reason for the rejection" in text(no_reason)
    assert post(auditor, f"/account-requests/{create.id}/reject",
                {"confirm": "yes", "comment": "无此人员"}).status_code == 302
    assert post(auditor, f"/account-requests/{reset.id}/reject",
                {"confirm": "yes", "comment": "非本人申请"}).status_code == 302
    assert not row(db, User, create.user_id).is_active
    assert row(db, User, clerk.id).password_hash == before
    assert login(app.test_client(), "yx_clerk").status_code == 302
    assert outbox(db) == []
    assert [(r.status, r.comment, r.decided_by) for r in requests(db)] == [
        ("rejected", "无此人员", auditor_user.id), ("rejected", "非本人申请", auditor_user.id)]
    twice = post(auditor, f"/account-requests/{create.id}/approve", {"confirm": "yes"})
    assert twice.status_code == 409 and "This request has already been decided." in text(twice)
    assert "Rejected" in text(admin.get(f"/admin/users/{create.user_id}"))
    assert trail(db, "account_request_rejected") == [
        ("account_request_rejected", auditor_user.id,
         {"request_id": create.id, "request": "create", "user_id": create.user_id, "username": "yx_newcomer",
          "role": "county", "requested_by": admin_user.id, "comment": "无此人员"}),
        ("account_request_rejected", auditor_user.id,
         {"request_id": reset.id, "request": "reset", "user_id": clerk.id, "username": "yx_clerk", "role": "county",
          "requested_by": admin_user.id, "comment": "非本人申请"}),
    ]


def test_nobody_decides_a_request_they_made_or_one_about_their_own_account(db, make, now):
    use("office")
    office = make.user("office", username="office_one", email="one@yq.gov.cn")
    other = make.user("office", username="office_two", email="two@yq.gov.cn")
    admin = make.user("admin", username="sysadmin")
    with transaction(db) as s:
        own = approvals.request_change(s, actor=make.actor(office), user=s.get(User, other.id), kind="reset", now=now)
        about_me = accounts.reset_password(s, actor=make.actor(admin), user_id=office.id, now=now)
    assert about_me is None
    mine, about = requests(db)
    for request_id, actor, message in ((own.id, office, "不能审批自己提出的申请。"),
                                       (about.id, office, "不能审批与自己账户有关的申请。")):
        with transaction(db) as s, pytest.raises(Forbidden) as refused:
            approvals.decide(s, actor=make.actor(actor), request_id=request_id, approve=True, confirmed=True,
                             comment=None, now=now)
        assert (refused.value.zh, refused.value.code) == (message, "own_request")
    with transaction(db) as s, pytest.raises(Forbidden) as refused:
        approvals.decide(s, actor=make.actor(admin), request_id=mine.id, approve=True, confirmed=True, comment=None,
                         now=now)
    assert refused.value.zh == "只有指定的审批人可以审批账户申请。"
    assert [r.status for r in requests(db)] == ["pending", "pending"]
    with transaction(db) as s:
        approvals.decide(s, actor=make.actor(other), request_id=about.id, approve=False, confirmed=True,
                         comment="核实中", now=now)
    assert [r.status for r in requests(db)] == ["pending", "rejected"]


def test_the_approver_page_says_why_a_request_of_ones_own_cannot_be_decided(app, db, make, now):
    use("office")
    office = make.user("office", username="office_one", email="one@yq.gov.cn")
    make.user("admin", username="sysadmin")
    with transaction(db) as s:
        accounts.reset_password(s, actor=make.actor(make.user("admin", username="admin2")), user_id=office.id,
                                now=now)
    [pending] = requests(db)
    page = text(browser_of(app, "office_one").get(f"/account-requests/{pending.id}"))
    assert "You cannot decide a request about your own account." in page
    assert f'action="/account-requests/{pending.id}/approve"' not in page


def test_an_account_that_needs_approval_needs_a_contact_to_send_the_password_to(app, db, make, people):
    use("auditor")
    _admin_user, admin = people["admin"]
    refused = post(admin, "/admin/users/new", {**NEWCOMER, "email": "", "mobile": "", "unit_id": unit_id(db, "盂县")})
    body = text(refused)
    assert refused.status_code == 422
    assert body.count("an account that needs approval must have a mobile number or an e-mail address") == 2
    clerk = make.user("county", username="yx_clerk")
    reset = post(admin, f"/admin/users/{clerk.id}/reset-password")
    assert reset.status_code == 422
    with transaction(db) as s, pytest.raises(Unprocessable) as caught:
        accounts.reset_password(s, actor=make.actor(_admin_user), user_id=clerk.id, now=datetime.now(UTC))
    zh = "需经审批的账户须填写手机号码或电子邮箱：审批通过后，一次性密码只发送给用户本人"
    assert [(p["field"], p["zh"]) for p in caught.value.details] == [("email", zh), ("mobile", zh)]
    with transaction(db) as s:
        assert s.exec(select(User).where(User.username == "yx_newcomer")).first() is None
    assert requests(db) == []


def test_administrator_and_auditor_accounts_keep_the_one_time_password_on_the_page(app, db, people):
    use("auditor")
    _admin_user, admin = people["admin"]
    created = post(admin, "/admin/users/new", {"username": "second_auditor", "display_name": "审计员二",
                                              "role": "auditor", "unit_id": unit_id(db, "市工信局")})
    assert created.status_code == 200 and ONE_TIME.search(text(created)) is not None
    with transaction(db) as s:
        assert s.exec(select(User).where(User.username == "second_auditor")).one().is_active
    assert requests(db) == []


def test_the_administrator_cannot_go_round_the_approval_by_editing_an_account(db, make, now):
    use("auditor")
    admin = make.user("admin", username="sysadmin")
    auditor = make.user("auditor", username="second_auditor")
    clerk = make.user("county", username="yx_clerk", email="clerk@yx.gov.cn")
    office_unit = unit_id(db, "市工信局")
    with transaction(db) as s, pytest.raises(Unprocessable) as caught:
        accounts.update_account(s, actor=make.actor(admin), user_id=auditor.id, now=now, display_name="审计员",
                                email=None, mobile=None, unit_id=office_unit, role="office")
    assert [p["field"] for p in caught.value.details] == ["role"]
    assert caught.value.zh == "系统管理员或安全审计员的账户不能改为业务角色：请新建业务账户，经审批后开通"
    with transaction(db) as s:
        accounts.reset_password(s, actor=make.actor(admin), user_id=clerk.id, now=now)
    with transaction(db) as s, pytest.raises(Unprocessable) as caught:
        accounts.update_account(s, actor=make.actor(admin), user_id=clerk.id, now=now, display_name="county用户",
                                email="admin@evil.example", mobile=None, unit_id=clerk.unit_id, role="county")
    assert [p["field"] for p in caught.value.details] == ["email", "mobile"]
    assert row(db, User, clerk.id).email == "clerk@yx.gov.cn"
    with transaction(db) as s:  # the name may change; a business role for a business account too
        changes = accounts.update_account(s, actor=make.actor(admin), user_id=clerk.id, now=now, display_name="改名",
                                          email="clerk@yx.gov.cn", mobile=None, unit_id=clerk.unit_id, role="county")
    assert changes == {"display_name": ["county用户", "改名"]}
    with transaction(db) as s, pytest.raises(Conflict) as caught:
        accounts.reset_password(s, actor=make.actor(admin), user_id=clerk.id, now=now)
    assert caught.value.zh == "该账户已有一项申请正在等待审批，审批或驳回后才能再提出。"


def test_a_pending_account_cannot_be_enabled_by_the_service_either(db, make, now):
    use("auditor")
    admin = make.user("admin", username="sysadmin")
    with transaction(db) as s:
        user, password = accounts.create_account(s, actor=make.actor(admin), username="yx_new", display_name="新人",
                                                 role="county", unit_id=make.unit("盂县", "county").id, now=now,
                                                 mobile="13912345678")
    assert password is None
    with transaction(db) as s, pytest.raises(Forbidden) as refused:
        accounts.set_active(s, actor=make.actor(admin), user_id=user.id, active=True, now=now)
    assert refused.value.zh == "该账户的开通申请正在等待审批，审批通过后自动启用，不能直接启用。"
    assert not row(db, User, user.id).is_active


def test_without_approval_the_administrator_gets_the_password_as_before(db, make, now):
    admin = make.user("admin", username="sysadmin")
    with transaction(db) as s:
        user, password = accounts.create_account(s, actor=make.actor(admin), username="yx_new", display_name="新人",
                                                 role="county", unit_id=make.unit("盂县", "county").id, now=now)
    assert password is not None and row(db, User, user.id).is_active
    with transaction(db) as s:
        assert accounts.reset_password(s, actor=make.actor(admin), user_id=user.id, now=now) is not None
    assert requests(db) == []


def test_the_approver_list_pages(app, db, make, now, people):
    use("auditor")
    admin_user, _admin = people["admin"]
    _auditor_user, auditor = people["auditor"]
    county = unit_id(db, "盂县")
    with transaction(db) as s:
        for i in range(23):
            accounts.create_account(s, actor=make.actor(admin_user), username=f"clerk_{i:02d}",
                                    display_name=f"办事员{i:02d}", role="county", unit_id=county, now=now,
                                    email=f"c{i}@yx.gov.cn")
    first = text(auditor.get("/account-requests"))
    second = text(auditor.get("/account-requests?page=2"))
    assert [f"clerk_{i:02d}" in first for i in range(23)] == [True] * 20 + [False] * 3
    assert [f"clerk_{i:02d}" in second for i in range(23)] == [False] * 20 + [True] * 3
    assert "Page 1 of 2 (23 in all)" in first


def test_the_password_is_sealed_in_the_outbox_under_the_data_key_when_there_is_one(db, make, now):
    use("auditor")
    datakeys.configure(datakeys.new_key("sm4"))
    admin = make.user("admin", username="sysadmin")
    auditor = make.user("auditor", username="sec_auditor")
    clerk = make.user("county", username="yx_clerk", email="clerk@yx.gov.cn")
    with transaction(db) as s:
        accounts.reset_password(s, actor=make.actor(admin), user_id=clerk.id, now=now)
    [pending] = requests(db)
    with transaction(db) as s:
        approvals.decide(s, actor=make.actor(auditor), request_id=pending.id, approve=True, confirmed=True,
                         comment=None, now=now)
    [message] = outbox(db)
    sealed = message.params["password_sealed"]
    assert sealed.startswith(f"enc1:{datakeys.KEYRING.current.kid}:")
    password = open_params(message.params, message.source)["password"]
    assert len(password) == 16
    with pytest.raises(ValueError):
        open_params(message.params, "account_request:999")  # another row's source does not open it


def test_the_approver_is_configured_and_production_refuses_an_unknown_one():
    assert account_approver({"ZYZ_ENV": "test"}) == "none"
    assert account_approver({"ZYZ_ENV": "production"}) == "auditor"
    assert account_approver({"ZYZ_ENV": "development"}) == "auditor"
    assert account_approver({"ZYZ_ENV": "test", "ACCOUNT_APPROVER": " Office "}) == "office"
    with pytest.raises(ConfigError) as refused:
        check_production({"ZYZ_ENV": "production", "ACCOUNT_APPROVER": "admin"})
    assert str(refused.value) == "ZYZ_ACCOUNT_APPROVER must be one of auditor, office, none, not 'admin'"
