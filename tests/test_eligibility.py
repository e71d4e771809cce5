"""The eligibility decision table (definitions/eligibility.yaml) at every edge of the plan's section 四."""

from __future__ import annotations

import pytest
import yaml

from workflow import application, eligibility
from workflow.definitions import DEFINITIONS_DIR
from workflow.eligibility import EligibilityError, evaluate, load_table, parse_table

BASE = {
    "industry_category": "manufacturing", "leading_industry": "装备制造", "main_products": "矿山机械",
    "output_yi": 12.5, "county_share_pct": 35, "jobs": 3200, "local_workers": 2800, "average_income": 52000,
    "leading_enterprises": [{"name": "阳泉重工", "honours": []}], "supporting_enterprises": 24,
    "business_environment": "一站式服务",
}


def criterion(data, key):
    return next(c for c in evaluate(data).criteria if c.key == key)


def agglomeration(**changes):
    return criterion({**BASE, **changes}, "agglomeration")


# ---- 产业集聚: output thresholds by category ------------------------------------------------------------


@pytest.mark.parametrize(("category", "output", "outcome", "zh"), [
    ("manufacturing", 9.99, "fail", "制造业类主导产业产值 9.99 亿元，低于 10 亿元"),
    ("manufacturing", 10.0, "pass", "制造业类主导产业产值 10.00 亿元，达到 10 亿元"),
    ("manufacturing", 10, "pass", "制造业类主导产业产值 10.00 亿元，达到 10 亿元"),
    ("manufacturing", 8.5, "fail", "制造业类主导产业产值 8.50 亿元，低于 10 亿元"),
    ("agriculture", 1.99, "fail", "特优农业类主导产业产值 1.99 亿元，低于 2 亿元"),
    ("agriculture", 2.0, "pass", "特优农业类主导产业产值 2.00 亿元，达到 2 亿元"),
    ("light_industry", 1.99, "fail", "特色轻工（工艺美术）类主导产业产值 1.99 亿元，低于 2 亿元"),
    ("light_industry", 2, "pass", "特色轻工（工艺美术）类主导产业产值 2.00 亿元，达到 2 亿元"),
])
def test_output_threshold_edges(category, output, outcome, zh):
    result = agglomeration(industry_category=category, output_yi=output)
    assert (result.outcome, result.reason.zh, result.hard, result.to_confirm) == (outcome, zh, True, False)


def test_the_reason_for_eight_and_a_half_reads_exactly_as_in_the_issue():
    result = agglomeration(output_yi=8.5)
    assert result.reason.zh == "制造业类主导产业产值 8.50 亿元，低于 10 亿元"
    assert result.reason.en == "Manufacturing: leading-industry output of 8.50 (100 million yuan) is below 10"
    assert result.field == "output_yi"


def test_typed_numbers_compare_exactly_at_the_edge():
    # 9.99 and 10.00 typed into the form become JSON numbers; Decimal comparison keeps them exact
    assert agglomeration(output_yi=application.number_from_text("output_yi", "9.99")).outcome == "fail"
    assert agglomeration(output_yi=application.number_from_text("output_yi", "10.00")).outcome == "pass"
    assert agglomeration(industry_category="agriculture", output_yi=0.1 + 1.89).outcome == "fail"


RELAXED = {"industry_category": "agriculture", "relaxation_basis": "geographical_indication",
           "relaxation_grounds": "“盂县小米”为国家地理标志保护产品"}


@pytest.mark.parametrize(("changes", "outcome", "to_confirm", "zh"), [
    ({"output_yi": 0.5}, "pass", True,
     "特优农业类主导产业产值 0.50 亿元，按“地理标志”放宽认定（不少于 0.5 亿元）；放宽理由须经评审确认"),
    ({"output_yi": 0.49}, "fail", False, "主导产业产值 0.49 亿元，低于放宽认定的最低标准 0.5 亿元"),
    ({"output_yi": 0.5, "relaxation_grounds": None}, "fail", False,
     "特优农业类主导产业产值 0.50 亿元，未达标准；按“地理标志”放宽认定须写明放宽理由"),
    ({"output_yi": 0.5, "relaxation_grounds": "   "}, "fail", False,
     "特优农业类主导产业产值 0.50 亿元，未达标准；按“地理标志”放宽认定须写明放宽理由"),
    ({"output_yi": 0.49, "relaxation_grounds": None}, "fail", False,
     "主导产业产值 0.49 亿元，低于放宽认定的最低标准 0.5 亿元"),
    ({"output_yi": 0.5, "relaxation_basis": "none"}, "fail", False, "特优农业类主导产业产值 0.50 亿元，低于 2 亿元"),
    ({"output_yi": 0.5, "relaxation_basis": None}, "fail", False, "特优农业类主导产业产值 0.50 亿元，低于 2 亿元"),
    ({"output_yi": 0.49, "relaxation_basis": None}, "fail", False, "特优农业类主导产业产值 0.49 亿元，低于 2 亿元"),
    ({"output_yi": 2.0}, "pass", False, "特优农业类主导产业产值 2.00 亿元，达到 2 亿元"),
    ({"output_yi": 0.5, "industry_category": "manufacturing", "relaxation_basis": "historic_origin"}, "pass", True,
     "制造业类主导产业产值 0.50 亿元，按“历史发源地”放宽认定（不少于 0.5 亿元）；放宽理由须经评审确认"),
])
def test_relaxation_edges(changes, outcome, to_confirm, zh):
    result = agglomeration(**{**RELAXED, **changes})
    assert (result.outcome, result.to_confirm, result.reason.zh) == (outcome, to_confirm, zh)


