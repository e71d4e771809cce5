"""What the case page's "what to do now" panel tells each role about a town's evaluation
(workflow.core.panels): the county what its self-assessment still needs and the office's reasons after a return,
a member unit the indicators it gives, the office who has not answered and what is missing."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session

from workflow.core.actors import Actor
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
