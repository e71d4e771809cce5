"""The office's own versions of the document templates: uploaded, checked, kept, switched, never deleted.

A template the office uploads must be a .docx that renders with the document's sample fields and uses no field
the document does not have (workflow.core.documents.check_template); it becomes the next version and the one in
use. Any earlier version (checked again, since the documents' fields may have changed since), or the shipped
template, can be put back in use. Every change is in the audit trail.

Changes to one document's templates are serialised on the audit chain's head, which every writer takes first: two
uploads at once get consecutive versions, and an upload and a restore at once leave exactly one version in use.
"""

from __future__ import annotations

import hashlib
import unicodedata
from dataclasses import dataclass, field
from datetime import date, datetime

from sqlmodel import Session, col, func, select, update

from workflow.core import audit
from workflow.core.actors import Actor
from workflow.core.attachments import MAX_SIZE, clean_filename, store_file
from workflow.core.documents import TemplateProblem, catalog, check_template, shipped, shipped_key, template_in_use  # noqa: F401  (the office's view of them)
from workflow.core.documents import active_version as _active
from workflow.core.documents import stored_template as _stored
from workflow.core.errors import Conflict, Forbidden, NotFound, Unprocessable
from workflow.core.models import DocumentTemplate, Role, User
from workflow.core.yamlcheck import Label

MANAGING_ROLES = {Role.office}
NOTE_MAX = 500


@dataclass(frozen=True)
class TemplateStatus:
    """One document's template as the office sees it: what is in use and every version uploaded."""

    name: str
    label: str
    in_use: DocumentTemplate | None  # None: the shipped template
    versions: list[DocumentTemplate]  # newest first
    # What the page shows besides: the document's label in both languages, the fields a template may use
    # (the city's common ones first) and the names of the users who uploaded the versions.
    title: Label = field(default_factory=lambda: Label("", ""))
    fields: dict[str, Label] = field(default_factory=dict)
    uploaders: dict[int, str] = field(default_factory=dict)


def _version(session: Session, name: str, version: int) -> DocumentTemplate:
    row = session.exec(select(DocumentTemplate).where(DocumentTemplate.name == name,
                                                      DocumentTemplate.version == version)).first()
    if row is None:
        raise NotFound("该模板版本不存在。", "No such version of the template.")
    return row


def _may_manage(actor: Actor) -> None:
    if actor.role not in MANAGING_ROLES:
        raise Forbidden("只有领导小组办公室可以管理文书模板。", "Only the office manages document templates.",
                        code="role_not_allowed")


def _known(name: str) -> None:
    if name not in catalog().documents:
        raise NotFound("没有这种文书。", "No such document.")


def fields_of(name: str) -> dict[str, Label]:
    """The fields a template of `name` may use, with what each holds: the city's common ones, then the document's."""
    docs = catalog()
    return {**docs.common_fields, **docs.get(name).fields}


def status(session: Session, actor: Actor) -> list[TemplateStatus]:
    """Every document with its template in use and its versions, newest first."""
    _may_manage(actor)
    rows = session.exec(select(DocumentTemplate).order_by(DocumentTemplate.name,
                                                          col(DocumentTemplate.version).desc())).all()
    by_name: dict[str, list[DocumentTemplate]] = {}
    for row in rows:
        by_name.setdefault(row.name, []).append(row)
    ids = {r.uploaded_by_id for r in rows if r.uploaded_by_id is not None}
    names: dict[int, str] = dict(session.exec(  # type: ignore[arg-type]  # SQLModel's select() of two columns is typed as a row of Any
        select(User.id, User.display_name).where(col(User.id).in_(ids))).all()) if ids else {}
    found = []
    for name, spec in catalog().documents.items():
        versions = by_name.get(name, [])
        found.append(TemplateStatus(name=name, label=spec.label.zh, versions=versions,
                                    in_use=next((r for r in versions if r.active), None), title=spec.label,
                                    fields=fields_of(name),
                                    uploaders={i: names[i] for i in {r.uploaded_by_id for r in versions}
                                               if i is not None and i in names}))
    return found


def one(session: Session, actor: Actor, name: str) -> TemplateStatus:
    """The template of document `name` as `status` shows it."""
    _may_manage(actor)
    _known(name)
    return next(s for s in status(session, actor) if s.name == name)


