"""The year's ranking as its readers see it (the ranking page, its workbook and the API's JSON): the office and the
leader in every state (while the towns are being scored, each town's state and score so far), a county only once
the leader has approved it (the ranking is then a public notice, every town in it, but only its own towns' cases
open to it); a member unit, which sees only the indicators it gives, never."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from workflow.core import audit
from workflow.core.access import case_filter
from workflow.core.actors import Actor
from workflow.core.catalog import CATALOG
from workflow.core.definitions import Label, TransitionSpec
from workflow.core.engine import allowed_transitions
from workflow.core.errors import Forbidden, NotFound, Unprocessable
from workflow.core.models import Case, Role, Town
from workflow.evaluation import values as v
from workflow.evaluation.export import results_workbook
from workflow.evaluation.indicators import EvaluationSpec, evaluation_spec
from workflow.evaluation.ranking import RANKING, history_label, ranking_case, year_evaluations
from workflow.evaluation.scoring import TownScore

SEES_EVERY_STATE = frozenset({Role.office.value, Role.leader.value})
READERS = SEES_EVERY_STATE | {Role.county.value}
FINAL = ("scored", "ranked")
OUTCOMES = {"praised": ("表扬", "praised"), "supervised": ("督办", "supervised"),
            "revocation": ("拟撤销", "proposed for revocation")}


@dataclass(frozen=True)
class TownProgress:
    """A town's evaluation while the year is being scored."""

    case: Case
    town: str
    score: TownScore
    is_final: bool


@dataclass(frozen=True)
class Outcome:
    """What the approved ranking set in motion for one town: a 督办 order or a revocation proposal (the case it
    is on, when the reader may open it), or why no proposal was made."""

    town_id: int
    town: str
    case_id: int | None
    number: str | None
    note: str | None = None


@dataclass(frozen=True)
class RankingView:
    year: int
    case: Case
    spec: EvaluationSpec
    state_label: Label
    # as submitted (data["ranking"]), each with "change" (history_label) and "outcome_label" (表扬 or 督办; a
    # revocation proposal is the row's "revocation" reasons) added
    rows: list[dict[str, Any]]
    is_submitted: bool
    is_published: bool
    progress: list[TownProgress] = field(default_factory=list)  # while being scored, for the office and the leader
    all_final: bool = False
    transitions: list[TransitionSpec] = field(default_factory=list)  # what the reader may do on the ranking now
    praise_notice: dict[str, Any] | None = None
    orders: list[Outcome] = field(default_factory=list)
    revocations: list[Outcome] = field(default_factory=list)
    may_open_ranking_case: bool = False
    links: frozenset[int] = frozenset()  # the cases (town evaluations, orders, records) the reader may open


def _refuse_non_readers(actor: Actor) -> None:
    if actor.role not in READERS:
        raise Forbidden("年度评价排名仅供市专业镇办、领导小组和各县（区）查阅。",
                        "Only the office, the leading group and the counties read the ranking.")


def not_published() -> NotFound:
    # the same words for a year without a ranking: what a county may not see yet, it may not tell apart either
    return NotFound("该年度的评价排名尚未审定发布，发布后可在此查看。",
                    "The ranking of that year has not been approved and published yet.", code="not_published")


def ranking_years(session: Session, actor: Actor) -> list[int]:
    """The years whose ranking `actor` may read, latest first (a county: the published ones)."""
    _refuse_non_readers(actor)
    query = select(Case).where(Case.definition_key == RANKING)
    if actor.role not in SEES_EVERY_STATE:
        query = query.where(Case.state == "approved")
    years = {int(c.data["evaluation_year"]) for c in session.exec(query).all() if c.data.get("evaluation_year")}
    return sorted(years, reverse=True)


def may_read(session: Session, actor: Actor, year: int) -> bool:
    """Whether `actor` may read the ranking of `year` now (the year's list links to it then)."""
    return actor.role in READERS and year in ranking_years(session, actor)


def readable_ranking(session: Session, actor: Actor, year: int) -> Case:
    """The ranking case of `year` if `actor` may read it now (Forbidden, or NotFound with the reason)."""
    _refuse_non_readers(actor)
    case = ranking_case(session, year)
    if actor.role not in SEES_EVERY_STATE:
        if case is None or case.state != "approved":
            raise not_published()
        return case
    if case is None:
        raise NotFound("该年度尚未开始评价，没有评价排名。", "The evaluation of that year has not been opened.",
                       code="not_found")
    return case


def _links(session: Session, actor: Actor, ids: set[int]) -> frozenset[int]:
    if not ids:
        return frozenset()
    found = session.exec(select(Case.id).where(col(Case.id).in_(ids), case_filter(actor))).all()
    return frozenset(i for i in found if i is not None)


