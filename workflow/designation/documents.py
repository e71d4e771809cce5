"""The designation's documents: the joint review's opinion sheet (会审意见汇总表) and the 公示 announcement."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlmodel import Session

from workflow.core.access import get_case
from workflow.core.actors import Actor
from workflow.core.attachments import DOCX, store_bytes
from workflow.core.calendar import local_date, shown_time
from workflow.core.documents import case_names, catalog, cn_date, industry_text, number_or_none, render
from workflow.core.errors import Forbidden, NotFound
from workflow.core.models import Attachment, Case
from workflow.core.reasons import parse_whole
from workflow.core.reference import INDUSTRY_CATEGORIES
from workflow.core.visibility import may_see_kind

ANSWERS = {"agree": "同意", "disagree": "不同意", "no_objection_deemed": "逾期视为无意见"}
PENDING = "尚未答复"


def application_summary(data: dict[str, Any]) -> str:
    """One line about the application: category, leading industry, products, output."""
    parts = [f"产业类别：{INDUSTRY_CATEGORIES.get(data.get('industry_category') or '', ('未填写',))[0]}",
             f"主导产业：{data.get('leading_industry') or '未填写'}"]
    if data.get("main_products"):
        products = data["main_products"]
        parts.append(f"主要产品：{'、'.join(map(str, products)) if isinstance(products, list) else products}")
    output = number_or_none(data.get("output_yi"))
    if output is not None:
        parts.append(f"上年主导产业产值：{output:.2f} 亿元")
    return "；".join(parts)


def opinion_rows(data: dict[str, Any], unit_names: dict[int, str]) -> list[dict[str, str]]:
    """Every consulted unit with its answer, reasons, person and local date; units not asked come last."""
    opinions: dict[str, dict[str, Any]] = data.get("opinions") or {}
    order = [str(u) for u in data.get("consulted_units") or []]
    order += [u for u in opinions if u not in order]
    rows = []
    for key in order:
        opinion = opinions.get(key) or {}
        number = parse_whole(key, low=0)
        name = opinion.get("unit") or (unit_names.get(number) if number is not None else None)
        answered = opinion.get("at")
        rows.append({
            "unit": str(name or f"#{key}"),
            "answer": ANSWERS.get(opinion.get("answer") or "", PENDING),
            "reason": str(opinion.get("reason") or ""),
            "by": str(opinion.get("by") or ""),
            "date": local_date(datetime.fromisoformat(answered)).isoformat() if answered else "",
        })
    return rows


def opinion_sheet(session: Session, *, case: Case, town: str, county: str, unit_names: dict[int, str],
                  now: datetime, data: dict[str, Any] | None = None) -> bytes:
    """The consolidated opinion sheet of the joint review (会审意见汇总表) as .docx bytes."""
    data = case.data if data is None else data
    rows = opinion_rows(data, unit_names)
    counts = {label: sum(1 for r in rows if r["answer"] == label) for label in (*ANSWERS.values(), PENDING)}
    tally = "，".join(f"{label} {n} 个" for label, n in counts.items() if n or label != PENDING)
    fields = {"title": "会审意见汇总表", "case_number": case.number, "town": town, "county": county,
              "summary": application_summary(data), "due_date": str(data.get("opinion_due_date") or ""),
              "tally": f"共 {len(rows)} 个：{tally}", "rows": rows,
              "made_at": shown_time(now)}
    return render(session, "opinion_sheet", fields, issued=local_date(now))


def opinion_sheet_for(*, session: Session, actor: Actor, case_id: int, now: datetime) -> tuple[str, bytes]:
    """The opinion sheet of a case `actor` may see, made now: (file name, .docx bytes)."""
    case = get_case(session, actor, case_id)
    if case.definition_key != "designation" or "consulted_units" not in case.data:
        raise NotFound("该案件没有会审意见。", "This case has no joint review opinions.")
    if not may_see_kind(actor, case, "opinion_sheet"):
        raise Forbidden("会审意见汇总表仅限领导小组及其办公室查阅（成员单位在会审结束后可查阅）。",
                        "The opinion sheet is for the leading group and its office (member units may read it once "
                        "the joint review has concluded).", code="confidential")
    town, county, names = case_names(session, case, list(case.data["consulted_units"]))
    return (f"会审意见汇总表-{case.number}.docx",
            opinion_sheet(session, case=case, town=town, county=county, unit_names=names, now=now))


def attach_opinion_sheet(session: Session, case: Case, now: datetime, *,
                         data: dict[str, Any] | None = None) -> Attachment:
    """Make the opinion sheet and keep it on the case (kind opinion_sheet); `data` is the case's new data."""
    data = case.data if data is None else data
    town, county, names = case_names(session, case, list(data.get("consulted_units") or []))
    content = opinion_sheet(session, case=case, town=town, county=county, unit_names=names, now=now, data=data)
    return store_bytes(session=session, actor=Actor.system(), data=content, content_type=DOCX, kind="opinion_sheet",
                       filename=f"会审意见汇总表-{case.number}.docx", now=now, case_id=case.id)


def announcement_fields(session: Session, case: Case, data: dict[str, Any], *, start: date, end: date,
                        working_days: int) -> dict[str, Any]:
    town, county, _ = case_names(session, case, [])
    return {"title": f"关于拟认定{county}{town}为市级专业镇的公示", "county": county, "town": town,
            "industry": industry_text(data), "start": cn_date(start), "end": cn_date(end),
            "working_days": working_days, "objection_contact": catalog().common["objection_contact"],
            "case_number": case.number, "issued": cn_date(start)}


def attach_announcement(session: Session, case: Case, now: datetime, *, data: dict[str, Any], end: date,
                        working_days: int) -> Attachment:
    """The 公示 announcement for the city's website and notice board, kept on the case (kind
    publicity_announcement)."""
    start = local_date(now)
    fields = announcement_fields(session, case, data, start=start, end=end, working_days=working_days)
    content = render(session, "publicity_announcement", fields, issued=start)
    return store_bytes(session=session, actor=Actor.system(), data=content, content_type=DOCX,
                       kind="publicity_announcement", filename=f"公示-{case.number}.docx", now=now,
                       case_id=case.id)
