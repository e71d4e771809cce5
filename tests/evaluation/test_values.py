"""A town evaluation's values on the shipped indicators (definitions/evaluation.yaml): what the county, a member
unit or the office may enter (every spelling of yes and no, a number from 0 to its top with at most two decimals,
an empty value left empty, each refusal with its exact words), the group texts and evidence, the values read from
the town's accepted statistics (this year's and last year's, many towns at once), who gave each value in the
breakdown, and a value missing flagged, never counted as 0."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from sqlalchemy import event

from workflow.core.db import transaction
from workflow.core.models import Case, TownStatistics
from workflow.core.queries import registry_case
from workflow.core.yamlcheck import Label
from workflow.evaluation import values as v
from workflow.evaluation.indicators import evaluation_spec

SPEC = evaluation_spec()
NOW = datetime(2027, 4, 1, 2, 0, tzinfo=UTC)
GI = SPEC.indicator("geographical_indication")  # yes/no, given by 市市场监管局
PROJECTS = SPEC.indicator("digital_projects")  # a count the county gives
ON_TIME = SPEC.indicator("rectified_on_time")  # a percentage the office gives
assert GI is not None and PROJECTS is not None and ON_TIME is not None


def keys(indicators):
    return [i.key for i in indicators]


def not_a_number(indicator):
    return {"zh": f"{indicator.label.zh}应为数字", "en": f"{indicator.label.en} must be a number",
            "field": indicator.key}


# --- one value -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("raw", ["yes", "true", "1", "是", "YES", " True ", "  是 ", 1, True])
def test_every_spelling_of_yes_reads_as_yes(raw):
    assert v.read_value(GI, raw) == (True, None)


@pytest.mark.parametrize("raw", ["no", "false", "0", "否", "NO", " False ", " 否  ", 0, False])
def test_every_spelling_of_no_reads_as_no(raw):
    assert v.read_value(GI, raw) == (False, None)


@pytest.mark.parametrize("raw", ["maybe", "有", "2", 2, "y", "n", "yes no"])
def test_a_yes_or_no_refuses_any_other_word_naming_the_indicator(raw):
    assert v.read_value(GI, raw) == (None, {
        "zh": "拥有国家地理标志商标或产品只能填“是”或“否”",
        "en": "Holds a national geographical indication must be yes or no",
        "field": "geographical_indication"})


@pytest.mark.parametrize("indicator", [GI, PROJECTS, ON_TIME])
@pytest.mark.parametrize("raw", [None, "", "   ", "\t\n"])
def test_an_empty_value_is_left_empty_not_refused_and_not_zero(indicator, raw):
    assert v.read_value(indicator, raw) == (None, None)


@pytest.mark.parametrize("raw", [True, False, "abc", "1,000", "3个", "1e", "NaN", "nan", "sNaN", "Infinity",
                                 "-Infinity", "inf", float("nan"), float("inf"), float("-inf"), [3], {"n": 3}])
def test_a_number_refuses_what_is_not_a_finite_number(raw):
    assert v.read_value(PROJECTS, raw) == (None, not_a_number(PROJECTS))


def test_a_number_is_from_0_to_the_top_with_the_top_named():
    out_of_range = {"zh": "数字化转型、智能制造项目应在 0～1000000000 之间",
                    "en": "Digital transformation and smart manufacturing projects must be from 0 to 1000000000",
                    "field": "digital_projects"}
    assert Decimal(1000000000) == v.MAX_VALUE
    assert v.read_value(PROJECTS, "0") == (0, None)
    assert v.read_value(PROJECTS, 0) == (0, None)
    assert v.read_value(PROJECTS, "1000000000") == (1000000000, None)
    assert v.read_value(PROJECTS, "1000000000.00") == (1000000000, None)
    assert v.read_value(PROJECTS, "1000000000.01") == (None, out_of_range)
    assert v.read_value(PROJECTS, 1000000001) == (None, out_of_range)
    assert v.read_value(PROJECTS, "-1") == (None, out_of_range)
    assert v.read_value(PROJECTS, -0.01) == (None, out_of_range)
    assert v.read_value(PROJECTS, "101") == (101, None)  # only a percentage stops at 100


def test_a_percentage_is_from_0_to_100():
    out_of_range = {"zh": "专项检查问题按期整改率应在 0～100 之间",
                    "en": "Inspection problems rectified on time must be from 0 to 100", "field": "rectified_on_time"}
    assert v.read_value(ON_TIME, "100") == (100, None)
    assert v.read_value(ON_TIME, "99.99") == (99.99, None)
    assert v.read_value(ON_TIME, "0") == (0, None)
    assert v.read_value(ON_TIME, "100.01") == (None, out_of_range)
    assert v.read_value(ON_TIME, 101) == (None, out_of_range)
    assert v.read_value(ON_TIME, "-0.5") == (None, out_of_range)


def test_a_number_has_at_most_two_decimals():
    too_precise = {"zh": "数字化转型、智能制造项目最多保留两位小数",
                   "en": "Digital transformation and smart manufacturing projects has more than two decimals",
                   "field": "digital_projects"}
    assert v.read_value(PROJECTS, "2.55") == (2.55, None)
    assert v.read_value(PROJECTS, "2.555") == (None, too_precise)
    assert v.read_value(PROJECTS, 0.001) == (None, too_precise)
    assert v.read_value(ON_TIME, "99.999") == (None, {
        "zh": "专项检查问题按期整改率最多保留两位小数",
        "en": "Inspection problems rectified on time has more than two decimals", "field": "rectified_on_time"})


@pytest.mark.parametrize(("raw", "expected", "kind"), [
    ("3", 3, int), (3, 3, int), ("3.00", 3, int), (3.0, 3, int), (" 7 ", 7, int), ("\t12\n", 12, int),
    ("2.5", 2.5, float), ("2.50", 2.5, float), (2.5, 2.5, float), (" 0.25 ", 0.25, float), ("1E+2", 100, int),
    ("-0", 0, int)])
def test_a_whole_number_reads_as_an_int_and_any_other_as_a_float(raw, expected, kind):
    value, problem = v.read_value(PROJECTS, raw)
    assert (value, problem) == (expected, None)
    assert type(value) is kind


# --- several values --------------------------------------------------------------------------------------------


def test_a_units_values_are_read_with_the_empty_ones_left_out():
    brands = v.provided_by(SPEC, "市市场监管局")
    assert keys(brands) == ["new_brands", "standards", "geographical_indication"]
    assert v.read_values(brands, {"new_brands": "2", "standards": "", "geographical_indication": "是"},
                         "unit_values") == ({"new_brands": 2, "geographical_indication": True}, [])
    assert v.read_values(brands, {"new_brands": "0", "geographical_indication": "否"}, "unit_values") == (
        {"new_brands": 0, "geographical_indication": False}, [])  # 0 and no are values, not empty ones
    assert v.read_values(brands, {}, "unit_values") == ({}, [])
    assert v.read_values(brands, None, "unit_values") == ({}, [])


@pytest.mark.parametrize("raw", [["new_brands"], "new_brands=2", 2, ("new_brands", 2)])
def test_values_that_are_not_a_mapping_are_refused_naming_the_field(raw):
    assert v.read_values(v.provided_by(SPEC, "county"), raw, "assessment") == (
        {}, [{"zh": "评价数值格式不正确", "en": "assessment must be a mapping", "field": "assessment"}])


def test_every_problem_is_named_the_unknown_keys_first_then_the_values_in_the_files_order():
    brands = v.provided_by(SPEC, "市市场监管局")
    values, problems = v.read_values(
        brands, {"geographical_indication": "也许", "output": "30", "new_brands": "1.234", "standards": "1",
                 "nothing": "1"}, "unit_values")
    assert values == {"standards": 1}
    assert problems == [
        {"zh": "没有可填报的指标 output", "en": "output is not an indicator you provide", "field": "unit_values"},
        {"zh": "没有可填报的指标 nothing", "en": "nothing is not an indicator you provide", "field": "unit_values"},
        {"zh": "新增市级以上品牌最多保留两位小数", "en": "New brands of city level or above has more than two decimals",
         "field": "new_brands"},
        {"zh": "拥有国家地理标志商标或产品只能填“是”或“否”",
         "en": "Holds a national geographical indication must be yes or no", "field": "geographical_indication"}]


# --- group texts -----------------------------------------------------------------------------------------------


def test_a_groups_text_is_trimmed_and_an_empty_one_dropped():
    assert v.read_texts(SPEC, {"scale": "  产值稳步增长  ", "innovation": "   ", "quality": ""}) == (
        {"scale": "产值稳步增长"}, [])
    assert v.read_texts(SPEC, None) == ({}, [])
    assert v.read_texts(SPEC, {}) == ({}, [])


def test_a_groups_text_is_at_most_500_characters_after_trimming():
    assert v.MAX_TEXT == 500
    longest = "字" * 500
    assert v.read_texts(SPEC, {"scale": f"  {longest}\n"}) == ({"scale": longest}, [])
    assert v.read_texts(SPEC, {"scale": longest + "字", "quality": "品牌"}) == ({"quality": "品牌"}, [
        {"zh": "产业规模的说明不能超过 500 字", "en": "the text of Industrial scale is longer than 500",
         "field": "text-scale"}])


def test_a_text_of_no_group_or_not_a_text_is_refused():
    assert v.read_texts(SPEC, {"nope": "说明", "scale": 5, "quality": ["品牌"], "innovation": "创新"}) == (
        {"innovation": "创新"}, [
            {"zh": "没有指标组 nope", "en": "no group nope", "field": "group_texts"},
            {"zh": "没有指标组 scale", "en": "no group scale", "field": "group_texts"},
            {"zh": "没有指标组 quality", "en": "no group quality", "field": "group_texts"}])


@pytest.mark.parametrize("raw", [["scale"], "scale: 说明", 5])
def test_texts_that_are_not_a_mapping_are_refused(raw):
    assert v.read_texts(SPEC, raw) == (
        {}, [{"zh": "分组说明格式不正确", "en": "group_texts must be a mapping", "field": "group_texts"}])


# --- group evidence --------------------------------------------------------------------------------------------

NOT_IDS = {"zh": "产业规模的证明材料应为附件编号列表",
           "en": "the evidence of Industrial scale must be a list of attachment ids", "field": "evidence-scale"}


def test_a_groups_evidence_is_its_attachment_ids_each_once_in_the_order_given():
    assert v.read_evidence(SPEC, {"scale": [5, 3, 5, 1, 3], "quality": [2**31 - 1], "innovation": []}) == (
        {"scale": [5, 3, 1], "quality": [2147483647]}, [])
    assert v.read_evidence(SPEC, None) == ({}, [])
    assert v.read_evidence(SPEC, {}) == ({}, [])


@pytest.mark.parametrize("ids", [["3"], [3, "4"], [True], [1, False], [0], [-1], [2**31], [3.0], [None], 3, "3",
                                 (3,), {3: 3}])
def test_evidence_that_is_not_a_list_of_ids_is_refused(ids):
    assert v.read_evidence(SPEC, {"scale": ids}) == ({}, [NOT_IDS])


def test_a_group_has_at_most_20_files_of_evidence_counted_once_each():
    assert v.MAX_EVIDENCE == 20
    twenty = list(range(1, 21))
    assert v.read_evidence(SPEC, {"scale": [*twenty, 1, 2, 3]}) == ({"scale": twenty}, [])
    assert v.read_evidence(SPEC, {"scale": [*twenty, 21], "quality": [9]}) == ({"quality": [9]}, [
        {"zh": "产业规模的证明材料不能超过 20 个", "en": "the evidence of Industrial scale is more than 20 files",
         "field": "evidence-scale"}])


def test_evidence_of_no_group_is_refused_and_every_problem_named_in_order():
    assert v.read_evidence(SPEC, {"nope": [1], "scale": [0], "quality": [4], "environment": "4"}) == (
        {"quality": [4]}, [
            {"zh": "没有指标组 nope", "en": "no group nope", "field": "group_evidence"},
            NOT_IDS,
            {"zh": "项目建设与营商环境的证明材料应为附件编号列表",
             "en": "the evidence of Projects and business environment must be a list of attachment ids",
             "field": "evidence-environment"}])


@pytest.mark.parametrize("raw", [[1, 2], "scale", 3])
def test_evidence_that_is_not_a_mapping_is_refused(raw):
    assert v.read_evidence(SPEC, raw) == (
        {}, [{"zh": "证明材料格式不正确", "en": "group_evidence must be a mapping", "field": "group_evidence"}])


def test_the_evidence_asked_of_the_county_is_for_its_values_and_targets():
    assert v.evidence_asked(SPEC, "innovation") == (
        Label("项目清单及验收或投用证明", "The list of projects with proof of completion or use"),)
    assert v.evidence_asked(SPEC, "employment") == (
        Label("年度统计报表及县（区）设定的就业目标", "The statistics report and the county's employment target"),)
    assert v.evidence_asked(SPEC, "environment") == (Label("政策文件", "The policy document"),)
    assert v.evidence_asked(SPEC, "scale") == ()
    assert v.evidence_asked(SPEC, "nope") == ()


def test_evidence_asked_by_several_indicators_is_asked_once():
    environment = SPEC.group("environment")
    county_gives_all = replace(environment, indicators=tuple(
        i if i.provider == "office" else replace(i, provider="county") for i in environment.indicators))
    spec = replace(SPEC, groups=tuple(county_gives_all if g.key == "environment" else g for g in SPEC.groups))
    assert v.evidence_asked(spec, "environment") == (
        Label("年度统计报表（已审核）", "The year's accepted statistics report"),
        Label("政策文件", "The policy document"))


# --- the indicators --------------------------------------------------------------------------------------------


def test_who_provides_which_indicator():
    assert keys(v.provided_by(SPEC, "county")) == ["digital_projects", "town_policy"]
    assert keys(v.provided_by(SPEC, "office")) == ["rectified_on_time"]
    assert keys(v.provided_by(SPEC, "statistics")) == [
        "output", "output_growth", "above_scale_firms", "market_entities_growth", "high_tech_firms",
        "patent_growth", "specialised_firms", "employment_target", "key_projects", "project_investment",
        "service_platforms"]
    assert keys(v.provided_by(SPEC, "市科技局")) == ["research_centres"]
    assert keys(v.provided_by(SPEC, "市人社局")) == ["new_jobs", "skills_training"]
    assert v.provided_by(SPEC, "市工信局") == ()
    assert v.member_providers(SPEC) == ("市科技局", "市市场监管局", "市人社局")
    assert keys(v.target_indicators(SPEC)) == ["employment_target"]


def test_an_indicators_label_and_a_key_no_longer_known_shown_as_it_is():
    assert v.label_of(SPEC, "new_jobs") == Label("新增就业", "New jobs")
    assert v.label_of(SPEC, "gone") == Label("gone", "gone")


@pytest.mark.parametrize(("number", "text"), [
    (Decimal("2.50"), "2.5"), (Decimal("3.00"), "3"), (Decimal("100"), "100"), (Decimal("10.0"), "10"),
    (Decimal("0"), "0"), (Decimal("0.10"), "0.1"), (Decimal("1E+3"), "1000"), (Decimal("0.05"), "0.05"),
    (Decimal("1E-7"), "0.0000001")])
def test_a_number_is_shown_without_exponent_or_trailing_zeros(number, text):
    assert v.shown(number) == text


# --- the statistics' values ------------------------------------------------------------------------------------

THIS_YEAR = {"output_yi": 30, "market_entities": 1100, "above_scale_firms": 7, "employees": 5200,
             "invention_patents": 12, "high_tech_firms": 3, "specialised_firms": 2, "key_projects": 4,
             "project_investment_yi": 6.8, "service_platforms": 2, "tax_wan": 900}
ALL_VALUES = {"output": 30, "output_growth": 30, "above_scale_firms": 7, "market_entities_growth": 1100,
              "high_tech_firms": 3, "patent_growth": 12, "specialised_firms": 2, "employment_target": 5200,
              "key_projects": 4, "project_investment": 6.8, "service_platforms": 2}


def accepted(db, town, year, figures):
    output = figures.get("output_yi")
    with transaction(db) as s:
        record = registry_case(s, town.id)
        s.add(TownStatistics(town_id=town.id, county_id=town.county_id, year=year,
                             output_yi=output if type(output) in (int, float) else None, figures=figures,
                             spec_version=1,
                             report_case_id=record.id, accepted_at=NOW))


def test_the_statistics_values_are_this_years_and_last_years_for_a_growth(db, make):
    town, other = make.town("西烟镇"), make.town("路家村镇")
    accepted(db, town, 2026, THIS_YEAR)
    accepted(db, town, 2025, {"output_yi": 25, "market_entities": 1000, "invention_patents": 10.5,
                              "employees": 5000, "key_projects": 9})
    accepted(db, town, 2024, {"output_yi": 1})
    accepted(db, other, 2026, {"output_yi": 99, "employees": 1})
    with transaction(db) as s:
        found = v.statistics_values(s, SPEC, town.id, 2026)
    assert found == (ALL_VALUES, {"output_growth": 25, "market_entities_growth": 1000, "patent_growth": 10.5},
                     2026)
    with transaction(db) as s:
        assert v.statistics_values(s, SPEC, other.id, 2026) == ({"output": 99, "output_growth": 99,
                                                                 "employment_target": 1}, {}, 2026)
        assert v.statistics_values(s, SPEC, town.id, 2025) == (
            {"output": 25, "output_growth": 25, "market_entities_growth": 1000, "patent_growth": 10.5,
             "employment_target": 5000, "key_projects": 9}, {"output_growth": 1}, 2025)


def test_a_year_not_accepted_gives_no_statistics_even_with_last_years(db, make):
    town = make.town("西烟镇")
    accepted(db, town, 2025, THIS_YEAR)
    with transaction(db) as s:
        assert v.statistics_values(s, SPEC, town.id, 2026) == ({}, {}, None)
        assert v.statistics_values(s, SPEC, town.id, 2027) == ({}, {}, None)


def test_a_figure_that_is_not_a_number_is_left_out_never_read_as_0(db, make):
    town = make.town("西烟镇")
    accepted(db, town, 2026, {"output_yi": "30", "market_entities": True, "employees": None, "key_projects": 0,
                              "invention_patents": 0.0})
    accepted(db, town, 2025, {"output_yi": False, "market_entities": "1000", "invention_patents": 0})
    with transaction(db) as s:
        assert v.statistics_values(s, SPEC, town.id, 2026) == (
            {"key_projects": 0, "patent_growth": 0.0}, {"patent_growth": 0}, 2026)


def test_the_statistics_of_many_towns_are_read_by_town_in_chunks(db, engine, make, monkeypatch):
    towns = [make.town(f"测试镇{n}") for n in range(5)]
    for n, town in enumerate(towns):
        if n != 2:
            accepted(db, town, 2026, {"output_yi": 10 + n, "employees": 100 * n})
        if n % 2:
            accepted(db, town, 2025, {"output_yi": n})
    monkeypatch.setattr(v, "STATISTICS_CHUNK", 2)
    ids = [t.id for t in towns]
    bound = []  # the parameters of each query of the statistics: at most a chunk of towns and the two years

    def count(conn, cursor, statement, parameters, context, executemany):
        if "town_statistics" in statement:
            bound.append(len(parameters))

    event.listen(engine, "before_cursor_execute", count)
    try:
        with transaction(db) as s:
            found = v.statistics_values_of(s, SPEC, ids, 2026)
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert bound == [4, 4, 3]
    with transaction(db) as s:
        assert list(found) == ids
        assert found == {
            ids[0]: ({"output": 10, "output_growth": 10, "employment_target": 0}, {}, 2026),
            ids[1]: ({"output": 11, "output_growth": 11, "employment_target": 100}, {"output_growth": 1}, 2026),
            ids[2]: ({}, {}, None),
            ids[3]: ({"output": 13, "output_growth": 13, "employment_target": 300}, {"output_growth": 3}, 2026),
            ids[4]: ({"output": 14, "output_growth": 14, "employment_target": 400}, {}, 2026)}
        assert v.statistics_values_of(s, SPEC, [ids[4], ids[1]], 2026) == {ids[4]: found[ids[4]],
                                                                          ids[1]: found[ids[1]]}
        assert v.statistics_values_of(s, SPEC, [], 2026) == {}
    monkeypatch.setattr(v, "STATISTICS_CHUNK", 500)
    with transaction(db) as s:
        assert v.statistics_values_of(s, SPEC, ids, 2026) == found


# --- values and scores of a case -------------------------------------------------------------------------------

CASE_DATA = {
    "evaluation_year": 2026, "statistics_year": 2026,
    "statistics_values": {"output": 30, "output_growth": 30, "employment_target": 5200, "new_jobs": 1},
    "last_values": {"output_growth": 25},
    "targets": {"employment_target": 6000},
    "assessment": {"digital_projects": 3, "town_policy": True, "new_jobs": 2},
    "group_texts": {"innovation": "两个项目投用"},
    "group_evidence": {"innovation": [7, 8]},
    "unit_answers": {"5": {"unit": "市人社局", "values": {"new_jobs": 800}},
                     "6": {"unit": "市市场监管局", "values": {"new_brands": 2, "geographical_indication": False}},
                     "7": {"unit": "市科技局", "values": {}}},
    "entered": {"rectified_on_time": {"value": 80, "reason": "按整改台账"},
                "research_centres": {"value": 0, "reason": "核实无"}},
    "adjustments": {"new_brands": {"points": "4.5", "reason": "其中一个品牌已撤销"}},
}


def test_the_values_of_a_case_the_office_winning_over_the_units_over_the_county_over_the_statistics():
    assert v.values_of(CASE_DATA) == {
        "output": 30, "output_growth": 30, "employment_target": 5200, "new_jobs": 800, "digital_projects": 3,
        "town_policy": True, "new_brands": 2, "geographical_indication": False, "rectified_on_time": 80,
        "research_centres": 0}
    assert v.values_of({**CASE_DATA, "entered": {"new_jobs": {"value": 900, "reason": "补录"}}})["new_jobs"] == 900
    assert v.values_of({**CASE_DATA, "unit_answers": {}})["new_jobs"] == 2
    assert v.values_of({"statistics_values": {"new_jobs": 1}, "assessment": None})["new_jobs"] == 1
    assert v.values_of({"unit_answers": {"5": {"unit": "市人社局"}}}) == {}
    assert v.values_of({"statistics_values": None, "assessment": None, "unit_answers": None, "entered": None}) == {}
    assert v.values_of({}) == {}


def points_of(score):
    return {s.key: s.points for s in score.scores}


def test_a_cases_scores_take_last_years_values_the_targets_and_the_offices_adjustments():
    score = v.score_data(SPEC, CASE_DATA, town=12, name="西烟镇")
    assert (score.town, score.name) == (12, "西烟镇")
    assert points_of(score) == {
        "output": Decimal("5.00"), "output_growth": Decimal(8), "above_scale_firms": None,
        "market_entities_growth": None, "high_tech_firms": None, "research_centres": Decimal(0),
        "patent_growth": None, "digital_projects": Decimal(5), "new_brands": Decimal("4.50"), "standards": None,
        "geographical_indication": Decimal(0), "specialised_firms": None, "employment_target": Decimal("5.20"),
        "new_jobs": Decimal("3.89"), "skills_training": None, "key_projects": None, "project_investment": None,
        "service_platforms": None, "town_policy": Decimal(2), "rectified_on_time": Decimal("1.00")}
    adjusted = score.score("new_brands")
    assert (adjusted.computed, adjusted.reason) == (Decimal(5), "其中一个品牌已撤销")
    assert score.groups == {"scale": Decimal("13.00"), "innovation": Decimal(5), "quality": Decimal("4.50"),
                            "employment": Decimal("9.09"), "environment": Decimal("3.00")}
    assert score.total == Decimal("34.59")
    plain = v.score_data(SPEC, {"statistics_values": {"output": 30}})
    assert (plain.town, plain.name, plain.total) == (None, "", Decimal("5.00"))


def test_a_growth_without_last_years_value_and_a_share_without_a_target_are_missing_not_0():
    data = {**CASE_DATA, "last_values": None, "targets": None, "adjustments": None}
    score = v.score_data(SPEC, data)
    assert (score.score("output_growth").points, score.score("employment_target").points) == (None, None)
    assert score.score("new_brands").points == Decimal(5)
    assert [s.key for s in v.missing(SPEC, data)] == [
        "output_growth", "above_scale_firms", "market_entities_growth", "high_tech_firms", "patent_growth",
        "standards", "specialised_firms", "employment_target", "skills_training", "key_projects",
        "project_investment", "service_platforms"]


def test_every_indicator_is_missing_without_values_and_a_value_of_0_is_not_missing():
    assert [s.key for s in v.missing(SPEC, {})] == [i.key for i in SPEC.indicators]
    assert all(s.points is None for s in v.missing(SPEC, {}))
    missing = v.missing(SPEC, CASE_DATA)
    assert [s.key for s in missing] == [
        "above_scale_firms", "market_entities_growth", "high_tech_firms", "patent_growth", "standards",
        "specialised_firms", "skills_training", "key_projects", "project_investment", "service_platforms"]
    assert missing[0].explanation == Label("规上工业企业数：未提供数值，未计分（须补录，或由办公室决定）",
                                           "Industrial firms above designated size: no value, not scored "
                                           "(to be entered, or decided by the office)")
    # an adjustment scores a missing value: it is missing no more
    scored = {**CASE_DATA, "adjustments": {"standards": {"points": "3", "reason": "核实有一项"}}}
    assert "standards" not in [s.key for s in v.missing(SPEC, scored)]


def evaluation(data, town_id=12, title="2026年度评价 · 西烟镇"):
    return Case(number="PJ-2026-0001", definition_key="evaluation_town", definition_version=2,
                state="office_review", county_id=1, town_id=town_id, title=title, data=data, created_at=NOW,
                updated_at=NOW)


def test_a_cases_score_is_by_its_town_named_by_its_title_unless_named():
    case = evaluation(CASE_DATA)
    score = v.town_score(case)
    assert (score.town, score.name, score.total) == (12, "2026年度评价 · 西烟镇", Decimal("34.59"))
    assert v.town_score(case, "西烟镇").name == "西烟镇"
    empty = v.town_score(evaluation(None, town_id=3))
    assert (empty.town, empty.total, len(empty.missing)) == (3, Decimal(0), len(SPEC.indicators))


def rows_of(group):
    return [(r.indicator.key, r.value, r.score.points, r.source) for r in group.rows]


STATISTICS = Label("2026年度统计（已审核）", "Accepted statistics of 2026")
COUNTY = Label("县（区）自评", "County's self-assessment")
ENTERED = Label("办公室补录", "Entered by the office")


def test_the_breakdown_shows_each_value_who_gave_it_and_its_points_by_group():
    score, groups = v.breakdown(evaluation(CASE_DATA))
    assert score.total == Decimal("34.59")
    assert [(g.key, g.label, g.points, g.max_points, g.text, g.evidence) for g in groups] == [
        ("scale", Label("产业规模", "Industrial scale"), Decimal("13.00"), Decimal(30), "", ()),
        ("innovation", Label("创新能力", "Innovation"), Decimal(5), Decimal(20), "两个项目投用", (7, 8)),
        ("quality", Label("质量品牌", "Quality and brands"), Decimal("4.50"), Decimal(20), "", ()),
        ("employment", Label("就业富民", "Jobs and incomes"), Decimal("9.09"), Decimal(15), "", ()),
        ("environment", Label("项目建设与营商环境", "Projects and business environment"), Decimal("3.00"),
         Decimal(15), "", ())]
    assert rows_of(groups[1]) == [
        ("high_tech_firms", None, None, STATISTICS),
        ("research_centres", 0, Decimal(0), ENTERED),
        ("patent_growth", None, None, STATISTICS),
        ("digital_projects", 3, Decimal(5), COUNTY)]
    assert rows_of(groups[2])[:3] == [
        ("new_brands", 2, Decimal("4.50"), Label("市市场监管局", "市市场监管局")),
        ("standards", None, None, Label("市市场监管局", "市市场监管局")),
        ("geographical_indication", False, Decimal(0), Label("市市场监管局", "市市场监管局"))]
    assert rows_of(groups[4])[3:] == [("town_policy", True, Decimal(2), COUNTY),
                                      ("rectified_on_time", 80, Decimal("1.00"), ENTERED)]
    assert groups[2].rows[0].score.reason == "其中一个品牌已撤销"


def test_the_breakdown_names_the_office_and_statistics_not_accepted_yet():
    data = {**CASE_DATA, "statistics_year": None, "entered": {"output": {"value": 40, "reason": "按年报"}}}
    _, groups = v.breakdown(evaluation(data))
    assert rows_of(groups[0])[:2] == [
        ("output", 40, Decimal("7.50"), ENTERED),
        ("output_growth", 30, Decimal(8), Label("年度统计（尚未审核通过）", "Statistics (not accepted yet)"))]
    assert rows_of(groups[4])[4] == ("rectified_on_time", None, None, Label("领导小组办公室", "The office"))


def test_a_member_unit_sees_only_its_own_indicators_in_the_breakdown():
    score, groups = v.breakdown(evaluation(CASE_DATA), "市人社局")
    assert score.total == Decimal("34.59")
    assert [(g.key, g.points, g.max_points) for g in groups] == [("employment", Decimal("9.09"), Decimal(15))]
    assert rows_of(groups[0]) == [("new_jobs", 800, Decimal("3.89"), Label("市人社局", "市人社局")),
                                  ("skills_training", None, None, Label("市人社局", "市人社局"))]
    _, county = v.breakdown(evaluation(CASE_DATA), "county")
    assert [(g.key, g.text, g.evidence, rows_of(g)) for g in county] == [
        ("innovation", "两个项目投用", (7, 8), [("digital_projects", 3, Decimal(5), COUNTY)]),
        ("environment", "", (), [("town_policy", True, Decimal(2), COUNTY)])]
    assert v.breakdown(evaluation(CASE_DATA), "市工信局")[1] == []
