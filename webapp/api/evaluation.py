"""The year's evaluation ranking in the API: what the /evaluation/ranking page shows
(workflow/evaluation/ranking_view.py), as JSON, to the same readers at the same time."""

from __future__ import annotations

from flask import jsonify
from flask.typing import ResponseReturnValue
from pydantic import BaseModel, Field

from webapp.api.blueprint import bp
from webapp.api.openapi import api_route
from webapp.api.schemas import Error, Message
from webapp.auth.current import actor
from webapp.database import db
from workflow.evaluation.ranking_view import READERS, Outcome, RankingView, ranking_view


class RankingRowOut(BaseModel):
    rank: int
    tied: bool
    decided_by: Message | None = Field(description="how equal totals were ordered, when tied")
    county_id: int
    county: str
    town_id: int
    town: str
    case_id: int | None = Field(description="the town's evaluation, when the caller may open it")
    total: str = Field(description="decimal text, e.g. 87.50")
    groups: dict[str, str] = Field(description="points per indicator group (decimal text), by group key")
    last_rank: int | None
    last_total: str | None
    change: Message = Field(description="the change from last year: ↑2, ↓1, 持平 (same), 新参评 (new)")
    outcome: str | None = Field(description="praised | supervised | null")
    revocation: list[Message] = Field(description="the grounds of a revocation proposal (empty: none)")


class GroupOut(BaseModel):
    key: str
    label: Message
    points: str


class ProgressOut(BaseModel):
    case_id: int
    number: str
    town: str
    state: str
    total_so_far: str
    is_final: bool


class OutcomeOut(BaseModel):
    town_id: int
    town: str
    case_id: int | None = Field(description="the order or the town's record, when the caller may open it")
    number: str | None
    note: str | None = Field(description="why no revocation was proposed on the record")


class PraiseNoticeOut(BaseModel):
    number: str
    attachment_id: int | None = Field(description="the notice on the ranking case (office and leader)")
    town_ids: list[int]


class RankingOut(BaseModel):
    year: int
    case_id: int | None = Field(description="the ranking case (office and leader)")
    number: str | None
    state: str
    state_label: Message
    is_submitted: bool
    is_published: bool
    total: str = Field(description="the full marks")
    groups: list[GroupOut]
    rows: list[RankingRowOut] = Field(description="in rank order; empty until the office submits the ranking")
    progress: list[ProgressOut] = Field(description="while the towns are being scored: each town's evaluation")
    all_final: bool
    transitions: list[str] = Field(description="the steps the caller may take on the ranking case now")
    praise_notice: PraiseNoticeOut | None
    orders: list[OutcomeOut] = Field(description="督办 orders issued on approval")
    revocations: list[OutcomeOut]


def _m(label: object) -> Message:
    return Message(zh=label.zh, en=label.en)  # type: ignore[attr-defined]  # a Label or a {zh, en} row field


def _outcome(o: Outcome, links: frozenset[int]) -> OutcomeOut:
    return OutcomeOut(town_id=o.town_id, town=o.town, case_id=o.case_id if o.case_id in links else None,
                      number=o.number, note=o.note)


def ranking_out(view: RankingView) -> RankingOut:
    office = view.may_open_ranking_case
    notice = view.praise_notice
    return RankingOut(
        year=view.year, case_id=view.case.id if office else None, number=view.case.number if office else None,
        state=view.case.state, state_label=_m(view.state_label), is_submitted=view.is_submitted,
        is_published=view.is_published, total=str(view.spec.total),
        groups=[GroupOut(key=g.key, label=_m(g.label), points=str(g.points)) for g in view.spec.groups],
        rows=[RankingRowOut(rank=r["rank"], tied=r["tied"],
                            decided_by=Message(**r["decided_by"]) if r.get("decided_by") else None,
                            county_id=r["county_id"], county=r["county"], town_id=r["town_id"], town=r["town"],
                            case_id=r["case_id"] if r["case_id"] in view.links else None, total=r["total"],
                            groups=r["groups"], last_rank=r.get("last_rank"), last_total=r.get("last_total"),
                            change=_m(r["change"]), outcome=r.get("outcome"),
                            revocation=[Message(**x) for x in r.get("revocation") or []])
              for r in view.rows],
        progress=[ProgressOut(case_id=p.case.id or 0, number=p.case.number, town=p.town, state=p.case.state,
                              total_so_far=str(p.score.total), is_final=p.is_final) for p in view.progress],
        all_final=view.all_final, transitions=[t.trigger for t in view.transitions],
        praise_notice=PraiseNoticeOut(number=notice["number"],
                                      attachment_id=notice.get("attachment_id") if office else None,
                                      town_ids=list(notice.get("towns") or [])) if notice else None,
        orders=[_outcome(o, view.links) for o in view.orders],
        revocations=[_outcome(o, view.links) for o in view.revocations])


@api_route(bp, "/evaluation/rankings/<int:year>", "GET", roles=READERS,
           summary="The year's evaluation ranking: the office and the leader in every state, a county once it is "
                   "approved and published",
           responses={200: (RankingOut, "the ranking"),
                      404: (Error, "no ranking of that year (a county: none approved and published yet)")})
def evaluation_ranking(year: int) -> ResponseReturnValue:
    return jsonify(ranking_out(ranking_view(db(), actor(), year)).model_dump(mode="json"))