def upload(session: Session, *, actor: Actor, name: str, filename: str | None, data: bytes, note: str,
           now: datetime) -> DocumentTemplate:
    """Check `data` as a template of `name`, keep it as the next version and put it in use."""
    _may_manage(actor)
    _known(name)
    note = "".join(ch for ch in " ".join((note or "").split()) if unicodedata.category(ch) not in ("Cc", "Cs"))
    if not note:
        raise Unprocessable("请说明本次修改的内容（如“更换红头”）。", "Say what was changed (e.g. 'new letterhead').",
                            details=[{"field": "note", "zh": "必填", "en": "required"}])
    if len(note) > NOTE_MAX:
        raise Unprocessable(f"修改说明不能超过 {NOTE_MAX} 字。", f"The note is longer than {NOTE_MAX} characters.",
                            details=[{"field": "note", "zh": "过长", "en": "too long"}])
    display = clean_filename(filename)
    if not display and not data:
        raise _refuse("请选择要上传的模板文件（.docx）。", "Choose the template file (.docx) to upload.")
    if not display.lower().endswith(".docx"):
        raise _refuse("请上传 Word 文档（.docx）。WPS 用户请“另存为”Word 文档（.docx）格式。",
                      "Upload a Word document (.docx); in WPS, 'Save as' .docx.")
    if not data:
        raise _refuse("文件为空。", "The file is empty.")
    if len(data) > MAX_SIZE:
        raise _refuse("文件超过 20 MB。", "The file is larger than 20 MB.")
    try:
        check_template(name, data)
    except TemplateProblem as exc:
        raise _refuse(f"模板未通过检查：{exc.zh}", f"The template failed its check: {exc.en}") from None
    sha256 = hashlib.sha256(data).hexdigest()
    audit.lock_head(session)  # one change of the templates at a time (see the module's docstring)
    before = _active(session, name)
    if sha256 == (before.sha256 if before else shipped_key(name)):
        raise Conflict("上传的文件与正在使用的模板完全相同，无需替换。",
                       "The file is the same as the template in use; nothing to replace.", code="same_template")
    version = (session.exec(select(func.max(DocumentTemplate.version))
                            .where(DocumentTemplate.name == name)).one() or 0) + 1
    store_file(data)  # durable before the row that names it commits
    session.exec(update(DocumentTemplate).where(col(DocumentTemplate.name) == name)
                 .values(active=False))
    row = DocumentTemplate(name=name, version=version, sha256=sha256, filename=display, size=len(data),
                           active=True, note=note, uploaded_by_id=actor.user_id, uploaded_at=now)
    session.add(row)
    session.flush()
    audit.record(session, kind="template_replaced", now=now, actor=actor,
                 data={"document": name, "version": version, "previous": before.version if before else None,
                       "sha256": sha256, "filename": display, "note": note})
    return row


def restore(session: Session, *, actor: Actor, name: str, version: int | None, now: datetime) -> None:
    """Put version `version` of `name` back in use; None puts the shipped template back."""
    _may_manage(actor)
    _known(name)
    row = None
    if version is not None:
        row = _version(session, name, version)
        try:
            check_template(name, _stored(row))  # the documents' fields may have changed since it was uploaded
        except TemplateProblem as exc:
            raise Conflict(f"第 {version} 版模板不能再使用：{exc.zh}", f"Version {version} cannot be used: {exc.en}",
                           code="invalid_template") from None
    audit.lock_head(session)  # one change of the templates at a time (see the module's docstring)
    before = _active(session, name)
    session.exec(update(DocumentTemplate).where(col(DocumentTemplate.name) == name)
                 .values(active=False))
    if row is not None:
        row.active = True
        session.add(row)
    session.flush()
    audit.record(session, kind="template_restored", now=now, actor=actor,
                 data={"document": name, "version": version, "previous": before.version if before else None})


def download(session: Session, *, actor: Actor, name: str, version: int | None) -> tuple[str, bytes]:
    """(file name, bytes) of a version of `name`'s template, or of the shipped one (version None)."""
    _may_manage(actor)
    _known(name)
    label = catalog().get(name).label.zh
    if version is None:
        return f"{label}（系统自带模板）.docx", shipped(name)
    row = _version(session, name, version)
    try:
        return f"{label}（模板第{version}版）.docx", _stored(row)
    except TemplateProblem as exc:
        raise NotFound(exc.zh, exc.en, code="file_missing") from None


def sample(session: Session, *, actor: Actor, name: str, today: date) -> bytes:
    """The template in use filled with the document's sample fields, as a draft: what the office checks."""
    _may_manage(actor)
    _known(name)
    from workflow.core.documents import render

    return render(session, name, dict(catalog().get(name).sample), issued=today, draft=True)


def _refuse(zh: str, en: str) -> Unprocessable:
    return Unprocessable(zh, en, code="invalid_template", details=[{"field": "file", "zh": zh, "en": en}])
