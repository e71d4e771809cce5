"""The provincial criteria, rule by rule: what a well-formed definitions/provincial_criteria.yaml becomes, field by
field; for each way the office can get the file wrong, the exact lines that tell it where and what (file: key:
problem), in the order the loader reads the file; and for each criterion a town can miss, the town exactly at the
threshold (it passes) and one step short (it is told why, in Chinese and English, word for word)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

import pytest
import recommendation_world
import sqlalchemy as sa
import yaml
from recommendation_world import NOW, designated, order

from workflow.core.db import transaction
from workflow.core.evaluations import EvaluationYear
from workflow.core.models import TownStatistics
from workflow.core.yamlcheck import Label
from workflow.recommendation import criteria as criteria_module
from workflow.recommendation.criteria import (
    Criteria,
    CriteriaError,
    blocking_orders,
    latest_statistics,
    parse_criteria,
    reasons_for,
    shortlist,
)

world = recommendation_world.world  # the fixture

DROP = object()  # a part left out of the file
STATES = {"overdue", "criticism_pending", "criticised", "closed"}


def doc(statistics: Any = None, evaluation: Any = None, **parts: Any) -> str:
    raw: dict[str, Any] = {
        "key": "provincial_criteria", "version": 1, "label": {"zh": "条件", "en": "Criteria"},
        "min_municipal_years": 1,
        "statistics": {"min_output_yi": 20, "max_age_years": 2} if statistics is None else statistics,
        "evaluation": ({"max_age_years": 2, "min_score_percent": 60, "max_rank": 5}
                       if evaluation is None else evaluation),
        "blocking_rectification_states": ["overdue"]}
    raw.update(parts)
    return yaml.safe_dump({k: v for k, v in raw.items() if v is not DROP}, allow_unicode=True, sort_keys=False)


def errors(text: str, states: set[str] | None = STATES) -> list[str]:
    with pytest.raises(CriteriaError) as bad:
        parse_criteria(text, "c.yaml", states)
    return bad.value.errors


# -- a well-formed file ------------------------------------------------------------------------------------------

def test_a_well_formed_file_is_read_as_written():
    spec = parse_criteria(doc({"min_output_yi": 20.5, "max_age_years": 3},
                              {"max_age_years": 1, "min_score_percent": 62.5, "max_rank": 8},
                              version=4, min_municipal_years=2,
                              blocking_rectification_states=["overdue", "criticised"]), "c.yaml", STATES)
    assert spec == Criteria(version=4, label=Label("条件", "Criteria"), min_municipal_years=2,
                            min_output_yi=Decimal("20.5"), statistics_max_age=3, evaluation_max_age=1,
                            min_score_percent=Decimal("62.5"), max_rank=8, blocking_states=("overdue", "criticised"))
    assert isinstance(spec.min_output_yi, Decimal) and isinstance(spec.min_score_percent, Decimal)


def test_the_lowest_values_each_threshold_allows_are_accepted():
    spec = parse_criteria(doc({"min_output_yi": 0, "max_age_years": 0},
                              {"max_age_years": 0, "min_score_percent": 0, "max_rank": 1},
                              version=1, min_municipal_years=0), "c.yaml", STATES)
    assert (spec.version, spec.min_municipal_years, spec.min_output_yi, spec.statistics_max_age) == (
        1, 0, Decimal(0), 0)
    assert (spec.evaluation_max_age, spec.min_score_percent, spec.max_rank) == (0, Decimal(0), 1)


def test_a_full_score_share_is_the_highest_allowed():
    spec = parse_criteria(doc(evaluation={"max_age_years": 2, "min_score_percent": 100, "max_rank": 5}), "c.yaml")
    assert spec.min_score_percent == Decimal(100)


def test_the_score_share_the_rank_and_the_blocking_states_may_be_left_out():
    spec = parse_criteria(doc(evaluation={"max_age_years": 2}, blocking_rectification_states=DROP), "c.yaml")
    assert (spec.min_score_percent, spec.max_rank, spec.blocking_states) == (None, None, ())
    spec = parse_criteria(doc(evaluation={"max_age_years": 2, "min_score_percent": None, "max_rank": None}),
                          "c.yaml")
    assert (spec.min_score_percent, spec.max_rank) == (None, None)


def test_one_blocking_state_may_be_written_as_a_name():
    assert parse_criteria(doc(blocking_rectification_states="criticised"), "c.yaml", STATES).blocking_states == (
        "criticised",)


def test_without_the_rectification_states_any_state_name_is_taken():
    assert parse_criteria(doc(blocking_rectification_states=["late"]), "c.yaml").blocking_states == ("late",)


# -- the file's own keys -----------------------------------------------------------------------------------------

def test_each_wrong_top_level_part_is_named_in_the_order_read():
    assert errors(doc(key="criteria", version=0, label={"zh": "条件"}, min_municipal_years=-1,
                      blocking_rectification_states={"a": 1}, owner="me")) == [
        "c.yaml: owner: unknown key",
        "c.yaml: key: must be 'provincial_criteria'",
        "c.yaml: version: must be a whole number of at least 1",
        "c.yaml: label.en: missing label",
        "c.yaml: min_municipal_years: must be a whole number of at least 0",
        "c.yaml: blocking_rectification_states: must be a name or a list of names"]


def test_a_file_without_its_parts_names_each_one_missing():
    assert errors("owner: me\n") == [
        "c.yaml: owner: unknown key",
        "c.yaml: key: must be 'provincial_criteria'",
        "c.yaml: version: must be a whole number of at least 1",
        "c.yaml: label: missing label (needs zh and en)",
        "c.yaml: min_municipal_years: must be a whole number of at least 0",
        "c.yaml: statistics: must be a mapping with min_output_yi and max_age_years",
        "c.yaml: statistics.min_output_yi: must be a number from 0",
        "c.yaml: statistics.max_age_years: must be a whole number of at least 0",
        "c.yaml: evaluation: must be a mapping with max_age_years, min_score_percent and max_rank",
        "c.yaml: evaluation.max_age_years: must be a whole number of at least 0"]


@pytest.mark.parametrize("value", [True, False, 1.5, "1", None])
def test_a_version_that_is_not_a_whole_number_is_refused(value):
    assert errors(doc(version=value)) == ["c.yaml: version: must be a whole number of at least 1"]


@pytest.mark.parametrize("value", [-1, True, 0.5, "1", None])
def test_years_designated_that_are_not_a_whole_number_from_0_are_refused(value):
    assert errors(doc(min_municipal_years=value)) == [
        "c.yaml: min_municipal_years: must be a whole number of at least 0"]


def test_a_file_that_is_not_a_mapping_is_refused():
    assert errors("- key\n") == ["c.yaml: (file): must be a mapping"]
    assert errors("key: [\n")[0].startswith("c.yaml: (file): not valid YAML: ")


# -- the statistics and the evaluation -------------------------------------------------------------------------

@pytest.mark.parametrize(("statistics", "expected"), [
    ([20, 2], ["statistics: must be a mapping with min_output_yi and max_age_years",
               "statistics.min_output_yi: must be a number from 0",
               "statistics.max_age_years: must be a whole number of at least 0"]),
    ({"min_output_yi": 20, "max_age_years": 2, "min_tax": 1}, ["statistics.min_tax: unknown key"]),
    ({"min_output_yi": -0.01, "max_age_years": -1}, ["statistics.min_output_yi: must be a number from 0",
                                                     "statistics.max_age_years: must be a whole number of at least 0"]),
    ({"min_output_yi": True, "max_age_years": 2.5}, ["statistics.min_output_yi: must be a number from 0",
                                                     "statistics.max_age_years: must be a whole number of at least 0"]),
    ({"min_output_yi": "20", "max_age_years": False}, [
        "statistics.min_output_yi: must be a number from 0",
        "statistics.max_age_years: must be a whole number of at least 0"]),
    ({"max_age_years": 2}, ["statistics.min_output_yi: must be a number from 0"]),
    ({"min_output_yi": 20}, ["statistics.max_age_years: must be a whole number of at least 0"]),
])
def test_each_wrong_statistics_criterion_is_named(statistics, expected):
    assert errors(doc(statistics)) == [f"c.yaml: {e}" for e in expected]


@pytest.mark.parametrize(("evaluation", "expected"), [
    ("two years", ["evaluation: must be a mapping with max_age_years, min_score_percent and max_rank",
                   "evaluation.max_age_years: must be a whole number of at least 0"]),
    ({"max_age_years": 2, "best": 1}, ["evaluation.best: unknown key"]),
    ({"max_age_years": -1, "min_score_percent": -1, "max_rank": 0}, [
        "evaluation.max_age_years: must be a whole number of at least 0",
        "evaluation.min_score_percent: must be a number from 0 to 100",
        "evaluation.max_rank: must be a whole number of at least 1"]),
    ({"max_age_years": 2, "min_score_percent": 100.01, "max_rank": 1.5}, [
        "evaluation.min_score_percent: must be a number from 0 to 100",
        "evaluation.max_rank: must be a whole number of at least 1"]),
    ({"max_age_years": True, "min_score_percent": True, "max_rank": True}, [
        "evaluation.max_age_years: must be a whole number of at least 0",
        "evaluation.min_score_percent: must be a number from 0 to 100",
        "evaluation.max_rank: must be a whole number of at least 1"]),
    ({"max_age_years": 2, "min_score_percent": "60%", "max_rank": "5"}, [
        "evaluation.min_score_percent: must be a number from 0 to 100",
        "evaluation.max_rank: must be a whole number of at least 1"]),
])
def test_each_wrong_evaluation_criterion_is_named(evaluation, expected):
    assert errors(doc(evaluation=evaluation)) == [f"c.yaml: {e}" for e in expected]


def test_every_blocking_state_the_rectification_order_does_not_have_is_named():
    assert errors(doc(blocking_rectification_states=["late", "overdue", "gone"])) == [
        "c.yaml: blocking_rectification_states: unknown state 'late' of rectification",
        "c.yaml: blocking_rectification_states: unknown state 'gone' of rectification"]
    assert errors(doc(blocking_rectification_states=["overdue"]), set()) == [
        "c.yaml: blocking_rectification_states: unknown state 'overdue' of rectification"]


def test_the_shipped_file_loads_against_the_rectification_order_s_states(tmp_path, monkeypatch):
    shipped = criteria_module.criteria()
    assert shipped == parse_criteria(criteria_module.CRITERIA_PATH.read_text(encoding="utf-8"), "x.yaml")
    broken = tmp_path / "provincial_criteria.yaml"
    broken.write_text(doc(blocking_rectification_states=["overdue", "late"]), encoding="utf-8")
    monkeypatch.setattr(criteria_module, "CRITERIA_PATH", broken)
    criteria_module.criteria.cache_clear()
    try:
        with pytest.raises(CriteriaError) as bad:
            criteria_module.criteria()
    finally:
        criteria_module.criteria.cache_clear()
    assert bad.value.errors == [
        "provincial_criteria.yaml: blocking_rectification_states: unknown state 'late' of rectification"]


# -- a town against the criteria -----------------------------------------------------------------------------------

TODAY = date(2027, 5, 10)
SPEC = Criteria(version=1, label=Label("条件", "Criteria"), min_municipal_years=2, min_output_yi=Decimal(20),
                statistics_max_age=2, evaluation_max_age=1, min_score_percent=Decimal(60), max_rank=5,
                blocking_states=("overdue", "criticised"))


class Town:
    """What the criteria read of a town, as the database would give it (the defaults meet every criterion)."""

    def __init__(self, *, state: str | None = "municipal", since: Any = "2025-05-10", stats_year: int | None = 2025,
                 output: float | None = 20.0, evaluations: list[EvaluationYear] | None = None,
                 orders: tuple[str, ...] = ()):
        self.record = None if state is None else SimpleNamespace(state=state, data={"designated_date": since})
        self.stats = None if stats_year is None else SimpleNamespace(year=stats_year, output_yi=output)
        self.evaluations = [evaluation()] if evaluations is None else evaluations
        self.orders = [SimpleNamespace(number=n) for n in orders]
        self.asked: list[tuple[int, tuple[str, ...]]] = []

    def reasons(self, monkeypatch, spec: Criteria = SPEC, today: date = TODAY, which: str = "zh") -> list[str]:
        monkeypatch.setattr(criteria_module, "registry_case", lambda _s, town_id: self.record)
        monkeypatch.setattr(criteria_module, "latest_statistics", lambda _s, town_id: self.stats)
        monkeypatch.setattr(criteria_module, "evaluation_history", lambda _s, town_id: self.evaluations)

        def orders(_s, town_id, states):
            self.asked.append((town_id, states))
            return self.orders

        monkeypatch.setattr(criteria_module, "blocking_orders", orders)
        found = reasons_for(None, 7, today, spec)  # type: ignore[arg-type]
        assert all(set(r) == {"zh", "en"} for r in found)
        return [r[which] for r in found]


def evaluation(year: int = 2026, total: str = "60", max_points: str = "100", rank: int | None = 5) -> EvaluationYear:
    return EvaluationYear(year=year, case_id=1, total=Decimal(total), max_points=Decimal(max_points), rank=rank)


def test_a_town_exactly_at_every_threshold_may_be_recommended(monkeypatch):
    town = Town()
    assert town.reasons(monkeypatch) == []
    assert town.asked == [(7, ("overdue", "criticised"))]


def test_a_town_that_is_not_municipal_is_told_only_that(monkeypatch):
    for state in (None, "provincial", "candidate"):
        town = Town(state=state, since=None, stats_year=None, evaluations=[], orders=("ZG-1",))
        assert town.reasons(monkeypatch) == ["该镇当前不是市级专业镇，不能推荐省级"]
        assert town.reasons(monkeypatch, which="en") == ["the town is not a municipal professional town now"]


@pytest.mark.parametrize(("since", "short"), [
    ("2025-05-10", False),  # two years to the day
    ("2025-05-11", True),  # one day short
    ("2025-04-30", False),
    ("2025-06-01", True),  # an earlier day of a later month is still short
    ("2026-05-10", True),
    ("2024-06-10", False),  # two years and eleven months: two whole years, not one
])
def test_years_designated_count_whole_years_to_the_day(monkeypatch, since, short):
    expected = [f"认定为市级专业镇未满 2 年（认定日期 {since}）"] if short else []
    assert Town(since=since).reasons(monkeypatch) == expected


def test_a_town_one_day_short_of_its_years_is_told_why_in_both_languages(monkeypatch):
    town = Town(since="2025-05-11")
    assert town.reasons(monkeypatch, which="en") == [
        "designated municipal less than 2 years ago (on 2025-05-11)"]


@pytest.mark.parametrize("since", [None, "", "20250510", "2025-02-30", 20250510])
def test_a_town_without_a_real_designation_date_is_told_it_is_short(monkeypatch, since):
    town = Town(since=since)
    assert town.reasons(monkeypatch) == ["认定为市级专业镇未满 2 年（认定日期 —）"]
    assert town.reasons(monkeypatch, which="en") == ["designated municipal less than 2 years ago (on —)"]


def test_a_town_without_a_year_designated_requirement_passes_from_its_first_day(monkeypatch):
    spec = Criteria(**{**SPEC.__dict__, "min_municipal_years": 0})
    assert Town(since="2027-05-10").reasons(monkeypatch, spec) == []


def test_statistics_older_than_allowed_or_none_are_a_reason(monkeypatch):
    assert Town(stats_year=2025).reasons(monkeypatch) == []  # exactly two years old
    for town in (Town(stats_year=2024), Town(stats_year=None)):
        assert town.reasons(monkeypatch) == ["没有 2025 年以来已审核通过的年度统计数据"]
        assert town.reasons(monkeypatch, which="en") == ["no accepted annual statistics of 2025 or later"]
    # statistics too old say nothing of their output
    assert Town(stats_year=2024, output=1.0).reasons(monkeypatch) == ["没有 2025 年以来已审核通过的年度统计数据"]


def test_an_output_one_cent_under_the_threshold_is_a_reason(monkeypatch):
    assert Town(output=20.0).reasons(monkeypatch) == []
    assert Town(output=20.01).reasons(monkeypatch) == []
    town = Town(output=19.99)
    assert town.reasons(monkeypatch) == ["2025 年主导产业产值 19.99 亿元，低于 20 亿元"]
    assert town.reasons(monkeypatch, which="en") == [
        "the leading industry's output of 2025 is 19.99 亿元, under 20 亿元"]


def test_an_output_not_given_is_a_reason(monkeypatch):
    town = Town(output=None)
    assert town.reasons(monkeypatch) == ["2025 年主导产业产值 未填报，低于 20 亿元"]
    assert town.reasons(monkeypatch, which="en") == [
        "the leading industry's output of 2025 is not given, under 20 亿元"]


def test_a_threshold_with_decimals_is_shown_as_written(monkeypatch):
    spec = Criteria(**{**SPEC.__dict__, "min_output_yi": Decimal("20.5"), "min_score_percent": Decimal("62.5")})
    town = Town(output=20.4, evaluations=[evaluation(total="62.4")])
    assert town.reasons(monkeypatch, spec) == ["2025 年主导产业产值 20.4 亿元，低于 20.5 亿元",
                                               "2026 年度评价总分 62.4 / 100，低于满分的 62.5%"]
    assert town.reasons(monkeypatch, spec, which="en") == [
        "the leading industry's output of 2025 is 20.4 亿元, under 20.5 亿元",
        "the 2026 evaluation's total 62.4 / 100 is under 62.5% of the points"]


def test_an_evaluation_older_than_allowed_or_none_is_a_reason(monkeypatch):
    assert Town(evaluations=[evaluation(year=2026)]).reasons(monkeypatch) == []  # exactly one year old
    for town in (Town(evaluations=[evaluation(year=2025)]), Town(evaluations=[])):
        assert town.reasons(monkeypatch) == ["没有 2026 年度以来的年度评价结果"]
        assert town.reasons(monkeypatch, which="en") == ["no final annual evaluation of 2026 or later"]
    # an evaluation too old says nothing of its score or rank
    assert Town(evaluations=[evaluation(year=2025, total="1", rank=99)]).reasons(monkeypatch) == [
        "没有 2026 年度以来的年度评价结果"]


def test_the_latest_evaluation_is_the_one_judged(monkeypatch):
    history = [evaluation(year=2026, total="80", rank=1), evaluation(year=2025, total="10", rank=30)]
    assert Town(evaluations=history).reasons(monkeypatch) == []
    history = [evaluation(year=2026, total="10", rank=30), evaluation(year=2025, total="80", rank=1)]
    assert Town(evaluations=history).reasons(monkeypatch) == ["2026 年度评价总分 10 / 100，低于满分的 60%",
                                                              "2026 年度评价排名第 30 位，未进入前 5 名"]


@pytest.mark.parametrize(("total", "max_points", "short"), [
    ("60", "100", False), ("59.99", "100", True), ("60.01", "100", False),
    ("30", "50", False), ("29.9", "50", True),
])
def test_a_score_share_is_measured_against_the_points_possible(monkeypatch, total, max_points, short):
    expected = [f"2026 年度评价总分 {total} / {max_points}，低于满分的 60%"] if short else []
    assert Town(evaluations=[evaluation(total=total, max_points=max_points)]).reasons(monkeypatch) == expected


def test_a_score_one_step_short_is_told_why_in_english(monkeypatch):
    town = Town(evaluations=[evaluation(total="59.99")])
    assert town.reasons(monkeypatch, which="en") == [
        "the 2026 evaluation's total 59.99 / 100 is under 60% of the points"]


def test_an_evaluation_out_of_one_point_is_judged_by_its_share(monkeypatch):
    assert Town(evaluations=[evaluation(total="0.5", max_points="1")]).reasons(monkeypatch) == [
        "2026 年度评价总分 0.5 / 1，低于满分的 60%"]
    assert Town(evaluations=[evaluation(total="0.6", max_points="1")]).reasons(monkeypatch) == []


def test_an_evaluation_without_points_possible_or_a_criteria_without_a_share_judges_no_score(monkeypatch):
    assert Town(evaluations=[evaluation(total="0", max_points="0")]).reasons(monkeypatch) == []
    spec = Criteria(**{**SPEC.__dict__, "min_score_percent": None})
    assert Town(evaluations=[evaluation(total="1")]).reasons(monkeypatch, spec) == []


@pytest.mark.parametrize(("rank", "short"), [(5, False), (6, True), (1, False), (None, False)])
def test_a_rank_below_the_first_places_is_a_reason(monkeypatch, rank, short):
    expected = [f"2026 年度评价排名第 {rank} 位，未进入前 5 名"] if short else []
    assert Town(evaluations=[evaluation(rank=rank)]).reasons(monkeypatch) == expected


def test_a_rank_one_place_short_is_told_why_in_english(monkeypatch):
    assert Town(evaluations=[evaluation(rank=6)]).reasons(monkeypatch, which="en") == [
        "ranked 6 in 2026, not within the first 5"]


def test_a_criteria_without_a_rank_judges_no_rank(monkeypatch):
    spec = Criteria(**{**SPEC.__dict__, "max_rank": None})
    assert Town(evaluations=[evaluation(rank=99)]).reasons(monkeypatch, spec) == []


def test_standing_rectification_orders_are_named_by_number(monkeypatch):
    town = Town(orders=("ZG-2027-0001",))
    assert town.reasons(monkeypatch) == ["有逾期未整改或被通报批评的整改通知：ZG-2027-0001"]
    town = Town(orders=("ZG-2027-0001", "ZG-2027-0007"))
    assert town.reasons(monkeypatch) == ["有逾期未整改或被通报批评的整改通知：ZG-2027-0001、ZG-2027-0007"]
    assert town.reasons(monkeypatch, which="en") == [
        "rectification orders overdue or criticised: ZG-2027-0001、ZG-2027-0007"]


def test_a_town_missing_every_criterion_is_given_every_reason_in_order(monkeypatch):
    town = Town(since="2026-01-01", output=3.5, evaluations=[evaluation(total="40", rank=12)], orders=("ZG-9",))
    assert town.reasons(monkeypatch, which="en") == [
        "designated municipal less than 2 years ago (on 2026-01-01)",
        "the leading industry's output of 2025 is 3.5 亿元, under 20 亿元",
        "the 2026 evaluation's total 40 / 100 is under 60% of the points",
        "ranked 12 in 2026, not within the first 5",
        "rectification orders overdue or criticised: ZG-9"]


def test_without_criteria_given_the_shipped_ones_apply(monkeypatch):
    shipped = criteria_module.criteria()
    town = Town(since=NOW.date().replace(year=NOW.year - shipped.min_municipal_years).isoformat(),
                stats_year=2026, output=float(shipped.min_output_yi),
                evaluations=[evaluation(total=str(shipped.min_score_percent or 0), rank=shipped.max_rank)])
    monkeypatch.setattr(criteria_module, "registry_case", lambda _s, _t: town.record)
    monkeypatch.setattr(criteria_module, "latest_statistics", lambda _s, _t: town.stats)
    monkeypatch.setattr(criteria_module, "evaluation_history", lambda _s, _t: town.evaluations)
    monkeypatch.setattr(criteria_module, "blocking_orders", lambda _s, _t, states: [] if states else ["?"])
    assert reasons_for(None, 7, NOW.date()) == []  # type: ignore[arg-type]


# -- what the criteria read from the database -------------------------------------------------------------------

def test_the_latest_accepted_year_of_statistics_is_read(db, world):
    town = world["towns"]["甲镇"]
    with transaction(db) as s:
        s.add(TownStatistics(town_id=town.id, county_id=town.county_id, year=2025, output_yi=99,
                             figures={"output_yi": 99}, spec_version=1, report_case_id=1, accepted_at=NOW))
    with transaction(db) as s:
        stats = latest_statistics(s, town.id)
        assert (stats.year, stats.output_yi) == (2026, 30)
        assert latest_statistics(s, town.id + 100) is None


def test_the_latest_year_is_read_whatever_the_order_the_years_were_accepted_in(db, make):
    """2025's figures accepted after 2026's (a late correction): 2026's still count."""
    town = designated(make, db, "庚镇", output=None)
    with transaction(db) as s:
        for year, output in ((2025, 5), (2026, 30)):
            s.add(TownStatistics(town_id=town.id, county_id=town.county_id, year=year, output_yi=output,
                                 figures={"output_yi": output}, spec_version=1, report_case_id=1, accepted_at=NOW))
    with transaction(db) as s:
        assert latest_statistics(s, town.id).year == 2026


