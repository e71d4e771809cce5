"""What the case page's "what to do now" panel tells each role about a town's evaluation
(workflow.core.panels): the county what its self-assessment still needs and the office's reasons after a return,
a member unit the indicators it gives, the office who has not answered and what is missing."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session

from workflow.core.actors import Actor
from workflow.core.catalog import CATALOG
from workflow.core.models import Case
from workflow.core.panels import Line, Section, last_comment, panel
from workflow.core.yamlcheck import Label
from workflow.evaluation import values as v


@panel("evaluation_town", states=("self_assessment", "returned"), roles=("county",))
def to_assess(session: Session, case: Case, actor: Actor, now: datetime) -> list[Section]:
    """The office's reasons (after a return) and the values still to give."""
    spec = v.spec_of(case)
    sections = []
    if case.state == "returned":
        why = last_comment(session, case.id or 0, "return_assessment") or ""
        sections.append(Section("return_reason", Label("办公室退回原因", "Why the office returned it"),
                                text=Label(why, why) if why else Label("（未说明）", "(none given)")))
    given = case.data.get("assessment") or {}
    targets = case.data.get("targets") or {}
    todo = [Line(i.label, Label("待填写", "to fill in"), "bad") for i in v.provided_by(spec, "county")
            if i.key not in given]
    todo += [Line(i.label, Label("待填写目标", "target to fill in"), "bad") for i in v.target_indicators(spec)
             if i.key not in targets]
    sections.append(Section("to_do", Label("报送前还需", "Before submitting"), lines=tuple(todo)) if todo else
                    Section("to_do", Label("报送前还需", "Before submitting"),
                            text=Label("自评数值已填写完整，可以报送。", "Every value is given: it can be submitted.")))
    return sections


@panel("evaluation_town", states=("unit_scoring",), roles=("member",))
def to_score(session: Session, case: Case, actor: Actor, now: datetime) -> list[Section]:
    """The indicators the unit gives, or that it has answered."""
    name = (case.data.get("scoring_units") or {}).get(str(actor.unit_id))
    if name is None:
        return []
    if str(actor.unit_id) in (case.data.get("unit_answers") or {}):
        return [Section("answered", Label("本单位评价数值", "Your unit's values"),
                        text=Label("本单位已提交评价数值。", "Your unit has given its values."))]
    lines = tuple(Line(i.label, i.evidence) for i in v.provided_by(v.spec_of(case), name))
    return [Section("to_score", Label("本单位需提供的评价数值", "The values your unit gives"), lines=lines)]


@panel("evaluation_town", states=("unit_scoring",), roles=("office",))
def waiting_units(session: Session, case: Case, actor: Actor, now: datetime) -> list[Section]:
    """Which member units have answered."""
    answers = case.data.get("unit_answers") or {}
    lines = tuple(Line(Label(n, n), Label("已提交", "answered") if u in answers else Label("未提交", "not yet"),
                       "ok" if u in answers else "warn")
                  for u, n in (case.data.get("scoring_units") or {}).items())
    lines += tuple(Line(Label(n, n), Label("系统中无此成员单位，数值须由办公室补录", "no such unit: the office enters "
                                           "its values"), "bad") for n in case.data.get("units_not_found") or [])
    return [Section("units", Label("成员单位评分情况", "The member units' answers"), lines=lines)]


@panel("evaluation_town", states=("office_review",), roles=("office",))
def to_review(session: Session, case: Case, actor: Actor, now: datetime) -> list[Section]:
    """The values still missing (to enter, or to score with a reason), the units that did not answer, the total."""
    spec = v.spec_of(case)
    score = v.score_data(spec, case.data)
    sections = []
    late = case.data.get("units_not_answered") or []
    if late:
        sections.append(Section("late_units", Label("期满未提交数值的成员单位", "Member units that did not answer"),
                                lines=tuple(Line(Label(n, n), Label("未提交", "no answer"), "bad") for n in late)))
    gaps = [s for s in score.scores if s.points is None]
    if gaps:
        sections.append(Section("missing", Label("缺失的评价数值（须补录或说明理由后评分，不按零分计）",
                                                 "Missing values (enter them, or score them with a reason; never 0)"),
                                lines=tuple(Line(v.label_of(spec, s.key), s.explanation, "bad") for s in gaps)))
    total, top = v.shown(score.total), v.shown(spec.total)
    sections.append(Section("total", Label("当前得分", "Score so far"),
                            text=Label(f"已计分合计 {total} / {top} 分", f"{total} / {top} points so far")))
    return sections


