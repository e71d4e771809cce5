"""The annual action plan, its tasks, their reports and the programme board in the API: what the /programmes pages
show (workflow/programmes/tasks.py), to the same readers. The plan's drafting, approval and the tasks' steps go
through the cases' transitions (POST /api/v1/cases/<id>/transitions), as on the pages."""

from __future__ import annotations

import io
from datetime import date
from typing import Annotated, Any

from flask import jsonify, request
from flask.typing import ResponseReturnValue
from pydantic import BaseModel, Field, RootModel

from webapp.api.blueprint import bp, positive_ints
from webapp.api.openapi import Query, api_route
from webapp.api.schemas import MAX_IDS, Day, Error, Id, Message, Strict, one_of
from webapp.auth.current import actor
from webapp.auth.roles import BUSINESS_ROLES
from webapp.database import db, unit_of_work, utcnow
from webapp.errors import json_error
from workflow.core.access import get_case
from workflow.core.calendar import local_date
from workflow.core.errors import not_found_case
from workflow.core.models import Role
from workflow.programmes import excel
from workflow.programmes.catalog import programme_spec
from workflow.programmes.opening import TASK
from workflow.programmes.periods import CYCLES
from workflow.programmes.tasks import (
    STANDING_LABELS,
    Board,
    BoardGroup,
    TaskRow,
    board,
    open_plan,
    plan_case,
    record_meeting,
    task_page,
    task_rows,
)

OFFICE = frozenset({Role.office.value})
INT = {"type": "integer", "minimum": 1, "maximum": 2**31 - 1}


class ProgrammeOut(BaseModel):
    key: str
    clause: str
    name: Message
    brief: Message
    lead: list[str]
    responsible: list[str]
    counties: bool


class ReportOut(BaseModel):
    period: str | None
    text: str
    figure: str | None
    attachments: list[int]
    late: bool
    by: str
    at: str


class ProgrammeList(RootModel[list[ProgrammeOut]]):
    pass


class ReportList(RootModel[list[ReportOut]]):
    pass


class IndicatorOut(BaseModel):
    key: str
    label: Message | None = None
    unit: Message | None = None
    city_value: str | None = Field(default=None, description="the city's current figure, as the dashboard shows it")
    city_goal: str | None = None
    period: Message | None = None
    year: int | None = Field(default=None, description="a figure from one year's statistics: that year")


class TaskOut(BaseModel):
    case_id: int
    number: str
    title: str
    programme: str | None
    unit: str
    lead: str | None
    state: str
    state_label: Message
    standing: str = Field(description="on_track | late | done")
    source: str = Field(description="plan | meeting")
    report_cycle: str
    next_due: str | None
    target_text: str | None
    target_figure: str | None
    indicator: IndicatorOut | None = Field(
        default=None, description="the dashboard's indicator the task names, with the city's current figure (given "
                                  "only where measured)")
    milestones: list[dict[str, str]]
    reports: list[ReportOut]


class TaskList(BaseModel):
    items: list[TaskOut]
    total: int
    page: int
    per_page: int


class PlanOut(BaseModel):
    year: int
    case_id: int
    number: str
    state: str
    tasks: list[dict[str, Any]] = Field(description="the plan's tasks as drafted")
    task_cases: list[int] = Field(description="the task cases opened on approval")


class GroupOut(BaseModel):
    key: str
    label: Message
    counts: dict[str, int] = Field(description="tasks per standing: on_track, late, done")
    tasks: list[TaskOut]


class BoardOut(BaseModel):
    year: int
    total: dict[str, int]
    by_programme: list[GroupOut]
    by_unit: list[GroupOut]


def _programme_keys() -> list[str]:
    return [p.key for p in programme_spec().programmes]


ProgrammeKey = Annotated[str, Field(json_schema_extra=one_of(_programme_keys))]
Cycle = Annotated[str, Field(json_schema_extra={"enum": list(CYCLES)})]


class DecisionIn(Strict):
    title: str = Field(min_length=1, max_length=200)
    units: list[Id] = Field(max_length=MAX_IDS)
    target_text: str = Field(min_length=1, max_length=2000)
    report_cycle: Cycle = "monthly"
    lead_unit_id: Id | None = None
    town_id: Id | None = None
    programme: ProgrammeKey | None = None


class MeetingIn(Strict):
    meeting_date: Day
    meeting_title: str = Field(min_length=1, max_length=200)
    decisions: list[DecisionIn] = Field(max_length=100)


class MeetingOut(BaseModel):
    task_ids: list[int]


def _m(label: Any) -> Message:
    return Message(zh=label.zh, en=label.en)


