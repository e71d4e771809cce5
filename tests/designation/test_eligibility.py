"""The eligibility decision table (definitions/eligibility.yaml) at every edge of the plan's section 四."""

from __future__ import annotations

from decimal import Decimal

import pytest
import yaml

from workflow.core import profile
from workflow.core.definitions import DEFINITIONS_DIR
from workflow.designation import application, eligibility
from workflow.designation.eligibility import TABLE_PATH, EligibilityError, evaluate, load_table, parse_table

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
    data = {**BASE, "brands": [{"name": "娘子关砂器", "level": "province"}, {"name": "X", "level": "city"},
                               {"name": "平定刀具", "level": "city"}, {"name": "盂县小米", "level": "city"}],
            "standards": [{"name": "T/YQ 001", "level": "local", "role": "led"}],
            "platforms": [{"kind": "ecommerce", "name": "电商中心"}, {"kind": "testing", "name": "质检站"}],
            "heritage": "明清以来"}
    result = {c.key: c for c in evaluate(data).criteria}
    assert [k for k, c in result.items() if c.outcome == "judge"] == [
        "positioning", "employment", "heritage", "brands_standards", "platforms", "business_environment"]
    assert not any(c.hard for c in result.values() if c.outcome == "judge")
    assert result["employment"].reason.zh == "带动就业 3200 人，本地务工 2800 人，人均年收入 52000 元；由评审判断"
    assert result["brands_standards"].reason.zh == (
        "品牌 4 个（国家级 0、省级 1、市级 3），主导制定标准 1 项、参与制定 0 项；由评审判断")
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


# ---- the table's operators and displays, on a table of our own ---------------------------------------------

OWN_TABLE = """
key: eligibility
version: 3
label: {zh: 测试标准, en: Test criteria}
criteria:
  - key: figures
    label: {zh: 数字, en: Figures}
    hard: true
    field: jobs
    rules:
      - when: {jobs: {gt: 100, lte: 200}}
        outcome: pass
        reason: {zh: "就业 {jobs} 人", en: "{jobs} jobs"}
      - when: {jobs: {lt: 50}}
        outcome: judge
        field: local_workers
        reason: {zh: 少, en: few}
      - when: {jobs: 300}
        outcome: judge
        reason: {zh: 正好三百, en: exactly 300}
      - when: {jobs: {missing: true}}
        outcome: fail
        incomplete: true
        reason: {zh: 未填, en: not given}
      - outcome: fail
        reason: {zh: "其他 {jobs}", en: "other {jobs}"}
  - key: flags
    label: {zh: 标志, en: Flags}
    hard: false
    rules:
      - when: {has_relaxation_grounds: true, heritage: {present: false}}
        outcome: pass
        to_confirm: true
        reason: {zh: 有理由无传承, en: grounds without heritage}
      - when: {industry_category: [agriculture, light_industry], relaxation_basis: {present: true}}
        outcome: judge
        reason: {zh: 农业或轻工且放宽, en: farm or craft relaxed}
      - outcome: judge
        reason:
          zh: "{category}/{basis}/{platform_list}/{has_relaxation_grounds}/{heritage}/{output_yi}"
          en: "{category}/{basis}/{platform_list}/{has_relaxation_grounds}/{heritage}/{output_yi}"
priority:
  label: {zh: 优先, en: First}
  honours: [zjtx, dragon_head]
  reason: {zh: "{honour}：{enterprises}", en: "{honour}: {enterprises}"}
"""


@pytest.fixture(scope="module")
def own_table():
    return parse_table(OWN_TABLE, "own.yaml")


def _outcome(table, data, key="figures"):
    found = next(c for c in evaluate(data, table).criteria if c.key == key)
    return found.outcome, found.reason.zh, found.field, found.to_confirm, found.incomplete


