"""A town's accepted statistics by year: the last one before a year (what anomalies compare with), and accepting a
year (its row, the town's output and, with it, its tier; a tier change is a line in the town's history)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from workflow.core import audit
from workflow.core.models import Case, Town, TownStatistics
from workflow.core.queries import registry_case
from workflow.core.tiers import tier_of


def last_accepted(session: Session, town_id: int, *, before: int) -> TownStatistics | None:
    """The town's latest accepted year before `before`."""
    return session.exec(select(TownStatistics).where(TownStatistics.town_id == town_id,
                                                     col(TownStatistics.year) < before)
                        .order_by(col(TownStatistics.year).desc())).first()


def town_years(session: Session, town_id: int) -> list[TownStatistics]:
    """The town's accepted years, the latest first."""
    return list(session.exec(select(TownStatistics).where(TownStatistics.town_id == town_id)
                             .order_by(col(TownStatistics.year).desc())))


def accept_year(session: Session, *, case: Case, figures: dict[str, Any], spec_version: int,
                now: datetime) -> dict[str, Any]:
    """Write the town's row for the report's year and, when it is the town's latest year, its output; return what
    changed for the audit trail. A tier change is also recorded on the town's registry record."""
    assert case.town_id is not None and case.id is not None
    year = int(case.data["report_year"])
    town = session.get(Town, case.town_id)
    assert town is not None
    output = figures.get("output_yi")
    row = session.exec(select(TownStatistics).where(TownStatistics.town_id == town.id,
                                                    TownStatistics.year == year)).first()
    if row is None:
        row = TownStatistics(town_id=town.id, county_id=town.county_id, year=year, spec_version=spec_version,  # type: ignore[arg-type]  # a saved town has its id
                             report_case_id=case.id, accepted_at=now)
    row.figures, row.output_yi, row.spec_version, row.report_case_id, row.accepted_at = (
        dict(figures), output, spec_version, case.id, now)
    session.add(row)
    change: dict[str, Any] = {"report_year": year, "output_yi": output}
    if town.output_year is not None and town.output_year > year:
        return change  # a late report of an earlier year: the town's latest output stays
    record = registry_case(session, town.id)  # type: ignore[arg-type]  # a saved town has its id
    before = tier_of(town.output_yi if town.output_yi is not None else (record.data.get("output_yi")
                                                                         if record else None))
    town.output_yi, town.output_year = output, year
    session.add(town)
    after = tier_of(output)
    if (before.key if before else None) != (after.key if after else None):
        change.update(tier_from=before.key if before else None, tier_to=after.key if after else None)
        audit.record(session, kind="tier_changed", now=now, case_id=record.id if record else None,
                     county_id=town.county_id, data={"report_year": year, "output_yi": output,
                                                     "tier_from": change["tier_from"], "tier_to": change["tier_to"],
                                                     "report_case_id": case.id})
    session.flush()
    return change
