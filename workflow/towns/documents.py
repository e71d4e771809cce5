"""The town registry's document: the notice designating a municipal-level professional town (认定通知)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlmodel import Session

from workflow.core.actors import Actor
from workflow.core.attachments import DOCX, store_bytes
from workflow.core.documents import (
    ISSUING_BODY,
    PLAN,
    SALUTATION,
    add_para,
    case_names,
    cn_date,
    industry_text,
    new_document,
    number_or_none,
    red_header,
    signature,
    title_line,
    to_bytes,
)
from workflow.core.models import Attachment, Case
from workflow.core.receipts import expect_receipt


def designation_notice(*, number: str, town: str, county: str, industry: str, designated: date, review: date,
                       output_yi: float | None = None) -> bytes:
    """The notice designating a municipal-level professional town (认定通知), official layout."""
    now = datetime.combine(designated, datetime.min.time())
    title = f"关于认定{county}{town}为市级专业镇的通知"
    doc = new_document(title, now)
    red_header(doc, number)
    title_line(doc, title)
    add_para(doc, SALUTATION)
    output = f"，上年主导产业产值{output_yi:.2f}亿元" if output_yi is not None else ""
    for text in (
        f"根据{PLAN}，经{county}申报，{ISSUING_BODY}办公室形式审查、成员单位会审、专家评审，"
        f"领导小组审定并经公示无异议，现认定{county}{town}为市级专业镇。",
        f"{town}的主导产业为{industry}{output}。认定日期为{cn_date(designated)}。"
        f"市级专业镇实行滚动认定，复核日期为{cn_date(review)}，届时按认定标准进行复核。",
        f"希望{county}和{town}以此次认定为契机，聚焦主导产业，壮大龙头企业，完善公共服务平台，"
        "加强品牌和标准建设，持续提升专业镇的竞争力和影响力。各成员单位要按照职责分工加强指导和支持。",
        "特此通知。",
    ):
        add_para(doc, text, indent=True)
    signature(doc, designated)
    return to_bytes(doc)


def attach_designation_notice(session: Session, case: Case, now: datetime, *,
                              data: dict[str, Any] | None = None) -> Attachment:
    """Make the designation notice and keep it on the designation case and its town (kind designation_notice)."""
    data = case.data if data is None else data
    town, county, _ = case_names(session, case, [])
    content = designation_notice(
        number=data["designation_number"], town=town, county=county, industry=industry_text(data),
        designated=date.fromisoformat(data["designated_date"]), review=date.fromisoformat(data["review_date"]),
        output_yi=number_or_none(data.get("output_yi")))
    notice = store_bytes(session=session, actor=Actor.system(), data=content,
                         filename=f"认定通知-{data['designation_number']}.docx", content_type=DOCX,
                         kind="designation_notice", now=now, case_id=case.id, town_id=case.town_id)
    expect_receipt(session, attachment=notice, unit_id=case.county_id, now=now)  # the town's county signs for it
    return notice
