"""The designation's document: the joint review's opinion sheet (会审意见汇总表)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.shared import Mm
from sqlmodel import Session

from workflow.core.access import get_case
from workflow.core.actors import Actor
from workflow.core.attachments import DOCX, store_bytes
from workflow.core.calendar import local_date, to_local
from workflow.core.documents import (
    FANGSONG,
    HEITI,
    OFFICE,
    add_para,
    case_names,
    new_document,
    number_or_none,
    set_font,
    table_cell,
    to_bytes,
)
from workflow.core.errors import NotFound
from workflow.core.models import Attachment, Case
from workflow.core.reference import INDUSTRY_CATEGORIES

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
        name = opinion.get("unit") or (unit_names.get(int(key)) if key.isdigit() else None)
        answered = opinion.get("at")
        rows.append({
            "unit": str(name or f"#{key}"),
            "answer": ANSWERS.get(opinion.get("answer") or "", PENDING),
            "reason": str(opinion.get("reason") or ""),
            "by": str(opinion.get("by") or ""),
            "date": local_date(datetime.fromisoformat(answered)).isoformat() if answered else "",
        })
    return rows


def opinion_sheet(*, case: Case, town: str, county: str, unit_names: dict[int, str], now: datetime,
                  data: dict[str, Any] | None = None) -> bytes:
    """The consolidated opinion sheet of the joint review (会审意见汇总表) as .docx bytes."""
    data = case.data if data is None else data
    doc = new_document("会审意见汇总表", now)
    add_para(doc, "会审意见汇总表", font=HEITI, size=22, align=WD_ALIGN_PARAGRAPH.CENTER, after=12, exact=None)
    add_para(doc, "市级专业镇认定申请 · 成员单位会审", size=14, align=WD_ALIGN_PARAGRAPH.CENTER, after=12)
    rows = opinion_rows(data, unit_names)
    counts = {label: sum(1 for r in rows if r["answer"] == label) for label in (*ANSWERS.values(), PENDING)}
    tally = "，".join(f"{label} {n} 个" for label, n in counts.items() if n or label != PENDING)
    lines = [("案件编号", case.number), ("专业镇", town), ("所属县（区）", county),
             ("申报概要", application_summary(data))]
    if data.get("opinion_due_date"):
        lines.append(("会审期限", str(data["opinion_due_date"])))
    lines.append(("征求意见单位", f"共 {len(rows)} 个：{tally}"))
    for label, value in lines:
        paragraph = add_para(doc, exact=24)
        set_font(paragraph.add_run(f"{label}："), HEITI, 14)
        set_font(paragraph.add_run(value), FANGSONG, 14)

    table = doc.add_table(rows=1, cols=6)
    table.style = "Table Grid"
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    widths = (Mm(12), Mm(34), Mm(24), Mm(46), Mm(18), Mm(22))
    for cell, text, width in zip(table.rows[0].cells, ("序号", "成员单位", "意见", "理由", "经办人", "日期"), widths,
                                 strict=True):
        cell.width = width
        table_cell(cell, text, bold=True, center=True)
    for i, row in enumerate(rows, 1):
        cells = table.add_row().cells
        values = (str(i), row["unit"], row["answer"], row["reason"], row["by"], row["date"])
        for j, (cell, text, width) in enumerate(zip(cells, values, widths, strict=True)):
            cell.width = width
            table_cell(cell, text, center=j in (0, 2, 5))
    add_para(doc, f"汇总时间：{to_local(now).strftime('%Y-%m-%d %H:%M')}　　汇总单位：{OFFICE}", size=12,
          align=WD_ALIGN_PARAGRAPH.RIGHT, before=12, exact=None)
    return to_bytes(doc)


def opinion_sheet_for(*, session: Session, actor: Actor, case_id: int, now: datetime) -> tuple[str, bytes]:
    """The opinion sheet of a case `actor` may see, made now: (file name, .docx bytes)."""
    case = get_case(session, actor, case_id)
    if case.definition_key != "designation" or "consulted_units" not in case.data:
        raise NotFound("该案件没有会审意见。", "This case has no joint review opinions.")
    town, county, names = case_names(session, case, list(case.data["consulted_units"]))
    return (f"会审意见汇总表-{case.number}.docx",
            opinion_sheet(case=case, town=town, county=county, unit_names=names, now=now))


def attach_opinion_sheet(session: Session, case: Case, now: datetime, *,
                         data: dict[str, Any] | None = None) -> Attachment:
    """Make the opinion sheet and keep it on the case (kind opinion_sheet); `data` is the case's new data."""
    data = case.data if data is None else data
    town, county, names = case_names(session, case, list(data.get("consulted_units") or []))
    content = opinion_sheet(case=case, town=town, county=county, unit_names=names, now=now, data=data)
    return store_bytes(session=session, actor=Actor.system(), data=content, content_type=DOCX, kind="opinion_sheet",
                       filename=f"会审意见汇总表-{case.number}.docx", now=now, case_id=case.id)