@pytest.mark.parametrize(("jobs", "expected"), [
    (100, ("fail", "其他 100", "jobs", False, False)),  # gt is strict
    (101, ("pass", "就业 101 人", "jobs", False, False)),
    (200, ("pass", "就业 200 人", "jobs", False, False)),  # lte includes the edge
    (201, ("fail", "其他 201", "jobs", False, False)),
    (49, ("judge", "少", "local_workers", False, False)),  # a rule's own field wins over the criterion's
    (50, ("fail", "其他 50", "jobs", False, False)),  # lt is strict
    (300, ("judge", "正好三百", "jobs", False, False)),  # a bare value means eq
    (301, ("fail", "其他 301", "jobs", False, False)),
    (None, ("fail", "未填", "jobs", False, True)),  # no number compares: only `missing` holds
])
def test_every_comparison_at_its_edge(own_table, jobs, expected):
    assert _outcome(own_table, {"jobs": jobs}) == expected


def test_true_false_present_and_lists_of_choices(own_table):
    grounds = {"relaxation_grounds": "历史悠久"}
    assert _outcome(own_table, grounds, "flags")[:4] == ("pass", "有理由无传承", None, True)
    assert _outcome(own_table, {**grounds, "heritage": "明清"}, "flags")[0:2] != ("pass", "有理由无传承")
    relaxed = {"industry_category": "light_industry", "relaxation_basis": "market_share"}
    assert _outcome(own_table, relaxed, "flags")[:2] == ("judge", "农业或轻工且放宽")
    assert _outcome(own_table, {**relaxed, "industry_category": "manufacturing"}, "flags")[1] != "农业或轻工且放宽"
    assert _outcome(own_table, {**relaxed, "relaxation_basis": "none"}, "flags")[1] != "农业或轻工且放宽"


def test_what_a_reason_shows_for_facts_not_given(own_table):
    shown = next(c for c in evaluate({}, own_table).criteria if c.key == "flags").reason
    assert shown.zh == "未填写/未填写/无/否/未填写/未填写"
    assert shown.en == "not given/not given/none/no/not given/not given"


def test_what_a_reason_shows_for_facts_given(own_table):
    text = "盂县" * 31  # 62 characters: a reason shows the first 60 and an ellipsis
    data = {"industry_category": "manufacturing", "relaxation_basis": "geographical_indication",
            "relaxation_grounds": "国家地理标志产品", "heritage": text, "output_yi": 12.5,
            "platforms": [{"kind": "testing"}, {"kind": "ecommerce", "name": "电商中心"}]}
    shown = next(c for c in evaluate(data, own_table).criteria if c.key == "flags").reason
    assert shown.zh == f"制造业/地理标志/检验检测、电子商务/是/{text[:60]}…/12.50"
    assert shown.en == ("Manufacturing/Geographical indication/Testing and inspection, E-commerce/yes/"
                        f"{text[:60]}…/12.50")
    exactly_sixty = next(c for c in evaluate({**data, "heritage": text[:60]}, own_table).criteria
                         if c.key == "flags").reason
    assert exactly_sixty.zh.split("/")[4] == text[:60]
    one_more = next(c for c in evaluate({**data, "heritage": text[:61]}, own_table).criteria if c.key == "flags").reason
    assert one_more.zh.split("/")[4] == f"{text[:60]}…"


def test_the_table_read_is_what_the_file_says(own_table):
    assert (own_table.key, own_table.version, own_table.label.zh, own_table.path) == ("eligibility", 3, "测试标准",
                                                                                     "own.yaml")
    assert [(c.key, c.section, c.hard) for c in own_table.criteria] == [("figures", "", True), ("flags", "", False)]
    assert own_table.priority_honours == ("zjtx", "dragon_head")
    assert (own_table.priority_label.zh, own_table.priority_label.en) == ("优先", "First")
    real = load_table()
    assert (real.key, real.version, real.path, real.priority_label.zh) == ("eligibility", 1, "eligibility.yaml",
                                                                          "优先评定")


