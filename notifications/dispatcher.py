"""The dispatcher: claim due outbox rows, hand each to its channel, record what became of it.

Claims work like the deadline sweep's: a conditional UPDATE on SQLite, SELECT ... FOR UPDATE SKIP LOCKED
on PostgreSQL, so several dispatchers share the queue and never take the same row.

Crash safety: what may have been accepted is never handed over again. Before a message goes to the
server or gateway its row is committed as `sending` (in the same commit as the outcome of the message
before it, so a batch costs one commit per message). A dispatcher that dies leaves at most one row in
`sending`: the next dispatcher cannot know whether the server took it, so it does not resend it; it
marks it failed "in doubt" for the office, who may check with the recipient and retry by hand. Rows the
dead dispatcher had claimed but not begun are put back in the queue.

A failure the channel reports (SMTP down, a 4xx reply, gateway 5xx, a timeout) is retried with
exponential backoff, with the same Message-ID, up to the configured number of tries; a refusal for good
(5xx reply, unknown number) fails at once. Failed rows are shown to the office, who can retry them.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import sessionmaker
from sqlmodel import Session

from notifications import compose
from notifications.errors import DeliveryError
from notifications.mail import Mailer, build, message_id
from notifications.settings import NotifySettings
from notifications.sms import SmsGateway, build_gateway, mask
from workflow.core import audit
from workflow.core.actors import Actor
from workflow.core.db import Prepared, is_sqlite, table_of, transaction
from workflow.core.models import Case, NotificationPreference, OutboxMessage, OutboxStatus, User
from workflow.core.sealing import FIXED_ADDRESS, open_params
from workflow.core.sealing import SUFFIX as SEALED
from workflow.notify.rules import Preferences, quiet_until, rules

log = logging.getLogger(__name__)
_outbox = table_of(OutboxMessage)
_users = table_of(User)
_prefs = table_of(NotificationPreference)
_cases = table_of(Case)
# Built once: they run for every message.
_MARK = Prepared(_outbox.update().where(_outbox.c.id == sa.bindparam("b_id"),
                                        _outbox.c.claimed_by == sa.bindparam("b_worker")))
IN_DOUBT = "in doubt: the dispatcher stopped while handing this message over; it may have been delivered"


@dataclass
class DispatchResult:
    sent: int = 0
    retrying: int = 0
    failed: int = 0
    deferred: int = 0  # SMS waiting for the end of quiet hours
    requeued: int = 0  # claims of a dead dispatcher put back
    in_doubt: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def add(self, name: str) -> None:
        with self._lock:  # the connections' threads count into one result
            setattr(self, name, getattr(self, name) + 1)

    @property
    def total(self) -> int:
        return self.sent + self.retrying + self.failed + self.deferred + self.requeued + self.in_doubt


def worker_name(suffix: str = "") -> str:
    return f"{socket.gethostname()}:{os.getpid()}{':' + suffix if suffix else ''}"


def _is_gone(worker: str | None) -> bool:
    """True when `worker` ran on this host in a process that no longer exists."""
    host, _, rest = (worker or "").partition(":")
    pid = rest.split(":", 1)[0]
    if host != socket.gethostname() or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def backoff(settings: NotifySettings, attempts: int) -> timedelta:
    """The wait before the next try after `attempts` tries: doubling from the base, capped."""
    seconds = min(settings.backoff_seconds * 2 ** max(attempts - 1, 0), settings.backoff_max_seconds)
    return timedelta(seconds=seconds)


# --- claiming and reconciling ----------------------------------------------------------------------------------


def due_query(now: datetime, limit: int) -> sa.Select[Any]:
    return (sa.select(_outbox.c.id).where(_outbox.c.status == OutboxStatus.queued.value,
                                          _outbox.c.next_attempt_at <= now)
            .order_by(_outbox.c.next_attempt_at, _outbox.c.id).limit(limit))


def claim(session: Session, *, now: datetime, worker: str, limit: int) -> list[Any]:
    """Claim up to `limit` due rows for `worker`, with what sending needs (address, name, preferences)."""
    conn = session.connection()
    values = {"status": OutboxStatus.claimed.value, "claimed_by": worker, "claimed_at": now}
    if is_sqlite(conn):
        ids = list(conn.execute(
            _outbox.update().where(_outbox.c.id.in_(due_query(now, limit).scalar_subquery()),
                                   _outbox.c.status == OutboxStatus.queued.value)
            .values(**values).returning(_outbox.c.id)).scalars())
    else:
        ids = list(conn.execute(due_query(now, limit).with_for_update(skip_locked=True)).scalars())
        if ids:
            conn.execute(_outbox.update().where(_outbox.c.id.in_(ids)).values(**values))
    if not ids:
        return []
    query = (sa.select(_outbox, _users.c.email, _users.c.mobile, _users.c.display_name, _users.c.is_active,
                       _prefs.c.language, _prefs.c.quiet_start, _prefs.c.quiet_end, _cases.c.county_id)
             .join(_users, _users.c.id == _outbox.c.user_id)
             .outerjoin(_prefs, _prefs.c.user_id == _outbox.c.user_id)
             .outerjoin(_cases, _cases.c.id == _outbox.c.case_id)
             .where(_outbox.c.id.in_(ids)).order_by(_outbox.c.channel, _outbox.c.next_attempt_at, _outbox.c.id))
    return list(conn.execute(query).all())


def reconcile(sessions: sessionmaker[Session], *, now: datetime, worker: str, lease: timedelta,
              result: DispatchResult | None = None) -> DispatchResult:
    """Take back what a dead dispatcher held: claimed rows return to the queue, a `sending` row is in doubt."""
    result = result or DispatchResult()
    with transaction(sessions) as session:
        conn = session.connection()
        held = conn.execute(sa.select(_outbox.c.id, _outbox.c.status, _outbox.c.claimed_by, _outbox.c.claimed_at,
                                      _outbox.c.case_id, _outbox.c.user_id, _outbox.c.channel, _outbox.c.attempts,
                                      _cases.c.county_id)
                            .outerjoin(_cases, _cases.c.id == _outbox.c.case_id)
                            .where(_outbox.c.status.in_([OutboxStatus.claimed.value, OutboxStatus.sending.value])))
        for row in held.all():
            # a process runs one dispatch at a time: what its connections hold now is left from a run that raised
            own = row.claimed_by == worker or (row.claimed_by or "").startswith(f"{worker}:")
            stale = own or _is_gone(row.claimed_by) or (
                row.claimed_at is not None and row.claimed_at < now - lease)
            if not stale:
                continue
            guard = _outbox.update().where(_outbox.c.id == row.id, _outbox.c.status == row.status,
                                           _outbox.c.claimed_by == row.claimed_by)
            if row.status == OutboxStatus.claimed.value:
                if conn.execute(guard.values(status=OutboxStatus.queued.value, claimed_by=None)).rowcount:
                    result.add("requeued")
                continue
            changed = conn.execute(guard.values(status=OutboxStatus.failed.value, claimed_by=None, failed_at=now,
                                                error_kind="in_doubt", last_error=IN_DOUBT)).rowcount
            if changed:
                result.add("in_doubt")
                audit.record(session, kind="notification_failed", now=now, actor=Actor.system(), case_id=row.case_id,
                             county_id=row.county_id,
                             data={"outbox_id": row.id, "channel": row.channel, "user_id": row.user_id,
                                   "error_kind": "in_doubt", "error": IN_DOUBT, "attempts": row.attempts,
                                   "dispatcher": row.claimed_by})
    return result


# --- delivering ------------------------------------------------------------------------------------------------


@dataclass
class _Outcome:
    row: Any
    values: dict[str, Any]
    event: str | None = None  # notification_sent | notification_failed
    data: dict[str, Any] = field(default_factory=dict)


class _Batch:
    """One claimed batch: every hand-over is committed together with the outcomes before it."""

    def __init__(self, sessions: sessionmaker[Session], *, now: datetime, worker: str, settings: NotifySettings,
                 gateway: SmsGateway, result: DispatchResult):
        self.sessions = sessions
        self.now = now
        self.worker = worker
        self.settings = settings
        self.gateway = gateway
        self.result = result
        self.pending: list[_Outcome] = []
        self.mailer = Mailer(settings.smtp)
        self.domain = self.mailer.sender.domain or "localhost"

    def run(self, rows: list[Any]) -> None:
        self.session = self.sessions()  # one session for the batch, one transaction per message
        try:
            for row in rows:
                self.one(row)
        finally:
            try:
                self.commit()
            finally:
                self.mailer.close()
                self.session.close()

    def commit(self, handover: dict[str, Any] | None = None) -> bool:
        """Write the outcomes so far (and mark the next row `sending`) in one transaction; False when the row to
        hand over is no longer this dispatcher's (another took it back after the lease ran out: it is not sent)."""
        if not self.pending and handover is None:
            return True
        session = self.session
        marked = True
        try:
            conn = session.connection()
            for outcome in self.pending:
                row = outcome.row
                # every write is guarded by the claim: a row taken back by another dispatcher is left to it
                done = _MARK.execute(conn, {**outcome.values, "b_id": row.id, "b_worker": self.worker})
                if outcome.event and done:
                    audit.record(session, kind=outcome.event, now=self.now, actor=Actor.system(),
                                 case_id=row.case_id, county_id=row.county_id,
                                 data={"outbox_id": row.id, "channel": row.channel, "user_id": row.user_id,
                                       "rule": row.rule, "template": row.template, **outcome.data})
            if handover is not None:
                marked = _MARK.execute(conn, {**handover, "b_worker": self.worker}) == 1
            session.commit()
        except BaseException:
            session.rollback()
            raise
        self.pending = []
        return marked

    def one(self, row: Any) -> None:
        prefs = Preferences(language=row.language or "zh", quiet_start=row.quiet_start or "22:00",
                            quiet_end=row.quiet_end or "07:00")
        address = row.email if row.channel == "email" else row.mobile
        if (row.params or {}).get(FIXED_ADDRESS) and row.address:
            address = row.address  # fixed when the message was written (a password goes where the approver saw)
        if row.channel == "sms":
            until = quiet_until(self.now, prefs.quiet_start, prefs.quiet_end)
            if until is not None:
                self.result.add("deferred")
                self.pending.append(_Outcome(row, {"status": OutboxStatus.queued.value, "claimed_by": None,
                                                   "next_attempt_at": until}))
                return
        if not row.is_active:
            self.fail(row, DeliveryError("the account is disabled", transient=False), attempts=row.attempts)
            return
        if not address:
            what = "e-mail address" if row.channel == "email" else "mobile number"
            self.fail(row, DeliveryError(f"no {what} on file", transient=False), attempts=row.attempts)
            return
        try:
            send, msgid = self.prepare(row, prefs, address)
        except (compose.TemplateError, DeliveryError, KeyError, ValueError) as exc:
            self.fail(row, DeliveryError(f"cannot compose: {exc}", transient=False), attempts=row.attempts)
            return
        attempts = row.attempts + 1
        if row.channel == "email" and self.mailer.is_down:
            self.fail(row, self.mailer.down_error, attempts=attempts)  # type: ignore[arg-type]  # set when the server is down, which is the only way here
            return
        if not self.commit({"b_id": row.id, "status": OutboxStatus.sending.value, "attempts": attempts,
                            "claimed_at": self.now, "address": address, "message_id": msgid}):
            log.warning("outbox %s: taken back by another dispatcher before it was handed over", row.id)
            return
        try:
            reference = send()
        except DeliveryError as exc:
            self.fail(row, exc, attempts=attempts)
            return
        except Exception as exc:  # unknown state: it may have gone out, so it is not retried blindly
            log.exception("outbox %s: unexpected error while sending", row.id)
            self.fail(row, DeliveryError(f"in doubt: {type(exc).__name__}: {exc}", transient=False),
                      attempts=attempts, kind="in_doubt")
            return
        self.result.add("sent")
        shown = mask(address) if row.channel == "sms" else address
        # claimed_by stays on a sent row: which dispatcher sent it
        values = {"status": OutboxStatus.sent.value, "sent_at": self.now,
                  "provider_ref": (reference or "")[:120] or None, "error_kind": None}
        if any(key.endswith(SEALED) for key in row.params or {}):  # a sent secret is not kept, even sealed
            values["params"] = {k: v for k, v in row.params.items() if not k.endswith(SEALED)}
        self.pending.append(_Outcome(row, values,
                                     "notification_sent", {"address": shown, "attempts": attempts,
                                                           "message_id": msgid, "provider_ref": reference}))

    def prepare(self, row: Any, prefs: Preferences, address: str) -> tuple[Callable[[], str], str | None]:
        """Compose the message; returns the call that hands it over, and the e-mail's Message-ID."""
        params = open_params(row.params or {}, row.source)  # a one-time password travels sealed
        if row.channel == "email":
            text = compose.email(row.template, prefs.language, params, recipient=row.display_name,
                                 base_url=self.settings.base_url, case_id=row.case_id)
            msgid = message_id(row.idempotency_key, self.domain)
            message = build(sender=self.mailer.sender, to_name=row.display_name, to_addr=address, text=text,
                            msgid=msgid, now=self.now)
            data = message.as_bytes()  # flattened once, before the hand-over is committed
            return (lambda: self.mailer.send_bytes(data, address, subject=text.subject)), msgid
        spec = rules().templates[row.template]
        sms_text = compose.sms(row.template, prefs.language, params, sign_name=self.settings.sms.sign_name)
        segments = compose.sms_segments(f"【{self.settings.sms.sign_name}】{sms_text}")
        if segments > compose.MAX_SMS_SEGMENTS:
            raise DeliveryError(f"SMS of {segments} segments: {sms_text}", transient=False)
        values = compose.sms_values(spec, prefs.language, params)
        return (lambda: self.gateway.send(mobile=address, text=sms_text, template=row.template, values=values,
                                          key=row.idempotency_key)), None

    def fail(self, row: Any, error: DeliveryError, *, attempts: int, kind: str | None = None) -> None:
        message = str(error)[:1000]
        if error.transient and attempts < self.settings.max_attempts and kind is None:
            self.result.add("retrying")
            self.pending.append(_Outcome(row, {"status": OutboxStatus.queued.value, "claimed_by": None,
                                               "attempts": attempts, "last_error": message, "error_kind": "transient",
                                               "next_attempt_at": self.now + backoff(self.settings, attempts)}))
            return
        kind = kind or ("transient" if error.transient else "permanent")
        self.result.add("failed")
        values = {"status": OutboxStatus.failed.value, "claimed_by": None, "attempts": attempts,
                  "last_error": message, "error_kind": kind, "failed_at": self.now}
        self.pending.append(_Outcome(row, values, "notification_failed",
                                     {"error": message, "error_kind": kind, "attempts": attempts}))


