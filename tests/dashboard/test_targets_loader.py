"""The targets file's loader, shape by shape: what a well-formed target becomes, and for each way a person can get
the file wrong, the exact line that tells them where and what (file: key: problem). A period is found for a day
the way the dashboard asks for it."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from workflow.core.yamlcheck import Label
from workflow.dashboard import targets as targets_module
from workflow.dashboard.targets import Period, Source, Target, TargetsError, parse_targets, period_for

HEAD = "key: targets\nversion: 1\nlabel: {zh: 目标, en: Targets}\n"
PERIOD = ('  - key: "2026-2030"\n    label: {zh: 十五五, en: 15th plan}\n    start: 2026-01-01\n    end: 2030-12-31\n'
          '    document: 某政办发〔2026〕1号\n')
TOWNS = "{kind: registry_count, levels: [municipal]}"


def target(source: str = TOWNS, extra: str = "", key: str = "towns") -> str:
    return (f"      - key: {key}\n        label: {{zh: 市级专业镇, en: Towns}}\n        unit: {{zh: 个, en: towns}}\n"
            f"        value: 3\n        source: {source}\n{extra}")


def doc(*targets: str, period: str = PERIOD) -> str:
    return HEAD + "periods:\n" + period + "    targets:\n" + "".join(targets or (target(),))


def errors(text: str) -> list[str]:
    with pytest.raises(TargetsError) as bad:
        parse_targets(text, "t.yaml")
    return bad.value.errors


def test_a_well_formed_period_keeps_every_part_of_each_target():
    (period,) = parse_targets(doc(
        target(),
        target("{kind: statistics_sum, field: output_yi}", key="output",
               extra="        counties: {盂县: 40, 平定县: 25.5}\n"),
        target("{kind: statistics_items, field: standards, where: {kind: [national, industry], role: lead}}",
               key="standards")), "t.yaml")
    assert (period.key, period.label, period.start, period.end, period.document) == (
        "2026-2030", Label("十五五", "15th plan"), date(2026, 1, 1), date(2030, 12, 31), "某政办发〔2026〕1号")
    towns, output, standards = period.targets
    assert towns == Target("towns", Label("市级专业镇", "Towns"), Label("个", "towns"), Decimal(3),
                           Source("registry_count", levels=("municipal",)))
    assert output.source == Source("statistics_sum", field="output_yi")
    assert output.counties == (("盂县", Decimal(40)), ("平定县", Decimal("25.5")))
    assert output.county_value("平定县") == Decimal("25.5") and output.county_value(None) is None
    assert standards.source == Source("statistics_items", field="standards",
                                      where=(("kind", ("national", "industry")), ("role", ("lead",))))
    assert period.target("standards") is standards and period.target("nothing") is None


@pytest.mark.parametrize(("source", "expected"), [
    ("[registry_count]", ["source: must be a mapping with a kind"]),
    ("{kind: registry_count, levels: [municipal], field: output_yi}", ["source.field: unknown key"]),
    ("{kind: registry_count, levels: {a: 1}}",
     ["source.levels: must be a name or a list of names",
      "source.levels: must name at least one level of definitions/town.yaml"]),
    ("{kind: registry_count, levels: [municipal, capital, village]}",
     ["source.levels: not a level of definitions/town.yaml: capital, village"]),
    ("{kind: statistics_sum, field: output_yi, where: {level: national}}", ["source.where: unknown key"]),
    ("{kind: statistics_sum, field: brands}", ["source.field: must be a number of definitions/statistics.yaml"]),
    ("{kind: statistics_items, field: output_yi}",
     ["source.field: must be a list of items of definitions/statistics.yaml"]),
    ("{kind: statistics_items, field: brands, where: [level]}",
     ["source.where: must be a mapping of item keys to allowed values"]),
    ("{kind: statistics_items, field: brands, where: {name: x, colour: red, level: [national, global]}}",
     ["source.where.name: not a choice of the items of brands", "source.where.colour: not a choice of the items "
      "of brands", "source.where.level: must list values among municipal, national, provincial"]),
    ("{kind: statistics_items, field: brands, where: {level: []}}",
     ["source.where.level: must list values among municipal, national, provincial"]),
    ("{kind: statistics_items, field: brands, where: {level: {a: b}}}",
     ["source.where.level: must be a name or a list of names",
      "source.where.level: must list values among municipal, national, provincial"]),
])
def test_each_wrong_source_is_named(source, expected):
    assert errors(doc(target(source))) == [f"t.yaml: periods[0].targets[0].{e}" for e in expected]


@pytest.mark.parametrize(("lines", "expected"), [
    ("        counties: []\n", ["counties: must map county names to numbers"]),
    ("        counties: {}\n", ["counties: must map county names to numbers"]),
    ("        counties: {盂县: -1, 平定县: yes}\n", ["counties.盂县: must be a number of at least 0",
                                                   "counties.平定县: must be a number of at least 0"]),
])
def test_each_wrong_county_share_is_named(lines, expected):
    assert errors(doc(target(extra=lines))) == [f"t.yaml: periods[0].targets[0].{e}" for e in expected]


def test_each_wrong_part_of_a_target_is_named():
    broken = ("      - just a name\n"
              "      - key: Towns\n        label: {zh: 镇}\n        unit: 个\n        value: true\n"
              f"        source: {TOWNS}\n"
              "      - key: towns\n        label: {zh: 镇, en: Towns}\n        unit: {zh: 个, en: towns}\n"
              f"        value: -2\n        source: {TOWNS}\n"
              "      - key: towns\n        label: {zh: 镇, en: Towns}\n        unit: {zh: 个, en: towns}\n"
              f"        source: {TOWNS}\n")
    assert errors(doc(broken)) == [
        "t.yaml: periods[0].targets[0]: must be a mapping",
        "t.yaml: periods[0].targets[1].key: must be a lower-case identifier, used once in the period",
        "t.yaml: periods[0].targets[1].label.en: missing label",
        "t.yaml: periods[0].targets[1].unit: missing label (needs zh and en)",
        "t.yaml: periods[0].targets[1].value: must be a number of at least 0",
        "t.yaml: periods[0].targets[2].value: must be a number of at least 0",
        "t.yaml: periods[0].targets[3].key: must be a lower-case identifier, used once in the period",
        "t.yaml: periods[0].targets[3].value: must be a number of at least 0",
    ]


def test_each_wrong_part_of_a_period_is_named():
    periods = ("  - 2026-2030\n"
               '  - key: "2026"\n    label: {en: Plan}\n    start: soon\n    colour: red\n    document: ""\n'
               "    targets: []\n"
               '  - key: "2026-2026"\n    label: {zh: 一年, en: One year}\n    start: 2026-06-30\n    end: 2026-06-30\n'
               f"    document: 文\n    targets:\n{target()}"
               '  - key: "2026-2030"\n    label: {zh: 甲, en: A}\n    start: 2026-01-01\n    end: 2030-12-31\n'
               f"    document: 文\n    targets:\n{target()}"
               '  - key: "2030-2035"\n    label: {zh: 乙, en: B}\n    start: 2030-12-31\n    end: 2035-12-31\n'
               f"    document: 文\n    targets:\n{target()}"
               '  - key: "2026-2030"\n    label: {zh: 丙, en: C}\n    start: 2031-01-01\n    end: 2035-12-31\n'
               f"    document: 文\n    targets:\n{target()}")
    assert errors(HEAD + "periods:\n" + periods) == [
        "t.yaml: periods[0]: must be a mapping",
        "t.yaml: periods[1].colour: unknown key",
        "t.yaml: periods[1].key: must be the years as YYYY-YYYY, used once",
        "t.yaml: periods[1].label.zh: missing label",
        "t.yaml: periods[1].start: must be a date (YYYY-MM-DD)",
        "t.yaml: periods[1].end: must be a date (YYYY-MM-DD)",
        "t.yaml: periods[1].document: must name the document that sets the targets",
        "t.yaml: periods[1].targets: must be a non-empty list",
        "t.yaml: periods[2].end: must be after start",
        "t.yaml: periods[4].start: must be after the end of period 2026-2030",
        "t.yaml: periods[5].key: must be the years as YYYY-YYYY, used once",
    ]


def test_the_file_s_own_keys_are_checked():
    assert errors("key: targets\nversion: true\nlabel: {zh: 目标}\nowner: me\nperiods: {a: 1}\n") == [
        "t.yaml: owner: unknown key",
        "t.yaml: version: must be a whole number of at least 1",
        "t.yaml: label.en: missing label",
        "t.yaml: periods: must be a non-empty list",
    ]
    assert errors("key: targets\nversion: 1.5\nlabel: {zh: 目标, en: Targets}\nperiods: []\n") == [
        "t.yaml: version: must be a whole number of at least 1", "t.yaml: periods: must be a non-empty list"]


def _period(key: str, start: date, end: date) -> Period:
    return Period(key, Label(key, key), start, end, "文")


def test_the_period_of_a_day_is_the_one_it_falls_in_else_the_nearest_end(monkeypatch):
    # three periods with a gap between the first two, as a city may have set them
    first, second, third = (_period("2021-2022", date(2021, 1, 1), date(2022, 12, 31)),
                            _period("2024-2025", date(2024, 1, 1), date(2025, 12, 31)),
                            _period("2026-2030", date(2026, 1, 1), date(2030, 12, 31)))
    monkeypatch.setattr(targets_module, "plan_periods", lambda: (first, second, third))
    assert period_for(date(2024, 1, 1)) is second  # its first day
    assert period_for(date(2025, 12, 31)) is second  # its last day
    assert period_for(date(2020, 6, 1)) is first  # before the first: the first
    assert period_for(date(2023, 6, 1)) is third  # in the gap: the last
    assert period_for(date(2031, 1, 1)) is third  # after the last: the last
    assert period_for(date(2000, 1, 1), "2024-2025") is second
    assert period_for(date(2024, 1, 1), "2099-2100") is None