def test_relaxation_without_grounds_points_at_the_grounds_field():
    result = agglomeration(**{**RELAXED, "output_yi": 1.2, "relaxation_grounds": ""})
    assert (result.outcome, result.field) == ("fail", "relaxation_grounds")


def test_missing_category_or_output_is_incomplete():
    no_output = agglomeration(output_yi=None)
    assert (no_output.outcome, no_output.incomplete, no_output.reason.zh) == ("fail", True, "未填写主导产业产值")
    no_category = agglomeration(industry_category=None)
    assert (no_category.outcome, no_category.incomplete, no_category.field) == ("fail", True, "industry_category")


# ---- 龙头牵引 ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("enterprises", "outcome", "zh"), [
    ([], "fail", "龙头企业 0 家，至少应有 1 家"),
    ([{"name": "  ", "honours": ["zjtx"]}], "fail", "龙头企业 0 家，至少应有 1 家"),  # a row without a name
    ([{"name": "阳泉重工", "honours": []}], "pass", "龙头企业 1 家，达到至少 1 家"),
])
def test_leading_enterprise_edges(enterprises, outcome, zh):
    result = criterion({**BASE, "leading_enterprises": enterprises}, "leading_enterprises")
    assert (result.outcome, result.hard, result.reason.zh) == (outcome, True, zh)


@pytest.mark.parametrize(("count", "outcome", "zh"), [
    (9, "fail", "上下游配套企业 9 户，少于 10 户"),
    (10, "pass", "上下游配套企业 10 户（含家庭农场、专业合作社），达到 10 户"),
    (0, "fail", "上下游配套企业 0 户，少于 10 户"),
])
def test_supporting_enterprise_edges(count, outcome, zh):
    result = criterion({**BASE, "supporting_enterprises": count}, "supporting_enterprises")
    assert (result.outcome, result.reason.zh) == (outcome, zh)


def test_missing_supporting_enterprises_is_incomplete():
    result = criterion({**BASE, "supporting_enterprises": None}, "supporting_enterprises")
    assert (result.outcome, result.incomplete) == ("fail", True)


# ---- the criteria for the reviewers -------------------------------------------------------------------------


def test_judged_criteria_show_the_figures():
    data = {**BASE, "brands": [{"name": "娘子关砂器", "level": "province"}, {"name": "X", "level": "city"}],
            "standards": [{"name": "T/YQ 001", "level": "local", "role": "led"}],
            "platforms": [{"kind": "ecommerce", "name": "电商中心"}, {"kind": "testing", "name": "质检站"}],
            "heritage": "明清以来"}
    result = {c.key: c for c in evaluate(data).criteria}
    assert [k for k, c in result.items() if c.outcome == "judge"] == [
        "positioning", "employment", "heritage", "brands_standards", "platforms", "business_environment"]
    assert not any(c.hard for c in result.values() if c.outcome == "judge")
    assert result["employment"].reason.zh == "带动就业 3200 人，本地务工 2800 人，人均年收入 52000 元；由评审判断"
    assert result["brands_standards"].reason.zh == (
        "品牌 2 个（国家级 0、省级 1、市级 1），主导制定标准 1 项、参与制定 0 项；由评审判断")
    assert result["platforms"].reason.zh == "具备 2 类公共服务平台功能（共 10 类）：检验检测、电子商务；由评审判断"
    assert result["heritage"].reason.zh == "已说明历史传承，由评审判断"
    assert result["positioning"].reason.zh == "由评审判断。主导产业：装备制造；主导产品：矿山机械"


