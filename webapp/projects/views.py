"""The project libraries' pages. Counties see and change their own projects, the office every county's, the
leader reads them all; member units have no part in them (403). The rules are the process's
(workflow/projects/): the pages read the form, call one service and show its reasons."""

from __future__ import annotations

import io
from collections.abc import Mapping
from typing import Any

from flask import abort, flash, redirect, render_template, request, send_file, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlmodel import col, select

from webapp.auth.current import actor
from webapp.cases.fields import read_payload, widget
from webapp.database import db, unit_of_work, utcnow
from webapp.errors import field_errors, message_of
from webapp.exporting import export_limit, xlsx_download
from webapp.projects import bp
from workflow.core.access import town_filter
from workflow.core.calendar import local_date
from workflow.core.catalog import CATALOG
from workflow.core.errors import WorkflowError
from workflow.core.exports import XLSX, Filter
from workflow.core.models import Role, Town, Unit, UnitKind
from workflow.core.queries import count_of
from workflow.core.reasons import parse_whole
from workflow.core.yamlcheck import Label
from workflow.projects import INVESTMENT, KEY, excel
from workflow.projects.batches import BATCH_LABELS, BATCH_LIST, three_batches
from workflow.projects.ledger import (
    LISTS,
    ProjectFilters,
    create_project,
    filters_shown,
    project_page,
    project_query,
    project_rows,
    stage_counts,
    stages,
)
from workflow.projects.rules import is_stalled

LIBRARY = {"key": KEY, "investment": INVESTMENT}  # the URL's name of each library
READERS = {Role.county, Role.office, Role.leader}
WRITERS = {Role.county, Role.office}
BODY_LIMIT = excel.MAX_BYTES + 256 * 1024


def _library(name: str) -> str:
    if name not in LIBRARY:
        abort(404)
    if current_user.role not in READERS:
        abort(403)
    return LIBRARY[name]


def _number(values: Mapping[str, str], name: str) -> int | None:
    return parse_whole(values.get(name), low=0, high=999_999_999)


def _filters(values: Mapping[str, str]) -> ProjectFilters:
    return ProjectFilters(county_id=_number(values, "county"), town_id=_number(values, "town"),
                          stage=values.get("stage") or None, stalled=values.get("stalled") == "1")


def _counties() -> list[Unit]:
    query = select(Unit).where(col(Unit.kind) == UnitKind.county.value).order_by(col(Unit.id))
    if current_user.role == Role.county:
        query = query.where(col(Unit.id) == actor().unit_id)
    return list(db().exec(query).all())


def _towns() -> list[Town]:
    return list(db().exec(select(Town).where(town_filter(actor())).order_by(col(Town.county_id), col(Town.name))).all())


@bp.route("/projects/<library>")
@login_required
def ledger(library: str) -> ResponseReturnValue:
    key = _library(library)
    try:
        filters = _filters(request.args)
        page = project_page(db(), actor(), key, filters, now=utcnow(), page=_number(request.args, "page") or 1)
    except WorkflowError as exc:
        flash(message_of(exc), "error")
        return redirect(url_for("projects.ledger", library=library))
    return render_template("projects/ledger.html", library=library, key=key, page=page, stages=stages(key),
                           counts=stage_counts(db(), actor(), key), counties=_counties(), towns=_towns(),
                           export_limit=export_limit(), may_write=current_user.role in WRITERS)


@bp.route("/projects/<library>/export.xlsx", methods=["POST"])
@login_required
def export(library: str) -> ResponseReturnValue:
    """The list with the page's filters, every matching project (up to the limit), as an Excel workbook."""
    key = _library(library)
    s, me, now = db(), actor(), utcnow()
    filters = _filters(request.form)
    try:
        total = count_of(s, project_query(me, key, filters, local_date(now)))
    except WorkflowError as exc:
        flash(message_of(exc), "error")
        return redirect(url_for("projects.ledger", library=library), 303)
    return xlsx_download(LISTS[key], lambda limit: project_rows(s, me, key, filters, now=now, limit=limit),
                         total=total, filters=filters_shown(s, key, filters))


