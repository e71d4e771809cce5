"""The year's ranking (definitions/evaluation_ranking.yaml): one case per year, opened with the year's town
evaluations. The office submits it once every town's scores are final (`compute_ranking` keeps the ranking as
submitted: what the leader approves is what was computed, not what a later change would give); the leader returns
it with a comment or approves it, and approval (`publish_ranking`) publishes it and sets the outcomes in motion:

- the praise notice (表扬通报, numbered in its own series) for the towns praised, stored on the ranking and on each
  praised town's record (its county acknowledges it, 签收);
- a 督办 order for each town supervised: a rectification order created by the system, linked to the town's
  evaluation, its problem the town's weakest groups, due the definitions' working days after approval;
- a revocation proposal on the record of each town the ranking rules name (the record's own `propose_revocation`),
  or, when its record cannot take one (not at municipal level), a note of why not.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlmodel import Session, col, select

from workflow.core import audit
from workflow.core.actors import Actor
from workflow.core.catalog import CATALOG
from workflow.core.engine import FireContext, create_case, fire
from workflow.core.models import Case, Town, Unit
from workflow.core.queries import office_unit, registry_case
from workflow.core.reasons import reason
from workflow.core.registry import action, guard
from workflow.core.yamlcheck import Label
from workflow.evaluation import values as v
from workflow.evaluation.indicators import EvaluationSpec, TieBreaker, evaluation_spec
from workflow.evaluation.scoring import TownScore, outcomes, rank

RANKING = "evaluation_ranking"
TOWN = "evaluation_town"
SHOWN_UNSCORED = 10  # the towns named when some are not final yet
MAX_PROBLEM = 5000
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


def ranking_case(session: Session, year: int) -> Case | None:
    """The ranking case of `year`, if the year's evaluation has been opened."""
    return session.exec(select(Case).where(Case.definition_key == RANKING,
                                           col(Case.data)["evaluation_year"].as_integer() == year)).first()


def open_ranking(session: Session, *, actor: Actor, now: datetime, year: int, spec_version: int) -> Case:
    """The year's ranking case, opened with the first town evaluations of the year (held by the office's unit)."""
    found = ranking_case(session, year)
    if found is not None:
        return found
    return create_case(session=session, definition_key=RANKING, actor=actor, now=now,
                       county_id=office_unit(session).id,
                       title=f"{year}年度专业镇评价排名",
                       data={"evaluation_year": year, "spec_version": spec_version})


def year_evaluations(session: Session, year: int) -> list[Case]:
    """Every town evaluation of `year`, by number."""
    return list(session.exec(select(Case).where(Case.definition_key == TOWN,
                                                 col(Case.data)["evaluation_year"].as_integer() == year)
                             .order_by(col(Case.id))).all())


def published(session: Session, year: int) -> Case | None:
    """The approved ranking of `year` (what the counties see), or None."""
    case = ranking_case(session, year)
    return case if case is not None and case.state == "approved" else None


def _names(session: Session, cases: list[Case]) -> tuple[dict[int, Town], dict[int, str]]:
    town_ids = {c.town_id for c in cases}
    towns = {t.id: t for t in session.exec(select(Town).where(col(Town.id).in_(town_ids))).all()}
    county_ids = {t.county_id for t in towns.values()}
    counties = dict(session.exec(select(Unit.id, Unit.name).where(col(Unit.id).in_(county_ids))).all())
    return towns, counties  # type: ignore[return-value]  # ids of saved rows are not None


def tie_label(spec: EvaluationSpec, breaker: TieBreaker | None) -> dict[str, str] | None:
    """What set a town apart from another of the same total, as the ranking shows it (None: nothing did)."""
    if breaker is None:
        return None
    if breaker.kind == "group":
        group = next(g for g in spec.groups if g.key == breaker.key)
        return {"zh": f"同分时按{group.label.zh}得分排序", "en": f"equal totals ordered by {group.label.en}"}
    indicator = spec.indicator(breaker.key)
    assert indicator is not None
    what = "得分" if breaker.kind == "indicator" else "数值"
    en = "score" if breaker.kind == "indicator" else "value"
    return {"zh": f"同分时按{indicator.label.zh}{what}排序",
            "en": f"equal totals ordered by {indicator.label.en}'s {en}"}