def task_out(row: TaskRow) -> TaskOut:
    data = row.case.data
    return TaskOut(case_id=row.case.id or 0, number=row.case.number, title=data.get("task_title", ""),
                   programme=row.programme, unit=row.unit, lead=row.lead, state=row.case.state,
                   state_label=_m(row.state), standing=row.standing, source=data.get("source", "plan"),
                   report_cycle=data.get("report_cycle", "monthly"), next_due=row.due,
                   target_text=data.get("target_text"), target_figure=data.get("target_figure"),
                   indicator=_indicator(row), milestones=data.get("milestones") or [],
                   reports=[ReportOut(**r) for r in data.get("reports") or []])


def _indicator(row: TaskRow) -> IndicatorOut | None:
    key = row.case.data.get("indicator")
    r = row.indicator
    if not key:
        return None
    if r is None:
        return IndicatorOut(key=key)
    return IndicatorOut(key=key, label=_m(r.indicator.label), unit=_m(r.indicator.unit), city_value=str(r.value),
                        city_goal=str(r.goal) if r.goal is not None else None, period=_m(r.period), year=r.year)


def _group(g: BoardGroup) -> GroupOut:
    return GroupOut(key=g.key, label=_m(g.label), counts=g.counts, tasks=[task_out(r) for r in g.rows])


def board_out(b: Board) -> BoardOut:
    return BoardOut(year=b.year, total=b.total, by_programme=[_group(g) for g in b.by_programme],
                    by_unit=[_group(g) for g in b.by_unit])


def _today() -> date:
    return local_date(utcnow())


def _filters() -> dict[str, Any] | ResponseReturnValue:
    numbers = positive_ints("year", "unit", "page", "per_page")
    if not isinstance(numbers, dict):
        return numbers
    found: dict[str, Any] = dict(numbers)
    standing = request.args.get("standing")
    if standing and standing not in STANDING_LABELS:
        return json_error(400, "bad_request", "参数 standing 不正确。", "standing must be on_track, late or done.")
    programme = request.args.get("programme")
    if programme and programme_spec().get(programme) is None:
        return json_error(400, "bad_request", "没有这个工程。", "No such programme.")
    found["standing"], found["programme"] = standing or None, programme or None
    return found


@api_route(bp, "/programmes", "GET", roles=BUSINESS_ROLES, summary="The ten programmes of the plan (section 五)",
           responses={200: (ProgrammeList, "the programmes, in the plan's order")})
def programmes() -> ResponseReturnValue:
    return jsonify([ProgrammeOut(key=p.key, clause=p.clause, name=_m(p.name), brief=_m(p.brief), lead=list(p.lead),
                                 responsible=list(p.responsible), counties=p.counties).model_dump(mode="json")
                    for p in programme_spec().programmes])


@api_route(bp, "/programmes/plans/<int:year>", "GET", roles=frozenset({Role.office.value, Role.leader.value}),
           summary="The year's action plan (the office and the leader)",
           responses={200: (PlanOut, "the plan"), 404: (Error, "no plan of that year")})
def action_plan(year: int) -> ResponseReturnValue:
    case = plan_case(db(), year)
    if case is None:
        return json_error(404, "not_found", "该年度没有行动计划。", "No action plan for that year.")
    return jsonify(PlanOut(year=year, case_id=case.id or 0, number=case.number, state=case.state,
                           tasks=case.data.get("tasks") or [],
                           task_cases=case.data.get("task_cases") or []).model_dump(mode="json"))


FILTERS = (Query("year", INT), Query("programme", lambda: {"type": "string", "enum": _programme_keys()}),
           Query("unit", INT),
           Query("standing", {"type": "string", "enum": list(STANDING_LABELS)}))


@api_route(bp, "/programmes/tasks", "GET", roles=BUSINESS_ROLES,
           summary="The tasks the caller may see (a county its own, a member unit those it carries out or leads)",
           query=(*FILTERS, Query("page", INT), Query("per_page", {**INT, "maximum": 100})),
           responses={200: (TaskList, "one page")})
def tasks() -> ResponseReturnValue:
    args = _filters()
    if not isinstance(args, dict):
        return args
    page = task_page(db(), actor(), page=args.pop("page", 1), per_page=args.pop("per_page", 20),
                     year=args.get("year"), programme=args.get("programme"), unit_id=args.get("unit"),
                     standing=args.get("standing"))
    return jsonify(TaskList(items=[task_out(r) for r in task_rows(db(), page.items, _today())], total=page.total,
                            page=page.page, per_page=page.per_page).model_dump(mode="json"))


@api_route(bp, "/programmes/tasks/<int:case_id>", "GET", roles=BUSINESS_ROLES,
           summary="One task with its reports", responses={200: (TaskOut, "the task"), 404: (Error, "not visible")})
def task(case_id: int) -> ResponseReturnValue:
    case = get_case(db(), actor(), case_id)
    if case.definition_key != TASK:
        raise not_found_case()
    return jsonify(task_out(task_rows(db(), [case], _today())[0]).model_dump(mode="json"))