def test_the_evaluations_are_read_through_the_session_from_the_evaluation_process(db, make):
    """Without the test world's stand-in: the evaluation process's own reader is asked, in the same session."""
    town = designated(make, db, "辛镇", total=None)
    with transaction(db) as s:
        assert [r["en"] for r in criteria_module.reasons_for(s, town.id, NOW.date())] == [
            "no final annual evaluation of 2025 or later"]


def _problem(make, world, town):
    """A problem of the ledger logged for `town` by the office."""
    return make.case("problem", town=town, by=world["users"]["office"],
                     data={"category": "land", "description": "用地指标不足"})


def _put_in_state(db, case_id: int, state: str) -> None:
    from workflow.core.models import Case

    with transaction(db) as s:
        s.connection().execute(sa.update(Case.__table__).where(Case.__table__.c.id == case_id).values(state=state))


def test_only_rectification_orders_block_not_another_process_s_case_in_a_state_of_that_name(db, world, make):
    """A problem of the ledger also stands "overdue": it is not a rectification order and blocks nothing."""
    town = world["towns"]["甲镇"]
    other = _problem(make, world, town)
    _put_in_state(db, other.id, "overdue")
    with transaction(db) as s:
        assert blocking_orders(s, town.id, ("overdue", "criticised")) == []
        assert reasons_for(s, town.id, NOW.date()) == []


