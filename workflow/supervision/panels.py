"""What the case page's "what to do now" panel tells each role about an inspection or a rectification order
(workflow.core.panels): the order as the county must answer it, the office's reasons when it sent a report back,
the request to decide, the report to verify, the overdue order's options, the draft criticism for the leader."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, select

from workflow.core.actors import Actor
from workflow.core.models import Case
from workflow.core.panels import Line, Section, last_comment, last_step, panel
from workflow.core.yamlcheck import Label
from workflow.supervision.findings import finding_types

SEVERITY = {"low": Label("一般", "Minor"), "medium": Label("较重", "Significant"),
            "high": Label("严重", "Serious")}
NONE_GIVEN = Label("（未说明）", "(none given)")


def _text(value: object) -> Label:
    text = str(value or "").strip()
    return Label(text, text) if text else NONE_GIVEN


def _order_lines(session: Session, case: Case) -> list[Line]:
    """The order as it stands: the problem, how serious, the deadline (and the first one, if it moved), the
    inspection it was raised from."""
    data = case.data
    kinds = {t.key: t.label for t in finding_types()}
    lines = []
    if data.get("finding_type") in kinds:
        lines.append(Line(Label("问题类型", "Kind of problem"), kinds[data["finding_type"]]))
    lines.append(Line(Label("问题", "Problem"), _text(data.get("problem"))))
    if data.get("severity") in SEVERITY:
        lines.append(Line(Label("严重程度", "Severity"), SEVERITY[data["severity"]],
                          "bad" if data["severity"] == "high" else ""))
    if data.get("due_date"):
        lines.append(Line(Label("整改期限", "Deadline"), _text(data["due_date"])))
    if data.get("original_due_date") and data["original_due_date"] != data.get("due_date"):
        lines.append(Line(Label("原定期限", "Original deadline"), _text(data["original_due_date"])))
    if case.parent_id:
        parent = session.exec(select(Case.number).where(Case.id == case.parent_id)).first()
        if parent:
            no = data.get("finding_no")
            lines.append(Line(Label("来源", "Raised from"),
                              Label(f"{parent} 第 {no} 项检查发现" if no else parent,
                                    f"{parent}, finding {no}" if no else parent)))
    return lines


@panel("rectification", states=("issued", "rectifying"), roles=("county",))
def order_for_county(session: Session, case: Case, actor: Actor, now: datetime) -> list[Section]:
    """What to rectify and by when; why the office sent the last report back, or refused the extension; what the
    report needs, and whether the one extension is still there to ask for."""
    sections = [Section("order", Label("整改要求", "What to rectify"), lines=tuple(_order_lines(session, case)))]
    trigger, comment = last_step(session, case.id or 0)
    if trigger == "reject_report":
        sections.append(Section("report_rejected", Label("验收不通过的原因", "Why the report was not accepted"),
                                text=_text(comment)))
    elif trigger == "deny_extension":
        sections.append(Section("extension_denied", Label("不同意延期的原因", "Why the extension was refused"),
                                text=_text(comment)))
    if case.data.get("extension_requested"):
        how = Label("请在期限内提交整改报告，写明整改措施和结果，并上传照片、台账等证明材料；延期申请已使用过一次。",
                    "Submit the report by the deadline, saying what was done, with photos, ledgers or other "
                    "evidence; the one extension request has been used.")
    else:
        how = Label("请在期限内提交整改报告，写明整改措施和结果，并上传照片、台账等证明材料；"
                    "确需延期的，可在期限前申请延期一次。",
                    "Submit the report by the deadline, saying what was done, with photos, ledgers or other "
                    "evidence; if more time is truly needed, an extension may be requested once, before the "
                    "deadline.")
    sections.append(Section("how", Label("如何办理", "How to answer"), text=how))
    return sections


@panel("rectification", states=("extension_requested",), roles=("office",))
def extension_to_decide(session: Session, case: Case, actor: Actor, now: datetime) -> list[Section]:
    """The county's request: the date it asks for against the current deadline, and its reasons."""
    lines = [Line(Label("当前期限", "Current deadline"), _text(case.data.get("due_date"))),
             Line(Label("申请延至", "Asked for"), _text(case.data.get("requested_due_date")), "warn"),
             Line(Label("申请理由", "Reasons"), _text(last_comment(session, case.id or 0, "request_extension")))]
    return [Section("extension", Label("县区延期申请", "The county's extension request"), lines=tuple(lines)),
            *_problem(session, case)]


def _problem(session: Session, case: Case) -> list[Section]:
    return [Section("order", Label("整改要求", "What to rectify"), lines=tuple(_order_lines(session, case)))]


@panel("rectification", states=("under_verification",), roles=("office",))
def report_to_verify(session: Session, case: Case, actor: Actor, now: datetime) -> list[Section]:
    """The report the county sent (when, by whom, late or not, with how many files), against the order."""
    reports = case.data.get("reports") or []
    if not reports:
        return _problem(session, case)
    last = reports[-1]
    files = len(last.get("attachments") or [])
    lines = [Line(Label("提交", "Sent"), _text(f"{str(last.get('at', ''))[:10]} {last.get('by', '')}".strip())),
             Line(Label("是否逾期", "On time"),
                  Label("逾期提交", "sent after the deadline") if last.get("late") else Label("按期提交", "on time"),
                  "bad" if last.get("late") else "ok"),
             Line(Label("证明材料", "Evidence"), Label(f"{files} 个附件", f"{files} files") if files
                  else Label("未附材料", "none attached"), "" if files else "warn"),
             Line(Label("报告内容", "Report"), _text(last.get("text")))]
    if len(reports) > 1:
        lines.append(Line(Label("提交次数", "Reports so far"), Label(f"第 {len(reports)} 次", f"{len(reports)}")))
    return [Section("report", Label("待验收的整改报告", "The report to verify"), lines=tuple(lines)),
            *_problem(session, case)]


