"""Rolling re-designation (滚动认定) as the registry, the dashboard and the re-review process all read it.

A designation carries a review date (`designated_date` plus `ZYZ_DESIGNATION_CYCLE_YEARS`) on the town's registry
record. A re-review (definition `redesignation`) that the leading group renews writes the next review date on the
re-review case itself (`new_review_date`), not on the registry record: the records keep the definition version
they were created on, and a step added to a newer `town.yaml` could not be fired on them. So a town's review date is
the newest renewal's, else its record's. A designated town whose review date has passed is overdue for its review
(复核逾期) until it is renewed or leaves the designated levels (exit, revocation).

Three processes read this (towns, designation, dashboard); none imports another, so it lives in the core.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session

from workflow.core.db import table_of
from workflow.core.models import Case
from workflow.core.settings import settings

REVIEW_PROCESS = "redesignation"  # definitions/redesignation.yaml
RENEWED = "renewed"  # its final state after the leading group renews the designation
# Registry levels of a designated town whose designation is reviewed (a revocation under way is already the exit).
DESIGNATED_LEVELS = ("municipal", "recommended_provincial", "provincial")


def cycle_after(start: date) -> date:
    """The same day a designation cycle (ZYZ_DESIGNATION_CYCLE_YEARS) after `start` (28 February for a 29 February
    that does not recur)."""
    years = settings.designation_cycle_years
    try:
        return start.replace(year=start.year + years)
    except ValueError:  # 29 February
        return start.replace(year=start.year + years, day=28)


def _date(value: Any) -> date | None:
    if not isinstance(value, str):
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        return None


@dataclass(frozen=True)
class ReviewStatus:
    """One town's review as of a day."""

    town_id: int
    level: str | None  # the registry record's state
    review_date: date | None  # the newest renewal's, else the record's
    renewed_by: str | None  # the number of the re-review that set it (None: the designation itself)
    open_case_id: int | None  # the re-review under way, if any
    open_case_number: str | None
    overdue: bool  # designated, and the review date has passed

    @property
    def designated(self) -> bool:
        return self.level in DESIGNATED_LEVELS


def review_statuses(session: Session, today: date, town_ids: list[int] | None = None,
                    county_id: int | None = None) -> dict[int, ReviewStatus]:
    """Each town's review status on `today` (every town's, or those of `town_ids` / of one county)."""
    if town_ids is not None and not town_ids:
        return {}
    cases = table_of(Case)

    def read(*columns: Any, key: str) -> Any:
        query = sa.select(*columns).where(cases.c.definition_key == key).order_by(cases.c.id)
        if town_ids is not None:
            query = query.where(cases.c.town_id.in_(town_ids))
        if county_id is not None:
            query = query.where(cases.c.county_id == county_id)
        return session.connection().execute(query).all()

    renewed: dict[int, tuple[date, str]] = {}
    opened: dict[int, tuple[int, str]] = {}
    # only the one field of each case's data that is read (the JSON value as stored), not the whole of it
    for row in read(cases.c.town_id, cases.c.id, cases.c.number, cases.c.state,
                    cases.c.data["new_review_date"].label("new_review_date"), cases.c.closed_at, key=REVIEW_PROCESS):
        if row.closed_at is None:
            opened[row.town_id] = (row.id, row.number)
        elif row.state == RENEWED:
            found = _date(row.new_review_date)
            if found is not None and (row.town_id not in renewed or found > renewed[row.town_id][0]):
                renewed[row.town_id] = (found, row.number)
    statuses = {}
    for row in read(cases.c.town_id, cases.c.state, cases.c.data["review_date"].label("review_date"), key="town"):
        if row.town_id is None:
            continue
        review, by = renewed.get(row.town_id, (_date(row.review_date), None))
        case_id, number = opened.get(row.town_id, (None, None))
        statuses[row.town_id] = ReviewStatus(
            town_id=row.town_id, level=row.state, review_date=review, renewed_by=by, open_case_id=case_id,
            open_case_number=number,
            overdue=row.state in DESIGNATED_LEVELS and review is not None and review < today)
    return statuses


def review_status(session: Session, town_id: int, today: date) -> ReviewStatus | None:
    """One town's review status (None: the town has no registry record)."""
    return review_statuses(session, today, [town_id]).get(town_id)


def due_for_review(session: Session, today: date, lead_days: int) -> list[ReviewStatus]:
    """Designated towns whose review date is at most `lead_days` calendar days away (or passed) and that have no
    re-review under way, by town id."""
    until = date.fromordinal(today.toordinal() + lead_days)
    return [s for _, s in sorted(review_statuses(session, today).items())
            if s.designated and s.review_date is not None and s.review_date <= until and s.open_case_id is None]


def overdue_count(session: Session, today: date, county_id: int | None = None) -> int:
    """How many designated towns (of one county) are overdue for their review: review_statuses' overdue towns,
    counted from the two columns each needs (the dashboard asks on every request; no status is built, and of the
    re-reviews only the renewed ones are read)."""
    cases = table_of(Case)
    scope = sa.true() if county_id is None else cases.c.county_id == county_id
    renewed: dict[int, date] = {}
    for town_id, value in session.connection().execute(
            sa.select(cases.c.town_id, cases.c.data["new_review_date"])
            .where(cases.c.definition_key == REVIEW_PROCESS, cases.c.state == RENEWED,
                   cases.c.closed_at.is_not(None), scope)).all():
        found = _date(value)
        if found is not None and (town_id not in renewed or found > renewed[town_id]):
            renewed[town_id] = found
    overdue: dict[int, bool] = {}  # by town: its last record (by id) decides, as in review_statuses
    for town_id, state, value in session.connection().execute(
            sa.select(cases.c.town_id, cases.c.state, cases.c.data["review_date"])
            .where(cases.c.definition_key == "town", cases.c.town_id.is_not(None), scope).order_by(cases.c.id)).all():
        review = renewed[town_id] if town_id in renewed else _date(value)
        overdue[town_id] = state in DESIGNATED_LEVELS and review is not None and review < today
    return sum(overdue.values())
