"""The evaluation file's loader, shape by shape: what a well-formed file becomes, part by part, and for each way a
person can get definitions/evaluation.yaml wrong, the exact lines that tell them where and what (file: key:
problem), in the order the loader reads the file. The statistics fields are those of definitions/statistics.yaml,
as when the shipped file is loaded."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
import yaml

from workflow.core.yamlcheck import Label
from workflow.evaluation.indicators import (
    MAX_ORDER_DAYS,
    EvaluationError,
    Rule,
    Step,
    TieBreaker,
    parse_evaluation,
    unknown_units,
)

DROP = object()  # a part left out of the file
RANKING = {"praise": {"top": 1}, "supervise": {"bottom": 1}, "revoke": {"below": 40}}


def _points(part: Any) -> Any:
    points = part.get("points") if isinstance(part, dict) else None
    return points if isinstance(points, int | float) else 0


def indicator(key: Any = "output", **parts: Any) -> dict[str, Any]:
    """An indicator of the file (by default the output, read from the statistics, scored from 10 to 50 亿元)."""
    raw: dict[str, Any] = {
        "key": key, "label": {"zh": "主导产业产值", "en": "Output"}, "points": 10, "provider": "statistics",
        "field": "output_yi", "rule": {"kind": "linear", "low": 10, "high": 50},
        "evidence": {"zh": "统计报表", "en": "Report"}, "clause": "五(二)"}
    raw.update(parts)
    return {k: v for k, v in raw.items() if v is not DROP}


def policy(key: Any = "policy", **parts: Any) -> dict[str, Any]:
    """A yes or no of the county's self-assessment, 5 points."""
    return indicator(key, **{"label": {"zh": "扶持政策", "en": "Policy"}, "points": 5, "provider": "county",
                             "field": DROP, "rule": {"kind": "yes_no"}, "evidence": {"zh": "文件", "en": "Document"},
                             "clause": "六(二)", **parts})


def group(key: Any = "scale", *items: Any, **parts: Any) -> dict[str, Any]:
    items = items or (indicator(), policy())
    raw: dict[str, Any] = {"key": key, "label": {"zh": "产业规模", "en": "Scale"},
                           "points": sum(_points(i) for i in items), "indicators": list(items)}
    raw.update(parts)
    return {k: v for k, v in raw.items() if v is not DROP}


def doc(*groups: Any, **parts: Any) -> str:
    groups = groups or (group(),)
    raw: dict[str, Any] = {"key": "evaluation", "version": 1, "label": {"zh": "评价", "en": "Evaluation"},
                           "document": "阳政办发〔2023〕24号 六(五)",
                           "total": sum(_points(g) for g in groups),
                           "groups": list(groups), "ranking": RANKING}
    raw.update(parts)
    return yaml.safe_dump({k: v for k, v in raw.items() if v is not DROP}, allow_unicode=True, sort_keys=False)


def errors(text: str) -> list[str]:
    with pytest.raises(EvaluationError) as bad:
        parse_evaluation(text, "e.yaml")
    return bad.value.errors


def rule_errors(rule: Any, points: Any = 10) -> list[str]:
    """The lines for a file whose one indicator, the output, is scored by `rule` (its group worth 10 points)."""
    return errors(doc(group("scale", indicator(rule=rule, points=points), points=10)))


def ranking_errors(**ranking: Any) -> list[str]:
    return errors(doc(ranking={k: v for k, v in {**RANKING, **ranking}.items() if v is not DROP}))


# -- a well-formed file ------------------------------------------------------------------------------------------

