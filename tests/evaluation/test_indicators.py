"""definitions/evaluation.yaml: the annual evaluation's indicators, loaded and checked; a broken file names every
problem exactly (file: key: problem), as the other definitions' loaders do."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from workflow.evaluation.indicators import EvaluationError, TieBreaker, evaluation_spec, parse_evaluation, unknown_units
from workflow.seed import MEMBER_UNITS

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "evaluation"


def test_the_shipped_indicators_add_up_to_100_points_over_five_groups():
    spec = evaluation_spec()
    assert spec.version == 1
    assert spec.total == 100
    assert [(g.key, g.points) for g in spec.groups] == [
        ("scale", 30), ("innovation", 20), ("quality", 20), ("employment", 15), ("environment", 15)]
    for group in spec.groups:
        assert sum(i.points for i in group.indicators) == group.points
    assert 12 <= len(spec.indicators) <= 20
    assert {i.rule.kind for i in spec.indicators} == {"linear", "steps", "yes_no", "growth", "target_share"}
    assert {i.provider for i in spec.indicators} == {"statistics", "county", "office", "市科技局", "市市场监管局",
                                                     "市人社局"}
    output = spec.indicator("output")
    assert (output.field, output.unit.zh, output.rule.low, output.rule.high) == ("output_yi", "亿元", 10, 50)
    assert spec.indicator("town_policy").unit is None
    assert spec.indicator("nothing") is None
    assert spec.group("quality").label.zh == "质量品牌"
    assert spec.ranking.tie_breakers == (TieBreaker("group", "innovation"), TieBreaker("value", "output"))
    assert (spec.ranking.praise_top, spec.ranking.praise_min_total, spec.ranking.supervise_bottom) == (3, 60, 2)
    assert spec.ranking.supervise_working_days == 30
    assert (spec.ranking.revoke_bottom_years, spec.ranking.revoke_below) == (2, Decimal(40))


def test_every_member_unit_the_file_names_is_a_unit_of_the_annex():
    spec = evaluation_spec()
    assert unknown_units(spec, MEMBER_UNITS) == []
    assert unknown_units(spec, ["市科技局", "市人社局"]) == ["市市场监管局"]


@pytest.mark.parametrize(("fixture", "errors"), [
    ("bad_points.yaml", [
        "bad_points.yaml: groups[0].indicators[1].rule.steps[1].points: the highest step must give the indicator's "
        "points (5)",
        "bad_points.yaml: groups[0].points: is 30, its indicators' points add up to 25",
        "bad_points.yaml: groups[1].indicators[0].rule.steps[1].points: must not be above the indicator's points (60)",
        "bad_points.yaml: total: is 100, the groups' points add up to 90"]),
    ("bad_rules.yaml", [
        "bad_rules.yaml: groups[0].indicators[0].rule.high: must be above low (50)",
        "bad_rules.yaml: groups[0].indicators[1].rule.steps[1].at: must be above the step before (6)",
        "bad_rules.yaml: groups[0].indicators[2].rule.steps[1].points: must be above the step before (2)",
        "bad_rules.yaml: groups[0].indicators[3].rule.floor: must be a percentage from 0 to below 100",
        "bad_rules.yaml: groups[0].indicators[4].rule.kind: must be one of linear, steps, yes_no, growth, "
        "target_share",
        "bad_rules.yaml: groups[0].indicators[5].rule.high: must be a number"]),
    ("bad_providers.yaml", [
        "bad_providers.yaml: providers.county: is not a member unit",
        "bad_providers.yaml: groups[0].indicators[0].field: must be a number of definitions/statistics.yaml",
        "bad_providers.yaml: groups[0].indicators[1].field: must be a number of definitions/statistics.yaml",
        "bad_providers.yaml: groups[0].indicators[2].field: only a value of provider statistics names a field",
        "bad_providers.yaml: groups[0].indicators[3].provider: must be one of county, statistics, office or a member "
        "unit named under providers",
        "bad_providers.yaml: groups[0].indicators[4].unit: a yes or no has no unit",
        "bad_providers.yaml: groups[0].indicators[5].unit: a number needs its unit (needs zh and en)",
        "bad_providers.yaml: groups[0].indicators[5].evidence: must say the evidence required (needs zh and en)",
        "bad_providers.yaml: groups[0].indicators[5].clause: must name the plan clause the indicator serves",
        "bad_providers.yaml: providers.市商务局: provides no indicator"]),
    ("bad_ranking.yaml", [
        "bad_ranking.yaml: ranking.tie_breakers[0].group: must be a group of the file",
        "bad_ranking.yaml: ranking.tie_breakers[1].value: must be an indicator with a number for its value",
        "bad_ranking.yaml: ranking.tie_breakers[2].indicator: must be an indicator of the file",
        "bad_ranking.yaml: ranking.tie_breakers[3]: must be one of {group: KEY}, {indicator: KEY}, {value: KEY}",
        "bad_ranking.yaml: ranking.tie_breakers[5]: is already a tie-breaker",
        "bad_ranking.yaml: ranking.praise: must give either top (a number of towns) or top_share",
        "bad_ranking.yaml: ranking.supervise.bottom: must be a whole number of at least 1",
        "bad_ranking.yaml: ranking.supervise.working_days: must be at most 120 working days",
        "bad_ranking.yaml: ranking.revoke: must give bottom_years, below or both"]),
])
def test_a_broken_file_names_every_problem(fixture, errors):
    with pytest.raises(EvaluationError) as bad:
        parse_evaluation((FIXTURES / fixture).read_text(encoding="utf-8"), fixture)
    assert bad.value.errors == errors


def test_a_file_that_is_not_yaml_not_a_mapping_or_empty():
    with pytest.raises(EvaluationError) as bad:
        parse_evaluation("key: [evaluation\n", "broken.yaml")
    assert bad.value.errors[0].startswith("broken.yaml: (file): not valid YAML")
    with pytest.raises(EvaluationError) as bad:
        parse_evaluation("- a list\n", "list.yaml")
    assert bad.value.errors == ["list.yaml: (file): must be a mapping"]
    with pytest.raises(EvaluationError) as bad:
        parse_evaluation("key: scores\nversion: 0\nlabel: {zh: 评价}\ntotal: -1\ngroups: []\nranking: []\nextra: 1\n",
                         "empty.yaml")
    assert bad.value.errors == [
        "empty.yaml: extra: unknown key", "empty.yaml: key: must be 'evaluation'",
        "empty.yaml: version: must be a whole number of at least 1", "empty.yaml: label.en: missing label",
        "empty.yaml: document: must name the document the evaluation follows", "empty.yaml: total: must be more than 0",
        "empty.yaml: groups: must be a non-empty list",
        "empty.yaml: ranking: must be a mapping with tie_breakers, praise, supervise and revoke",
        "empty.yaml: ranking.praise: must give either top (a number of towns) or top_share",
        "empty.yaml: ranking.supervise: must give bottom (a number of towns)",
        "empty.yaml: ranking.revoke: must give bottom_years, below or both"]


def test_a_share_of_the_top_and_the_revocation_rules_are_read_and_checked():
    text = (FIXTURES / "bad_ranking.yaml").read_text(encoding="utf-8").split("ranking:")[0] + (
        "ranking:\n  praise: {top_share: 0.2}\n  supervise: {bottom: 1}\n  revoke: {below: 40, bottom_years: 3}\n")
    spec = parse_evaluation(text, "share.yaml")
    assert (spec.ranking.praise_top, spec.ranking.praise_share, spec.ranking.praise_min_total) == (
        None, Decimal("0.2"), 0)
    assert (spec.ranking.revoke_bottom_years, spec.ranking.revoke_below, spec.ranking.tie_breakers) == (3, 40, ())
    broken = text.replace("top_share: 0.2", "top_share: 1, min_total: high").replace("below: 40", "below: 0")
    with pytest.raises(EvaluationError) as bad:
        parse_evaluation(broken, "share.yaml")
    assert bad.value.errors == [
        "share.yaml: ranking.praise.top_share: must be a share above 0 and below 1 (0.2 is 20 %)",
        "share.yaml: ranking.praise.min_total: must be a number",
        "share.yaml: ranking.revoke.below: must be more than 0"]
