"""Deadline rows: opened when a case enters a state that declares them, closed when it leaves."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session

from workflow.core.calendar import WorkCalendar, calendar_for, local_date, local_moment
from workflow.core.db import Prepared, table_of
from workflow.core.definitions import DeadlineSpec, Definition, StateSpec, TransitionSpec
from workflow.core.errors import Unprocessable
from workflow.core.models import Deadline, DeadlineStatus

REMINDER_TIME = time(9, 0)  # reminders go out at 09:00 local time on their day

_table = table_of(Deadline)
# Built once: these run inside every fire (see workflow.core.db.Prepared).
_INSERT = Prepared(_table.insert())
_CLOSE = Prepared(_table.update().where(_table.c.case_id == sa.bindparam("b_case_id"),
                                        _table.c.state == sa.bindparam("b_state"),
                                        _table.c.status == DeadlineStatus.open.value))
_FIRED_REMINDERS = Prepared(sa.select(_table.c.name, _table.c.offset_days, _table.c.due_date).where(
    _table.c.case_id == sa.bindparam("b_case_id"), _table.c.kind == "reminder",
    _table.c.status == DeadlineStatus.fired.value))
# What an earlier state's deadline of the case was counted from, when it fell on the date the case still holds.
_COUNTED_BEFORE = Prepared(sa.select(_table.c.counted_from, _table.c.working_days).where(
    _table.c.case_id == sa.bindparam("b_case_id"), _table.c.name == sa.bindparam("b_name"),
    _table.c.kind == "expiry", _table.c.due_date == sa.bindparam("b_due_date"), _table.c.counted_from.is_not(None))
    .order_by(_table.c.id.desc()).limit(1))


def due_date_for(spec: DeadlineSpec, data: dict[str, Any], today: date,
                 calendar: WorkCalendar) -> tuple[date, bool]:
    """The local date a deadline falls on, and whether it is an estimate (an unknown year's holidays)."""
    if spec.field and data.get(spec.field):
        try:
            day = date.fromisoformat(str(data[spec.field]))
        except ValueError:
            raise Unprocessable(f"期限日期格式不正确：{data[spec.field]}", f"Bad deadline date: {data[spec.field]}",
                                details=[{"field": spec.field, "zh": "日期格式应为 YYYY-MM-DD",
                                          "en": "date must be YYYY-MM-DD"}]) from None
        return day, not calendar.knows(day.year)
    if spec.calendar_days:
        day = today + timedelta(days=spec.calendar_days)
        return day, False
    if spec.working_days:
        return calendar.add_working_days(today, spec.working_days)
    raise Unprocessable(f"缺少期限日期字段 {spec.field}", f"Missing deadline field {spec.field}",
                        details=[{"field": spec.field, "zh": "必须填写期限日期", "en": "a deadline date is required"}])


def default_due_dates(session: Session, definition: Definition, transition: TransitionSpec,
                      now: datetime) -> dict[str, tuple[date, bool]]:
    """For each date field of `transition` that a deadline of its destination is taken from: the date the deadline
    falls on when the field is left empty (counted as firing it now would count it), and whether it is an estimate."""
    state = definition.states.get(transition.dest or "")
    fields = {*transition.requires, *transition.accepts}
    found: dict[str, tuple[date, bool]] = {}
    for spec in state.deadlines if state else ():
        if spec.field in fields and (spec.working_days or spec.calendar_days):
            found[spec.field] = due_date_for(spec, {}, local_date(now), calendar_for(session))
    return found


def expiry_moment(due: date) -> datetime:
    """A deadline falling on `due` passes when that local day ends."""
    return local_moment(due + timedelta(days=1))


def reminder_moment(due: date, offset: int, calendar: WorkCalendar) -> datetime:
    """A reminder `offset` working days before `due` goes out at 09:00 local time that day."""
    return local_moment(calendar.working_days_before(due, offset), REMINDER_TIME)


def count_again(row: Any, calendar: WorkCalendar) -> tuple[date, datetime, bool]:
    """A deadline row's due date, moment and estimate flag as `calendar` counts them now.

    A working-day count runs again from where it started; a fixed date (given by a person, or calendar days)
    stays, and is no longer an estimate once its year is known.
    """
    if row.counted_from and row.working_days:
        due, estimated = calendar.add_working_days(date.fromisoformat(row.counted_from), row.working_days)
    else:
        due = date.fromisoformat(row.due_date)
        estimated = bool(row.is_estimated) and not calendar.knows(due.year)
    at = expiry_moment(due) if row.kind == "expiry" else reminder_moment(due, row.offset_days or 0, calendar)
    return due, at, estimated


def plan_deadlines(session: Session, *, case_id: int | None, state: StateSpec, data: dict[str, Any],
                   now: datetime, calendar: WorkCalendar) -> list[dict[str, Any]]:
    """The rows for the deadlines `state` declares; a reminder already sent is not planned again.

    A deadline read from a field of the case and not set there yet is counted from today and
    written back into `data`, so the case keeps the same date through later states.
    """
    if not state.deadlines:
        return []
    today = local_date(now)
    rows: list[dict[str, Any]] = []
    has_reminders = any(spec.reminders for spec in state.deadlines)
    already = _fired_reminders(session, case_id) if case_id is not None and has_reminders else set()
    for spec in state.deadlines:
        counted_from, working_days = _counting_basis(session, case_id, spec, data, today)
        due, estimated = due_date_for(spec, data, today, calendar)
        if spec.field and not data.get(spec.field):
            data[spec.field] = due.isoformat()
        base = {"state": state.name, "name": spec.name, "due_date": due.isoformat(),  # case_id: at insert
                "is_estimated": estimated, "status": DeadlineStatus.open.value, "created_at": now,
                "counted_from": counted_from, "working_days": working_days}
        rows.append({**base, "kind": "expiry", "trigger": spec.on_expiry, "offset_days": None,
                     "due_at": expiry_moment(due)})
        for offset in spec.reminders:
            at = reminder_moment(due, offset, calendar)
            if at <= now or (spec.name, offset, due.isoformat()) in already:
                continue
            rows.append({**base, "kind": "reminder", "trigger": None, "offset_days": offset, "due_at": at})
    return rows


def _counting_basis(session: Session, case_id: int | None, spec: DeadlineSpec, data: dict[str, Any],
                    today: date) -> tuple[str | None, int | None]:
    """What the due date is counted from, in working days: (start, days), or (None, None) for a fixed date.

    A date held in a field of the case was counted when an earlier state found the field empty (the rows of
    that state say so) or given by a person, and is then fixed; a count of calendar days is fixed too.
    """
    if spec.field and data.get(spec.field):
        if case_id is None or not spec.working_days:
            return None, None
        found = _COUNTED_BEFORE.fetch(session.connection(), {"b_case_id": case_id, "b_name": spec.name,
                                                             "b_due_date": str(data[spec.field])})
        return (found[0][0], found[0][1]) if found else (None, None)
    if spec.calendar_days or not spec.working_days:
        return None, None
    return today.isoformat(), spec.working_days


def insert_deadlines(session: Session, case_id: int, rows: list[dict[str, Any]]) -> None:
    """Write planned deadline rows for the case."""
    if rows:
        # a new row has had no failed try yet (given here: Prepared takes no Python-side default; a column
        # without a default, such as the next try's time, is left out and so NULL)
        _INSERT.execute_many(session.connection(), [{"attempts": 0, **row, "case_id": case_id} for row in rows])


def close_deadlines(session: Session, *, case_id: int, state: str, now: datetime) -> None:
    """Close the open rows of `state` when the case leaves it."""
    _CLOSE.execute(session.connection(), {"status": DeadlineStatus.closed.value, "closed_at": now,
                                          "b_case_id": case_id, "b_state": state})


def _fired_reminders(session: Session, case_id: int) -> set[tuple[str, int, str]]:
    return set(_FIRED_REMINDERS.fetch(session.connection(), {"b_case_id": case_id}))
