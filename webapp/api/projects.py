"""The project libraries in the API: a library's list (the same filters as the page), creating a project, its
quarterly update and its stage moves (the same services and rules as the pages), and 三个一批 of a year. Counties
see and change their own projects, the office every county's, the leader reads; member units are refused."""

from __future__ import annotations

from typing import Annotated, Any

from flask import jsonify, request
from flask.typing import ResponseReturnValue
from pydantic import BaseModel, Field

from webapp.api.blueprint import bp, case_out, positive_ints
from webapp.api.openapi import Query, api_route
from webapp.api.schemas import CaseOut, Day, Error, Message, Strict
from webapp.auth.current import actor
from webapp.database import db, unit_of_work, utcnow
from webapp.errors import json_error
from workflow.core.access import get_case
from workflow.core.catalog import CATALOG
from workflow.core.engine import fire
from workflow.core.errors import not_found_case
from workflow.core.models import Role
from workflow.projects import INVESTMENT, KEY, LIBRARIES
from workflow.projects.batches import BATCH_LABELS, three_batches
from workflow.projects.ledger import ProjectFilters, create_project, project_page
from workflow.projects.rules import STAGE_DATES

READERS = frozenset({Role.county.value, Role.office.value, Role.leader.value})
WRITERS = frozenset({Role.county.value, Role.office.value})
INT = {"type": "integer", "minimum": 1, "maximum": 2**31 - 1}
LIBRARY = {"key": KEY, "investment": INVESTMENT}  # the URL's name of each library, as on the pages


def _stages() -> dict[str, Any]:
    """The states of both libraries' definitions (a stage filter names one)."""
    return {"type": "string", "enum": sorted({s for k in LIBRARIES for s in CATALOG.current(k).states})}


class ProjectOut(BaseModel):
    id: int
    number: str
    library: str
    name: str
    county_id: int
    county: str
    town_id: int | None
    town: str
    stage: str
    stage_label: Message
    version: int
    stalled: bool
    update_overdue: bool = Field(description="a key project's quarterly update is past its deadline")
    data: dict[str, Any] = Field(description="enterprise, investment_planned, investment_completed (万元), support, "
                                             "report_due_date and the date of every stage passed")


class ProjectList(BaseModel):
    items: list[ProjectOut]
    total: int
    page: int
    per_page: int


class ProjectCreate(Strict):
    town_id: int | None = Field(default=None, ge=1, le=2**31 - 1, description="required for a key project")
    county_id: int | None = Field(default=None, ge=1, le=2**31 - 1, description="the office's: the county")
    data: dict[str, Any] = Field(description="project_name, enterprise, investment_planned (万元), "
                                             "investment_completed, support")


class ProjectUpdate(Strict):
    data: dict[str, Any]
    expected_version: int = Field(ge=1, le=2**31 - 1)


class StageMove(Strict):
    trigger: Annotated[str, Field(json_schema_extra={"enum": list(STAGE_DATES)})] = Field(
        description="sign | start | produce | reach_output (key projects); sign | land | terminate (investment "
                    "projects)")
    date: Day = Field(description="the stage's date, YYYY-MM-DD")
    termination_reason: str | None = Field(default=None, max_length=2000)
    expected_version: int = Field(ge=1, le=2**31 - 1)


class BatchCellOut(BaseModel):
    count: int
    investment: float = Field(description="planned investment of the projects counted, 万元")


class BatchRowOut(BaseModel):
    quarter: int = Field(description="1-4; 0 for the whole year")
    county_id: int | None = Field(description="null: the total of the counties shown")
    county: str
    signed: BatchCellOut
    started: BatchCellOut
    producing: BatchCellOut


class BatchReportOut(BaseModel):
    year: int
    labels: dict[str, Message]
    rows: list[BatchRowOut]


def _out(row: Any) -> dict[str, Any]:
    case = row.case
    return ProjectOut(id=case.id, number=case.number, library=case.definition_key, name=case.title,
                      county_id=case.county_id, county=row.county, town_id=case.town_id, town=row.town,
                      stage=case.state, stage_label=Message(zh=row.stage.zh, en=row.stage.en), version=case.version,
                      stalled=row.stalled, update_overdue=row.overdue, data=case.data).model_dump(mode="json")


def _args() -> dict[str, int] | ResponseReturnValue:
    return positive_ints("county", "town", "page", "per_page")


def _library(library: str) -> str | ResponseReturnValue:
    if library not in LIBRARY:
        return json_error(404, "not_found", "没有这个项目库。", "No such project library.")
    return LIBRARY[library]


