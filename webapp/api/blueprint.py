"""Routes of /api/v1; each calls the same service as the matching page."""

from __future__ import annotations

import json
from typing import Any

from flask import Blueprint, jsonify, request
from flask.typing import ResponseReturnValue
from flask_login import current_user

from webapp.api.openapi import Query, api_route, document
from webapp.api.schemas import (
    AvailableTransition,
    CaseCreate,
    CaseList,
    CaseOut,
    CaseSummary,
    DeadlineOut,
    DefinitionList,
    DefinitionOut,
    Error,
    EventList,
    EventOut,
    IdentityOut,
    Me,
    Message,
    SearchHit,
    SearchResults,
    Segment,
    StateOut,
    Token,
    TokenRequest,
    TransitionOut,
    TransitionRequest,
    UnitOut,
)
from webapp.auth.current import (
    actor,
    client_certificate,
    client_ip,
    factors,
    login_allowed,
    policy,
    too_many_attempts,
)
from webapp.auth.roles import BUSINESS_ROLES
from webapp.auth.sms import send_sms_code
from webapp.database import db, unit_of_work, utcnow
from webapp.errors import json_error
from webapp.exporting import xlsx_download
from workflow.accounts import seats
from workflow.accounts.auth import authenticate, refuse_until_password_changed
from workflow.accounts.second_factor import SmsCodeSent, begin_session, token_factor
from workflow.core.access import get_case
from workflow.core.catalog import CATALOG
from workflow.core.db import saved_id
from workflow.core.definitions import Definition, Label
from workflow.core.engine import allowed_transitions, create_case, fire
from workflow.core.exports import EXPORT_LIMIT
from workflow.core.list_exports import CASES, case_filters
from workflow.core.models import Case
from workflow.core.queries import case_events, case_list, case_list_query, case_rows, count_of, open_deadlines
from workflow.core.reasons import parse_whole
from workflow.core.search import search_cases
from workflow.core.visibility import visible_data

bp = Blueprint("api", __name__, url_prefix="/api/v1")


def _label(label: Label) -> Message:
    return Message(zh=label.zh, en=label.en)


def _summary(case: Case) -> dict[str, Any]:
    definition = CATALOG.get(case.definition_key, case.definition_version, db())
    state = definition.states[case.state].label
    return CaseSummary(
        id=case.id, number=case.number, definition=case.definition_key,  # type: ignore[arg-type]  # SQLModel types an id as optional; this row is saved
        definition_version=case.definition_version, state=case.state, state_label=_label(state),
        version=case.version, county_id=case.county_id, town_id=case.town_id, title=case.title,
        created_at=case.created_at, updated_at=case.updated_at, closed_at=case.closed_at,
    ).model_dump(mode="json")


def case_out(case: Case) -> dict[str, Any]:
    definition = CATALOG.get(case.definition_key, case.definition_version, db())
    transitions = [AvailableTransition(trigger=t.trigger, label=_label(t.label), requires=list(t.requires),
                                       accepts=list(t.accepts), comment=t.comment, confirm=t.confirm)
                   for t in allowed_transitions(definition, case, actor())]
    deadlines = [DeadlineOut(name=d.name, due_date=d.due_date, due_at=d.due_at, trigger=d.trigger,
                             is_estimated=d.is_estimated)
                 for d in open_deadlines(db(), [saved_id(case)]).get(saved_id(case), [])]
    out = CaseOut(**_summary(case), data=visible_data(actor(), case), transitions=transitions, deadlines=deadlines)
    return out.model_dump(mode="json")


def _definition_out(d: Definition) -> dict[str, Any]:
    return DefinitionOut(
        key=d.key, version=d.version, label=_label(d.label), initial=d.initial,
        create_roles=sorted(d.create_roles), create_accepts=list(d.create.accepts),
        states=[StateOut(name=s.name, label=_label(s.label), final=s.final)
                for s in d.states.values()],
        transitions=[TransitionOut(trigger=t.trigger, label=_label(t.label), sources=list(t.sources),
                                   dest=t.dest, roles=sorted(t.roles), requires=list(t.requires),
                                   accepts=list(t.accepts), comment=t.comment, confirm=t.confirm, system=t.system)
                     for t in d.transitions],
    ).model_dump(mode="json")


@api_route(bp, "/auth/token", "POST", summary="Exchange username and password for a Bearer token",
           body=TokenRequest, auth=False,
           responses={200: (Token, "token issued"),
                      401: (Error, "refused: wrong credentials, or the account's second factor (otp) missing or "
                                   "wrong (error otp_required, bad_otp; otp_sent: a code was sent by SMS)"),
                      403: (Error, "the password must first be changed, or two-step verification set up, on the "
                                   "web pages"),
                      429: (Error, "too many login attempts from this address; try again in a minute")})