def compute(session: Session, year: int) -> dict[str, Any]:
    """The ranking of `year` from the town evaluations' final scores: rows in rank order (rank, total, points per
    group, last year's published rank and total, the outcome), and the towns praised and supervised."""
    spec = evaluation_spec()
    cases = year_evaluations(session, year)
    towns, counties = _names(session, cases)
    by_town = {c.town_id: c for c in cases}
    scores: list[TownScore] = [v.town_score(c) for c in cases]  # a tie is ordered by its title, "… · <town>"
    ranked = rank(spec, scores)
    years = spec.ranking.revoke_bottom_years or 1
    before = [published(session, year - n) for n in range(1, years)]
    history = [set(p.data.get("supervised") or []) if p is not None else set() for p in before]
    result = outcomes(spec, ranked, history)
    last = published(session, year - 1)
    last_rows = {r["town_id"]: r for r in (last.data.get("ranking") or [])} if last is not None else {}
    praised = {r.town.town for r in result.praised}
    supervised = {r.town.town for r in result.supervised}
    proposals = {p.ranked.town.town: p for p in result.revocations}
    rows = []
    for r in ranked:
        town_id = int(r.town.town)  # type: ignore[call-overload]  # town_score keys a town by its id
        case = by_town[town_id]
        town = towns[town_id]  # a town evaluation is always of a town
        previous = last_rows.get(town_id)
        proposal = proposals.get(town_id)
        rows.append({
            "case_id": case.id, "town_id": town_id, "town": town.name, "county_id": town.county_id,
            "county": counties[town.county_id],
            "rank": r.rank, "tied": r.tied, "decided_by": tie_label(spec, r.decided_by),
            "total": str(r.town.total), "groups": {k: str(p) for k, p in r.town.groups.items()},
            "last_rank": previous["rank"] if previous else None,
            "last_total": previous["total"] if previous else None,
            "outcome": "praised" if town_id in praised else "supervised" if town_id in supervised else None,
            "revocation": [{"zh": x.zh, "en": x.en} for x in proposal.reasons] if proposal else [],
        })
    return {"ranking": rows, "praised": sorted(int(t) for t in praised),  # type: ignore[call-overload]  # ids
            "supervised": sorted(int(t) for t in supervised),  # type: ignore[call-overload]  # town ids
            "revocations": sorted(int(t) for t in proposals),  # type: ignore[call-overload]  # town ids
            "towns": len(rows)}  # the version of the indicators is the case's own, set when it was opened


@guard("towns_all_scored")
def towns_all_scored(ctx: FireContext) -> list[dict[str, Any]]:
    """Every town evaluation of the year has its final scores (and there is at least one)."""
    cases = year_evaluations(ctx.session, int(ctx.case.data["evaluation_year"]))
    if not cases:
        return [reason("本年度没有专业镇评价", "there is no town evaluation this year")]
    waiting = [c for c in cases if c.state != "scored"]
    if not waiting:
        return []
    names = "、".join(c.title.split(" · ")[-1] for c in waiting[:SHOWN_UNSCORED])
    more = f"等 {len(waiting)} 个" if len(waiting) > SHOWN_UNSCORED else ""
    return [reason(f"尚有专业镇的评分未确定：{names}{more}",
                   f"{len(waiting)} towns' scores are not final yet")]


@action("compute_ranking")
def compute_ranking(ctx: FireContext) -> None:
    """Rank the towns as their scores stand now and keep it: the leader approves what was submitted."""
    ctx.data.update(compute(ctx.session, int(ctx.data["evaluation_year"])))
    ctx.data["submitted_at"] = ctx.now.isoformat(timespec="seconds")
    ctx.audit_data.update(towns=ctx.data["towns"], praised=ctx.data["praised"], supervised=ctx.data["supervised"],
                          revocations=ctx.data["revocations"])


