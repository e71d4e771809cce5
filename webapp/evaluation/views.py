"""The evaluation's forms (the county's self-assessment, a member unit's values), the year's list and opening a
year by hand. The checks are the process's guards (workflow/evaluation/rules.py): the pages read the form, call
`fire` and show the reasons."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

from flask import current_app, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import login_required

from webapp.auth.current import actor
from webapp.campaigns import open_year_by_hand
from webapp.database import db, unit_of_work, utcnow
from webapp.errors import field_errors
from webapp.evaluation import bp
from workflow.core.access import get_case, not_found_case
from workflow.core.attachments import ACCEPTED, list_attachments, store_upload
from workflow.core.calendar import local_date
from workflow.core.catalog import CATALOG
from workflow.core.engine import allowed_transitions, fire
from workflow.core.errors import WorkflowError
from workflow.core.models import Case, Role
from workflow.core.reasons import parse_whole
from workflow.evaluation import values as v
from workflow.evaluation.campaign import evaluation_years, open_evaluation, year_cases
from workflow.evaluation.indicators import evaluation_spec
from workflow.evaluation.ranking_view import may_read as may_read_ranking


@bp.app_template_global("evaluation_breakdown")
def evaluation_breakdown(case: Case) -> Any:
    """The case's scores by group for the reader: a member unit sees only the indicators it gives."""
    me = actor()
    provider = (case.data.get("scoring_units") or {}).get(str(me.unit_id)) if me.role == Role.member else None
    if me.role == Role.member and provider is None:
        return None
    return v.breakdown(case, provider)


@bp.app_template_filter("points")
def points(value: Any) -> str:
    if value is None:
        return "—"
    return v.shown(value if isinstance(value, Decimal) else Decimal(str(value)))  # the ranking keeps "87.50"


def _step_case(case_id: int, triggers: set[str]) -> Case | None:
    """The evaluation on which the reader may take one of `triggers` now; None (with a message) when not."""
    me = actor()
    s = db()
    case = get_case(s, me, case_id)
    if case.definition_key != "evaluation_town":
        raise not_found_case()  # as for a case that does not exist
    definition = CATALOG.get(case.definition_key, case.definition_version, s)
    if not {t.trigger for t in allowed_transitions(definition, case, me)} & triggers:
        flash(_("This step is not possible now."), "warning")
        return None
    return case


def _fire(case_id: int, trigger: str, payload: dict[str, Any], version: str,
          before: Callable[[Any], None] | None = None) -> dict[str, list[str]]:
    """Fire the step (after `before`, in the same transaction); the reasons by form field when refused (403 and
    404 raised)."""
    expected = parse_whole(version, low=0)
    if expected is None:
        return {"": [_("The form is incomplete; reload the page.")]}
    try:
        with unit_of_work() as session:
            if before is not None:
                before(session)
            fire(session=session, case_id=case_id, trigger=trigger, actor=actor(), now=utcnow(), payload=payload,
                 expected_version=expected)
    except WorkflowError as exc:
        if exc.status in (403, 404):
            raise
        flash(_("Not done: correct what is marked below."), "error")
        return field_errors(exc)
    return {}


@bp.route("/evaluation/cases/<int:case_id>/assess", methods=["GET", "POST"])
@login_required
def assess(case_id: int) -> ResponseReturnValue:
    """The county's self-assessment: the values it provides, the targets of the shares, a short text and the
    evidence per group (files uploaded here are attachments of the case, kept only if the step is done)."""
    case = _step_case(case_id, {"save_assessment", "submit_assessment"})
    if case is None:
        return redirect(url_for("cases.show", case_id=case_id))
    spec = v.spec_of(case)
    errors: dict[str, list[str]] = {}
    form: Any = _assessment_form(case.data)
    if request.method == "POST":
        form = request.form
        payload = {"assessment": {i.key: form.get(f"v-{i.key}", "").strip() for i in v.provided_by(spec, "county")},
                   "targets": {i.key: form.get(f"target-{i.key}", "").strip() for i in v.target_indicators(spec)},
                   "group_texts": {g.key: form.get(f"text-{g.key}", "").strip() for g in spec.groups}}
        kept, wrong = _kept_evidence(spec)
        payload["group_evidence"] = kept
        submit = form.get("action") == "submit"
        if wrong:
            errors = {"group_evidence": [_("Choose evidence from the case's attachments.")]}
        elif submit and form.get("confirmed") != "yes":
            errors = {"confirmed": [_("Tick the box to confirm this step.")]}
        else:
            errors = _fire(case_id, "submit_assessment" if submit else "save_assessment", payload,
                           form.get("expected_version", ""), before=lambda s: _upload_evidence(s, case_id, kept))
            if not errors:
                flash(_("The self-assessment is submitted to the office.") if submit else _("Saved."), "success")
                return redirect(url_for("cases.show", case_id=case_id) if submit
                                else url_for("evaluation.assess", case_id=case_id))
        case = get_case(db(), actor(), case_id)
    files = {a.id: a for a in list_attachments(session=db(), actor=actor(), case_id=case_id)}
    return render_template("evaluation/assess.html", case=case, spec=spec, form=form, errors=errors,
                           county_indicators=v.provided_by(spec, "county"), targets=v.target_indicators(spec),
                           evidence=(case.data or {}).get("group_evidence") or {}, files=files,
                           asked={g.key: v.evidence_asked(spec, g.key) for g in spec.groups},
                           accept=",".join(f".{ext}" for ext in ACCEPTED)), 422 if errors else 200