@panel("evaluation_ranking", states=("scoring",), roles=("office",))
def ranking_to_submit(session: Session, case: Case, actor: Actor, now: datetime) -> list[Section]:
    """The leader's reasons after a return, and which towns' scores are not final yet."""
    from workflow.evaluation.ranking import year_evaluations

    sections = []
    if case.data.get("returns"):
        why = last_comment(session, case.id or 0, "return_ranking") or ""
        sections.append(Section("return_reason", Label("领导退回意见", "Why the leader returned it"),
                                text=Label(why, why) if why else Label("（未说明）", "(none given)")))
    cases = year_evaluations(session, int(case.data["evaluation_year"]))
    waiting = [c for c in cases if c.state != "scored"]
    title = Label("各镇评分情况", "The towns' scores")
    if not waiting:
        sections.append(Section("towns", title, text=Label(
            f"全部 {len(cases)} 个专业镇的评分均已确定，可以报送排名结果。",
            f"All {len(cases)} towns' scores are final: the ranking can be submitted.")))
    else:
        sections.append(Section("towns", title, text=Label(
            f"共 {len(cases)} 个专业镇，{len(waiting)} 个评分尚未确定：", f"{len(waiting)} of {len(cases)} towns are "
            "not final yet:"), lines=tuple(Line(Label(c.title, c.title), _state(session, c), "warn")
                                           for c in waiting[:20])))
    return sections


def _state(session: Session, case: Case) -> Label:
    definition = CATALOG.get(case.definition_key, case.definition_version, session)
    return Label(definition.state_label(case.state), definition.state_label(case.state, "en"))


def _outcome_lines(case: Case, outcome: str) -> tuple[Line, ...]:
    return tuple(Line(Label(r["town"], r["town"]), Label(f"{r['county']} · 第 {r['rank']} 名 · {r['total']} 分",
                                                         f"{r['county']} · rank {r['rank']} · {r['total']}"))
                 for r in case.data.get("ranking") or [] if r["outcome"] == outcome)


@panel("evaluation_ranking", states=("leader_approval",), roles=("leader", "office"))
def ranking_to_approve(session: Session, case: Case, actor: Actor, now: datetime) -> list[Section]:
    """What approval will set in motion: who is praised, who gets a 督办 order, whose revocation is proposed."""
    rows = case.data.get("ranking") or []
    revoked = [r for r in rows if r["revocation"]]
    return [
        Section("summary", Label("审定后将", "Approval will"), text=Label(
            f"发布 {len(rows)} 个专业镇的排名；印发表扬通报（{len(case.data.get('praised') or [])} 个）；"
            f"下达督办通知（{len(case.data.get('supervised') or [])} 个）；提出撤销认定建议（{len(revoked)} 个）。",
            f"publish the ranking of {len(rows)} towns; issue the praise notice "
            f"({len(case.data.get('praised') or [])}); issue 督办 orders ({len(case.data.get('supervised') or [])}); "
            f"propose revocation ({len(revoked)}).")),
        Section("praised", Label("拟表扬", "To praise"), lines=_outcome_lines(case, "praised")),
        Section("supervised", Label("拟督办", "To supervise"), lines=_outcome_lines(case, "supervised")),
        Section("revocations", Label("拟提出撤销认定建议", "Revocation to propose"),
                lines=tuple(Line(Label(r["town"], r["town"]), Label("；".join(x["zh"] for x in r["revocation"]),
                                                                    "; ".join(x["en"] for x in r["revocation"])),
                                 "bad") for r in revoked)),
    ]
