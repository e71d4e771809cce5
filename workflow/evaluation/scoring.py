"""Scoring, ranking and the outcomes of the annual evaluation, as pure functions of the definitions
(workflow/evaluation/indicators.py) and the values: no database, no clock.

- `score_indicator`: one indicator's points and how they were reached, in Chinese and English
  ("主导产业产值 25 亿元，在 10～50 亿元之间线性计分：3.75 / 10 分"). A value that is missing (or a growth without
  last year's value, a share without a target) is flagged `missing`, never scored 0.
- `score_town`: every indicator of a town, the points per group and the total; the office's adjustments (a score
  set by hand with its reason) replace the computed points and say so.
- `rank`: the towns by total, ties broken by the definitions' tie-breakers in turn; towns equal after all of them
  share their rank and the next rank is skipped (1, 2, 2, 4). A town with a missing score cannot be ranked.
- `outcomes`: who is praised, who is supervised (督办) and who gets a revocation proposal, by the ranking rules.
"""

from __future__ import annotations

from collections.abc import Collection, Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal
from functools import lru_cache
from typing import Any

from workflow.core.yamlcheck import Label
from workflow.evaluation.indicators import EvaluationSpec, Indicator, Step, TieBreaker

CENT = Decimal("0.01")
TENTH = Decimal("0.1")
HUNDRED = Decimal(100)
ZERO = Decimal(0)


@dataclass(frozen=True)
class Adjustment:
    """A score the office sets by hand (a missing value scored, or a computed score corrected), with its reason."""

    points: Decimal
    reason: str


@dataclass(frozen=True)
class Score:
    key: str
    points: Decimal | None  # None: missing, not scored
    max_points: Decimal
    explanation: Label
    computed: Decimal | None = None  # adjusted: what the rule gave (None when it gave nothing)
    reason: str | None = None  # adjusted: the office's reason

    @property
    def missing(self) -> bool:
        return self.points is None

    @property
    def adjusted(self) -> bool:
        return self.reason is not None


@dataclass(frozen=True)
class TownScore:
    town: Hashable
    name: str
    scores: tuple[Score, ...]
    groups: dict[str, Decimal]  # group key -> its points
    total: Decimal
    values: dict[str, Any] = field(default_factory=dict)  # indicator key -> the value scored

    @property
    def missing(self) -> tuple[str, ...]:
        return tuple(s.key for s in self.scores if s.missing)

    def score(self, key: str) -> Score | None:
        return next((s for s in self.scores if s.key == key), None)


@dataclass(frozen=True)
class Ranked:
    rank: int
    town: TownScore
    tied: bool  # shares its rank with another town
    decided_by: TieBreaker | None  # the tie-breaker that set it apart from a town of the same total


@dataclass(frozen=True)
class Proposal:
    ranked: Ranked
    reasons: tuple[Label, ...]


@dataclass(frozen=True)
class Outcomes:
    praised: tuple[Ranked, ...]
    supervised: tuple[Ranked, ...]
    revocations: tuple[Proposal, ...]


class IncompleteError(ValueError):
    """Towns with scores still missing: they cannot be ranked until the office enters or decides them."""

    def __init__(self, towns: list[tuple[str, tuple[str, ...]]]):
        super().__init__("; ".join(f"{name}: {', '.join(keys)}" for name, keys in towns))
        self.towns = towns