def token(body: TokenRequest) -> ResponseReturnValue:
    if not login_allowed():
        return too_many_attempts()
    try:
        with unit_of_work() as s:
            user = authenticate(s, username=body.username, password=body.password, ip=client_ip(), now=utcnow(),
                                policy=policy(), certificate=client_certificate())
            factor = token_factor(s, user=user, code=body.otp, ip=client_ip(), now=utcnow(), policy=policy())
            refuse_until_password_changed(s, user=user, now=utcnow(), ip=client_ip())
            key, row = begin_session(s, user=user, kind="api", ip=client_ip(), now=utcnow(), factors=factors(),
                                     factor=factor, policy=policy())
            if body.seat_id is not None:  # the token acts in a seat the user holds
                seats.act_as(s, user=user, login=row, seat_id=body.seat_id, now=utcnow(), ip=client_ip())
    except SmsCodeSent as sent:  # committed: now the SMS goes
        send_sms_code(sent.sms)
        raise
    return jsonify(Token(token=key, expires_at=row.expires_at).model_dump(mode="json"))


@api_route(bp, "/me", "GET", summary="The caller", responses={200: (Me, "the caller")})
def me() -> ResponseReturnValue:
    user, unit = current_user.row, current_user.unit
    ways = [IdentityOut(seat_id=i.seat_id, role=i.role, unit_id=i.unit_id, position=i.position, title=i.title)
            for i in seats.identities(db(), user)]
    return jsonify(Me(id=user.id, username=user.username, display_name=user.display_name, role=current_user.role,
                      unit=UnitOut(id=unit.id, name=unit.name, kind=unit.kind) if unit else None,
                      seat_id=current_user.seat.id if current_user.seat else None, identities=ways)
                   .model_dump(mode="json"))


@api_route(bp, "/definitions", "GET", summary="The current process definitions",
           responses={200: (DefinitionList, "the current definitions")})
def definitions() -> ResponseReturnValue:
    return jsonify([_definition_out(CATALOG.current(k)) for k in CATALOG.keys()])


@api_route(bp, "/cases", "POST", roles=BUSINESS_ROLES, summary="Start a case", body=CaseCreate,
           responses={201: (CaseOut, "created"), 403: (Error, "role may not start this kind of case")})
def create(body: CaseCreate) -> ResponseReturnValue:
    with unit_of_work() as s:
        case = create_case(session=s, definition_key=body.definition, actor=actor(), now=utcnow(),
                           town_id=body.town_id, county_id=body.county_id, title=body.title, data=body.data)
    return jsonify(case_out(case)), 201


INT = {"type": "integer", "minimum": 1, "maximum": 2**31 - 1}


def _definition_keys() -> dict[str, Any]:
    return {"type": "string", "enum": CATALOG.keys()}


def _state_names() -> dict[str, Any]:
    return {"type": "string", "enum": sorted({s for k in CATALOG.keys() for s in CATALOG.current(k).states})}


CASE_FILTERS = (Query("definition", _definition_keys), Query("state", _state_names), Query("county", INT),
                Query("town", INT))


def positive_ints(*names: str) -> dict[str, int] | ResponseReturnValue:
    """The named query parameters that are given, as positive integers; a JSON 400 for one that is not."""
    found = {}
    for name in names:
        raw = request.args.get(name)
        if raw is not None:
            number = parse_whole(raw)
            if number is None:
                return json_error(400, "bad_request", f"参数 {name} 须为正整数。",
                                  f"{name} must be a positive integer.")
            found[name] = number
    return found


def _case_filters(numbers: dict[str, int]) -> dict[str, Any]:
    return {"definition": request.args.get("definition") or None, "state": request.args.get("state") or None,
            "county_id": numbers.get("county"), "town_id": numbers.get("town")}


@api_route(bp, "/cases", "GET", roles=BUSINESS_ROLES, summary="Cases the caller may see",
           query=(*CASE_FILTERS, Query("page", INT), Query("per_page", {**INT, "maximum": 100})),
           responses={200: (CaseList, "one page")})
def list_cases() -> ResponseReturnValue:
    args = positive_ints("county", "town", "page", "per_page")
    if not isinstance(args, dict):
        return args
    page = case_list(db(), actor(), **_case_filters(args), page=args.get("page", 1),
                     per_page=args.get("per_page", 20))
    return jsonify(CaseList(items=[_summary(c) for c in page.items], total=page.total, page=page.page,  # type: ignore[misc]  # items are the summaries' JSON dicts, validated by the model
                            per_page=page.per_page).model_dump(mode="json"))


