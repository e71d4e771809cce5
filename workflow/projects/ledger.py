"""The project libraries as lists: the key projects (重点项目库) and a county's investment projects (its 招商引资清单),
filtered by county, town, stage and stalled, paginated and exported; and creating a project (the page, the API
and the import all start one here)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from workflow.core.access import case_filter
from workflow.core.actors import Actor
from workflow.core.calendar import calendar_for, local_date
from workflow.core.catalog import CATALOG
from workflow.core.engine import create_case
from workflow.core.errors import InvalidInput
from workflow.core.exports import Column, Filter, ListSpec, as_date, as_number, county_filter
from workflow.core.models import Case, Town
from workflow.core.queries import Page, paginate, unit_names
from workflow.core.yamlcheck import Label
from workflow.projects import INVESTMENT, KEY, LIBRARIES
from workflow.projects.rules import is_overdue, is_stalled, stalled_clause, update_due

YES = Label("是", "yes")
NO = Label("", "")


@dataclass(frozen=True)
class ProjectFilters:
    county_id: int | None = None
    town_id: int | None = None
    stage: str | None = None
    stalled: bool = False


@dataclass
class ProjectRow:
    case: Case
    county: str
    town: str
    stage: Label
    stalled: bool
    overdue: bool

    @property
    def data(self) -> dict[str, Any]:
        return self.case.data


def check_library(key: str) -> str:
    if key not in LIBRARIES:
        raise InvalidInput("没有这个项目库。", "No such project library.", code="unknown_library")
    return key


def stages(key: str) -> list[tuple[str, Label]]:
    definition = CATALOG.current(check_library(key))
    return [(name, spec.label) for name, spec in definition.states.items()]


def project_query(actor: Actor, key: str, filters: ProjectFilters, today: date) -> Any:
    """The library's projects the actor may see, filtered, newest first (the list's SELECT)."""
    query = select(Case).where(case_filter(actor), col(Case.definition_key) == check_library(key))
    if filters.county_id:
        query = query.where(col(Case.county_id) == filters.county_id)
    if filters.town_id:
        query = query.where(col(Case.town_id) == filters.town_id)
    if filters.stage:
        if filters.stage not in dict(stages(key)):
            raise InvalidInput("没有这个项目阶段。", "No such stage.", code="unknown_stage")
        query = query.where(col(Case.state) == filters.stage)
    if filters.stalled:
        query = query.where(stalled_clause(today, key))
    return query.order_by(col(Case.id).desc())


def _rows(session: Session, cases: list[Case], today: date) -> list[ProjectRow]:
    counties = unit_names(session, {c.county_id for c in cases})
    town_ids = {c.town_id for c in cases if c.town_id}
    towns: dict[int, str] = {}
    if town_ids:
        towns = dict(session.exec(select(Town.id, Town.name).where(col(Town.id).in_(town_ids))).all())  # type: ignore[arg-type]  # (id, name) pairs
    labels = {}
    for case in cases:
        key = (case.definition_key, case.definition_version)
        if key not in labels:
            labels[key] = CATALOG.get(*key, session).states
    return [ProjectRow(c, counties.get(c.county_id, ""), towns.get(c.town_id or 0, ""),
                       labels[(c.definition_key, c.definition_version)][c.state].label, is_stalled(c, today),
                       is_overdue(c, today))
            for c in cases]


def project_page(session: Session, actor: Actor, key: str, filters: ProjectFilters, *, now: datetime,
                 page: int = 1, per_page: int = 20) -> Page[ProjectRow]:
    today = local_date(now)
    found = paginate(session, project_query(actor, key, filters, today), page, per_page)
    return Page(_rows(session, list(found.items), today), found.total, found.page, found.per_page)


def project_rows(session: Session, actor: Actor, key: str, filters: ProjectFilters, *, now: datetime,
                 limit: int, batch: int = 500) -> Iterator[ProjectRow]:
    """The list's rows for an export, at most `limit`, read `batch` at a time."""
    today = local_date(now)
    query = project_query(actor, key, filters, today).limit(limit).execution_options(yield_per=batch)
    for chunk in session.exec(query).partitions(batch):
        yield from _rows(session, list(chunk), today)


