"""The kinds of finding an inspection commonly records (definitions/findings.yaml)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

from workflow.core.yamlcheck import Checker, FileErrors, Label, read_mapping

FINDINGS_PATH = Path(__file__).resolve().parents[2] / "definitions" / "findings.yaml"
SEVERITY_KEYS = ("low", "medium", "high")


class FindingTypesError(FileErrors):
    """Problems in definitions/findings.yaml; `errors` holds `file: key: problem` lines."""


@dataclass(frozen=True)
class FindingType:
    key: str
    label: Label
    severity: str


def parse_types(text: str, filename: str) -> tuple[FindingType, ...]:
    check = Checker(filename)
    raw = read_mapping(text, filename, FindingTypesError)
    check.unknown_keys(raw, {"key", "version", "label", "types"})
    if raw.get("key") != "finding_types":
        check.error("key", "must be 'finding_types'")
    check.label(raw.get("label"), "label")
    found: list[FindingType] = []
    items = raw.get("types")
    if not isinstance(items, list) or not items:
        check.error("types", "must be a non-empty list")
        items = []
    for i, item in enumerate(items):
        where = f"types[{i}]"
        if not isinstance(item, dict):
            check.error(where, "must be a mapping")
            continue
        check.unknown_keys(item, {"key", "label", "severity"}, where)
        key = item.get("key")
        if not isinstance(key, str) or not key.isidentifier() or key in {t.key for t in found}:
            check.error(f"{where}.key", "must be an identifier, used once")
            continue
        if item.get("severity") not in SEVERITY_KEYS:
            check.error(f"{where}.severity", f"must be one of {', '.join(SEVERITY_KEYS)}")
            continue
        found.append(FindingType(key, check.label(item.get("label"), f"{where}.label"), item["severity"]))
    if check.errors:
        raise FindingTypesError(check.errors)
    return tuple(found)


@cache
def finding_types() -> tuple[FindingType, ...]:
    return parse_types(FINDINGS_PATH.read_text(encoding="utf-8"), FINDINGS_PATH.name)


def by_key(key: object) -> FindingType | None:
    return next((t for t in finding_types() if t.key == key), None)
