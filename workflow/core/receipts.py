"""Receipts (签收): a county acknowledges in the system each notice addressed to it.

A notice addressed to a county (the designation notice, the criticism notice) is stored as an attachment, and in the
same transaction `expect_receipt` writes a receipt row for the county. The county has `settings.receipt_days`
(ZYZ_RECEIPT_DAYS, default 3) working days after the day of issue to acknowledge it; the last of them is the
receipt's `remind_date`. One of the county's users acknowledges it (`acknowledge`, once: a second time is refused
with who signed and when). A notice still unacknowledged after its remind date is overdue; the scheduler's job
(`remind_due`, every hour) tells the county's users once, at 09:00 on the first working day after the remind date
(or at its first run after that moment), through the notification rules (`process: receipt` in
definitions/notifications.yaml). A county sees its own notices; the office and the leading group see every
notice, who has signed it and when, and which are overdue. Every step is in the audit trail.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time
from pathlib import PurePath
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, select

from workflow.core import audit
from workflow.core.access import MAX_ID, case_read
from workflow.core.actors import Actor
from workflow.core.calendar import WorkCalendar, calendar_for, local_date, shown_time, to_local
from workflow.core.db import table_of
from workflow.core.errors import Conflict, Forbidden, InvalidInput, NotFound
from workflow.core.models import Attachment, Case, NoticeReceipt, Role, Unit, UnitKind, User
from workflow.core.queries import Page, paginate
from workflow.core.settings import settings

REMIND_TIME = time(9, 0)  # reminders go out at 09:00 local time, as the deadlines' do
READERS = (Role.office.value, Role.leader.value)  # see every county's receipts
STATUSES = ("all", "unsigned", "signed", "overdue")

_receipts = table_of(NoticeReceipt)
_attachments = table_of(Attachment)
_cases = table_of(Case)
_units = table_of(Unit)
_users = table_of(User)


@dataclass(frozen=True)
class ReceiptView:
    """A receipt as the pages and the API show it: the notice, its case, the county, and who signed when."""

    id: int
    attachment_id: int
    filename: str
    kind: str
    case_id: int | None
    case_number: str | None
    case_title: str | None
    unit_id: int
    unit_name: str
    issued_at: datetime
    remind_date: date | None
    reminded_at: datetime | None
    acknowledged_at: datetime | None
    acknowledged_by: str | None
    overdue: bool  # not acknowledged, and its remind date has passed
    late: bool  # acknowledged after its remind date

    @property
    def signed(self) -> bool:
        return self.acknowledged_at is not None

    @property
    def notice(self) -> str:
        """The notice's name: its file name without the extension."""
        return notice_name(self.filename)


def notice_name(filename: str) -> str:
    return PurePath(filename).stem or filename


def remind_date_for(issued: datetime, calendar: WorkCalendar) -> date:
    """The last of the working days a county has to acknowledge a notice issued at `issued`."""
    return calendar.add_working_days(local_date(issued), settings.receipt_days)[0]


def is_overdue(remind_date: date | None, acknowledged_at: datetime | None, today: date) -> bool:
    """Not acknowledged, and the day to acknowledge it by has passed."""
    return acknowledged_at is None and remind_date is not None and remind_date < today


def signed_late(remind_date: date | None, acknowledged_at: datetime | None) -> bool:
    """Acknowledged on a day after the day to acknowledge it by."""
    return acknowledged_at is not None and remind_date is not None and local_date(acknowledged_at) > remind_date


# --- issuing ---------------------------------------------------------------------------------------------------


def expect_receipt(session: Session, *, attachment: Attachment, unit_id: int, now: datetime,
                   calendar: WorkCalendar | None = None) -> NoticeReceipt:
    """The county `unit_id` is to acknowledge the notice `attachment` (in the transaction that stores it); a
    receipt already expected for the two is returned as it is."""
    unit = session.get(Unit, unit_id)
    if unit is None or unit.kind != UnitKind.county.value:
        raise InvalidInput("通知只能送达县（区）签收。", "Only a county acknowledges a notice.", code="not_a_county")
    found = session.exec(select(NoticeReceipt).where(NoticeReceipt.attachment_id == attachment.id,
                                                      NoticeReceipt.unit_id == unit_id)).first()
    if found is not None:
        return found
    remind = remind_date_for(now, calendar or calendar_for(session))
    row = NoticeReceipt(attachment_id=attachment.id, unit_id=unit_id, case_id=attachment.case_id,  # type: ignore[arg-type]  # SQLModel types an id as optional; the attachment is saved
                        issued_at=now, remind_date=remind)
    session.add(row)
    session.flush()
    audit.record(session, kind="receipt_expected", now=now, actor=Actor.system(), case_id=row.case_id,
                 county_id=unit_id, data={"receipt_id": row.id, "attachment_id": attachment.id,
                                          "filename": attachment.filename, "notice_kind": attachment.kind,
                                          "unit": unit.name, "remind_date": remind.isoformat()})
    return row


