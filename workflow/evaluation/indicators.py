"""The annual evaluation's indicators (definitions/evaluation.yaml): loaded and checked, every problem listed as
`file: key: problem` — the points add up (the groups to the total, each group's indicators to the group), every
provider is known, every statistics field exists and is a number, every scoring rule is complete and ascending, the
ranking's rules name what exists.

The member units a file may name as providers are declared in it (`providers`, with the duty that makes each the
provider); that they are units of the annex is checked against the units themselves (`unknown_units`: by the
tests against the reference list, by the campaign against the database's units), since this package may not import
the seed data (which imports other processes)."""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from workflow.core.definitions import DEFINITIONS_DIR
from workflow.core.yamlcheck import Checker, FileErrors, Label, read_mapping

EVALUATION_PATH = DEFINITIONS_DIR / "evaluation.yaml"
RULES = ("linear", "steps", "yes_no", "growth", "target_share")
OWN_PROVIDERS = ("county", "statistics", "office")  # any other provider is a member unit named under `providers`
NUMBER_TYPES = ("decimal", "integer")
MAX_ORDER_DAYS = 120  # a 督办 order's deadline: at most about half a year of working days
PERCENT = Label("%", "%")
_KEY = re.compile(r"^[a-z][a-z0-9_]*$")


class EvaluationError(FileErrors):
    """Problems in definitions/evaluation.yaml; `errors` holds `file: key: problem` lines."""


@dataclass(frozen=True)
class Step:
    at: Decimal  # the threshold (a value, or a growth in percent) reached at or above it
    points: Decimal


@dataclass(frozen=True)
class Rule:
    kind: str  # linear | steps | yes_no | growth | target_share
    low: Decimal | None = None  # linear
    high: Decimal | None = None  # linear
    steps: tuple[Step, ...] = ()  # steps, growth: ascending
    floor: Decimal = Decimal(0)  # target_share: the share (percent) below which nothing is scored


@dataclass(frozen=True)
class Indicator:
    key: str
    group: str
    label: Label
    points: Decimal
    provider: str  # county | statistics | office | a member unit's name
    field: str | None  # provider statistics: the field of definitions/statistics.yaml
    unit: Label | None  # None for yes_no
    rule: Rule
    evidence: Label
    clause: str


@dataclass(frozen=True)
class Group:
    key: str
    label: Label
    points: Decimal
    indicators: tuple[Indicator, ...]


@dataclass(frozen=True)
class TieBreaker:
    kind: str  # group (its points) | indicator (its points) | value (an indicator's value)
    key: str


@dataclass(frozen=True)
class Ranking:
    tie_breakers: tuple[TieBreaker, ...]
    praise_top: int | None  # the top N …
    praise_share: Decimal | None  # … or the top share (0.2 is 20 %), rounded down, at least one
    praise_min_total: Decimal  # and only a total at least this
    supervise_bottom: int
    revoke_bottom_years: int | None  # supervised so many years running, this year included
    revoke_below: Decimal | None  # or a total below this
    supervise_working_days: int = 30  # the 督办 order's deadline, in working days from the ranking's approval


@dataclass(frozen=True)
class EvaluationSpec:
    version: int
    label: Label
    document: str
    total: Decimal
    providers: tuple[tuple[str, Label], ...]  # member unit, its duty
    groups: tuple[Group, ...]
    ranking: Ranking

    @property
    def indicators(self) -> tuple[Indicator, ...]:
        return tuple(i for g in self.groups for i in g.indicators)

    def indicator(self, key: str) -> Indicator | None:
        return next((i for i in self.indicators if i.key == key), None)

    def group(self, key: str) -> Group | None:
        return next((g for g in self.groups if g.key == key), None)


@dataclass(frozen=True)
class Vocabulary:
    """What the file may refer to: the statistics' fields, each with its type and unit."""

    fields: dict[str, tuple[str, Label | None]]


def vocabulary(directory: Path = DEFINITIONS_DIR) -> Vocabulary:
    statistics = yaml.safe_load((directory / "statistics.yaml").read_text(encoding="utf-8"))
    fields = {}
    for f in statistics["fields"]:
        unit = f.get("unit")
        fields[f["key"]] = (f["type"], Label(unit["zh"], unit["en"]) if isinstance(unit, dict) else None)
    return Vocabulary(fields)


def _number(check: Checker, raw: Any, where: str, *, positive: bool = False) -> Decimal | None:
    if isinstance(raw, bool) or not isinstance(raw, int | float) or not math.isfinite(raw):
        check.error(where, "must be a number")  # .nan and .inf are floats to YAML, not numbers to score with
        return None
    number = Decimal(str(raw))
    if positive and number <= 0:
        check.error(where, "must be more than 0")
        return None
    return number