@api_route(bp, "/programmes/tasks/<int:case_id>/reports", "GET", roles=BUSINESS_ROLES,
           summary="A task's progress reports, oldest first",
           responses={200: (ReportList, "the reports"), 404: (Error, "not visible")})
def task_reports(case_id: int) -> ResponseReturnValue:
    case = get_case(db(), actor(), case_id)
    if case.definition_key != TASK:
        raise not_found_case()
    return jsonify([ReportOut(**r).model_dump(mode="json") for r in case.data.get("reports") or []])


@api_route(bp, "/programmes/board/<int:year>", "GET", roles=BUSINESS_ROLES,
           summary="The programme board of the year: per programme and per unit, tasks on track / late / done",
           query=FILTERS[1:], responses={200: (BoardOut, "the board")})
def programme_board(year: int) -> ResponseReturnValue:
    args = _filters()
    if not isinstance(args, dict):
        return args
    found = board(db(), actor(), year, _today(), programme=args.get("programme"), unit_id=args.get("unit"),
                  standing=args.get("standing"))
    return jsonify(board_out(found).model_dump(mode="json"))


@api_route(bp, "/programmes/meetings", "POST", roles=OFFICE, body=MeetingIn,
           summary="Record a meeting of the leading group and its decisions; each becomes a task per unit",
           responses={201: (MeetingOut, "the tasks opened"), 422: (Error, "details lists every problem")})
def meeting(body: MeetingIn) -> ResponseReturnValue:
    with unit_of_work() as s:
        opened = record_meeting(s, actor=actor(), now=utcnow(), meeting_date=body.meeting_date,
                                title=body.meeting_title, decisions=[d.model_dump() for d in body.decisions])
    return jsonify(MeetingOut(task_ids=[c.id or 0 for c in opened]).model_dump(mode="json")), 201


class PlanCreate(Strict):
    year: int = Field(ge=2000, le=2100)


@api_route(bp, "/programmes/plans", "POST", roles=OFFICE, body=PlanCreate,
           summary="Start the year's action plan (the office; one a year), a draft held by the office's unit",
           responses={201: (PlanOut, "the draft"),
                      422: (Error, "a plan of that year exists, or the year is out of range")})
def start_plan(body: PlanCreate) -> ResponseReturnValue:
    with unit_of_work() as s:
        case = open_plan(s, actor=actor(), now=utcnow(), year=body.year)
    return jsonify(PlanOut(year=body.year, case_id=case.id or 0, number=case.number, state=case.state, tasks=[],
                           task_cases=[]).model_dump(mode="json")), 201


class TasksImportOut(BaseModel):
    case_id: int
    task_nos: list[int] = Field(description="the numbers of the tasks added, in the file's order")


IMPORT_BODY = {"required": True, "content": {"multipart/form-data": {"schema": {
    "type": "object", "required": ["file"],
    "properties": {"file": {"type": "string", "format": "binary",
                            "description": "the template (GET /programmes/plans/import-template.xlsx) filled in "
                                           "(.xlsx, at most 10 MB)"}}}}}}


@api_route(bp, "/programmes/plans/import-template.xlsx", "GET", roles=OFFICE,
           summary="The empty task list of an action plan, to fill in and import",
           responses={200: (None, "the workbook (.xlsx)")})
def plan_tasks_template() -> ResponseReturnValue:
    from flask import Response

    from webapp.exporting import content_disposition
    from workflow.core.exports import XLSX

    return Response(excel.template_bytes(), mimetype=XLSX, headers={
        "Content-Disposition": content_disposition("行动计划任务导入模板.xlsx", "action-plan-tasks-template.xlsx")})


@api_route(bp, "/programmes/plans/<int:year>/import", "POST", roles=OFFICE, request_body=IMPORT_BODY,
           summary="Import the draft plan's tasks from .xlsx: every row added in one transaction, or none",
           responses={200: (TasksImportOut, "every row imported"), 404: (Error, "no plan of that year"),
                      422: (Error, "the file is refused; `details` lists every problem: {row, column (letter), "
                                   "header, field, zh, en} (row and column null for the file as a whole)")})
def import_plan_tasks(year: int) -> ResponseReturnValue:
    case = plan_case(db(), year)
    if case is None:
        return json_error(404, "not_found", "该年度没有行动计划。", "No action plan for that year.")
    file = request.files.get("file")
    try:
        with unit_of_work() as s:
            added = excel.import_plan_tasks(session=s, actor=actor(), now=utcnow(), case_id=case.id or 0,
                                            stream=file.stream if file else io.BytesIO())
    finally:
        if file:
            file.close()
    return jsonify(TasksImportOut(case_id=case.id or 0, task_nos=added).model_dump(mode="json"))