def test_the_priority_flags_and_counts_in_the_result(own_table):
    data = {"jobs": 150, "leading_enterprises": [{"name": "甲厂", "honours": ["zjtx", "dragon_head"]},
                                                 {"name": "乙厂", "honours": ["zjtx"]}]}
    result = evaluate(data, own_table)
    assert result.counts == {"pass": 1, "fail": 0, "judge": 1}
    assert (result.priority_label.zh, result.priority_label.en) == ("优先", "First")
    assert result.as_dict()["priority"] == [
        {"honour": "zjtx", "label": {"zh": "专精特新", "en": "Specialised and innovative SME (专精特新)"},
         "enterprises": ["甲厂", "乙厂"],
         "reason": {"zh": "专精特新：甲厂、乙厂", "en": "Specialised and innovative SME (专精特新): 甲厂, 乙厂"}},
        {"honour": "dragon_head", "label": {"zh": "龙头企业", "en": "Leading (dragon-head) enterprise"},
         "enterprises": ["甲厂"],
         "reason": {"zh": "龙头企业：甲厂", "en": "Leading (dragon-head) enterprise: 甲厂"}}]
    assert [f.label.zh for f in result.priority] == ["专精特新", "龙头企业"]


def test_the_submit_check_applies_the_hard_criteria_only(own_table):
    data = {"jobs": 150, "leading_enterprises": [{"name": "甲厂", "honours": ["zjtx"]}]}
    result = evaluate(data, own_table, hard_only=True)
    assert [c.key for c in result.criteria] == ["figures"] and result.priority == ()
    real = evaluate(BASE, hard_only=True)
    assert [c.key for c in real.criteria] == ["agglomeration", "leading_enterprises", "supporting_enterprises"]


def test_the_facts_counted_from_an_application():
    facts = eligibility.facts_of({
        "brands": [{"name": "甲", "level": "national"}, {"name": "乙", "level": "province"},
                   {"name": "丙", "level": "city"}, {"name": "丁", "level": "city"}],
        "standards": [{"name": "T/1", "role": "led"}, {"name": "T/2", "role": "joined"},
                      {"name": "T/3", "role": "joined"}],
        "average_income": 52000.5})
    assert {k: facts[k] for k in ("brands", "brands_national", "brands_province", "brands_city", "standards",
                                  "standards_led", "standards_joined")} == {
        "brands": 4, "brands_national": 1, "brands_province": 1, "brands_city": 2, "standards": 3,
        "standards_led": 1, "standards_joined": 2}
    employment = criterion({**BASE, "average_income": 52000.5}, "employment")
    assert employment.reason.zh == "带动就业 3200 人，本地务工 2800 人，人均年收入 52000.50 元；由评审判断"


def test_the_error_lists_its_problems_one_per_line():
    error = EligibilityError(["a.yaml: x: bad", "a.yaml: y: worse"])
    assert str(error) == "a.yaml: x: bad\na.yaml: y: worse"


# Each of these conditions is wrong twice over; both mistakes are named, not just the first.
TWICE_WRONG = """
key: eligibility
version: 1
label: {zh: 认定标准, en: Criteria}
criteria:
  - key: twice
    label: {zh: 两次, en: Twice}
    hard: true
    rules:
      - when:
          bogus: 1
          also_bogus: 2
          output_yi: {present: maybe, missing: perhaps}
          jobs: {gte: ten, lt: many}
          has_relaxation_grounds: {eq: 1, present: 2}
          industry_category: {in: [], eq: mining, gt: 1}
          leading_industry: {eq: 装备, in: [a]}
        outcome: fail
        reason: {zh: "{{注}} {threshold}", en: ok}
      - outcome: pass
        reason: {zh: 通过, en: pass}
priority:
  label: {zh: 优先评定, en: Priority}
  honours: [zjtx]
  reason: {zh: "{honour}", en: "{honour}"}
"""


