"""The programme board, the task list, the year's plan, a task's report form and the meeting form. Each view parses
the input, calls one service of workflow/programmes, and renders or redirects."""

from __future__ import annotations

import io
import re
from typing import Any

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlmodel import col, select

from webapp.auth.current import actor
from webapp.database import db, unit_of_work, utcnow
from webapp.errors import field_errors, message_of
from webapp.exporting import xlsx_download
from webapp.programmes import bp
from workflow.core.access import get_case, not_found_case
from workflow.core.attachments import ACCEPTED, store_upload
from workflow.core.calendar import local_date
from workflow.core.engine import allowed_transitions, fire
from workflow.core.errors import WorkflowError
from workflow.core.exports import Filter
from workflow.core.models import Case, Role, Town, Unit, UnitKind
from workflow.core.reasons import parse_whole
from workflow.core.yamlcheck import Label
from workflow.programmes import excel
from workflow.programmes.catalog import programme_spec
from workflow.programmes.opening import TASK
from workflow.programmes.periods import CYCLES
from workflow.programmes.rules import PLAN
from workflow.programmes.tasks import (
    BOARD_LIST,
    STANDING_LABELS,
    board,
    open_plan,
    plan_case,
    record_meeting,
    task_page,
    task_query,
    task_rows,
)

PLAN_READERS = (Role.office, Role.leader)
MILESTONE = re.compile(r"^\s*(\d{4}-\d{2}-\d{2})\s+(.+?)\s*$")


def _year() -> int:
    return parse_whole(request.args.get("year"), low=1000, high=9999, default=local_date(utcnow()).year)


def _filters(args: Any) -> dict[str, Any]:
    programme = args.get("programme") or None
    standing = args.get("standing") or None
    return {"programme": programme if programme and programme_spec().get(programme) else None,
            "unit_id": parse_whole(args.get("unit"), low=0, high=2**31 - 1),
            "standing": standing if standing in STANDING_LABELS else None}


def _units() -> tuple[list[Unit], list[Unit]]:
    units = db().exec(select(Unit).where(col(Unit.is_active).is_(True),
                                         col(Unit.kind).in_([UnitKind.member.value, UnitKind.county.value]))
                      .order_by(col(Unit.id))).all()
    return [u for u in units if u.kind == UnitKind.member.value], [u for u in units if u.kind == UnitKind.county.value]


@bp.route("/programmes", methods=["GET"])
@login_required
def board_page() -> ResponseReturnValue:
    """The programme board of ?year=: per programme and per unit, tasks on track / late / done."""
    year, filters = _year(), _filters(request.args)
    members, counties = _units()
    return render_template("programmes/board.html", year=year,
                           board=board(db(), actor(), year, local_date(utcnow()), **filters),
                           spec=programme_spec(), standings=STANDING_LABELS, units=members + counties,
                           filters=filters)


@bp.route("/programmes/export", methods=["POST"])
@login_required
def export_board() -> ResponseReturnValue:
    """The board's tasks as an .xlsx (the year and filters as shown); the export is recorded in the audit trail."""
    year = parse_whole(request.form.get("year"), low=1000, high=9999, default=local_date(utcnow()).year)
    filters = _filters(request.form)
    rows = task_rows(db(), list(db().exec(task_query(actor(), year=year, **filters)).all()))
    return xlsx_download(BOARD_LIST, lambda limit: rows[:limit], total=len(rows),
                         filters=[Filter("year", year, Label("年度", "Year"), str(year))])


@bp.route("/programmes/tasks", methods=["GET"])
@login_required
def task_list() -> ResponseReturnValue:
    """The tasks the reader may see, filtered and paginated."""
    page = task_page(db(), actor(), page=parse_whole(request.args.get("page"), low=0, high=999_999, default=1),
                     per_page=20,
                     year=_year() if request.args.get("year") else None, **_filters(request.args))
    members, counties = _units()
    return render_template("programmes/tasks.html", page=page, rows=task_rows(db(), page.items, local_date(utcnow())),
                           spec=programme_spec(), standings=STANDING_LABELS, units=members + counties,
                           filters=_filters(request.args), year=request.args.get("year", ""))