def test_only_town_records_are_on_the_shortlist(db, world, make):
    """A case of another process standing in a state named "municipal" is not a municipal town's record."""
    other = _problem(make, world, world["towns"]["甲镇"])
    _put_in_state(db, other.id, "municipal")
    with transaction(db) as s:
        rows = shortlist(s, NOW.date())
    assert sorted(r.town for r in rows) == sorted(world["towns"])
    assert len(rows) == 3


def test_towns_of_one_county_are_listed_by_name(db, world, make):
    """一镇 is made after 甲镇, in the same county and as eligible: by name (code point) it comes first."""
    designated(make, db, "一镇")
    with transaction(db) as s:
        rows = shortlist(s, NOW.date())
    yu = world["towns"]["甲镇"].county_id
    assert [r.town for r in rows if r.county_id == yu and r.is_eligible] == ["一镇", "甲镇"]


def test_only_the_orders_standing_in_a_blocking_state_block_the_town_in_their_order(db, world, make):
    town = world["towns"]["乙镇"]
    first = order(make, world, town, "criticised")
    order(make, world, town, "issued")
    second = order(make, world, town, "overdue")
    order(make, world, world["towns"]["甲镇"], "overdue")
    with transaction(db) as s:
        assert [o.id for o in blocking_orders(s, town.id, ("overdue", "criticised"))] == [first.id, second.id]
        assert [o.id for o in blocking_orders(s, town.id, ("overdue",))] == [second.id]
        assert blocking_orders(s, town.id, ()) == []
        assert [r["en"] for r in reasons_for(s, town.id, NOW.date())] == [
            f"rectification orders overdue or criticised: {first.number}、{second.number}"]