def test_every_mistake_in_a_condition_is_named():
    with pytest.raises(EligibilityError) as raised:
        parse_table(TWICE_WRONG, "eligibility.yaml")
    when = "eligibility.yaml: criteria[0] (twice).rules[0].when"
    known = ("average_income, brands, brands_city, brands_national, brands_province, business_environment, "
             "county_share_pct, has_relaxation_grounds, heritage, industry_category, jobs, leading_enterprises, "
             "leading_industry, local_workers, main_products, output_yi, platforms, relaxation_basis, standards, "
             "standards_joined, standards_led, supporting_enterprises")
    assert raised.value.errors[:13] == [
        f"{when}.bogus: unknown fact (known: {known})",
        f"{when}.also_bogus: unknown fact (known: {known})",
        f"{when}.output_yi.present: must be true or false",
        f"{when}.output_yi.missing: must be true or false",
        f"{when}.jobs.gte: must be a number, not 'ten'",
        f"{when}.jobs.lt: must be a number, not 'many'",
        f"{when}.has_relaxation_grounds.eq: must be true or false",
        f"{when}.has_relaxation_grounds.present: must be true or false",
        f"{when}.industry_category.in: must be a non-empty list of choices",
        f"{when}.industry_category.eq: unknown choice 'mining' (one of manufacturing, agriculture, light_industry)",
        f"{when}.industry_category.gt: operator 'gt' does not apply to a choice fact",
        f"{when}.leading_industry.eq: operator 'eq' does not apply to a text fact",
        f"{when}.leading_industry.in: operator 'in' does not apply to a text fact",
    ]
    assert raised.value.errors[13].startswith(
        "eligibility.yaml: criteria[0] (twice).rules[0].reason.zh: unknown placeholder {threshold}")
    assert len(raised.value.errors) == 14