# --- acknowledging ---------------------------------------------------------------------------------------------


def _not_found() -> NotFound:
    return NotFound("通知不存在。", "No such notice.")


def to_acknowledge(session: Session, actor: Actor, receipt_id: int, *, now: datetime) -> ReceiptView:
    """A receipt the actor may acknowledge: only a user of the county it is addressed to (Forbidden for other
    roles; another county's answers as a missing one)."""
    if actor.role != Role.county.value:
        raise Forbidden("只有通知送达的县（区）可以签收。",
                        "Only the county a notice is addressed to may acknowledge it.")
    return get_receipt(session, actor, receipt_id, now=now)


def acknowledge(session: Session, actor: Actor, receipt_id: int, now: datetime) -> ReceiptView:
    """The actor's county acknowledges the notice; once only: a second time is refused, naming who and when."""
    to_acknowledge(session, actor, receipt_id, now=now)
    row = session.exec(select(NoticeReceipt).where(NoticeReceipt.id == receipt_id)
                       .with_for_update().execution_options(populate_existing=True)).one()
    if row.acknowledged_at is not None:
        by = session.get(User, row.acknowledged_by_id) if row.acknowledged_by_id else None
        at = shown_time(row.acknowledged_at)
        who = by.display_name if by else ""
        raise Conflict(f"该通知已于 {at} 由{who}签收，无需重复签收。",
                       f"This notice was already acknowledged on {at} by {who}.", code="already_acknowledged")
    row.acknowledged_at = now
    row.acknowledged_by_id = actor.user_id
    session.add(row)
    session.flush()
    attachment = session.get(Attachment, row.attachment_id)
    audit.record(session, kind="receipt_acknowledged", now=now, actor=actor, case_id=row.case_id,
                 county_id=row.unit_id,
                 data={"receipt_id": row.id, "attachment_id": row.attachment_id,
                       "filename": attachment.filename if attachment else None,
                       "remind_date": row.remind_date.isoformat() if row.remind_date else None,
                       "late": signed_late(row.remind_date, now)})
    return get_receipt(session, actor, receipt_id, now=now)


# --- reading ---------------------------------------------------------------------------------------------------


def _listing() -> sa.Select[Any]:
    r = _receipts.c
    return (sa.select(r.id, r.attachment_id, _attachments.c.filename, _attachments.c.kind, r.case_id,
                      _cases.c.number.label("case_number"), _cases.c.title.label("case_title"), r.unit_id,
                      _units.c.name.label("unit_name"), r.issued_at, r.remind_date, r.reminded_at, r.acknowledged_at,
                      _users.c.display_name.label("acknowledged_by"))
            .join(_attachments, _attachments.c.id == r.attachment_id)
            .join(_units, _units.c.id == r.unit_id)
            .outerjoin(_cases, _cases.c.id == r.case_id)
            .outerjoin(_users, _users.c.id == r.acknowledged_by_id))


def _view(row: Any, today: date) -> ReceiptView:
    return ReceiptView(id=row.id, attachment_id=row.attachment_id, filename=row.filename, kind=row.kind,
                       case_id=row.case_id, case_number=row.case_number, case_title=row.case_title,
                       unit_id=row.unit_id, unit_name=row.unit_name, issued_at=row.issued_at,
                       remind_date=row.remind_date, reminded_at=row.reminded_at,
                       acknowledged_at=row.acknowledged_at, acknowledged_by=row.acknowledged_by,
                       overdue=is_overdue(row.remind_date, row.acknowledged_at, today),
                       late=signed_late(row.remind_date, row.acknowledged_at))


def _scope(actor: Actor) -> sa.ColumnElement[bool]:
    """The receipts the actor may see: a county's own; the office's and the leading group's every one."""
    if actor.role in READERS:
        return sa.true()
    if actor.role == Role.county.value:
        return _receipts.c.unit_id == actor.unit_id
    raise Forbidden("您的角色无权查看通知签收情况。", "Your role may not see who acknowledged the notices.")


def get_receipt(session: Session, actor: Actor, receipt_id: int, *, now: datetime) -> ReceiptView:
    """One receipt the actor may see; otherwise NotFound, exactly as for a missing id."""
    scope = _scope(actor)
    if not 0 < receipt_id <= MAX_ID:
        raise _not_found()
    row = session.connection().execute(_listing().where(_receipts.c.id == receipt_id, scope)).first()
    if row is None:
        raise _not_found()
    return _view(row, local_date(now))


def listing_query(actor: Actor, *, now: datetime, status: str = "all", county_id: int | None = None) -> Any:
    """The SELECT of `listing` (unacknowledged first, then newest first), for its pages and its export."""
    if status not in STATUSES:
        raise InvalidInput("状态只能是 all、unsigned、signed 或 overdue。",
                           "status must be all, unsigned, signed or overdue.",
                           details=[{"field": "status", "zh": "状态不正确", "en": "unknown status"}])
    r = _receipts.c
    today = local_date(now)
    query = _listing().where(_scope(actor))
    if county_id is not None:
        query = query.where(r.unit_id == county_id)
    if status == "unsigned":
        query = query.where(r.acknowledged_at.is_(None))
    elif status == "signed":
        query = query.where(r.acknowledged_at.is_not(None))
    elif status == "overdue":
        query = query.where(r.acknowledged_at.is_(None), r.remind_date < today)
    return query.order_by(r.acknowledged_at.is_not(None), r.issued_at.desc(), r.id.desc())


