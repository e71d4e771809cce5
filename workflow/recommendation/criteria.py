"""The criteria a municipal town must meet to be recommended for provincial level
(definitions/provincial_criteria.yaml), checked when they load, and applied to a town: its registry record, its
latest accepted statistics, its latest final evaluation and its rectification orders. Every criterion a town
misses is one reason, in Chinese and English, as the designation's eligibility check gives them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

from sqlmodel import Session, col, select

from workflow.core.evaluations import evaluation_history
from workflow.core.models import Case, Town, TownStatistics
from workflow.core.queries import registry_case
from workflow.core.reasons import parse_date, reason
from workflow.core.yamlcheck import Checker, FileErrors, Label, read_mapping

CRITERIA_PATH = Path(__file__).resolve().parents[2] / "definitions" / "provincial_criteria.yaml"
MUNICIPAL = "municipal"
RECTIFICATION = "rectification"


class CriteriaError(FileErrors):
    """Problems in definitions/provincial_criteria.yaml; `errors` holds `file: key: problem` lines."""


@dataclass(frozen=True)
class Criteria:
    version: int
    label: Label
    min_municipal_years: int
    min_output_yi: Decimal
    statistics_max_age: int
    evaluation_max_age: int
    min_score_percent: Decimal | None
    max_rank: int | None
    blocking_states: tuple[str, ...]


def _whole(check: Checker, raw: Any, key: str, *, low: int = 0, optional: bool = False) -> int | None:
    if raw is None and optional:
        return None
    if isinstance(raw, bool) or not isinstance(raw, int) or raw < low:
        check.error(key, f"must be a whole number of at least {low}")
        return None
    return raw


def _number(check: Checker, raw: Any, key: str, *, high: Decimal | None = None,
            optional: bool = False) -> Decimal | None:
    if raw is None and optional:
        return None
    if isinstance(raw, bool) or not isinstance(raw, int | float) or raw < 0 or (high is not None and raw > high):
        check.error(key, "must be a number from 0" + (f" to {high}" if high is not None else ""))
        return None
    return Decimal(str(raw))


def parse_criteria(text: str, filename: str, rectification_states: set[str] | None = None) -> Criteria:
    """The criteria of the file; CriteriaError lists every problem (a blocking state the rectification order does
    not have among them, when its states are given)."""
    check = Checker(filename)
    raw = read_mapping(text, filename, CriteriaError)
    check.unknown_keys(raw, {"key", "version", "label", "min_municipal_years", "statistics", "evaluation",
                             "blocking_rectification_states"})
    if raw.get("key") != "provincial_criteria":
        check.error("key", "must be 'provincial_criteria'")
    version = _whole(check, raw.get("version"), "version", low=1)
    label = check.label(raw.get("label"), "label")
    years = _whole(check, raw.get("min_municipal_years"), "min_municipal_years")
    stats = raw.get("statistics")
    if not isinstance(stats, dict):
        check.error("statistics", "must be a mapping with min_output_yi and max_age_years")
        stats = {}
    check.unknown_keys(stats, {"min_output_yi", "max_age_years"}, "statistics")
    output = _number(check, stats.get("min_output_yi"), "statistics.min_output_yi")
    stats_age = _whole(check, stats.get("max_age_years"), "statistics.max_age_years")
    evaluation = raw.get("evaluation")
    if not isinstance(evaluation, dict):
        check.error("evaluation", "must be a mapping with max_age_years, min_score_percent and max_rank")
        evaluation = {}
    check.unknown_keys(evaluation, {"max_age_years", "min_score_percent", "max_rank"}, "evaluation")
    eval_age = _whole(check, evaluation.get("max_age_years"), "evaluation.max_age_years")
    percent = _number(check, evaluation.get("min_score_percent"), "evaluation.min_score_percent",
                      high=Decimal(100), optional=True)
    max_rank = _whole(check, evaluation.get("max_rank"), "evaluation.max_rank", low=1, optional=True)
    blocking = check.names(raw.get("blocking_rectification_states"), "blocking_rectification_states")
    if rectification_states is not None:
        for name in blocking:
            if name not in rectification_states:
                check.error("blocking_rectification_states", f"unknown state {name!r} of {RECTIFICATION}")
    if check.errors:
        raise CriteriaError(check.errors)
    assert version is not None and years is not None and output is not None and stats_age is not None
    assert eval_age is not None
    return Criteria(version=version, label=label, min_municipal_years=years, min_output_yi=output,
                    statistics_max_age=stats_age, evaluation_max_age=eval_age, min_score_percent=percent,
                    max_rank=max_rank, blocking_states=blocking)


@cache
def criteria() -> Criteria:
    """The criteria of definitions/provincial_criteria.yaml, checked against the rectification order's states."""
    from workflow.core.catalog import CATALOG

    states = set(CATALOG.current(RECTIFICATION).states)
    return parse_criteria(CRITERIA_PATH.read_text(encoding="utf-8"), CRITERIA_PATH.name, states)


