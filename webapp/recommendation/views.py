from __future__ import annotations

from flask import Response, current_app, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import login_required

from webapp.auth.current import actor
from webapp.database import db, unit_of_work, utcnow
from webapp.errors import field_errors
from webapp.exporting import content_disposition
from webapp.recommendation import bp
from workflow.core.attachments import store_upload
from workflow.core.calendar import local_date
from workflow.core.engine import fire
from workflow.core.errors import WorkflowError
from workflow.core.reasons import parse_whole
from workflow.recommendation.dossier import dossier_file
from workflow.recommendation.rules import open_round, record_answer
from workflow.recommendation.view import may_read, office_shortlist, round_list, round_view


def _whole(raw: str | None) -> int | str | None:
    raw = (raw or "").strip()
    return parse_whole(raw, low=0, high=999_999_999, default=raw or None)


@bp.route("/recommendation", methods=["GET", "POST"])
@login_required
def index() -> ResponseReturnValue:
    """The rounds, newest first, the shortlist, and (the office) opening a round."""
    me, today = actor(), local_date(utcnow())
    may_read(me)
    errors: dict[str, list[str]] = {}
    if request.method == "POST":
        try:
            with unit_of_work() as s:
                case = open_round(s, actor=me, now=utcnow(), year=_whole(request.form.get("recommendation_year")),
                                  batch=_whole(request.form.get("batch_no")))
            flash(_("Round %(number)s opened.", number=case.number), "success")
            return redirect(url_for("recommendation.show", case_id=case.id))
        except WorkflowError as exc:
            if exc.status in (403, 404):
                raise
            errors = field_errors(exc)
    s = db()
    return render_template("recommendation/index.html", rounds=round_list(s, me),
                           shortlist=office_shortlist(s, me, today), errors=errors, form=request.form,
                           year=today.year), 422 if errors else 200


@bp.route("/recommendation/<int:case_id>", methods=["GET"])
@login_required
def show(case_id: int) -> ResponseReturnValue:
    view = round_view(db(), actor(), case_id, local_date(utcnow()))
    return render_template("recommendation/round.html", view=view, errors={}, form={})


def _again(case_id: int, errors: dict[str, list[str]]) -> ResponseReturnValue:
    view = round_view(db(), actor(), case_id, local_date(utcnow()))
    return render_template("recommendation/round.html", view=view, errors=errors, form=request.form), 422


@bp.route("/recommendation/<int:case_id>/towns", methods=["POST"])
@login_required
def choose(case_id: int) -> ResponseReturnValue:
    """The office's choice of towns for the round (every town ticked; each must meet the criteria)."""
    me = actor()
    may_read(me)
    towns = [_whole(t) for t in request.form.getlist("town_id")]
    version = _whole(request.form.get("expected_version"))
    try:
        with unit_of_work() as s:
            fire(session=s, case_id=case_id, trigger="select_towns", actor=me, now=utcnow(),
                 payload={"selected_towns": towns}, expected_version=version if isinstance(version, int) else None)
        flash(_("The towns of the round are saved."), "success")
        return redirect(url_for("recommendation.show", case_id=case_id))
    except WorkflowError as exc:
        if exc.status in (403, 404):
            raise
        return _again(case_id, field_errors(exc))


@bp.route("/recommendation/<int:case_id>/answer", methods=["POST"])
@login_required
def answer(case_id: int) -> ResponseReturnValue:
    """The province's answer for one town: approved with its document, or refused with the reason."""
    me = actor()
    may_read(me)
    upload = request.files.get("document")
    if request.form.get("confirmed") != "1":
        return _again(case_id, {"confirmed": [_("Tick the confirmation: the answer cannot be undone here.")]})
    try:
        with unit_of_work() as s:
            document_id = None
            if upload is not None and upload.filename and request.form.get("answer") == "approved":
                document_id = store_upload(session=s, actor=me, case_id=case_id, filename=upload.filename,
                                           stream=upload.stream, now=utcnow(),
                                           upload_dir=current_app.config["UPLOAD_DIR"], kind="province_document").id
            record_answer(s, actor=me, now=utcnow(), case_id=case_id, town_id=_whole(request.form.get("town_id")),
                          answer=request.form.get("answer"), document_id=document_id,
                          comment=request.form.get("comment"))
        flash(_("The province's answer is recorded."), "success")
        return redirect(url_for("recommendation.show", case_id=case_id))
    except WorkflowError as exc:
        if exc.status in (403, 404):
            raise
        return _again(case_id, field_errors(exc))


@bp.route("/recommendation/<int:case_id>/dossier", methods=["POST"])
@login_required
def dossier(case_id: int) -> ResponseReturnValue:
    """The round's dossier (.zip); every download is recorded in the audit trail."""
    me = actor()
    may_read(me)
    with unit_of_work() as s:
        view = round_view(s, me, case_id, local_date(utcnow()))
        row, path = dossier_file(s, actor=me, case=view.case, now=utcnow())
    return Response(path.read_bytes(), mimetype="application/zip", headers={
        "Content-Disposition": content_disposition(row.filename, f"dossier-{case_id}.zip"),
        "X-Content-Type-Options": "nosniff", "Cache-Control": "private, no-store"})
