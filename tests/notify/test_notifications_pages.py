"""The pages: the notification centre (event texts from the templates, read and open), one's preferences,
an admin setting another user's, the office's failed messages with retry, delivery status on the case."""

from __future__ import annotations

from sqlmodel import select
from test_notifications_email import email_rows, free_port, orders

from conftest import csrf_token, login
from notifications.dispatcher import dispatch
from notifications.settings import NotifySettings, SmsSettings, SmtpSettings
from workflow.core.db import transaction
from workflow.core.models import AuditEvent, Notification, NotificationPreference, User


def _fail_every_email(db, now):
    """Nothing listens on the SMTP port, and one try is all there is: every e-mail fails."""
    settings = NotifySettings(smtp=SmtpSettings(host="127.0.0.1", port=free_port(), security="none", timeout=2),
                              sms=SmsSettings(provider="console"), max_attempts=1)
    return dispatch(db, now=now, settings=settings)


def test_the_centre_shows_event_texts_and_read_and_open_goes_to_the_case(client, make, db):
    _, (county,), (order,) = orders(make)
    login(client, county.username)
    page = client.get("/notifications").get_data(as_text=True)
    assert f"您有新的限期整改通知{order.number}，整改期限{order.data['due_date']}，请登录系统签收办理。" in page
    assert client.get("/notifications?unread=1").status_code == 200
    with transaction(db) as s:
        notice = s.exec(select(Notification).where(Notification.user_id == county.id,
                                                   Notification.kind == "event")).one()
    opened = client.post(f"/notifications/{notice.id}/read",
                         data={"csrf_token": csrf_token(client, "/notifications"), "open": "1"})
    assert opened.status_code == 302 and opened.headers["Location"].endswith(f"/cases/{order.id}")
    with transaction(db) as s:
        assert s.get(Notification, notice.id).read_at is not None
    client.post("/language", data={"lang": "en", "csrf_token": csrf_token(client, "/notifications"), "next": "/"})
    english = client.get("/notifications").get_data(as_text=True)
    assert f"New rectification order {order.number}, due {order.data['due_date']}." in english


def test_my_preferences_page(client, make, db):
    user = make.user("county", email="wang@yx.gov.cn")
    login(client, user.username)
    form = client.get("/notifications/preferences")
    assert form.status_code == 200 and 'name="mobile"' in form.get_data(as_text=True)
    token = csrf_token(client, "/notifications/preferences")
    refused = client.post("/notifications/preferences", data={
        "csrf_token": token, "email": "wang@yx.gov.cn", "mobile": "", "quiet_start": "22:00", "quiet_end": "07:00",
        "language": "zh", "event_email": "on"})
    assert refused.status_code == 422
    assert "期限提醒和逾期通知不能同时关闭短信和电子邮件" in refused.get_data(as_text=True)
    bad = client.post("/notifications/preferences", data={
        "csrf_token": token, "email": "wang@yx.gov.cn", "mobile": "0353-1234567", "deadline_sms": "on",
        "quiet_start": "22:00", "quiet_end": "07:00", "language": "zh"})
    assert bad.status_code == 422 and "手机号码应为11位中国大陆手机号" in bad.get_data(as_text=True)
    saved = client.post("/notifications/preferences", data={
        "csrf_token": token, "email": "wang@yx.gov.cn", "mobile": "+86 139 1234 5678", "deadline_sms": "on",
        "deadline_email": "on", "quiet_start": "21:00", "quiet_end": "08:00", "language": "en"})
    assert saved.status_code == 302
    with transaction(db) as s:
        assert s.get(User, user.id).mobile == "13912345678"
        prefs = s.get(NotificationPreference, user.id)
        assert (prefs.deadline_sms, prefs.event_email, prefs.quiet_start, prefs.language) == (True, False, "21:00",
                                                                                              "en")
        assert prefs.updated_by_id == user.id


def test_an_admin_sets_another_users_preferences_and_contact(client, make, db):
    user = make.user("county")
    admin = make.user("admin")
    login(client, user.username)
    assert client.get(f"/admin/users/{user.id}/notifications").status_code == 403
    client.post("/logout", data={"csrf_token": csrf_token(client, "/notifications")})
    login(client, admin.username)
    page = client.get(f"/admin/users/{user.id}/notifications")
    assert page.status_code == 200 and user.username in page.get_data(as_text=True)
    assert client.get("/admin/users/999999/notifications").status_code == 404
    saved = client.post(f"/admin/users/{user.id}/notifications", data={
        "csrf_token": csrf_token(client, f"/admin/users/{user.id}/notifications"), "email": "li@yx.gov.cn",
        "mobile": "13700001111", "deadline_sms": "on", "event_email": "on", "quiet_start": "22:00",
        "quiet_end": "07:00", "language": "zh"})
    assert saved.status_code == 302
    with transaction(db) as s:
        row = s.get(User, user.id)
        assert (row.email, row.mobile) == ("li@yx.gov.cn", "13700001111")
        assert s.get(NotificationPreference, user.id).updated_by_id == admin.id
        assert s.exec(select(AuditEvent).where(AuditEvent.kind == "notification_preferences_changed")).one().actor_id \
            == admin.id


def test_the_office_sees_failed_messages_and_retries_them(client, make, db, now):
    office, (county,), (order,) = orders(make)
    _fail_every_email(db, now)
    (row,) = email_rows(db, user_id=county.id)
    assert row.status == "failed"
    login(client, county.username)
    assert client.get("/notifications/failed").status_code == 403
    client.post("/logout", data={"csrf_token": csrf_token(client, "/notifications")})
    login(client, office.username)
    page = client.get("/notifications/failed").get_data(as_text=True)
    assert order.number in page and "unreachable" in page and "下达整改通知" in page
    retried = client.post(f"/notifications/outbox/{row.id}/retry",
                          data={"csrf_token": csrf_token(client, "/notifications/failed")})
    assert retried.status_code == 302
    (row,) = email_rows(db, user_id=county.id)
    assert (row.status, row.retries, row.attempts) == ("queued", 1, 0)
    again = client.post(f"/notifications/outbox/{row.id}/retry",
                        data={"csrf_token": csrf_token(client, "/notifications/failed")}, follow_redirects=True)
    assert "该消息没有发送失败，无需重发。" in again.get_data(as_text=True)


def test_the_case_page_shows_delivery_status(client, make, db, now):
    office, (county,), (order,) = orders(make)
    other = make.user("county", email="other@yx.gov.cn")  # joins after the order: was not told
    _fail_every_email(db, now)
    login(client, office.username)
    page = client.get(f"/cases/{order.id}").get_data(as_text=True)
    start = page.index('id="deliveries"')
    section = page[start:page.index("</section>", start)]
    assert "county用户" in section and "unreachable" in section  # the failed e-mail, with the error
    assert section.count("/retry") == 1  # the office may retry it from here
    client.post("/logout", data={"csrf_token": csrf_token(client, "/notifications")})
    login(client, county.username)
    own = client.get(f"/cases/{order.id}").get_data(as_text=True)
    assert "unreachable" in own and "/retry" not in own
    client.post("/logout", data={"csrf_token": csrf_token(client, "/notifications")})
    login(client, other.username)
    theirs = client.get(f"/cases/{order.id}").get_data(as_text=True)
    assert 'id="deliveries"' not in theirs and "unreachable" not in theirs