def test_a_well_formed_file_is_read_as_written():
    scale = group("scale",
                  indicator(),
                  indicator("output_growth", points=8, rule={"kind": "growth", "steps": [
                      {"at": 0, "points": 2}, {"at": 5.5, "points": 4}, {"at": 10, "points": 8}]}),
                  indicator("firms", label={"zh": "规上企业", "en": "Firms"}, points=6, field="above_scale_firms",
                            rule={"kind": "steps", "steps": [{"at": 3, "points": 2}, {"at": 10, "points": 6}]}),
                  label={"zh": "产业规模", "en": "Industrial scale"})
    quality = group("quality",
                    policy(),
                    indicator("tech_firms", label={"zh": "高新技术企业", "en": "High-tech firms"}, points=4,
                              provider="市科技局", field=DROP, unit={"zh": "家", "en": "firms"},
                              rule={"kind": "target_share", "floor": 50}, evidence={"zh": "认定名单", "en": "List"},
                              clause="五(三)"),
                    indicator("investment", label={"zh": "投资", "en": "Investment"}, points=2.5, provider="office",
                              field=DROP, unit={"zh": "亿元", "en": "¥100 m"}, rule={"kind": "target_share"}),
                    label={"zh": "质量品牌", "en": "Quality"})
    providers = {"市科技局": {"zh": "创新牵头", "en": "Innovation"}}
    spec = parse_evaluation(doc(scale, quality, version=2, providers=providers,
                                ranking={"tie_breakers": [{"group": "quality"}, {"indicator": "policy"},
                                                          {"value": "output"}],
                                         "praise": {"top_share": 0.2, "min_total": 60},
                                         "supervise": {"bottom": 2, "working_days": MAX_ORDER_DAYS},
                                         "revoke": {"bottom_years": 2, "below": 40.5}}), "e.yaml")
    assert (spec.version, spec.label, spec.document, spec.total) == (
        2, Label("评价", "Evaluation"), "阳政办发〔2023〕24号 六(五)", Decimal("35.5"))
    assert spec.providers == (("市科技局", Label("创新牵头", "Innovation")),)
    assert [(g.key, g.label, g.points) for g in spec.groups] == [
        ("scale", Label("产业规模", "Industrial scale"), 24),
        ("quality", Label("质量品牌", "Quality"), Decimal("11.5"))]
    assert [i.key for i in spec.groups[0].indicators] == ["output", "output_growth", "firms"]
    assert [i.key for i in spec.indicators] == ["output", "output_growth", "firms", "policy", "tech_firms",
                                                "investment"]
    output, growth, firms, yes_no, tech, investment = spec.indicators
    assert (output.key, output.group, output.label, output.points, output.provider, output.field, output.unit,
            output.evidence, output.clause) == (
        "output", "scale", Label("主导产业产值", "Output"), 10, "statistics", "output_yi", Label("亿元", "¥100 m"),
        Label("统计报表", "Report"), "五(二)")
    assert output.rule == Rule("linear", low=Decimal(10), high=Decimal(50))
    assert (growth.points, growth.field, growth.unit) == (8, "output_yi", Label("亿元", "¥100 m"))
    assert growth.rule == Rule("growth", steps=(Step(Decimal(0), Decimal(2)), Step(Decimal("5.5"), Decimal(4)),
                                                Step(Decimal(10), Decimal(8))))
    assert (firms.label, firms.field, firms.unit) == (Label("规上企业", "Firms"), "above_scale_firms",
                                                      Label("家", "firms"))
    assert firms.rule == Rule("steps", steps=(Step(Decimal(3), Decimal(2)), Step(Decimal(10), Decimal(6))))
    assert (yes_no.group, yes_no.provider, yes_no.field, yes_no.unit, yes_no.rule, yes_no.evidence,
            yes_no.clause) == ("quality", "county", None, None, Rule("yes_no"), Label("文件", "Document"), "六(二)")
    assert (tech.provider, tech.field, tech.unit, tech.rule, tech.evidence, tech.clause) == (
        "市科技局", None, Label("家", "firms"), Rule("target_share", floor=Decimal(50)), Label("认定名单", "List"),
        "五(三)")
    assert (investment.provider, investment.points, investment.unit, investment.rule) == (
        "office", Decimal("2.5"), Label("亿元", "¥100 m"), Rule("target_share", floor=Decimal(0)))
    ranking = spec.ranking
    assert ranking.tie_breakers == (TieBreaker("group", "quality"), TieBreaker("indicator", "policy"),
                                    TieBreaker("value", "output"))
    assert (ranking.praise_top, ranking.praise_share, ranking.praise_min_total) == (None, Decimal("0.2"), 60)
    assert (ranking.supervise_bottom, ranking.supervise_working_days) == (2, MAX_ORDER_DAYS)
    assert (ranking.revoke_bottom_years, ranking.revoke_below) == (2, Decimal("40.5"))


def test_what_the_file_leaves_out_takes_its_default():
    spec = parse_evaluation(doc(ranking={"praise": {"top": 3}, "supervise": {"bottom": 1},
                                         "revoke": {"bottom_years": 1}}), "e.yaml")
    assert spec.providers == ()
    assert (spec.ranking.tie_breakers, spec.ranking.praise_top, spec.ranking.praise_share) == ((), 3, None)
    assert (spec.ranking.praise_min_total, spec.ranking.supervise_working_days) == (0, 30)
    assert (spec.ranking.revoke_bottom_years, spec.ranking.revoke_below) == (1, None)
    spec = parse_evaluation(doc(ranking={**RANKING, "praise": {"top": 1, "min_total": 0}}), "e.yaml")
    assert (spec.ranking.praise_min_total, spec.ranking.revoke_bottom_years, spec.ranking.revoke_below) == (
        0, None, 40)


