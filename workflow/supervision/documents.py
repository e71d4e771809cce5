"""Supervision's document: the notice publicly criticising a county that missed a deadline (通报批评)."""

from __future__ import annotations

from datetime import date, datetime

from workflow.core.documents import (
    ISSUING_BODY,
    PLAN,
    SALUTATION,
    add_para,
    cn_date,
    new_document,
    red_header,
    signature,
    title_line,
    to_bytes,
)


def criticism_number(year: int, n: int) -> str:
    """The number of a criticism notice: 阳专镇通〔YYYY〕N号."""
    return f"阳专镇通〔{year}〕{n}号"


def criticism_notice(*, number: str, county: str, town: str, order: str, deadline: date, facts: str,
                     issued: date, new_deadline: date | None = None) -> bytes:
    """A notice publicly criticising a county that missed a rectification deadline (通报批评)."""
    now = datetime.combine(issued, datetime.min.time())
    title = f"关于对{county}未按期完成{town}整改任务的通报批评"
    doc = new_document(title, now)
    red_header(doc, number)
    title_line(doc, title)
    add_para(doc, SALUTATION)
    report = f"于{cn_date(new_deadline)}前" if new_deadline else "限期"
    for text in (
        f"根据{PLAN}关于专业镇督办考核的要求，{ISSUING_BODY}办公室向{county}下达了{order}，"
        f"要求{county}于{cn_date(deadline)}前完成{town}的整改。截至期限，{county}未按期完成整改。",
        f"主要问题：{facts}",
        f"经领导小组同意，现对{county}予以通报批评。请{county}人民政府高度重视，认真分析原因，"
        f"落实整改责任，{report}完成整改，并将整改情况书面报送领导小组办公室。",
        "各县（区）要引以为戒，切实抓好专业镇建设各项工作任务的落实。",
    ):
        add_para(doc, text, indent=True)
    signature(doc, issued)
    return to_bytes(doc)