# --- applying them to a town ---------------------------------------------------------------------------------------


def _years_since(start: date, today: date) -> int:
    years = today.year - start.year
    return years - 1 if (today.month, today.day) < (start.month, start.day) else years


def latest_statistics(session: Session, town_id: int) -> TownStatistics | None:
    """The town's latest accepted year of statistics."""
    return session.exec(select(TownStatistics).where(TownStatistics.town_id == town_id)
                        .order_by(col(TownStatistics.year).desc())).first()


def blocking_orders(session: Session, town_id: int, states: tuple[str, ...]) -> list[Case]:
    """The town's rectification orders standing overdue or criticised."""
    if not states:
        return []
    return list(session.exec(select(Case).where(Case.definition_key == RECTIFICATION, Case.town_id == town_id,
                                                col(Case.state).in_(states)).order_by(col(Case.id))).all())


def reasons_for(session: Session, town_id: int, today: date, spec: Criteria | None = None) -> list[dict[str, Any]]:
    """Every criterion the town misses today, in Chinese and English ([]: it may be recommended)."""
    spec = spec or criteria()
    found: list[dict[str, Any]] = []
    record = registry_case(session, town_id)
    if record is None or record.state != MUNICIPAL:
        return [reason("该镇当前不是市级专业镇，不能推荐省级", "the town is not a municipal professional town now")]
    designated = parse_date((record.data or {}).get("designated_date"))
    if designated is None or _years_since(designated, today) < spec.min_municipal_years:
        since = designated.isoformat() if designated else "—"
        found.append(reason(f"认定为市级专业镇未满 {spec.min_municipal_years} 年（认定日期 {since}）",
                            f"designated municipal less than {spec.min_municipal_years} years ago (on {since})"))
    stats = latest_statistics(session, town_id)
    oldest = today.year - spec.statistics_max_age
    if stats is None or stats.year < oldest:
        found.append(reason(f"没有 {oldest} 年以来已审核通过的年度统计数据",
                            f"no accepted annual statistics of {oldest} or later"))
    elif stats.output_yi is None or Decimal(str(stats.output_yi)) < spec.min_output_yi:
        shown = "未填报" if stats.output_yi is None else f"{stats.output_yi:g} 亿元"
        en = "not given" if stats.output_yi is None else f"{stats.output_yi:g} 亿元"
        found.append(reason(f"{stats.year} 年主导产业产值 {shown}，低于 {spec.min_output_yi:f} 亿元",
                            f"the leading industry's output of {stats.year} is {en}, under "
                            f"{spec.min_output_yi:f} 亿元"))
    history = evaluation_history(session, town_id)
    latest = history[0] if history else None
    oldest = today.year - spec.evaluation_max_age
    if latest is None or latest.year < oldest:
        found.append(reason(f"没有 {oldest} 年度以来的年度评价结果",
                            f"no final annual evaluation of {oldest} or later"))
    else:
        if spec.min_score_percent is not None and latest.max_points > 0 \
                and latest.total * 100 < spec.min_score_percent * latest.max_points:
            found.append(reason(f"{latest.year} 年度评价总分 {latest.total} / {latest.max_points}，"
                                f"低于满分的 {spec.min_score_percent:f}%",
                                f"the {latest.year} evaluation's total {latest.total} / {latest.max_points} is under "
                                f"{spec.min_score_percent:f}% of the points"))
        if spec.max_rank is not None and latest.rank is not None and latest.rank > spec.max_rank:
            found.append(reason(f"{latest.year} 年度评价排名第 {latest.rank} 位，未进入前 {spec.max_rank} 名",
                                f"ranked {latest.rank} in {latest.year}, not within the first {spec.max_rank}"))
    orders = blocking_orders(session, town_id, spec.blocking_states)
    if orders:
        numbers = "、".join(o.number for o in orders)
        found.append(reason(f"有逾期未整改或被通报批评的整改通知：{numbers}",
                            f"rectification orders overdue or criticised: {numbers}"))
    return found


@dataclass(frozen=True)
class ShortlistRow:
    town_id: int
    town: str
    county_id: int
    record_id: int
    reasons: list[dict[str, Any]]

    @property
    def is_eligible(self) -> bool:
        return not self.reasons


def shortlist(session: Session, today: date) -> list[ShortlistRow]:
    """Every municipal town with the criteria it misses (none: it may be recommended), eligible towns first."""
    spec = criteria()
    rows = session.exec(select(Case, Town).join(Town, col(Town.id) == col(Case.town_id))
                        .where(Case.definition_key == "town", Case.state == MUNICIPAL)
                        .order_by(col(Town.county_id), col(Town.name))).all()
    found = [ShortlistRow(town_id=town.id or 0, town=town.name, county_id=town.county_id, record_id=record.id or 0,
                          reasons=reasons_for(session, town.id or 0, today, spec)) for record, town in rows]
    return sorted(found, key=lambda r: not r.is_eligible)
