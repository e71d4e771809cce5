"""The demo's past evaluation: the year before last, evaluated in the spring of last year through the process's own
steps for the towns designated then (the counties' self-assessments, 市科技局's values, the values of the units
without a login entered by the office after the deadline, the final scores), ranked, submitted and approved, so
that a newcomer finds a published ranking, its praise notice, the 督办 orders it issued and each town's history
(called by workflow.seed.build_demo)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlmodel import Session

from workflow.core.actors import Actor
from workflow.core.db import saved_id
from workflow.core.engine import fire
from workflow.core.models import Case, Town
from workflow.evaluation import values as v
from workflow.evaluation.campaign import open_evaluation
from workflow.evaluation.indicators import evaluation_spec
from workflow.evaluation.ranking import ranking_case

# Per town: the county's digitalisation projects and one-town-one-policy, its employment target as a share of the
# town's employees, then the member units' values (research centres, new brands, standards, a geographical
# indication, new jobs, skills training) and the office's share of problems rectified on time.
PAST_VALUES: dict[str, dict[str, Any]] = {
    "西烟镇": {"digital_projects": 4, "town_policy": True, "target": 0.95, "research_centres": 3, "new_brands": 2,
            "standards": 2, "geographical_indication": False, "new_jobs": 900, "skills_training": 650,
            "rectified_on_time": 96},
    "张庄镇": {"digital_projects": 3, "town_policy": True, "target": 1.0, "research_centres": 2, "new_brands": 1,
            "standards": 1, "geographical_indication": False, "new_jobs": 700, "skills_training": 520,
            "rectified_on_time": 90},
    "冶西镇": {"digital_projects": 3, "town_policy": True, "target": 1.0, "research_centres": 2, "new_brands": 1,
            "standards": 1, "geographical_indication": True, "new_jobs": 560, "skills_training": 420,
            "rectified_on_time": 88},
    "秀水镇": {"digital_projects": 1, "town_policy": True, "target": 1.1, "research_centres": 1, "new_brands": 1,
            "standards": 0, "geographical_indication": True, "new_jobs": 380, "skills_training": 260,
            "rectified_on_time": 78},
    "南娄镇": {"digital_projects": 1, "town_policy": True, "target": 1.05, "research_centres": 1, "new_brands": 1,
            "standards": 0, "geographical_indication": False, "new_jobs": 320, "skills_training": 230,
            "rectified_on_time": 74},
}
GROUP_TEXTS = {"scale": "主导产业产值保持增长，规上企业数量稳定。", "innovation": "推进企业研发机构建设和数字化改造。"}


def _shown(value: Any) -> str:
    return "是" if value is True else "否" if value is False else str(value)


def past_evaluation(session: Session, act: dict[str, Actor], county_of: dict[int, Actor], year: int) -> Case:
    """Evaluate `year` for the towns designated now, in the spring after it, and publish the ranking."""
    spec = evaluation_spec()
    start = datetime(year + 1, 4, 1, 2, 0, tzinfo=UTC)  # 10:00 in Yangquan on 1 April
    office, leader = act["office"], act["leader"]
    cases = open_evaluation(session=session, actor=office, now=start, year=year)
    for case in cases:
        town = session.get(Town, case.town_id)
        assert town is not None
        given = PAST_VALUES[town.name]
        county = county_of[town.county_id]
        employees = (case.data.get("statistics_values") or {}).get("employment_target") or 1000
        case_id = saved_id(case)
        fire(session=session, case_id=case_id, trigger="submit_assessment", actor=county,
             now=start + timedelta(days=10),
             payload={"assessment": {i.key: _shown(given[i.key]) for i in v.provided_by(spec, "county")},
                      "targets": {i.key: str(int(Decimal(str(employees)) / Decimal(str(given["target"]))))
                                  for i in v.target_indicators(spec)},
                      "group_texts": GROUP_TEXTS})
        fire(session=session, case_id=case_id, trigger="accept_assessment", actor=office,
             now=start + timedelta(days=12))
        fire(session=session, case_id=case_id, trigger="give_unit_values", actor=act["member_kj"],
             now=start + timedelta(days=15),
             payload={"unit_values": {i.key: _shown(given[i.key]) for i in v.provided_by(spec, "市科技局")}})
        fire(session=session, case_id=case_id, trigger="close_scoring", actor=Actor.system(),
             now=start + timedelta(days=40))  # the scoring deadline passed: the units without a login are missing
        for key in session.get(Case, case_id).data.get("missing") or []:  # type: ignore[union-attr]  # saved above
            indicator = spec.indicator(key)
            assert indicator is not None
            fire(session=session, case_id=case_id, trigger="enter_value", actor=office,
                 now=start + timedelta(days=42), payload={"indicator": key, "value": _shown(given[key])},
                 comment=f"据{indicator.provider if indicator.provider != 'office' else '办公室整改台账'}"
                         "书面报送材料补录")
        fire(session=session, case_id=case_id, trigger="finish_review", actor=office, now=start + timedelta(days=43))
    ranking = ranking_case(session, year)
    assert ranking is not None
    fire(session=session, case_id=saved_id(ranking), trigger="submit_ranking", actor=office,
         now=start + timedelta(days=45))
    return fire(session=session, case_id=saved_id(ranking), trigger="approve_ranking", actor=leader,
                now=start + timedelta(days=50))
