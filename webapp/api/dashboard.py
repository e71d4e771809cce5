"""The dashboard in the API: the figures of the /dashboard page (workflow.dashboard.figures), as JSON."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from flask import jsonify, request
from flask.typing import ResponseReturnValue
from pydantic import BaseModel

from webapp.api.blueprint import bp
from webapp.api.openapi import Query, api_route
from webapp.api.schemas import Error, Message
from webapp.auth.current import actor
from webapp.database import db, utcnow
from workflow.core.calendar import local_date
from workflow.core.yamlcheck import Label
from workflow.dashboard.figures import PACE_LABELS, READERS, Dashboard, build
from workflow.dashboard.targets import plan_periods


class CountyTargetOut(BaseModel):
    county_id: int
    county: str
    value: float
    goal: float | None
    share: float | None


class TargetOut(BaseModel):
    key: str
    label: Message
    unit: Message
    source: str
    goal: float | None  # the city's target; on a county's dashboard the county's own share (null: none set)
    value: float
    share: float | None
    pace: str | None
    pace_label: Message | None
    year: int | None
    counties: list[CountyTargetOut]


class PeriodOut(BaseModel):
    key: str
    label: Message
    start: date
    end: date
    document: str


class YearOutput(BaseModel):
    year: int
    output_yi: float
    towns: int


class CountyYears(BaseModel):
    county_id: int
    county: str
    years: list[YearOutput]
    levels: dict[str, int]


class CountyOrdersOut(BaseModel):
    county_id: int
    county: str
    open: int
    overdue: int
    overdue_rate: float | None
    criticisms: int


class SupervisionOut(BaseModel):
    open_orders: int
    overdue_orders: int
    overdue_rate: float | None
    criticisms_this_year: int
    by_county: list[CountyOrdersOut]


class DesignationsOut(BaseModel):
    by_state: dict[str, int]
    in_progress: int
    designated_this_year: int


class DashboardOut(BaseModel):
    period: PeriodOut
    periods: list[str]
    today: date
    elapsed: float
    county_id: int | None
    targets: list[TargetOut]
    output: list[YearOutput]
    counties: list[CountyYears]
    designations: DesignationsOut
    supervision: SupervisionOut


def _f(value: Decimal | None) -> float | None:
    return None if value is None else float(value)


def _m(label: Label) -> Message:
    return Message(zh=label.zh, en=label.en)


def dashboard_out(board: Dashboard) -> DashboardOut:
    p = board.period
    return DashboardOut(
        period=PeriodOut(key=p.key, label=_m(p.label), start=p.start, end=p.end, document=p.document),
        periods=[x.key for x in board.periods], today=board.today, elapsed=float(board.elapsed),
        county_id=board.county.id if board.county else None,
        targets=[TargetOut(key=f.target.key, label=_m(f.target.label), unit=_m(f.target.unit),
                           source=f.target.source.kind, goal=_f(f.goal), value=float(f.value), share=_f(f.share),
                           pace=f.pace, pace_label=_m(PACE_LABELS[f.pace]) if f.pace else None, year=f.year,
                           counties=[CountyTargetOut(county_id=c.county_id, county=c.county, value=float(c.value),
                                                     goal=_f(c.goal), share=_f(c.share)) for c in f.counties])
                 for f in board.targets],
        output=[YearOutput(year=y, output_yi=float(board.output_total[y]), towns=board.towns_reported[y])
                for y in board.years],
        counties=[CountyYears(county_id=u.id, county=u.name, levels=board.levels.get(u.id or 0, {}),  # type: ignore[arg-type]  # saved units have ids
                              years=[YearOutput(year=y, output_yi=float(v), towns=0) for y, v in
                                     sorted(board.output_by_county.get(u.id or 0, {}).items())])
                  for u in board.counties],
        designations=DesignationsOut(by_state=board.designations, in_progress=board.applications_in_progress,
                                     designated_this_year=board.designated_this_year),
        supervision=SupervisionOut(
            open_orders=board.open_orders, overdue_orders=board.overdue_orders, overdue_rate=_f(board.overdue_rate),
            criticisms_this_year=board.criticisms_this_year,
            by_county=[CountyOrdersOut(county_id=o.county_id, county=o.county, open=o.open, overdue=o.overdue,
                                       overdue_rate=_f(o.overdue_rate), criticisms=o.criticisms)
                       for o in board.orders]))


@api_route(bp, "/dashboard", "GET", roles=READERS,
           summary="The dashboard: the plan period's targets with their progress, output by year, the registry, "
                   "designations and supervision (a county: its own towns)",
           query=(Query("period", {"type": "string", "enum": [p.key for p in plan_periods()]},
                        "the plan period (default: the one today falls in)"),),
           responses={200: (DashboardOut, "the figures"), 404: (Error, "no such plan period")})
def dashboard() -> ResponseReturnValue:
    board = build(db(), actor(), local_date(utcnow()), request.args.get("period") or None)
    return jsonify(dashboard_out(board).model_dump(mode="json"))