def _is_points(raw: Any) -> bool:
    return not isinstance(raw, bool) and isinstance(raw, int | float) and math.isfinite(raw) and raw > 0


def _whole(check: Checker, raw: Any, where: str) -> int | None:
    if isinstance(raw, bool) or not isinstance(raw, int) or raw < 1:
        check.error(where, "must be a whole number of at least 1")
        return None
    return raw


def _steps(check: Checker, raw: Any, where: str, points: Decimal | None) -> tuple[Step, ...] | None:
    if not isinstance(raw, list) or not raw:
        check.error(where, "must be a non-empty list of {at, points}")
        return None
    steps: list[Step] = []
    for i, item in enumerate(raw):
        at = f"{where}[{i}]"
        if not isinstance(item, dict):
            check.error(at, "must be a mapping with at and points")
            return None
        check.unknown_keys(item, {"at", "points"}, at)
        threshold = _number(check, item.get("at"), f"{at}.at")
        value = _number(check, item.get("points"), f"{at}.points", positive=True)
        if threshold is None or value is None:
            return None
        if steps and threshold <= steps[-1].at:
            check.error(f"{at}.at", f"must be above the step before ({steps[-1].at})")
            return None
        if steps and value <= steps[-1].points:
            check.error(f"{at}.points", f"must be above the step before ({steps[-1].points})")
            return None
        if points is not None and value > points:
            check.error(f"{at}.points", f"must not be above the indicator's points ({points})")
            return None
        steps.append(Step(threshold, value))
    if points is not None and steps[-1].points != points:
        check.error(f"{where}[{len(steps) - 1}].points",
                    f"the highest step must give the indicator's points ({points})")
        return None
    return tuple(steps)


def _rule(check: Checker, raw: Any, where: str, points: Decimal | None) -> Rule | None:
    if not isinstance(raw, dict):
        check.error(where, "must be a mapping with a kind")
        return None
    kind = raw.get("kind")
    if kind not in RULES:
        check.error(f"{where}.kind", f"must be one of {', '.join(RULES)}")
        return None
    if kind == "linear":
        check.unknown_keys(raw, {"kind", "low", "high"}, where)
        low, high = _number(check, raw.get("low"), f"{where}.low"), _number(check, raw.get("high"), f"{where}.high")
        if low is None or high is None:
            return None
        if low >= high:
            check.error(f"{where}.high", f"must be above low ({low})")
            return None
        return Rule(kind, low=low, high=high)
    if kind in ("steps", "growth"):
        check.unknown_keys(raw, {"kind", "steps"}, where)
        steps = _steps(check, raw.get("steps"), f"{where}.steps", points)
        return Rule(kind, steps=steps) if steps else None
    if kind == "target_share":
        check.unknown_keys(raw, {"kind", "floor"}, where)
        floor = _number(check, raw.get("floor", 0), f"{where}.floor")
        if floor is None:
            return None
        if not Decimal(0) <= floor < Decimal(100):
            check.error(f"{where}.floor", "must be a percentage from 0 to below 100")
            return None
        return Rule(kind, floor=floor)
    check.unknown_keys(raw, {"kind"}, where)
    return Rule(kind)


def _indicator(check: Checker, raw: Any, where: str, group: str, words: Vocabulary, providers: set[str],
               seen: set[str]) -> Indicator | None:
    if not isinstance(raw, dict):
        check.error(where, "must be a mapping")
        return None
    check.unknown_keys(raw, {"key", "label", "points", "provider", "field", "unit", "rule", "evidence", "clause"},
                       where)
    ok = True
    key = raw.get("key")
    if not isinstance(key, str) or not _KEY.match(key) or key in seen:
        check.error(f"{where}.key", "must be a lower-case identifier, used once in the file")
        ok = False
    else:
        seen.add(key)
    label = check.label(raw.get("label"), f"{where}.label")
    points = _number(check, raw.get("points"), f"{where}.points", positive=True)
    provider = raw.get("provider")
    field_name = raw.get("field")
    unit: Label | None = None
    if provider == "statistics":
        kind, unit = words.fields.get(field_name, (None, None)) if isinstance(field_name, str) else (None, None)
        if kind not in NUMBER_TYPES:
            check.error(f"{where}.field", "must be a number of definitions/statistics.yaml")
            ok = False
    elif isinstance(provider, str) and (provider in OWN_PROVIDERS or provider in providers):
        if "field" in raw:
            check.error(f"{where}.field", "only a value of provider statistics names a field")
            ok = False
    else:
        check.error(f"{where}.provider",
                    f"must be one of {', '.join(OWN_PROVIDERS)} or a member unit named under providers")
        ok = False
    rule = _rule(check, raw.get("rule"), f"{where}.rule", points)
    kind = raw["rule"].get("kind") if isinstance(raw.get("rule"), dict) else None
    if kind == "yes_no":
        if "unit" in raw:
            check.error(f"{where}.unit", "a yes or no has no unit")
            ok = False
    elif kind in RULES and ("unit" in raw or provider != "statistics"):
        unit = check.label(raw.get("unit"), f"{where}.unit", "a number needs its unit")
    evidence = check.label(raw.get("evidence"), f"{where}.evidence", "must say the evidence required")
    clause = raw.get("clause")
    if not isinstance(clause, str) or not clause.strip():
        check.error(f"{where}.clause", "must name the plan clause the indicator serves")
        ok = False
    if not ok or points is None or rule is None:
        return None
    assert isinstance(key, str) and isinstance(provider, str) and isinstance(clause, str)
    return Indicator(key, group, label, points, provider, field_name if provider == "statistics" else None, unit,
                     rule, evidence, clause)


