"""The office is told when a deadline falls in a year whose holidays nobody has entered."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Session

from workflow.core.models import CalendarYear
from workflow.notify.rules import notify, recipients_by_role


def warn_missing_year(session: Session, *, year: int, now: datetime) -> int:
    """Tell the office, once in each calendar year, that `year`'s holidays are not entered."""
    query = sa.select(CalendarYear.year).where(CalendarYear.year == year)  # type: ignore[call-overload]  # SQLModel types a column as its Python value, not a SQL expression
    if session.connection().execute(query).first():
        return 0
    return notify(session, user_ids=recipients_by_role(session, "office"), case_id=None, kind="calendar_missing",
                  params={"year": year}, source=f"calendar-missing:{year}:warned-{now.year}", now=now)

