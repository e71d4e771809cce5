"""The fields of the annual statistics report (definitions/statistics.yaml): loading with every problem named, and
the checks a report's figures pass — each value against its field, the required ones before submit, and the
figures that moved too far from the town's last accepted report (anomalies, to be explained)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from functools import cache
from pathlib import Path
from typing import Any

from workflow.core.yamlcheck import Checker, FileErrors, Label, read_mapping

STATISTICS_PATH = Path(__file__).resolve().parents[2] / "definitions" / "statistics.yaml"
TYPES = ("decimal", "integer", "items")
ITEM_TYPES = ("text", "choice")
MAX_ITEMS = 50
DECIMALS = 2  # 亿元 and 万元 to the cent of their unit


class StatisticsError(FileErrors):
    """Problems in definitions/statistics.yaml; `errors` holds `file: key: problem` lines."""


@dataclass(frozen=True)
class ItemField:
    key: str
    label: Label
    type: str  # text | choice
    max_length: int = 100
    choices: tuple[tuple[str, Label], ...] = ()


@dataclass(frozen=True)
class Field:
    key: str
    group: str
    label: Label
    type: str  # decimal | integer | items
    unit: Label | None
    min: Decimal | None
    max: Decimal | None
    required: bool
    clause: str
    items: tuple[ItemField, ...] = ()

    @property
    def is_number(self) -> bool:
        return self.type in ("decimal", "integer")


@dataclass(frozen=True)
class Group:
    key: str
    label: Label
    fields: tuple[Field, ...]


@dataclass(frozen=True)
class StatisticsSpec:
    version: int
    label: Label
    groups: tuple[Group, ...]
    max_change: Decimal
    min_base: Decimal

    @property
    def fields(self) -> tuple[Field, ...]:
        return tuple(f for g in self.groups for f in g.fields)

    def field(self, key: str) -> Field | None:
        return next((f for f in self.fields if f.key == key), None)


def _number(check: Checker, raw: Any, where: str) -> Decimal | None:
    if raw is None:
        return None
    if isinstance(raw, bool) or not isinstance(raw, int | float):
        check.error(where, "must be a number")
        return None
    return Decimal(str(raw))


def _item_fields(check: Checker, raw: Any, where: str) -> tuple[ItemField, ...]:
    if not isinstance(raw, list) or not raw:
        check.error(where, "must be a non-empty list of the item's fields")
        return ()
    found: list[ItemField] = []
    for i, item in enumerate(raw):
        at = f"{where}[{i}]"
        if not isinstance(item, dict):
            check.error(at, "must be a mapping")
            continue
        check.unknown_keys(item, {"key", "label", "type", "max_length", "choices"}, at)
        key = item.get("key")
        if not isinstance(key, str) or not key.isidentifier() or key in {f.key for f in found}:
            check.error(f"{at}.key", "must be an identifier, used once")
            continue
        kind = item.get("type")
        if kind not in ITEM_TYPES:
            check.error(f"{at}.type", f"must be one of {', '.join(ITEM_TYPES)}")
            continue
        label = check.label(item.get("label"), f"{at}.label")
        choices: tuple[tuple[str, Label], ...] = ()
        if kind == "choice":
            raw_choices = item.get("choices")
            if not isinstance(raw_choices, dict) or not raw_choices:
                check.error(f"{at}.choices", "a choice needs its choices")
                continue
            choices = tuple((str(k), check.label(v, f"{at}.choices.{k}")) for k, v in raw_choices.items())
        length = item.get("max_length", 100)
        if isinstance(length, bool) or not isinstance(length, int) or not 1 <= length <= 1000:
            check.error(f"{at}.max_length", "must be a whole number from 1 to 1000")
            continue
        found.append(ItemField(key, label, kind, length, choices))
    return tuple(found)


def parse_statistics(text: str, filename: str) -> StatisticsSpec:
    """The report's fields from the file's text, or StatisticsError listing every problem."""
    check = Checker(filename)
    raw = read_mapping(text, filename, StatisticsError)
    check.unknown_keys(raw, {"key", "version", "label", "anomaly", "groups", "fields"})
    if raw.get("key") != "statistics":
        check.error("key", "must be 'statistics'")
    version = raw.get("version")
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        check.error("version", "must be a whole number from 1")
        version = 0
    label = check.label(raw.get("label"), "label")
    anomaly: dict[str, Any] = raw["anomaly"] if isinstance(raw.get("anomaly"), dict) else {}
    check.unknown_keys(anomaly, {"max_change", "min_base"}, "anomaly")
    max_change = _number(check, anomaly.get("max_change"), "anomaly.max_change")
    if max_change is None or not Decimal(0) < max_change <= Decimal(10):
        check.error("anomaly.max_change", "must be a share above 0 (0.3 is 30 %), at most 10")
    min_base = _number(check, anomaly.get("min_base", 0), "anomaly.min_base")
    if min_base is None or min_base < 0:
        check.error("anomaly.min_base", "must be a number, 0 or more")
    groups_raw = raw.get("groups")
    group_labels: dict[str, Label] = {}
    if not isinstance(groups_raw, list) or not groups_raw:
        check.error("groups", "must be a non-empty list")
        groups_raw = []
    for i, g in enumerate(groups_raw):
        if not isinstance(g, dict) or not isinstance(g.get("key"), str) or not g["key"].isidentifier() \
                or g["key"] in group_labels:
            check.error(f"groups[{i}].key", "must be an identifier, used once")
            continue
        check.unknown_keys(g, {"key", "label"}, f"groups[{i}]")
        group_labels[g["key"]] = check.label(g.get("label"), f"groups[{i}].label")
    fields: list[Field] = []
    items = raw.get("fields")
    if not isinstance(items, list) or not items:
        check.error("fields", "must be a non-empty list")
        items = []
    for i, item in enumerate(items):
        where = f"fields[{i}]"
        if not isinstance(item, dict):
            check.error(where, "must be a mapping")
            continue
        check.unknown_keys(item, {"key", "group", "label", "unit", "type", "min", "max", "required", "clause",
                                  "items"}, where)
        key = item.get("key")
        if not isinstance(key, str) or not key.isidentifier() or key in {f.key for f in fields}:
            check.error(f"{where}.key", "must be an identifier, used once")
            continue
        if item.get("group") not in group_labels:
            check.error(f"{where}.group", "must be one of the groups")
            continue
        kind = item.get("type")
        if kind not in TYPES:
            check.error(f"{where}.type", f"must be one of {', '.join(TYPES)}")
            continue
        clause = item.get("clause")
        if not isinstance(clause, str) or not clause.strip():
            check.error(f"{where}.clause", "must name the plan clause the figure serves")
            continue
        low, high = _number(check, item.get("min"), f"{where}.min"), _number(check, item.get("max"), f"{where}.max")
        if kind == "items":
            if "unit" in item or "min" in item or "max" in item or "required" in item:
                check.error(where, "a list of items has no unit, min, max or required")
                continue
            fields.append(Field(key, item["group"], check.label(item.get("label"), f"{where}.label"), kind, None,
                                None, None, False, clause, _item_fields(check, item.get("items"), f"{where}.items")))
            continue
        if "items" in item:
            check.error(f"{where}.items", "only a field of type items has items")
            continue
        if low is None or high is None or low >= high:
            check.error(f"{where}.min", "a number needs min below max")
            continue
        if kind == "integer" and (low != low.to_integral_value() or high != high.to_integral_value()):
            check.error(f"{where}.min", "a whole number's min and max are whole numbers")
            continue
        required = item.get("required", False)
        if not isinstance(required, bool):
            check.error(f"{where}.required", "must be true or false")
            continue
        fields.append(Field(key, item["group"], check.label(item.get("label"), f"{where}.label"), kind,
                            check.label(item.get("unit"), f"{where}.unit", "a number needs its unit"),
                            low, high, required, clause))
    for must in ("output_yi",):
        if must not in {f.key for f in fields if f.type == "decimal"}:
            check.error("fields", f"must have the decimal field {must} (the output that sets a town's tier)")
    groups = tuple(Group(k, lbl, tuple(f for f in fields if f.group == k)) for k, lbl in group_labels.items())
    for g in groups:
        if not g.fields:
            check.error("groups", f"group {g.key} has no field")
    if check.errors:
        raise StatisticsError(check.errors)
    assert max_change is not None and min_base is not None
    return StatisticsSpec(version, label, groups, max_change, min_base)


@cache
def statistics_spec() -> StatisticsSpec:
    """The fields as shipped (definitions/statistics.yaml), checked once per process."""
    return parse_statistics(STATISTICS_PATH.read_text(encoding="utf-8"), STATISTICS_PATH.name)


def reason(field: str, zh: str, en: str) -> dict[str, str]:
    return {"field": field, "zh": zh, "en": en}


def read_value(spec: Field, raw: Any) -> tuple[Any, dict[str, str] | None]:
    """One field's value as stored (an int, a number to two places, a list of items; None when left empty), or
    the reason it cannot be."""
    name = spec.label
    if spec.type == "items":
        if raw is None or raw == "":
            return [], None
        if not isinstance(raw, list) or len(raw) > MAX_ITEMS:
            return None, reason(spec.key, f"{name.zh}须为列表，最多 {MAX_ITEMS} 项",
                                f"{name.en} must be a list of at most {MAX_ITEMS}")
        items = []
        for n, item in enumerate(raw, start=1):
            if not isinstance(item, dict) or set(item) - {f.key for f in spec.items}:
                return None, reason(spec.key, f"{name.zh}第 {n} 项的内容不正确", f"{name.en} no. {n} is malformed")
            clean = {}
            for f in spec.items:
                value = str(item.get(f.key) or "").strip()
                if not value:
                    return None, reason(spec.key, f"请填写{name.zh}第 {n} 项的{f.label.zh}",
                                        f"fill in the {f.label.en.lower()} of {name.en.lower()} no. {n}")
                if f.type == "text" and len(value) > f.max_length:
                    return None, reason(spec.key, f"{name.zh}第 {n} 项的{f.label.zh}不能超过 {f.max_length} 字",
                                        f"{name.en} no. {n}: {f.label.en} is longer than {f.max_length}")
                if f.type == "choice" and value not in dict(f.choices):
                    return None, reason(spec.key, f"{name.zh}第 {n} 项的{f.label.zh}不正确",
                                        f"{name.en} no. {n}: unknown {f.label.en.lower()}")
                clean[f.key] = value
            items.append(clean)
        return items, None
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None, None
    if isinstance(raw, bool) or not isinstance(raw, int | float | str):
        return None, reason(spec.key, f"{name.zh}须为数字", f"{name.en} must be a number")
    if isinstance(raw, float) and not math.isfinite(raw):
        return None, reason(spec.key, f"{name.zh}须为数字", f"{name.en} must be a number")
    try:
        number = Decimal(str(raw).strip().replace(",", ""))
    except InvalidOperation:
        return None, reason(spec.key, f"{name.zh}须为数字", f"{name.en} must be a number")
    if not number.is_finite():
        return None, reason(spec.key, f"{name.zh}须为数字", f"{name.en} must be a number")
    if spec.type == "integer" and number != number.to_integral_value():
        return None, reason(spec.key, f"{name.zh}须为整数", f"{name.en} must be a whole number")
    if spec.type == "decimal" and int(number.normalize().as_tuple().exponent) < -DECIMALS:
        return None, reason(spec.key, f"{name.zh}最多保留 {DECIMALS} 位小数",
                            f"{name.en}: at most {DECIMALS} decimal places")
    assert spec.min is not None and spec.max is not None
    if not spec.min <= number <= spec.max:
        unit = spec.unit.zh if spec.unit else ""
        return None, reason(spec.key, f"{name.zh}应在 {spec.min}～{spec.max}{unit} 之间",
                            f"{name.en} must be from {spec.min} to {spec.max}")
    return (int(number) if spec.type == "integer" else float(number)), None


def read_figures(spec: StatisticsSpec, raw: Any) -> tuple[dict[str, Any], list[dict[str, str]]]:
    """The figures as stored, and every reason a value cannot be (unknown fields named too)."""
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        return {}, [reason("figures", "统计数据格式不正确", "the figures must be a mapping")]
    found: list[dict[str, str]] = []
    unknown = sorted(set(raw) - {f.key for f in spec.fields})
    if unknown:
        found.append(reason("figures", f"没有这些统计项：{'、'.join(unknown)}",
                            f"unknown fields: {', '.join(unknown)}"))
    figures: dict[str, Any] = {}
    for field in spec.fields:
        value, problem = read_value(field, raw.get(field.key))
        if problem:
            found.append(problem)
        elif value is not None:
            figures[field.key] = value
    return figures, found


def missing(spec: StatisticsSpec, figures: dict[str, Any]) -> list[dict[str, str]]:
    """The required fields left empty (a report is submitted only when none is)."""
    return [reason(f.key, f"请填写{f.label.zh}", f"fill in {f.label.en.lower()}")
            for f in spec.fields if f.required and figures.get(f.key) is None]


def shown(value: Any) -> str:
    """A number as people write it: 25, 12.5, 3200 (no trailing zeros, no exponent)."""
    return format(Decimal(str(value)).normalize(), "f")


@dataclass(frozen=True)
class Anomaly:
    field: Field
    last: Decimal
    now: Decimal

    @property
    def change(self) -> Decimal:
        """The share moved from last year's figure (0.5 is +50 %)."""
        return (self.now - self.last) / self.last

    @property
    def reason(self) -> dict[str, str]:
        percent = f"{self.change * 100:+.0f}%"
        unit = self.field.unit
        return reason(self.field.key,
                      f"{self.field.label.zh}由上年的 {shown(self.last)}{unit.zh if unit else ''} 变为 "
                      f"{shown(self.now)}{unit.zh if unit else ''}（{percent}），请说明原因",
                      f"{self.field.label.en} moved from {shown(self.last)} to {shown(self.now)} ({percent}) since "
                      "last year: explain why")


def anomalies(spec: StatisticsSpec, figures: dict[str, Any], last: dict[str, Any] | None) -> list[Anomaly]:
    """The numbers that moved by more than `anomaly.max_change` from the town's last accepted report."""
    if not last:
        return []
    found = []
    for field in spec.fields:
        if not field.is_number or figures.get(field.key) is None or last.get(field.key) is None:
            continue
        before, now = Decimal(str(last[field.key])), Decimal(str(figures[field.key]))
        if before >= spec.min_base and before > 0 and abs(now - before) / before > spec.max_change:
            found.append(Anomaly(field, before, now))
    return found


def unexplained(spec: StatisticsSpec, figures: dict[str, Any], last: dict[str, Any] | None,
                explanations: dict[str, Any]) -> list[dict[str, str]]:
    """The anomalies without an explanation (a report with one is not submitted)."""
    return [a.reason for a in anomalies(spec, figures, last)
            if not str(explanations.get(a.field.key) or "").strip()]
