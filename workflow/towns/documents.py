"""The town registry's document: the notice designating a municipal-level professional town (认定通知)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlmodel import Session

from workflow.core.actors import Actor
from workflow.core.attachments import DOCX, store_bytes
from workflow.core.documents import case_names, cn_date, industry_text, number_or_none, render, render_shipped
from workflow.core.models import Attachment, Case
from workflow.core.receipts import expect_receipt

NAME = "designation_notice"


def notice_fields(*, number: str, town: str, county: str, industry: str, designated: date, review: date,
                  output_yi: float | None = None) -> dict[str, Any]:
    return {"number": number, "title": f"关于认定{county}{town}为市级专业镇的通知", "county": county, "town": town,
            "industry": industry, "output": f"{output_yi:.2f}" if output_yi is not None else "",
            "designated": cn_date(designated), "review": cn_date(review), "issued": cn_date(designated)}


def designation_notice(*, number: str, town: str, county: str, industry: str, designated: date, review: date,
                       output_yi: float | None = None, draft: bool = False) -> bytes:
    """The notice designating a municipal-level professional town (认定通知), from the shipped template."""
    fields = notice_fields(number=number, town=town, county=county, industry=industry, designated=designated,
                           review=review, output_yi=output_yi)
    return render_shipped(NAME, fields, issued=designated, draft=draft)


def fields_for(session: Session, case: Case, data: dict[str, Any], *, number: str, designated: date,
               review: date) -> dict[str, Any]:
    town, county, _ = case_names(session, case, [])
    return notice_fields(number=number, town=town, county=county, industry=industry_text(data),
                         designated=designated, review=review, output_yi=number_or_none(data.get("output_yi")))


def attach_designation_notice(session: Session, case: Case, now: datetime, *,
                              data: dict[str, Any] | None = None) -> Attachment:
    """Make the designation notice and keep it on the designation case and its town (kind designation_notice)."""
    data = case.data if data is None else data
    designated = date.fromisoformat(data["designated_date"])
    fields = fields_for(session, case, data, number=data["designation_number"], designated=designated,
                        review=date.fromisoformat(data["review_date"]))
    content = render(session, NAME, fields, issued=designated)
    notice = store_bytes(session=session, actor=Actor.system(), data=content,
                         filename=f"认定通知-{data['designation_number']}.docx", content_type=DOCX,
                         kind="designation_notice", now=now, case_id=case.id, town_id=case.town_id)
    expect_receipt(session, attachment=notice, unit_id=case.county_id, now=now)  # the town's county signs for it
    return notice
