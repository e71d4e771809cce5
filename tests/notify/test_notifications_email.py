"""E-mail against a real SMTP server (aiosmtpd on loopback): what arrives, encoded how, over which
connection; STARTTLS and SSL with login; the server down and back; refusals; a rolled-back transition."""

from __future__ import annotations

import socket
import ssl
import subprocess
import threading
from datetime import timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult
from sqlmodel import select

from notifications.dispatcher import dispatch
from notifications.mail import message_id
from notifications.settings import NotifySettings, SmsSettings, SmtpSettings
from workflow.core import audit
from workflow.core.db import transaction
from workflow.core.engine import fire
from workflow.core.models import AuditEvent, Deadline, OutboxMessage, User
from workflow.core.sweep import sweep

SENDER = "阳泉市专业镇办公室 <noreply@zyz.yq.gov.cn>"


def free_port() -> int:
    """A loopback port nobody listens on (aiosmtpd's Controller cannot take port 0)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class SmtpSink:
    """An SMTP server on loopback that keeps every message it accepts."""

    def __init__(self, port: int | None = None, *, on_data=None, refuse_rcpt: dict[str, str] | None = None,
                 **controller_options):
        self.port = port or free_port()
        self.on_data = on_data
        self.refuse_rcpt = refuse_rcpt or {}
        self.options = controller_options
        self.received: list[tuple[str, list[str], bytes]] = []
        self.connections = 0
        self.controller: Controller | None = None
        self._lock = threading.Lock()

    def start(self) -> SmtpSink:
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port, **self.options)
        self.controller.start()
        return self

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        session.host_name = hostname
        if not session.ssl or self.options.get("ssl_context"):  # STARTTLS says EHLO twice on one connection
            with self._lock:
                self.connections += 1
        return responses

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.refuse_rcpt:
            return self.refuse_rcpt[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        with self._lock:
            self.received.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.original_content))
            count = len(self.received)
        if self.on_data:
            self.on_data(count)
        return "250 2.0.0 Message accepted for delivery"

    def messages(self) -> list[EmailMessage]:
        return [message_from_bytes(raw, policy=policy.default) for _, _, raw in self.received]

    def message_ids(self) -> list[str]:
        return [m["Message-ID"] for m in self.messages()]


@pytest.fixture
def smtp():
    sink = SmtpSink().start()
    yield sink
    sink.stop()


def settings_for(port: int, **smtp) -> NotifySettings:
    return NotifySettings(smtp=SmtpSettings(**{"host": "127.0.0.1", "port": port, "security": "none",
                                               "sender": SENDER, "timeout": 5, **smtp}),
                          sms=SmsSettings(provider="console"), base_url="https://zyz.yq.gov.cn")


def email_rows(db, **where):
    with transaction(db) as s:
        query = select(OutboxMessage).where(OutboxMessage.channel == "email").order_by(OutboxMessage.id)
        for key, value in where.items():
            query = query.where(getattr(OutboxMessage, key) == value)
        return s.exec(query).all()


def orders(make, count=1, *, users=("c1@yx.gov.cn",), county="盂县"):
    office = make.user("office")
    people = [make.user("county", county=county, email=e, mobile=f"1370000{i:04d}") for i, e in enumerate(users)]
    town = make.town(county=county)
    cases = [make.case("rectification", state="rectifying", by=office, town=town, county=county,
                       data={"problem": f"问题 {i}"}) for i in range(count)]
    return office, people, cases


def due_reminders(db, cases, offset=7):
    with transaction(db) as s:
        return s.exec(select(Deadline).where(Deadline.case_id.in_([c.id for c in cases]), Deadline.kind == "reminder",
                                             Deadline.offset_days == offset, Deadline.status == "open")).all()


def test_a_reminder_arrives_with_the_right_recipients_a_chinese_subject_and_both_parts(make, db, now, smtp):
    _, _, (order,) = orders(make, users=("wang@yx.gov.cn", "li@yx.gov.cn"))
    make.user("county", county="平定县", email="zhao@pd.gov.cn")  # another county: not told
    settings = settings_for(smtp.port)
    dispatch(db, now=now, settings=settings)  # the order's own announcement
    smtp.received.clear()
    smtp.connections = 0
    (reminder,) = due_reminders(db, [order])
    sweep(db, now=reminder.due_at)
    result = dispatch(db, now=reminder.due_at, settings=settings)
    assert result.sent == 4 and result.failed == 0  # two e-mails, two SMS (console)

    assert sorted(rcpts[0] for _, rcpts, _ in smtp.received) == ["li@yx.gov.cn", "wang@yx.gov.cn"]
    assert all(sender == "noreply@zyz.yq.gov.cn" and len(rcpts) == 1 for sender, rcpts, _ in smtp.received)
    due = order.data["due_date"]
    for message, (_, (rcpt,), raw) in zip(smtp.messages(), smtp.received, strict=True):
        assert message["Subject"] == f"【期限提醒】{order.number} 整改期限还有 7 个工作日（{due}）"
        head = raw.split(b"\r\n\r\n", 1)[0]
        assert head.isascii() and b"=?utf-8?" in head  # RFC 2047 encoded words, nothing raw
        assert message["From"].addresses[0].display_name == "阳泉市专业镇办公室"
        assert message["To"].addresses[0].display_name == "county用户" and message["To"].addresses[0].addr_spec == rcpt
        assert message.get_content_type() == "multipart/alternative"
        plain, html = message.get_body(("plain",)), message.get_body(("html",))
        assert [p.get_content_type() for p in message.iter_parts()] == ["text/plain", "text/html"]
        assert plain.get_content_charset() == html.get_content_charset() == "utf-8"
        assert f"案件 {order.number}《{order.title}》的整改期限为 {due}" in plain.get_content()
        assert f"https://zyz.yq.gov.cn/cases/{order.id}" in plain.get_content()
        assert f"<strong>{order.number}</strong>" in html.get_content()
        assert message["Auto-Submitted"] == "auto-generated"
    rows = email_rows(db, source=f"deadline:{reminder.id}")
    assert sorted(m["Message-ID"] for m in smtp.messages()) == sorted(r.message_id for r in rows)
    assert all(r.message_id == message_id(r.idempotency_key, "zyz.yq.gov.cn") for r in rows)
    assert {(r.status, r.attempts, r.address) for r in rows} == {("sent", 1, "wang@yx.gov.cn"),
                                                                 ("sent", 1, "li@yx.gov.cn")}
    assert smtp.connections == 1  # one connection for the batch
    with transaction(db) as s:
        sent = s.exec(select(AuditEvent).where(AuditEvent.kind == "notification_sent",
                                               AuditEvent.case_id == order.id)).all()
        assert len(sent) == 8  # the announcement of the order and the reminder, to two people, e-mail and SMS
        assert audit.verify(s).ok


def test_english_readers_get_english(make, db, now, smtp):
    from notifications import preferences

    _, (county,), (order,) = orders(make)
    with transaction(db) as s:
        preferences.save(s, user_id=county.id, actor=make.actor(county), now=now, email=county.email,
                         mobile=county.mobile, language="en")
    dispatch(db, now=now, settings=settings_for(smtp.port))
    (message,) = smtp.messages()
    assert message["Subject"] == f"[Rectification order] {order.number}, due {order.data['due_date']}"
    assert "The leading group's office has issued rectification order" in message.get_body(("plain",)).get_content()


@pytest.fixture(scope="module")
def certificate(tmp_path_factory):
    """A self-signed certificate for 127.0.0.1, and the context the test server serves it with."""
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    return cert, context


def _authenticator(logins):
    def check(server, session, envelope, mechanism, auth_data):
        ok = (auth_data.login, auth_data.password) == (b"zyz-mailer", b"Mail-2026!")
        logins.append((mechanism, ok))
        return AuthResult(success=ok, handled=False)  # not handled: the server answers 535 itself

    return check


# aiosmtpd warns about AUTH without its STARTTLS requirement; with ssl the whole connection is TLS already.
@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS:UserWarning")
@pytest.mark.parametrize("security", ["starttls", "ssl"])
def test_starttls_or_ssl_with_login(make, db, now, certificate, security):
    cert, context = certificate
    logins: list = []
    if security == "starttls":
        tls = {"tls_context": context, "require_starttls": True, "auth_require_tls": True}
    else:  # the whole connection is TLS: aiosmtpd does not count it as "TLS" for its own AUTH check
        tls = {"ssl_context": context, "auth_require_tls": False}
    sink = SmtpSink(auth_required=True, authenticator=_authenticator(logins), **tls).start()
    try:
        orders(make, users=("wang@yx.gov.cn", "li@yx.gov.cn"))
        settings = settings_for(sink.port, security=security, user="zyz-mailer", password="Mail-2026!",
                                ca_file=str(cert))
        result = dispatch(db, now=now, settings=settings)
        connections = sink.connections
        wrong = settings_for(sink.port, security=security, user="zyz-mailer", password="wrong", ca_file=str(cert))
        with transaction(db) as s:  # one more message, for the wrong password
            s.connection().execute(OutboxMessage.__table__.update().values(status="queued", next_attempt_at=now))
        refused = dispatch(db, now=now, settings=wrong)
    finally:
        sink.stop()
    assert result.sent == 4 and len(sink.received) == 2 and connections == 1
    assert logins[0][1] is True and logins[-1][1] is False
    assert refused.sent == 2 and refused.retrying == 2  # SMS (console) went; e-mail waits for a login that works
    assert all("SMTP login refused: 535" in r.last_error for r in email_rows(db))


def test_the_server_down_then_back_every_message_arrives_once(make, db, now):
    sink = SmtpSink()  # its port is reserved, nothing listens yet
    _, _, cases = orders(make, count=50)
    reminders = due_reminders(db, cases)
    assert len(reminders) == 50
    at = max(r.due_at for r in reminders)
    sweep(db, now=at)
    settings = settings_for(sink.port)
    down = dispatch(db, now=at, settings=settings)
    queued = email_rows(db)
    assert len(queued) == 100  # each order's announcement and its reminder
    assert down.retrying == 100 and down.sent == 100  # the e-mails wait; the SMS (console) went
    assert {(r.status, r.attempts, r.next_attempt_at) for r in queued} == {("queued", 1, at + timedelta(seconds=30))}
    assert all("unreachable" in r.last_error for r in queued)
    assert dispatch(db, now=at + timedelta(seconds=29), settings=settings).total == 0  # not due yet

    sink.start()
    try:
        back = dispatch(db, now=at + timedelta(seconds=30), settings=settings)
        again = dispatch(db, now=at + timedelta(hours=5), settings=settings)
    finally:
        sink.stop()
    assert back.sent == 100 and again.total == 0
    ids = sink.message_ids()
    assert len(ids) == 100 and len(set(ids)) == 100
    rows = email_rows(db)
    assert sorted(ids) == sorted(r.message_id for r in rows)
    assert {(r.status, r.attempts) for r in rows} == {("sent", 2)}
    reminder_ids = {r.message_id for r in rows if r.source.startswith("deadline:")}
    assert len(reminder_ids) == 50 and reminder_ids <= set(ids)


def test_a_refused_recipient_fails_for_good_and_a_4xx_is_retried(make, db, now):
    sink = SmtpSink(refuse_rcpt={"gone@yx.gov.cn": "550 5.1.1 用户不存在 no such user",
                                 "full@yx.gov.cn": "452 4.2.2 mailbox full"}).start()
    try:
        orders(make, users=("gone@yx.gov.cn", "full@yx.gov.cn", "ok@yx.gov.cn"))
        settings = settings_for(sink.port)
        first = dispatch(db, now=now, settings=settings)
        rows = {r.address: r for r in email_rows(db)}
        waits = []
        while rows["full@yx.gov.cn"].status == "queued":  # the 4xx is tried again, waiting longer each time
            waits.append((rows["full@yx.gov.cn"].next_attempt_at - now).total_seconds())
            now = rows["full@yx.gov.cn"].next_attempt_at
            dispatch(db, now=now, settings=settings)
            rows = {r.address: r for r in email_rows(db)}
    finally:
        sink.stop()
    assert first.sent == 4 and first.failed == 1 and first.retrying == 1  # 3 SMS + 1 e-mail
    assert waits == [30, 60, 120, 240, 480, 960, 1920]  # then the 8th try, the last one, fails too
    gone, full, ok = rows["gone@yx.gov.cn"], rows["full@yx.gov.cn"], rows["ok@yx.gov.cn"]
    assert (gone.status, gone.error_kind, gone.attempts) == ("failed", "permanent", 1)
    assert gone.last_error.startswith("SMTP 550 recipient refused")
    assert (full.status, full.error_kind, full.attempts) == ("failed", "transient", 8)
    assert "452" in full.last_error
    assert ok.status == "sent" and len(sink.received) == 1
    with transaction(db) as s:
        failed = s.exec(select(AuditEvent).where(AuditEvent.kind == "notification_failed")).all()
    assert len(failed) == 2


def test_backoff_doubles_up_to_the_cap():
    from notifications.dispatcher import backoff

    settings = NotifySettings(backoff_seconds=30, backoff_max_seconds=600)
    assert [backoff(settings, n).total_seconds() for n in range(1, 8)] == [30, 60, 120, 240, 480, 600, 600]


def test_a_transition_that_rolls_back_sends_nothing(make, db, now, smtp):
    office, (county,), (order,) = orders(make)
    settings = settings_for(smtp.port)
    dispatch(db, now=now, settings=settings)
    before = len(smtp.received)
    assert before == 1  # the order's announcement

    class Boom(Exception):
        pass

    with pytest.raises(Boom), transaction(db) as s:
        fire(session=s, case_id=order.id, trigger="request_extension", actor=make.actor(county), now=now,
             payload={"requested_due_date": "2027-03-31"}, comment="需要更多时间。")
        raise Boom  # e.g. a later step of the same request failed
    assert dispatch(db, now=now + timedelta(minutes=1), settings=settings).total == 0
    assert len(smtp.received) == before
    with transaction(db) as s:  # the same step, committed this time, is announced to the office
        s.connection().execute(User.__table__.update().where(User.__table__.c.id == office.id)
                               .values(email="office@gxj.yq.gov.cn"))
        fire(session=s, case_id=order.id, trigger="request_extension", actor=make.actor(county), now=now,
             payload={"requested_due_date": "2027-03-31"}, comment="需要更多时间。")
    assert dispatch(db, now=now + timedelta(minutes=2), settings=settings).sent == 1
    assert [rcpts for _, rcpts, _ in smtp.received[before:]] == [["office@gxj.yq.gov.cn"]]
