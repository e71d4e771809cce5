"""A town evaluation's values (definitions/evaluation_town.yaml): reading what the county, a member unit or the
office enters, the values read from the town's accepted statistics, and the scores computed on all of them with
`scoring.score_town` — the breakdown the case page shows and the ranking takes."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlmodel import Session, col, select

from workflow.core.models import Case, TownStatistics
from workflow.core.reasons import reason
from workflow.core.yamlcheck import Label
from workflow.evaluation.indicators import EvaluationSpec, Indicator, evaluation_spec
from workflow.evaluation.scoring import Adjustment, Score, TownScore, score_town

MAX_VALUE = Decimal(10) ** 9
MAX_TEXT = 500
MAX_EVIDENCE = 20  # files per group
MAX_ID = 2**31 - 1
YES = ("yes", "true", "1", "是")
NO = ("no", "false", "0", "否")
STATISTICS_CHUNK = 500  # towns per query: well under every database's limit of bound parameters


def spec_of(case: Case) -> EvaluationSpec:
    """The indicators the case was opened with (only version 1 exists; a new version is a new file)."""
    return evaluation_spec()


def provided_by(spec: EvaluationSpec, provider: str) -> tuple[Indicator, ...]:
    """The indicators whose value `provider` gives (county, statistics, office or a member unit's name)."""
    return tuple(i for i in spec.indicators if i.provider == provider)


def member_providers(spec: EvaluationSpec) -> tuple[str, ...]:
    """The member units that provide a value, in the file's order."""
    return tuple(name for name, _ in spec.providers)


def read_value(indicator: Indicator, raw: Any) -> tuple[Any, dict[str, Any] | None]:
    """A value typed or sent for `indicator`: True/False for a yes/no, else a number from 0 (at most two decimals,
    at most 100 for a percentage); (None, None) for an empty one."""
    label = indicator.label
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None, None
    if indicator.rule.kind == "yes_no":
        if isinstance(raw, bool):
            return raw, None
        text = str(raw).strip().lower()
        if text in YES or text in NO:
            return text in YES, None
        return None, reason(f"{label.zh}只能填“是”或“否”", f"{label.en} must be yes or no", indicator.key)
    if isinstance(raw, bool):
        return None, reason(f"{label.zh}应为数字", f"{label.en} must be a number", indicator.key)
    try:
        number = Decimal(str(raw).strip())
    except InvalidOperation:
        return None, reason(f"{label.zh}应为数字", f"{label.en} must be a number", indicator.key)
    if not number.is_finite():
        return None, reason(f"{label.zh}应为数字", f"{label.en} must be a number", indicator.key)
    top = Decimal(100) if indicator.unit is not None and indicator.unit.en == "%" else MAX_VALUE
    if not Decimal(0) <= number <= top:
        return None, reason(f"{label.zh}应在 0～{top:f} 之间", f"{label.en} must be from 0 to {top:f}", indicator.key)
    if number != number.quantize(Decimal("0.01")):
        return None, reason(f"{label.zh}最多保留两位小数", f"{label.en} has more than two decimals", indicator.key)
    return (int(number) if number == number.to_integral_value() else float(number)), None


def read_values(indicators: tuple[Indicator, ...], raw: Any, what: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The values of `indicators` in the mapping `raw` (an empty one left out); every problem named."""
    if raw is None:
        return {}, []
    if not isinstance(raw, dict):
        return {}, [reason("评价数值格式不正确", f"{what} must be a mapping", what)]
    known = {i.key: i for i in indicators}
    values: dict[str, Any] = {}
    problems = [reason(f"没有可填报的指标 {key}", f"{key} is not an indicator you provide", what)
                for key in raw if key not in known]
    for key, indicator in known.items():
        value, problem = read_value(indicator, raw.get(key))
        if problem:
            problems.append(problem)
        elif value is not None:
            values[key] = value
    return values, problems


def read_texts(spec: EvaluationSpec, raw: Any) -> tuple[dict[str, str], list[dict[str, Any]]]:
    """A short text per group (at most MAX_TEXT characters each)."""
    if raw is None:
        return {}, []
    if not isinstance(raw, dict):
        return {}, [reason("分组说明格式不正确", "group_texts must be a mapping", "group_texts")]
    texts, problems = {}, []
    for key, text in raw.items():
        group = spec.group(str(key))
        if group is None or not isinstance(text, str):
            problems.append(reason(f"没有指标组 {key}", f"no group {key}", "group_texts"))
        elif len(text.strip()) > MAX_TEXT:
            problems.append(reason(f"{group.label.zh}的说明不能超过 {MAX_TEXT} 字",
                                   f"the text of {group.label.en} is longer than {MAX_TEXT}", f"text-{key}"))
        elif text.strip():
            texts[group.key] = text.strip()
    return texts, problems


def read_evidence(spec: EvaluationSpec, raw: Any) -> tuple[dict[str, list[int]], list[dict[str, Any]]]:
    """The attachments the county names as a group's evidence: group key -> attachment ids (each once, at most
    MAX_EVIDENCE); whether they are the case's own attachments is the guard's to check."""
    if raw is None:
        return {}, []
    if not isinstance(raw, dict):
        return {}, [reason("证明材料格式不正确", "group_evidence must be a mapping", "group_evidence")]
    evidence: dict[str, list[int]] = {}
    problems = []
    for key, ids in raw.items():
        group = spec.group(str(key))
        if group is None:
            problems.append(reason(f"没有指标组 {key}", f"no group {key}", "group_evidence"))
        elif not isinstance(ids, list) or not all(isinstance(i, int) and not isinstance(i, bool)
                                                  and 0 < i <= MAX_ID for i in ids):
            problems.append(reason(f"{group.label.zh}的证明材料应为附件编号列表",
                                   f"the evidence of {group.label.en} must be a list of attachment ids",
                                   f"evidence-{key}"))
        elif len(set(ids)) > MAX_EVIDENCE:
            problems.append(reason(f"{group.label.zh}的证明材料不能超过 {MAX_EVIDENCE} 个",
                                   f"the evidence of {group.label.en} is more than {MAX_EVIDENCE} files",
                                   f"evidence-{key}"))
        elif ids:
            evidence[group.key] = list(dict.fromkeys(ids))
    return evidence, problems


def evidence_asked(spec: EvaluationSpec, group_key: str) -> tuple[Label, ...]:
    """The evidence the indicators of a group ask of the county (those whose value or target it gives), each once."""
    group = spec.group(group_key)
    if group is None:
        return ()
    asked = [i.evidence for i in group.indicators if i.provider == "county" or i.rule.kind == "target_share"]
    return tuple(dict.fromkeys(asked))


def shown(number: Decimal) -> str:
    """A number as people write it: no exponent, no trailing zeros."""
    text = format(number, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def label_of(spec: EvaluationSpec, key: str) -> Label:
    found = spec.indicator(key)
    return found.label if found else Label(key, key)


def target_indicators(spec: EvaluationSpec) -> tuple[Indicator, ...]:
    """The indicators scored as a share of a target: the county gives the town's target with its self-assessment."""
    return tuple(i for i in spec.indicators if i.rule.kind == "target_share")


def statistics_values(session: Session, spec: EvaluationSpec, town_id: int, year: int
                      ) -> tuple[dict[str, Any], dict[str, Any], int | None]:
    """The values of the indicators read from statistics, from the town's accepted row of `year`, and last year's
    (for a growth); ({}, {}, None) when the year is not accepted yet."""
    return statistics_values_of(session, spec, [town_id], year)[town_id]


def statistics_values_of(session: Session, spec: EvaluationSpec, town_ids: Sequence[int], year: int
                         ) -> dict[int, tuple[dict[str, Any], dict[str, Any], int | None]]:
    """`statistics_values` of several towns, by town, read in one query per STATISTICS_CHUNK towns."""
    figures: dict[int, dict[int, dict[str, Any]]] = {town_id: {} for town_id in town_ids}
    ids = list(figures)
    for start in range(0, len(ids), STATISTICS_CHUNK):
        query = (select(TownStatistics.town_id, TownStatistics.year, TownStatistics.figures)
                 .where(col(TownStatistics.town_id).in_(ids[start:start + STATISTICS_CHUNK]),
                        col(TownStatistics.year).in_((year, year - 1))))
        for town_id, row_year, row_figures in session.exec(query).all():
            figures[town_id][row_year] = dict(row_figures)
    return {town_id: _statistics_values(spec, rows, year) for town_id, rows in figures.items()}


def _statistics_values(spec: EvaluationSpec, rows: dict[int, dict[str, Any]], year: int
                       ) -> tuple[dict[str, Any], dict[str, Any], int | None]:
    if year not in rows:
        return {}, {}, None
    values, last = {}, {}
    for indicator in provided_by(spec, "statistics"):
        assert indicator.field is not None
        value = rows[year].get(indicator.field)
        if isinstance(value, int | float) and not isinstance(value, bool):
            values[indicator.key] = value
        previous = rows.get(year - 1, {}).get(indicator.field)
        if indicator.rule.kind == "growth" and isinstance(previous, int | float) and not isinstance(previous, bool):
            last[indicator.key] = previous
    return values, last, year


def values_of(data: dict[str, Any]) -> dict[str, Any]:
    """Every value the case holds, by indicator: the statistics', the county's, each member unit's, then what the
    office entered (which wins)."""
    values: dict[str, Any] = dict(data.get("statistics_values") or {})
    values.update(data.get("assessment") or {})
    for answer in (data.get("unit_answers") or {}).values():
        values.update(answer.get("values") or {})
    values.update({key: entry["value"] for key, entry in (data.get("entered") or {}).items()})
    return values


def score_data(spec: EvaluationSpec, data: dict[str, Any], *, town: Any = None, name: str = "") -> TownScore:
    """The scores of a case's data as `scoring.score_town` computes them (adjustments included)."""
    adjustments = {key: Adjustment(Decimal(str(entry["points"])), entry["reason"])
                   for key, entry in (data.get("adjustments") or {}).items()}
    return score_town(spec, values_of(data), town=town, name=name, last_values=data.get("last_values") or {},
                      targets=data.get("targets") or {}, adjustments=adjustments)


def town_score(case: Case, name: str = "") -> TownScore:
    """The case's scores, by its town: what `scoring.rank` takes for the year's ranking."""
    return score_data(spec_of(case), case.data or {}, town=case.town_id, name=name or case.title)


@dataclass(frozen=True)
class Row:
    """One indicator as the breakdown shows it."""

    indicator: Indicator
    value: Any
    score: Score
    source: Label  # who gave the value


@dataclass(frozen=True)
class GroupRows:
    key: str
    label: Label
    points: Decimal
    max_points: Decimal
    text: str
    rows: tuple[Row, ...]
    evidence: tuple[int, ...] = ()  # attachments of the case the county gave as the group's evidence


def _source(indicator: Indicator, data: dict[str, Any]) -> Label:
    if indicator.key in (data.get("entered") or {}):
        return Label("办公室补录", "Entered by the office")
    if indicator.provider == "statistics":
        year = data.get("statistics_year")
        return Label(f"{year}年度统计（已审核）", f"Accepted statistics of {year}") if year \
            else Label("年度统计（尚未审核通过）", "Statistics (not accepted yet)")
    if indicator.provider == "county":
        return Label("县（区）自评", "County's self-assessment")
    if indicator.provider == "office":
        return Label("领导小组办公室", "The office")
    return Label(indicator.provider, indicator.provider)


def breakdown(case: Case, provider: str | None = None) -> tuple[TownScore, list[GroupRows]]:
    """The case's scores by group, each indicator with its value, who gave it, its points and how they were
    reached; only the indicators of `provider` when given (a member unit sees its own)."""
    spec = spec_of(case)
    score = town_score(case)
    by_key = {s.key: s for s in score.scores}
    data = case.data or {}
    values = values_of(data)
    groups = []
    for group in spec.groups:
        rows = tuple(Row(i, values.get(i.key), by_key[i.key], _source(i, data)) for i in group.indicators
                     if provider is None or i.provider == provider)
        if rows:
            groups.append(GroupRows(group.key, group.label, score.groups[group.key], group.points,
                                    (data.get("group_texts") or {}).get(group.key, ""), rows,
                                    tuple((data.get("group_evidence") or {}).get(group.key, ()))))
    return score, groups


def missing(spec: EvaluationSpec, data: dict[str, Any]) -> list[Score]:
    """The indicators not scored yet (no value, no last year's value, no target), for the office to decide."""
    return [s for s in score_data(spec, data).scores if s.points is None]
