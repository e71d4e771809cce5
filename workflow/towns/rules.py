"""The town registry's actions that other processes' definitions name (registered, never imported by them)."""

from __future__ import annotations

from datetime import date

from sqlmodel import Session

from workflow.core.engine import FireContext
from workflow.core.models import Case
from workflow.core.previews import Preview, preview
from workflow.core.registry import action
from workflow.towns.services import designate, review_date


@action("designate_town")
def designate_town(ctx: FireContext) -> None:
    """Give the designation its number and move the town's registry record to municipal level."""
    designate(ctx)


@preview("designation", states=("decision", "publicity", "notice_pending"), shown_by=("approve", "issue_notice"))
def designation_notice_draft(session: Session, case: Case, today: date) -> Preview:
    """The designation notice as it would be issued today, watermarked and with its number left blank."""
    from workflow.core.documents import catalog, render
    from workflow.towns.documents import NAME, fields_for

    spec = catalog().get(NAME)
    fields = fields_for(session, case, case.data, number=spec.number(today.year, None), designated=today,
                        review=review_date(today))
    return Preview(document=NAME, label=spec.label.zh, filename=f"认定通知（草稿）-{case.number}.docx",
                   content=render(session, NAME, fields, issued=today, draft=True))
