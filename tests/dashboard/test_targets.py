"""definitions/targets.yaml: the plan's targets by period, loaded and checked; a broken file names every problem
exactly (file: key: problem), as the definitions' loader does."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from workflow.dashboard.targets import TargetsError, parse_targets, plan_periods

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "targets"


def test_the_plan_s_targets_and_the_next_period_are_read_from_definitions():
    first, second = plan_periods()
    assert (first.key, first.start, first.end) == ("2023-2025", date(2023, 1, 1), date(2025, 12, 31))
    assert {t.key: (t.value, t.source.kind) for t in first.targets} == {
        "provincial_towns": (2, "registry_count"), "municipal_towns": (10, "registry_count"),
        "total_output": (300, "statistics_sum"), "cluster_brands": (2, "statistics_items"),
        "industry_standards": (3, "statistics_items")}
    assert first.target("cluster_brands").source.where == (("level", ("national",)),)
    assert first.target("industry_standards").source.where == (("kind", ("industry", "national")),)
    assert first.target("municipal_towns").source.levels == (
        "municipal", "recommended_provincial", "provincial", "revocation_proposed", "revocation_decision")
    assert (second.key, second.start, second.end) == ("2026-2030", date(2026, 1, 1), date(2030, 12, 31))
    assert second.target("total_output").county_value("盂县") == Decimal("120")
    assert second.target("cluster_brands").county_value("盂县") is None


@pytest.mark.parametrize(("fixture", "errors"), [
    ("unknown_level.yaml", [
        "unknown_level.yaml: periods[0].targets[0].source.levels: not a level of definitions/town.yaml: national"]),
    ("wrong_fields.yaml", [
        "wrong_fields.yaml: periods[0].targets[0].source.field: must be a number of definitions/statistics.yaml",
        "wrong_fields.yaml: periods[0].targets[1].source.where.level: must list values among municipal, national, "
        "provincial",
        "wrong_fields.yaml: periods[0].targets[1].source.where.colour: not a choice of the items of brands",
        "wrong_fields.yaml: periods[0].targets[2].source.kind: must be one of registry_count, statistics_sum, "
        "statistics_items"]),
    ("bad_periods.yaml", [
        "bad_periods.yaml: periods[1].label.en: missing label",
        "bad_periods.yaml: periods[1].start: must be after the end of period 2023-2025",
        "bad_periods.yaml: periods[1].document: must name the document that sets the targets",
        "bad_periods.yaml: periods[1].targets[0].value: must be more than 0",
        "bad_periods.yaml: periods[1].targets[0].counties.盂县: must be a number of at least 0",
        "bad_periods.yaml: periods[1].targets[1].deadline: unknown key",
        "bad_periods.yaml: periods[1].targets[1].key: must be a lower-case identifier, used once in the period",
        "bad_periods.yaml: periods[2].end: must be after start",
        "bad_periods.yaml: periods[2].targets: must be a non-empty list",
        "bad_periods.yaml: periods[3].key: must be the years of its start and end: 2031-2036",
        "bad_periods.yaml: periods[3].targets[0].source.levels: must name at least one level of "
        "definitions/town.yaml"]),
])
def test_a_broken_file_names_every_problem(fixture, errors):
    with pytest.raises(TargetsError) as bad:
        parse_targets((FIXTURES / fixture).read_text(encoding="utf-8"), fixture)
    assert bad.value.errors == errors


def test_a_file_that_is_not_yaml_or_not_a_mapping():
    with pytest.raises(TargetsError) as bad:
        parse_targets((FIXTURES / "invalid_yaml.yaml").read_text(encoding="utf-8"), "invalid_yaml.yaml")
    assert bad.value.errors[0].startswith("invalid_yaml.yaml: (file): not valid YAML")
    with pytest.raises(TargetsError) as bad:
        parse_targets("- a list\n", "list.yaml")
    assert bad.value.errors == ["list.yaml: (file): must be a mapping"]
    with pytest.raises(TargetsError) as bad:
        parse_targets("key: goals\nversion: 0\nlabel: {zh: 目标, en: Targets}\nperiods: []\n", "empty.yaml")
    assert bad.value.errors == ["empty.yaml: key: must be 'targets'", "empty.yaml: version: must be a whole number "
                                "of at least 1", "empty.yaml: periods: must be a non-empty list"]
