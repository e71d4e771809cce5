"""What the case page's "what to do now" panel tells each role about an application (workflow.core.panels)."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, col, select

from workflow.core.actors import Actor
from workflow.core.models import Attachment, Case
from workflow.core.panels import Line, Section, last_comment, panel
from workflow.core.yamlcheck import Label
from workflow.designation import application as app
from workflow.designation.eligibility import evaluate
from workflow.designation.rules import expert_average

# What an uploaded file is, as the office checks the materials; a kind not named here is "other material".
MATERIAL_KINDS = {
    "evidence": Label("证明材料", "Supporting documents"),
    "opinion_sheet": Label("会审意见汇总表", "Opinion sheet of the joint review"),
}
OTHER_MATERIAL = Label("其他材料", "Other material")


@panel("designation", states=("returned",), roles=("county",))
def returned_to_county(session: Session, case: Case, actor: Actor, now: datetime) -> list[Section]:
    """The office's reasons, and what the application still lacks before it can be resubmitted."""
    reasons = last_comment(session, case.id or 0, "return_for_revision")
    sections = [Section("return_reason", Label("办公室退回原因", "Why the office returned it"),
                        text=Label(reasons, reasons) if reasons else Label("（未说明）", "(none given)"))]
    to_fix = [Line(Label(r["zh"], r["en"]), Label("待补正", "to be completed"), "bad")
              for r in app.check_complete(case.data, has_town=case.town_id is not None)]
    to_fix += [Line(c.label, c.reason, "bad") for c in evaluate(case.data, hard_only=True).hard_failures
               if not c.incomplete]
    if to_fix:
        sections.append(Section("to_fix", Label("需要补正", "What to fix"), lines=tuple(to_fix)))
    else:
        sections.append(Section("to_fix", Label("需要补正", "What to fix"), text=Label(
            "申报书已填写完整、满足必备条件；请按退回原因修改或补充附件后重新提交。",
            "The application is complete and meets the required criteria; change it or add files as the "
            "reasons ask, then resubmit.")))
    return sections


def _tally(data: dict) -> Section:
    opinions = data.get("opinions") or {}
    consulted = len(data.get("consulted_units") or []) or len(opinions)
    counts = {answer: sum(1 for o in opinions.values() if o.get("answer") == answer)
              for answer in ("agree", "disagree", "no_objection_deemed")}
    lines = [Line(Label("同意", "Agree"), Label(f"{counts['agree']}/{consulted} 同意",
                                                f"{counts['agree']}/{consulted} agree"),
                  "ok" if counts["agree"] == consulted else "")]
    if counts["disagree"]:
        lines.append(Line(Label("不同意", "Disagree"), Label(f"{counts['disagree']}/{consulted}",
                                                           f"{counts['disagree']}/{consulted}"), "bad"))
    if counts["no_objection_deemed"]:
        lines.append(Line(Label("逾期视为无意见", "No answer by the deadline (no objection)"),
                          Label(f"{counts['no_objection_deemed']}/{consulted}",
                                f"{counts['no_objection_deemed']}/{consulted}"), "warn"))
    return Section("joint_review", Label("成员单位会审", "Joint review by member units"), lines=tuple(lines))


@panel("designation", states=("decision",), roles=("leader",))
def before_decision(session: Session, case: Case, actor: Actor, now: datetime) -> list[Section]:
    """The joint review's tally, the expert average, and the eligibility check, for the leading group's decision."""
    data = case.data
    average = expert_average(data)
    experts = [Line(Label("专家平均分", "Expert average"),
                    Label(f"{average}（{len(data.get('experts') or [])} 位专家）",
                          f"{average} ({len(data.get('experts') or [])} experts)") if average is not None
                    else Label("未录入", "not recorded"))]
    if data.get("expert_recommendation"):
        text = str(data["expert_recommendation"])
        experts.append(Line(Label("专家组意见", "Panel recommendation"), Label(text, text)))
    result = evaluate(data)
    failed = result.hard_failures
    summary = (Line(Label("必备条件", "Required criteria"),
                    Label(f"{len(failed)} 项未满足", f"{len(failed)} not met"), "bad") if failed
               else Line(Label("必备条件", "Required criteria"), Label("均已满足", "all met"), "ok"))
    counts = result.counts
    eligibility = [summary, Line(Label("各项标准", "All criteria"), Label(
        f"满足 {counts.get('pass', 0)} 项，需评审判断 {counts.get('judge', 0)} 项，未满足 {counts.get('fail', 0)} 项",
        f"{counts.get('pass', 0)} met, {counts.get('judge', 0)} for the reviewers, {counts.get('fail', 0)} not met"))]
    eligibility += [Line(Label("优先评定", "Priority"), p.reason) for p in result.priority]
    return [_tally(data),
            Section("experts", Label("专家评审", "Expert review"), lines=tuple(experts)),
            Section("eligibility", Label("认定条件核验", "Eligibility check"), lines=tuple(eligibility))]


@panel("designation", states=("submitted",), roles=("office",))
def completeness_check(session: Session, case: Case, actor: Actor, now: datetime) -> list[Section]:
    """The materials the county sent, by kind, for the office's completeness check (形式审查)."""
    rows = session.exec(select(Attachment).where(Attachment.case_id == case.id)
                        .order_by(col(Attachment.uploaded_at), col(Attachment.id))).all()
    by_kind: dict[Label, list[str]] = {}
    for row in rows:
        by_kind.setdefault(MATERIAL_KINDS.get(row.kind, OTHER_MATERIAL), []).append(row.filename)
    lines = [Line(kind, Label("、".join(names), ", ".join(names)), "ok") for kind, names in by_kind.items()]
    if not lines:
        lines = [Line(Label("附件", "Files"), Label("未上传任何附件", "no file attached"), "warn")]
    result = evaluate(data := case.data, hard_only=True)
    missing = app.check_complete(data, has_town=case.town_id is not None)
    lines.append(Line(Label("申报书", "Application"),
                      Label(f"{len(missing)} 项未填写", f"{len(missing)} fields not filled in") if missing else
                      Label(f"必备条件{'均已满足' if not result.has_hard_failure else '未全部满足'}",
                            f"required criteria {'met' if not result.has_hard_failure else 'not all met'}"),
                      "bad" if missing or result.has_hard_failure else "ok"))
    return [Section("materials", Label("申报材料", "Materials"), lines=tuple(lines))]
