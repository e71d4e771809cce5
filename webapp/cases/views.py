from __future__ import annotations

from collections.abc import Mapping, Sequence
from types import SimpleNamespace
from typing import Any

from flask import abort, current_app, flash, make_response, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlmodel import col, select

from webapp.auth.current import actor
from webapp.auth.roles import home_url
from webapp.cases import DETAILS, NEW_CASE_PAGES, OWN_PAGES, STARTED_ELSEWHERE, bp
from webapp.cases.fields import SEVERITY_CHOICES, expert_table, read_payload, widget
from webapp.database import db, unit_of_work, utcnow
from webapp.diagrams import diagram_svg
from webapp.errors import field_errors, is_english, message_of
from webapp.exporting import export_limit, xlsx_download
from webapp.unit_presets import presets_for_form
from workflow.core.access import get_case, town_filter
from workflow.core.attachments import list_attachments, store_upload
from workflow.core.catalog import CATALOG
from workflow.core.deadlines import default_due_dates
from workflow.core.engine import create_case, fire
from workflow.core.errors import WorkflowError
from workflow.core.list_exports import CASES, INBOX, case_filters
from workflow.core.models import Case, Town, Unit, UnitKind
from workflow.core.panels import case_panel
from workflow.core.previews import form_preview_for, has_form_preview, lines_of
from workflow.core.queries import (
    case_deadlines,
    case_events,
    case_list,
    case_list_query,
    case_reminders,
    case_rows,
    count_of,
    deadline_badges,
    inbox,
    inbox_query,
    open_deadlines,
    unit_names,
)
from workflow.core.reasons import parse_whole
from workflow.core.search import search_cases
from workflow.core.visibility import hidden_keys, shown
from workflow.designation.experts import criteria as expert_criteria
from workflow.designation.rules import expert_average
from workflow.seed import group_member_units
from workflow.supervision.findings import finding_types
from workflow.towns.services import create_town


def _int_arg(name: str, default: int = 1, values: Mapping[str, str] | None = None) -> int:
    return parse_whole((request.args if values is None else values).get(name), low=0, high=99_999_999,
                       default=default)


def _case_filters(values: Mapping[str, str]) -> dict[str, Any]:
    """The case list's filters from its query string (or from its export button's form)."""
    definition = values.get("definition") or None
    if definition not in (None, *CATALOG.keys()):
        definition = None
    return {"definition": definition, "state": values.get("state") or None,
            "county_id": _int_arg("county", 0, values) or None, "town_id": _int_arg("town", 0, values) or None}


@bp.route("/")
@login_required
def index() -> ResponseReturnValue:
    return redirect(home_url())


@bp.route("/inbox", endpoint="inbox")
@login_required
def inbox_page() -> ResponseReturnValue:
    page = inbox(db(), actor(), page=_int_arg("page"), per_page=20)
    return render_template("cases/inbox.html", page=page, export_limit=export_limit(), **_list_context(page.items))


@bp.route("/inbox/export.xlsx", methods=["POST"], endpoint="export_inbox")
@login_required
def export_inbox() -> ResponseReturnValue:
    """My inbox, every case of it, as an Excel workbook."""
    me, s = actor(), db()
    query = inbox_query(me)
    return xlsx_download(INBOX, lambda limit: case_rows(s, query, now=utcnow(), limit=limit), total=count_of(s, query))


@bp.route("/cases")
@login_required
def list_cases() -> ResponseReturnValue:
    page = case_list(db(), actor(), **_case_filters(request.args), page=_int_arg("page"), per_page=20)
    counties = db().exec(select(Unit).where(Unit.kind == UnitKind.county.value).order_by(col(Unit.id))).all()
    return render_template("cases/list.html", page=page, counties=counties, definitions=CATALOG.keys(),
                           export_limit=export_limit(), **_list_context(page.items))


@bp.route("/cases/export.xlsx", methods=["POST"])
@login_required
def export_cases() -> ResponseReturnValue:
    """The case list with the page's filters, every matching case (up to the limit), as an Excel workbook."""
    filters = _case_filters(request.form)
    s = db()
    query = case_list_query(actor(), **filters)
    return xlsx_download(CASES, lambda limit: case_rows(s, query, now=utcnow(), limit=limit), total=count_of(s, query),
                         filters=case_filters(s, **filters))


@bp.route("/search")
@login_required
def search() -> ResponseReturnValue:
    """The cases found by what the user typed (workflow.core.search), within what they may see; without a query,
    the search box alone."""
    q = request.args.get("q")
    if q is None:
        return render_template("cases/search.html", q="", page=None, error=None)
    try:
        page = search_cases(db(), actor(), q, page=_int_arg("page"), per_page=20)
    except WorkflowError as exc:
        return render_template("cases/search.html", q=q, page=None, error=message_of(exc)), exc.status
    return render_template("cases/search.html", q=q, page=page, error=None,
                           badges=deadline_badges(db(), [h.case.id for h in page.items if h.case.id], now=utcnow()))