def _outcome_label(row: dict[str, Any]) -> dict[str, str] | None:
    key = row.get("outcome")
    if not key:
        return None
    zh, en = OUTCOMES[key]
    return {"zh": zh, "en": en}


def _progress(session: Session, year: int) -> list[TownProgress]:
    cases = year_evaluations(session, year)
    town_ids = {c.town_id for c in cases if c.town_id is not None}
    names = dict(session.exec(select(Town.id, Town.name).where(col(Town.id).in_(town_ids))).all()) \
        if town_ids else {}
    return [TownProgress(case=c, town=str(names.get(c.town_id, c.title)), score=v.town_score(c),
                         is_final=c.state in FINAL) for c in cases]


def ranking_view(session: Session, actor: Actor, year: int) -> RankingView:
    """The ranking of `year` as `actor` may read it (Forbidden for a member unit, NotFound before a county may)."""
    case = readable_ranking(session, actor, year)
    definition = CATALOG.get(case.definition_key, case.definition_version, session)
    rows = [{**r, "change": history_label(r), "outcome_label": _outcome_label(r)}
            for r in case.data.get("ranking") or []]
    is_published = case.state == "approved"
    progress = _progress(session, year) if case.state == "scoring" else []
    names = {int(r["town_id"]): str(r["town"]) for r in rows}
    cases: dict[int, Case] = {}
    ids = {int(i) for i in (case.data.get("orders") or {}).values()} | \
        {int(i) for i in (case.data.get("revocation_cases") or {}).values()}
    if ids:
        cases = {c.id: c for c in session.exec(select(Case).where(col(Case.id).in_(ids))).all()
                 if c.id is not None}
    links = _links(session, actor, ids | {int(r["case_id"]) for r in rows} | {p.case.id for p in progress
                                                                             if p.case.id is not None})

    def outcome(town_id: str, case_id: int) -> Outcome:
        found = cases.get(int(case_id))
        return Outcome(town_id=int(town_id), town=names.get(int(town_id), ""), case_id=int(case_id),
                       number=found.number if found else None)

    orders = [outcome(t, i) for t, i in (case.data.get("orders") or {}).items()]
    revocations = [outcome(t, i) for t, i in (case.data.get("revocation_cases") or {}).items()]
    revocations += [Outcome(town_id=int(t), town=names.get(int(t), ""), case_id=None, number=None, note=note)
                    for t, note in (case.data.get("revocations_not_proposed") or {}).items()]
    by_rank = {t: n for n, t in enumerate(r["town_id"] for r in rows)}
    return RankingView(
        year=year, case=case, spec=evaluation_spec(), state_label=definition.states[case.state].label, rows=rows,
        is_submitted=bool(rows), is_published=is_published, progress=progress,
        all_final=bool(progress) and all(p.is_final for p in progress),
        transitions=allowed_transitions(definition, case, actor) if actor.role in SEES_EVERY_STATE else [],
        praise_notice=case.data.get("praise_notice") if is_published else None,
        orders=sorted(orders, key=lambda o: by_rank.get(o.town_id, 0)),
        revocations=sorted(revocations, key=lambda o: by_rank.get(o.town_id, 0)),
        may_open_ranking_case=actor.role in SEES_EVERY_STATE, links=links)


def workbook_rows(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The ranking's rows as results_workbook takes them: a town proposed for revocation has that outcome."""
    return [{**r, "outcome": "revocation" if r.get("revocation") else r.get("outcome")} for r in rows]


def results_filename(year: int, *, is_published: bool) -> str:
    return f"{year}年度专业镇考核评价结果{'' if is_published else '（待审定）'}.xlsx"


def export_results(session: Session, *, actor: Actor, year: int, now: datetime) -> tuple[str, bytes]:
    """The year's results workbook for a reader of the submitted ranking (a county: the published one); the
    export is recorded in the audit trail as any list's export is."""
    view = ranking_view(session, actor, year)
    if not view.is_submitted:
        raise Unprocessable("本年度排名尚未报送，暂无评价结果可导出。",
                            "The ranking of that year has not been submitted; there are no results to export.")
    content = results_workbook(year=year, spec=view.spec, rows=workbook_rows(view.rows))
    filename = results_filename(year, is_published=view.is_published)
    audit.record(session, kind="list_exported", now=now, actor=actor, case_id=view.case.id,
                 county_id=actor.unit_id if actor.role == Role.county else None,
                 data={"list": "evaluation_results", "list_name": "年度评价结果", "filters": {"year": year},
                       "rows": len(view.rows), "total": len(view.rows), "capped": False, "format": "xlsx",
                       "filename": filename, "state": view.case.state})
    return filename, content

