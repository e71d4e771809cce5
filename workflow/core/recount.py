"""Open deadlines counted again when a year's holidays are entered or changed (workflow.core.calendar_admin).

Each deadline row keeps what its working-day count started from; the rows a year can move are counted again
with the new table and only those that come out different change. Reminders already sent are not open, so they
stay as they were. Per deadline of a case that changed: a date the case holds in a field follows, one audit event
keeps the date shown until then, and when the date moved the county and the office are told.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from itertools import groupby
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session

from workflow.core import audit, sweep
from workflow.core.actors import Actor
from workflow.core.calendar import WorkCalendar, shown_time
from workflow.core.catalog import CATALOG
from workflow.core.db import table_of
from workflow.core.deadlines import count_again
from workflow.core.models import Case, Deadline, DeadlineStatus

_deadlines = table_of(Deadline)
_cases = table_of(Case)
# Open rows the year can move: falling in it or later, counted from a day in it or earlier (a fixed date: its
# reminders count back from it, and its estimate flag may go), with what the recount needs of their case.
_AFFECTED = (sa.select(_deadlines, _cases.c.county_id, _cases.c.number, _cases.c.title, _cases.c.definition_key,
                       _cases.c.definition_version)
             .join(_cases, _cases.c.id == _deadlines.c.case_id)
             .where(_deadlines.c.status == DeadlineStatus.open.value,
                    _deadlines.c.due_date >= sa.bindparam("b_first"),
                    sa.or_(_deadlines.c.counted_from.is_(None), _deadlines.c.counted_from <= sa.bindparam("b_last")))
             .order_by(_deadlines.c.case_id, _deadlines.c.state, _deadlines.c.name, _deadlines.c.id))


@dataclass
class _Change:
    row: Any
    due: date
    at: datetime
    estimated: bool


def recount_deadlines(session: Session, *, year: int, calendar: WorkCalendar, entered_by: str,
                      now: datetime) -> int:
    """Count every open deadline and reminder that `year`'s table can move again with `calendar`; the number of
    deadlines changed."""
    conn = session.connection()
    rows = conn.execute(_AFFECTED, {"b_first": date(year, 1, 1).isoformat(),
                                    "b_last": date(year, 12, 31).isoformat()}).all()
    changed = 0
    for _key, group in groupby(rows, key=lambda r: (r.case_id, r.state, r.name)):
        changes = list(_changes(group, calendar))
        if changes:
            _apply(session, changes, year=year, entered_by=entered_by, now=now)
            changed += 1
    return changed


def _changes(rows: Iterable[Any], calendar: WorkCalendar) -> Iterator[_Change]:
    for row in rows:
        due, at, estimated = count_again(row, calendar)
        if (due.isoformat(), at, estimated) != (row.due_date, row.due_at, bool(row.is_estimated)):
            yield _Change(row, due, at, estimated)


def _apply(session: Session, changes: list[_Change], *, year: int, entered_by: str, now: datetime) -> None:
    """Move one deadline's rows, the case's copy of a counted date, and record and announce the change."""
    conn = session.connection()
    first = changes[0].row  # the rows of one deadline share its date, flag and counting basis
    old_due, new_due, estimated = first.due_date, changes[0].due.isoformat(), changes[0].estimated
    for change in changes:
        conn.execute(_deadlines.update().where(_deadlines.c.id == change.row.id)
                     .values(due_date=change.due.isoformat(), due_at=change.at, is_estimated=change.estimated))
    # The row was written from this spec of this definition version, and a stored version never changes.
    definition = CATALOG.get(first.definition_key, first.definition_version, session)
    spec = next(d for d in definition.states[first.state].deadlines if d.name == first.name)
    label = (spec.label.zh, spec.label.en)
    field = _follow_in_case(conn, first, spec.field, old_due, new_due, now)
    event = audit.record(
        session, kind="deadline_recounted", now=now, actor=Actor.system(), case_id=first.case_id,
        county_id=first.county_id,
        data={"deadline": first.name, "label": label[0], "label_en": label[1], "state": first.state,
              "from": old_due, "to": new_due, "was_estimated": bool(first.is_estimated), "is_estimated": estimated,
              "calendar_year": year, "entered_by": entered_by, "deadline_ids": [c.row.id for c in changes],
              "reminders": [{"days_before": c.row.offset_days, "from": _shown(c.row.due_at), "to": _shown(c.at)}
                            for c in changes if c.row.kind == "reminder" and c.at != c.row.due_at],
              **({"field": field} if field else {})})
    if new_due == old_due:
        return  # the date stands (its estimate flag went, or only a reminder moved): nothing to tell
    selectors = tuple(dict.fromkeys(("county", "office", *spec.remind)))
    users = sweep.NOTIFIER.recipient_ids(conn, first.case_id, first.county_id, selectors)
    sweep.NOTIFIER.notify(
        session, user_ids=users, case_id=first.case_id, kind="deadline_recounted", source=f"recount:{event['seq']}",
        now=now, params={"number": first.number, "title": first.title, "deadline": label[0], "deadline_en": label[1],
                         "old_due_date": old_due, "due_date": new_due, "was_estimated": bool(first.is_estimated),
                         "year": year})


def _follow_in_case(conn: sa.Connection, row: Any, field: str | None, old_due: str, new_due: str,
                    now: datetime) -> str | None:
    """A counted date the case holds in a field (read again by its later states) moves with its deadline.

    Only a count moves (a date given by a person comes out the same), and only while the field still holds it.
    """
    if not field or old_due == new_due:
        return None
    data = conn.execute(sa.select(_cases.c.data).where(_cases.c.id == row.case_id)).scalar_one()
    if str(data.get(field)) != old_due:
        return None
    conn.execute(_cases.update().where(_cases.c.id == row.case_id)
                 .values(data={**data, field: new_due}, version=_cases.c.version + 1, updated_at=now))
    return field


def _shown(moment: datetime) -> str:
    return shown_time(moment)
