"""The case page's "what to do now" panel in the API: the same service, as JSON (workflow.core.panels)."""

from __future__ import annotations

from flask import jsonify
from flask.typing import ResponseReturnValue
from pydantic import BaseModel

from webapp.api.blueprint import bp
from webapp.api.openapi import api_route
from webapp.api.schemas import Error, Message
from webapp.auth.current import actor
from webapp.auth.roles import BUSINESS_ROLES
from webapp.database import db, utcnow
from workflow.core.panels import case_panel
from workflow.core.yamlcheck import Label


class StepOut(BaseModel):
    trigger: str
    label: Message
    style: str  # primary | danger | neutral
    is_direct: bool  # nothing to enter, nothing irreversible: the step needs no form


class DueOut(BaseModel):
    label: Message
    due_date: str
    working_days_left: int  # negative once passed
    overdue: bool
    is_estimated: bool


class LineOut(BaseModel):
    label: Message
    value: Message
    tone: str  # ok | bad | warn, or "" for plain


class SectionOut(BaseModel):
    key: str
    title: Message
    text: Message | None
    lines: list[LineOut]


class PanelOut(BaseModel):
    steps: list[StepOut]
    main: str | None  # the trigger of the main step, shown in the primary colour
    due: list[DueOut]
    sections: list[SectionOut]
    has_preview: bool  # a draft of the notice the case is about to issue can be read (GET /cases/{id}/preview)
    waiting_on: list[str]  # the roles that act next, when the caller has nothing to do


def _message(label: Label) -> Message:
    return Message(zh=label.zh, en=label.en)


@api_route(bp, "/cases/<int:case_id>/panel", "GET", roles=BUSINESS_ROLES,
           summary="What the caller can do on the case now, by when, and what to know to do it",
           responses={200: (PanelOut, "the panel"), 404: (Error, "no such case, or not visible")})
def case_panel_api(case_id: int) -> ResponseReturnValue:
    panel = case_panel(session=db(), actor=actor(), case_id=case_id, now=utcnow())
    out = PanelOut(
        steps=[StepOut(trigger=s.trigger, label=_message(s.label), style=s.style, is_direct=s.is_direct)
               for s in panel.steps],
        main=panel.main.trigger if panel.main else None,
        due=[DueOut(label=_message(d.label), due_date=d.due_date, working_days_left=d.working_days_left,
                    overdue=d.working_days_left < 0, is_estimated=d.is_estimated) for d in panel.due],
        sections=[SectionOut(key=s.key, title=_message(s.title), text=_message(s.text) if s.text else None,
                             lines=[LineOut(label=_message(line.label), value=_message(line.value), tone=line.tone)
                                    for line in s.lines]) for s in panel.sections],
        has_preview=panel.has_preview, waiting_on=list(panel.waiting_on))
    return jsonify(out.model_dump(mode="json"))
