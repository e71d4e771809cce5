"""The statistics report form (its own page for 填写 and 报送), the year's overview, and opening the reports.

The form works without JavaScript. Each number has last year's accepted value beside it; a figure that moved too
far gets a box for its reason, shown after saving (and kept when the report comes back). The checks are the
process's guards (workflow/statistics/rules.py): the page only reads the form and shows their reasons."""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import login_required
from sqlmodel import col, select
from werkzeug.datastructures import MultiDict

from webapp.auth.current import actor
from webapp.campaigns import open_year_by_hand
from webapp.database import db, unit_of_work, utcnow
from webapp.errors import field_errors
from webapp.exporting import export_limit, xlsx_download
from webapp.statistics import bp
from webapp.templating import lang
from workflow.core.access import get_case, not_found_case
from workflow.core.calendar import local_date
from workflow.core.catalog import CATALOG
from workflow.core.engine import allowed_transitions, fire
from workflow.core.errors import WorkflowError
from workflow.core.models import Role, Unit, UnitKind
from workflow.core.reasons import parse_whole
from workflow.core.tiers import tiers
from workflow.statistics import fields as spec_of
from workflow.statistics.campaign import open_reports
from workflow.statistics.overview import (
    form_rows,
    report_years,
    year_counts,
    year_filters,
    year_list,
    year_reports,
    year_rows,
    year_total,
)

ITEM_ROWS = 5  # rows of brands and standards on the form; blank rows are left out


@bp.app_template_global("statistics_spec")
def statistics_spec_global() -> spec_of.StatisticsSpec:
    return spec_of.statistics_spec()


@bp.app_template_global()
def tier_label(key: str | None) -> str:
    """A tier by its key (registry.yaml), in the reader's language; a dash for none."""
    found = next((t for t in tiers() if t.key == key), None)
    return found.label.get(lang()) if found else "—"


@bp.app_template_filter("figure")
def figure(value: Any) -> str:
    """A stored figure as people write it (12.5, 3200)."""
    return spec_of.shown(value)


@bp.app_template_global()
def item_text(field: spec_of.Field, item: dict[str, str]) -> str:
    """One brand or standard in a line: its text, then its choices' labels in the reader's language."""
    locale = lang()
    parts = []
    for sub in field.items:
        value = item.get(sub.key, "")
        parts.append(dict(sub.choices)[value].get(locale) if sub.type == "choice" and value in dict(sub.choices)
                     else value)
    return f"{parts[0]}（{'，'.join(parts[1:])}）" if len(parts) > 1 and locale != "en" else \
        f"{parts[0]} ({', '.join(parts[1:])})" if len(parts) > 1 else parts[0]


def read_form(form: Any) -> tuple[dict[str, Any], dict[str, str]]:
    """The figures and the reasons typed into the form, as the report's payload."""
    figures: dict[str, Any] = {}
    for field in spec_of.statistics_spec().fields:
        if field.type == "items":
            rows = []
            for i in range(ITEM_ROWS):
                row = {f.key: (form.get(f"{field.key}-{i}-{f.key}") or "").strip() for f in field.items}
                if any(row.values()):
                    rows.append(row)
            figures[field.key] = rows
        else:
            figures[field.key] = (form.get(field.key) or "").strip()
    explanations = {field.key: (form.get(f"why-{field.key}") or "").strip()
                    for field in spec_of.statistics_spec().fields
                    if (form.get(f"why-{field.key}") or "").strip()}
    return figures, explanations


def form_of(data: dict[str, Any]) -> MultiDict[str, str]:
    """The report's stored figures and reasons, as the form shows them."""
    values: MultiDict[str, str] = MultiDict()
    figures = data.get("figures") or {}
    for field in spec_of.statistics_spec().fields:
        value = figures.get(field.key)
        if field.type == "items":
            for i, row in enumerate(value or []):
                for key, text in row.items():
                    values[f"{field.key}-{i}-{key}"] = str(text)
        elif value is not None:
            values[field.key] = spec_of.shown(value)
    for key, text in (data.get("explanations") or {}).items():
        values[f"why-{key}"] = text
    return values


