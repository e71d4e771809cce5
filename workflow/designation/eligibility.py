"""The eligibility check of a designation application: the decision table in definitions/eligibility.yaml.

The table is data; this module only reads it, checks it when it loads (every problem named by file and
key), derives the facts it speaks about from an application, and applies it: per criterion the first
rule whose conditions hold gives the outcome and the reason. Its named thresholds take the values the city
profile in use sets (`table_for`), else the table's own.
"""

from __future__ import annotations

import string
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Any

from workflow.core.profile import Profile, profile
from workflow.core.yamlcheck import Checker, FileErrors, read_mapping
from workflow.designation import application as app
from workflow.designation.application import HONOURS, PLATFORM_KINDS, Text

TABLE_PATH = Path(__file__).resolve().parents[2] / "definitions" / "eligibility.yaml"
OUTCOMES = ("pass", "fail", "judge")
NUMBER_OPS = ("gte", "gt", "lte", "lt", "eq")
TOP_KEYS = {"key", "version", "label", "description", "criteria", "priority", "thresholds"}
THRESHOLD_KEYS = {"value", "label"}
CRITERION_KEYS = {"key", "section", "label", "hard", "field", "rules", "description"}
RULE_KEYS = {"when", "outcome", "reason", "field", "to_confirm", "incomplete"}
PRIORITY_KEYS = {"label", "honours", "reason"}

# The facts a condition or a reason may name, and their kind. `display` facts are for reasons only.
FACTS: dict[str, str] = {
    "output_yi": "number", "county_share_pct": "number", "average_income": "number", "jobs": "number",
    "local_workers": "number", "supporting_enterprises": "number",
    "leading_enterprises": "number", "brands": "number", "brands_national": "number",
    "brands_province": "number", "brands_city": "number", "standards": "number", "standards_led": "number",
    "standards_joined": "number", "platforms": "number",
    "industry_category": "choice", "relaxation_basis": "choice",
    "has_relaxation_grounds": "bool",
    "leading_industry": "text", "main_products": "text", "heritage": "text", "business_environment": "text",
    "category": "display", "basis": "display", "platform_list": "display",
}
CHOICES = {"industry_category": app.CATEGORIES, "relaxation_basis": app.RELAXATION_BASES}
NOT_GIVEN = Text("未填写", "not given")


class EligibilityError(FileErrors):
    """Problems in the eligibility table; `errors` holds `file: key: problem` lines."""


@dataclass(frozen=True)
class Condition:
    fact: str
    op: str  # eq | in | gte | gt | lte | lt | present | missing
    value: Any


@dataclass(frozen=True)
class Rule:
    when: tuple[Condition, ...]
    outcome: str
    reason: Text
    field: str | None
    to_confirm: bool
    incomplete: bool


@dataclass(frozen=True)
class Criterion:
    key: str
    section: str
    label: Text
    hard: bool
    rules: tuple[Rule, ...]  # each rule's field defaults to the criterion's


@dataclass(frozen=True)
class Threshold:
    name: str
    value: Decimal  # the city profile's, else the table's
    label: Text


@dataclass(frozen=True)
class Table:
    key: str
    version: int
    label: Text
    criteria: tuple[Criterion, ...]  # conditions and reasons hold the thresholds' values
    priority_label: Text
    priority_honours: tuple[str, ...]
    priority_reason: Text
    path: str = ""
    thresholds: tuple[Threshold, ...] = ()

    def shown(self, name: str) -> str:
        """Threshold `name`'s value as the reasons print it (8, 0.5); KeyError when the table has none of that name."""
        return _shown_threshold({t.name: t.value for t in self.thresholds}[name])


@dataclass(frozen=True)
class CriterionResult:
    key: str
    section: str
    label: Text
    outcome: str  # pass | fail | judge
    hard: bool
    reason: Text
    field: str | None
    to_confirm: bool = False  # a relaxed pass: reviewers confirm the grounds
    incomplete: bool = False  # failed because a required field is empty

    def as_dict(self) -> dict[str, Any]:
        return {"key": self.key, "section": self.section, "label": {"zh": self.label.zh, "en": self.label.en},
                "outcome": self.outcome, "hard": self.hard, "reason": {"zh": self.reason.zh, "en": self.reason.en},
                "field": self.field, "to_confirm": self.to_confirm, "incomplete": self.incomplete}


