"""The problem ledger in the API: log a problem, the ledger with the page's filters (and its Excel export), and
the steps by their names: assign, answer, verify (close or send back), escalate (into an order or to the meeting),
the leader's decision. Each calls the same service as the pages (workflow/problems/ledger.py)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from flask import jsonify, request
from flask.typing import ResponseReturnValue
from pydantic import BaseModel, Field

from webapp.api.blueprint import INT, bp, case_out, positive_ints
from webapp.api.openapi import Query, api_route
from webapp.api.schemas import CaseOut, Day, Error, Message, Strict, Text100, Text2000, Version, one_of
from webapp.auth.current import actor
from webapp.auth.roles import BUSINESS_ROLES
from webapp.database import db, unit_of_work, utcnow
from webapp.errors import json_error
from webapp.exporting import xlsx_download
from workflow.core.exports import EXPORT_LIMIT
from workflow.problems import ledger as services
from workflow.problems.categories import categories
from workflow.problems.ledger import ANSWERS, LEDGER, STATES, LedgerFilters, ledger_filters, ledger_page, ledger_rows
from workflow.problems.rules import ORIGINS

CategoryKey = Annotated[str, Field(json_schema_extra=one_of(lambda: [c.key for c in categories()]))]
# declared for the document; the service refuses anything else with its own reason
Origin = Annotated[str, Field(json_schema_extra={"enum": list(ORIGINS)})]
Outcome = Annotated[str, Field(json_schema_extra={"enum": list(ANSWERS)})]
VerifyAction = Annotated[str, Field(json_schema_extra={"enum": ["close", "send_back"]})]
EscalateTo = Annotated[str, Field(json_schema_extra={"enum": ["order", "meeting"]})]


class ProblemCreate(Strict):
    town_id: int | None = Field(None, ge=1, le=2**31 - 1,
                                description="the problem's town; none for a county-wide problem")
    county_id: int | None = Field(None, ge=1, le=2**31 - 1,
                                  description="the county, when no town is given; with a town, the town's county")
    category: CategoryKey = Field(description="land | energy | finance | talent | approvals | market | other")
    description: Text2000
    origin: Origin | None = Field(None, description="field_work (the default) | enterprise")
    raised_by: Text100 | None = None
    enterprise_name: Text100 | None = Field(None, description="required when the origin is enterprise")


class AssignRequest(Strict):
    responsible_unit_id: int = Field(ge=1, le=2**31 - 1, description="a member unit, or the problem's county")
    due_date: Day | None = Field(None, description="YYYY-MM-DD, a working day; none: 10 working days")
    expected_version: Version | None = None


class AnswerRequest(Strict):
    outcome: Outcome = Field(description="resolved | in_progress | unsolvable")
    text: Text2000 = Field(description="what was done, the plan, or why it cannot be solved at this level")
    plan_date: Day | None = Field(None, description="in_progress: the date it will be solved by (YYYY-MM-DD)")
    expected_version: Version | None = None


class VerifyRequest(Strict):
    action: VerifyAction = Field(description="close | send_back")
    comment: Text2000 | None = Field(None, description="required to send it back")
    due_date: Day | None = Field(None, description="send_back: the new deadline; none: 10 working days")
    expected_version: Version | None = None


class EscalateRequest(Strict):
    to: EscalateTo = Field(description="order (a rectification order of the problem's town) | meeting")
    order_due_date: Day | None = Field(None, description="order: the order's deadline (YYYY-MM-DD)")
    order_problem: Text2000 | None = Field(None, description="order: its text; none: the problem's description")
    meeting_note: Text2000 | None = Field(None, description="meeting: the issue and the office's proposal")
    expected_version: Version | None = None


class DecideRequest(Strict):
    decision_text: Text2000
    responsible_unit_id: int | None = Field(None, ge=1, le=2**31 - 1,
                                            description="assign it (交办) to this unit; none: close it")
    due_date: Day | None = None
    expected_version: Version | None = None


class ProblemRow(BaseModel):
    id: int
    number: str
    county_id: int
    county: str
    town_id: int | None
    town: str
    category: str
    category_label: Message
    description: str
    origin: str | None
    raised_by: str | None
    enterprise_name: str | None
    responsible_unit_id: int | None
    responsible_unit: str | None
    due_date: str | None
    working_days_left: int | None
    state: str
    state_label: Message
    is_overdue: bool
    order_id: int | None
    created_at: datetime
    version: int


class ProblemList(BaseModel):
    items: list[ProblemRow]
    total: int
    page: int
    per_page: int


LEDGER_FILTERS = (Query("county", INT), Query("town", INT),
                  Query("category", {"type": "string", "enum": [c.key for c in categories()]}),
                  Query("state", {"type": "string", "enum": list(STATES)}),
                  Query("unit", INT, "the responsible unit"),
                  Query("overdue", {"type": "string", "enum": ["1"]}, "1: only problems overdue"))


def _filters() -> LedgerFilters | ResponseReturnValue:
    numbers = positive_ints("county", "town", "unit")
    if not isinstance(numbers, dict):
        return numbers
    category, state = request.args.get("category") or None, request.args.get("state") or None
    if category is not None and category not in {c.key for c in categories()}:
        return json_error(400, "bad_request", "问题类别不正确。", "Unknown category.")
    if state is not None and state not in STATES:
        return json_error(400, "bad_request", "状态不正确。", "Unknown state.")
    return LedgerFilters(county_id=numbers.get("county"), town_id=numbers.get("town"), category=category,
                         state=state, unit_id=numbers.get("unit"), overdue=request.args.get("overdue") == "1")


def _row(r: services.LedgerRow) -> dict[str, Any]:
    d = r.case.data
    return ProblemRow(
        id=r.case.id or 0, number=r.case.number, county_id=r.case.county_id, county=r.county, town_id=r.case.town_id,
        town=r.town, category=str(d.get("category") or ""), category_label=Message(zh=r.category.zh, en=r.category.en),
        description=str(d.get("description") or ""), origin=d.get("origin"), raised_by=d.get("raised_by"),
        enterprise_name=d.get("enterprise_name"), responsible_unit_id=d.get("responsible_unit_id"),
        responsible_unit=d.get("responsible_unit"), due_date=d.get("due_date"),
        working_days_left=r.badge.working_days_left if r.badge else None, state=r.case.state,
        state_label=Message(zh=r.state.zh, en=r.state.en), is_overdue=r.is_overdue, order_id=d.get("order_id"),
        created_at=r.case.created_at, version=r.case.version).model_dump(mode="json")


@api_route(bp, "/problems", "POST", roles=BUSINESS_ROLES, summary="Log a problem (member units, counties, the office)",
           body=ProblemCreate,
           responses={201: (CaseOut, "logged"), 422: (Error, "what is missing or wrong; details name the fields")})
def log_problem(body: ProblemCreate) -> ResponseReturnValue:
    data = {k: v for k, v in body.model_dump().items()
            if k not in ("town_id", "county_id") and v not in (None, "")}
    with unit_of_work() as s:
        case = services.log_problem(session=s, actor=actor(), now=utcnow(), data=data, town_id=body.town_id,
                                    county_id=body.county_id)
    return jsonify(case_out(case)), 201


@api_route(bp, "/problems", "GET", roles=BUSINESS_ROLES, summary="The problem ledger: the problems the caller sees",
           query=(*LEDGER_FILTERS, Query("page", INT), Query("per_page", {**INT, "maximum": 100})),
           responses={200: (ProblemList, "one page, the newest first"), 400: (Error, "bad parameter")})
def list_problems() -> ResponseReturnValue:
    f = _filters()
    if not isinstance(f, LedgerFilters):
        return f
    paging = positive_ints("page", "per_page")
    if not isinstance(paging, dict):
        return paging
    page = ledger_page(db(), actor(), f, now=utcnow(), page=paging.get("page", 1),
                       per_page=paging.get("per_page", 20))
    return jsonify(ProblemList(items=[_row(r) for r in page.items], total=page.total, page=page.page,  # type: ignore[misc]  # rows are JSON dicts, validated by the model
                               per_page=page.per_page).model_dump(mode="json"))


@api_route(bp, "/problems/export.xlsx", "POST", roles=BUSINESS_ROLES,
           summary="Export the problem ledger with its filters as an Excel workbook (.xlsx)", query=LEDGER_FILTERS,
           responses={200: (None, f"the workbook (at most {EXPORT_LIMIT:,} rows); the export is audited"),
                      400: (Error, "bad parameter")})
def export_problems() -> ResponseReturnValue:
    f = _filters()
    if not isinstance(f, LedgerFilters):
        return f
    s, me = db(), actor()
    return xlsx_download(LEDGER, lambda limit: ledger_rows(s, me, f, now=utcnow(), limit=limit),
                         total=services.ledger_total(s, me, f), filters=ledger_filters(s, f))


STEP_RESPONSES: dict[int, tuple[type[BaseModel] | None, str]] = {
    200: (CaseOut, "done"), 403: (Error, "role or unit not allowed"), 404: (Error, "no such problem, or not visible"),
    409: (Error, "stale version, or not possible in this state"), 422: (Error, "refused; details list every reason")}


def _problem_or_404(case_id: int) -> None:
    from workflow.core.access import get_case
    from workflow.core.errors import not_found_case

    if get_case(db(), actor(), case_id).definition_key != services.KEY:
        raise not_found_case()


@api_route(bp, "/problems/<int:case_id>/assign", "POST", roles=BUSINESS_ROLES,
           summary="The office assigns the problem to a responsible unit with a deadline", body=AssignRequest,
           responses=STEP_RESPONSES)
def assign_problem(body: AssignRequest, case_id: int) -> ResponseReturnValue:
    _problem_or_404(case_id)
    with unit_of_work() as s:
        case = services.assign(session=s, actor=actor(), now=utcnow(), case_id=case_id,
                               responsible_unit_id=body.responsible_unit_id, due_date=body.due_date,
                               expected_version=body.expected_version)
    return jsonify(case_out(case))


@api_route(bp, "/problems/<int:case_id>/answer", "POST", roles=BUSINESS_ROLES,
           summary="The responsible unit answers: resolved, in progress (a plan and its date), or unsolvable (why)",
           body=AnswerRequest, responses=STEP_RESPONSES)
def answer_problem(body: AnswerRequest, case_id: int) -> ResponseReturnValue:
    _problem_or_404(case_id)
    with unit_of_work() as s:
        case = services.answer(session=s, actor=actor(), now=utcnow(), case_id=case_id, outcome=body.outcome,
                               text=body.text, plan_date=body.plan_date, expected_version=body.expected_version)
    return jsonify(case_out(case))


@api_route(bp, "/problems/<int:case_id>/verify", "POST", roles=BUSINESS_ROLES,
           summary="The office verifies the answer: close the problem, or send it back", body=VerifyRequest,
           responses=STEP_RESPONSES)
def verify_problem(body: VerifyRequest, case_id: int) -> ResponseReturnValue:
    _problem_or_404(case_id)
    if body.action not in ("close", "send_back"):
        return json_error(400, "bad_request", "action 应为 close 或 send_back。", "action must be close or send_back.")
    with unit_of_work() as s:
        case = services.verify(session=s, actor=actor(), now=utcnow(), case_id=case_id, close=body.action == "close",
                               comment=body.comment, due_date=body.due_date, expected_version=body.expected_version)
    return jsonify(case_out(case))


@api_route(bp, "/problems/<int:case_id>/escalate", "POST", roles=BUSINESS_ROLES,
           summary="The office escalates the problem: into a rectification order, or to the leading group's meeting",
           body=EscalateRequest, responses=STEP_RESPONSES)
def escalate_problem(body: EscalateRequest, case_id: int) -> ResponseReturnValue:
    _problem_or_404(case_id)
    with unit_of_work() as s:
        case = services.escalate(session=s, actor=actor(), now=utcnow(), case_id=case_id, to=body.to,
                                 order_due_date=body.order_due_date, order_problem=body.order_problem,
                                 meeting_note=body.meeting_note, expected_version=body.expected_version)
    return jsonify(case_out(case))


@api_route(bp, "/problems/<int:case_id>/decide", "POST", roles=BUSINESS_ROLES,
           summary="The leader decides on a problem referred to the meeting: assign it to a unit, or close it",
           body=DecideRequest, responses=STEP_RESPONSES)
def decide_problem(body: DecideRequest, case_id: int) -> ResponseReturnValue:
    _problem_or_404(case_id)
    with unit_of_work() as s:
        case = services.decide(session=s, actor=actor(), now=utcnow(), case_id=case_id,
                               decision_text=body.decision_text, responsible_unit_id=body.responsible_unit_id,
                               due_date=body.due_date, expected_version=body.expected_version)
    return jsonify(case_out(case))
