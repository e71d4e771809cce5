"""Supervision's documents: the rectification notice that goes out with every order (整改通知书), and the notice
publicly criticising a county that missed its deadline (通报批评)."""

from __future__ import annotations

from datetime import date
from typing import Any

from workflow.core.documents import cn_date, render_shipped

SOURCES = {"inspection": "专业镇督导检查", "evaluation": "年度考核评价", "complaint": "群众反映问题核查",
           "problem": "问题台账跟踪督办", "task": "年度行动计划任务督办"}


def rectification_fields(*, number: str, county: str, town: str, source: str, problems: str, deadline: date,
                         case_number: str, issued: date) -> dict[str, Any]:
    return {"number": number, "title": f"关于限期整改{town or county}专业镇建设问题的通知",
            "addressee": f"{county}人民政府：", "county": county, "town": town, "source": source,
            "problems": problems, "deadline": cn_date(deadline), "case_number": case_number,
            "issued": cn_date(issued)}


def criticism_fields(*, number: str, county: str, town: str, order: str, deadline: date, facts: str,
                     issued: date, new_deadline: date | None = None) -> dict[str, Any]:
    return {"number": number, "title": f"关于对{county}未按期完成{town}整改任务的通报批评", "county": county,
            "town": town, "order": order, "deadline": cn_date(deadline), "facts": facts,
            "new_deadline": cn_date(new_deadline) if new_deadline else "", "issued": cn_date(issued)}


def criticism_notice(*, number: str, county: str, town: str, order: str, deadline: date, facts: str,
                     issued: date, new_deadline: date | None = None, draft: bool = False) -> bytes:
    """A notice publicly criticising a county that missed a rectification deadline, from the shipped template."""
    return render_shipped("criticism_notice", criticism_fields(
        number=number, county=county, town=town, order=order, deadline=deadline, facts=facts, issued=issued,
        new_deadline=new_deadline), issued=issued, draft=draft)