@bp.route("/statistics/reports/<int:case_id>/fill", methods=["GET", "POST"])
@login_required
def fill(case_id: int) -> ResponseReturnValue:
    me = actor()
    s = db()
    case = get_case(s, me, case_id)
    if case.definition_key != "statistics_report":
        raise not_found_case()  # as for a case that does not exist
    definition = CATALOG.get(case.definition_key, case.definition_version, s)
    steps = {t.trigger for t in allowed_transitions(definition, case, me)}
    if not steps & {"save_figures", "submit_figures"}:
        flash(_("This step is not possible now."), "warning")
        return redirect(url_for("cases.show", case_id=case_id))
    errors: dict[str, list[str]] = {}
    form: Any = form_of(case.data)
    if request.method == "POST":
        form = request.form
        figures, explanations = read_form(form)
        submit = form.get("action") == "submit"
        version = form.get("expected_version", "")
        expected = parse_whole(version, low=0)
        if expected is None:
            errors[""] = [_("The form is incomplete; reload the page.")]
        elif submit and form.get("confirmed") != "yes":
            errors["confirmed"] = [_("Tick the box to confirm this step.")]
        else:
            try:
                with unit_of_work() as session:
                    fire(session=session, case_id=case_id, trigger="submit_figures" if submit else "save_figures",
                         actor=me, now=utcnow(), payload={"figures": figures, "explanations": explanations},
                         expected_version=expected)
                if submit:
                    flash(_("The report is submitted to the office."), "success")
                    return redirect(url_for("cases.show", case_id=case_id))
                flash(_("Saved. Check the changes marked below before submitting."), "success")
                return redirect(url_for("statistics.fill", case_id=case_id))
            except WorkflowError as exc:
                if exc.status in (403, 404):
                    raise
                errors = field_errors(exc)
                flash(_("Not done: correct what is marked below."), "error")
        case = get_case(s, me, case_id)
    shown, _read = read_form(form)
    groups, compared = form_rows(s, me, case_id, _numbers_only(shown, case.data.get("figures") or {}))
    return render_template("statistics/fill.html", case=case, groups=groups, compared=compared, form=form,
                           errors=errors, item_rows=ITEM_ROWS), 422 if errors else 200


def _numbers_only(typed: dict[str, Any], stored: dict[str, Any]) -> dict[str, Any]:
    """The typed figures that read as numbers (to mark the changes to explain), else the stored ones."""
    spec = spec_of.statistics_spec()
    figures = dict(stored)
    for field in spec.fields:
        if field.is_number and field.key in typed:
            value, problem = spec_of.read_value(field, typed[field.key])
            if problem is None:
                figures[field.key] = value
    return figures


@bp.route("/statistics", methods=["GET"])
@login_required
def overview() -> ResponseReturnValue:
    """A year's reports: each town, its state and its output; the office opens the year's reports here."""
    me = actor()
    years = report_years(db(), me)
    year = _year_of(request.args, years)
    definition = CATALOG.current("statistics_report")
    rows = year_reports(db(), me, year, **_year_filters(request.args),
                        page=parse_whole(request.args.get("page"), low=0, high=99_999, default=1))
    counties = db().exec(select(Unit).where(Unit.kind == UnitKind.county.value).order_by(col(Unit.id))).all() \
        if me.role != Role.county else []
    return render_template("statistics/overview.html", year=year, years=years, rows=rows,
                           counts=year_counts(db(), me, year), definition=definition, counties=counties,
                           last_year=local_date(utcnow()).year - 1, export_limit=export_limit())


def _year_of(values: Any, years: list[int]) -> int:
    """The year a list shows: the one asked for, else the latest with reports, else last year."""
    return parse_whole(values.get("year"), low=1000, high=9999,
                       default=years[0] if years else local_date(utcnow()).year - 1)


def _year_filters(values: Any) -> dict[str, Any]:
    """The year list's county and state filters, from its query string or its export button's form."""
    state = values.get("state")
    return {"county_id": parse_whole(values.get("county"), low=0, high=99_999_999),
            "state": state if state in CATALOG.current("statistics_report").states else None}


@bp.route("/statistics/export.xlsx", methods=["POST"])
@login_required
def export_year() -> ResponseReturnValue:
    """The year's reports with the list's filters, every one of them, with their figures, as an Excel workbook."""
    me = actor()
    year = _year_of(request.form, report_years(db(), me))
    filters = _year_filters(request.form)
    return xlsx_download(year_list(), lambda limit: year_rows(db(), me, year, **filters, limit=limit),
                         total=year_total(db(), me, year, **filters),
                         filters=year_filters(db(), year, **filters))


@bp.route("/statistics/open", methods=["POST"])
@login_required
def open_year() -> ResponseReturnValue:
    """The office opens a year's reports by hand (the scheduler does it on the configured day)."""
    return open_year_by_hand(
        opener=open_reports, overview="statistics.overview", year_zh="统计年度",
        opened=lambda n, year: _("%(n)s reports opened for %(year)s.", n=n, year=year),
        none=lambda year: _("Every reporting town already has its report for %(year)s.", year=year))