@lru_cache(maxsize=4096)  # the points, thresholds and units of a spec come back for every town
def _n(number: Decimal) -> str:
    """A number as people write it: no exponent, no trailing zeros."""
    text = format(number, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def _q(number: Decimal, unit: Label | None) -> Label:
    """A number with its unit, in both languages: 25 亿元 and 25 ¥100 m, 80%."""
    n = _n(number)
    if unit is None:
        return Label(n, n)
    zh, en = (f"{n}{text}" if text == "%" else f"{n} {text}" for text in (unit.zh, unit.en))
    return Label(zh, en)


def _decimal(spec: Indicator, value: Any) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        raise TypeError(f"{spec.key}: the value must be a number, not {value!r}")
    number = value if isinstance(value, Decimal) else Decimal(str(value)) if isinstance(value, float) \
        else Decimal(value)
    if not number.is_finite():
        raise ValueError(f"{spec.key}: the value must be a finite number")
    return number


def _points(number: Decimal) -> Decimal:
    return number.quantize(CENT, rounding=ROUND_HALF_UP)


def _scored(spec: Indicator, points: Decimal, zh: str, en: str) -> Score:
    p, top = _n(points), _n(spec.points)
    return Score(spec.key, points, spec.points, Label(f"{zh}：{p} / {top} 分", f"{en}: {p} / {top} points"))


def _missing(spec: Indicator, zh: str, en: str) -> Score:
    return Score(spec.key, None, spec.points, Label(zh, en))


def _step(steps: tuple[Step, ...], number: Decimal) -> Step | None:
    reached = None
    for step in steps:
        if number >= step.at:
            reached = step
    return reached


def score_indicator(spec: Indicator, value: Any, last_value: Any = None, target: Any = None) -> Score:
    """One indicator's points for `value` (a number, or True/False for yes_no), with the explanation; `last_value`
    for growth, `target` for target_share."""
    label, unit, rule = spec.label, spec.unit, spec.rule
    if value is None:
        return _missing(spec, f"{label.zh}：未提供数值，未计分（须补录，或由办公室决定）",
                        f"{label.en}: no value, not scored (to be entered, or decided by the office)")
    if rule.kind == "yes_no":
        if not isinstance(value, bool):
            raise TypeError(f"{spec.key}: the value must be True or False, not {value!r}")
        if value:
            return _scored(spec, spec.points, f"{label.zh}：是", f"{label.en}: yes")
        return _scored(spec, ZERO, f"{label.zh}：否", f"{label.en}: no")
    number = _decimal(spec, value)
    v = _q(number, unit)
    zh_v, en_v = v.zh, v.en
    if rule.kind == "linear":
        assert rule.low is not None and rule.high is not None
        low, high = rule.low, rule.high
        if number <= low:
            bound = _q(low, unit)
            return _scored(spec, ZERO, f"{label.zh} {zh_v}，不高于 {bound.zh}",
                           f"{label.en} {en_v}, not above {bound.en}")
        high_v = _q(high, unit)
        if number >= high:
            return _scored(spec, spec.points, f"{label.zh} {zh_v}，达到 {high_v.zh}",
                           f"{label.en} {en_v}, reaches {high_v.en}")
        points = _points(spec.points * (number - low) / (high - low))
        return _scored(spec, points, f"{label.zh} {zh_v}，在 {_n(low)}～{high_v.zh}之间线性计分",
                       f"{label.en} {en_v}, in proportion between {_n(low)} and {high_v.en}")
    if rule.kind == "steps":
        step = _step(rule.steps, number)
        if step is None:
            first = _q(rule.steps[0].at, unit)
            return _scored(spec, ZERO, f"{label.zh} {zh_v}，未达到最低档 {first.zh}",
                           f"{label.en} {en_v}, below the lowest step of {first.en}")
        at = _q(step.at, unit)
        return _scored(spec, step.points, f"{label.zh} {zh_v}，达到 {at.zh}档",
                       f"{label.en} {en_v}, reaches the step of {at.en}")
    if rule.kind == "growth":
        if last_value is None:
            return _missing(spec, f"{label.zh}：缺少上年数值，无法计算增长，未计分",
                            f"{label.en}: last year's value is missing, no growth to score")
        last = _decimal(spec, last_value)
        if number < 0 or last < 0:
            raise ValueError(f"{spec.key}: a growth is measured between values of 0 or more")
        last_v = _q(last, unit)
        zh_l, en_l = last_v.zh, last_v.en
        if last == 0 and number > 0:
            top = rule.steps[-1]
            return _scored(spec, top.points, f"{label.zh}：本年 {zh_v}，上年为 0，按最高档计分",
                           f"{label.en}: {en_v} this year, 0 last year, scored at the highest step")
        growth = ZERO if number == last else (number - last) * HUNDRED / last
        shown = _n(growth.quantize(TENTH, rounding=ROUND_HALF_UP))
        step = _step(rule.steps, growth)
        zh = f"{label.zh}：本年 {zh_v}，上年 {zh_l}，增长 {shown}%"
        en = f"{label.en}: {en_v} this year, {en_l} last year, a growth of {shown}%"
        if step is None:
            lowest = _n(rule.steps[0].at)
            return _scored(spec, ZERO, f"{zh}，未达到最低档 {lowest}%", f"{en}, below the lowest step of {lowest}%")
        return _scored(spec, step.points, f"{zh}，达到 {_n(step.at)}% 档", f"{en}, reaches the step of {_n(step.at)}%")
    # target_share
    if target is None:
        return _missing(spec, f"{label.zh}：未设定目标，无法计算完成比例，未计分",
                        f"{label.en}: no target set, no share to score")
    goal = _decimal(spec, target)
    goal_v = _q(goal, unit)
    if goal <= 0:
        return _missing(spec, f"{label.zh}：目标为 {goal_v.zh}，无法计算完成比例，未计分",
                        f"{label.en}: the target is {goal_v.en}, no share to score")
    share = number * HUNDRED / goal
    shown = _n(share.quantize(TENTH, rounding=ROUND_HALF_UP))
    zh = f"{label.zh} {zh_v}，目标 {goal_v.zh}，完成 {shown}%"
    en = f"{label.en} {en_v}, target {goal_v.en}, {shown}% reached"
    if share >= HUNDRED:
        return _scored(spec, spec.points, zh, en)
    if share < rule.floor:
        return _scored(spec, ZERO, f"{zh}，低于 {_n(rule.floor)}%", f"{en}, below {_n(rule.floor)}%")
    return _scored(spec, _points(spec.points * share / HUNDRED), f"{zh}，按完成比例计分", f"{en}, scored in proportion")


def adjust(score: Score, adjustment: Adjustment) -> Score:
    """The score the office set by hand, the computed one and the reason kept in the explanation."""
    points = Decimal(adjustment.points)
    if not ZERO <= points <= score.max_points:
        raise ValueError(f"{score.key}: an adjusted score must be from 0 to {_n(score.max_points)}")
    reason = adjustment.reason.strip()
    if not reason:
        raise ValueError(f"{score.key}: an adjusted score needs its reason")
    p = _n(_points(points))
    return Score(score.key, _points(points), score.max_points,
                 Label(f"{score.explanation.zh}；办公室调整为 {p} 分，理由：{reason}",
                       f"{score.explanation.en}; set by the office to {p} points: {reason}"),
                 computed=score.points, reason=reason)


def score_town(spec: EvaluationSpec, values: Mapping[str, Any], *, town: Hashable, name: str = "",
               last_values: Mapping[str, Any] | None = None, targets: Mapping[str, Any] | None = None,
               adjustments: Mapping[str, Adjustment] | None = None) -> TownScore:
    """Every indicator of `spec` scored on `values` (by indicator key; a key not there is missing), the points per
    group and the total of what is scored. `last_values` (growth) and `targets` (target_share) by indicator key;
    `adjustments` by indicator key."""
    last_values, targets, adjustments = last_values or {}, targets or {}, adjustments or {}
    unknown = sorted(set(values) - {i.key for i in spec.indicators})
    if unknown:
        raise KeyError(f"not indicators of the evaluation: {', '.join(unknown)}")
    scores: list[Score] = []
    groups: dict[str, Decimal] = {}
    total = ZERO
    for group in spec.groups:
        subtotal = ZERO
        for indicator in group.indicators:
            score = score_indicator(indicator, values.get(indicator.key), last_values.get(indicator.key),
                                    targets.get(indicator.key))
            if indicator.key in adjustments:
                score = adjust(score, adjustments[indicator.key])
            scores.append(score)
            if score.points is not None:
                subtotal += score.points
        groups[group.key] = subtotal
        total += subtotal
    return TownScore(town, name, tuple(scores), groups, total, dict(values))


def _sort_key(spec: EvaluationSpec, town: TownScore) -> tuple[tuple[int, Decimal], ...]:
    """Ascending order is the ranking's: the total, then each tie-breaker, higher first; a value not given last."""
    key: list[tuple[int, Decimal]] = [(0, -town.total)]
    for breaker in spec.ranking.tie_breakers:
        if breaker.kind == "group":
            key.append((0, -town.groups.get(breaker.key, ZERO)))
        elif breaker.kind == "indicator":
            score = town.score(breaker.key)
            key.append((0, -(score.points or ZERO)) if score is not None else (1, ZERO))
        else:
            value = town.values.get(breaker.key)
            key.append((1, ZERO) if value is None or isinstance(value, bool) else (0, -Decimal(str(value))))
    return tuple(key)


def rank(spec: EvaluationSpec, town_scores: Sequence[TownScore]) -> list[Ranked]:
    """The towns in ranking order with their ranks; IncompleteError naming every town with a missing score."""
    incomplete = [(t.name or str(t.town), t.missing) for t in town_scores if t.missing]
    if incomplete:
        raise IncompleteError(incomplete)
    keyed = sorted(((_sort_key(spec, t), t) for t in town_scores), key=lambda kt: (kt[0], kt[1].name, str(kt[1].town)))
    keys = [k for k, _ in keyed]
    ranked: list[Ranked] = []
    position = 0
    for i, (key, town) in enumerate(keyed):
        if i == 0 or key != keys[i - 1]:
            position = i + 1
        tied = (i > 0 and keys[i - 1] == key) or (i + 1 < len(keys) and keys[i + 1] == key)
        decided = None
        for j in (i - 1, i + 1):  # the town above of the same total first, else the one below
            if 0 <= j < len(keys) and keys[j][0] == key[0] and keys[j] != key:
                differs = next(n for n in range(1, len(key)) if keys[j][n] != key[n])
                decided = spec.ranking.tie_breakers[differs - 1]
                break
        ranked.append(Ranked(position, town, tied, decided))
    return ranked


def _groups(ranked: Sequence[Ranked]) -> list[list[Ranked]]:
    """The ranking cut into its ties (a town alone is a group of one), in order."""
    groups: list[list[Ranked]] = []
    for r in ranked:
        if groups and groups[-1][0].rank == r.rank:
            groups[-1].append(r)
        else:
            groups.append([r])
    return groups


def _take(groups: list[list[Ranked]], count: int) -> list[Ranked]:
    """Whole tie groups from the front until `count` towns are taken (a tie across the line is taken whole)."""
    taken: list[Ranked] = []
    for group in groups:
        if len(taken) >= count:
            break
        taken.extend(group)
    return taken


def praise_count(spec: EvaluationSpec, towns: int) -> int:
    """How many towns the top of the ranking is: `top`, or the share rounded down and at least one."""
    rules = spec.ranking
    if rules.praise_top is not None:
        return rules.praise_top
    assert rules.praise_share is not None
    return max(1, int((rules.praise_share * towns).to_integral_value(rounding=ROUND_DOWN)))


def outcomes(spec: EvaluationSpec, ranked: Sequence[Ranked],
             history: Sequence[Collection[Hashable]] = ()) -> Outcomes:
    """Praise, supervision and revocation proposals by the ranking rules. `history` holds the towns supervised in
    the years before, last year first (an empty collection for a year without an evaluation)."""
    rules = spec.ranking
    groups = _groups(ranked)
    praised = [r for r in _take(groups, praise_count(spec, len(ranked))) if r.town.total >= rules.praise_min_total]
    praised_towns = {r.town.town for r in praised}
    rest = [g for g in groups if g[0].town.town not in praised_towns]
    supervised_towns = {r.town.town for r in _take(list(reversed(rest)), rules.supervise_bottom)}
    supervised = [r for r in ranked if r.town.town in supervised_towns]
    proposals: list[Proposal] = []
    for r in ranked:
        reasons: list[Label] = []
        years = rules.revoke_bottom_years
        if years is not None and r.town.town in supervised_towns and len(history) >= years - 1 \
                and all(r.town.town in history[n] for n in range(years - 1)):
            reasons.append(Label(f"连续 {years} 年排名末位（督办）",
                                 f"in the bottom ranks (supervised) {years} years running"))
        if rules.revoke_below is not None and r.town.total < rules.revoke_below:
            reasons.append(Label(f"总分 {_n(r.town.total)} 分，低于 {_n(rules.revoke_below)} 分",
                                 f"a total of {_n(r.town.total)}, below {_n(rules.revoke_below)}"))
        if reasons:
            proposals.append(Proposal(r, tuple(reasons)))
    return Outcomes(tuple(praised), tuple(supervised), tuple(proposals))

