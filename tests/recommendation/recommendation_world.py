"""The recommendation tests' world: municipal towns designated long enough ago, with statistics and evaluations that
meet the provincial criteria or miss them, the office and the leader."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from workflow.core import evaluations
from workflow.core.actors import Actor
from workflow.core.db import transaction
from workflow.core.engine import fire
from workflow.core.evaluations import EvaluationYear
from workflow.core.models import Case, TownStatistics
from workflow.core.queries import registry_case

NOW = datetime(2027, 5, 10, 2, 0, tzinfo=UTC)  # Monday 10 May 2027, 10:00 in Yangquan
EVALUATIONS: dict[int, list[EvaluationYear]] = {}


def designated(make, db, name: str, *, county: str = "盂县", since: str = "2024-12-01", output: float | None = 30,
               total: str | None = "85", rank: int | None = 2):
    """A municipal town designated on `since`, with 2026's accepted statistics (`output`) and evaluation."""
    town = make.town(name, county=county, industry_category="manufacturing", leading_industry="铸造")
    with transaction(db) as s:
        record = registry_case(s, town.id)
        fire(session=s, case_id=record.id, trigger="designate", actor=Actor.system(), now=NOW,
             payload={"designation_number": f"阳专镇〔2024〕{town.id}号", "designated_date": since,
                      "review_date": "2027-12-01", "industry_category": "manufacturing"})
        if output is not None:
            s.add(TownStatistics(town_id=town.id, county_id=town.county_id, year=2026, output_yi=output,
                                 figures={"output_yi": output}, spec_version=1, report_case_id=record.id,
                                 accepted_at=NOW))
    if total is not None:
        EVALUATIONS[town.id] = [EvaluationYear(year=2026, case_id=1, total=Decimal(total), max_points=Decimal(100),
                                               rank=rank)]
    return town


@pytest.fixture
def world(make, db, monkeypatch):
    """The office, the leader, a county; 甲镇 and 乙镇 meet the criteria, 丙镇 misses three of them."""
    EVALUATIONS.clear()
    # the evaluations as the evaluation process would give them (tests/evaluation/ tests that reader)
    monkeypatch.setattr(evaluations, "_READERS", [lambda _s, town_id: EVALUATIONS.get(town_id, [])])
    office, leader, county = make.user("office"), make.user("leader"), make.user("county", county="盂县")
    towns = {"甲镇": designated(make, db, "甲镇"), "乙镇": designated(make, db, "乙镇", county="平定县"),
             "丙镇": designated(make, db, "丙镇", since="2027-01-10", output=12, total="55", rank=9)}
    return {"office": make.actor(office), "leader": make.actor(leader), "county": make.actor(county),
            "users": {"office": office, "leader": leader, "county": county}, "towns": towns}


def step(db, actor, case, trigger, *, payload=None, comment=None, now=NOW) -> Case:
    with transaction(db) as s:
        return fire(session=s, case_id=case.id, trigger=trigger, actor=actor, now=now, payload=payload,
                    comment=comment)


def reload(db, case) -> Case:
    with transaction(db) as s:
        return s.get(Case, case.id)


def open_round(db, world, year=2027, batch=1) -> Case:
    from workflow.recommendation.rules import open_round as open_

    with transaction(db) as s:
        return open_(s, actor=world["office"], now=NOW, year=year, batch=batch)


def approved_round(db, world, town_ids, **kw) -> Case:
    """A round opened, its towns chosen and submitted by the office, approved by the leading group."""
    case = open_round(db, world, **kw)
    step(db, world["office"], case, "select_towns", payload={"selected_towns": town_ids})
    step(db, world["office"], case, "submit_recommendation")
    return step(db, world["leader"], case, "approve_recommendation")


def order(make, world, town, state: str) -> Case:
    """A rectification order of `town` standing in `state`."""
    return make.case("rectification", state=state, town=town, by=world["users"]["office"],
                     data={"problem": "产业链配套不足", "severity": "medium",
                           "due_date": "2027-06-30"})