# --- the year's plan --------------------------------------------------------------------------------------------

def _plan_reader() -> None:
    if current_user.role not in PLAN_READERS:
        abort(403)


@bp.route("/programmes/plan", methods=["GET"])
@login_required
def plan() -> ResponseReturnValue:
    """The year's action plan: its tasks; the office's form to add one while it is a draft."""
    _plan_reader()
    year = _year()
    case = plan_case(db(), year)
    members, counties = _units()
    towns = db().exec(select(Town).order_by(col(Town.county_id), col(Town.id))).all()
    editing = None
    no = parse_whole(request.args.get("edit"), low=0)
    if case is not None and no is not None:
        editing = next((t for t in case.data.get("tasks") or [] if t["no"] == no), None)
    steps = [t for t in allowed_transitions_of(case) if t.trigger not in ("save_task", "remove_task")] \
        if case is not None else []
    return render_template("programmes/plan.html", year=year, case=case, spec=programme_spec(), members=members,
                           counties=counties, towns=towns, cycles=CYCLES, editing=editing, steps=steps,
                           names={u.id: u.name for u in members + counties}, errors={}, form=request.form)


def allowed_transitions_of(case: Case) -> list[Any]:
    from workflow.core.catalog import CATALOG

    return allowed_transitions(CATALOG.get(case.definition_key, case.definition_version, db()), case, actor())


@bp.route("/programmes/plan/case/<int:case_id>", methods=["GET"])
@login_required
def plan_of_case(case_id: int) -> ResponseReturnValue:
    """The plan page of a plan case (where the case page sends the office to edit the tasks)."""
    case = get_case(db(), actor(), case_id)
    if case.definition_key != PLAN:
        raise not_found_case()
    return redirect(url_for("programmes.plan", year=case.data["plan_year"]))


@bp.route("/programmes/plan", methods=["POST"])
@login_required
def start_plan() -> ResponseReturnValue:
    """The office starts the year's plan."""
    if current_user.role != Role.office:
        abort(403)
    raw = request.form.get("year", "")
    year = parse_whole(raw, low=1000, high=9999)
    try:
        if year is None:
            raise WorkflowError("请填写计划年度（四位数字）。", "Enter the year (four digits).")
        with unit_of_work() as s:
            open_plan(s, actor=actor(), now=utcnow(), year=year)
    except WorkflowError as exc:
        flash(message_of(exc), "error")
        return redirect(url_for("programmes.plan"), 303)
    flash(_("The action plan of %(year)s has been started.", year=raw), "success")
    return redirect(url_for("programmes.plan", year=raw), 303)


def _ids(values: list[str]) -> list[int]:
    return [n for n in (parse_whole(v, low=0, high=999_999_999) for v in values) if n is not None]


def _task_from_form(form: Any) -> dict[str, Any]:
    milestones = []
    for line in (form.get("milestones") or "").splitlines():
        if line.strip():
            m = MILESTONE.match(line)
            milestones.append({"due_date": m.group(1), "title": m.group(2)} if m else {"title": line.strip()})
    return {"programme": form.get("programme") or None, "title": form.get("title") or "",
            "lead_unit_id": parse_whole(form.get("lead_unit_id"), low=0, high=999_999_999),
            "units": _ids(form.getlist("units")),
            "town_id": parse_whole(form.get("town_id"), low=0, high=999_999_999),
            "target_text": form.get("target_text") or "", "target_figure": (form.get("target_figure") or "").strip(),
            "indicator": form.get("indicator") or None,
            "report_cycle": form.get("report_cycle") or "monthly", "milestones": milestones}


