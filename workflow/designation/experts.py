"""The expert panel of a designation (专家评审): the criteria of definitions/experts.yaml, each expert's scores and
total, and the checks of a recorded panel.

An expert is stored as {"name", "affiliation", "scores": {criterion: points}, "score": total}; a panel recorded
before the criteria (name and score only) stays valid, and `score` is what the average is taken from either way."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, TypeGuard

from workflow.core.reasons import reason
from workflow.core.yamlcheck import Checker, FileErrors, Label, read_mapping

EXPERTS_PATH = Path(__file__).resolve().parents[2] / "definitions" / "experts.yaml"
FULL_MARKS = 100
NAME_MAX = 100
AFFILIATION_MAX = 100


class CriteriaError(FileErrors):
    """Problems in definitions/experts.yaml; `errors` holds `file: key: problem` lines."""


@dataclass(frozen=True)
class Criterion:
    key: str
    label: Label
    max: int


def parse_criteria(text: str, filename: str) -> tuple[Criterion, ...]:
    check = Checker(filename)
    raw = read_mapping(text, filename, CriteriaError)
    check.unknown_keys(raw, {"key", "version", "label", "criteria"})
    if raw.get("key") != "expert_criteria":
        check.error("key", "must be 'expert_criteria'")
    check.label(raw.get("label"), "label")
    found: list[Criterion] = []
    items = raw.get("criteria")
    if not isinstance(items, list) or not items:
        check.error("criteria", "must be a non-empty list")
        items = []
    for i, item in enumerate(items):
        where = f"criteria[{i}]"
        if not isinstance(item, dict):
            check.error(where, "must be a mapping")
            continue
        check.unknown_keys(item, {"key", "label", "max"}, where)
        key, top = item.get("key"), item.get("max")
        if not isinstance(key, str) or not key.isidentifier() or key in {c.key for c in found}:
            check.error(f"{where}.key", "must be an identifier, used once")
            continue
        if isinstance(top, bool) or not isinstance(top, int) or top <= 0:
            check.error(f"{where}.max", "must be a positive whole number")
            continue
        found.append(Criterion(key, check.label(item.get("label"), f"{where}.label"), top))
    if found and sum(c.max for c in found) != FULL_MARKS:
        check.error("criteria", f"the maxima must add up to {FULL_MARKS}")
    if check.errors:
        raise CriteriaError(check.errors)
    return tuple(found)


@cache
def criteria() -> tuple[Criterion, ...]:
    return parse_criteria(EXPERTS_PATH.read_text(encoding="utf-8"), EXPERTS_PATH.name)


def total(scores: dict[str, Any]) -> float:
    """An expert's total: the sum of the criteria's points."""
    return round(sum(float(scores.get(c.key) or 0) for c in criteria()), 2)


def expert(name: str, affiliation: str, scores: dict[str, float]) -> dict[str, Any]:
    """An expert as stored, with the total computed."""
    return {"name": name.strip(), "affiliation": affiliation.strip(), "scores": scores, "score": total(scores)}


def _number(value: Any) -> TypeGuard[int | float]:
    return not isinstance(value, bool) and isinstance(value, int | float)


def problems(experts: Any) -> list[dict[str, Any]]:
    """What is wrong with a panel as recorded (each reason names the expert); [] when it may be kept."""
    if not isinstance(experts, list) or not experts:
        return [reason("请至少录入一位专家", "record at least one expert", "experts")]
    found = []
    for i, entry in enumerate(experts, 1):
        if not isinstance(entry, dict) or not str(entry.get("name") or "").strip():
            found.append(reason(f"第 {i} 位专家缺少姓名", f"expert {i} has no name", "experts"))
            continue
        name = str(entry["name"])
        if len(name) > NAME_MAX or len(str(entry.get("affiliation") or "")) > AFFILIATION_MAX:
            found.append(reason(f"专家“{name[:NAME_MAX]}”的姓名或单位过长",
                                f"the name or affiliation of {name[:NAME_MAX]} is too long", "experts"))
        scores = entry.get("scores")
        if scores is not None:
            own = _score_problems(name, scores)
            if not own and "score" in entry and entry["score"] != total(scores):
                own.append(reason(f"专家“{name}”的总分应为各项得分之和（{total(scores):g}）",
                                    f"the total of {name} must be the sum of the scores ({total(scores):g})",
                                    "experts"))
            found += own
            continue
        score = entry.get("score")
        if not _number(score) or not 0 <= score <= FULL_MARKS:
            found.append(reason(f"专家“{name}”的评分必须在 0 到 100 之间",
                                f"score of {name} must be between 0 and 100", "experts"))
    return found


def _score_problems(name: str, scores: Any) -> list[dict[str, Any]]:
    if not isinstance(scores, dict):
        return [reason(f"专家“{name}”的各项得分格式不正确", f"the scores of {name} must be a mapping", "experts")]
    known = {c.key for c in criteria()}
    found = [reason(f"专家“{name}”的评分项“{k}”不存在", f"{name}: unknown criterion {k}", "experts")
             for k in scores if k not in known]
    for c in criteria():
        value = scores.get(c.key)
        if not _number(value) or not 0 <= value <= c.max:
            found.append(reason(f"专家“{name}”的“{c.label.zh}”得分必须在 0 到 {c.max} 之间",
                                f"{name}: {c.label.en} must be between 0 and {c.max}", "experts"))
    return found


def score_of(entry: Any) -> float | None:
    """An expert's total: the stored one, else the sum of the scores."""
    if not isinstance(entry, dict):
        return None
    if _number(entry.get("score")):
        return float(entry["score"])
    if isinstance(entry.get("scores"), dict):
        return total(entry["scores"])
    return None