def test_employment_figures_missing_are_said_so():
    result = criterion({**BASE, "local_workers": None}, "employment")
    assert result.reason.zh == "就业数据不全（带动就业人数：3200；本地务工人数：未填写；人均年收入：52000）；由评审判断"


def test_has_hard_failure_and_the_whole_result():
    result = evaluate(BASE)
    assert not result.has_hard_failure and result.hard_failures == []
    bad = evaluate({**BASE, "output_yi": 8.5, "supporting_enterprises": 9})
    assert bad.has_hard_failure
    assert [c.key for c in bad.hard_failures] == ["agglomeration", "supporting_enterprises"]
    as_dict = bad.as_dict()
    assert as_dict["has_hard_failure"] is True
    assert as_dict["criteria"][0] == {
        "key": "agglomeration", "section": "一", "label": {"zh": "产业集聚", "en": "Industrial agglomeration"},
        "outcome": "fail", "hard": True, "field": "output_yi", "to_confirm": False, "incomplete": False,
        "reason": {"zh": "制造业类主导产业产值 8.50 亿元，低于 10 亿元",
                   "en": "Manufacturing: leading-industry output of 8.50 (100 million yuan) is below 10"}}


def test_invalid_values_count_as_not_given_and_never_break_the_check():
    result = evaluate({"output_yi": "很多", "leading_enterprises": "x", "supporting_enterprises": -3,
                       "platforms": [1, None], "brands": {"a": 1}, "industry_category": "mining"})
    outcomes = {c.key: (c.outcome, c.incomplete) for c in result.criteria}
    assert outcomes["agglomeration"] == ("fail", True)
    assert outcomes["leading_enterprises"] == ("fail", False)
    assert outcomes["supporting_enterprises"] == ("fail", True)
    assert evaluate({}).has_hard_failure


# ---- 优先评定 ---------------------------------------------------------------------------------------------


def test_priority_flags_per_honour_with_the_enterprises():
    data = {**BASE, "leading_enterprises": [
        {"name": "阳泉重工", "honours": ["national_tech_center", "zjtx"]},
        {"name": "华阳新材", "honours": ["zjtx", "single_champion"]},
        {"name": "普通企业", "honours": []}]}
    flags = evaluate(data).priority
    assert [(f.honour, f.enterprises) for f in flags] == [
        ("national_tech_center", ("阳泉重工",)), ("zjtx", ("阳泉重工", "华阳新材")), ("single_champion", ("华阳新材",))]
    assert flags[1].reason.zh == "专精特新：阳泉重工、华阳新材"
    assert flags[0].reason.en == "National enterprise technology centre: 阳泉重工"


@pytest.mark.parametrize("honour", list(application.HONOURS))
def test_every_honour_gives_priority(honour):
    data = {**BASE, "leading_enterprises": [{"name": "甲", "honours": [honour]}]}
    assert [f.honour for f in evaluate(data).priority] == [honour]


def test_no_honours_no_priority():
    assert evaluate(BASE).priority == ()


# ---- the table file -----------------------------------------------------------------------------------------


def test_the_real_table_loads_and_names_every_criterion_of_section_four():
    table = load_table()
    assert [c.section for c in table.criteria] == ["一", "二", "三", "四", "五", "五", "六", "七", "八"]
    assert [c.key for c in table.criteria if c.hard] == ["agglomeration", "leading_enterprises",
                                                         "supporting_enterprises"]
    assert eligibility.default_table() is eligibility.default_table()


def test_designation_accepts_exactly_the_application_fields():
    raw = yaml.safe_load((DEFINITIONS_DIR / "designation.yaml").read_text(encoding="utf-8"))
    edit = next(t for t in raw["transitions"] if t["trigger"] == "edit")
    assert tuple(raw["create_accepts"]) == application.APPLICATION_FIELDS == tuple(edit["accepts"])


BROKEN = """
key: eligibility
version: 1
label: {zh: 认定标准, en: Criteria}
criteria:
  - key: agglomeration
    section: 一
    label: {zh: 产业集聚, en: Agglomeration}
    hard: true
    field: output
    rules:
      - when: {output: {gte: 10}, industry_category: mining}
        outcome: passed
        reason: {zh: "产值 {output_yi} 亿元，{threshold}", en: "output {output_yi:.2f}"}
      - when: {supporting_enterprises: {gte: ten}, has_relaxation_grounds: {gte: 1}}
        outcome: pass
        to_confirm: true
        incomplete: true
        reason: {zh: 达到}
      - outcome: fail
        when: {output_yi: {present: maybe}}
        reason: {zh: 不达标, en: below}
  - key: agglomeration
    label: {zh: 重复, en: Duplicate}
    rules: []
priority:
  label: {zh: 优先评定, en: Priority}
  honours: [zjtx, gold_medal]
  reason: {zh: "{honour}：{enterprise}", en: "{honour}: {enterprises}"}
"""