def _list_context(cases: Sequence[Case]) -> dict[str, Any]:
    ids = [c.id for c in cases if c.id is not None]
    return {"deadlines": open_deadlines(db(), ids), "badges": deadline_badges(db(), ids, now=utcnow()),
            "units": unit_names(db(), {c.county_id for c in cases})}


@bp.route("/cases/new", methods=["GET", "POST"])
@login_required
def new_case() -> ResponseReturnValue:
    me = actor()
    creatable = [k for k in CATALOG.keys() if me.role in CATALOG.current(k).create_roles and k not in STARTED_ELSEWHERE]
    if not creatable:
        abort(403)
    if not request.values.get("definition") and all(k in NEW_CASE_PAGES for k in creatable):
        return redirect(url_for(NEW_CASE_PAGES[creatable[0]]))  # every kind has its own form: the first one's
    for definition, endpoint in NEW_CASE_PAGES.items():  # e.g. an application starts on its own form
        if definition in creatable and (creatable == [definition] or request.values.get("definition") == definition):
            return redirect(url_for(endpoint))
    towns = db().exec(select(Town).where(town_filter(me)).order_by(col(Town.county_id), col(Town.name))).all()
    errors: dict[str, list[str]] = {}
    chosen = request.values.get("definition")
    definition = chosen if chosen in creatable else creatable[0]
    fields = [f for f in CATALOG.current(definition).create.accepts if not widget(f).internal]
    if request.method == "POST":
        payload, errors = read_payload(fields, request.form)
        if chosen not in creatable:
            errors["definition"] = [_("Choose a kind of case.")]
        town_raw = request.form.get("town_id", "")
        new_town = (request.form.get("new_town") or "").strip()
        if not errors:
            try:
                with unit_of_work() as s:
                    if town_raw == "new":
                        town_id = create_town(session=s, actor=me, name=new_town, county_id=me.unit_id or 0,
                                              now=utcnow()).id
                    else:
                        town_id = parse_whole(town_raw, low=0, high=999_999_999)
                    case = create_case(session=s, definition_key=definition, actor=me, now=utcnow(),
                                       town_id=town_id, data=payload)
                flash(_("Case %(number)s created.", number=case.number), "success")
                return redirect(url_for("cases.show", case_id=case.id))
            except WorkflowError as exc:
                errors = field_errors(exc)
    page = render_template("cases/new.html", creatable=creatable, towns=towns, errors=errors, definition=definition,
                           fields=fields, widget=widget, form=request.form, severity_choices=SEVERITY_CHOICES)
    return page, 422 if errors else 200


@bp.route("/cases/<int:case_id>")
@login_required
def show(case_id: int) -> ResponseReturnValue:
    me = actor()
    s = db()
    stored = get_case(s, me, case_id)  # read once for the page (404 when not this user's)
    case = shown(me, stored)  # only what this user may read of it (definitions/visibility.yaml)
    definition = CATALOG.get(case.definition_key, case.definition_version, s)
    events = case_events(s, me, case_id, case=stored)
    town = s.get(Town, case.town_id) if case.town_id else None
    now = utcnow()
    deadlines = case_deadlines(s, case, now=now)
    reminders, sent = case_reminders(s, case_id)
    return render_template(
        "cases/show.html", case=case, definition=definition, events=events, town=town,
        county=s.get(Unit, case.county_id), deadlines=deadlines, reminders=reminders, sent_reminders=sent,
        panel=case_panel(session=s, actor=me, case_id=case_id, now=now, case=stored, deadlines=deadlines),
        expert_average=case.data.get("expert_average", expert_average(case.data)),
        expert_criteria=expert_criteria(),
        unit_names=unit_names(s, set(case.data.get("consulted_units", []))),
        parent=s.get(Case, case.parent_id) if case.parent_id else None, hidden=hidden_keys(me, case),
    )


@bp.route("/cases/<int:case_id>/diagram.svg")
@login_required
def diagram(case_id: int) -> ResponseReturnValue:
    case = get_case(db(), actor(), case_id)
    definition = CATALOG.get(case.definition_key, case.definition_version, db())
    response = make_response(diagram_svg(definition, case.state, "en" if is_english() else "zh"))
    response.headers["Content-Type"] = "image/svg+xml"
    return response