def test_an_unknown_key_finds_no_group_or_indicator():
    spec = parse_evaluation(doc(), "e.yaml")
    assert spec.group("scale") is spec.groups[0] and spec.group("quality") is None
    assert spec.indicator("policy") is spec.groups[0].indicators[1] and spec.indicator("scale") is None


def test_the_providers_that_are_not_units_are_listed_in_the_file_s_order():
    items = (indicator(provider="市人社局", field=DROP, unit={"zh": "亿元", "en": "¥100 m"}),
             policy(provider="市科技局"), policy("brand", provider="市市场监管局"))
    providers = {"市人社局": {"zh": "就业", "en": "Jobs"}, "市科技局": {"zh": "创新", "en": "Innovation"},
                 "市市场监管局": {"zh": "质量", "en": "Quality"}}
    spec = parse_evaluation(doc(group("scale", *items), providers=providers), "e.yaml")
    assert [name for name, _ in spec.providers] == ["市人社局", "市科技局", "市市场监管局"]
    assert unknown_units(spec, ["市科技局"]) == ["市人社局", "市市场监管局"]
    assert unknown_units(spec, ["市市场监管局", "市科技局", "市人社局", "市商务局"]) == []


# -- the file's own keys -----------------------------------------------------------------------------------------

def test_the_file_s_own_keys_are_checked():
    assert errors(doc(key="scores", version=0, label={"zh": "评价"}, document=" ", total=0, owner="me")) == [
        "e.yaml: owner: unknown key",
        "e.yaml: key: must be 'evaluation'",
        "e.yaml: version: must be a whole number of at least 1",
        "e.yaml: label.en: missing label",
        "e.yaml: document: must name the document the evaluation follows",
        "e.yaml: total: must be more than 0"]
    assert errors(doc(key=DROP, version=True, label="评价", document=DROP, total="100")) == [
        "e.yaml: key: must be 'evaluation'",
        "e.yaml: version: must be a whole number of at least 1",
        "e.yaml: label: missing label (needs zh and en)",
        "e.yaml: document: must name the document the evaluation follows",
        "e.yaml: total: must be a number"]
    assert errors(doc(version=1.5, total=-15)) == ["e.yaml: version: must be a whole number of at least 1",
                                                   "e.yaml: total: must be more than 0"]
    assert errors(doc(version="1", total=float("nan"))) == ["e.yaml: version: must be a whole number of at least 1",
                                                            "e.yaml: total: must be a number"]


def test_the_groups_must_add_up_to_the_total():
    assert errors(doc(total=16)) == ["e.yaml: total: is 16, the groups' points add up to 15"]
    assert errors(doc(group("scale"), group("quality", indicator("a"), policy("b")), total=29.5)) == [
        "e.yaml: total: is 29.5, the groups' points add up to 30"]


@pytest.mark.parametrize("groups", [None, [], {"scale": 1}, "scale"])
def test_a_file_without_groups_is_refused(groups):
    assert errors(doc(groups=groups, total=10)) == ["e.yaml: groups: must be a non-empty list"]


# -- providers ---------------------------------------------------------------------------------------------------

def test_each_wrong_provider_entry_is_named_and_the_next_still_read():
    text = doc(group("scale", indicator(), policy(provider="市科技局")),
               providers={"county": {"zh": "县", "en": "County"}, "office": {"zh": "办", "en": "Office"},
                          "市科技局": {"zh": "创新"}, "市人社局": "就业", "市商务局": {"zh": "商务", "en": "Trade"}})
    assert errors(text) == [
        "e.yaml: providers.county: is not a member unit",
        "e.yaml: providers.office: is not a member unit",
        "e.yaml: providers.市科技局.en: must say the unit's duty in the plan",
        "e.yaml: providers.市人社局: must say the unit's duty in the plan (needs zh and en)",
        "e.yaml: providers.市人社局: provides no indicator",
        "e.yaml: providers.市商务局: provides no indicator"]


@pytest.mark.parametrize("providers", [["市科技局"], "市科技局"])
def test_providers_must_be_a_mapping(providers):
    assert errors(doc(providers=providers)) == ["e.yaml: providers: must map member units' names to their duty"]


# -- groups ------------------------------------------------------------------------------------------------------

def test_each_wrong_part_of_a_group_is_named():
    broken = [
        "scale",
        ["scale"],
        {"key": "Scale", "label": {"zh": "规模", "en": "Scale"}, "points": 5, "indicators": [policy(key="Bad")]},
        group("scale", colour="red", label={"en": "Scale"}, points="fifteen"),
        group("scale", indicator("x")),
        {"key": "quality", "label": {"zh": "质量", "en": "Quality"}, "points": 0, "indicators": []},
        {"key": "jobs", "points": 3},
    ]
    assert errors(doc(*broken, total=10)) == [
        "e.yaml: groups[0]: must be a mapping",
        "e.yaml: groups[1]: must be a mapping",
        "e.yaml: groups[2].key: must be a lower-case identifier, used once",
        "e.yaml: groups[3].colour: unknown key",
        "e.yaml: groups[3].label.zh: missing label",
        "e.yaml: groups[3].points: must be a number",
        "e.yaml: groups[4].key: must be a lower-case identifier, used once",
        "e.yaml: groups[5].points: must be more than 0",
        "e.yaml: groups[5].indicators: must be a non-empty list",
        "e.yaml: groups[6].label: missing label (needs zh and en)",
        "e.yaml: groups[6].indicators: must be a non-empty list"]