def _kept_evidence(spec: Any) -> tuple[dict[str, list[int]], bool]:
    """The evidence already given that stays ticked, by group; True when an id is not a number."""
    kept: dict[str, list[int]] = {}
    for group in spec.groups:
        raw = request.form.getlist(f"keep-evidence-{group.key}")
        ids = [parse_whole(r, low=0, high=999_999_999) for r in raw]
        if None in ids:
            return {}, True
        kept[group.key] = [i for i in ids if i is not None]
    return kept, False


def _upload_evidence(session: Any, case_id: int, evidence: dict[str, list[int]]) -> None:
    """Store the files sent for each group as attachments of the case and add them to the group's evidence."""
    for group, ids in evidence.items():
        for file in request.files.getlist(f"evidence-{group}"):
            if file and file.filename:
                row = store_upload(session=session, actor=actor(), case_id=case_id, filename=file.filename,
                                   stream=file.stream, now=utcnow(), upload_dir=current_app.config["UPLOAD_DIR"])
                assert row.id is not None  # flushed: the row has its id
                ids.append(row.id)


def _assessment_form(data: dict[str, Any]) -> dict[str, str]:
    """What the case holds, as the form shows it."""
    form = {f"v-{k}": ("是" if value is True else "否" if value is False else str(value))
            for k, value in (data.get("assessment") or {}).items()}
    form.update({f"target-{k}": str(value) for k, value in (data.get("targets") or {}).items()})
    form.update({f"text-{k}": text for k, text in (data.get("group_texts") or {}).items()})
    return form


@bp.route("/evaluation/cases/<int:case_id>/score", methods=["GET", "POST"])
@login_required
def score(case_id: int) -> ResponseReturnValue:
    """A member unit's values: only the indicators it provides."""
    case = _step_case(case_id, {"give_unit_values"})
    if case is None:
        return redirect(url_for("cases.show", case_id=case_id))
    me = actor()
    name = (case.data.get("scoring_units") or {}).get(str(me.unit_id))
    if name is None:
        raise not_found_case()
    if str(me.unit_id) in (case.data.get("unit_answers") or {}):
        flash(_("Your unit has already given its values."), "info")
        return redirect(url_for("cases.show", case_id=case_id))
    indicators = v.provided_by(v.spec_of(case), name)
    errors: dict[str, list[str]] = {}
    form: Any = {}
    if request.method == "POST":
        form = request.form
        if form.get("confirmed") != "yes":
            errors = {"confirmed": [_("Tick the box to confirm this step.")]}
        else:
            errors = _fire(case_id, "give_unit_values",
                           {"unit_values": {i.key: form.get(f"v-{i.key}", "").strip() for i in indicators}},
                           form.get("expected_version", ""))
            if not errors:
                flash(_("Your unit's values are given."), "success")
                return redirect(url_for("cases.show", case_id=case_id))
    return render_template("evaluation/score.html", case=case, unit=name, indicators=indicators, form=form,
                           errors=errors), 422 if errors else 200


@bp.route("/evaluation", methods=["GET"])
@login_required
def overview() -> ResponseReturnValue:
    """A year's evaluations the reader may see, each with its state and total; the office opens a year here."""
    me = actor()
    years = evaluation_years(db())
    raw = request.args.get("year", "")
    last_year = local_date(utcnow()).year - 1
    year = parse_whole(raw, low=1000, high=9999, default=years[0] if years else last_year)
    rows = [(case, v.town_score(case)) for case in year_cases(db(), me, year)]
    return render_template("evaluation/overview.html", year=year, years=years, rows=rows,
                           definition=CATALOG.current("evaluation_town"), last_year=last_year,
                           total=evaluation_spec().total, has_ranking=may_read_ranking(db(), me, year))


@bp.route("/evaluation/open", methods=["POST"])
@login_required
def open_year() -> ResponseReturnValue:
    """The office opens a year's evaluation by hand (the scheduler does it on the configured day)."""
    return open_year_by_hand(
        opener=open_evaluation, overview="evaluation.overview", year_zh="评价年度",
        opened=lambda n, year: _("%(n)s evaluations opened for %(year)s.", n=n, year=year),
        none=lambda year: _("Every designated town already has its evaluation for %(year)s.", year=year))
