"""The provincial recommendation in the API: the shortlist, opening a round, a round with its towns, choosing its
towns, recording the province's answer for a town, and the dossier. Submitting, approving and returning are the
round's transitions (POST /cases/<id>/transitions/<trigger>). Each calls the same service as the pages
(workflow/recommendation/); only the office and the leader read them, only the office changes them."""

from __future__ import annotations

from typing import Annotated, Any

from flask import Response, jsonify
from flask.typing import ResponseReturnValue
from pydantic import BaseModel, Field

from webapp.api.blueprint import bp, case_out
from webapp.api.openapi import api_route
from webapp.api.schemas import CaseOut, Error, Id, Message, Strict, Text2000, Version
from webapp.auth.current import actor
from webapp.database import db, unit_of_work, utcnow
from webapp.exporting import content_disposition
from workflow.core.calendar import local_date
from workflow.core.engine import fire
from workflow.recommendation.criteria import ShortlistRow
from workflow.recommendation.dossier import dossier_file
from workflow.recommendation.rules import MAX_TOWNS, open_round, record_answer
from workflow.recommendation.view import READERS, office_shortlist, round_view

OFFICE = frozenset({"office"})


class ShortlistRowOut(BaseModel):
    town_id: int
    town: str
    county_id: int
    record_id: int
    is_eligible: bool
    reasons: list[Message] = Field(description="the criteria the town misses (empty: it may be recommended)")


class ShortlistOut(BaseModel):
    towns: list[ShortlistRowOut] = Field(description="the towns that meet the criteria first")


class RoundTownOut(BaseModel):
    town_id: int
    town: str
    county: str
    record_id: int | None
    record_state: str | None
    letter_number: str | None
    letter_attachment_id: int | None
    answer: str | None = Field(description="approved | refused | null (not answered yet)")
    comment: str | None


class RoundOut(BaseModel):
    case: CaseOut
    towns: list[RoundTownOut]
    dossier_attachment_id: int | None
    shortlist: list[ShortlistRowOut] = Field(description="while the office chooses the towns")


class RoundCreate(Strict):
    recommendation_year: int = Field(ge=2020, le=9999)
    batch_no: int = Field(ge=1, le=99)


class TownsRequest(Strict):
    towns: list[Id] = Field(json_schema_extra={"maxItems": MAX_TOWNS, "minItems": 1, "uniqueItems": True},
                            description=f"the ids of the towns chosen (the whole choice), 1 to {MAX_TOWNS}")
    expected_version: Version | None = None


class AnswerRequest(Strict):
    town_id: int = Field(ge=1, le=2**31 - 1)
    answer: Annotated[str, Field(json_schema_extra={"enum": ["approved", "refused"]})] = Field(
        description="approved | refused")
    document_id: int | None = Field(None, ge=1, le=2**31 - 1, description="approved: the province's document, an "
                                    "attachment of the round (kind province_document) uploaded first")
    comment: Text2000 | None = Field(None, description="refused: required")


def _shortlist_row(row: ShortlistRow) -> ShortlistRowOut:
    return ShortlistRowOut(town_id=row.town_id, town=row.town, county_id=row.county_id, record_id=row.record_id,
                           is_eligible=row.is_eligible, reasons=[Message(zh=r["zh"], en=r["en"]) for r in row.reasons])


def _round(case_id: int) -> dict[str, Any]:
    view = round_view(db(), actor(), case_id, local_date(utcnow()))
    return RoundOut(
        case=CaseOut.model_validate(case_out(view.case)),
        towns=[RoundTownOut(town_id=t.town_id, town=t.town, county=t.county, record_id=t.record_id,
                            record_state=t.record_state, letter_number=(t.letter or {}).get("number"),
                            letter_attachment_id=(t.letter or {}).get("attachment_id"),
                            answer=(t.answer or {}).get("answer"), comment=(t.answer or {}).get("comment"))
               for t in view.towns],
        dossier_attachment_id=view.case.data.get("dossier_id"),
        shortlist=[_shortlist_row(r) for r in view.shortlist]).model_dump(mode="json")