def _new(library: str) -> ResponseReturnValue:
    key = _library(library)
    if current_user.role not in WRITERS:
        abort(403)
    fields = [f for f in CATALOG.current(key).create.accepts if not widget(f).internal]
    errors: dict[str, list[str]] = {}
    if request.method == "POST":
        payload, errors = read_payload(fields, request.form)
        town_id = _number(request.form, "town_id")
        county_id = _number(request.form, "county_id") if current_user.role == Role.office else None
        if not errors:
            try:
                with unit_of_work() as s:
                    case = create_project(session=s, key=key, actor=actor(), now=utcnow(), town_id=town_id,
                                          county_id=county_id, data=payload)
                flash(_("Case %(number)s created.", number=case.number), "success")
                return redirect(url_for("cases.show", case_id=case.id))
            except WorkflowError as exc:
                if exc.status in (403, 404):
                    raise
                errors = field_errors(exc)
    page = render_template("projects/new.html", library=library, key=key, fields=fields, widget=widget, errors=errors,
                           form=request.form, towns=_towns(), counties=_counties())
    return page, 422 if errors else 200


@bp.route("/projects/key/new", methods=["GET", "POST"])
@login_required
def new_key_project() -> ResponseReturnValue:
    return _new("key")


@bp.route("/projects/investment/new", methods=["GET", "POST"])
@login_required
def new_investment_project() -> ResponseReturnValue:
    return _new("investment")


def send_workbook(content: bytes, filename: str) -> ResponseReturnValue:
    response = send_file(io.BytesIO(content), mimetype=XLSX, as_attachment=True, download_name=filename,
                         etag=False, last_modified=None)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.route("/projects/<library>/template.xlsx")
@login_required
def import_template(library: str) -> ResponseReturnValue:
    key = _library(library)
    if current_user.role not in WRITERS:
        abort(403)
    return send_workbook(excel.template(key, actor()), f"{excel.library_label(key)}导入模板.xlsx")


@bp.route("/projects/<library>/import", methods=["POST"])
@login_required
def import_projects(library: str) -> ResponseReturnValue:
    """Upload a filled-in list: every project created, or nothing and the table of problems by row and column."""
    key = _library(library)
    if current_user.role not in WRITERS:
        abort(403)
    refusal: WorkflowError | None = None
    if (request.content_length or 0) > BODY_LIMIT:
        zh = f"文件超过 {excel.MAX_BYTES // 1024 // 1024} MB，不能导入。"
        refusal = WorkflowError(zh, f"The file is larger than {excel.MAX_BYTES // 1024 // 1024} MB.",
                                details=[{"field": "file", "zh": zh, "en": "too large"}])
        refusal.status = 413
    else:
        request.max_content_length = BODY_LIMIT
        file = request.files.get("file")
        try:
            with unit_of_work() as s:
                created = excel.import_projects(s, actor(), key, file.stream if file else io.BytesIO(), now=utcnow())
        except WorkflowError as exc:
            if exc.status in (403, 404):
                raise
            refusal = exc
        finally:
            if file:
                file.close()
    if refusal is not None:
        problems = [d for d in refusal.details or [] if isinstance(d, dict)]
        return render_template("projects/import_refused.html", library=library, key=key, message=message_of(refusal),
                               problems=problems), refusal.status
    flash(_("%(n)s projects imported.", n=len(created)), "success")
    return redirect(url_for("projects.ledger", library=library), 303)


def _year(values: Mapping[str, str]) -> int:
    year = _number(values, "year")
    return year if year and 2000 <= year <= 2100 else local_date(utcnow()).year


@bp.route("/projects/batches")
@login_required
def batches() -> ResponseReturnValue:
    if current_user.role not in READERS:
        abort(403)
    year = _year(request.args)
    return render_template("projects/batches.html", report=three_batches(db(), actor(), year), year=year,
                           labels=BATCH_LABELS, export_limit=export_limit())


@bp.route("/projects/batches/export.xlsx", methods=["POST"])
@login_required
def export_batches() -> ResponseReturnValue:
    """三个一批 of the year as the workbook the office sends upward."""
    if current_user.role not in READERS:
        abort(403)
    year = _year(request.form)
    report = three_batches(db(), actor(), year)
    return xlsx_download(BATCH_LIST, lambda limit: report.rows[:limit], total=len(report.rows),
                         filters=[Filter("year", year, Label("年度", "Year"), str(year))])


@bp.app_template_global("project_stalled")
def project_stalled(case: Any) -> bool:
    return is_stalled(case, local_date(utcnow()))


FIELDS = ("project_name", "enterprise", "investment_planned", "investment_completed", "support", "report_due_date",
          "last_update_date", "last_activity_date", "signed_date", "started_date", "producing_date", "effective_date",
          "landed_date", "terminated_date", "termination_reason")


@bp.app_template_global("project_fields")
def project_fields(case: Any) -> tuple[str, ...]:
    return FIELDS


@bp.app_template_global("project_field_label")
def project_field_label(key: str) -> str:
    from webapp.errors import is_english
    from workflow.core.labels import field_label

    return field_label(key, "en" if is_english() else "zh")
