"""A town's evaluations over the years: each year's final total (its scored evaluation, `values.town_score`) and,
once the year's city-wide ranking is approved, the rank it published. Registered with the core
(workflow.core.evaluations) for the re-designation review and the town registry."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session, col, select

from workflow.core.evaluations import EvaluationYear
from workflow.core.models import Case
from workflow.evaluation import values as v

TOWN_CASE = "evaluation_town"
FINAL = ("scored", "ranked")  # definitions/evaluation_town.yaml: the scores are final (and then ranked)
RANKING_CASE = "evaluation_ranking"  # the year's ranking of every evaluated town
APPROVED = "approved"  # the ranking's state once the leading group has approved it: its ranks are published


def _whole(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def published_ranks(session: Session, town_id: int) -> dict[int, int]:
    """The town's rank by year in the approved rankings (data["ranking"]: rows with "town_id" and "rank")."""
    ranks: dict[int, int] = {}
    rankings = session.exec(select(Case).where(col(Case.definition_key) == RANKING_CASE,
                                               col(Case.state) == APPROVED).order_by(col(Case.id))).all()
    for ranking in rankings:
        year = _whole((ranking.data or {}).get("evaluation_year"))
        rows = (ranking.data or {}).get("ranking")
        if year is None or not isinstance(rows, list):
            continue
        for row in rows:
            if isinstance(row, dict) and _whole(row.get("town_id")) == town_id and _whole(row.get("rank")):
                ranks[year] = row["rank"]
    return ranks


def town_history(session: Session, town_id: int) -> list[EvaluationYear]:
    """The town's final evaluations, latest year first: total, points possible, and the published rank if any."""
    cases = session.exec(select(Case).where(col(Case.town_id) == town_id, col(Case.definition_key) == TOWN_CASE,
                                            col(Case.state).in_(FINAL)).order_by(col(Case.id))).all()
    by_year: dict[int, Case] = {}
    for case in cases:  # one per town and year; were there two, the later one stands
        year = _whole((case.data or {}).get("evaluation_year"))
        if year is not None:
            by_year[year] = case
    ranks = published_ranks(session, town_id) if by_year else {}
    return [EvaluationYear(year=year, case_id=case.id or 0, total=v.town_score(case).total,
                           max_points=v.spec_of(case).total, rank=ranks.get(year))
            for year, case in sorted(by_year.items(), reverse=True)]