@bp.route("/cases/<int:case_id>/do/<trigger>", methods=["GET", "POST"])
@login_required
def transition(case_id: int, trigger: str) -> ResponseReturnValue:
    me = actor()
    s = db()
    case = get_case(s, me, case_id)
    definition = CATALOG.get(case.definition_key, case.definition_version, s)
    spec = definition.transition(trigger, case.state)
    if spec is None or spec.system:
        flash(_("This step is not possible now."), "warning")
        return redirect(url_for("cases.show", case_id=case_id))
    if me.role not in spec.roles:
        abort(403)
    fields = [*spec.requires, *spec.accepts]
    errors: dict[str, list[str]] = {}
    status = 422
    form_draft = None
    if request.method == "POST" and request.form.get("preview") == "1":
        # read the notice this step would issue, as the form is filled: nothing changes
        payload, errors = read_payload(fields, request.form)
        if not errors:
            draft = form_preview_for(session=s, actor=me, case_id=case_id, trigger=trigger, payload=payload,
                                     now=utcnow())
            form_draft = SimpleNamespace(preview=draft, lines=lines_of(draft.content)) if draft else False
    elif request.method == "POST":
        direct = request.form.get("direct") == "1"  # a one-click button on the case page: errors go back there
        payload, errors = read_payload(fields, request.form)
        version = request.form.get("expected_version", "")
        expected = parse_whole(version, low=0)
        if expected is None:
            errors.setdefault("", []).append(_("The form is incomplete; reload the page."))
        if spec.confirm and request.form.get("confirmed") != "yes":
            errors.setdefault("confirmed", []).append(_("Tick the box to confirm this step."))
        if not errors:
            try:
                with unit_of_work() as session:
                    if "finding" in payload:  # evidence uploaded with the finding: kept only if the finding is
                        payload["finding"]["attachments"] += _uploaded_evidence(session, me, case_id)
                    fire(session=session, case_id=case_id, trigger=trigger, actor=me, now=utcnow(),
                         payload=payload, comment=request.form.get("comment"),
                         expected_version=expected, case=case)
                flash(_("Done: %(step)s.", step=spec.label.get("en" if is_english() else "zh")), "success")
                return redirect(url_for("cases.show", case_id=case_id))
            except WorkflowError as exc:
                if exc.status in (403, 404):
                    raise
                errors = field_errors(exc)
                status = exc.status if exc.status == 409 else 422
                if direct:
                    flash(message_of(exc), "error")
                    return redirect(url_for("cases.show", case_id=case_id), 303)
                shown = {"", "comment", "confirmed", *fields}
                # each reason stands next to its field; the banner says so once instead of repeating them
                flash(_("Not done: correct what is marked below.") if set(errors) <= shown
                      else message_of(exc), "error")
        elif direct:
            flash(_("This step needs its form; fill it in here."), "warning")
    member_units: Sequence[Unit] = []
    if "member_units" in fields:
        member_units = s.exec(select(Unit).where(Unit.kind == UnitKind.member.value,
                                                 col(Unit.is_active).is_(True)).order_by(col(Unit.id))).all()
    evidence = list_attachments(session=s, actor=me, case_id=case_id) if "finding" in fields else []
    # 常用组合: the office's saved sets of member units; a GET may fill the units in from one (?preset=ID)
    presets, prefilled, chosen_preset = presets_for_form(s, fields)
    return render_template("cases/transition.html", case=case, spec=spec, fields=fields, widget=widget,
                           errors=errors, form=prefilled or request.form, member_units=member_units,
                           unit_presets=presets, chosen_preset=chosen_preset,
                           unit_groups=group_member_units(member_units),
                           expert_criteria=expert_criteria(), expert_rows=expert_table(request.form),
                           default_dates=default_due_dates(s, definition, spec, utcnow()),
                           severity_choices=SEVERITY_CHOICES, case_attachments=evidence,
                           finding_types=finding_types() if "finding" in fields else (),
                           county=s.get(Unit, case.county_id), form_draft=form_draft,
                           may_preview=has_form_preview(me, case, trigger)), status if errors else 200


def _uploaded_evidence(session: Any, me: Any, case_id: int) -> list[int]:
    """Store the files sent with a finding as evidence of the case (in the transaction that records it)."""
    ids = []
    for file in request.files.getlist("finding_files"):
        if file and file.filename:
            row = store_upload(session=session, actor=me, case_id=case_id, filename=file.filename,
                               stream=file.stream, now=utcnow(), upload_dir=current_app.config["UPLOAD_DIR"])
            assert row.id is not None  # flushed: the row has its id
            ids.append(row.id)
    return ids


@bp.app_template_global()
def detail_template(case: Case) -> list[str]:
    """The templates of a case's own part of the case page: its process's, else the generic one."""
    return [DETAILS[case.definition_key], "cases/_detail_generic.html"] if case.definition_key in DETAILS \
        else ["cases/_detail_generic.html"]


@bp.app_template_global()
def has_own_page(case: Case, trigger: str) -> bool:
    """Whether the step is done on a page of its process (e.g. the application form), not by a button."""
    return (case.definition_key, trigger) in OWN_PAGES


@bp.app_template_global()
def action_url(case: Case, trigger: str) -> str:
    endpoint = OWN_PAGES.get((case.definition_key, trigger))
    if endpoint:
        return url_for(endpoint, case_id=case.id)
    return url_for("cases.transition", case_id=case.id, trigger=trigger)


@bp.app_context_processor
def navigation() -> dict:
    if not current_user.is_authenticated:
        return {}
    me = current_user.actor()
    return {"can_create": any(me.role in CATALOG.current(k).create_roles for k in CATALOG.keys()
                               if k not in STARTED_ELSEWHERE)}
