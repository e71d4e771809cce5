"""催办 pages: the office reads who a batch would remind, confirms, and the reminders are queued
(workflow/notify/chase.py does the work; the API calls the same services)."""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import login_required

from webapp.auth.current import actor
from webapp.cases import bp as cases_bp
from webapp.database import db, unit_of_work, utcnow
from webapp.supervision import bp as supervision_bp
from workflow.core.access import get_case
from workflow.notify import chase


def _page(heading: str, plan: chase.ChasePlan, back: str, errors: dict[str, list[str]], case: Any = None,
          status: int = 200) -> ResponseReturnValue:
    return render_template("chase/confirm.html", heading=heading, plan=plan, back=back, errors=errors,
                           case=case), status


def _sent(plan: chase.ChasePlan) -> None:
    flash(_("Reminders sent about %(cases)s case(s) to %(n)s people.", cases=len(plan.items), n=plan.users),
          "success")


@cases_bp.route("/cases/<int:case_id>/chase", methods=["GET", "POST"])
@login_required
def chase_opinions(case_id: int) -> ResponseReturnValue:
    me = actor()
    plan = chase.plan_opinions(db(), actor=me, case_id=case_id, now=utcnow())
    case = get_case(db(), me, case_id)
    heading = _("Remind the member units that have not answered")
    back = url_for("cases.show", case_id=case_id)
    if request.method == "POST":
        if request.form.get("confirmed") != "yes":
            return _page(heading, plan, back, {"confirmed": [_("Tick the box to confirm.")]}, case, 422)
        with unit_of_work() as s:
            sent = chase.send_opinions(s, actor=me, case_id=case_id, now=utcnow())
        _sent(sent)
        return redirect(back)
    return _page(heading, plan, back, {}, case)


@supervision_bp.route("/supervision/chase", methods=["GET", "POST"])
def chase_overdue_orders() -> ResponseReturnValue:
    me = actor()
    plan = chase.plan_overdue_orders(db(), actor=me, now=utcnow())
    heading = _("Remind every overdue rectification order")
    back = url_for("supervision.board")
    if request.method == "POST":
        if request.form.get("confirmed") != "yes":
            return _page(heading, plan, back, {"confirmed": [_("Tick the box to confirm.")]}, status=422)
        with unit_of_work() as s:
            sent = chase.send_overdue_orders(s, actor=me, now=utcnow())
        _sent(sent)
        return redirect(back)
    return _page(heading, plan, back, {})