def listing(session: Session, actor: Actor, *, now: datetime, status: str = "all", county_id: int | None = None,
            page: int = 1, per_page: int = 20) -> Page[ReceiptView]:
    """The notices the actor may see with their receipts, unacknowledged first, then newest first: a county's own
    (its notices, signed or not); for the office and the leading group every county's, or one county's.
    `status`: all, unsigned, signed, or overdue (unsigned past the day to sign by)."""
    query = listing_query(actor, now=now, status=status, county_id=county_id)
    found = paginate(session, query, page, per_page)
    today = local_date(now)
    return Page([_view(row, today) for row in found.items], found.total, found.page, found.per_page)


def listing_rows(session: Session, query: Any, *, now: datetime, limit: int,
                 batch: int = 500) -> Iterator[ReceiptView]:
    """Every row of `listing_query` (at most `limit`), streamed `batch` at a time, for the export."""
    today = local_date(now)
    result = session.connection().execute(query.limit(limit).execution_options(yield_per=batch))
    for chunk in result.partitions(batch):
        for row in chunk:
            yield _view(row, today)


def pending_count(session: Session, actor: Actor) -> int:
    """How many notices the actor's county has not acknowledged (0 for anyone but a county user)."""
    if actor.role != Role.county.value:
        return 0
    query = sa.select(sa.func.count()).select_from(_receipts).where(_receipts.c.unit_id == actor.unit_id,
                                                                     _receipts.c.acknowledged_at.is_(None))
    return int(session.connection().execute(query).scalar_one())


def for_case(session: Session, actor: Actor, case_id: int, *, now: datetime,
             case: Case | None = None) -> dict[int, list[ReceiptView]]:
    """The receipts of a case's notices by attachment, for whoever sees the case (NotFound otherwise). `case`: the
    case as get_case gave it to `actor`, when the caller has read it (the page)."""
    case_read(session, actor, case_id, case)
    rows = session.connection().execute(_listing().where(_receipts.c.case_id == case_id)
                                        .order_by(_units.c.name)).all()  # each notice's counties by name
    found: dict[int, list[ReceiptView]] = {}
    today = local_date(now)
    for row in rows:
        found.setdefault(row.attachment_id, []).append(_view(row, today))
    return found


# --- reminding -------------------------------------------------------------------------------------------------


def reminder_day(now: datetime, calendar: WorkCalendar) -> date:
    """The latest working day whose 09:00 has come by `now`: a receipt whose remind date lies before it is due for
    its reminder (which goes out at 09:00 on the first working day after the remind date)."""
    local = to_local(now)
    day = local.date()
    if calendar.is_workday(day) and local.time() >= REMIND_TIME:
        return day
    return calendar.working_days_before(day, 1)


def remind_due(session: Session, *, now: datetime, notifier: Any = None, calendar: WorkCalendar | None = None) -> int:
    """Tell the county's users of every notice still unacknowledged after its remind date, once each (the receipt
    is marked reminded in the same UPDATE that finds it, so two schedulers never both send); returns how many."""
    if notifier is None:
        from workflow.core import sweep

        notifier = sweep.NOTIFIER
    cutoff = reminder_day(now, calendar or calendar_for(session))
    conn = session.connection()
    r = _receipts.c
    ids = list(conn.execute(_receipts.update()
                            .where(r.acknowledged_at.is_(None), r.reminded_at.is_(None), r.remind_date < cutoff)
                            .values(reminded_at=now).returning(r.id)).scalars())
    if not ids:
        return 0
    for row in conn.execute(_listing().where(r.id.in_(ids)).order_by(r.id)).all():
        params = {"number": row.case_number or "", "title": row.case_title or "", "notice": notice_name(row.filename),
                  "due_date": row.remind_date.isoformat() if row.remind_date else "",
                  "issued_date": local_date(row.issued_at).isoformat(), "unit": row.unit_name, "receipt_id": row.id}
        users = notifier.recipient_ids(conn, row.case_id, row.unit_id, ("county",))
        notifier.notify(session, user_ids=users, case_id=row.case_id, kind="receipt_reminder", params=params,
                        source=f"receipt:{row.id}", now=now, county_id=row.unit_id)
        audit.record(session, kind="receipt_reminded", now=now, actor=Actor.system(), case_id=row.case_id,
                     county_id=row.unit_id, data={"receipt_id": row.id, "attachment_id": row.attachment_id,
                                                  "filename": row.filename, "remind_date": params["due_date"],
                                                  "recipients": len(users)})
    return len(ids)
