"""Scoring, ranking and outcomes of the annual evaluation: each rule at its edges, the explanation a person reads,
a missing value flagged (never 0), ties broken by the file's rules or shared, praise, 督办 and the proposal to
revoke."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

import pytest

from workflow.core.yamlcheck import Label
from workflow.evaluation.indicators import TieBreaker, parse_evaluation
from workflow.evaluation.scoring import (
    Adjustment,
    IncompleteError,
    adjust,
    outcomes,
    praise_count,
    rank,
    score_indicator,
    score_town,
)

SPEC = parse_evaluation("""
key: evaluation
version: 1
label: {zh: 评价, en: Evaluation}
document: 阳政办发〔2023〕24号 六(五)
total: 30
groups:
  - key: scale
    label: {zh: 产业规模, en: Scale}
    points: 20
    indicators:
      - key: output
        label: {zh: 产值, en: Output}
        points: 10
        provider: statistics
        field: output_yi
        rule: {kind: linear, low: 10, high: 50}
        evidence: {zh: 统计报表, en: Report}
        clause: 五(二)
      - key: growth
        label: {zh: 产值增速, en: Output growth}
        points: 6
        provider: statistics
        field: output_yi
        rule:
          kind: growth
          steps: [{at: 0, points: 2}, {at: 5, points: 4}, {at: 10, points: 6}]
        evidence: {zh: 统计报表, en: Report}
        clause: 五(二)
      - key: firms
        label: {zh: 规上企业, en: Firms}
        points: 4
        provider: statistics
        field: above_scale_firms
        rule:
          kind: steps
          steps: [{at: 3, points: 2}, {at: 6, points: 4}]
        evidence: {zh: 统计报表, en: Report}
        clause: 五(二)
  - key: innovation
    label: {zh: 创新能力, en: Innovation}
    points: 10
    indicators:
      - key: policy
        label: {zh: 一镇一策, en: Own policy}
        points: 4
        provider: county
        rule: {kind: yes_no}
        evidence: {zh: 文件, en: Document}
        clause: 六(二)
      - key: jobs
        label: {zh: 就业目标, en: Jobs target}
        points: 6
        provider: statistics
        field: employees
        rule: {kind: target_share, floor: 60}
        evidence: {zh: 统计报表, en: Report}
        clause: 五(五)
ranking:
  tie_breakers: [{group: innovation}, {value: output}]
  praise: {top: 2}
  supervise: {bottom: 1}
  revoke: {bottom_years: 2, below: 5}
