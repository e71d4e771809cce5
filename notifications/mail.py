"""The e-mail channel: RFC 5322 messages in UTF-8, sent over one SMTP connection per batch."""

from __future__ import annotations

import contextlib
import hashlib
import logging
import smtplib
import ssl
from datetime import datetime
from email import policy
from email.headerregistry import Address, HeaderRegistry
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr
from types import TracebackType
from typing import Any

from notifications.compose import EmailText
from notifications.errors import DeliveryError
from notifications.settings import SmtpSettings

log = logging.getLogger(__name__)


_PARSED: dict[tuple[type, str, str], Any] = {}
_FOLDED: dict[tuple[type, str, str, int | None, str], str] = {}
_REMEMBER = 2048  # entries; the cache starts afresh when full (most headers recur: MIME-Version, the parts' types)


class _Remembered:
    """Mixed into each header class: the same header text parses and folds the same way every time, so the
    e-mail package's parser and folder (half the cost of a message) run once per distinct header."""

    def __new__(cls, name: str, value: Any) -> Any:
        if not isinstance(value, str):
            return super().__new__(cls, name, value)  # type: ignore[call-arg]  # the email package's header classes declare no __new__ signature
        key = (cls, name, value)
        found = _PARSED.get(key)
        if found is None:
            if len(_PARSED) >= _REMEMBER:
                _PARSED.clear()
            found = _PARSED[key] = super().__new__(cls, name, value)  # type: ignore[call-arg]  # the email package's header classes declare no __new__ signature
        return found

    def fold(self, *, policy: Any) -> str:
        key = (type(self), self.name, str(self), policy.max_line_length, policy.linesep)  # type: ignore[attr-defined]  # the email package's header classes declare no name attribute
        found = _FOLDED.get(key)
        if found is None:
            if len(_FOLDED) >= _REMEMBER:
                _FOLDED.clear()
            found = _FOLDED[key] = super().fold(policy=policy)  # type: ignore[misc]  # the email package's header classes declare no fold()
        return found


class _HeaderClasses(HeaderRegistry):
    """The standard registry, making each header class once (it builds a new class on every lookup otherwise)
    and with parsing and folding remembered (_Remembered)."""

    def __init__(self) -> None:
        super().__init__()
        self._made: dict[str, type] = {}

    def __getitem__(self, name: str) -> type:
        key = name.lower()
        made = self._made.get(key)
        if made is None:
            standard = super().__getitem__(name)
            made = self._made[key] = type(standard.__name__, (_Remembered, standard), {})
        return made


BOUNDARY = "=_zyz_alternative_parts_="
POLICY = policy.SMTP.clone(header_factory=_HeaderClasses())  # policy.SMTP: CRLF, RFC 2047 for non-ASCII


def sender_address(settings: SmtpSettings) -> Address:
    name, addr = parseaddr(settings.sender)
    return Address(display_name=name, addr_spec=addr or "noreply@localhost")


def message_id(key: str, domain: str) -> str:
    """The Message-ID of the message with idempotency key `key`: the same on every try."""
    return f"<zyz.{hashlib.sha256(key.encode()).hexdigest()[:40]}@{domain}>"


def build(*, sender: Address, to_name: str, to_addr: str, text: EmailText, msgid: str, now: datetime) -> EmailMessage:
    """A multipart/alternative message (plain text, then HTML); non-ASCII headers are RFC 2047 encoded."""
    message = EmailMessage(policy=POLICY)
    # Addresses go in as their text: the header classes parse an Address object's text anyway, and text is
    # what _Remembered can recognise (the sender is the same on every message, a recipient on many).
    message["From"] = str(sender)
    message["To"] = str(Address(display_name=to_name, addr_spec=to_addr))
    message["Subject"] = text.subject
    message["Date"] = format_datetime(now)
    message["Message-ID"] = msgid
    message["Auto-Submitted"] = "auto-generated"  # RFC 3834: no vacation replies to this
    # base64 named outright: left to choose, the e-mail package encodes every body twice to compare
    message.set_content(text.text, subtype="plain", charset="utf-8", cte="base64")
    message.add_alternative(text.html, subtype="html", charset="utf-8", cte="base64")
    # A fixed boundary (base64 bodies cannot contain it; the generator checks): a random one per message
    # costs a regular expression compiled per message.
    message.set_boundary(BOUNDARY)
    return message