@dataclass(frozen=True)
class PriorityFlag:
    honour: str
    label: Text
    enterprises: tuple[str, ...]
    reason: Text

    def as_dict(self) -> dict[str, Any]:
        return {"honour": self.honour, "label": {"zh": self.label.zh, "en": self.label.en},
                "enterprises": list(self.enterprises), "reason": {"zh": self.reason.zh, "en": self.reason.en}}


@dataclass(frozen=True)
class Result:
    criteria: tuple[CriterionResult, ...]
    priority: tuple[PriorityFlag, ...]
    priority_label: Text
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def has_hard_failure(self) -> bool:
        return any(c.hard and c.outcome == "fail" for c in self.criteria)

    @property
    def hard_failures(self) -> list[CriterionResult]:
        return [c for c in self.criteria if c.hard and c.outcome == "fail"]

    def as_dict(self) -> dict[str, Any]:
        return {"criteria": [c.as_dict() for c in self.criteria], "priority": [p.as_dict() for p in self.priority],
                "has_hard_failure": self.has_hard_failure}


# --- loading ---------------------------------------------------------------------------------------------------


class _Checker(Checker):
    def __init__(self, filename: str):
        super().__init__(filename)
        self.thresholds: dict[str, Decimal] = {}  # every threshold defined (0 for a broken value: refused anyway)
        self.used: set[str] = set()

    def threshold(self, ref: str, key: str) -> Decimal | None:
        """The value of `$name`, a reference to a defined threshold."""
        name = ref[1:]
        if name not in self.thresholds:
            self.error(key, f"unknown threshold {ref} (defined: {', '.join(sorted(self.thresholds)) or 'none'})")
            return None
        self.used.add(name)
        return self.thresholds[name]

    def text(self, raw: Any, key: str, facts: set[str] | None = None, *, thresholds: bool = False) -> Text:
        """A {zh, en} pair; with `facts`, a template whose {placeholders} must be among them (or, with
        `thresholds`, name a threshold as {$name})."""
        found = self.label(raw, key, "missing")
        if isinstance(raw, dict):
            self.unknown_keys(raw, {"zh", "en"}, key)
            if facts is not None:
                for lang in ("zh", "en"):
                    if getattr(found, lang).strip():
                        self.template(getattr(found, lang), f"{key}.{lang}", facts, thresholds)
        return found

    def template(self, text: str, key: str, facts: set[str], thresholds: bool) -> None:
        try:
            parts = list(string.Formatter().parse(text))
        except ValueError as exc:
            self.error(key, f"not a valid template: {exc}")
            return
        for _literal, name, spec, conversion in parts:
            if name is None:
                continue
            if thresholds and name.startswith("$"):
                if self.threshold(name, key) is not None and (spec or conversion):
                    self.error(key, f"placeholder {{{name}}} takes no format")
            elif name not in facts:
                self.error(key, f"unknown placeholder {{{name}}} (known: {', '.join(sorted(facts))})")
            elif spec or conversion:
                self.error(key, f"placeholder {{{name}}} takes no format")


def _number(value: Any) -> Decimal | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return app.decimal_of(value)
    return None


def _positive(value: Any) -> Decimal | None:
    number = value if isinstance(value, Decimal) and value.is_finite() else _number(value)
    return number if number is not None and number > 0 else None