@api_route(bp, "/cases/export.xlsx", "POST", roles=BUSINESS_ROLES,
           summary="Export the cases the caller may see, with the list's filters, as an Excel workbook (.xlsx)",
           query=CASE_FILTERS,
           responses={200: (None, "the workbook, as Content-Disposition: attachment (every matching case, the most "
                                  f"urgent first, at most {EXPORT_LIMIT:,}; X-Export-Rows says how many are in it, "
                                  "X-Export-Total how many matched); the export is recorded in the audit trail"),
                      400: (Error, "bad parameter")})
def export_cases() -> ResponseReturnValue:
    args = positive_ints("county", "town")
    if not isinstance(args, dict):
        return args
    filters = _case_filters(args)
    s = db()
    query = case_list_query(actor(), **filters)
    return xlsx_download(CASES, lambda limit: case_rows(s, query, now=utcnow(), limit=limit), total=count_of(s, query),
                         filters=case_filters(s, **filters))


def _segments(segments: list[tuple[str, bool]]) -> list[Segment]:
    return [Segment(text=text, match=hit) for text, hit in segments]


@api_route(bp, "/search", "GET", roles=BUSINESS_ROLES,
           summary="Cases the caller may see found by number, town, county, enterprise, title or comment",
           query=(Query("q", {"type": "string", "minLength": 1, "maxLength": 100},
                        "words to find (1 to 100 characters); a case holds every word"),
                  Query("page", INT), Query("per_page", {**INT, "maximum": 100})),
           responses={200: (SearchResults, "one page, the matches marked"),
                      400: (Error, "no query, or a query longer than 100 characters")})
def search() -> ResponseReturnValue:
    args = {}
    for name in ("page", "per_page"):
        raw = request.args.get(name)
        if raw is not None:
            number = parse_whole(raw)
            if number is None:
                return json_error(400, "bad_request", f"参数 {name} 须为正整数。",
                                  f"{name} must be a positive integer.")
            args[name] = number
    q = request.args.get("q", "")
    page = search_cases(db(), actor(), q, page=args.get("page", 1), per_page=args.get("per_page", 20))
    items = [SearchHit(case=_summary(h.case), county=h.county, town=h.town, number=_segments(h.number),  # type: ignore[arg-type]  # the summary's JSON dict, validated by the model
                       title=_segments(h.title), snippet=_segments(h.snippet)) for h in page.items]
    return jsonify(SearchResults(q=q.strip(), items=items, total=page.total, capped=page.capped, page=page.page,
                                 per_page=page.per_page).model_dump(mode="json"))


@api_route(bp, "/cases/<int:case_id>", "GET", roles=BUSINESS_ROLES,
           summary="One case, with what the caller may do now",
           responses={200: (CaseOut, "the case"), 404: (Error, "no such case, or not visible")})
def show(case_id: int) -> ResponseReturnValue:
    return jsonify(case_out(get_case(db(), actor(), case_id)))


@api_route(bp, "/cases/<int:case_id>/transitions", "POST", roles=BUSINESS_ROLES, summary="Fire a transition",
           body=TransitionRequest,
           responses={200: (CaseOut, "fired"), 403: (Error, "role not allowed"), 404: (Error, "not visible"),
                      409: (Error, "stale version, or trigger not valid in this state"),
                      422: (Error, "guards failed; details lists every reason")})
def transition(body: TransitionRequest, case_id: int) -> ResponseReturnValue:
    with unit_of_work() as s:
        case = fire(session=s, case_id=case_id, trigger=body.trigger, actor=actor(), now=utcnow(),
                    payload=body.data, comment=body.comment, expected_version=body.expected_version)
    return jsonify(case_out(case))


@api_route(bp, "/cases/<int:case_id>/events", "GET", roles=BUSINESS_ROLES, summary="The case's audit trail",
           responses={200: (EventList, "events in order"), 404: (Error, "not visible")})
def events(case_id: int) -> ResponseReturnValue:
    items = [EventOut(id=e.id, seq=e.seq, occurred_at=e.occurred_at, kind=e.kind, actor_name=e.actor_name,  # type: ignore[arg-type]  # SQLModel types an id as optional; this row is saved
                      role=e.role, unit_name=e.unit_name, trigger=e.trigger, from_state=e.from_state,
                      to_state=e.to_state, comment=e.comment, data=json.loads(e.data))
             for e in case_events(db(), actor(), case_id)]
    return jsonify(EventList(items=items).model_dump(mode="json"))


@bp.route("/openapi.json")
def openapi() -> ResponseReturnValue:
    return jsonify(document(bp.url_prefix or ""))


from webapp.api import (  # noqa: E402,F401
    chase,
    dashboard,
    evaluation,
    files,
    incidents,
    panels,
    problems,
    programmes,
    projects,
    receipts,
    recommendation,
    statistics_excel,
    templates,
    unit_presets,
)