@pytest.mark.parametrize("key", [None, 1, "1scale", "scale-1", "scale "])
def test_a_group_key_that_is_not_an_identifier_is_refused(key):
    assert errors(doc(group("scale"), group(key, indicator("a"), policy("b")))) == [
        "e.yaml: groups[1].key: must be a lower-case identifier, used once"]


def test_a_group_s_points_must_be_its_indicators_points_added():
    assert errors(doc(group("scale", points=14), total=14)) == [
        "e.yaml: groups[0].points: is 14, its indicators' points add up to 15"]
    assert errors(doc(group("scale", indicator(points=2.5, rule={"kind": "yes_no"}, field=DROP, provider="county"),
                            policy(points=0.25), points=2.5), total=2.5)) == [
        "e.yaml: groups[0].points: is 2.5, its indicators' points add up to 2.75"]


def test_points_that_are_not_numbers_are_named_once_not_added():
    # an indicator's points that are not a number: its group's points are not compared with them
    assert errors(doc(group("scale", indicator(points="ten"), policy(), points=99))) == [
        "e.yaml: groups[0].indicators[0].points: must be a number"]
    assert errors(doc(group("scale", indicator(points=0), policy(), points=99))) == [
        "e.yaml: groups[0].indicators[0].points: must be more than 0"]
    assert errors(doc(group("scale", indicator(), policy(points=True), points=99))) == [
        "e.yaml: groups[0].indicators[1].points: must be a number"]
    assert errors(doc(group("scale", indicator(points=float("inf")), policy(), points=99))) == [
        "e.yaml: groups[0].indicators[0].points: must be a number"]
    assert errors(doc(group("scale", indicator(), policy(points=float("nan")), points=99))) == [
        "e.yaml: groups[0].indicators[1].points: must be a number"]
    # a group whose own points are wrong, or that is skipped, is not added to the total
    assert errors(doc(group("scale", points=-1), group("quality", indicator("a"), policy("b")), total=1)) == [
        "e.yaml: groups[0].points: must be more than 0"]
    assert errors(doc(group("scale"), "quality", total=1)) == ["e.yaml: groups[1]: must be a mapping"]
    assert errors(doc("scale", total=1)) == ["e.yaml: groups[0]: must be a mapping"]
    assert errors(doc(group("scale"), group("scale", indicator("a"), policy("b")), total=1)) == [
        "e.yaml: groups[1].key: must be a lower-case identifier, used once"]


# -- indicators --------------------------------------------------------------------------------------------------

def test_each_wrong_part_of_an_indicator_is_named():
    items = [
        "output",
        indicator("Output", label={"zh": "产值"}, points=-1, colour="red", evidence="报表", clause=" "),
        indicator("output", label="产值", points=float("inf"), evidence={"en": "Report"}, clause=DROP),
        indicator(DROP, label=DROP, points=DROP, evidence=DROP, clause=5),
        ["policy"],
    ]
    assert errors(doc(group("scale", *items, points=10), total=10)) == [
        "e.yaml: groups[0].indicators[0]: must be a mapping",
        "e.yaml: groups[0].indicators[1].colour: unknown key",
        "e.yaml: groups[0].indicators[1].key: must be a lower-case identifier, used once in the file",
        "e.yaml: groups[0].indicators[1].label.en: missing label",
        "e.yaml: groups[0].indicators[1].points: must be more than 0",
        "e.yaml: groups[0].indicators[1].evidence: must say the evidence required (needs zh and en)",
        "e.yaml: groups[0].indicators[1].clause: must name the plan clause the indicator serves",
        "e.yaml: groups[0].indicators[2].label: missing label (needs zh and en)",
        "e.yaml: groups[0].indicators[2].points: must be a number",
        "e.yaml: groups[0].indicators[2].evidence.zh: must say the evidence required",
        "e.yaml: groups[0].indicators[2].clause: must name the plan clause the indicator serves",
        "e.yaml: groups[0].indicators[3].key: must be a lower-case identifier, used once in the file",
        "e.yaml: groups[0].indicators[3].label: missing label (needs zh and en)",
        "e.yaml: groups[0].indicators[3].points: must be a number",
        "e.yaml: groups[0].indicators[3].evidence: must say the evidence required (needs zh and en)",
        "e.yaml: groups[0].indicators[3].clause: must name the plan clause the indicator serves",
        "e.yaml: groups[0].indicators[4]: must be a mapping"]