def _code_error(code: int, reply: bytes | str, what: str) -> DeliveryError:
    answer = reply.decode(errors="replace") if isinstance(reply, bytes) else str(reply)
    return DeliveryError(f"SMTP {code} {what}: {answer}"[:500], transient=400 <= code < 500)


class Mailer:
    """One SMTP connection, opened at the first message and reused for the rest of the batch."""

    def __init__(self, settings: SmtpSettings):
        self.settings = settings
        self.sender = sender_address(settings)
        self._conn: smtplib.SMTP | None = None
        self._down: DeliveryError | None = None  # the server failed: the rest of the batch waits
        self.connections = 0

    @property
    def is_down(self) -> bool:
        return self._down is not None

    @property
    def down_error(self) -> DeliveryError | None:
        return self._down

    def __enter__(self) -> Mailer:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def close(self) -> None:
        if self._conn is not None:
            try:
                self._conn.quit()
            except (smtplib.SMTPException, OSError):
                self._conn.close()
            self._conn = None

    def _context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=self.settings.ca_file or None)

    def _connect(self) -> smtplib.SMTP:
        s = self.settings
        conn: smtplib.SMTP | None = None
        try:
            if s.security == "ssl":
                conn = smtplib.SMTP_SSL(s.host, s.effective_port, timeout=s.timeout, context=self._context())
            else:
                conn = smtplib.SMTP(s.host, s.effective_port, timeout=s.timeout)
                if s.security == "starttls":
                    conn.starttls(context=self._context())
            if s.user:
                conn.login(s.user, s.password)
        except smtplib.SMTPAuthenticationError as exc:
            self._close_quietly(conn)
            raise DeliveryError(f"SMTP login refused: {exc.smtp_code} {exc.smtp_error!r}"[:500], transient=True,
                                connection=True) from None
        except (smtplib.SMTPException, OSError, ValueError) as exc:  # ValueError: a non-ASCII login (smtplib)
            self._close_quietly(conn)
            raise DeliveryError(f"SMTP server {s.host}:{s.effective_port} unreachable: {type(exc).__name__}: {exc}"
                                [:500], transient=True, connection=True) from None
        self.connections += 1
        return conn

    @staticmethod
    def _close_quietly(conn: smtplib.SMTP | None) -> None:
        if conn is not None:
            with contextlib.suppress(OSError):
                conn.close()

    def send(self, message: EmailMessage, to_addr: str) -> str:
        """Hand one message to the server; returns its answer or raises DeliveryError."""
        return self.send_bytes(message.as_bytes(), to_addr, subject=str(message["Subject"]))

    def send_bytes(self, data: bytes, to_addr: str, *, subject: str = "") -> str:
        """Hand one flattened message (CRLF line ends) to the server."""
        if self._down is not None:
            raise self._down
        if not self.settings.host:
            log.info("e-mail (no ZYZ_SMTP_HOST, not sent) to %s: %s", to_addr, subject)
            return "console"
        if self._conn is None:
            try:
                self._conn = self._connect()
            except DeliveryError as exc:
                self._down = exc
                raise
        try:
            refused = self._conn.sendmail(self.sender.addr_spec, [to_addr], data)
        except smtplib.SMTPRecipientsRefused as exc:
            code, reply = exc.recipients.get(to_addr, (550, b"refused"))
            raise _code_error(code, reply, "recipient refused") from None
        except smtplib.SMTPResponseException as exc:  # sender refused, data refused
            error = _code_error(exc.smtp_code, exc.smtp_error, "refused")
            if exc.smtp_code in (421, 554) or exc.smtp_code < 400:
                self._drop()
            raise error from None
        except (smtplib.SMTPException, OSError) as exc:  # the connection broke or timed out
            self._drop()
            raise DeliveryError(f"SMTP connection failed: {type(exc).__name__}: {exc}"[:500],
                                transient=True) from None
        if refused:
            code, reply = refused[to_addr]
            raise _code_error(code, reply, "recipient refused")
        return "250"

    def _drop(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(OSError):
                self._conn.close()
            self._conn = None