def test_the_table_is_read_as_utf8_whatever_the_locale(tmp_path):
    """A server started with LANG=C (or a GBK locale) reads the same table."""
    import subprocess
    import sys

    env = {k: v for k, v in __import__("os").environ.items() if not k.startswith(("LC_", "LANG", "PYTHONUTF8"))}
    env.update({"LC_ALL": "C", "PYTHONCOERCECLOCALE": "0", "PYTHONUTF8": "0"})
    done = subprocess.run([sys.executable, "-c", "from workflow.designation.eligibility import load_table; "
                           "print(load_table().criteria[0].label.zh.encode('unicode_escape').decode())"],
                          env=env, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "\\u4ea7\\u4e1a\\u96c6\\u805a"  # 产业集聚


# ---- named thresholds, and a city profile that sets them differently ---------------------------------------

EXAMPLE = DEFINITIONS_DIR / "profiles" / "example.yaml"


def test_the_table_names_the_plans_thresholds():
    table = load_table()
    assert {t.name: t.value for t in table.thresholds} == {
        "output_manufacturing": 10, "output_other": 2, "output_relaxed": Decimal("0.5"), "supporting_enterprises": 10}
    assert table.thresholds[0].label.zh == "制造业主导产业产值（亿元）"
    assert all(isinstance(t.value, Decimal) for t in table.thresholds)


def test_under_the_example_profile_manufacturing_needs_eight_not_ten():
    nine = {**BASE, "output_yi": 9}
    yangquan = criterion(nine, "agglomeration")
    assert (yangquan.outcome, yangquan.reason.zh) == ("fail", "制造业类主导产业产值 9.00 亿元，低于 10 亿元")
    assert evaluate(nine, hard_only=True).has_hard_failure
    city = profile.use_profile(EXAMPLE)
    assert city.thresholds == {"output_manufacturing": Decimal(8)}
    jinzhong = criterion(nine, "agglomeration")
    assert (jinzhong.outcome, jinzhong.reason.zh) == ("pass", "制造业类主导产业产值 9.00 亿元，达到 8 亿元")
    assert jinzhong.reason.en == "Manufacturing: leading-industry output of 9.00 (100 million yuan) reaches 8"
    assert not evaluate(nine, hard_only=True).has_hard_failure
    below = criterion({**BASE, "output_yi": 7.99}, "agglomeration")
    assert (below.outcome, below.reason.zh) == ("fail", "制造业类主导产业产值 7.99 亿元，低于 8 亿元")
    # what the profile leaves alone keeps the table's value
    farm = criterion({**BASE, "industry_category": "agriculture", "output_yi": 1.99}, "agglomeration")
    assert farm.reason.zh == "特优农业类主导产业产值 1.99 亿元，低于 2 亿元"
    profile.use_profile(None)
    assert criterion(nine, "agglomeration").outcome == "fail"


def test_the_table_is_built_once_per_profile():
    yangquan = eligibility.default_table()
    assert eligibility.table_for(profile.profile()) is yangquan
    city = profile.use_profile(EXAMPLE)
    jinzhong = eligibility.default_table()
    assert jinzhong is not yangquan and jinzhong is eligibility.table_for(city)
    assert {t.name: t.value for t in jinzhong.thresholds}["output_manufacturing"] == 8
    assert jinzhong.path == "eligibility.yaml"
    assert profile.use_profile(EXAMPLE) is not city and eligibility.default_table() is not jinzhong  # a new reading
    profile.use_profile(None)
    assert eligibility.default_table() is yangquan


def test_a_profile_naming_a_threshold_the_table_does_not_define_is_refused():
    text = EXAMPLE.read_text(encoding="utf-8").replace("output_manufacturing: 8", "output_mining: 8")
    city = profile.parse_profile(text, str(EXAMPLE))  # the core knows no table: a name and a positive number
    with pytest.raises(EligibilityError) as raised:
        eligibility.table_for(city)
    assert raised.value.errors == [
        "example.yaml: thresholds.output_mining: the eligibility table (eligibility.yaml) has no threshold "
        "output_mining (defined: output_manufacturing, output_other, output_relaxed, supporting_enterprises)"]
    profile.use_profile(city)
    with pytest.raises(EligibilityError, match="output_mining"):
        evaluate(BASE)


@pytest.mark.parametrize(("value", "problem"), [
    (0, "must be a positive number, not 0"),
    (-1, "must be a positive number, not -1"),
    (True, "must be a positive number, not True"),
    ("8", "must be a positive number, not '8'"),
    (Decimal("0"), "must be a positive number, not Decimal('0')"),
    (Decimal("NaN"), "must be a positive number, not Decimal('NaN')"),
])
def test_an_override_that_is_not_a_positive_number_is_refused(value, problem):
    with pytest.raises(EligibilityError) as raised:
        load_table(overrides={"output_other": value}, overrides_file="city.yaml")
    assert raised.value.errors == [f"city.yaml: thresholds.output_other: {problem}"]


def test_an_override_given_without_its_file_is_named_as_the_city_profiles():
    for read in (lambda overrides: load_table(overrides=overrides),
                 lambda overrides: parse_table(TABLE_PATH.read_text("utf-8"), "eligibility.yaml", overrides)):
        with pytest.raises(EligibilityError) as raised:
            read({"output_other": 0})
        assert raised.value.errors == ["profile.yaml: thresholds.output_other: must be a positive number, not 0"]


def test_every_wrong_override_is_named():
    with pytest.raises(EligibilityError) as raised:
        load_table(overrides={"jobs_min": 1, "output_other": 0, "supporting_enterprises": 12, "output_relaxed": -1},
                   overrides_file="city.yaml")
    assert [e.split(": ", 2)[1] for e in raised.value.errors] == [
        "thresholds.jobs_min", "thresholds.output_other", "thresholds.output_relaxed"]


@pytest.mark.parametrize(("value", "shown"), [
    (Decimal("8"), "8"), (Decimal("8.0"), "8"), (Decimal("0.80"), "0.8"), (100, "100"), (2.5, "2.5"),
])
def test_an_overridden_threshold_reads_as_the_plan_writes_numbers(value, shown):
    table = load_table(overrides={"output_relaxed": value, "supporting_enterprises": 12})
    assert {t.name: t.value for t in table.thresholds}["output_relaxed"] == Decimal(str(value))
    relaxed = evaluate({**BASE, **RELAXED, "output_yi": 0.1}, table).criteria[0]
    assert relaxed.reason.zh == f"主导产业产值 0.10 亿元，低于放宽认定的最低标准 {shown} 亿元"
    supporting = evaluate({**BASE, "supporting_enterprises": 11}, table).criteria[5]
    assert (supporting.outcome, supporting.reason.zh) == ("fail", "上下游配套企业 11 户，少于 12 户")


THRESHOLD_TABLE = """
key: eligibility
version: 1
label: {zh: 测试标准, en: Test criteria}
thresholds:
  jobs_min:
    value: 100
    label: {zh: 最少就业, en: Fewest jobs}
  jobs_max: {value: 200.5, label: {zh: 最多就业, en: Most jobs}}
criteria:
  - key: figures
    label: {zh: 数字, en: Figures}
    hard: true
    rules:
      - when: {jobs: {gte: $jobs_min, lt: $jobs_max}}
        outcome: pass
        reason: {zh: "就业 {jobs} 人，{{不少于}} {$jobs_min} 人", en: "{jobs} jobs, {{at least}} {$jobs_min}"}
      - outcome: fail
        reason: {zh: "就业 {jobs} 人，须在 {$jobs_min} 至 {$jobs_max} 之间", en: "between {$jobs_min} and {$jobs_max}"}
priority:
  label: {zh: 优先, en: First}
  honours: [zjtx]
  reason: {zh: "{honour}", en: "{honour}"}
"""


def test_conditions_and_reasons_use_the_thresholds_values():
    table = parse_table(THRESHOLD_TABLE, "eligibility.yaml")
    assert [(t.name, t.value, t.label.en) for t in table.thresholds] == [
        ("jobs_min", 100, "Fewest jobs"), ("jobs_max", Decimal("200.5"), "Most jobs")]
    assert [c.value for c in table.criteria[0].rules[0].when] == [100, Decimal("200.5")]

    def figures(jobs, t=table):
        return evaluate({"jobs": jobs}, t).criteria[0]

    assert (figures(100).outcome, figures(100).reason.zh) == ("pass", "就业 100 人，{不少于} 100 人")
    assert figures(100).reason.en == "100 jobs, {at least} 100"
    assert (figures(99).outcome, figures(99).reason.zh) == ("fail", "就业 99 人，须在 100 至 200.5 之间")
    assert figures(201).outcome == "fail" and figures(200).outcome == "pass"
    moved = parse_table(THRESHOLD_TABLE, "eligibility.yaml", {"jobs_min": 50}, "city.yaml")
    assert (figures(60, moved).outcome, figures(60, moved).reason.en) == ("pass", "60 jobs, {at least} 50")


def test_a_table_without_thresholds_has_none():
    assert parse_table(OWN_TABLE, "eligibility.yaml").thresholds == ()
    with pytest.raises(EligibilityError) as raised:
        parse_table(OWN_TABLE.replace("{gt: 100, lte: 200}", "{gt: $jobs_min}"), "eligibility.yaml")
    assert raised.value.errors == ["eligibility.yaml: criteria[0] (figures).rules[0].when.jobs.gt: unknown threshold "
                                   "$jobs_min (defined: none)"]
    with pytest.raises(EligibilityError) as raised:
        parse_table(OWN_TABLE, "eligibility.yaml", {"jobs_min": 5}, "city.yaml")
    assert raised.value.errors == [
        "city.yaml: thresholds.jobs_min: the eligibility table (eligibility.yaml) has no threshold jobs_min "
        "(defined: none)"]


BROKEN_THRESHOLDS = THRESHOLD_TABLE.replace("""  jobs_max: {value: 200.5, label: {zh: 最多就业, en: Most jobs}}
""", """  jobs_max: {value: 200.5, label: {zh: 最多就业, en: Most jobs}}
  2nd: {value: 1, label: {zh: 二, en: two}}
  zero: {value: 0, label: {zh: 零, en: zero}, unit: 人}
  flag: {value: true, label: {zh: 旗}}
  plain: 5
  idle: {value: 3, label: {zh: 闲, en: idle}}
""").replace("{gte: $jobs_min, lt: $jobs_max}", "{gte: $jobs_min, lt: $job_max, lte: $zero, gt: $plain}").replace(
    "须在 {$jobs_min} 至 {$jobs_max} 之间", "须在 {$jobs_min!r} 至 {$jobs_top} 之间 {$flag}{$zero:>3}").replace(
    'reason: {zh: "{honour}", en: "{honour}"}', 'reason: {zh: "{honour}{$jobs_max}", en: "{honour}"}')


def test_every_mistake_with_a_threshold_is_named():
    with pytest.raises(EligibilityError) as raised:
        parse_table(BROKEN_THRESHOLDS, "eligibility.yaml", {"flag": 2})
    rules = "eligibility.yaml: criteria[0] (figures).rules"
    assert raised.value.errors == [
        "eligibility.yaml: thresholds.2nd: a threshold's name must be an identifier",
        "eligibility.yaml: thresholds.zero.unit: unknown key",
        "eligibility.yaml: thresholds.zero.value: must be a positive number, not 0",
        "eligibility.yaml: thresholds.flag.value: must be a positive number, not True",
        "eligibility.yaml: thresholds.flag.label.en: missing",
        "eligibility.yaml: thresholds.plain: must be a mapping of value and label",
        f"{rules}[0].when.jobs.lt: unknown threshold $job_max (defined: flag, idle, jobs_max, jobs_min, plain, zero)",
        f"{rules}[1].reason.zh: placeholder {{$jobs_min}} takes no format",
        f"{rules}[1].reason.zh: unknown threshold $jobs_top (defined: flag, idle, jobs_max, jobs_min, plain, zero)",
        f"{rules}[1].reason.zh: placeholder {{$zero}} takes no format",  # a threshold refused still is one
        "eligibility.yaml: priority.reason.zh: unknown placeholder {$jobs_max} (known: enterprises, honour)",
        "eligibility.yaml: thresholds.idle: used by no rule",
    ]


@pytest.mark.parametrize(("thresholds", "error"), [
    ("thresholds: [10, 2]\n", "eligibility.yaml: thresholds: must be a mapping of names to {value, label}"),
    ("thresholds:\n", None),
])
def test_the_thresholds_section_is_a_mapping_or_absent(thresholds, error):
    text = OWN_TABLE.replace("criteria:\n", thresholds + "criteria:\n", 1)
    if error is None:
        assert parse_table(text, "eligibility.yaml").thresholds == ()
        return
    with pytest.raises(EligibilityError) as raised:
        parse_table(text, "eligibility.yaml")
    assert raised.value.errors == [error]


def test_a_threshold_is_shown_as_the_reasons_print_it():
    table = load_table(overrides={"output_manufacturing": Decimal("8.0")})
    assert (table.shown("output_manufacturing"), table.shown("output_relaxed"), table.shown("output_other")) == (
        "8", "0.5", "2")
    with pytest.raises(KeyError):
        table.shown("output_mining")


def test_a_priority_without_its_label_is_named():
    text = TABLE_PATH.read_text("utf-8").replace("  label: {zh: 优先评定, en: Priority consideration}\n", "")
    with pytest.raises(EligibilityError) as raised:
        parse_table(text, "eligibility.yaml")
    assert raised.value.errors == ["eligibility.yaml: priority.label: missing (needs zh and en)"]