def test_an_indicator_key_is_used_once_in_the_whole_file():
    assert errors(doc(group("scale"), group("quality", indicator("quality"), policy("policy")))) == [
        "e.yaml: groups[1].indicators[1].key: must be a lower-case identifier, used once in the file"]


def test_an_indicator_with_one_wrong_part_is_not_kept():
    # the tie-breaker that names it then finds no such indicator
    for wrong in ({"key": "Policy"}, {"key": "policy", "points": 0},
                  {"key": "policy", "provider": "市商务局"}, {"key": "policy", "provider": "statistics"},
                  {"key": "policy", "field": "output_yi"}, {"key": "policy", "rule": {"kind": "never"}},
                  {"key": "policy", "unit": {"zh": "家", "en": "firms"},
                   "rule": {"kind": "steps", "steps": [{"at": 1, "points": 5}, {"at": 0, "points": 4}]}},
                  {"key": "policy", "unit": {"zh": "个", "en": "items"}}, {"key": "policy", "clause": ""}):
        lines = errors(doc(group("scale", indicator(), policy(**wrong), points=15),
                           ranking={**RANKING, "tie_breakers": [{"indicator": "policy"}]}))
        assert len(lines) == 2 and lines[1] == (
            "e.yaml: ranking.tie_breakers[0].indicator: must be an indicator of the file"), wrong
    # nor is one whose key is wrong, under that key
    lines = errors(doc(group("scale", indicator(), policy("Policy"), points=15),
                       ranking={**RANKING, "tie_breakers": [{"indicator": "Policy"}]}))
    assert lines == ["e.yaml: groups[0].indicators[1].key: must be a lower-case identifier, used once in the file",
                     "e.yaml: ranking.tie_breakers[0].indicator: must be an indicator of the file"]


def test_each_wrong_provider_or_field_is_named():
    items = [
        indicator("a", field=DROP),
        indicator("b", field="exports"),
        indicator("c", field="brands"),
        indicator("d", field=["output_yi"]),
        policy("e", field="output_yi"),
        policy("f", provider="office", field=None),
        policy("g", provider="市商务局"),
        policy("h", provider=["county"]),
        policy("i", provider=DROP),
        policy("j", provider="市科技局", field="output_yi"),
    ]
    text = doc(group("scale", *items), providers={"市科技局": {"zh": "创新", "en": "Innovation"}})
    at = "e.yaml: groups[0].indicators"
    unknown = "provider: must be one of county, statistics, office or a member unit named under providers"
    assert errors(text) == [
        f"{at}[0].field: must be a number of definitions/statistics.yaml",
        f"{at}[1].field: must be a number of definitions/statistics.yaml",
        f"{at}[2].field: must be a number of definitions/statistics.yaml",
        f"{at}[3].field: must be a number of definitions/statistics.yaml",
        f"{at}[4].field: only a value of provider statistics names a field",
        f"{at}[5].field: only a value of provider statistics names a field",
        f"{at}[6].{unknown}",
        f"{at}[7].{unknown}",
        f"{at}[8].{unknown}",
        f"{at}[9].field: only a value of provider statistics names a field"]


def test_a_number_needs_its_unit_and_a_yes_or_no_has_none():
    items = [
        policy("a", unit={"zh": "个", "en": "items"}),
        policy("b", unit=None),
        indicator("c", provider="county", field=DROP),
        indicator("d", provider="office", field=DROP, unit={"zh": "个"}, rule={"kind": "target_share"}),
        indicator("e", unit="亿元"),
        indicator("f", provider="county", field=DROP, rule={"kind": "never"}),
    ]
    at = "e.yaml: groups[0].indicators"
    assert errors(doc(group("scale", *items))) == [
        f"{at}[0].unit: a yes or no has no unit",
        f"{at}[1].unit: a yes or no has no unit",
        f"{at}[2].unit: a number needs its unit (needs zh and en)",
        f"{at}[3].unit.en: a number needs its unit",
        f"{at}[4].unit: a number needs its unit (needs zh and en)",
        f"{at}[5].rule.kind: must be one of linear, steps, yes_no, growth, target_share"]


# -- scoring rules -----------------------------------------------------------------------------------------------

RULE = "e.yaml: groups[0].indicators[0].rule"