def _ranking(check: Checker, raw: Any, spec_groups: dict[str, Group], indicators: dict[str, Indicator]) -> Ranking:
    where = "ranking"
    if not isinstance(raw, dict):
        check.error(where, "must be a mapping with tie_breakers, praise, supervise and revoke")
        raw = {}
    check.unknown_keys(raw, {"tie_breakers", "praise", "supervise", "revoke"}, where)
    breakers: list[TieBreaker] = []
    items = raw.get("tie_breakers", [])
    if not isinstance(items, list):
        check.error(f"{where}.tie_breakers", "must be a list")
        items = []
    for i, item in enumerate(items):
        at = f"{where}.tie_breakers[{i}]"
        if not isinstance(item, dict) or len(item) != 1 or next(iter(item)) not in ("group", "indicator", "value"):
            check.error(at, "must be one of {group: KEY}, {indicator: KEY}, {value: KEY}")
            continue
        kind, key = next(iter(item.items()))
        if kind == "group" and (not isinstance(key, str) or key not in spec_groups):
            check.error(f"{at}.group", "must be a group of the file")
        elif kind != "group" and (not isinstance(key, str) or key not in indicators):
            check.error(f"{at}.{kind}", "must be an indicator of the file")
        elif kind == "value" and indicators[key].rule.kind == "yes_no":
            check.error(f"{at}.value", "must be an indicator with a number for its value")
        elif TieBreaker(kind, key) in breakers:
            check.error(at, "is already a tie-breaker")
        else:
            breakers.append(TieBreaker(kind, key))
    praise = raw.get("praise")
    top: int | None = None
    share: Decimal | None = None
    min_total = Decimal(0)
    if not isinstance(praise, dict) or ("top" in praise) == ("top_share" in praise):
        check.error(f"{where}.praise", "must give either top (a number of towns) or top_share")
    else:
        check.unknown_keys(praise, {"top", "top_share", "min_total"}, f"{where}.praise")
        if "top" in praise:
            top = _whole(check, praise["top"], f"{where}.praise.top")
        else:
            share = _number(check, praise["top_share"], f"{where}.praise.top_share")
            if share is not None and not Decimal(0) < share < Decimal(1):
                check.error(f"{where}.praise.top_share", "must be a share above 0 and below 1 (0.2 is 20 %)")
        min_total = _number(check, praise.get("min_total", 0), f"{where}.praise.min_total") or Decimal(0)
    supervise = raw.get("supervise")
    bottom = days = None
    if not isinstance(supervise, dict):
        check.error(f"{where}.supervise", "must give bottom (a number of towns)")
    else:
        check.unknown_keys(supervise, {"bottom", "working_days"}, f"{where}.supervise")
        bottom = _whole(check, supervise.get("bottom"), f"{where}.supervise.bottom")
        if "working_days" in supervise:
            days = _whole(check, supervise["working_days"], f"{where}.supervise.working_days")
            if days is not None and days > MAX_ORDER_DAYS:
                check.error(f"{where}.supervise.working_days", f"must be at most {MAX_ORDER_DAYS} working days")
    revoke = raw.get("revoke")
    years: int | None = None
    below: Decimal | None = None
    if not isinstance(revoke, dict) or not ({"bottom_years", "below"} & set(revoke)):
        check.error(f"{where}.revoke", "must give bottom_years, below or both")
    else:
        check.unknown_keys(revoke, {"bottom_years", "below"}, f"{where}.revoke")
        if "bottom_years" in revoke:
            years = _whole(check, revoke["bottom_years"], f"{where}.revoke.bottom_years")
        if "below" in revoke:
            below = _number(check, revoke["below"], f"{where}.revoke.below", positive=True)
    return Ranking(tuple(breakers), top, share, min_total, bottom or 0, years, below, days or 30)


