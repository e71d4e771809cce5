"""The plan's targets by plan period (definitions/targets.yaml): loaded and checked against the registry's levels
(definitions/town.yaml) and the statistics' fields (definitions/statistics.yaml), every problem listed."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from workflow.core.definitions import DEFINITIONS_DIR
from workflow.core.yamlcheck import Checker, FileErrors, Label, read_mapping

TARGETS_PATH = DEFINITIONS_DIR / "targets.yaml"
KINDS = ("registry_count", "statistics_sum", "statistics_items")
NUMBER_TYPES = ("decimal", "integer")
_KEY = re.compile(r"^[a-z][a-z0-9_]*$")
_PERIOD_KEY = re.compile(r"^[0-9]{4}-[0-9]{4}$")


class TargetsError(FileErrors):
    """Problems in definitions/targets.yaml; `errors` holds `file: key: problem` lines."""


@dataclass(frozen=True)
class Source:
    kind: str  # registry_count | statistics_sum | statistics_items
    levels: tuple[str, ...] = ()  # registry_count: the registry states counted
    field: str | None = None  # statistics_sum, statistics_items: the statistics field
    where: tuple[tuple[str, tuple[str, ...]], ...] = ()  # statistics_items: item key and the values it may have


@dataclass(frozen=True)
class Target:
    key: str
    label: Label
    unit: Label
    value: Decimal
    source: Source
    counties: tuple[tuple[str, Decimal], ...] = ()  # a county's name and its own share of the target

    def county_value(self, name: str | None) -> Decimal | None:
        return dict(self.counties).get(name or "")


@dataclass(frozen=True)
class Period:
    key: str
    label: Label
    start: date
    end: date
    document: str
    targets: tuple[Target, ...] = field(default=())

    def target(self, key: str) -> Target | None:
        return next((t for t in self.targets if t.key == key), None)


@dataclass(frozen=True)
class Vocabulary:
    """What a target may refer to: the registry's levels, and the statistics' fields with their types and the
    choices of their items."""

    levels: frozenset[str]
    fields: dict[str, str]  # key -> type
    choices: dict[str, dict[str, frozenset[str]]]  # items field -> item key -> its choices


def vocabulary(directory: Path = DEFINITIONS_DIR) -> Vocabulary:
    town = yaml.safe_load((directory / "town.yaml").read_text(encoding="utf-8"))
    statistics = yaml.safe_load((directory / "statistics.yaml").read_text(encoding="utf-8"))
    fields = {f["key"]: f["type"] for f in statistics["fields"]}
    choices = {f["key"]: {i["key"]: frozenset(i.get("choices") or {}) for i in f.get("items") or []}
               for f in statistics["fields"] if f["type"] == "items"}
    return Vocabulary(frozenset(town["states"]), fields, choices)


def _number(check: Checker, raw: Any, where: str) -> Decimal | None:
    if isinstance(raw, bool) or not isinstance(raw, int | float) or raw < 0:
        check.error(where, "must be a number of at least 0")
        return None
    return Decimal(str(raw))


def _source(check: Checker, raw: Any, where: str, words: Vocabulary) -> Source | None:
    if not isinstance(raw, dict):
        check.error(where, "must be a mapping with a kind")
        return None
    kind = raw.get("kind")
    if kind not in KINDS:
        check.error(f"{where}.kind", f"must be one of {', '.join(KINDS)}")
        return None
    if kind == "registry_count":
        check.unknown_keys(raw, {"kind", "levels"}, where)
        levels = check.names(raw.get("levels"), f"{where}.levels")
        unknown = [x for x in levels if x not in words.levels]
        if not levels:
            check.error(f"{where}.levels", "must name at least one level of definitions/town.yaml")
        elif unknown:
            check.error(f"{where}.levels", f"not a level of definitions/town.yaml: {', '.join(unknown)}")
        return Source(kind, levels=levels) if levels and not unknown else None
    check.unknown_keys(raw, {"kind", "field"} | ({"where"} if kind == "statistics_items" else set()), where)
    name = raw.get("field")
    wanted = NUMBER_TYPES if kind == "statistics_sum" else ("items",)
    if not isinstance(name, str) or words.fields.get(name) not in wanted:
        what = "a number" if kind == "statistics_sum" else "a list of items"
        check.error(f"{where}.field", f"must be {what} of definitions/statistics.yaml")
        return None
    if kind == "statistics_sum":
        return Source(kind, field=name)
    where_raw = raw.get("where") or {}
    if not isinstance(where_raw, dict):
        check.error(f"{where}.where", "must be a mapping of item keys to allowed values")
        return None
    items = words.choices[name]
    filters: list[tuple[str, tuple[str, ...]]] = []
    ok = True
    for key, values in where_raw.items():
        at = f"{where}.where.{key}"
        if key not in items or not items[key]:
            check.error(at, f"not a choice of the items of {name}")
            ok = False
            continue
        names = check.names(values, at)
        unknown = [v for v in names if v not in items[key]]
        if not names or unknown:
            check.error(at, f"must list values among {', '.join(sorted(items[key]))}")
            ok = False
            continue
        filters.append((str(key), names))
    return Source(kind, field=name, where=tuple(filters)) if ok else None


def _counties(check: Checker, raw: Any, where: str) -> tuple[tuple[str, Decimal], ...]:
    if raw is None:
        return ()
    if not isinstance(raw, dict) or not raw:
        check.error(where, "must map county names to numbers")
        return ()
    found = []
    for name, value in raw.items():
        number = _number(check, value, f"{where}.{name}")
        if number is not None:
            found.append((str(name), number))
    return tuple(found)


def _target(check: Checker, raw: Any, where: str, words: Vocabulary, seen: set[str]) -> Target | None:
    if not isinstance(raw, dict):
        check.error(where, "must be a mapping")
        return None
    check.unknown_keys(raw, {"key", "label", "unit", "value", "source", "counties"}, where)
    key = raw.get("key")
    if not isinstance(key, str) or not _KEY.match(key) or key in seen:
        check.error(f"{where}.key", "must be a lower-case identifier, used once in the period")
        key = None
    else:
        seen.add(key)
    label = check.label(raw.get("label"), f"{where}.label")
    unit = check.label(raw.get("unit"), f"{where}.unit")
    value = _number(check, raw.get("value"), f"{where}.value")
    if value is not None and value == 0:
        check.error(f"{where}.value", "must be more than 0")
        value = None
    source = _source(check, raw.get("source"), f"{where}.source", words)
    counties = _counties(check, raw.get("counties"), f"{where}.counties")
    if key is None or value is None or source is None:
        return None
    return Target(key, label, unit, value, source, counties)


def parse_targets(text: str, filename: str, words: Vocabulary | None = None) -> tuple[Period, ...]:
    """The periods of a targets file, in order; TargetsError with every problem found."""
    words = words or vocabulary()
    check = Checker(filename)
    raw = read_mapping(text, filename, TargetsError)
    check.unknown_keys(raw, {"key", "version", "label", "periods"})
    if raw.get("key") != "targets":
        check.error("key", "must be 'targets'")
    if isinstance(raw.get("version"), bool) or not isinstance(raw.get("version"), int) or raw["version"] < 1:
        check.error("version", "must be a whole number of at least 1")
    check.label(raw.get("label"), "label")
    items = raw.get("periods")
    if not isinstance(items, list) or not items:
        check.error("periods", "must be a non-empty list")
        items = []
    periods: list[Period] = []
    for i, item in enumerate(items):
        where = f"periods[{i}]"
        if not isinstance(item, dict):
            check.error(where, "must be a mapping")
            continue
        check.unknown_keys(item, {"key", "label", "start", "end", "document", "targets"}, where)
        key = item.get("key")
        if not isinstance(key, str) or not _PERIOD_KEY.match(key) or key in {p.key for p in periods}:
            check.error(f"{where}.key", "must be the years as YYYY-YYYY, used once")
            key = None
        label = check.label(item.get("label"), f"{where}.label")
        start, end = item.get("start"), item.get("end")
        dates_ok = True
        for name, value in (("start", start), ("end", end)):
            if not isinstance(value, date):
                check.error(f"{where}.{name}", "must be a date (YYYY-MM-DD)")
                dates_ok = False
        if dates_ok and not start < end:  # type: ignore[operator]  # both are dates here
            check.error(f"{where}.end", "must be after start")
            dates_ok = False
        if dates_ok and periods and start <= periods[-1].end:  # type: ignore[operator]  # both are dates here
            check.error(f"{where}.start", f"must be after the end of period {periods[-1].key}")
            dates_ok = False
        if dates_ok and key is not None and key != f"{start.year}-{end.year}":  # type: ignore[union-attr]  # dates checked above
            check.error(f"{where}.key", f"must be the years of its start and end: {start.year}-{end.year}")  # type: ignore[union-attr]  # dates checked above
            key = None
        document = item.get("document")
        if not isinstance(document, str) or not document.strip():
            check.error(f"{where}.document", "must name the document that sets the targets")
        raw_targets = item.get("targets")
        if not isinstance(raw_targets, list) or not raw_targets:
            check.error(f"{where}.targets", "must be a non-empty list")
            raw_targets = []
        seen: set[str] = set()
        targets = [_target(check, t, f"{where}.targets[{j}]", words, seen) for j, t in enumerate(raw_targets)]
        if key is not None and dates_ok:
            periods.append(Period(key, label, start, end, str(document or ""),  # type: ignore[arg-type]  # dates checked above
                                  tuple(t for t in targets if t is not None)))
    if check.errors:
        raise TargetsError(check.errors)
    return tuple(periods)


@cache
def plan_periods() -> tuple[Period, ...]:
    """The periods of definitions/targets.yaml, in order."""
    return parse_targets(TARGETS_PATH.read_text(encoding="utf-8"), TARGETS_PATH.name)


def period_for(today: date, key: str | None = None) -> Period | None:
    """The period named `key`, or (no key) the one `today` falls in; before the first, the first; after the last,
    the last. None for a key that names no period."""
    periods = plan_periods()
    if key is not None:
        return next((p for p in periods if p.key == key), None)
    return next((p for p in periods if p.start <= today <= p.end),
                periods[0] if today < periods[0].start else periods[-1])
