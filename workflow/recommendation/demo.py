"""The demo's provincial recommendation: this year's first round, chosen from the shortlist by the office (the
towns designated two years ago that meet the criteria), approved by the leader with its dossier, and the province's
answers recorded (the first town designated provincial, the second refused), so that a town is provincial on the
dashboard; the shortlist then shows the other municipal towns with their reasons (called by
workflow.seed.build_demo)."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlmodel import Session

from workflow.core.actors import Actor
from workflow.core.attachments import store_bytes
from workflow.core.calendar import local_date
from workflow.core.engine import fire
from workflow.recommendation.criteria import shortlist
from workflow.recommendation.rules import open_round, record_answer

PROVINCE_PDF = b"%PDF-1.4\n% demo: the province's designation of provincial professional towns\n%%EOF\n"


def recommendation_demo(session: Session, act: dict[str, Actor], now: datetime) -> None:
    """One round approved with its answers recorded (nothing when no town meets the criteria)."""
    office, leader = act["office"], act["leader"]
    opened = now - timedelta(days=14)
    eligible = [row.town_id for row in shortlist(session, local_date(opened)) if row.is_eligible][:2]
    if not eligible:
        return
    case = open_round(session, actor=office, now=opened, year=local_date(now).year, batch=1)
    assert case.id is not None
    fire(session=session, case_id=case.id, trigger="select_towns", actor=office, now=opened,
         payload={"selected_towns": eligible})
    fire(session=session, case_id=case.id, trigger="submit_recommendation", actor=office, now=opened)
    fire(session=session, case_id=case.id, trigger="approve_recommendation", actor=leader,
         now=now - timedelta(days=10))
    answered = now - timedelta(days=2)
    document = store_bytes(session=session, actor=office, data=PROVINCE_PDF, filename="省级专业镇认定文件.pdf",
                           content_type="application/pdf", kind="province_document", now=answered, case_id=case.id)
    record_answer(session, actor=office, now=answered, case_id=case.id, town_id=eligible[0], answer="approved",
                  document_id=document.id)
    if len(eligible) > 1:
        record_answer(session, actor=office, now=answered, case_id=case.id, town_id=eligible[1], answer="refused",
                      comment="本批次省级名额已满，建议下一批次继续推荐")