def dispatch(sessions: sessionmaker[Session], *, now: datetime, settings: NotifySettings, worker: str | None = None,
             gateway: SmsGateway | None = None, limit: int | None = None) -> DispatchResult:
    """Send everything due by `now`, batch after batch, until nothing due is left.

    `settings.connections` threads work side by side, each claiming its own batches (as worker
    `<worker>:c<n>`) and keeping its own SMTP connection: a server that takes tens of milliseconds per
    message is then not the limit, and the commits of one thread overlap the network waits of another.
    """
    worker = worker or worker_name()
    limit = limit or settings.batch
    result = reconcile(sessions, now=now, worker=worker, lease=timedelta(seconds=settings.lease_seconds))
    gateway = gateway or build_gateway(settings.sms)

    def drain(name: str) -> None:
        while True:
            with transaction(sessions) as session:
                rows = claim(session, now=now, worker=name, limit=limit)
            if rows:
                _Batch(sessions, now=now, worker=name, settings=settings, gateway=gateway, result=result).run(rows)
            if len(rows) < limit:
                return

    if settings.connections == 1:
        drain(f"{worker}:c0")
        return result
    errors: list[BaseException] = []

    def thread(name: str) -> None:
        try:
            drain(name)
        except BaseException as exc:  # re-raised in the caller once every thread has stopped
            errors.append(exc)

    threads = [threading.Thread(target=thread, args=(f"{worker}:c{n}",), name=f"dispatch-c{n}")
               for n in range(settings.connections)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]
    return result


def job(sessions: sessionmaker[Session], settings: NotifySettings, clock: Callable[[], datetime],
        gateway: SmsGateway | None = None) -> Callable[[], DispatchResult]:
    """The scheduler's job: one dispatch as of the clock's now."""
    gateway = gateway or build_gateway(settings.sms)

    def run() -> DispatchResult:
        result = dispatch(sessions, now=clock(), settings=settings, gateway=gateway)
        if result.total:
            log.info("notifications: %d sent, %d to retry, %d failed, %d held for quiet hours, %d in doubt",
                     result.sent, result.retrying, result.failed, result.deferred, result.in_doubt)
        return result

    return run