def _thresholds(check: _Checker, raw: Any, overrides: Mapping[str, Any], overrides_file: str) -> dict[str, Text]:
    """Fill `check.thresholds` with the table's thresholds, the profile's `overrides` applied; their labels."""
    labels: dict[str, Text] = {}
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        check.error("thresholds", "must be a mapping of names to {value, label}")
        raw = {}
    for name, body in raw.items():
        key = f"thresholds.{name}"
        if not isinstance(name, str) or not name.isidentifier():
            check.error(key, "a threshold's name must be an identifier")
            continue
        check.thresholds[name] = Decimal(0)
        if not isinstance(body, dict):
            check.error(key, "must be a mapping of value and label")
            continue
        check.unknown_keys(body, THRESHOLD_KEYS, key)
        value = _positive(body.get("value"))
        if value is None:
            check.error(f"{key}.value", f"must be a positive number, not {body.get('value')!r}")
        else:
            check.thresholds[name] = value
        labels[name] = check.text(body.get("label"), f"{key}.label")
    for name, value in overrides.items():
        if name not in check.thresholds:
            defined = ", ".join(sorted(check.thresholds)) or "none"
            check.errors.append(f"{overrides_file}: thresholds.{name}: the eligibility table ({check.filename}) "
                                f"has no threshold {name} (defined: {defined})")
            continue
        number = _positive(value)
        if number is None:
            check.errors.append(f"{overrides_file}: thresholds.{name}: must be a positive number, not {value!r}")
            continue
        check.thresholds[name] = number
    return labels


def _shown_threshold(value: Decimal) -> str:
    """10 as 10, 0.5 as 0.5, 8.0 as 8: as the plan writes its numbers."""
    return format(value.normalize(), "f")


def _filled(template: str, values: dict[str, str]) -> str:
    """`template` with each {$name} replaced by the threshold's value (a checked template)."""
    out = []
    for literal, name, _spec, _conversion in string.Formatter().parse(template):
        out.append(literal.replace("{", "{{").replace("}", "}}"))
        if name is not None:
            out.append(values[name[1:]] if name.startswith("$") else "{" + name + "}")
    return "".join(out)


def _conditions(check: _Checker, raw: Any, key: str) -> tuple[Condition, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, dict) or not raw:
        check.error(key, "must be a mapping of facts to conditions")
        return ()
    found: list[Condition] = []
    for fact, spec in raw.items():
        fkey = f"{key}.{fact}"
        kind = FACTS.get(fact)
        if kind is None or kind == "display":
            known = ", ".join(sorted(f for f, k in FACTS.items() if k != "display"))
            check.error(fkey, f"unknown fact (known: {known})")
            continue
        if not isinstance(spec, dict):
            spec = {"in": spec} if isinstance(spec, list) else {"eq": spec}
        if not spec:
            check.error(fkey, "empty condition")
        for op, value in spec.items():
            okey = f"{fkey}.{op}"
            if op in ("present", "missing"):
                if not isinstance(value, bool):
                    check.error(okey, "must be true or false")
                    continue
                found.append(Condition(fact, op, value))
            elif kind == "number" and op in NUMBER_OPS:
                if isinstance(value, str) and value.startswith("$"):
                    number = check.threshold(value, okey)
                    if number is not None:
                        found.append(Condition(fact, op, number))
                    continue
                number = _number(value)
                if number is None:
                    check.error(okey, f"must be a number, not {value!r}")
                    continue
                found.append(Condition(fact, op, number))
            elif kind == "bool" and op == "eq":
                if not isinstance(value, bool):
                    check.error(okey, "must be true or false")
                    continue
                found.append(Condition(fact, op, value))
            elif kind == "choice" and op in ("eq", "in"):
                values = value if op == "in" else [value]
                if not isinstance(values, list) or not values:
                    check.error(okey, "must be a non-empty list of choices")
                    continue
                unknown = [v for v in values if v not in CHOICES[fact]]
                if unknown:
                    check.error(okey, f"unknown choice {unknown[0]!r} (one of {', '.join(CHOICES[fact])})")
                    continue
                found.append(Condition(fact, "in", tuple(values)))
            else:
                check.error(okey, f"operator {op!r} does not apply to a {kind} fact")
    return tuple(found)


