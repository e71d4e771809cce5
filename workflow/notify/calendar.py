"""The office is told when a deadline falls in a year whose holidays nobody has entered."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Session

from workflow.core.calendar import changed_in
from workflow.core.models import CalendarYear
from workflow.notify.rules import notify, recipients_by_role

_CHECKED = "zyz.calendar_year_checked"  # session.info: (the transaction, the years checked in it)


def warn_missing_year(session: Session, *, year: int, now: datetime) -> int:
    """Tell the office, once in each calendar year, that `year`'s holidays are not entered.

    Checked once per year and transaction (a campaign opening a thousand cases plans a thousand deadlines in the
    same year), unless the transaction changes the holiday table: once checked, the office has been told or the
    year was there."""
    conn = session.connection()  # the transaction begun
    transaction = session.get_transaction()
    kept = session.info.get(_CHECKED)
    if kept is None or kept[0] is not transaction:
        kept = session.info[_CHECKED] = (transaction, set[tuple[int, int]]())
    if (year, now.year) in kept[1] and not changed_in(session):
        return 0
    kept[1].add((year, now.year))
    query = sa.select(CalendarYear.year).where(CalendarYear.year == year)  # type: ignore[call-overload]  # SQLModel types a column as its Python value, not a SQL expression
    if conn.execute(query).first():
        return 0
    return notify(session, user_ids=recipients_by_role(session, "office"), case_id=None, kind="calendar_missing",
                  params={"year": year}, source=f"calendar-missing:{year}:warned-{now.year}", now=now)