@api_route(bp, "/recommendation/shortlist", "GET", roles=READERS,
           summary="The municipal towns and, for each, the provincial criteria it misses",
           responses={200: (ShortlistOut, "every municipal town")})
def recommendation_shortlist() -> ResponseReturnValue:
    rows = office_shortlist(db(), actor(), local_date(utcnow()))
    return jsonify(ShortlistOut(towns=[_shortlist_row(r) for r in rows]).model_dump(mode="json"))


@api_route(bp, "/recommendation/rounds", "POST", roles=OFFICE, body=RoundCreate,
           summary="Open a round of recommendations (a year and its batch)",
           responses={201: (CaseOut, "opened"), 422: (Error, "a year or batch out of range, or the round exists")})
def open_recommendation_round(body: RoundCreate) -> ResponseReturnValue:
    with unit_of_work() as s:
        case = open_round(s, actor=actor(), now=utcnow(), year=body.recommendation_year, batch=body.batch_no)
    return jsonify(case_out(case)), 201


@api_route(bp, "/recommendation/rounds/<int:case_id>", "GET", roles=READERS,
           summary="A round: its towns, their records, letters and answers, the dossier",
           responses={200: (RoundOut, "the round"), 404: (Error, "no such round")})
def recommendation_round(case_id: int) -> ResponseReturnValue:
    return jsonify(_round(case_id))


@api_route(bp, "/recommendation/rounds/<int:case_id>/towns", "POST", roles=OFFICE, body=TownsRequest,
           summary="Choose the round's towns; a town missing a criterion is refused with the reason",
           responses={200: (RoundOut, "the round"), 404: (Error, "no such round"),
                      409: (Error, "the round is not being prepared"), 422: (Error, "the reasons")})
def choose_recommendation_towns(body: TownsRequest, case_id: int) -> ResponseReturnValue:
    with unit_of_work() as s:
        round_view(s, actor(), case_id, local_date(utcnow()))  # a round, or 404
        fire(session=s, case_id=case_id, trigger="select_towns", actor=actor(), now=utcnow(),
             payload={"selected_towns": body.towns}, expected_version=body.expected_version)
    return jsonify(_round(case_id))


@api_route(bp, "/recommendation/rounds/<int:case_id>/answers", "POST", roles=OFFICE, body=AnswerRequest,
           summary="Record the province's answer for a town of the round (the round closes with the last)",
           responses={200: (RoundOut, "the round"), 404: (Error, "no such round"),
                      409: (Error, "the round awaits no answer"), 422: (Error, "the reasons")})
def record_recommendation_answer(body: AnswerRequest, case_id: int) -> ResponseReturnValue:
    with unit_of_work() as s:
        round_view(s, actor(), case_id, local_date(utcnow()))
        record_answer(s, actor=actor(), now=utcnow(), case_id=case_id, town_id=body.town_id, answer=body.answer,
                      document_id=body.document_id, comment=body.comment)
    return jsonify(_round(case_id))


@api_route(bp, "/recommendation/rounds/<int:case_id>/dossier", "POST", roles=READERS,
           summary="The round's dossier (.zip with manifest.json); the download is audited",
           responses={200: (None, "the .zip"), 404: (Error, "no such round, or no dossier before approval")})
def recommendation_dossier(case_id: int) -> ResponseReturnValue:
    with unit_of_work() as s:
        view = round_view(s, actor(), case_id, local_date(utcnow()))
        row, path = dossier_file(s, actor=actor(), case=view.case, now=utcnow())
    return Response(path.read_bytes(), mimetype="application/zip", headers={
        "Content-Disposition": content_disposition(row.filename, f"dossier-{case_id}.zip"),
        "X-Content-Type-Options": "nosniff", "Cache-Control": "private, no-store"})
