"""definitions/project_rules.yaml: when a key project's quarterly update is due, when a project is stalled."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

import yaml

from workflow.core.definitions import DefinitionError
from workflow.core.yamlcheck import Checker

PATH = Path(__file__).resolve().parents[2] / "definitions" / "project_rules.yaml"


@dataclass(frozen=True)
class ProjectRules:
    update_working_days: int  # a quarter's update is due this many working days after the quarter ends
    stalled_quarters: int  # no stage change and no new completed investment for this many whole quarters


def parse_rules(text: str, filename: str) -> ProjectRules:
    """The rules from the file's text; DefinitionError naming every problem."""
    check = Checker(filename)
    raw = yaml.safe_load(text)
    if not isinstance(raw, dict):
        raise DefinitionError([f"{filename}: (file): must be a mapping"])
    check.unknown_keys(raw, {"version", "label", "update_working_days", "stalled_quarters"})
    check.label(raw.get("label"), "label")
    found = {}
    for key, top in (("update_working_days", 60), ("stalled_quarters", 20)):
        value = raw.get(key)
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= top:
            check.error(key, f"must be a whole number from 1 to {top}")
            value = 1
        found[key] = value
    if check.errors:
        raise DefinitionError(check.errors)
    return ProjectRules(**found)


@cache
def project_rules() -> ProjectRules:
    return parse_rules(PATH.read_text(encoding="utf-8"), PATH.name)