@pytest.mark.parametrize(("rule", "expected"), [
    (None, [": must be a mapping with a kind"]),
    ("linear", [": must be a mapping with a kind"]),
    ({"low": 1, "high": 2}, [".kind: must be one of linear, steps, yes_no, growth, target_share"]),
    ({"kind": "Linear", "low": 1, "high": 2}, [".kind: must be one of linear, steps, yes_no, growth, target_share"]),
    ({"kind": "linear", "low": 1, "high": 2, "floor": 0}, [".floor: unknown key"]),
    ({"kind": "linear"}, [".low: must be a number", ".high: must be a number"]),
    ({"kind": "linear", "low": "ten", "high": 50}, [".low: must be a number"]),
    ({"kind": "linear", "low": 10, "high": True}, [".high: must be a number"]),
    ({"kind": "linear", "low": 50, "high": 50}, [".high: must be above low (50)"]),
    ({"kind": "linear", "low": 50.5, "high": 10}, [".high: must be above low (50.5)"]),
    ({"kind": "steps", "steps": [{"at": 1, "points": 10}], "low": 1}, [".low: unknown key"]),
    ({"kind": "growth", "steps": [{"at": 1, "points": 10}], "floor": 1}, [".floor: unknown key"]),
    ({"kind": "target_share", "floor": 10, "steps": []}, [".steps: unknown key"]),
    ({"kind": "target_share", "floor": "half"}, [".floor: must be a number"]),
    ({"kind": "target_share", "floor": -0.5}, [".floor: must be a percentage from 0 to below 100"]),
    ({"kind": "target_share", "floor": 100}, [".floor: must be a percentage from 0 to below 100"]),
    ({"kind": "target_share", "floor": float("nan")}, [".floor: must be a number"]),
    ({"kind": "linear", "low": float("-inf"), "high": float("inf")}, [".low: must be a number",
                                                                      ".high: must be a number"]),
    ({"kind": "yes_no", "low": 1}, [".low: unknown key"]),
])
def test_each_wrong_rule_is_named(rule, expected):
    assert rule_errors(rule) == [f"{RULE}{e}" for e in expected]


@pytest.mark.parametrize(("floor", "expected"), [(0, Decimal(0)), (99.9, Decimal("99.9"))])
def test_a_floor_from_0_to_below_100_is_kept(floor, expected):
    spec = parse_evaluation(doc(group("scale", indicator(rule={"kind": "target_share", "floor": floor}))), "e.yaml")
    assert spec.indicator("output").rule == Rule("target_share", floor=expected)


def test_a_linear_rule_with_high_just_above_low_is_kept():
    spec = parse_evaluation(doc(group("scale", indicator(rule={"kind": "linear", "low": -1, "high": -0.5}))),
                            "e.yaml")
    assert spec.indicator("output").rule == Rule("linear", low=Decimal(-1), high=Decimal("-0.5"))


@pytest.mark.parametrize("kind", ["steps", "growth"])
@pytest.mark.parametrize(("steps", "expected"), [
    (None, [": must be a non-empty list of {at, points}"]),
    ([], [": must be a non-empty list of {at, points}"]),
    ({"at": 1, "points": 10}, [": must be a non-empty list of {at, points}"]),
    # the first wrong step is named, the steps after it are not read
    ([5, 10], ["[0]: must be a mapping with at and points"]),
    ([{"at": 1, "points": 10, "colour": "red"}], ["[0].colour: unknown key"]),
    ([{"points": 0}, {"at": "x", "points": "y"}], ["[0].at: must be a number", "[0].points: must be more than 0"]),
    ([{"at": 1, "points": 2}, {"at": 1, "points": 4}, {"at": 0, "points": 2}],
     ["[1].at: must be above the step before (1)"]),
    ([{"at": 1, "points": 2}, {"at": 0.5, "points": 1}], ["[1].at: must be above the step before (1)"]),
    ([{"at": 1, "points": 4}, {"at": 2, "points": 4}, {"at": 3, "points": 3}],
     ["[1].points: must be above the step before (4)"]),
    ([{"at": 1, "points": 4}, {"at": 2, "points": 11}, {"at": 3, "points": 12}],
     ["[1].points: must not be above the indicator's points (10)"]),
    ([{"at": 1, "points": 4}, {"at": 2, "points": 9.5}], ["[1].points: the highest step must give the "
                                                          "indicator's points (10)"]),
    ([{"at": 1, "points": 4}], ["[0].points: the highest step must give the indicator's points (10)"]),
    ([{"at": 1, "points": 4}, "x", {"at": 0, "points": 20}], ["[1]: must be a mapping with at and points"]),
    ([{"at": 1, "points": 4}, {"at": float("nan"), "points": 10}], ["[1].at: must be a number"]),
])
def test_each_wrong_step_is_named(kind, steps, expected):
    assert rule_errors({"kind": kind, "steps": steps}) == [f"{RULE}.steps{e}" for e in expected]