@action("clear_ranking")
def clear_ranking(ctx: FireContext) -> None:
    """A returned ranking is submitted again, computed afresh: what was submitted is in the trail."""
    for key in ("ranking", "praised", "supervised", "revocations", "towns", "submitted_at"):
        ctx.data.pop(key, None)
    ctx.data["returns"] = int(ctx.data.get("returns") or 0) + 1


def _weakest(spec: EvaluationSpec, row: dict[str, Any], count: int = 2) -> list[str]:
    """The groups where the town reached the least share of the points, weakest first."""
    def share(group: Any) -> Decimal:
        return Decimal(row["groups"][group.key]) / group.points

    weakest = sorted(spec.groups, key=share)[:count]
    return [f"{g.label.zh} {v.shown(Decimal(row['groups'][g.key]))} / {v.shown(g.points)} 分" for g in weakest]


def supervision_problem(spec: EvaluationSpec, year: int, row: dict[str, Any], towns: int) -> str:
    """The problem text of a 督办 order: the rank, the total and the weakest groups."""
    return (f"{year}年度专业镇评价总分 {v.shown(Decimal(row['total']))} / {v.shown(spec.total)} 分，"
            f"排名第 {row['rank']} 位（共 {towns} 个），列入督办。得分率较低的方面：{'；'.join(_weakest(spec, row))}。"
            "请对照评价指标，分析原因，限期整改提升，并报送整改情况。")[:MAX_PROBLEM]


def _supervise(ctx: FireContext, spec: EvaluationSpec, year: int, rows: list[dict[str, Any]]) -> dict[str, int]:
    """A 督办 order for each town supervised, from the system, due the definitions' working days from today."""
    due, _ = ctx.calendar.add_working_days(ctx.today, spec.ranking.supervise_working_days)
    orders: dict[str, int] = {}
    for row in rows:
        if row["outcome"] != "supervised":
            continue
        order = create_case(
            session=ctx.session, definition_key="rectification", actor=Actor.system(), now=ctx.now,
            town_id=row["town_id"], parent_id=row["case_id"], calendar=ctx.calendar,
            title=f"督办：{year}年度评价排名靠后 · {row['town']}",
            data={"source": "evaluation", "evaluation_id": row["case_id"], "ranking_id": ctx.case.id,
                  "problem": supervision_problem(spec, year, row, len(rows)), "severity": "medium",
                  "due_date": due.isoformat()})
        assert order.id is not None
        orders[str(row["town_id"])] = order.id
    return orders


def _propose_revocations(ctx: FireContext, year: int, rows: list[dict[str, Any]]) -> tuple[dict[str, int],
                                                                                       dict[str, str]]:
    """The revocation proposals the ranking rules call for, on each town's record; a record that cannot take
    one (a provincial town, one already on its way out) is noted with its level instead. Every town has its record
    from its creation (`registry_case`)."""
    proposed: dict[str, int] = {}
    not_proposed: dict[str, str] = {}
    for row in rows:
        if not row["revocation"]:
            continue
        record = registry_case(ctx.session, row["town_id"])
        assert record is not None and record.id is not None
        registry = CATALOG.get(record.definition_key, record.definition_version, ctx.session)
        if registry.transition("propose_revocation", record.state) is None:
            not_proposed[str(row["town_id"])] = f"档案当前为“{registry.state_label(record.state)}”，不能提出撤销建议"
            continue
        grounds = "；".join(r["zh"] for r in row["revocation"])
        fire(session=ctx.session, case_id=record.id, trigger="propose_revocation", actor=Actor.system(),
             now=ctx.now, calendar=ctx.calendar,
             payload={"revocation_reason": f"{year}年度专业镇评价（{ctx.case.number}）：{grounds}"})
        proposed[str(row["town_id"])] = record.id
    return proposed, not_proposed