""", "test.yaml")
ind = SPEC.indicator


def said(score):
    return score.points, score.explanation.zh, score.explanation.en


@pytest.mark.parametrize(("value", "points", "zh", "en"), [
    (5, 0, "产值 5 亿元，不高于 10 亿元：0 / 10 分", "Output 5 ¥100 m, not above 10 ¥100 m: 0 / 10 points"),
    (10, 0, "产值 10 亿元，不高于 10 亿元：0 / 10 分", "Output 10 ¥100 m, not above 10 ¥100 m: 0 / 10 points"),
    (Decimal("10.1"), Decimal("0.03"), "产值 10.1 亿元，在 10～50 亿元之间线性计分：0.03 / 10 分",
     "Output 10.1 ¥100 m, in proportion between 10 and 50 ¥100 m: 0.03 / 10 points"),
    (25, Decimal("3.75"), "产值 25 亿元，在 10～50 亿元之间线性计分：3.75 / 10 分",
     "Output 25 ¥100 m, in proportion between 10 and 50 ¥100 m: 3.75 / 10 points"),
    (49.9, Decimal("9.98"), "产值 49.9 亿元，在 10～50 亿元之间线性计分：9.98 / 10 分",
     "Output 49.9 ¥100 m, in proportion between 10 and 50 ¥100 m: 9.98 / 10 points"),
    (50, 10, "产值 50 亿元，达到 50 亿元：10 / 10 分", "Output 50 ¥100 m, reaches 50 ¥100 m: 10 / 10 points"),
    (120, 10, "产值 120 亿元，达到 50 亿元：10 / 10 分", "Output 120 ¥100 m, reaches 50 ¥100 m: 10 / 10 points"),
])
def test_linear_between_two_values(value, points, zh, en):
    score = score_indicator(ind("output"), value)
    assert said(score) == (points, zh, en)
    assert score.max_points == 10 and not score.missing and not score.adjusted


def test_a_missing_value_is_flagged_not_scored_zero():
    for key in ("output", "growth", "firms", "policy", "jobs"):
        score = score_indicator(ind(key), None, 10, 10)
        assert score.missing and score.points is None
    assert said(score_indicator(ind("output"), None)) == (
        None, "产值：未提供数值，未计分（须补录，或由办公室决定）",
        "Output: no value, not scored (to be entered, or decided by the office)")


def test_a_value_of_the_wrong_kind_is_refused():
    for value in (True, "25", [25]):
        with pytest.raises(TypeError):
            score_indicator(ind("output"), value)
    with pytest.raises(ValueError, match="finite"):
        score_indicator(ind("output"), float("nan"))
    with pytest.raises(TypeError):
        score_indicator(ind("policy"), 1)


@pytest.mark.parametrize(("value", "points", "zh", "en"), [
    (0, 0, "规上企业 0 家，未达到最低档 3 家：0 / 4 分",
     "Firms 0 firms, below the lowest step of 3 firms: 0 / 4 points"),
    (2, 0, "规上企业 2 家，未达到最低档 3 家：0 / 4 分",
     "Firms 2 firms, below the lowest step of 3 firms: 0 / 4 points"),
    (3, 2, "规上企业 3 家，达到 3 家档：2 / 4 分", "Firms 3 firms, reaches the step of 3 firms: 2 / 4 points"),
    (5, 2, "规上企业 5 家，达到 3 家档：2 / 4 分", "Firms 5 firms, reaches the step of 3 firms: 2 / 4 points"),
    (6, 4, "规上企业 6 家，达到 6 家档：4 / 4 分", "Firms 6 firms, reaches the step of 6 firms: 4 / 4 points"),
    (60, 4, "规上企业 60 家，达到 6 家档：4 / 4 分", "Firms 60 firms, reaches the step of 6 firms: 4 / 4 points"),
])
def test_steps_give_the_points_of_the_highest_threshold_reached(value, points, zh, en):
    assert said(score_indicator(ind("firms"), value)) == (points, zh, en)


def test_yes_or_no():
    assert said(score_indicator(ind("policy"), True)) == (4, "一镇一策：是：4 / 4 分", "Own policy: yes: 4 / 4 points")
    assert said(score_indicator(ind("policy"), False)) == (0, "一镇一策：否：0 / 4 分", "Own policy: no: 0 / 4 points")


@pytest.mark.parametrize(("value", "last", "points", "zh", "en"), [
    (19, 20, 0, "产值增速：本年 19 亿元，上年 20 亿元，增长 -5%，未达到最低档 0%：0 / 6 分",
     "Output growth: 19 ¥100 m this year, 20 ¥100 m last year, a growth of -5%, below the lowest step of 0%: "
     "0 / 6 points"),
    (20, 20, 2, "产值增速：本年 20 亿元，上年 20 亿元，增长 0%，达到 0% 档：2 / 6 分",
     "Output growth: 20 ¥100 m this year, 20 ¥100 m last year, a growth of 0%, reaches the step of 0%: 2 / 6 points"),
    (Decimal("20.99"), 20, 2, "产值增速：本年 20.99 亿元，上年 20 亿元，增长 5%，达到 0% 档：2 / 6 分",
     "Output growth: 20.99 ¥100 m this year, 20 ¥100 m last year, a growth of 5%, reaches the step of 0%: "
     "2 / 6 points"),
    (21, 20, 4, "产值增速：本年 21 亿元，上年 20 亿元，增长 5%，达到 5% 档：4 / 6 分",
     "Output growth: 21 ¥100 m this year, 20 ¥100 m last year, a growth of 5%, reaches the step of 5%: 4 / 6 points"),
    (22, 20, 6, "产值增速：本年 22 亿元，上年 20 亿元，增长 10%，达到 10% 档：6 / 6 分",
     "Output growth: 22 ¥100 m this year, 20 ¥100 m last year, a growth of 10%, reaches the step of 10%: "
     "6 / 6 points"),
    (30, 20, 6, "产值增速：本年 30 亿元，上年 20 亿元，增长 50%，达到 10% 档：6 / 6 分",
     "Output growth: 30 ¥100 m this year, 20 ¥100 m last year, a growth of 50%, reaches the step of 10%: "
     "6 / 6 points"),
    (5, 0, 6, "产值增速：本年 5 亿元，上年为 0，按最高档计分：6 / 6 分",
     "Output growth: 5 ¥100 m this year, 0 last year, scored at the highest step: 6 / 6 points"),
    (0, 0, 2, "产值增速：本年 0 亿元，上年 0 亿元，增长 0%，达到 0% 档：2 / 6 分",
     "Output growth: 0 ¥100 m this year, 0 ¥100 m last year, a growth of 0%, reaches the step of 0%: 2 / 6 points"),
    (0, 20, 0, "产值增速：本年 0 亿元，上年 20 亿元，增长 -100%，未达到最低档 0%：0 / 6 分",
     "Output growth: 0 ¥100 m this year, 20 ¥100 m last year, a growth of -100%, below the lowest step of 0%: "
     "0 / 6 points"),
])
def test_growth_over_last_year(value, last, points, zh, en):
    assert said(score_indicator(ind("growth"), value, last)) == (points, zh, en)


def test_growth_without_last_year_is_missing_and_a_negative_value_is_refused():
    assert said(score_indicator(ind("growth"), 22)) == (
        None, "产值增速：缺少上年数值，无法计算增长，未计分",
        "Output growth: last year's value is missing, no growth to score")
    for value, last in ((-1, 20), (20, -1)):
        with pytest.raises(ValueError, match="0 or more"):
            score_indicator(ind("growth"), value, last)


@pytest.mark.parametrize(("value", "target", "points", "zh", "en"), [
    (590, 1000, 0, "就业目标 590 人，目标 1000 人，完成 59%，低于 60%：0 / 6 分",
     "Jobs target 590 people, target 1000 people, 59% reached, below 60%: 0 / 6 points"),
    (600, 1000, Decimal("3.6"), "就业目标 600 人，目标 1000 人，完成 60%，按完成比例计分：3.6 / 6 分",
     "Jobs target 600 people, target 1000 people, 60% reached, scored in proportion: 3.6 / 6 points"),
    (900, 1000, Decimal("5.4"), "就业目标 900 人，目标 1000 人，完成 90%，按完成比例计分：5.4 / 6 分",
     "Jobs target 900 people, target 1000 people, 90% reached, scored in proportion: 5.4 / 6 points"),
    (1000, 1000, 6, "就业目标 1000 人，目标 1000 人，完成 100%：6 / 6 分",
     "Jobs target 1000 people, target 1000 people, 100% reached: 6 / 6 points"),
    (1200, 1000, 6, "就业目标 1200 人，目标 1000 人，完成 120%：6 / 6 分",
     "Jobs target 1200 people, target 1000 people, 120% reached: 6 / 6 points"),
    (2, 3, Decimal("4"), "就业目标 2 人，目标 3 人，完成 66.7%，按完成比例计分：4 / 6 分",
     "Jobs target 2 people, target 3 people, 66.7% reached, scored in proportion: 4 / 6 points"),
])
def test_share_of_the_target_reached(value, target, points, zh, en):
    assert said(score_indicator(ind("jobs"), value, target=target)) == (points, zh, en)


def test_a_share_without_a_target_or_of_a_zero_target_is_missing():
    assert said(score_indicator(ind("jobs"), 900)) == (
        None, "就业目标：未设定目标，无法计算完成比例，未计分", "Jobs target: no target set, no share to score")
    assert said(score_indicator(ind("jobs"), 900, target=0)) == (
        None, "就业目标：目标为 0 人，无法计算完成比例，未计分",
        "Jobs target: the target is 0 people, no share to score")


def test_the_office_adjusts_a_score_with_its_reason():
    missing = score_indicator(ind("output"), None)
    zero = adjust(missing, Adjustment(Decimal(0), "  逾期未报送  "))
    assert (zero.points, zero.computed, zero.reason, zero.adjusted, zero.missing) == (
        0, None, "逾期未报送", True, False)
    assert zero.explanation.zh == (
        "产值：未提供数值，未计分（须补录，或由办公室决定）；办公室调整为 0 分，理由：逾期未报送")
    assert zero.explanation.en.endswith("; set by the office to 0 points: 逾期未报送")
    corrected = adjust(score_indicator(ind("output"), 25), Adjustment(Decimal("10"), "产值核实为 50 亿元"))
    assert (corrected.points, corrected.computed) == (10, Decimal("3.75"))
    assert adjust(missing, Adjustment(Decimal("0.005"), "x")).points == Decimal("0.01")
    with pytest.raises(ValueError, match="from 0 to 10"):
        adjust(missing, Adjustment(Decimal("10.01"), "x"))
    with pytest.raises(ValueError, match="from 0 to 10"):
        adjust(missing, Adjustment(Decimal("-0.01"), "x"))
    with pytest.raises(ValueError, match="reason"):
        adjust(missing, Adjustment(Decimal(1), " "))


FULL = {"output": 50, "growth": 22, "firms": 6, "policy": True, "jobs": 1000}
LAST = {"growth": 20}
TARGETS = {"jobs": 1000}


def town(town_id, values=None, **changes):
    return score_town(SPEC, {**(values or FULL), **changes}, town=town_id, name=f"镇{town_id}", last_values=LAST,
                      targets=TARGETS)


def test_a_town_is_scored_per_group_and_in_total_and_what_is_missing_is_named():
    full = town(1)
    assert (full.groups, full.total, full.missing) == ({"scale": 20, "innovation": 10}, 30, ())
    assert [s.key for s in full.scores] == ["output", "growth", "firms", "policy", "jobs"]
    assert full.score("output").points == 10 and full.score("nothing") is None
    partial = score_town(SPEC, {"output": 25, "policy": False}, town=2, name="镇2")
    assert (partial.groups, partial.total, partial.missing) == (
        {"scale": Decimal("3.75"), "innovation": 0}, Decimal("3.75"), ("growth", "firms", "jobs"))
    decided = score_town(SPEC, {"output": 25, "policy": False}, town=2, last_values=LAST, targets=TARGETS,
                         adjustments={"growth": Adjustment(Decimal(0), "未报上年数据"),
                                      "firms": Adjustment(Decimal(1), "核实"), "jobs": Adjustment(Decimal(0), "无")})
    assert (decided.total, decided.missing, decided.name) == (Decimal("4.75"), (), "")
    with pytest.raises(KeyError, match="exports"):
        score_town(SPEC, {"exports": 1}, town=3)


def test_ranks_by_total_ties_broken_by_the_group_then_the_value():
    a = town("a", firms=3)                      # 28: scale 18, innovation 10
    b = town("b", policy=False, output=60)      # 26
    c = town("c", jobs=900, growth=21)          # 27.4: scale 10 + 4 + 4, innovation 4 + 5.4
    d = town("d", jobs=800, output=50)          # 28.8, the same as e: scale 20, innovation 4 + 4.8
    e = town("e", jobs=800, output=55)
    assert (c.total, d.total, e.total) == (Decimal("27.4"), Decimal("28.8"), Decimal("28.8"))
    ranked = rank(SPEC, [a, b, c, d, e])
    assert [(r.rank, r.town.town, r.tied) for r in ranked] == [
        (1, "e", False), (2, "d", False), (3, "a", False), (4, "c", False), (5, "b", False)]
    assert ranked[0].decided_by == TieBreaker("value", "output") == ranked[1].decided_by
    assert ranked[2].decided_by is None
    # f and g have the same total; g has more in innovation, f more output
    f = town("f", policy=False, firms=3, jobs=1000, growth=21)  # scale 10 + 4 + 2, innovation 0 + 6: 22
    g = town("g", firms=3, jobs=600, output=Decimal("35.6"))  # scale 6.4 + 6 + 2, innovation 4 + 3.6: 22
    assert f.total == g.total
    ranked = rank(SPEC, [g, f])
    assert [(r.rank, r.town.town) for r in ranked] == [(1, "g"), (2, "f")]
    assert ranked[0].decided_by == ranked[1].decided_by == TieBreaker("group", "innovation")


def test_towns_equal_after_every_rule_share_their_rank_and_the_next_rank_is_skipped():
    first, twin_b, twin_a, last = town("x"), town("z", firms=3), town("y", firms=3), town("w", policy=False)
    ranked = rank(SPEC, [last, twin_b, first, twin_a])
    assert [(r.rank, r.town.town, r.tied, r.decided_by) for r in ranked] == [
        (1, "x", False, None), (2, "y", True, None), (2, "z", True, None), (4, "w", False, None)]
    assert [r.town.town for r in rank(SPEC, [twin_a, last, first, twin_b])] == ["x", "y", "z", "w"]


def test_an_indicator_s_points_break_a_tie_and_a_missing_value_comes_last():
    spec = replace(SPEC, ranking=replace(SPEC.ranking, tie_breakers=(TieBreaker("indicator", "firms"),
                                                                     TieBreaker("value", "output"))))
    low = score_town(SPEC, {**FULL, "firms": 3, "output": None}, town="p", last_values=LAST, targets=TARGETS,
                     adjustments={"output": Adjustment(Decimal(10), "核实")})
    high = town("q", firms=3)
    more_firms = town("r", output=42)
    assert low.total == high.total == more_firms.total == 28
    ranked = rank(spec, [low, high, more_firms])
    assert [(r.rank, r.town.town, r.decided_by) for r in ranked] == [
        (1, "r", TieBreaker("indicator", "firms")), (2, "q", TieBreaker("indicator", "firms")),
        (3, "p", TieBreaker("value", "output"))]


def test_a_town_with_a_missing_score_cannot_be_ranked():
    with pytest.raises(IncompleteError) as bad:
        rank(SPEC, [town(1), score_town(SPEC, {"output": 25}, town=2, name="镇2"),
                    score_town(SPEC, {"policy": True}, town=3)])
    assert bad.value.towns == [("镇2", ("growth", "firms", "policy", "jobs")), ("3", ("output", "growth", "firms",
                                                                                     "jobs"))]
    assert str(bad.value) == "镇2: growth, firms, policy, jobs; 3: output, growth, firms, jobs"


def scores(*totals):
    """Towns t1, t2, … whose totals are the given ones (the output alone varies)."""
    found = []
    for n, total in enumerate(totals, start=1):
        made = score_town(SPEC, {**FULL, "output": 10 + Decimal(total) * 4}, town=f"t{n}", last_values=LAST,
                          targets=TARGETS)
        assert made.total == 20 + Decimal(total)
        found.append(made)
    return found


def names(ranked):
    return [r.town.town for r in ranked]


def test_praise_the_top_and_supervise_the_bottom():
    ranked = rank(SPEC, scores(10, 9, 8, 7, 6))
    result = outcomes(SPEC, ranked)
    assert (names(result.praised), names(result.supervised), result.revocations) == (["t1", "t2"], ["t5"], ())


def test_a_tie_across_the_line_is_taken_whole():
    result = outcomes(SPEC, rank(SPEC, scores(10, 9, 9, 7, 6, 6)))
    assert (names(result.praised), names(result.supervised)) == (["t1", "t2", "t3"], ["t5", "t6"])


def test_n_larger_than_the_towns_praises_all_and_supervises_none_twice():
    spec = replace(SPEC, ranking=replace(SPEC.ranking, praise_top=5, supervise_bottom=4))
    result = outcomes(spec, rank(spec, scores(10, 9, 8)))
    assert (names(result.praised), names(result.supervised)) == (["t1", "t2", "t3"], [])
    spec = replace(SPEC, ranking=replace(SPEC.ranking, praise_top=1, supervise_bottom=9))
    result = outcomes(spec, rank(spec, scores(10, 9, 8)))
    assert (names(result.praised), names(result.supervised)) == (["t1"], ["t2", "t3"])
    assert outcomes(spec, []) == type(result)((), (), ())


def test_praise_needs_the_minimum_total_and_a_share_is_rounded_down_but_at_least_one():
    spec = replace(SPEC, ranking=replace(SPEC.ranking, praise_min_total=Decimal(29)))
    result = outcomes(spec, rank(spec, scores(10, 9, 8, 7)))
    assert (names(result.praised), names(result.supervised)) == (["t1", "t2"], ["t4"])
    spec = replace(SPEC, ranking=replace(SPEC.ranking, praise_min_total=Decimal("29.01")))
    assert names(outcomes(spec, rank(spec, scores(10, 9, 8, 7))).praised) == ["t1"]
    share = replace(SPEC, ranking=replace(SPEC.ranking, praise_top=None, praise_share=Decimal("0.2")))
    assert [praise_count(share, n) for n in (1, 4, 5, 9, 10, 12)] == [1, 1, 1, 1, 2, 2]
    assert names(outcomes(share, rank(share, scores(10, 9, 8, 7, 6, 5, 4, 3, 2, 1))).praised) == ["t1", "t2"]


def test_two_years_at_the_bottom_or_a_total_below_the_line_proposes_revocation():
    ranked = rank(SPEC, scores(10, 9, 8, 7, 6))
    result = outcomes(SPEC, ranked, history=[{"t5", "t4"}, {"t1"}])
    assert [(p.ranked.town.town, [r.zh for r in p.reasons]) for p in result.revocations] == [
        ("t5", ["连续 2 年排名末位（督办）"])]
    assert result.revocations[0].reasons[0].en == "in the bottom ranks (supervised) 2 years running"
    assert outcomes(SPEC, ranked, history=[{"t4"}]).revocations == ()  # supervised last year, not this year
    assert outcomes(SPEC, ranked, history=[set(), {"t5"}]).revocations == ()  # not two years running
    assert outcomes(SPEC, ranked).revocations == ()  # no year before
    three = replace(SPEC, ranking=replace(SPEC.ranking, revoke_bottom_years=3, revoke_below=None))
    assert outcomes(three, ranked, history=[{"t5"}]).revocations == ()
    assert outcomes(three, ranked, history=[{"t5"}, {"t2"}]).revocations == ()
    assert names(p.ranked for p in outcomes(three, ranked, history=[{"t5"}, {"t5"}]).revocations) == ["t5"]
    one = replace(SPEC, ranking=replace(SPEC.ranking, praise_top=1))
    low = rank(one, [town("a"), score_town(one, {"output": 10, "policy": True, "growth": 0, "firms": 0, "jobs": 0},
                                          town="b", last_values=LAST, targets=TARGETS)])
    assert low[1].town.total == 4
    result = outcomes(one, low, history=[{"b"}])
    assert [(p.ranked.town.town, [r.zh for r in p.reasons]) for p in result.revocations] == [
        ("b", ["连续 2 年排名末位（督办）", "总分 4 分，低于 5 分"])]
    assert result.revocations[0].reasons[1].en == "a total of 4, below 5"
    edge = replace(one, ranking=replace(one.ranking, revoke_below=Decimal(4), revoke_bottom_years=None))
    assert outcomes(edge, low, history=[{"b"}]).revocations == ()


def test_a_refused_value_says_which_indicator_and_why():
    with pytest.raises(TypeError) as bad:
        score_indicator(ind("output"), "25")
    assert str(bad.value) == "output: the value must be a number, not '25'"
    with pytest.raises(TypeError) as bad:
        score_indicator(ind("output"), True)
    assert str(bad.value) == "output: the value must be a number, not True"
    with pytest.raises(TypeError) as bad:
        score_indicator(ind("policy"), 1)
    assert str(bad.value) == "policy: the value must be True or False, not 1"
    for value in (float("inf"), Decimal("-Infinity"), Decimal("NaN")):
        with pytest.raises(ValueError) as wrong:
            score_indicator(ind("output"), value)
        assert str(wrong.value) == "output: the value must be a finite number"
    with pytest.raises(TypeError) as bad:
        score_indicator(ind("growth"), 10, "9")
    assert str(bad.value) == "growth: the value must be a number, not '9'"
    for value, last in ((-1, 5), (5, -1)):
        with pytest.raises(ValueError) as wrong:
            score_indicator(ind("growth"), value, last)
        assert str(wrong.value) == "growth: a growth is measured between values of 0 or more"


def test_a_float_is_read_as_it_is_written_and_an_int_exactly():
    # 10.1 as a binary float is 10.0999999999999996…: read as written it scores 0.03 (0.025 rounded up), not 0.02
    assert said(score_indicator(ind("output"), 10.1))[0] == Decimal("0.03")
    assert said(score_indicator(ind("output"), 30)) == (
        Decimal("5"), "产值 30 亿元，在 10～50 亿元之间线性计分：5 / 10 分",
        "Output 30 ¥100 m, in proportion between 10 and 50 ¥100 m: 5 / 10 points")


def test_a_share_in_percent_is_written_without_a_space_and_a_number_without_unit_bare():
    percent = replace(ind("output"), unit=Label("%", "%"))
    assert said(score_indicator(percent, 25)) == (
        Decimal("3.75"), "产值 25%，在 10～50%之间线性计分：3.75 / 10 分",
        "Output 25%, in proportion between 10 and 50%: 3.75 / 10 points")
    bare = replace(ind("firms"), unit=None)
    assert said(score_indicator(bare, 7)) == (
        Decimal(4), "规上企业 7，达到 6档：4 / 4 分", "Firms 7, reaches the step of 6: 4 / 4 points")


def test_an_adjusted_score_keeps_its_indicator_and_maximum_and_says_what_is_wrong():
    computed = score_indicator(ind("firms"), 3)
    adjusted = adjust(computed, Adjustment(3, "核实为 5 家"))  # a whole number is taken as it is
    assert (adjusted.key, adjusted.points, adjusted.max_points, adjusted.computed, adjusted.reason) == (
        "firms", Decimal("3.00"), Decimal(4), Decimal(2), "核实为 5 家")
    assert adjusted.explanation.zh == "规上企业 3 家，达到 3 家档：2 / 4 分；办公室调整为 3 分，理由：核实为 5 家"
    assert adjusted.explanation.en == "Firms 3 firms, reaches the step of 3 firms: 2 / 4 points; " \
                                      "set by the office to 3 points: 核实为 5 家"
    assert adjust(computed, Adjustment(Decimal(4), "x")).points == 4  # the maximum itself may be set
    with pytest.raises(ValueError) as wrong:
        adjust(computed, Adjustment(Decimal("4.01"), "x"))
    assert str(wrong.value) == "firms: an adjusted score must be from 0 to 4"
    with pytest.raises(ValueError) as wrong:
        adjust(computed, Adjustment(Decimal(1), "\u3000 \n"))
    assert str(wrong.value) == "firms: an adjusted score needs its reason"


def test_values_that_are_not_indicators_are_all_named():
    with pytest.raises(KeyError) as bad:
        score_town(SPEC, {"zeta": 1, "output": 2, "alpha": 3}, town=1)
    assert bad.value.args == ("not indicators of the evaluation: alpha, zeta",)


def test_a_town_without_the_tie_breaker_s_value_or_score_comes_after_those_with_one():
    by_value = replace(SPEC, ranking=replace(SPEC.ranking, tie_breakers=(TieBreaker("value", "policy"),
                                                                         TieBreaker("value", "output"))))
    # the same total; "policy" is a yes or no: not a value to order by, so output decides
    a, b = town("a", output=55), town("b", output=60)
    ranked = rank(by_value, [a, b])
    assert [(r.rank, r.town.town, r.tied, r.decided_by) for r in ranked] == [
        (1, "b", False, TieBreaker("value", "output")), (2, "a", False, TieBreaker("value", "output"))]
    by_zero = replace(SPEC, ranking=replace(SPEC.ranking, tie_breakers=(TieBreaker("value", "output"),)))
    zero = score_town(SPEC, {**FULL, "output": 0}, town="z", last_values=LAST, targets=TARGETS,
                      adjustments={"output": Adjustment(Decimal(10), "核实")})
    none = score_town(SPEC, {**FULL, "output": None}, town="n", last_values=LAST, targets=TARGETS,
                      adjustments={"output": Adjustment(Decimal(10), "核实")})
    negative = score_town(SPEC, {**FULL, "output": -3}, town="m", last_values=LAST, targets=TARGETS,
                          adjustments={"output": Adjustment(Decimal(10), "核实")})
    ranked = rank(by_zero, [none, negative, zero])
    assert [(r.rank, r.town.town) for r in ranked] == [(1, "z"), (2, "m"), (3, "n")]
    # a score the town does not have (scored on another version of the indicators) comes last too
    by_indicator = replace(SPEC, ranking=replace(SPEC.ranking, tie_breakers=(TieBreaker("indicator", "firms"),
                                                                             TieBreaker("group", "scale"))))
    full = town("f")
    without = replace(full, town="w", scores=tuple(s for s in full.scores if s.key != "firms"))
    low = town("l", firms=0, output=60)
    assert (low.total, low.score("firms").points) == (26, 0)
    low = replace(low, total=full.total)
    ranked = rank(by_indicator, [without, low, full])
    assert [(r.rank, r.town.town, r.decided_by) for r in ranked] == [
        (1, "f", TieBreaker("indicator", "firms")), (2, "l", TieBreaker("indicator", "firms")),
        (3, "w", TieBreaker("indicator", "firms"))]
    # a group the town has no points in counts as 0, ahead of nothing below it
    by_group = replace(SPEC, ranking=replace(SPEC.ranking, tie_breakers=(TieBreaker("group", "innovation"),)))
    no_group = replace(full, town="g", groups={"scale": full.groups["scale"]})
    some = replace(full, town="s", groups={"scale": Decimal(0), "innovation": Decimal(1)})
    ranked = rank(by_group, [no_group, some])
    assert [(r.rank, r.town.town) for r in ranked] == [(1, "s"), (2, "g")]


def test_ties_share_the_rank_wherever_they_fall_and_each_town_names_what_set_it_apart():
    # totals 30, 29 twice (equal in every rule), 29 with less innovation, 28 twice, 27
    t = scores(10, 9, 9, 8, 8, 7)
    lower = replace(t[1], town="t2b", groups={**t[1].groups, "innovation": Decimal(9)})
    ranked = rank(SPEC, [t[5], t[4], t[3], lower, t[2], t[1], t[0]])
    assert [(r.rank, r.town.town, r.tied) for r in ranked] == [
        (1, "t1", False), (2, "t2", True), (2, "t3", True), (4, "t2b", False), (5, "t4", True), (5, "t5", True),
        (7, "t6", False)]
    # t3 is tied with the town above; the one below of the same total was set apart by the group
    assert [r.decided_by for r in ranked] == [
        None, None, TieBreaker("group", "innovation"), TieBreaker("group", "innovation"), None, None, None]
    # the towns of one rank in the order of their names, then of their ids
    same = [replace(t[0], town=n, name=name) for n, name in ((3, "b"), (2, "c"), (1, "b"))]
    assert [(r.rank, r.town.town, r.tied) for r in rank(SPEC, same)] == [(1, 1, True), (1, 3, True), (1, 2, True)]


def test_a_town_alone_is_not_tied_and_twins_at_the_top_or_the_bottom_are():
    (alone,) = rank(SPEC, [town("a")])
    assert (alone.rank, alone.tied, alone.decided_by) == (1, False, None)
    twins = rank(SPEC, [town("b", firms=3), town("a", firms=3)])
    assert [(r.rank, r.town.town, r.tied) for r in twins] == [(1, "a", True), (1, "b", True)]
    bottom = rank(SPEC, [town("c", firms=3), town("top"), town("d", firms=3)])
    assert [(r.rank, r.town.town, r.tied) for r in bottom] == [(1, "top", False), (2, "c", True), (2, "d", True)]


def test_a_growth_from_nothing_scores_the_top_step_and_the_growth_shown_is_rounded_half_up():
    assert said(score_indicator(ind("growth"), Decimal("0.5"), 0)) == (
        6, "产值增速：本年 0.5 亿元，上年为 0，按最高档计分：6 / 6 分",
        "Output growth: 0.5 ¥100 m this year, 0 last year, scored at the highest step: 6 / 6 points")
    # 449 after 400 is 12.25 %: shown as 12.3 %, not 12.2 %
    assert said(score_indicator(ind("growth"), 449, 400))[1] == (
        "产值增速：本年 449 亿元，上年 400 亿元，增长 12.3%，达到 10% 档：6 / 6 分")


def test_a_target_of_one_is_a_target_a_wrong_target_is_named_and_the_share_shown_is_rounded_half_up():
    assert said(score_indicator(ind("jobs"), 1, target=1)) == (
        6, "就业目标 1 人，目标 1 人，完成 100%：6 / 6 分",
        "Jobs target 1 people, target 1 people, 100% reached: 6 / 6 points")
    with pytest.raises(TypeError) as bad:
        score_indicator(ind("jobs"), 1, target="一千")
    assert str(bad.value) == "jobs: the value must be a number, not '一千'"
    # 49 of 400 is 12.25 %: shown as 12.3 %, not 12.2 %
    assert said(score_indicator(ind("jobs"), 49, target=400))[1] == (
        "就业目标 49 人，目标 400 人，完成 12.3%，低于 60%：0 / 6 分")
