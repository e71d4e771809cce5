"""The statistics in Excel on the pages: a county downloads the year's workbook of its towns' reports from the
year's overview and uploads it filled in, to save or to submit. The checks and the writing are the service's
(workflow/statistics/excel.py); a refused file is shown as a table of its problems by row and column, and nothing
is written."""

from __future__ import annotations

import io

from flask import Response, abort, flash, redirect, render_template, request, send_file, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user, login_required
from werkzeug.exceptions import RequestEntityTooLarge

from webapp.auth.current import actor
from webapp.database import db, unit_of_work, utcnow
from webapp.errors import HTTP_MESSAGES, is_english, message_of
from webapp.statistics import bp
from workflow.core.errors import WorkflowError
from workflow.core.models import Role
from workflow.statistics import excel

# The file plus the form's other fields and the multipart framing.
BODY_LIMIT = excel.MAX_BYTES + 256 * 1024


def send_workbook(content: bytes, filename: str) -> Response:
    """A workbook made on the fly, as a download that is never sniffed or cached."""
    response = send_file(io.BytesIO(content), mimetype=excel.XLSX, as_attachment=True, download_name=filename,
                         etag=False, last_modified=None)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "private, no-store"
    return response


def workbook_name(year: int) -> str:
    me = actor()
    return f"{year}年度专业镇统计-{me.unit_name or ''}.xlsx"


def oversize_refusal() -> excel.FileTooLarge:
    zh = f"文件超过 {excel.MAX_BYTES // 1024 // 1024} MB，不能导入。"
    en = f"The file is larger than {excel.MAX_BYTES // 1024 // 1024} MB and cannot be imported."
    return excel.FileTooLarge(zh, en, details=[{"field": "file", "zh": zh, "en": en}])


def oversize() -> excel.FileTooLarge | None:
    """The refusal of a body declared larger than the limit (nothing of it is read); the rest is capped."""
    if (request.content_length or 0) > BODY_LIMIT:
        return oversize_refusal()
    request.max_content_length = BODY_LIMIT  # a body without a length is cut off by Werkzeug past the limit
    return None


@bp.route("/statistics/<int:year>/template.xlsx", methods=["GET"])
@login_required
def excel_template(year: int) -> ResponseReturnValue:
    """The year's workbook of the county's reports still to fill in, pre-filled with what is saved."""
    if current_user.role != Role.county:
        abort(403)
    try:
        content = excel.template(db(), actor(), year)
    except WorkflowError as exc:
        if exc.status in (403, 404):
            raise
        flash(message_of(exc), "error")
        return redirect(url_for("statistics.overview", year=year), 303)
    return send_workbook(content, workbook_name(year))


@bp.route("/statistics/<int:year>/import", methods=["POST"])
@login_required
def excel_import(year: int) -> ResponseReturnValue:
    """Upload the filled-in workbook: every report saved (or submitted), or nothing and the table of problems."""
    if current_user.role != Role.county:
        abort(403)
    submit = request.form.get("action") == "submit" if (request.content_length or 0) <= BODY_LIMIT else False
    refusal: WorkflowError | None = oversize()
    if refusal is None and submit and request.form.get("confirmed") != "yes":
        zh, en = "报送前请勾选确认。", "Tick the box to confirm the submission."
        refusal = WorkflowError(zh, en, details=[{"field": "confirmed", "zh": zh, "en": en}])
        refusal.status = 422
    if refusal is None:
        file = request.files.get("file")
        try:
            with unit_of_work() as s:
                done = excel.import_workbook(s, actor(), year, file.stream if file else io.BytesIO(), submit=submit,
                                             now=utcnow(), filename=(file.filename or "") if file else "")
        except WorkflowError as exc:
            if exc.status in (403, 404):
                raise
            refusal = exc
        finally:
            if file:
                file.close()
    if refusal is not None:
        problems = [d for d in refusal.details or [] if isinstance(d, dict)]
        return render_template("statistics/excel_refused.html", year=year, message=message_of(refusal),
                               problems=problems), refusal.status
    if submit:
        flash(_("%(n)s reports imported from the workbook and submitted to the office.", n=len(done.reports)),
              "success")
    else:
        flash(_("%(n)s reports imported from the workbook and saved.", n=len(done.reports)), "success")
    return redirect(url_for("statistics.overview", year=year), 303)


@bp.errorhandler(RequestEntityTooLarge)
def too_large(exc: RequestEntityTooLarge) -> ResponseReturnValue:
    """A body over the limit, refused before any view reads it (the form's CSRF check reads the body first): on
    the import, the import's own refusal; elsewhere the site's."""
    if request.endpoint == "statistics.excel_import" and request.view_args:
        refusal = oversize_refusal()
        return render_template("statistics/excel_refused.html", year=request.view_args.get("year"),
                               message=message_of(refusal), problems=[]), 413
    zh, en = HTTP_MESSAGES[413]
    return render_template("errors/error.html", status=413, message=en if is_english() else zh), 413