def _praise(ctx: FireContext, year: int, rows: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The praise notice for the towns praised, numbered, stored on the ranking and on each praised town's
    record, each county to acknowledge it; an audit event on each town's record says so."""
    from workflow.core.attachments import store_bytes
    from workflow.core.documents import catalog, render
    from workflow.core.engine import next_number
    from workflow.core.receipts import expect_receipt
    from workflow.evaluation.documents import praise_fields

    praised = [r for r in rows if r["outcome"] == "praised"]
    if not praised:
        return None
    spec = catalog().get("praise_notice")
    assert spec.counter is not None  # documents.yaml numbers the praise notice by the counter `praise`
    number = spec.number(ctx.today.year, next_number(ctx.session, spec.counter, ctx.today.year))
    fields = praise_fields(number=number, year=year, issued=ctx.today,
                           rows=[{"rank": r["rank"], "county": r["county"], "town": r["town"],
                                  "total": v.shown(Decimal(r["total"]))} for r in praised])
    content = render(ctx.session, "praise_notice", fields, issued=ctx.today)
    notice = store_bytes(session=ctx.session, actor=ctx.actor, data=content, filename=f"{number}.docx",
                         content_type=DOCX, kind="praise_notice", now=ctx.now, case_id=ctx.case.id)
    for r in praised:
        copy = store_bytes(session=ctx.session, actor=ctx.actor, data=content, filename=f"{number}.docx",
                           content_type=DOCX, kind="praise_notice", now=ctx.now, town_id=r["town_id"])
        expect_receipt(ctx.session, attachment=copy, unit_id=r["county_id"], now=ctx.now, calendar=ctx.calendar)
        record = registry_case(ctx.session, r["town_id"])
        assert record is not None  # every town has its record from its creation
        audit.record(ctx.session, kind="town_praised", now=ctx.now, actor=ctx.actor,
                     case_id=record.id, county_id=r["county_id"],
                     data={"evaluation_year": year, "rank": r["rank"], "total": r["total"], "number": number,
                           "attachment_id": copy.id, "ranking": ctx.case.number})
    return {"number": number, "attachment_id": notice.id, "towns": [r["town_id"] for r in praised]}


@action("publish_ranking")
def publish_ranking(ctx: FireContext) -> None:
    """Publish the approved ranking: the praise notice, the 督办 orders, the revocation proposals."""
    year = int(ctx.data["evaluation_year"])
    spec = evaluation_spec()
    rows = list(ctx.data.get("ranking") or [])
    ctx.data["praise_notice"] = _praise(ctx, year, rows)
    ctx.data["orders"] = _supervise(ctx, spec, year, rows)
    ctx.data["revocation_cases"], ctx.data["revocations_not_proposed"] = _propose_revocations(ctx, year, rows)
    ctx.data["published_at"] = ctx.now.isoformat(timespec="seconds")
    for row in rows:  # each town's evaluation ends with its rank
        fire(session=ctx.session, case_id=row["case_id"], trigger="publish_rank", actor=Actor.system(),
             now=ctx.now, calendar=ctx.calendar, payload={"rank": row["rank"], "outcome": row["outcome"]})
    ctx.audit_data.update(praise_notice=(ctx.data["praise_notice"] or {}).get("number"),
                          orders=sorted(ctx.data["orders"].values()),
                          revocation_cases=sorted(ctx.data["revocation_cases"].values()))


def history_label(row: dict[str, Any]) -> Label:
    """The change from last year, as the ranking shows it: ↑2, ↓1, 持平, 新参评."""
    if row.get("last_rank") is None:
        return Label("新参评", "new")
    change = int(row["last_rank"]) - int(row["rank"])
    if change > 0:
        return Label(f"↑{change}", f"↑{change}")
    if change < 0:
        return Label(f"↓{-change}", f"↓{-change}")
    return Label("持平", "same")


@guard("ranking_not_submitted")
def ranking_not_submitted(ctx: FireContext) -> list[dict[str, Any]]:
    """A town's final scores are reopened only while the year's ranking is with the office (not yet submitted, or
    returned by the leader)."""
    found = ranking_case(ctx.session, int(ctx.case.data["evaluation_year"]))
    if found is not None and found.state != "scoring":
        return [reason("本年度排名已报送领导审定或已发布，不能重新复核评分",
                       "the year's ranking is with the leader or published; the scores cannot be reopened")]
    return []
