from __future__ import annotations

import io
from types import SimpleNamespace

from flask import current_app, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import login_required

from webapp.auth.current import actor
from webapp.database import db, unit_of_work, utcnow
from webapp.errors import is_english, message_of
from webapp.extensions import csrf
from webapp.files import bp
from webapp.files.responses import refuse_large_body, send_attachment, send_docx
from workflow.core.attachments import (
    ACCEPTED,
    get_attachment,
    list_attachments,
    may_upload,
    store_upload,
    upload_kinds,
    uploader_names,
)
from workflow.core.errors import WorkflowError
from workflow.core.models import Case
from workflow.core.pdf import with_pdfs
from workflow.core.previews import has_preview, lines_of, preview_for, shown_by
from workflow.core.visibility import may_see_kind
from workflow.designation.documents import opinion_sheet_for

KIND_LABELS = {
    "evidence": _l("Supporting document"),
    "opinion_sheet": _l("Opinion sheet of the joint review"),
    "designation_notice": _l("Designation notice"),
    "criticism_notice": _l("Criticism notice"),
    "criticism_draft": _l("Criticism notice (draft)"),
    "rectification_notice": _l("Rectification notice"),
    "publicity_announcement": _l("Public notice announcement"),
    "praise_notice": _l("Praise notice"),
    "recommendation_letter": _l("Recommendation letter to the province"),
    "recommendation_dossier": _l("Recommendation dossier (.zip)"),
    "province_document": _l("The province's document"),
}
ACCEPT = ",".join(f".{ext}" for ext in ACCEPTED)


@csrf.exempt  # checked in the view, after the size: the check reads the form, which would read the whole body
@bp.route("/cases/<int:case_id>/attachments", methods=["POST"])
@login_required
def upload(case_id: int) -> ResponseReturnValue:
    me = actor()
    refuse_large_body()
    csrf.protect()
    file = request.files.get("file")
    try:
        with unit_of_work() as session:
            row = store_upload(session=session, actor=me, case_id=case_id,
                               filename=file.filename if file else "", stream=file.stream if file else io.BytesIO(),
                               now=utcnow(), upload_dir=current_app.config["UPLOAD_DIR"],
                               kind=request.form.get("kind") or "evidence")
        flash(_("Attached: %(name)s.", name=row.filename), "success")
    except WorkflowError as exc:
        if exc.status in (403, 404):
            raise
        flash(message_of(exc), "error")
    finally:
        if file:
            file.close()
    return redirect(url_for("cases.show", case_id=case_id, _anchor="attachments"))


@bp.route("/attachments/<int:attachment_id>")
@login_required
def download(attachment_id: int) -> ResponseReturnValue:
    row, path = get_attachment(session=db(), actor=actor(), attachment_id=attachment_id,
                               upload_dir=current_app.config["UPLOAD_DIR"])
    return send_attachment(row, path)


@bp.route("/cases/<int:case_id>/opinion-sheet.docx")
@login_required
def opinion_sheet(case_id: int) -> ResponseReturnValue:
    filename, content = opinion_sheet_for(session=db(), actor=actor(), case_id=case_id, now=utcnow())
    return send_docx(filename, content)


@bp.route("/cases/<int:case_id>/preview")
@login_required
def preview(case_id: int) -> ResponseReturnValue:
    """The notice the case is about to issue, as a draft: read it before the number is taken."""
    draft = preview_for(session=db(), actor=actor(), case_id=case_id, now=utcnow())
    case = db().get(Case, case_id)
    return render_template("files/preview.html", case=case, draft=draft, lines=lines_of(draft.content))


@bp.route("/cases/<int:case_id>/preview.docx")
@login_required
def preview_docx(case_id: int) -> ResponseReturnValue:
    draft = preview_for(session=db(), actor=actor(), case_id=case_id, now=utcnow())
    return send_docx(draft.filename, draft.content)


@bp.app_template_global()
def preview_url(case: Case) -> str | None:
    """Where the draft of the notice `case` is about to issue can be read, when there is one for this user."""
    return url_for("files.preview", case_id=case.id) if has_preview(actor(), case) else None


@bp.app_template_global()
def transition_preview(case: Case, spec: object) -> SimpleNamespace | None:
    """The draft that the confirmation page of `spec` shows (the notice the step issues), if any."""
    trigger = getattr(spec, "trigger", "")
    if not (has_preview(actor(), case) and shown_by(case, trigger)):
        return None
    draft = preview_for(session=db(), actor=actor(), case_id=case.id, now=utcnow())  # type: ignore[arg-type]  # SQLModel types an id as optional; this row is saved
    return SimpleNamespace(preview=draft, lines=lines_of(draft.content))


@bp.app_template_global()
def attachment_panel(case: Case) -> SimpleNamespace:
    """What files/_attachments.html shows for a case: its files (each notice with its PDF), whether the user may
    add one, the sheet link."""
    me = actor()
    rows = list_attachments(session=db(), actor=me, case_id=case.id, case=case)  # type: ignore[arg-type]  # SQLModel types an id as optional; this row is saved
    rows, pdfs = with_pdfs(db(), rows)  # a notice's PDF is offered beside it, not on a row of its own
    names = uploader_names(db(), rows)
    kinds = upload_kinds(case.definition_key)
    locale = "en" if is_english() else "zh"
    items = [SimpleNamespace(row=r, kind=kinds[r.kind].get(locale) if r.kind in kinds
                             else KIND_LABELS.get(r.kind, r.kind), pdf=pdfs.get(r.id),  # type: ignore[arg-type]  # a listed row is saved
                             by=names.get(r.uploaded_by_id) if r.uploaded_by_id else _("System"))
             for r in rows]
    sheet = case.definition_key == "designation" and "consulted_units" in (case.data or {}) \
        and may_see_kind(me, case, "opinion_sheet")
    choices = {k: label.get(locale) for k, label in kinds.items()}
    if choices:
        choices["evidence"] = str(_("Other supporting document"))
    return SimpleNamespace(items=items, may_upload=may_upload(me, case), accept=ACCEPT, kinds=choices,
                           opinion_sheet_url=url_for("files.opinion_sheet", case_id=case.id) if sheet else None)


@bp.app_template_global()
def attachment_names(case: Case) -> dict[int, str]:
    """The file names of the case's attachments the user may see, by id (a finding's evidence is named by them)."""
    return {r.id: r.filename for r in list_attachments(session=db(), actor=actor(), case_id=case.id)}  # type: ignore[arg-type,misc]  # SQLModel types an id as optional; these rows are saved


@bp.app_template_global("may_see_kind")
def may_see_kind_global(case: Case, kind: str) -> bool:
    """Whether the user may see the attachments of `kind` of `case` (definitions/visibility.yaml)."""
    return may_see_kind(actor(), case, kind)


@bp.app_template_filter("filesize")
def filesize(size: int) -> str:
    if size < 1024:
        return f"{size} B"
    if size < 1024 * 1024:
        return f"{size / 1024:.1f} KB"
    return f"{size / 1024 / 1024:.1f} MB"