def test_steps_are_not_held_to_points_that_are_themselves_wrong():
    assert rule_errors({"kind": "steps", "steps": [{"at": 0, "points": 3}, {"at": 1, "points": 40}]},
                       points="ten") == ["e.yaml: groups[0].indicators[0].points: must be a number"]


def test_steps_ascending_to_the_indicator_s_points_are_kept():
    spec = parse_evaluation(doc(group("scale", indicator(rule={"kind": "steps", "steps": [
        {"at": -5, "points": 0.5}, {"at": -4.5, "points": 1}, {"at": 0, "points": 10}]}))), "e.yaml")
    assert spec.indicator("output").rule.steps == (Step(Decimal(-5), Decimal("0.5")), Step(Decimal("-4.5"), Decimal(1)),
                                                   Step(Decimal(0), Decimal(10)))


# -- the ranking -------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("ranking", [DROP, [], "top 3"])
def test_a_ranking_that_is_not_a_mapping_is_refused_with_all_its_parts(ranking):
    assert errors(doc(ranking=ranking)) == [
        "e.yaml: ranking: must be a mapping with tie_breakers, praise, supervise and revoke",
        "e.yaml: ranking.praise: must give either top (a number of towns) or top_share",
        "e.yaml: ranking.supervise: must give bottom (a number of towns)",
        "e.yaml: ranking.revoke: must give bottom_years, below or both"]


def test_an_unknown_part_of_the_ranking_is_named():
    assert ranking_errors(colour="red", order="desc") == ["e.yaml: ranking.colour: unknown key",
                                                           "e.yaml: ranking.order: unknown key"]


@pytest.mark.parametrize("breakers", [{"group": "scale"}, "scale", 1])
def test_the_tie_breakers_must_be_a_list(breakers):
    assert ranking_errors(tie_breakers=breakers) == ["e.yaml: ranking.tie_breakers: must be a list"]


def test_each_wrong_tie_breaker_is_named_and_the_next_still_read():
    shape = "must be one of {group: KEY}, {indicator: KEY}, {value: KEY}"
    assert ranking_errors(tie_breakers=[
        "scale", {"group": "scale", "value": "output"}, {}, {"points": "scale"},
        {"group": "quality"}, {"group": "output"}, {"group": ["scale"]},
        {"indicator": "exports"}, {"indicator": "scale"}, {"value": {"key": "output"}},
        {"value": "policy"},
        {"group": "scale"}, {"indicator": "policy"}, {"value": "output"}, {"indicator": "output"},
        {"group": "scale"}, {"indicator": "policy"}, {"value": "output"},
    ]) == [
        f"e.yaml: ranking.tie_breakers[0]: {shape}",
        f"e.yaml: ranking.tie_breakers[1]: {shape}",
        f"e.yaml: ranking.tie_breakers[2]: {shape}",
        f"e.yaml: ranking.tie_breakers[3]: {shape}",
        "e.yaml: ranking.tie_breakers[4].group: must be a group of the file",
        "e.yaml: ranking.tie_breakers[5].group: must be a group of the file",
        "e.yaml: ranking.tie_breakers[6].group: must be a group of the file",
        "e.yaml: ranking.tie_breakers[7].indicator: must be an indicator of the file",
        "e.yaml: ranking.tie_breakers[8].indicator: must be an indicator of the file",
        "e.yaml: ranking.tie_breakers[9].value: must be an indicator of the file",
        "e.yaml: ranking.tie_breakers[10].value: must be an indicator with a number for its value",
        "e.yaml: ranking.tie_breakers[15]: is already a tie-breaker",
        "e.yaml: ranking.tie_breakers[16]: is already a tie-breaker",
        "e.yaml: ranking.tie_breakers[17]: is already a tie-breaker"]


def test_the_same_key_as_another_kind_of_tie_breaker_is_kept():
    spec = parse_evaluation(doc(ranking={**RANKING, "tie_breakers": [
        {"value": "output"}, {"indicator": "output"}, {"indicator": "policy"}]}), "e.yaml")
    assert spec.ranking.tie_breakers == (TieBreaker("value", "output"), TieBreaker("indicator", "output"),
                                         TieBreaker("indicator", "policy"))