def test_the_shortlist_lists_municipal_towns_by_county_and_name_eligible_first(db, world, make):
    late = designated(make, db, "戊镇", county="平定县", output=5)
    make.town("己镇", county="盂县")  # not designated: not on the shortlist
    with transaction(db) as s:
        rows = shortlist(s, NOW.date())
        records = {r.town: r.record_id for r in rows}
        from workflow.core.queries import registry_case

        assert records == {name: registry_case(s, t.id).id for name, t in [*world["towns"].items(), ("戊镇", late)]}
    towns = world["towns"]
    yu, pd = towns["甲镇"].county_id, towns["乙镇"].county_id
    by_county = sorted([(yu, "甲镇"), (pd, "乙镇")])
    missing = sorted([(yu, "丙镇"), (pd, "戊镇")])
    assert [(r.county_id, r.town) for r in rows] == by_county + missing
    assert [r.is_eligible for r in rows] == [True, True, False, False]
    assert {r.town: r.town_id for r in rows} == {"甲镇": towns["甲镇"].id, "乙镇": towns["乙镇"].id,
                                                 "丙镇": towns["丙镇"].id, "戊镇": late.id}
    assert [r["zh"] for r in next(r for r in rows if r.town == "戊镇").reasons] == [
        "2026 年主导产业产值 5 亿元，低于 20 亿元"]