@api_route(bp, "/projects/<library>", "GET", roles=READERS,
           summary="A project library's list (key: 重点项目库; investment: the 招商引资清单)",
           path={"library": {"type": "string", "enum": list(LIBRARY)}},
           query=(Query("county", INT), Query("town", INT), Query("stage", _stages),
                  Query("stalled", {"type": "boolean"}), Query("page", INT),
                  Query("per_page", {**INT, "maximum": 100})),
           responses={200: (ProjectList, "one page, newest first"), 404: (Error, "no such library")})
def list_projects(library: str) -> ResponseReturnValue:
    key = _library(library)
    if not isinstance(key, str):
        return key
    args = _args()
    if not isinstance(args, dict):
        return args
    filters = ProjectFilters(county_id=args.get("county"), town_id=args.get("town"),
                             stage=request.args.get("stage") or None,
                             stalled=request.args.get("stalled") in ("1", "true"))
    page = project_page(db(), actor(), key, filters, now=utcnow(), page=args.get("page", 1),
                        per_page=args.get("per_page", 20))
    return jsonify({"items": [_out(r) for r in page.items], "total": page.total, "page": page.page,
                    "per_page": page.per_page})


@api_route(bp, "/projects/<library>", "POST", roles=WRITERS, body=ProjectCreate,
           path={"library": {"type": "string", "enum": list(LIBRARY)}},
           summary="Start a project in a library: a county's own, the office's for any county",
           responses={201: (CaseOut, "created"), 404: (Error, "no such library"),
                      422: (Error, "a field is missing or wrong; details lists every reason")})
def create_project_api(body: ProjectCreate, library: str) -> ResponseReturnValue:
    key = _library(library)
    if not isinstance(key, str):
        return key
    with unit_of_work() as s:
        case = create_project(session=s, key=key, actor=actor(), now=utcnow(), town_id=body.town_id,
                              county_id=body.county_id, data=body.data)
    return jsonify(case_out(case)), 201


def _project(case_id: int) -> None:
    if get_case(db(), actor(), case_id).definition_key not in LIBRARIES:
        raise not_found_case()


@api_route(bp, "/projects/<int:case_id>/update", "POST", roles=WRITERS, body=ProjectUpdate,
           summary="Update a project (a key project: its quarterly update, which sets the next one's deadline)",
           responses={200: (CaseOut, "updated"), 404: (Error, "no such project"),
                      409: (Error, "stale version, or the project has ended"),
                      422: (Error, "a field is wrong; details lists every reason")})
def update_project_api(body: ProjectUpdate, case_id: int) -> ResponseReturnValue:
    _project(case_id)
    with unit_of_work() as s:
        case = fire(session=s, case_id=case_id, trigger="update_project", actor=actor(), now=utcnow(),
                    payload=body.data, expected_version=body.expected_version)
    return jsonify(case_out(case))


@api_route(bp, "/projects/<int:case_id>/stage", "POST", roles=WRITERS, body=StageMove,
           summary="Move a project to its next stage (or terminate an investment project) with the stage's date",
           responses={200: (CaseOut, "moved"), 404: (Error, "no such project"),
                      409: (Error, "stale version, or not a move from the project's stage"),
                      422: (Error, "the date is missing or wrong; details lists every reason")})
def move_project_api(body: StageMove, case_id: int) -> ResponseReturnValue:
    _project(case_id)
    if body.trigger not in STAGE_DATES:
        return json_error(400, "unknown_trigger", f"未知的阶段操作：{body.trigger}",
                          f"Unknown stage move: {body.trigger}")
    payload: dict[str, Any] = {STAGE_DATES[body.trigger]: body.date}
    if body.termination_reason is not None:
        payload["termination_reason"] = body.termination_reason
    with unit_of_work() as s:
        case = fire(session=s, case_id=case_id, trigger=body.trigger, actor=actor(), now=utcnow(), payload=payload,
                    expected_version=body.expected_version)
    return jsonify(case_out(case))


@api_route(bp, "/projects/batches/<int:year>", "GET", roles=READERS,
           summary="三个一批 of a year by quarter and county (a county: its own)",
           responses={200: (BatchReportOut, "each quarter and the year, every county and the total")})
def three_batches_api(year: int) -> ResponseReturnValue:
    report = three_batches(db(), actor(), year)

    def cell(c: Any) -> BatchCellOut:
        return BatchCellOut(count=c.count, investment=round(c.investment, 2))

    return jsonify(BatchReportOut(
        year=year, labels={k: Message(zh=v.zh, en=v.en) for k, v in BATCH_LABELS.items()},
        rows=[BatchRowOut(quarter=r.quarter, county_id=r.county_id, county=r.county, signed=cell(r.cells["signed"]),
                          started=cell(r.cells["started"]), producing=cell(r.cells["producing"]))
              for r in report.rows]).model_dump(mode="json"))
