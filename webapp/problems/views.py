from __future__ import annotations

import io
from collections.abc import Mapping
from typing import Any

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import login_required
from sqlmodel import col, select

from webapp.auth.current import actor
from webapp.database import db, unit_of_work, utcnow
from webapp.errors import field_errors
from webapp.exporting import export_limit, xlsx_download
from webapp.problems import bp
from workflow.core.access import get_case, town_filter
from workflow.core.catalog import CATALOG
from workflow.core.errors import WorkflowError, not_found_case
from workflow.core.models import Role, Town, Unit, UnitKind
from workflow.core.reasons import parse_whole
from workflow.problems import excel
from workflow.problems.categories import categories
from workflow.problems.ledger import (
    KEY,
    LEDGER,
    STATES,
    LedgerFilters,
    decide,
    ledger_filters,
    ledger_page,
    ledger_rows,
    ledger_total,
    log_problem,
    responsible_units,
)
from workflow.problems.ledger import (
    assign as assign_problem,
)
from workflow.problems.rules import ORIGINS

LOG_FIELDS = ("category", "description", "origin", "raised_by", "enterprise_name")


def _number(values: Mapping[str, str], name: str) -> int | None:
    return parse_whole(values.get(name), low=0, high=999_999_999)


def _filters(values: Mapping[str, str]) -> LedgerFilters:
    """The ledger's filters from its query string (or from its export button's form)."""
    return LedgerFilters(county_id=_number(values, "county"), town_id=_number(values, "town"),
                         category=values.get("category") if values.get("category") in {c.key for c in categories()}
                         else None,
                         state=values.get("state") if values.get("state") in STATES else None,
                         unit_id=_number(values, "unit"), overdue=values.get("overdue") == "1")


def _counties() -> list[Unit]:
    me = actor()
    query = select(Unit).where(Unit.kind == UnitKind.county.value).order_by(col(Unit.id))
    if me.role == Role.county:
        query = query.where(Unit.id == me.unit_id)
    return list(db().exec(query).all())


def _towns() -> list[Town]:
    return list(db().exec(select(Town).where(town_filter(actor())).order_by(col(Town.county_id), col(Town.name))))


@bp.route("/problems")
@login_required
def ledger() -> ResponseReturnValue:
    page = ledger_page(db(), actor(), _filters(request.args), now=utcnow(),
                       page=parse_whole(request.args.get("page"), low=0, high=999_999, default=1), per_page=20)
    return render_template("problems/ledger.html", page=page, counties=_counties(), towns=_towns(),
                           categories=categories(), definition=CATALOG.current(KEY), states=STATES,
                           units=responsible_units(db()), export_limit=export_limit(),
                           may_log=actor().role in CATALOG.current(KEY).create_roles)


@bp.route("/problems/export.xlsx", methods=["POST"])
@login_required
def export() -> ResponseReturnValue:
    """The ledger with the page's filters, every matching problem (up to the limit), as an Excel workbook."""
    f, s, me = _filters(request.form), db(), actor()
    return xlsx_download(LEDGER, lambda limit: ledger_rows(s, me, f, now=utcnow(), limit=limit),
                         total=ledger_total(s, me, f), filters=ledger_filters(s, f))


@bp.route("/problems/new", methods=["GET", "POST"])
@login_required
def log() -> ResponseReturnValue:
    me = actor()
    if me.role not in CATALOG.current(KEY).create_roles:
        abort(403)
    errors: dict[str, list[str]] = {}
    if request.method == "POST":
        data = {k: (request.form.get(k) or "").strip() for k in LOG_FIELDS if (request.form.get(k) or "").strip()}
        town_id, county_id = _number(request.form, "town_id"), _number(request.form, "county_id")
        if request.form.get("town_id") and town_id is None:
            errors["town_id"] = [_("Choose a town from the list.")]
        if town_id is None and county_id is None and me.role != Role.county:
            errors["county_id"] = [_("Choose the town, or the county for a problem with no town.")]
        files = [(f.filename, f.stream) for f in request.files.getlist("evidence") if f and f.filename]
        if not errors:
            try:
                with unit_of_work() as s:
                    case = log_problem(session=s, actor=me, now=utcnow(), data=data, town_id=town_id,
                                       county_id=None if town_id else county_id, files=files,
                                       upload_dir=current_app.config["UPLOAD_DIR"])
                flash(_("Problem %(number)s logged.", number=case.number), "success")
                return redirect(url_for("cases.show", case_id=case.id))
            except WorkflowError as exc:
                if exc.status == 403:
                    raise
                errors = field_errors(exc)
    return render_template("problems/log.html", errors=errors, form=request.form, towns=_towns(),
                           counties=_counties(), categories=categories(), origins=ORIGINS), 422 if errors else 200


