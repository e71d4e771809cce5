"""Incidents in the API: the office lists them, retries one, or resolves one by hand (as on its pages)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import jsonify, request
from flask.typing import ResponseReturnValue
from pydantic import BaseModel, Field

from webapp.api.blueprint import bp
from webapp.api.openapi import Query, api_route
from webapp.api.schemas import Error, Message, Strict
from webapp.auth.current import actor
from webapp.database import db, unit_of_work, utcnow
from webapp.errors import json_error
from workflow.core import incidents
from workflow.core.models import Incident, Role
from workflow.core.queries import paginate
from workflow.core.reasons import parse_whole
from workflow.core.sweep import retry_incident

OFFICE = frozenset({Role.office.value})


class IncidentOut(BaseModel):
    id: int
    status: str
    case_id: int | None
    deadline_id: int | None
    job: str | None
    trigger: str | None
    error: Message
    tries: int
    first_failed_at: datetime
    last_failed_at: datetime
    resolved_at: datetime | None
    resolution: str | None
    comment: str | None


class IncidentList(BaseModel):
    items: list[IncidentOut]
    total: int
    page: int
    per_page: int


class ResolveRequest(Strict):
    comment: str = Field(min_length=1, max_length=incidents.COMMENT_MAX)


def _out(row: Incident | Any) -> dict[str, Any]:
    """An incident, from its row or from a row of the listing (same column names)."""
    return IncidentOut(id=row.id, status=row.status, case_id=row.case_id, deadline_id=row.deadline_id, job=row.job,  # type: ignore[arg-type]  # SQLModel types an id as optional; this row is saved
                       trigger=row.trigger, error=Message(zh=row.error_zh, en=row.error_en), tries=row.tries,
                       first_failed_at=row.first_failed_at, last_failed_at=row.last_failed_at,
                       resolved_at=row.resolved_at, resolution=row.resolution,
                       comment=row.comment).model_dump(mode="json")


@api_route(bp, "/incidents", "GET", roles=OFFICE, summary="Automatic steps that failed after their retries",
           query=(Query("status", {"type": "string", "enum": ["open", "resolved", "all"]}),
                  Query("page", {"type": "integer", "minimum": 1, "maximum": 2**31 - 1})),
           responses={200: (IncidentList, "one page, newest failure first"), 400: (Error, "bad parameter")})
def list_incidents() -> ResponseReturnValue:
    status = request.args.get("status", "open")
    number = parse_whole(request.args.get("page", "1"))
    if status not in ("open", "resolved", "all") or number is None:
        return json_error(400, "bad_request", "参数 status 须为 open、resolved 或 all，page 须为正整数。",
                          "status must be open, resolved or all; page a positive integer.")
    query = incidents.listing(db(), status=None if status == "all" else status)
    page = paginate(db(), query, number, 50)
    items = [_out(row) for row in page.items]
    return jsonify(IncidentList(items=items, total=page.total, page=page.page,  # type: ignore[arg-type]  # items are the incidents' JSON dicts, validated by the model
                                per_page=page.per_page).model_dump(mode="json"))


@api_route(bp, "/incidents/<int:incident_id>", "GET", roles=OFFICE, summary="One incident",
           responses={200: (IncidentOut, "the incident"), 404: (Error, "no such incident")})
def show_incident(incident_id: int) -> ResponseReturnValue:
    return jsonify(_out(incidents.get(db(), incident_id)))


@api_route(bp, "/incidents/<int:incident_id>/retry", "POST", roles=OFFICE,
           summary="Run the failed step again now (after fixing its cause)",
           responses={200: (IncidentOut, "the step went through; the incident is resolved"),
                      404: (Error, "no such incident"),
                      409: (Error, "already resolved, a scheduled job's (retried on the server), or failed again "
                                   "(details: the incident, with the try counted)")})
def retry_incident_api(incident_id: int) -> ResponseReturnValue:
    with unit_of_work() as s:
        incident, error = retry_incident(s, incident_id, actor=actor(), now=utcnow())
        out = _out(incident)
    if error:
        return json_error(409, "retry_failed", f"重试仍然失败：{error[0]}", f"The retry failed again: {error[1]}",
                          details=out)
    return jsonify(out)


@api_route(bp, "/incidents/<int:incident_id>/resolve", "POST", roles=OFFICE, body=ResolveRequest,
           summary="Resolve an incident by hand, saying how it was dealt with",
           responses={200: (IncidentOut, "resolved"), 404: (Error, "no such incident"),
                      409: (Error, "already resolved"), 422: (Error, "the comment is missing or too long")})
def resolve_incident_api(body: ResolveRequest, incident_id: int) -> ResponseReturnValue:
    with unit_of_work() as s:
        incident = incidents.resolve_by_hand(s, incident_id, actor=actor(), now=utcnow(), comment=body.comment)
        out = _out(incident)
    return jsonify(out)