@bp.route("/programmes/plan/<int:case_id>/tasks", methods=["POST"])
@login_required
def save_task(case_id: int) -> ResponseReturnValue:
    """Add a task to the draft (or replace the one named by task_no)."""
    case = get_case(db(), actor(), case_id)
    if case.definition_key != PLAN:
        raise not_found_case()
    payload: dict[str, Any] = {"task": _task_from_form(request.form)}
    no = parse_whole(request.form.get("task_no"), low=0, high=999_999_999)
    if no is not None:
        payload["task_no"] = no
    try:
        with unit_of_work() as s:
            fire(session=s, case_id=case_id, trigger="save_task", actor=actor(), now=utcnow(), payload=payload,
                 expected_version=parse_whole(request.form.get("version")))
    except WorkflowError as exc:
        if exc.status in (403, 404):
            raise
        db().rollback()
        members, counties = _units()
        towns = db().exec(select(Town).order_by(col(Town.county_id), col(Town.id))).all()
        flash(_("Not saved: correct what is marked below."), "error")
        fresh = get_case(db(), actor(), case_id)
        return render_template("programmes/plan.html", year=fresh.data["plan_year"], case=fresh,
                               spec=programme_spec(), members=members, counties=counties, towns=towns,
                               cycles=CYCLES, editing=None, steps=[], names={u.id: u.name for u in members + counties},
                               errors=field_errors(exc), form=request.form), 422
    flash(_("The task has been saved."), "success")
    return redirect(url_for("programmes.plan", year=case.data["plan_year"]), 303)


@bp.route("/programmes/plan/<int:case_id>/tasks/remove", methods=["POST"])
@login_required
def remove_task(case_id: int) -> ResponseReturnValue:
    """Remove the task named by task_no from the draft."""
    case = get_case(db(), actor(), case_id)
    if case.definition_key != PLAN:
        raise not_found_case()
    no = parse_whole(request.form.get("task_no"), low=0, high=999_999_999, default=0)
    try:
        with unit_of_work() as s:
            fire(session=s, case_id=case_id, trigger="remove_task", actor=actor(), now=utcnow(),
                 payload={"task_no": no})
    except WorkflowError as exc:
        if exc.status in (403, 404):
            raise
        flash(message_of(exc), "error")
        return redirect(url_for("programmes.plan", year=case.data["plan_year"]), 303)
    flash(_("The task has been removed."), "success")
    return redirect(url_for("programmes.plan", year=case.data["plan_year"]), 303)


@bp.route("/programmes/plan/<int:case_id>/import", methods=["GET", "POST"])
@login_required
def import_tasks(case_id: int) -> ResponseReturnValue:
    """The office reads the draft plan's tasks in from an Excel sheet: every row or none."""
    me = actor()
    case = get_case(db(), me, case_id)
    if case.definition_key != PLAN:
        raise not_found_case()
    if me.role != Role.office:
        abort(403)
    problems: list[Any] = []
    if request.method == "POST":
        upload = request.files.get("file")
        try:
            with unit_of_work() as s:
                added = excel.import_plan_tasks(session=s, actor=me, now=utcnow(), case_id=case_id,
                                                stream=upload.stream if upload else io.BytesIO())
            flash(_("%(n)s tasks imported.", n=len(added)), "success")
            return redirect(url_for("programmes.plan", year=case.data["plan_year"]), 303)
        except WorkflowError as exc:
            if exc.status in (403, 404):
                raise
            db().rollback()
            problems = exc.details or [{"zh": exc.zh, "en": exc.en}]
    return render_template("programmes/import.html", case=case, problems=problems, columns=excel.COLUMNS), \
        422 if problems else 200


@bp.route("/programmes/plan/import-template.xlsx")
@login_required
def import_template() -> ResponseReturnValue:
    """The empty task list to fill in, with its header row."""
    from flask import Response

    from webapp.exporting import content_disposition
    from workflow.core.exports import XLSX

    if actor().role != Role.office:
        abort(403)
    return Response(excel.template_bytes(), mimetype=XLSX, headers={
        "Content-Disposition": content_disposition("行动计划任务导入模板.xlsx", "action-plan-tasks-template.xlsx")})


