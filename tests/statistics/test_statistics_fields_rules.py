"""The statistics fields, rule by rule: what a well-formed definitions/statistics.yaml becomes, field by field, and
the exact line for each way the file can be wrong (file: key: problem); then each figure a county types against its
field — empty, text, bool, whole or decimal, decimal places, below the minimum, above the maximum, exactly at each —
with the exact message that says what to fix and the field it belongs to; the required figures left empty; and each
change from last year's figure at the anomaly threshold and one step either side."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
import yaml

from workflow.core.yamlcheck import Label
from workflow.statistics.fields import (
    MAX_ITEMS,
    Anomaly,
    Field,
    Group,
    ItemField,
    StatisticsError,
    StatisticsSpec,
    anomalies,
    missing,
    parse_statistics,
    read_figures,
    read_value,
    shown,
    statistics_spec,
    unexplained,
)

DROP = object()  # a part left out of the file


def number(**parts: Any) -> dict[str, Any]:
    """A number field of the file (by default the output: a decimal of 亿元 from 0 to 100, required)."""
    raw: dict[str, Any] = {"key": "output_yi", "group": "economy", "label": {"zh": "产值", "en": "Output"},
                           "unit": {"zh": "亿元", "en": "bn"}, "type": "decimal", "min": 0, "max": 100,
                           "required": True, "clause": "二"}
    raw.update(parts)
    return {k: v for k, v in raw.items() if v is not DROP}


def firms(**parts: Any) -> dict[str, Any]:
    return number(**{"key": "firms", "label": {"zh": "企业数", "en": "Firms"}, "unit": {"zh": "家", "en": "firms"},
                              "type": "integer", "min": 0, "max": 10, "required": False, "clause": "五",
                              **parts})


def brand_items() -> list[dict[str, Any]]:
    return [{"key": "name", "label": {"zh": "品牌名称", "en": "Brand"}, "type": "text", "max_length": 5},
            {"key": "level", "label": {"zh": "级别", "en": "Level"}, "type": "choice",
             "choices": {"national": {"zh": "国家级", "en": "National"}, "provincial": {"zh": "省级", "en": "P"}}}]


def brands(**parts: Any) -> dict[str, Any]:
    raw: dict[str, Any] = {"key": "brands", "group": "quality", "label": {"zh": "品牌", "en": "Brands"},
                           "type": "items", "clause": "六", "items": brand_items()}
    raw.update(parts)
    return {k: v for k, v in raw.items() if v is not DROP}


GROUPS = [{"key": "economy", "label": {"zh": "经济", "en": "Economy"}},
          {"key": "quality", "label": {"zh": "质量", "en": "Quality"}}]


def doc(*fields: Any, **parts: Any) -> str:
    raw: dict[str, Any] = {"key": "statistics", "version": 1, "label": {"zh": "统计", "en": "Statistics"},
                           "anomaly": {"max_change": 0.3, "min_base": 1}, "groups": GROUPS,
                           "fields": list(fields or (number(), firms(group="quality"), brands()))}
    raw.update(parts)
    return yaml.safe_dump({k: v for k, v in raw.items() if v is not DROP}, allow_unicode=True, sort_keys=False)


def errors(text: str) -> list[str]:
    with pytest.raises(StatisticsError) as bad:
        parse_statistics(text, "s.yaml")
    return bad.value.errors


SPEC = parse_statistics(doc(), "s.yaml")
OUTPUT, FIRMS, BRANDS = SPEC.fields


# -- a well-formed file ------------------------------------------------------------------------------------------

def test_a_well_formed_file_is_read_as_written():
    spec = parse_statistics(doc(number(min=0.5, max=99.5), firms(group="quality", min=-5, max=10, required=True),
                                brands(), anomaly={"max_change": 0.25, "min_base": 2.5}, version=3), "s.yaml")
    assert (spec.version, spec.label, spec.max_change, spec.min_base) == (
        3, Label("统计", "Statistics"), Decimal("0.25"), Decimal("2.5"))
    assert [(g.key, g.label, [f.key for f in g.fields]) for g in spec.groups] == [
        ("economy", Label("经济", "Economy"), ["output_yi"]),
        ("quality", Label("质量", "Quality"), ["firms", "brands"])]
    output, count, items = spec.fields
    assert output == Field("output_yi", "economy", Label("产值", "Output"), "decimal", Label("亿元", "bn"),
                           Decimal("0.5"), Decimal("99.5"), True, "二")
    assert count == Field("firms", "quality", Label("企业数", "Firms"), "integer", Label("家", "firms"),
                          Decimal(-5), Decimal(10), True, "五")
    assert items == Field("brands", "quality", Label("品牌", "Brands"), "items", None, None, None, False, "六", (
        ItemField("name", Label("品牌名称", "Brand"), "text", 5),
        ItemField("level", Label("级别", "Level"), "choice", 100,
                  (("national", Label("国家级", "National")), ("provincial", Label("省级", "P"))))))
    assert (output.is_number, count.is_number, items.is_number) == (True, True, False)
    assert spec.field("firms") is count and spec.field("nothing") is None


def test_what_the_file_leaves_out_takes_its_default():
    name = {"key": "name", "label": {"zh": "品牌名称", "en": "Brand"}, "type": "text"}
    spec = parse_statistics(doc(number(required=DROP), brands(items=[name]),
                                anomaly={"max_change": 10}), "s.yaml")
    assert (spec.min_base, spec.max_change, spec.fields[0].required) == (0, 10, False)
    assert spec.fields[1].items == (ItemField("name", Label("品牌名称", "Brand"), "text", 100),)


def test_a_group_without_a_field_is_refused():
    assert errors(doc(number())) == ["s.yaml: groups: group quality has no field"]


def test_the_shipped_file_loads_once():
    assert statistics_spec() is statistics_spec()
    assert statistics_spec().field("output_yi").type == "decimal"


# -- the file's own keys -----------------------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "expected"), [
    ("- statistics\n", "s.yaml: (file): must be a mapping"),
    ("", "s.yaml: (file): must be a mapping"),
    ("key: [statistics\n", "s.yaml: (file): not valid YAML: "),
])
def test_a_file_that_is_not_a_mapping_is_refused_by_its_name(text, expected):
    [message] = errors(text)
    assert message.startswith(expected)


def test_the_file_s_own_keys_are_checked():
    assert errors(doc(key="stats", version=0, label={"zh": "统计"}, owner="me",
                      anomaly={"max_change": 0, "min_base": -1, "cap": 1})) == [
        "s.yaml: owner: unknown key",
        "s.yaml: key: must be 'statistics'",
        "s.yaml: version: must be a whole number from 1",
        "s.yaml: label.en: missing label",
        "s.yaml: anomaly.cap: unknown key",
        "s.yaml: anomaly.max_change: must be a share above 0 (0.3 is 30 %), at most 10",
        "s.yaml: anomaly.min_base: must be a number, 0 or more"]


@pytest.mark.parametrize("version", [True, 1.5, "1", DROP])
def test_a_version_that_is_not_a_whole_number_is_refused(version):
    assert errors(doc(version=version)) == ["s.yaml: version: must be a whole number from 1"]


@pytest.mark.parametrize(("anomaly", "expected"), [
    ({"max_change": 10.01}, ["anomaly.max_change: must be a share above 0 (0.3 is 30 %), at most 10"]),
    ({"max_change": -0.1}, ["anomaly.max_change: must be a share above 0 (0.3 is 30 %), at most 10"]),
    ({}, ["anomaly.max_change: must be a share above 0 (0.3 is 30 %), at most 10"]),
    ({"max_change": "30%", "min_base": True}, [
        "anomaly.max_change: must be a number",
        "anomaly.max_change: must be a share above 0 (0.3 is 30 %), at most 10",
        "anomaly.min_base: must be a number", "anomaly.min_base: must be a number, 0 or more"]),
    ({"max_change": 0.3, "min_base": -0.01}, ["anomaly.min_base: must be a number, 0 or more"]),
])
def test_each_wrong_anomaly_rule_is_named(anomaly, expected):
    assert errors(doc(anomaly=anomaly)) == [f"s.yaml: {e}" for e in expected]


def test_the_smallest_share_and_a_zero_base_are_allowed():
    spec = parse_statistics(doc(anomaly={"max_change": 0.01, "min_base": 0}), "s.yaml")
    assert (spec.max_change, spec.min_base) == (Decimal("0.01"), 0)


def test_an_anomaly_that_is_not_a_mapping_is_refused():
    assert errors(doc(anomaly=[0.3])) == [
        "s.yaml: anomaly.max_change: must be a share above 0 (0.3 is 30 %), at most 10"]


def test_each_wrong_group_is_named_and_the_next_still_read():
    groups = [*GROUPS, "misc", {"key": "Quality x"}, {"key": "economy", "label": {"zh": "重复", "en": "Again"}},
              {"key": "jobs", "label": {"zh": "就业"}, "colour": "red"}]
    assert errors(doc(number(), brands(), firms(group="jobs"), groups=groups)) == [
        "s.yaml: groups[2].key: must be an identifier, used once",
        "s.yaml: groups[3].key: must be an identifier, used once",
        "s.yaml: groups[4].key: must be an identifier, used once",
        "s.yaml: groups[5].colour: unknown key",
        "s.yaml: groups[5].label.en: missing label"]
    assert errors(doc(groups=[])) == ["s.yaml: groups: must be a non-empty list"] + [
        f"s.yaml: fields[{i}].group: must be one of the groups" for i in range(3)] + [
        "s.yaml: fields: must have the decimal field output_yi (the output that sets a town's tier)"]


def test_a_file_without_fields_is_refused():
    assert errors(doc(fields=[])) == [
        "s.yaml: fields: must be a non-empty list",
        "s.yaml: fields: must have the decimal field output_yi (the output that sets a town's tier)",
        "s.yaml: groups: group economy has no field", "s.yaml: groups: group quality has no field"]


def test_the_output_must_be_a_decimal():
    assert errors(doc(number(type="integer"), brands())) == [
        "s.yaml: fields: must have the decimal field output_yi (the output that sets a town's tier)"]


# -- each field of the file ----------------------------------------------------------------------------------------

@pytest.mark.parametrize(("field", "expected"), [
    ("firms", ["fields[1]: must be a mapping"]),
    (firms(colour="red"), ["fields[1].colour: unknown key"]),
    (firms(key="2firms"), ["fields[1].key: must be an identifier, used once"]),
    (firms(key="output_yi"), ["fields[1].key: must be an identifier, used once"]),
    (firms(key=DROP), ["fields[1].key: must be an identifier, used once"]),
    (firms(group="jobs"), ["fields[1].group: must be one of the groups"]),
    (firms(type="text"), ["fields[1].type: must be one of decimal, integer, items"]),
    (firms(clause=" "), ["fields[1].clause: must name the plan clause the figure serves"]),
    (firms(clause=5), ["fields[1].clause: must name the plan clause the figure serves"]),
    (firms(min="0"), ["fields[1].min: must be a number", "fields[1].min: a number needs min below max"]),
    (firms(max=True), ["fields[1].max: must be a number", "fields[1].min: a number needs min below max"]),
    (firms(min=DROP), ["fields[1].min: a number needs min below max"]),
    (firms(max=DROP), ["fields[1].min: a number needs min below max"]),
    (firms(min=10, max=10), ["fields[1].min: a number needs min below max"]),
    (firms(min=0.5), ["fields[1].min: a whole number's min and max are whole numbers"]),
    (firms(max=9.5), ["fields[1].min: a whole number's min and max are whole numbers"]),
    (firms(required="yes"), ["fields[1].required: must be true or false"]),
    (firms(unit=DROP), ["fields[1].unit: a number needs its unit (needs zh and en)"]),
    (firms(unit={"zh": "家"}, label={"en": "Firms"}), ["fields[1].label.zh: missing label",
                                                      "fields[1].unit.en: a number needs its unit"]),
    (firms(items=brand_items()), ["fields[1].items: only a field of type items has items"]),
])
def test_each_wrong_number_field_is_named(field, expected):
    assert errors(doc(number(), field, brands())) == [f"s.yaml: {e}" for e in expected]


def test_an_integer_field_may_have_whole_decimal_bounds():
    spec = parse_statistics(doc(number(), firms(min=1.0, max=9.0), brands()), "s.yaml")
    assert (spec.fields[1].min, spec.fields[1].max) == (1, 9)


@pytest.mark.parametrize("extra", [{"unit": {"zh": "个", "en": "x"}}, {"min": 0}, {"max": 9}, {"required": False}])
def test_a_list_of_items_with_a_number_s_part_is_refused(extra):
    assert errors(doc(number(), brands(**extra), firms(group="quality"))) == [
        "s.yaml: fields[1]: a list of items has no unit, min, max or required"]


def test_a_list_of_items_with_a_broken_label_is_named():
    assert errors(doc(number(), brands(label={"zh": "品牌"}))) == ["s.yaml: fields[1].label.en: missing label"]


def test_every_broken_field_is_named_not_only_the_first():
    assert errors(doc(number(), firms(key="a b"), firms(type="x"), firms(clause=DROP), brands(),
                      firms(min=3, max=2))) == [
        "s.yaml: fields[1].key: must be an identifier, used once",
        "s.yaml: fields[2].type: must be one of decimal, integer, items",
        "s.yaml: fields[3].clause: must name the plan clause the figure serves",
        "s.yaml: fields[5].min: a number needs min below max"]


@pytest.mark.parametrize(("items", "expected"), [
    (DROP, ["items: must be a non-empty list of the item's fields"]),
    ([], ["items: must be a non-empty list of the item's fields"]),
    ({"name": "text"}, ["items: must be a non-empty list of the item's fields"]),
    (["name", *brand_items()], ["items[0]: must be a mapping"]),
    ([{**brand_items()[0], "colour": "red"}], ["items[0].colour: unknown key"]),
    ([{**brand_items()[0], "key": "Name x"}, brand_items()[1]], ["items[0].key: must be an identifier, used once"]),
    ([brand_items()[0], {**brand_items()[1], "key": "name"}], ["items[1].key: must be an identifier, used once"]),
    ([{**brand_items()[0], "type": "number"}], ["items[0].type: must be one of text, choice"]),
    ([{**brand_items()[0], "label": {"zh": "名称"}}], ["items[0].label.en: missing label"]),
    ([{**brand_items()[1], "choices": {}}], ["items[0].choices: a choice needs its choices"]),
    ([{**brand_items()[1], "choices": ["national"]}], ["items[0].choices: a choice needs its choices"]),
    ([{**brand_items()[1], "choices": {"national": {"zh": "国家级"}}}],
     ["items[0].choices.national.en: missing label"]),
    ([{**brand_items()[0], "max_length": 0}], ["items[0].max_length: must be a whole number from 1 to 1000"]),
    ([{**brand_items()[0], "max_length": 1001}], ["items[0].max_length: must be a whole number from 1 to 1000"]),
    ([{**brand_items()[0], "max_length": True}], ["items[0].max_length: must be a whole number from 1 to 1000"]),
    ([{**brand_items()[0], "max_length": 5.5}], ["items[0].max_length: must be a whole number from 1 to 1000"]),
    ([{**brand_items()[0], "max_length": 0}, {**brand_items()[1], "type": "x"}, "x"],
     ["items[0].max_length: must be a whole number from 1 to 1000", "items[1].type: must be one of text, choice",
      "items[2]: must be a mapping"]),
    ([{**brand_items()[1], "choices": None}, {**brand_items()[0], "key": 1}],
     ["items[0].choices: a choice needs its choices", "items[1].key: must be an identifier, used once"]),
    (["name", {**brand_items()[0], "key": "Name x"}, {**brand_items()[1], "type": "x"}],
     ["items[0]: must be a mapping", "items[1].key: must be an identifier, used once",
      "items[2].type: must be one of text, choice"]),
])
def test_each_wrong_item_field_is_named(items, expected):
    assert errors(doc(number(), brands(items=items))) == [f"s.yaml: fields[1].{e}" for e in expected]


def test_an_item_text_may_be_from_1_to_1000_long():
    for length in (1, 1000):
        spec = parse_statistics(doc(number(), brands(items=[{**brand_items()[0], "max_length": length}])), "s.yaml")
        assert spec.fields[1].items[0].max_length == length


# -- a figure against its field ------------------------------------------------------------------------------------

def refused(field: Field, raw: Any) -> tuple[str, str, str]:
    value, problem = read_value(field, raw)
    assert value is None and problem is not None
    return problem["field"], problem["zh"], problem["en"]


@pytest.mark.parametrize("raw", [None, "", "   "])
def test_an_empty_figure_is_left_empty(raw):
    assert read_value(OUTPUT, raw) == (None, None)
    assert read_value(FIRMS, raw) == (None, None)


@pytest.mark.parametrize("raw", [True, False, [1], {"v": 1}, "十二", "12元", float("nan"), float("inf"), "NaN",
                                 "-Infinity", "1..2"])
def test_a_figure_that_is_not_a_number_is_refused(raw):
    assert refused(OUTPUT, raw) == ("output_yi", "产值须为数字", "Output must be a number")


@pytest.mark.parametrize(("raw", "value"), [
    ("0", 0.0), (0, 0.0), ("100", 100.0), (100, 100.0), ("12.5", 12.5), (" 12.50 ", 12.5), ("12.34", 12.34),
    ("12.340", 12.34), (12.34, 12.34), ("1,2.5", 12.5), ("1E+1", 10.0), ("99.99", 99.99), ("0.01", 0.01)])
def test_a_decimal_figure_within_its_range_is_kept_as_a_number(raw, value):
    kept, problem = read_value(OUTPUT, raw)
    assert (kept, problem) == (value, None) and type(kept) is float


@pytest.mark.parametrize("raw", ["12.345", 0.001, "0.005", "99.999"])
def test_a_decimal_figure_with_three_places_is_refused(raw):
    assert refused(OUTPUT, raw) == ("output_yi", "产值最多保留 2 位小数", "Output: at most 2 decimal places")


@pytest.mark.parametrize("raw", ["-0.01", -1, "100.01", 101, "1e3"])
def test_a_decimal_figure_outside_its_range_is_refused_with_the_range(raw):
    assert refused(OUTPUT, raw) == ("output_yi", "产值应在 0～100亿元 之间", "Output must be from 0 to 100")


@pytest.mark.parametrize(("raw", "value"), [("0", 0), ("10", 10), (10, 10), ("3.0", 3), (3.0, 3), ("1,0", 10),
                                            ("1E+1", 10)])
def test_a_whole_figure_within_its_range_is_kept_as_a_whole_number(raw, value):
    kept, problem = read_value(FIRMS, raw)
    assert (kept, problem) == (value, None) and type(kept) is int


@pytest.mark.parametrize("raw", ["3.5", 3.5, "0.01", "9.999"])
def test_a_whole_figure_with_a_fraction_is_refused(raw):
    assert refused(FIRMS, raw) == ("firms", "企业数须为整数", "Firms must be a whole number")


@pytest.mark.parametrize("raw", ["-1", 11, "11"])
def test_a_whole_figure_outside_its_range_is_refused_with_the_range(raw):
    assert refused(FIRMS, raw) == ("firms", "企业数应在 0～10家 之间", "Firms must be from 0 to 10")


def test_a_range_with_decimals_and_no_unit_is_shown_as_written():
    field = Field("share", "economy", Label("占比", "Share"), "decimal", None, Decimal("0.5"), Decimal("1.5"), False,
                  "二")
    assert read_value(field, "0.5") == (0.5, None) and read_value(field, "1.5") == (1.5, None)
    assert refused(field, "1.51") == ("share", "占比应在 0.5～1.5 之间", "Share must be from 0.5 to 1.5")
    assert refused(field, "0.49") == ("share", "占比应在 0.5～1.5 之间", "Share must be from 0.5 to 1.5")


# -- a list of items -----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("raw", [None, ""])
def test_an_empty_list_of_items_is_an_empty_list(raw):
    assert read_value(BRANDS, raw) == ([], None)


def test_items_are_kept_trimmed_with_only_their_fields():
    raw = [{"name": " 石材 ", "level": "national"}, {"name": "五个字品牌", "level": " provincial"}]
    assert read_value(BRANDS, raw) == (
        [{"name": "石材", "level": "national"}, {"name": "五个字品牌", "level": "provincial"}], None)


def test_fifty_items_are_taken_and_fifty_one_refused():
    one = {"name": "石材", "level": "national"}
    assert read_value(BRANDS, [one] * MAX_ITEMS) == ([one] * MAX_ITEMS, None)
    assert refused(BRANDS, [one] * (MAX_ITEMS + 1)) == ("brands", "品牌须为列表，最多 50 项",
                                                        "Brands must be a list of at most 50")
    assert refused(BRANDS, "石材") == ("brands", "品牌须为列表，最多 50 项", "Brands must be a list of at most 50")


@pytest.mark.parametrize(("raw", "zh", "en"), [
    (["石材"], "品牌第 1 项的内容不正确", "Brands no. 1 is malformed"),
    ([{"name": "石材", "level": "national"}, {"name": "煤", "level": "national", "year": 2020}],
     "品牌第 2 项的内容不正确", "Brands no. 2 is malformed"),
    ([{"name": "石材", "level": "national"}, {"level": "national"}], "请填写品牌第 2 项的品牌名称",
     "fill in the brand of brands no. 2"),
    ([{"name": "  ", "level": "national"}], "请填写品牌第 1 项的品牌名称", "fill in the brand of brands no. 1"),
    ([{"name": "石材", "level": ""}], "请填写品牌第 1 项的级别", "fill in the level of brands no. 1"),
    ([{"name": "六个字的品牌", "level": "national"}], "品牌第 1 项的品牌名称不能超过 5 字",
     "Brands no. 1: Brand is longer than 5"),
    ([{"name": "石材", "level": "global"}], "品牌第 1 项的级别不正确", "Brands no. 1: unknown level"),
    ([{"name": "石材", "level": "国家级"}], "品牌第 1 项的级别不正确", "Brands no. 1: unknown level"),
])
def test_each_wrong_item_is_refused_with_its_number_and_what_to_fix(raw, zh, en):
    assert refused(BRANDS, raw) == ("brands", zh, en)


# -- the figures of a report ---------------------------------------------------------------------------------------

def test_the_figures_are_kept_each_as_stored_and_empty_ones_left_out():
    assert read_figures(SPEC, {"output_yi": "12.50", "firms": "", "brands": None}) == (
        {"output_yi": 12.5, "brands": []}, [])
    assert read_figures(SPEC, None) == ({"brands": []}, [])
    assert read_figures(SPEC, {}) == ({"brands": []}, [])


def test_figures_that_are_not_a_mapping_are_refused():
    expected = ({}, [{"field": "figures", "zh": "统计数据格式不正确", "en": "the figures must be a mapping"}])
    assert read_figures(SPEC, [12.5]) == expected
    assert read_figures(SPEC, "12.5") == expected


def test_every_problem_of_the_figures_is_named_in_the_fields_order_unknown_fields_first():
    figures, problems = read_figures(SPEC, {"fish": 1, "brands": ["x"], "firms": "1.5", "output_yi": "abc",
                                            "apple": 2})
    assert figures == {}
    assert problems == [
        {"field": "figures", "zh": "没有这些统计项：apple、fish", "en": "unknown fields: apple, fish"},
        {"field": "output_yi", "zh": "产值须为数字", "en": "Output must be a number"},
        {"field": "firms", "zh": "企业数须为整数", "en": "Firms must be a whole number"},
        {"field": "brands", "zh": "品牌第 1 项的内容不正确", "en": "Brands no. 1 is malformed"}]


def test_a_good_figure_is_kept_beside_a_refused_one():
    assert read_figures(SPEC, {"output_yi": "101", "firms": "0"}) == (
        {"firms": 0, "brands": []}, [{"field": "output_yi", "zh": "产值应在 0～100亿元 之间",
                                      "en": "Output must be from 0 to 100"}])


def test_the_required_figures_left_empty_are_named():
    spec = parse_statistics(doc(number(), firms(group="quality", required=True), brands()), "s.yaml")
    assert missing(spec, {"brands": []}) == [
        {"field": "output_yi", "zh": "请填写产值", "en": "fill in output"},
        {"field": "firms", "zh": "请填写企业数", "en": "fill in firms"}]
    assert missing(spec, {"output_yi": 0.0, "firms": None}) == [
        {"field": "firms", "zh": "请填写企业数", "en": "fill in firms"}]
    assert missing(spec, {"output_yi": 0.0, "firms": 0}) == []
    assert missing(SPEC, {}) == [{"field": "output_yi", "zh": "请填写产值", "en": "fill in output"}]


@pytest.mark.parametrize(("value", "text"), [(25, "25"), (25.0, "25"), (12.5, "12.5"), ("12.50", "12.5"),
                                             (3200, "3200"), (Decimal("1E+3"), "1000"), (0.05, "0.05")])
def test_a_number_is_shown_as_people_write_it(value, text):
    assert shown(value) == text


# -- a change from last year -------------------------------------------------------------------------------------

def moved(last: Any, now: Any, spec: StatisticsSpec = SPEC, key: str = "output_yi") -> list[Anomaly]:
    return anomalies(spec, {key: now}, {key: last})


@pytest.mark.parametrize(("last", "now", "flagged"), [
    (10, 13, False), (10, 13.01, True), (10, 12.99, False),  # +30 % is allowed, a cent more is not
    (10, 7, False), (10, 6.99, True), (10, 7.01, False),  # so is -30 %
    (10, 10, False), (10, 0, True), (10, 100, True)])
def test_a_change_beyond_the_allowed_share_is_an_anomaly(last, now, flagged):
    found = moved(last, now)
    assert [(a.field.key, a.last, a.now) for a in found] == (
        [("output_yi", Decimal(str(last)), Decimal(str(now)))] if flagged else [])


@pytest.mark.parametrize(("last", "flagged"), [(1, True), (0.99, False), (1.01, True), (0, False)])
def test_a_figure_below_the_base_last_year_is_not_compared(last, flagged):
    assert bool(moved(last, 50)) is flagged


def test_with_no_base_a_figure_of_zero_last_year_is_still_not_compared():
    spec = parse_statistics(doc(anomaly={"max_change": 0.3, "min_base": 0}), "s.yaml")
    assert moved(0, 5, spec) == []
    assert [a.last for a in moved(0.01, 5, spec)] == [Decimal("0.01")]


def test_only_numbers_given_both_years_are_compared():
    assert anomalies(SPEC, {"output_yi": 50, "firms": 9}, None) == []
    assert anomalies(SPEC, {"output_yi": 50, "firms": 9}, {}) == []
    assert anomalies(SPEC, {"output_yi": None, "firms": 9}, {"output_yi": 10, "firms": 2}) == [
        Anomaly(FIRMS, Decimal(2), Decimal(9))]
    assert anomalies(SPEC, {"output_yi": 50, "firms": 9}, {"output_yi": None, "firms": 2}) == [
        Anomaly(FIRMS, Decimal(2), Decimal(9))]
    assert anomalies(SPEC, {"output_yi": 50, "brands": [1, 2, 3]}, {"output_yi": 10, "brands": [1]}) == [
        Anomaly(OUTPUT, Decimal(10), Decimal(50))]


def test_an_anomaly_says_what_moved_from_what_to_what():
    (found,) = moved(12.5, 25)
    assert found.change == Decimal(1)
    assert found.reason == {"field": "output_yi", "zh": "产值由上年的 12.5亿元 变为 25亿元（+100%），请说明原因",
                            "en": "Output moved from 12.5 to 25 (+100%) since last year: explain why"}
    (found,) = moved(10, 6.5)
    assert found.change == Decimal("-0.35")
    assert found.reason["zh"] == "产值由上年的 10亿元 变为 6.5亿元（-35%），请说明原因"
    assert found.reason["en"] == "Output moved from 10 to 6.5 (-35%) since last year: explain why"


def test_an_anomaly_of_a_field_without_a_unit_shows_the_bare_numbers():
    field = Field("share", "economy", Label("占比", "Share"), "decimal", None, Decimal(0), Decimal(100), False, "二")
    spec = StatisticsSpec(1, Label("统计", "Statistics"), (Group("economy", Label("经济", "Economy"), (field,)),),
                          Decimal("0.3"), Decimal(1))
    (found,) = anomalies(spec, {"share": 2}, {"share": 4})
    assert found.reason["zh"] == "占比由上年的 4 变为 2（-50%），请说明原因"


def test_an_anomaly_without_its_explanation_holds_the_report():
    figures, last = {"output_yi": 25, "firms": 9}, {"output_yi": 12.5, "firms": 2}
    output_reason = {"field": "output_yi", "zh": "产值由上年的 12.5亿元 变为 25亿元（+100%），请说明原因",
                     "en": "Output moved from 12.5 to 25 (+100%) since last year: explain why"}
    firms_reason = {"field": "firms", "zh": "企业数由上年的 2家 变为 9家（+350%），请说明原因",
                    "en": "Firms moved from 2 to 9 (+350%) since last year: explain why"}
    assert unexplained(SPEC, figures, last, {}) == [output_reason, firms_reason]
    assert unexplained(SPEC, figures, last, {"output_yi": "  ", "firms": None}) == [output_reason, firms_reason]
    assert unexplained(SPEC, figures, last, {"output_yi": "新厂投产"}) == [firms_reason]
    assert unexplained(SPEC, figures, last, {"output_yi": "新厂投产", "firms": "招商引资"}) == []
    assert unexplained(SPEC, figures, None, {}) == []