def filters_shown(session: Session, key: str, filters: ProjectFilters) -> list[Filter]:
    """The filters as the exported sheet and its audit event name them."""
    shown = []
    if filters.county_id:
        shown.append(county_filter(session, filters.county_id))
    if filters.town_id:
        town = session.get(Town, filters.town_id)
        shown.append(Filter("town_id", filters.town_id, Label("专业镇", "Town"), town.name if town else ""))
    if filters.stage:
        shown.append(Filter("stage", filters.stage, Label("阶段", "Stage"), dict(stages(key)).get(filters.stage, "")))
    if filters.stalled:
        shown.append(Filter("stalled", True, Label("停滞项目", "Stalled"), YES))
    return shown


def create_project(*, session: Session, key: str, actor: Actor, now: datetime, town_id: int | None,
                   county_id: int | None, data: dict[str, Any]) -> Case:
    """Start a project in its library: a county's own (its county), the office's for the county it names (or the
    town's); a key project's first quarterly update falls due after the current quarter."""
    data = dict(data)
    if check_library(key) == KEY:
        data["report_due_date"] = update_due(local_date(now), calendar_for(session)).isoformat()
    return create_case(session=session, definition_key=key, actor=actor, now=now, town_id=town_id,
                       county_id=county_id, title=str(data.get("project_name") or "")[:200] or None, data=data)


def _amount(name: str) -> Any:
    return lambda r: as_number(r.data.get(name))


def _date(name: str) -> Any:
    return lambda r: as_date(r.data.get(name))


_COMMON: tuple[Column[ProjectRow], ...] = (
    Column("编号", "Number", lambda r: r.case.number, 16),
    Column("项目名称", "Project", lambda r: r.case.title, 36),
    Column("建设（投资）主体", "Enterprise", lambda r: r.data.get("enterprise") or "", 24),
    Column("县（区）", "County", lambda r: r.county, 10),
    Column("专业镇", "Town", lambda r: r.town, 12),
    Column("阶段", "Stage", lambda r: r.stage, 10),
    Column("计划总投资（万元）", "Planned investment (10,000 yuan)", _amount("investment_planned"), 14),
)

KEY_PROJECTS: ListSpec[ProjectRow] = ListSpec("key_projects", Label("重点项目库", "Key projects"), "key-projects", (
    *_COMMON,
    Column("累计完成投资（万元）", "Completed (10,000 yuan)", _amount("investment_completed"), 14),
    Column("签约日期", "Signed", _date("signed_date"), 12),
    Column("开工日期", "Started", _date("started_date"), 12),
    Column("投产日期", "In production", _date("producing_date"), 12),
    Column("达效日期", "Full output", _date("effective_date"), 12),
    Column("已获支持", "Support received", lambda r: r.data.get("support") or "", 30),
    Column("季度更新期限", "Update due", _date("report_due_date"), 12),
    Column("季度更新逾期", "Update overdue", lambda r: YES if r.overdue else NO, 10),
    Column("停滞项目", "Stalled", lambda r: YES if r.stalled else NO, 10),
))

INVESTMENT_PROJECTS: ListSpec[ProjectRow] = ListSpec(
    "investment_projects", Label("招商引资清单", "Investment projects"), "investment-projects", (
        *_COMMON,
        Column("签约日期", "Signed", _date("signed_date"), 12),
        Column("落地日期", "Landed", _date("landed_date"), 12),
        Column("终止日期", "Terminated", _date("terminated_date"), 12),
        Column("终止原因", "Why terminated", lambda r: r.data.get("termination_reason") or "", 30),
        Column("停滞项目", "Stalled", lambda r: YES if r.stalled else NO, 10),
    ))

LISTS = {KEY: KEY_PROJECTS, INVESTMENT: INVESTMENT_PROJECTS}


def stage_counts(session: Session, actor: Actor, key: str) -> dict[str, int]:
    """How many of the library's projects the actor sees are in each stage."""
    query = (select(Case.state, sa.func.count()).where(case_filter(actor), col(Case.definition_key) == key)
             .group_by(Case.state))
    return {state: int(n) for state, n in session.exec(query).all()}