def parse_table(text: str, filename: str, overrides: Mapping[str, Any] | None = None,
                overrides_file: str = "profile.yaml") -> Table:
    """Parse and check the table, its thresholds set to `overrides` (a city profile's, read from `overrides_file`)
    where given; raise EligibilityError listing every problem found."""
    check = _Checker(filename)
    raw = read_mapping(text, filename, EligibilityError)
    check.unknown_keys(raw, TOP_KEYS, "")
    threshold_labels = _thresholds(check, raw.get("thresholds"), overrides or {}, overrides_file)
    if raw.get("key") != "eligibility":
        check.error("key", "must be 'eligibility'")
    version = raw.get("version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        check.error("version", "must be a positive integer")
        version = 0
    label = check.text(raw.get("label"), "label")
    facts = set(FACTS)

    criteria: list[Criterion] = []
    raw_criteria = raw.get("criteria")
    if not isinstance(raw_criteria, list) or not raw_criteria:
        check.error("criteria", "must be a non-empty list")
        raw_criteria = []
    seen: set[str] = set()
    for i, body in enumerate(raw_criteria):
        ckey = f"criteria[{i}]"
        if not isinstance(body, dict):
            check.error(ckey, "must be a mapping")
            continue
        key = body.get("key")
        if not isinstance(key, str) or not key.isidentifier():
            check.error(f"{ckey}.key", "must be an identifier")
            key = str(key)
        elif key in seen:
            check.error(f"{ckey}.key", f"criterion {key!r} defined twice")
        seen.add(key)
        ckey = f"criteria[{i}] ({key})"
        check.unknown_keys(body, CRITERION_KEYS, ckey)
        hard = body.get("hard")
        if not isinstance(hard, bool):
            check.error(f"{ckey}.hard", "must be true or false (does failing it refuse submission?)")
        cfield = body.get("field")
        if cfield is not None and cfield not in app.FIELDS:
            check.error(f"{ckey}.field", f"unknown application field {cfield!r}")
        rules: list[Rule] = []
        raw_rules = body.get("rules")
        if not isinstance(raw_rules, list) or not raw_rules:
            check.error(f"{ckey}.rules", "must be a non-empty list")
            raw_rules = []
        for j, rbody in enumerate(raw_rules):
            rkey = f"{ckey}.rules[{j}]"
            if not isinstance(rbody, dict):
                check.error(rkey, "must be a mapping")
                continue
            check.unknown_keys(rbody, RULE_KEYS, rkey)
            when = _conditions(check, rbody.get("when"), f"{rkey}.when")
            last = j == len(raw_rules) - 1
            if last and "when" in rbody:
                check.error(f"{rkey}.when", "the last rule is the 'otherwise' row and has no conditions")
            if not last and "when" not in rbody:
                check.error(f"{rkey}.when", "missing (the rules after it could never apply)")
            outcome = rbody.get("outcome")
            if outcome not in OUTCOMES:
                check.error(f"{rkey}.outcome", f"must be one of {', '.join(OUTCOMES)}")
            to_confirm, incomplete = rbody.get("to_confirm", False), rbody.get("incomplete", False)
            for name, flag, needs in (("to_confirm", to_confirm, "pass"), ("incomplete", incomplete, "fail")):
                if not isinstance(flag, bool):
                    check.error(f"{rkey}.{name}", "must be true or false")
                elif flag and outcome != needs:
                    check.error(f"{rkey}.{name}", f"only a {needs} can be marked {name}")
            rfield = rbody.get("field")
            if rfield is not None and rfield not in app.FIELDS:
                check.error(f"{rkey}.field", f"unknown application field {rfield!r}")
            rules.append(Rule(when=when, outcome=str(outcome), reason=check.text(rbody.get("reason"),
                                                                                 f"{rkey}.reason", facts,
                                                                                 thresholds=True),
                              field=rfield or cfield, to_confirm=to_confirm is True, incomplete=incomplete is True))
        if hard is True and not any(r.outcome == "fail" for r in rules):
            check.error(f"{ckey}.rules", "a hard criterion needs a rule that fails")
        criteria.append(Criterion(key=key, section=str(body.get("section") or ""),
                                  label=check.text(body.get("label"), f"{ckey}.label"), hard=hard is True,
                                  rules=tuple(rules)))

    raw_priority = raw.get("priority")
    honours: tuple[str, ...] = ()
    priority_label = priority_reason = Text("", "")
    if not isinstance(raw_priority, dict):
        check.error("priority", "missing (label, honours, reason)")
    else:
        check.unknown_keys(raw_priority, PRIORITY_KEYS, "priority")
        priority_label = check.text(raw_priority.get("label"), "priority.label")
        raw_honours = raw_priority.get("honours")
        if not isinstance(raw_honours, list) or not raw_honours:
            check.error("priority.honours", "must be a non-empty list")
        else:
            for h in raw_honours:
                if h not in HONOURS:
                    check.error("priority.honours", f"unknown honour {h!r} (one of {', '.join(HONOURS)})")
            honours = tuple(str(h) for h in raw_honours)
        priority_reason = check.text(raw_priority.get("reason"), "priority.reason", {"honour", "enterprises"})

    for name in threshold_labels:
        if name not in check.used:
            check.error(f"thresholds.{name}", "used by no rule")
    if check.errors:
        raise EligibilityError(check.errors)
    shown = {name: _shown_threshold(value) for name, value in check.thresholds.items()}
    criteria = [replace(c, rules=tuple(replace(r, reason=Text(_filled(r.reason.zh, shown), _filled(r.reason.en, shown)))
                                       for r in c.rules)) for c in criteria]
    return Table(key="eligibility", version=int(version), label=label, criteria=tuple(criteria),
                 priority_label=priority_label, priority_honours=honours, priority_reason=priority_reason,
                 path=filename, thresholds=tuple(Threshold(name, check.thresholds[name], threshold_labels[name])
                                                 for name in threshold_labels))


def load_table(path: Path = TABLE_PATH, overrides: Mapping[str, Any] | None = None,
               overrides_file: str = "profile.yaml") -> Table:
    """Read and check an eligibility table file (its thresholds set to `overrides` where given)."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise EligibilityError([f"{path.name}: (file): cannot read: {exc.strerror}"]) from None
    return parse_table(text, path.name, overrides, overrides_file)


@lru_cache(maxsize=16)  # profiles hash by identity: one table per profile read
def table_for(city: Profile) -> Table:
    """definitions/eligibility.yaml with the thresholds `city`'s profile sets; a threshold the table does not define
    is an EligibilityError naming the profile file and key."""
    return load_table(TABLE_PATH, city.thresholds, Path(city.source).name)


def default_table() -> Table:
    """The table of the city profile in use (workflow.core.profile), read once per profile."""
    return table_for(profile())


# --- evaluating --------------------------------------------------------------------------------------------------


def _named(entries: Any, key: str = "name") -> list[dict[str, Any]]:
    return [e for e in entries or [] if isinstance(e, dict) and not app.is_empty(e.get(key))]


def facts_of(data: dict[str, Any]) -> dict[str, Any]:
    """The facts the table speaks about; a value that fails its type check counts as not given."""
    value = {name: app.valid_value(data, name) for name in app.FIELDS}
    facts: dict[str, Any] = {}
    for name in ("output_yi", "county_share_pct", "average_income", "jobs", "local_workers",
                 "supporting_enterprises"):
        facts[name] = app.decimal_of(value[name])
    brands = _named(value["brands"])
    standards = _named(value["standards"])
    facts.update({
        "leading_enterprises": len(_named(value["leading_enterprises"])),
        "brands": len(brands),
        "brands_national": sum(1 for b in brands if b.get("level") == "national"),
        "brands_province": sum(1 for b in brands if b.get("level") == "province"),
        "brands_city": sum(1 for b in brands if b.get("level") == "city"),
        "standards": len(standards),
        "standards_led": sum(1 for s in standards if s.get("role") == "led"),
        "standards_joined": sum(1 for s in standards if s.get("role") == "joined"),
        "platforms": len({p["kind"] for p in _named(value["platforms"], "kind")}),
        "industry_category": value["industry_category"],
        "relaxation_basis": None if value["relaxation_basis"] in (None, "none") else value["relaxation_basis"],
        "has_relaxation_grounds": value["relaxation_grounds"] is not None,
    })
    for name in ("leading_industry", "main_products", "heritage", "business_environment"):
        facts[name] = value[name].strip() if value[name] else None
    ticked = {p["kind"] for p in _named(value["platforms"], "kind")}
    facts["_platform_kinds"] = [k for k in PLATFORM_KINDS if k in ticked]  # in the plan's order
    return facts


def _holds(condition: Condition, facts: dict[str, Any]) -> bool:
    value = facts.get(condition.fact)
    missing = value is None
    if condition.op == "missing":
        return missing is condition.value
    if condition.op == "present":
        return (not missing) is condition.value
    if condition.op == "in":
        return value in condition.value
    if value is None:
        return False
    if isinstance(condition.value, bool):
        return value is condition.value
    number = Decimal(value)
    limit = condition.value
    return {"gte": number >= limit, "gt": number > limit, "lte": number <= limit, "lt": number < limit,
            "eq": number == limit}[condition.op]


def _shown(name: str, facts: dict[str, Any], lang: str) -> str:
    value = facts.get(name)
    if name == "category":
        code = facts.get("industry_category")
        return app.CATEGORIES[code].get(lang) if code else NOT_GIVEN.get(lang)
    if name == "basis":
        code = facts.get("relaxation_basis")
        return app.RELAXATION_BASES[code].get(lang) if code else NOT_GIVEN.get(lang)
    if name == "platform_list":
        kinds = facts.get("_platform_kinds") or []
        if not kinds:
            return "无" if lang == "zh" else "none"
        return ("、" if lang == "zh" else ", ").join(PLATFORM_KINDS[k].get(lang) for k in kinds)
    if value is None:
        return NOT_GIVEN.get(lang)
    if isinstance(value, bool):
        return ("是" if value else "否") if lang == "zh" else ("yes" if value else "no")
    if isinstance(value, Decimal):
        if name == "output_yi":
            return format(value.quantize(Decimal("0.01")), "f")
        return app.display(name, int(value) if value == value.to_integral_value() else float(value))
    if isinstance(value, str) and len(value) > 60:
        return value[:60] + "…"
    return str(value)


@lru_cache(maxsize=1024)
def _placeholders(template: str) -> tuple[str, ...]:
    return tuple(name for _, name, _, _ in string.Formatter().parse(template) if name)


def _render(template: Text, values: dict[str, Any]) -> Text:
    # only the facts a reason names are formatted: formatting all of them for every criterion cost a third of a fire
    return Text(template.zh.format(**{n: _shown(n, values, "zh") for n in _placeholders(template.zh)}),
                template.en.format(**{n: _shown(n, values, "en") for n in _placeholders(template.en)}))


def evaluate(data: dict[str, Any], table: Table | None = None, *, hard_only: bool = False) -> Result:
    """Apply the table to an application's data (only its hard criteria, for the submit guard)."""
    table = table or default_table()
    facts = facts_of(data)
    results = []
    for criterion in table.criteria:
        if hard_only and not criterion.hard:
            continue
        rule = next(r for r in criterion.rules if all(_holds(c, facts) for c in r.when))
        results.append(CriterionResult(
            key=criterion.key, section=criterion.section, label=criterion.label, outcome=rule.outcome,
            hard=criterion.hard, reason=_render(rule.reason, facts), field=rule.field, to_confirm=rule.to_confirm,
            incomplete=rule.incomplete))
    flags = []
    enterprises = [] if hard_only else _named(app.valid_value(data, "leading_enterprises"))
    for honour in table.priority_honours:
        names = tuple(e["name"].strip() for e in enterprises if honour in (e.get("honours") or []))
        if names:
            label = HONOURS[honour]
            values = {"zh": {"honour": label.zh, "enterprises": "、".join(names)},
                      "en": {"honour": label.en, "enterprises": ", ".join(names)}}
            flags.append(PriorityFlag(honour=honour, label=label, enterprises=names, reason=Text(
                table.priority_reason.zh.format(**values["zh"]), table.priority_reason.en.format(**values["en"]))))
    counts = {o: sum(1 for r in results if r.outcome == o) for o in OUTCOMES}
    return Result(criteria=tuple(results), priority=tuple(flags), priority_label=table.priority_label, counts=counts)