def test_a_broken_table_fails_to_load_naming_file_and_key(tmp_path):
    path = tmp_path / "eligibility.yaml"
    path.write_text(BROKEN, encoding="utf-8")
    with pytest.raises(EligibilityError) as raised:
        load_table(path)
    rule0 = "eligibility.yaml: criteria[0] (agglomeration).rules[0]"
    rule1 = "eligibility.yaml: criteria[0] (agglomeration).rules[1]"
    assert raised.value.errors == [
        "eligibility.yaml: criteria[0] (agglomeration).field: unknown application field 'output'",
        f"{rule0}.when.output: unknown fact (known: average_income, brands, brands_city, brands_national, "
        "brands_province, business_environment, county_share_pct, has_relaxation_grounds, heritage, "
        "industry_category, jobs, leading_enterprises, leading_industry, local_workers, main_products, output_yi, "
        "platforms, relaxation_basis, standards, standards_joined, standards_led, supporting_enterprises)",
        f"{rule0}.when.industry_category.eq: unknown choice 'mining' (one of manufacturing, agriculture, "
        "light_industry)",
        f"{rule0}.outcome: must be one of pass, fail, judge",
        f"{rule0}.reason.zh: unknown placeholder {{threshold}} (known: average_income, basis, brands, brands_city, "
        "brands_national, brands_province, business_environment, category, county_share_pct, "
        "has_relaxation_grounds, heritage, industry_category, jobs, leading_enterprises, leading_industry, "
        "local_workers, main_products, output_yi, platform_list, platforms, relaxation_basis, standards, "
        "standards_joined, standards_led, supporting_enterprises)",
        f"{rule0}.reason.en: placeholder {{output_yi}} takes no format",
        f"{rule1}.when.supporting_enterprises.gte: must be a number, not 'ten'",
        f"{rule1}.when.has_relaxation_grounds.gte: operator 'gte' does not apply to a bool fact",
        f"{rule1}.incomplete: only a fail can be marked incomplete",
        f"{rule1}.reason.en: missing",
        "eligibility.yaml: criteria[0] (agglomeration).rules[2].when.output_yi.present: must be true or false",
        "eligibility.yaml: criteria[0] (agglomeration).rules[2].when: the last rule is the 'otherwise' row and "
        "has no conditions",
        "eligibility.yaml: criteria[1].key: criterion 'agglomeration' defined twice",
        "eligibility.yaml: criteria[1] (agglomeration).hard: must be true or false (does failing it refuse "
        "submission?)",
        "eligibility.yaml: criteria[1] (agglomeration).rules: must be a non-empty list",
        "eligibility.yaml: priority.honours: unknown honour 'gold_medal' (one of national_tech_center, "
        "provincial_tech_center, national_eng_center, provincial_eng_center, zjtx, little_giant, "
        "single_champion, dragon_head)",
        "eligibility.yaml: priority.reason.zh: unknown placeholder {enterprise} (known: enterprises, honour)",
    ]
    assert str(raised.value).startswith("eligibility.yaml: criteria[0] (agglomeration).field:")


@pytest.mark.parametrize(("text", "error"), [
    ("criteria: [", "eligibility.yaml: (file): not valid YAML"),
    ("- a\n- b\n", "eligibility.yaml: (file): must be a mapping"),
    ("key: rules\nversion: 0\nlabel: {zh: x, en: y}\ncriteria: []\npriority: {}\n",
     "eligibility.yaml: key: must be 'eligibility'"),
])
def test_unreadable_tables(text, error):
    with pytest.raises(EligibilityError) as raised:
        parse_table(text, "eligibility.yaml")
    assert raised.value.errors[0].startswith(error)


def test_a_rule_without_conditions_before_the_last_is_refused():
    table = (DEFINITIONS_DIR / "eligibility.yaml").read_text(encoding="utf-8")
    broken = table.replace("      - when: {leading_enterprises: {gte: 1}}\n        outcome: pass",
                           "      - outcome: pass")
    assert broken != table
    with pytest.raises(EligibilityError) as raised:
        parse_table(broken, "eligibility.yaml")
    assert raised.value.errors == [
        "eligibility.yaml: criteria[4] (leading_enterprises).rules[0].when: missing (the rules after it could "
        "never apply)"]


