from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user, login_required

from webapp.auth.current import actor
from webapp.database import db, unit_of_work, utcnow
from webapp.errors import message_of
from webapp.extensions import csrf
from webapp.files.responses import refuse_large_body, send_docx
from webapp.templates_admin import bp
from webapp.templating import lang
from workflow.core import templates
from workflow.core.attachments import MAX_SIZE
from workflow.core.calendar import local_date
from workflow.core.errors import WorkflowError
from workflow.core.models import Role
from workflow.core.reasons import parse_whole

SHIPPED = "shipped"  # the version argument that names the template the system ships


@bp.before_request
@login_required
def office_only() -> None:
    if current_user.role != Role.office:
        abort(403)


def _version(raw: str | None) -> int | None:
    """A version from the query or the form: a number, or 'shipped' (None); anything else is not found."""
    if raw == SHIPPED:
        return None
    number = parse_whole(raw)
    if number is None:
        abort(404)
    return number


def _show(name: str) -> ResponseReturnValue:
    return redirect(url_for("templates_admin.show", name=name))


@bp.route("")
def index() -> ResponseReturnValue:
    return render_template("templates_admin/index.html", documents=templates.status(db(), actor()))


@bp.route("/<name>")
def show(name: str) -> ResponseReturnValue:
    return _render_show(name)


def _render_show(name: str, *, note: str = "", status: int = 200) -> ResponseReturnValue:
    return render_template("templates_admin/show.html", doc=templates.one(db(), actor(), name), note=note,
                           max_size=MAX_SIZE, note_max=templates.NOTE_MAX), status


@bp.route("/<name>/download")
def download(name: str) -> ResponseReturnValue:
    """The template in use, or the version the query names (?version=3, ?version=shipped)."""
    doc = templates.one(db(), actor(), name)
    if "version" in request.args:
        version = _version(request.args["version"])
    else:
        version = doc.in_use.version if doc.in_use else None
    filename, content = templates.download(db(), actor=actor(), name=name, version=version)
    return send_docx(filename, content)


@bp.route("/<name>/sample.docx")
def sample(name: str) -> ResponseReturnValue:
    """The template in use filled with the sample case, watermarked 草稿."""
    doc = templates.one(db(), actor(), name)
    try:
        content = templates.sample(db(), actor=actor(), name=name, today=local_date(utcnow()))
    except WorkflowError as exc:
        if exc.status in (403, 404):
            raise
        flash(message_of(exc), "error")
        return _show(name)
    return send_docx(_("%(document)s (sample, draft).docx", document=doc.title.get(lang())), content)


@csrf.exempt  # checked in the view, after the size: the check reads the form, which would read the whole body
@bp.route("/<name>/upload", methods=["POST"])
def upload(name: str) -> ResponseReturnValue:
    me = actor()
    templates.one(db(), me, name)  # an unknown document is not found, whatever was sent
    try:
        refuse_large_body()
    except WorkflowError as exc:
        flash(message_of(exc), "error")
        return _show(name)
    csrf.protect()
    note = request.form.get("note", "")
    if request.form.get("confirmed") != "yes":
        flash(_("Tick the box to confirm that the uploaded file replaces the template in use."), "error")
        return _render_show(name, note=note, status=422)
    file = request.files.get("file")
    try:
        data = file.read(MAX_SIZE + 1) if file else b""
        with unit_of_work() as s:
            row = templates.upload(s, actor=me, name=name, filename=file.filename if file else "", data=data,
                                   note=note, now=utcnow())
    except WorkflowError as exc:
        if exc.status in (403, 404):
            raise
        flash(message_of(exc), "error")
        return _render_show(name, note=note, status=exc.status)
    finally:
        if file:
            file.close()
    flash(_("The template passed its check: version %(version)s is in use from now on. Download the sample to "
            "see it filled in.", version=row.version), "success")
    return _show(name)


@bp.route("/<name>/restore", methods=["GET", "POST"])
def restore(name: str) -> ResponseReturnValue:
    """Put an earlier version (?version=2) or the shipped template (?version=shipped, the default) back in use,
    after a confirmation."""
    doc = templates.one(db(), actor(), name)
    raw = (request.form if request.method == "POST" else request.args).get("version", SHIPPED)
    version = _version(raw)
    target = next((v for v in doc.versions if v.version == version), None)
    if version is not None and target is None:
        abort(404)
    if request.method == "POST":
        if request.form.get("confirmed") != "yes":
            flash(_("Tick the box to confirm which template is used from now on."), "error")
            return render_template("templates_admin/restore.html", doc=doc, target=target), 422
        try:
            with unit_of_work() as s:
                templates.restore(s, actor=actor(), name=name, version=version, now=utcnow())
        except WorkflowError as exc:
            if exc.status in (403, 404):
                raise
            flash(message_of(exc), "error")
            return _show(name)
        if version is None:
            flash(_("The template shipped with the system is in use again."), "success")
        else:
            flash(_("Version %(version)s of the template is in use again.", version=version), "success")
        return _show(name)
    return render_template("templates_admin/restore.html", doc=doc, target=target)
