from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user, login_required

from webapp.auth.current import actor
from webapp.database import db, unit_of_work, utcnow
from webapp.errors import field_errors, is_english
from webapp.incidents import bp
from workflow.core import incidents
from workflow.core.errors import WorkflowError
from workflow.core.models import Case, Role
from workflow.core.queries import paginate
from workflow.core.reasons import parse_whole
from workflow.core.sweep import retry_incident


@bp.before_request
@login_required
def office_only() -> None:
    if current_user.role != Role.office:
        abort(403)


def _page_arg() -> int:
    return parse_whole(request.args.get("page"), low=0, high=999_999, default=1)


@bp.route("/incidents")
def index() -> ResponseReturnValue:
    show_all = request.args.get("all") == "1"
    page = paginate(db(), incidents.listing(db(), status=None if show_all else "open"), _page_arg(), 20)
    return render_template("incidents/index.html", page=page, show_all=show_all)


def _render_one(incident_id: int, *, comment: str = "", errors: dict[str, list[str]] | None = None,
                status: int = 200) -> ResponseReturnValue:
    try:
        incident = incidents.get(db(), incident_id)
    except WorkflowError:
        abort(404)
    case = db().get(Case, incident.case_id) if incident.case_id else None
    return render_template("incidents/show.html", incident=incident, case=case, comment=comment,
                           errors=errors or {}), status


@bp.route("/incidents/<int:incident_id>")
def show(incident_id: int) -> ResponseReturnValue:
    return _render_one(incident_id)


def _back(incident_id: int) -> ResponseReturnValue:
    return redirect(url_for("incidents.show", incident_id=incident_id))


@bp.route("/incidents/<int:incident_id>/retry", methods=["POST"])
def retry(incident_id: int) -> ResponseReturnValue:
    try:
        with unit_of_work() as s:
            error = retry_incident(s, incident_id, actor=actor(), now=utcnow())[1]
    except WorkflowError as exc:
        if exc.status == 404:
            abort(404)
        flash(exc.en if is_english() else exc.zh, "warning")
        return _back(incident_id)
    if error:
        flash(_("The step failed again: %(error)s", error=error[1] if is_english() else error[0]), "error")
    else:
        flash(_("The step went through; the incident is resolved."), "success")
    return _back(incident_id)


@bp.route("/incidents/<int:incident_id>/resolve", methods=["POST"])
def resolve(incident_id: int) -> ResponseReturnValue:
    comment = request.form.get("comment", "")
    try:
        with unit_of_work() as s:
            incidents.resolve_by_hand(s, incident_id, actor=actor(), now=utcnow(), comment=comment)
    except WorkflowError as exc:
        if exc.status == 404:
            abort(404)
        if exc.status == 422:
            return _render_one(incident_id, comment=comment, errors=field_errors(exc), status=422)
        flash(exc.en if is_english() else exc.zh, "warning")
        return _back(incident_id)
    flash(_("The incident is resolved."), "success")
    return _back(incident_id)


def case_incidents(case_id: int) -> list[Any]:
    """The open incidents of a case, for the office's banner on the case page."""
    if current_user.role != Role.office:
        return []
    return incidents.open_for_case(db(), case_id)


@bp.app_context_processor
def incident_context() -> dict[str, Any]:
    if not current_user.is_authenticated or request.blueprint == "api" or current_user.role != Role.office:
        return {}
    return {"open_incidents": incidents.open_count(db()), "case_incidents": case_incidents}