def test_a_missing_table_file_is_named(tmp_path):
    with pytest.raises(EligibilityError) as raised:
        load_table(tmp_path / "eligibility.yaml")
    assert raised.value.errors[0].startswith("eligibility.yaml: (file): cannot read")


# Every other load-time check of the table, each with the line it must produce (the table is refused whole).
BROKEN_ELSEWHERE = """
key: eligibility
version: true
colour: red
label: {zh: 认定标准}
criteria:
  - just a string
  - key: 2nd
    section: 一
    label: {zh: 标签, en: Label, fr: Étiquette}
    hard: true
    weight: 3
    rules:
      - not a rule
      - when: []
        outcome: pass
        colour: red
        field: output
        to_confirm: maybe
        reason: {zh: "产值 {output_yi", en: fine}
      - when: {category: manufacturing}
        outcome: judge
        to_confirm: true
        reason: {zh: 甲, en: a}
      - when: {output_yi: {}, jobs: {gte: true}, has_relaxation_grounds: {eq: 1}}
        outcome: judge
        reason: {zh: 乙, en: b}
      - when: {industry_category: {in: []}, relaxation_basis: {in: geographical_indication}}
        outcome: judge
        reason: {zh: 丙, en: c}
      - when: {}
        outcome: judge
        reason: {zh: 丁, en: d}
      - outcome: judge
        reason: {zh: 戊, en: e}
priority:
  label: {zh: 优先评定, en: Priority}
  honours: []
  extra: 1
  reason: {zh: "{honour}", en: "{honour}"}
"""


def test_every_other_broken_part_of_the_table_is_named():
    with pytest.raises(EligibilityError) as raised:
        parse_table(BROKEN_ELSEWHERE, "eligibility.yaml")
    c1 = "eligibility.yaml: criteria[1] (2nd)"
    assert raised.value.errors == [
        "eligibility.yaml: colour: unknown key",
        "eligibility.yaml: version: must be a positive integer",
        "eligibility.yaml: label.en: missing",
        "eligibility.yaml: criteria[0]: must be a mapping",
        "eligibility.yaml: criteria[1].key: must be an identifier",
        f"{c1}.weight: unknown key",
        f"{c1}.rules[0]: must be a mapping",
        f"{c1}.rules[1].colour: unknown key",
        f"{c1}.rules[1].when: must be a mapping of facts to conditions",
        f"{c1}.rules[1].to_confirm: must be true or false",
        f"{c1}.rules[1].field: unknown application field 'output'",
        f"{c1}.rules[1].reason.zh: not a valid template: expected '}}' before end of string",
        f"{c1}.rules[2].when.category: unknown fact (known: average_income, brands, brands_city, brands_national, "
        "brands_province, business_environment, county_share_pct, has_relaxation_grounds, heritage, "
        "industry_category, jobs, leading_enterprises, leading_industry, local_workers, main_products, output_yi, "
        "platforms, relaxation_basis, standards, standards_joined, standards_led, supporting_enterprises)",
        f"{c1}.rules[2].to_confirm: only a pass can be marked to_confirm",
        f"{c1}.rules[3].when.output_yi: empty condition",
        f"{c1}.rules[3].when.jobs.gte: must be a number, not True",
        f"{c1}.rules[3].when.has_relaxation_grounds.eq: must be true or false",
        f"{c1}.rules[4].when.industry_category.in: must be a non-empty list of choices",
        f"{c1}.rules[4].when.relaxation_basis.in: must be a non-empty list of choices",
        f"{c1}.rules[5].when: must be a mapping of facts to conditions",
        f"{c1}.rules: a hard criterion needs a rule that fails",
        f"{c1}.label.fr: unknown key",
        "eligibility.yaml: priority.extra: unknown key",
        "eligibility.yaml: priority.honours: must be a non-empty list",
    ]


@pytest.mark.parametrize(("text", "errors"), [
    ("key: eligibility\nversion: 2\nlabel: {zh: a, en: b}\ncriteria: {a: 1}\n",
     ["eligibility.yaml: criteria: must be a non-empty list",
      "eligibility.yaml: priority: missing (label, honours, reason)"]),
    ("key: eligibility\nversion: -1\nlabel: {zh: a, en: b}\ncriteria: []\npriority: [a]\n",
     ["eligibility.yaml: version: must be a positive integer",
      "eligibility.yaml: criteria: must be a non-empty list",
      "eligibility.yaml: priority: missing (label, honours, reason)"]),
])
def test_a_table_without_criteria_or_priority_is_refused(text, errors):
    with pytest.raises(EligibilityError) as raised:
        parse_table(text, "eligibility.yaml")
    assert raised.value.errors == errors
