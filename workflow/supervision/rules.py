"""Guards and actions of inspections and rectification orders (DOMAIN.md §3, §4)."""

from __future__ import annotations

from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session

from workflow.core.access import MAX_ID
from workflow.core.actors import Actor
from workflow.core.calendar import local_moment
from workflow.core.db import table_of
from workflow.core.engine import FireContext
from workflow.core.models import Attachment, Case
from workflow.core.previews import Preview, form_preview, preview
from workflow.core.reasons import due_date_reasons, parse_date, reason
from workflow.core.registry import action, guard
from workflow.supervision import findings as finding_kinds

SEVERITIES = {"low": ("一般", "Minor"), "medium": ("较重", "Significant"), "high": ("严重", "Serious")}
MAX_TEXT = 5000


def _text(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""


def _due_date(ctx: FireContext, key: str, zh: str, en: str) -> list[dict[str, Any]]:
    return due_date_reasons(ctx.payload.get(key), field=key, zh=zh, en=en, today=ctx.today, calendar=ctx.calendar)


@guard("order_valid")
def order_valid(ctx: FireContext) -> list[dict[str, Any]]:
    """An order states the problem; a deadline set by the office is a working day after today, within the limit."""
    found = []
    if not _text(ctx.payload.get("problem")) or len(_text(ctx.payload.get("problem"))) > MAX_TEXT:
        found.append(reason("请填写需要整改的问题", "describe the problem to rectify", "problem"))
    if ctx.payload.get("severity") not in (None, *SEVERITIES):
        found.append(reason("问题严重程度不正确", "unknown severity", "severity"))
    if ctx.case.town_id is None:
        found.append(reason("请选择专业镇", "choose the town", "town_id"))
    if ctx.payload.get("due_date") not in (None, ""):
        found += _due_date(ctx, "due_date", "整改期限", "the deadline")
    return found


@guard("finding_valid")
def finding_valid(ctx: FireContext) -> list[dict[str, Any]]:
    """A finding has a kind from definitions/findings.yaml or a text (or both) and a severity; its evidence, if
    any, is attachments of the inspection."""
    finding = ctx.payload.get("finding")
    if not isinstance(finding, dict):
        return [reason("检查发现格式不正确", "a finding must be an object", "finding")]
    found = []
    kind = finding.get("type")
    if kind not in (None, "") and finding_kinds.by_key(kind) is None:
        found.append(reason("请从常见问题列表中选择问题类型", "choose the kind of finding from the list", "finding"))
    text = _text(finding.get("text"))
    if (not text and kind in (None, "")) or len(text) > MAX_TEXT:
        found.append(reason(f"请选择问题类型或填写问题描述（不超过{MAX_TEXT}字）",
                            "choose the kind of finding or describe it", "finding"))
    if not isinstance(finding.get("severity"), str) or finding["severity"] not in SEVERITIES:
        found.append(reason("请选择问题严重程度", "choose a severity", "finding"))
    evidence = finding.get("attachments", [])
    if not isinstance(evidence, list) or not all(_is_id(i) for i in evidence) or \
            set(evidence) - _case_attachment_ids(ctx, evidence):
        found.append(reason("证据只能从本案件的附件中选择", "evidence must be attachments of this case", "finding"))
    return found


def _is_id(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 < value <= MAX_ID


def _case_attachment_ids(ctx: FireContext, ids: list[int]) -> set[int]:
    """Those of `ids` that are attachments of the case."""
    if not ids:
        return set()
    table = table_of(Attachment)
    return set(ctx.session.connection().execute(
        sa.select(table.c.id).where(table.c.case_id == ctx.case.id, table.c.id.in_(ids))).scalars())


@action("add_finding")
def add_finding(ctx: FireContext) -> None:
    """Append the finding to the inspection, undecided."""
    finding = ctx.data.pop("finding")
    findings = list(ctx.data.get("findings", []))
    kind = finding_kinds.by_key(finding.get("type"))
    text = _text(finding.get("text")) or (kind.label.zh if kind else "")
    entry = {"no": len(findings) + 1, "text": text, "severity": finding["severity"],
             "attachments": list(finding.get("attachments", [])),
             "decision": None, "order_id": None, "by": ctx.actor.name,
             "at": ctx.now.isoformat(timespec="seconds")}
    if kind:
        entry["type"] = kind.key
    findings.append(entry)
    ctx.data["findings"] = findings
    ctx.audit_data["finding_no"] = entry["no"]


@guard("finding_decision_valid")
def finding_decision_valid(ctx: FireContext) -> list[dict[str, Any]]:
    """The finding exists and is undecided; the decision is no action or a rectification order."""
    no = ctx.payload.get("finding_no")
    findings = {f["no"]: f for f in ctx.data.get("findings", [])}
    if not _is_id(no) or no not in findings:  # an object is not hashable; True and 1.0 would pass for 1
        return [reason("检查发现不存在", "no such finding", "finding_no")]
    if findings[no]["decision"] is not None:
        return [reason("该检查发现已处理", "this finding is already decided", "finding_no")]
    decision = ctx.payload.get("decision")
    if decision not in ("no_action", "rectify"):
        return [reason("处理方式只能是“无需整改”或“下达整改”", "decision must be no_action or rectify", "decision")]
    if decision == "rectify" and ctx.payload.get("due_date") not in (None, ""):
        return _due_date(ctx, "due_date", "整改期限", "the deadline")
    return []


@action("decide_finding")
def decide_finding(ctx: FireContext) -> None:
    """Record the decision; a finding to rectify becomes a rectification order to the town's county."""
    from workflow.core.engine import create_case

    no, decision = ctx.data.pop("finding_no"), ctx.data.pop("decision")
    due = ctx.data.pop("due_date", None)
    findings = [dict(f) for f in ctx.data.get("findings", [])]
    finding = next(f for f in findings if f["no"] == no)
    finding["decision"] = decision
    if decision == "rectify":
        order = create_case(
            session=ctx.session, definition_key="rectification", actor=ctx.actor, now=ctx.now,
            town_id=ctx.case.town_id, county_id=ctx.case.county_id, parent_id=ctx.case.id,
            title=f"整改：{finding['text'][:40]}", calendar=ctx.calendar,
            data={"source": "inspection", "inspection_id": ctx.case.id, "finding_no": no,
                  "problem": finding["text"], "severity": finding["severity"],
                  **({"due_date": due} if due else {})})
        finding["order_id"] = order.id
        ctx.audit_data["order_id"] = order.id
    ctx.data["findings"] = findings


@guard("findings_decided")
def findings_decided(ctx: FireContext) -> list[dict[str, Any]]:
    """Every finding is decided before the inspection closes."""
    open_ = [f["no"] for f in ctx.data.get("findings", []) if f.get("decision") is None]
    if open_:
        return [reason(f"尚有检查发现未处理：第 {'、'.join(map(str, open_))} 项",
                       f"findings not yet decided: {', '.join(map(str, open_))}")]
    return []


@guard("report_valid")
def report_valid(ctx: FireContext) -> list[dict[str, Any]]:
    """A report has a text."""
    report = ctx.payload.get("report")
    if not _text(report) or len(_text(report)) > MAX_TEXT:
        return [reason(f"请填写整改情况（不超过{MAX_TEXT}字）", "describe what was done", "report")]
    return []


@action("mark_report")
def mark_report(ctx: FireContext) -> None:
    """Keep every report with its time and author; one sent after the deadline is marked late."""
    report = _text(ctx.data.pop("report"))
    reports = list(ctx.data.get("reports", []))
    late = ctx.case.state == "overdue"
    reports.append({"text": report, "late": late, "by": ctx.actor.name,
                    "at": ctx.now.isoformat(timespec="seconds"),
                    "attachments": [a for a in ctx.data.pop("report_attachments", []) if isinstance(a, int)]})
    ctx.data["reports"] = reports
    ctx.audit_data["late"] = late


@guard("extension_request_valid")
def extension_request_valid(ctx: FireContext) -> list[dict[str, Any]]:
    """An extension is asked for once, to a working day after the current deadline, within the limit."""
    found = []
    if ctx.data.get("extension_requested"):
        found.append(reason("延期只能申请一次", "an extension may be requested only once"))
    day = parse_date(ctx.payload.get("requested_due_date"))
    current = parse_date(ctx.case.data.get("due_date"))
    if day is not None and current is not None and day <= current:
        found.append(reason("申请的新期限必须晚于当前期限", "the requested date must be after the current deadline",
                            "requested_due_date"))
    else:
        found += _due_date(ctx, "requested_due_date", "申请的新期限", "the requested deadline")
    return found


@action("mark_extension_requested")
def mark_extension_requested(ctx: FireContext) -> None:
    """Remember that the one extension request has been used."""
    ctx.data["extension_requested"] = True


@guard("new_due_date_valid")
def new_due_date_valid(ctx: FireContext) -> list[dict[str, Any]]:
    """A new deadline is a working day after today, within the limit."""
    return _due_date(ctx, "due_date", "新的整改期限", "the new deadline")


def _push_deadline(ctx: FireContext, why: str) -> None:
    history = list(ctx.data.get("deadline_history", []))
    history.append({"from": ctx.case.data.get("due_date"), "to": ctx.data["due_date"], "why": why,
                    "by": ctx.actor.name, "at": ctx.now.isoformat(timespec="seconds")})
    ctx.data["deadline_history"] = history
    ctx.data.setdefault("original_due_date", ctx.case.data.get("due_date"))


@action("grant_extension")
def grant_extension(ctx: FireContext) -> None:
    """The new deadline replaces the current one; the original stays on record."""
    _push_deadline(ctx, "extension")


@action("reissue")
def reissue(ctx: FireContext) -> None:
    """A criticised order runs again with a new deadline."""
    _push_deadline(ctx, "reissue")



def _order_names(ctx: FireContext) -> tuple[str, str]:
    return _case_names(ctx.session, ctx.case)


def _case_names(session: Session, case: Case) -> tuple[str, str]:
    from workflow.core.models import Town, Unit

    town = session.get(Town, case.town_id) if case.town_id else None
    county = session.get(Unit, case.county_id)
    return (town.name if town else ""), (county.name if county else "")


def _render(ctx: FireContext, name: str, fields: dict[str, Any], *, draft: bool = False) -> bytes:
    from workflow.core.documents import render

    return render(ctx.session, name, fields, issued=ctx.today, draft=draft)


def _spec(name: str) -> Any:
    from workflow.core.documents import catalog

    return catalog().get(name)


def _take_number(ctx: FireContext, name: str) -> str:
    """The next number of document `name`'s series, taken in this transaction (a returned draft leaves no gap)."""
    from workflow.core.engine import next_number

    spec = _spec(name)
    return spec.number(ctx.today.year, next_number(ctx.session, spec.counter, ctx.today.year))


def _order_title(data: dict[str, Any], case_number: str) -> str:
    """How the criticism cites the order: its 整改通知书 by number (older orders by their case number)."""
    if data.get("notice_number"):
        return f"《整改通知书》（{data['notice_number']}）"
    return f"限期整改通知（{case_number}）"


def rectification_notice_fields(ctx: FireContext, number: str) -> dict[str, Any]:
    from workflow.supervision.documents import SOURCES, rectification_fields

    town, county = _order_names(ctx)
    source = SOURCES.get(str(ctx.data.get("source") or ""), "专业镇日常监督")
    year = ctx.today.year
    return rectification_fields(number=number, county=county, town=town, source=f"{year}年度{source}",
                                problems=str(ctx.data.get("problem") or ""),
                                deadline=parse_date(ctx.data.get("due_date")) or ctx.today,
                                case_number=ctx.case.number, issued=ctx.today)


@action("issue_rectification_notice")
def issue_rectification_notice(ctx: FireContext) -> None:
    """Number the 整改通知书 (its own series) and send it with the order, on the order and the town; the county
    acknowledges it (签收)."""
    from workflow.core.attachments import store_bytes
    from workflow.core.receipts import expect_receipt

    number = _take_number(ctx, "rectification_notice")
    content = _render(ctx, "rectification_notice", rectification_notice_fields(ctx, number))
    notice = store_bytes(session=ctx.session, actor=ctx.actor, data=content, filename=f"整改通知书-{number}.docx",
                         content_type=DOCX, kind="rectification_notice", now=ctx.now, case_id=ctx.case.id,
                         town_id=ctx.case.town_id)
    expect_receipt(ctx.session, attachment=notice, unit_id=ctx.case.county_id, now=ctx.now, calendar=ctx.calendar)
    ctx.data["notice_number"] = number
    ctx.audit_data["notice_number"] = number


def criticism_notice_fields(ctx: FireContext, number: str) -> dict[str, Any]:
    from workflow.supervision.documents import criticism_fields

    town, county = _order_names(ctx)
    return criticism_fields(number=number, county=county, town=town,
                            order=_order_title(ctx.data, ctx.case.number),
                            deadline=parse_date(ctx.data.get("due_date")) or ctx.today,
                            facts=ctx.data["criticism"]["facts"], issued=ctx.today)


@action("draft_criticism")
def draft_criticism(ctx: FireContext) -> None:
    """Keep the facts and attach a draft of the notice (watermarked, not numbered) for the leader to approve."""
    from workflow.core.attachments import store_bytes

    ctx.data["criticism"] = {"facts": ctx.comment, "drafted_by": ctx.actor.name,
                             "drafted_at": ctx.now.isoformat(timespec="seconds")}
    draft = _render(ctx, "criticism_notice", criticism_notice_fields(ctx, _spec("criticism_notice").number(
        ctx.today.year, None)), draft=True)
    store_bytes(session=ctx.session, actor=ctx.actor, data=draft, filename=f"通报批评（草稿）-{ctx.case.number}.docx",
                content_type=DOCX, kind="criticism_draft", now=ctx.now, case_id=ctx.case.id)


@action("issue_criticism")
def issue_criticism(ctx: FireContext) -> None:
    """Number the notice, attach it to the order and the town; a second criticism in a cycle proposes revocation."""
    from workflow.core.attachments import store_bytes
    from workflow.core.receipts import expect_receipt

    number = _take_number(ctx, "criticism_notice")
    notice = _render(ctx, "criticism_notice", criticism_notice_fields(ctx, number))
    issued = store_bytes(session=ctx.session, actor=ctx.actor, data=notice, filename=f"{number}.docx",
                         content_type=DOCX, kind="criticism_notice", now=ctx.now, case_id=ctx.case.id,
                         town_id=ctx.case.town_id)
    expect_receipt(ctx.session, attachment=issued, unit_id=ctx.case.county_id, now=ctx.now, calendar=ctx.calendar)
    entry = {**ctx.data["criticism"], "number": number, "issued_date": ctx.today.isoformat(),
             "approved_by": ctx.actor.name, "due_date": ctx.data.get("due_date")}
    ctx.data["criticisms"] = [*ctx.data.get("criticisms", []), entry]
    ctx.audit_data["notice_number"] = number
    _propose_revocation_if_repeated(ctx)


@form_preview("inspection", "decide_finding")
def rectification_notice_draft(session: Session, case: Case, payload: dict[str, Any], today: date) -> Preview | None:
    """The 整改通知书 that ordering a finding rectified would send, as a draft: read before the order is made."""
    from workflow.core.calendar import calendar_for
    from workflow.core.catalog import CATALOG
    from workflow.core.deadlines import due_date_for
    from workflow.supervision.documents import SOURCES, rectification_fields

    findings = {f.get("no"): f for f in case.data.get("findings", [])}
    finding = findings.get(payload.get("finding_no"))
    if payload.get("decision") != "rectify" or finding is None or finding.get("decision") is not None:
        return None
    due = parse_date(payload.get("due_date"))
    if due is None:  # the order's own deadline: counted as creating the order would
        spec = CATALOG.current("rectification").states["issued"].deadlines[0]
        due, _ = due_date_for(spec, {}, today, calendar_for(session))
    town, county = _case_names(session, case)
    document = _spec("rectification_notice")
    fields = rectification_fields(number=document.number(today.year, None), county=county, town=town,
                                  source=f"{today.year}年度{SOURCES['inspection']}", problems=str(finding["text"]),
                                  deadline=due, case_number="（下达后生成）", issued=today)
    from workflow.core.documents import render

    return Preview(document="rectification_notice", label=document.label.zh,
                   filename=f"整改通知书（草稿）-{case.number}-{finding['no']}.docx",
                   content=render(session, "rectification_notice", fields, issued=today, draft=True))


@preview("rectification", states=("criticism_pending",), shown_by=("approve_criticism",))
def criticism_draft(session: Session, case: Case, today: date) -> Preview:
    """The criticism notice as the leader would issue it today, watermarked and with its number left blank."""
    from workflow.core.calendar import calendar_for
    from workflow.core.catalog import CATALOG

    definition = CATALOG.get(case.definition_key, case.definition_version, session)
    spec = next(t for t in definition.transitions if t.trigger == "approve_criticism")
    ctx = FireContext(session=session, case=case, definition=definition, spec=spec, actor=Actor.system(),
                      now=local_moment(today), payload={}, comment=None, data=dict(case.data),
                      calendar=calendar_for(session))
    document = _spec("criticism_notice")
    content = _render(ctx, "criticism_notice", criticism_notice_fields(ctx, document.number(today.year, None)),
                      draft=True)
    return Preview(document="criticism_notice", label=document.label.zh,
                   filename=f"通报批评（草稿）-{case.number}.docx", content=content)


def _propose_revocation_if_repeated(ctx: FireContext) -> None:
    """Two criticisms of the same town within its designation cycle put a revocation proposal to the office."""
    from sqlmodel import select

    from workflow.core.engine import fire
    from workflow.core.models import Case
    from workflow.core.queries import registry_case

    if ctx.case.town_id is None:
        return
    record = registry_case(ctx.session, ctx.case.town_id)
    if record is None or record.state != "municipal":
        return
    start = parse_date(record.data.get("designated_date"))
    end = parse_date(record.data.get("review_date"))
    orders = ctx.session.exec(select(Case).where(Case.town_id == ctx.case.town_id,
                                                 Case.definition_key == "rectification", Case.id != ctx.case.id)).all()
    issued = [parse_date(c["issued_date"]) for o in orders for c in o.data.get("criticisms", [])]
    issued += [ctx.today]
    in_cycle = [d for d in issued if d is not None and (start is None or d >= start) and (end is None or d <= end)]
    if len(in_cycle) >= 2:
        fire(session=ctx.session, case_id=record.id, trigger="propose_revocation", actor=Actor.system(),  # type: ignore[arg-type]  # SQLModel types an id as optional; this row is saved
             now=ctx.now, calendar=ctx.calendar,
             payload={"revocation_reason": f"本认定周期内已被通报批评 {len(in_cycle)} 次（最近：{ctx.case.number}）"})


DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