@pytest.mark.parametrize(("praise", "expected"), [
    ({"top": 3, "top_share": 0.2}, [": must give either top (a number of towns) or top_share"]),
    ({"min_total": 60}, [": must give either top (a number of towns) or top_share"]),
    ([3], [": must give either top (a number of towns) or top_share"]),
    ({"top": 3, "bottom": 1, "colour": "red"}, [".bottom: unknown key", ".colour: unknown key"]),
    ({"top": 0, "min_total": "sixty"}, [".top: must be a whole number of at least 1", ".min_total: must be a number"]),
    ({"top": 2.5}, [".top: must be a whole number of at least 1"]),
    ({"top": True}, [".top: must be a whole number of at least 1"]),
    ({"top": "3"}, [".top: must be a whole number of at least 1"]),
    ({"top_share": 0}, [".top_share: must be a share above 0 and below 1 (0.2 is 20 %)"]),
    ({"top_share": 1}, [".top_share: must be a share above 0 and below 1 (0.2 is 20 %)"]),
    ({"top_share": -0.2}, [".top_share: must be a share above 0 and below 1 (0.2 is 20 %)"]),
    ({"top_share": "20%"}, [".top_share: must be a number"]),
    ({"top_share": float("nan")}, [".top_share: must be a number"]),
])
def test_each_wrong_praise_is_named(praise, expected):
    assert ranking_errors(praise=praise) == [f"e.yaml: ranking.praise{e}" for e in expected]


@pytest.mark.parametrize(("praise", "top", "share"), [
    ({"top": 1}, 1, None), ({"top_share": 0.01}, None, Decimal("0.01")), ({"top_share": 0.99}, None, Decimal("0.99"))])
def test_a_praise_of_the_top_or_of_a_share_is_kept(praise, top, share):
    spec = parse_evaluation(doc(ranking={**RANKING, "praise": praise}), "e.yaml")
    assert (spec.ranking.praise_top, spec.ranking.praise_share) == (top, share)


@pytest.mark.parametrize(("supervise", "expected"), [
    (DROP, [": must give bottom (a number of towns)"]),
    (2, [": must give bottom (a number of towns)"]),
    ({}, [".bottom: must be a whole number of at least 1"]),
    ({"bottom": 0, "days": 30}, [".days: unknown key", ".bottom: must be a whole number of at least 1"]),
    ({"bottom": 2, "working_days": 0}, [".working_days: must be a whole number of at least 1"]),
    ({"bottom": 2, "working_days": None}, [".working_days: must be a whole number of at least 1"]),
    ({"bottom": 2, "working_days": MAX_ORDER_DAYS + 1}, [".working_days: must be at most 120 working days"]),
])
def test_each_wrong_supervision_is_named(supervise, expected):
    assert ranking_errors(supervise=supervise) == [f"e.yaml: ranking.supervise{e}" for e in expected]


@pytest.mark.parametrize("days", [1, MAX_ORDER_DAYS])
def test_an_order_s_working_days_from_1_to_the_limit_are_kept(days):
    spec = parse_evaluation(doc(ranking={**RANKING, "supervise": {"bottom": 1, "working_days": days}}), "e.yaml")
    assert (spec.ranking.supervise_bottom, spec.ranking.supervise_working_days) == (1, days)


@pytest.mark.parametrize(("revoke", "expected"), [
    (DROP, [": must give bottom_years, below or both"]),
    ({}, [": must give bottom_years, below or both"]),
    ({"years": 2}, [": must give bottom_years, below or both"]),
    ("below 40", [": must give bottom_years, below or both"]),
    ({"below": 40, "years": 2}, [".years: unknown key"]),
    ({"bottom_years": 0, "below": 0}, [".bottom_years: must be a whole number of at least 1",
                                       ".below: must be more than 0"]),
    ({"bottom_years": None}, [".bottom_years: must be a whole number of at least 1"]),
    ({"below": "forty"}, [".below: must be a number"]),
    ({"below": -40}, [".below: must be more than 0"]),
])
def test_each_wrong_revocation_is_named(revoke, expected):
    assert ranking_errors(revoke=revoke) == [f"e.yaml: ranking.revoke{e}" for e in expected]


def test_every_problem_of_the_file_is_named_in_the_order_it_is_read():
    text = doc(group("scale", indicator(points=0), policy(provider="市商务局")), version=0, total=20,
               providers={"市科技局": {"zh": "创新", "en": "Innovation"}},
               ranking={"tie_breakers": [{"group": "quality"}], "praise": {"top": 0},
                        "supervise": {"bottom": 0}, "revoke": {"below": 0}})
    assert errors(text) == [
        "e.yaml: version: must be a whole number of at least 1",
        "e.yaml: groups[0].indicators[0].points: must be more than 0",
        "e.yaml: groups[0].indicators[1].provider: must be one of county, statistics, office or a member unit named "
        "under providers",
        "e.yaml: total: is 20, the groups' points add up to 5",
        "e.yaml: providers.市科技局: provides no indicator",
        "e.yaml: ranking.tie_breakers[0].group: must be a group of the file",
        "e.yaml: ranking.praise.top: must be a whole number of at least 1",
        "e.yaml: ranking.supervise.bottom: must be a whole number of at least 1",
        "e.yaml: ranking.revoke.below: must be more than 0"]