@panel("rectification", states=("overdue",), roles=("county",))
def overdue_for_county(session: Session, case: Case, actor: Actor, now: datetime) -> list[Section]:
    """The deadline has passed: the report can still be sent (marked late); a criticism may follow."""
    return [Section("overdue", Label("已逾期", "Overdue"), text=Label(
                "整改期限已过。仍可提交整改报告，报告将注明逾期提交；逾期未整改的，可能被通报批评。",
                "The deadline has passed. The report can still be sent and is marked late; an order left "
                "unrectified may lead to public criticism.")),
            *_problem(session, case)]


@panel("rectification", states=("overdue",), roles=("office",))
def overdue_for_office(session: Session, case: Case, actor: Actor, now: datetime) -> list[Section]:
    """What the office may do with an overdue order, and why a draft came back from the leader, if it did."""
    sections = [Section("overdue", Label("已逾期", "Overdue"), text=Label(
        "县区未在期限内提交整改报告。可拟通报批评（写明事实，报领导审批），或在整改监督台催办。",
        "The county did not report by the deadline. Draft a public criticism (state the facts; a leader "
        "approves it), or send a reminder from the supervision board."))]
    trigger, comment = last_step(session, case.id or 0)
    if trigger == "return_criticism":
        sections.append(Section("criticism_returned",
                                Label("领导退回通报草稿的意见", "Why the leader returned the draft"),
                                text=_text(comment)))
    return [*sections, *_problem(session, case)]


@panel("rectification", states=("criticism_pending",), roles=("leader",))
def criticism_to_approve(session: Session, case: Case, actor: Actor, now: datetime) -> list[Section]:
    """The facts the office drafted, who drafted them, and the order they are about."""
    draft = case.data.get("criticism") or {}
    lines = [Line(Label("拟通报事实", "Facts as drafted"), _text(draft.get("facts"))),
             Line(Label("起草人", "Drafted by"), _text(draft.get("drafted_by")))]
    return [Section("criticism", Label("通报批评草稿", "The draft criticism"), lines=tuple(lines)),
            *_problem(session, case)]


@panel("rectification", states=("criticised",), roles=("office",))
def after_criticism(session: Session, case: Case, actor: Actor, now: datetime) -> list[Section]:
    """The notice issued; the order can be reissued with a new deadline."""
    issued = (case.data.get("criticisms") or [{}])[-1]
    lines = [Line(Label("通报文号", "Notice number"), _text(issued.get("number"))),
             Line(Label("印发日期", "Issued on"), _text(issued.get("issued_date")))]
    return [Section("criticism", Label("已印发通报", "The notice issued"), lines=tuple(lines),
                    text=Label("问题仍未整改的，可重新下达整改期限。",
                               "If the problem is still not rectified, reissue the order with a new deadline.")),
            *_problem(session, case)]


@panel("inspection", states=("planned",), roles=("office",))
def inspection_planned(session: Session, case: Case, actor: Actor, now: datetime) -> list[Section]:
    """The plan of the visit."""
    data = case.data
    lines = [Line(Label("计划日期", "Planned date"), _text(data.get("planned_date")))]
    if data.get("campaign"):
        lines.append(Line(Label("所属批次", "Campaign"), _text(data["campaign"])))
    if data.get("note"):
        lines.append(Line(Label("备注", "Note"), _text(data["note"])))
    return [Section("plan", Label("检查安排", "The visit"), lines=tuple(lines))]


@panel("inspection", states=("in_progress",), roles=("office",))
def inspection_in_progress(session: Session, case: Case, actor: Actor, now: datetime) -> list[Section]:
    """The findings so far, how many still wait for a decision (the inspection closes only when none does)."""
    findings = case.data.get("findings") or []
    open_ = [f for f in findings if f.get("decision") is None]
    ordered = sum(1 for f in findings if f.get("decision") == "rectify")
    lines = [Line(Label("已登记发现", "Findings recorded"), Label(f"{len(findings)} 项", f"{len(findings)}")),
             Line(Label("待作出处理决定", "Awaiting a decision"),
                  Label(f"{len(open_)} 项（第 {'、'.join(str(f.get('no')) for f in open_)} 项）",
                        f"{len(open_)} (no. {', '.join(str(f.get('no')) for f in open_)})") if open_
                  else Label("无", "none"), "bad" if open_ else "ok"),
             Line(Label("已下达整改", "Orders issued"), Label(f"{ordered} 项", f"{ordered}"))]
    text = (Label("每项发现都作出处理决定（无需整改或下达整改）后，才能结束检查。",
                  "Decide every finding (no action, or an order) before closing the inspection.") if open_
            else Label("所有发现均已处理，可以结束检查。", "Every finding is decided: the inspection can be closed."))
    return [Section("findings", Label("检查发现", "Findings"), text=text, lines=tuple(lines))]
