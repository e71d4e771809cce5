from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user, login_required

from webapp.admin import bp
from webapp.auth.current import actor
from webapp.database import db, unit_of_work, utcnow
from webapp.errors import field_errors
from workflow.core.calendar import package_year
from workflow.core.calendar_admin import enter_year, known_years, year_days
from workflow.core.errors import WorkflowError
from workflow.core.models import Role


@bp.before_request
@login_required
def admins_only() -> None:
    if current_user.role != Role.admin:
        abort(403)


@bp.route("/calendar")
def calendar() -> ResponseReturnValue:
    return render_template("admin/calendar.html", years=known_years(db()))


@bp.route("/calendar/<int:year>", methods=["GET", "POST"])
def calendar_year(year: int) -> ResponseReturnValue:
    if not 2000 <= year <= 2100:
        abort(404)
    source = known_years(db()).get(year, "none")
    errors: dict[str, list[str]] = {}
    if request.method == "POST":
        try:
            with unit_of_work() as s:
                entered = enter_year(s, year=year, text=request.form.get("days", ""), actor=actor(), now=utcnow())
            flash(_("%(year)s: %(count)s days entered.", year=year, count=entered.days), "success")
            if entered.recounted:
                flash(_("%(count)s open deadlines were counted again with the new table; the counties and the "
                        "office have been told of the new dates.", count=entered.recounted), "success")
            return redirect(url_for("admin.calendar_year", year=year))
        except WorkflowError as exc:
            errors = field_errors(exc)
    if source == "table":
        days = [(d.day, d.is_workday, d.note) for d in year_days(db(), year)]
    elif source == "package":
        days = package_year(year)
    else:
        days = []
    text = request.form.get("days") if request.method == "POST" else "\n".join(
        f"{d} {'班' if w else '休'} {n or ''}".rstrip() for d, w, n in days)
    return render_template("admin/calendar_year.html", year=year, source=source, days=days, text=text,
                           errors=errors), 422 if errors else 200