def parse_evaluation(text: str, filename: str, words: Vocabulary | None = None) -> EvaluationSpec:
    """The indicators and ranking rules of an evaluation file; EvaluationError with every problem found."""
    words = words or vocabulary()
    check = Checker(filename)
    raw = read_mapping(text, filename, EvaluationError)
    check.unknown_keys(raw, {"key", "version", "label", "document", "total", "providers", "groups", "ranking"})
    if raw.get("key") != "evaluation":
        check.error("key", "must be 'evaluation'")
    version = raw.get("version")
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        check.error("version", "must be a whole number of at least 1")
        version = 0
    label = check.label(raw.get("label"), "label")
    document = raw.get("document")
    if not isinstance(document, str) or not document.strip():
        check.error("document", "must name the document the evaluation follows")
    total = _number(check, raw.get("total"), "total", positive=True)
    providers: list[tuple[str, Label]] = []
    raw_providers = raw.get("providers") or {}
    if not isinstance(raw_providers, dict):
        check.error("providers", "must map member units' names to their duty")
        raw_providers = {}
    for name, duty in raw_providers.items():
        if name in OWN_PROVIDERS:
            check.error(f"providers.{name}", "is not a member unit")
            continue
        providers.append((str(name), check.label(duty, f"providers.{name}", "must say the unit's duty in the plan")))
    names = {n for n, _ in providers}
    groups: list[Group] = []
    seen: set[str] = set()
    raw_groups = raw.get("groups")
    if not isinstance(raw_groups, list) or not raw_groups:
        check.error("groups", "must be a non-empty list")
        raw_groups = []
    for i, g in enumerate(raw_groups):
        where = f"groups[{i}]"
        if not isinstance(g, dict):
            check.error(where, "must be a mapping")
            continue
        check.unknown_keys(g, {"key", "label", "points", "indicators"}, where)
        key = g.get("key")
        if not isinstance(key, str) or not _KEY.match(key) or key in {x.key for x in groups}:
            check.error(f"{where}.key", "must be a lower-case identifier, used once")
            continue
        group_label = check.label(g.get("label"), f"{where}.label")
        points = _number(check, g.get("points"), f"{where}.points", positive=True)
        raw_items = g.get("indicators")
        if not isinstance(raw_items, list) or not raw_items:
            check.error(f"{where}.indicators", "must be a non-empty list")
            raw_items = []
        found = [_indicator(check, item, f"{where}.indicators[{j}]", key, words, names, seen)
                 for j, item in enumerate(raw_items)]
        indicators = tuple(x for x in found if x is not None)
        each = [item.get("points") if isinstance(item, dict) else None for item in raw_items]
        if points is not None and each and all(_is_points(x) for x in each):
            added = sum((Decimal(str(x)) for x in each), Decimal(0))
            if added != points:
                check.error(f"{where}.points", f"is {points}, its indicators' points add up to {added}")
        groups.append(Group(key, group_label, points or Decimal(0), indicators))
    if total is not None and groups and len(groups) == len(raw_groups) and all(g.points for g in groups):
        added = sum((g.points for g in groups), Decimal(0))
        if added != total:
            check.error("total", f"is {total}, the groups' points add up to {added}")
    used = {item.get("provider") for g in raw_groups if isinstance(g, dict) and isinstance(g.get("indicators"), list)
            for item in g["indicators"] if isinstance(item, dict) and isinstance(item.get("provider"), str)}
    for name, _ in providers:
        if name not in used:
            check.error(f"providers.{name}", "provides no indicator")
    ranking = _ranking(check, raw.get("ranking"), {g.key: g for g in groups},
                       {x.key: x for g in groups for x in g.indicators})
    if check.errors:
        raise EvaluationError(check.errors)
    assert total is not None and isinstance(document, str)
    return EvaluationSpec(version, label, document, total, tuple(providers), tuple(groups), ranking)


@cache
def evaluation_spec() -> EvaluationSpec:
    """The indicators as shipped (definitions/evaluation.yaml), checked once per process."""
    return parse_evaluation(EVALUATION_PATH.read_text(encoding="utf-8"), EVALUATION_PATH.name)


def unknown_units(spec: EvaluationSpec, units: Iterable[str]) -> list[str]:
    """The providers the file names that are not among `units` (the member units' names), in the file's order."""
    known = set(units)
    return [name for name, _ in spec.providers if name not in known]