# --- a task's report --------------------------------------------------------------------------------------------

@bp.route("/programmes/tasks/<int:case_id>/report", methods=["GET", "POST"])
@login_required
def report(case_id: int) -> ResponseReturnValue:
    """The responsible unit's progress report: the text, a figure, the evidence (files uploaded with it)."""
    me = actor()
    case = get_case(db(), me, case_id)
    if case.definition_key != TASK:
        raise not_found_case()
    errors: dict[str, list[str]] = {}
    if request.method == "POST":
        try:
            with unit_of_work() as s:
                ids = []
                for file in request.files.getlist("files"):
                    if file and file.filename:
                        row = store_upload(session=s, actor=me, case_id=case_id, filename=file.filename,
                                           stream=file.stream, now=utcnow(),
                                           upload_dir=current_app.config["UPLOAD_DIR"], kind="evidence")
                        ids.append(row.id)
                payload: dict[str, Any] = {"report": request.form.get("report") or ""}
                if (request.form.get("report_figure") or "").strip():
                    payload["report_figure"] = request.form["report_figure"].strip()
                if ids:
                    payload["report_attachments"] = ids
                fire(session=s, case_id=case_id, trigger="submit_report", actor=me, now=utcnow(), payload=payload,
                     expected_version=parse_whole(request.form.get("version")))
            flash(_("The progress report has been submitted."), "success")
            return redirect(url_for("cases.show", case_id=case_id), 303)
        except WorkflowError as exc:
            if exc.status in (403, 404):
                raise
            db().rollback()
            errors = field_errors(exc)
            flash(message_of(exc), "error")
            case = get_case(db(), me, case_id)
    steps = {t.trigger for t in allowed_transitions_of(case)}
    return render_template("programmes/report.html", case=case, errors=errors, form=request.form,
                           may_report="submit_report" in steps and case.data.get("responsible_unit_id") == me.unit_id,
                           accepted=", ".join(sorted(ACCEPTED))), 422 if errors else 200


# --- a meeting's decisions --------------------------------------------------------------------------------------

@bp.route("/programmes/meeting", methods=["GET", "POST"])
@login_required
def meeting() -> ResponseReturnValue:
    """The office records a meeting of the leading group and its decisions, each assigned to units."""
    if current_user.role != Role.office:
        abort(403)
    members, counties = _units()
    errors: dict[str, list[str]] = {}
    if request.method == "POST":
        decisions = []
        for i in range(1, 6):
            title = (request.form.get(f"title_{i}") or "").strip()
            if title:
                decisions.append({"title": title, "units": _ids(request.form.getlist(f"units_{i}")),
                                  "target_text": request.form.get(f"target_{i}") or "",
                                  "report_cycle": request.form.get(f"cycle_{i}") or "monthly"})
        try:
            with unit_of_work() as s:
                opened = record_meeting(s, actor=actor(), now=utcnow(), meeting_date=request.form.get("meeting_date"),
                                        title=request.form.get("meeting_title"), decisions=decisions)
            flash(_("%(n)s tasks opened from the meeting's decisions.", n=len(opened)), "success")
            return redirect(url_for("programmes.task_list", source="meeting"), 303)
        except WorkflowError as exc:
            db().rollback()
            errors = field_errors(exc)
            flash(message_of(exc), "error")
    return render_template("programmes/meeting.html", members=members, counties=counties, errors=errors,
                           form=request.form, cycles=CYCLES,
                           today=local_date(utcnow()).isoformat()), \
        422 if errors else 200


@bp.app_template_global()
def dashboard_indicators() -> dict[str, Any]:
    """The dashboard's indicators a task may name, by key."""
    from workflow.core.indicators import indicators

    return indicators()


@bp.app_template_global()
def task_indicator(case: Case) -> Any:
    """The city's current figure of the indicator a task names (the dashboard's figure), or None."""
    from workflow.programmes.tasks import indicator_reading

    return indicator_reading(db(), case, local_date(utcnow()))