@bp.route("/problems/<int:case_id>/assign", methods=["GET", "POST"])
@login_required
def assign(case_id: int) -> ResponseReturnValue:
    """Assign a problem to a unit: the office's 交办, or the leader's as the meeting decided."""
    me, s = actor(), db()
    case = get_case(s, me, case_id)
    if case.definition_key != KEY:
        raise not_found_case()  # as for a case that does not exist
    trigger = "meeting_assign" if case.state == "for_meeting" else "assign"
    spec = CATALOG.get(KEY, case.definition_version, s).transition(trigger, case.state)
    if spec is None:
        flash(_("This step is not possible now."), "warning")
        return redirect(url_for("cases.show", case_id=case_id))
    if me.role not in spec.roles:
        abort(403)
    errors: dict[str, list[str]] = {}
    if request.method == "POST":
        version = _number(request.form, "expected_version")
        unit_id = _number(request.form, "responsible_unit_id")
        due = (request.form.get("due_date") or "").strip() or None
        if version is None:
            errors[""] = [_("The form is incomplete; reload the page.")]
        if not errors:
            try:
                with unit_of_work() as session:
                    if trigger == "assign":
                        assign_problem(session=session, actor=me, now=utcnow(), case_id=case_id,
                                       responsible_unit_id=unit_id, due_date=due, expected_version=version)
                    else:
                        decide(session=session, actor=me, now=utcnow(), case_id=case_id,
                               decision_text=request.form.get("decision_text"), responsible_unit_id=unit_id,
                               due_date=due, expected_version=version)
                flash(_("Done: %(step)s.", step=spec.label.get("zh")), "success")
                return redirect(url_for("cases.show", case_id=case_id))
            except WorkflowError as exc:
                if exc.status in (403, 404):
                    raise
                errors = field_errors(exc)
    units = [u for u in responsible_units(s) if u.kind == UnitKind.member or u.id == case.county_id]
    return render_template("problems/assign.html", case=case, spec=spec, units=units, errors=errors,
                           form=request.form, county=s.get(Unit, case.county_id)), 422 if errors else 200


@bp.route("/problems/import", methods=["GET", "POST"])
@login_required
def import_ledger() -> ResponseReturnValue:
    """The office reads in an existing Excel ledger: every row or none."""
    me = actor()
    if me.role != Role.office:
        abort(403)
    problems: list[Any] = []
    if request.method == "POST":
        upload = request.files.get("file")
        try:
            with unit_of_work() as s:
                cases = excel.import_ledger(session=s, actor=me, now=utcnow(), stream=upload.stream if upload
                                            else io.BytesIO())
            flash(_("%(n)s problems imported.", n=len(cases)), "success")
            return redirect(url_for("problems.ledger"))
        except WorkflowError as exc:
            if exc.status == 403:
                raise
            problems = exc.details or [{"zh": exc.zh, "en": exc.en}]
    return render_template("problems/import.html", problems=problems, columns=excel.COLUMNS), \
        422 if problems else 200


@bp.route("/problems/import-template.xlsx")
@login_required
def import_template() -> ResponseReturnValue:
    """The empty ledger to fill in, with its header row."""
    from flask import Response

    from webapp.exporting import content_disposition
    from workflow.core.exports import XLSX

    if actor().role != Role.office:
        abort(403)
    return Response(excel.template_bytes(), mimetype=XLSX, headers={
        "Content-Disposition": content_disposition("问题台账导入模板.xlsx", "problem-ledger-template.xlsx")})


@bp.app_template_global()
def problem_category(key: str | None) -> str:
    """A problem category's label (definitions/problem_categories.yaml), in the reader's language."""
    from webapp.templating import lang
    from workflow.problems.categories import by_key

    found = by_key(key)
    return found.label.get(lang()) if found else ""


@bp.app_template_global()
def problem_origin(key: str | None) -> str:
    from webapp.templating import lang

    found = ORIGINS.get(key or "")
    return (found[1] if lang().startswith("en") else found[0]) if found else ""


@bp.app_template_global()
def problem_outcome(key: str | None) -> str:
    from webapp.templating import lang
    from workflow.core.labels import VALUES

    found = VALUES.get("outcome", {}).get(key or "")
    return found.get(lang()) if found else ""
