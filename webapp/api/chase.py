"""催办 in the API: read who a batch would remind (GET), then send it (POST), as on the pages."""

from __future__ import annotations

from typing import Any

from flask import jsonify
from flask.typing import ResponseReturnValue
from pydantic import BaseModel

from webapp.api.blueprint import bp
from webapp.api.openapi import api_route
from webapp.api.schemas import Error
from webapp.auth.current import actor
from webapp.database import db, unit_of_work, utcnow
from workflow.core.models import Role
from workflow.notify import chase

OFFICE = frozenset({Role.office.value})


class ChaseItemOut(BaseModel):
    case_id: int
    number: str
    title: str
    deadline: str
    deadline_en: str
    due_date: str
    overdue: bool
    owing: list[str]
    users: int


class ChasePlanOut(BaseModel):
    kind: str
    items: list[ChaseItemOut]
    users: int


def _out(plan: chase.ChasePlan) -> dict[str, Any]:
    return ChasePlanOut(kind=plan.kind, users=plan.users,
                        items=[ChaseItemOut(**vars(i)) for i in plan.items]).model_dump(mode="json")


@api_route(bp, "/cases/<int:case_id>/chase", "GET", roles=OFFICE,
           summary="Who a reminder to the member units that have not answered would reach (the office's)",
           responses={200: (ChasePlanOut, "the units still owing an opinion"), 403: (Error, "not the office"),
                      404: (Error, "no such case"), 409: (Error, "the case is not in the joint review")})
def plan_chase_opinions(case_id: int) -> ResponseReturnValue:
    return jsonify(_out(chase.plan_opinions(db(), actor=actor(), case_id=case_id, now=utcnow())))


@api_route(bp, "/cases/<int:case_id>/chase", "POST", roles=OFFICE,
           summary="Remind every member unit that has not answered (in-app, e-mail, SMS as the rules say)",
           responses={200: (ChasePlanOut, "the reminders are queued"), 403: (Error, "not the office"),
                      404: (Error, "no such case"),
                      409: (Error, "not in the joint review, or every unit has answered")})
def chase_opinions_api(case_id: int) -> ResponseReturnValue:
    with unit_of_work() as s:
        out = _out(chase.send_opinions(s, actor=actor(), case_id=case_id, now=utcnow()))
    return jsonify(out)


@api_route(bp, "/supervision/chase", "GET", roles=OFFICE,
           summary="Who a reminder of every overdue rectification order would reach (the office's)",
           responses={200: (ChasePlanOut, "the overdue orders"), 403: (Error, "not the office")})
def plan_chase_orders() -> ResponseReturnValue:
    return jsonify(_out(chase.plan_overdue_orders(db(), actor=actor(), now=utcnow())))


@api_route(bp, "/supervision/chase", "POST", roles=OFFICE,
           summary="Remind the county of every overdue rectification order",
           responses={200: (ChasePlanOut, "the reminders are queued"), 403: (Error, "not the office"),
                      409: (Error, "no order is overdue")})
def chase_orders_api() -> ResponseReturnValue:
    with unit_of_work() as s:
        out = _out(chase.send_overdue_orders(s, actor=actor(), now=utcnow()))
    return jsonify(out)
