"""Document templates in the API: the office lists them, uploads an edited template (multipart), or puts an earlier
version or the shipped template back in use (as on the page 文书模板)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import jsonify, request
from flask.typing import ResponseReturnValue
from pydantic import BaseModel, Field

from webapp.api.blueprint import bp
from webapp.api.openapi import api_route
from webapp.api.schemas import Error, Message, Strict
from webapp.auth.current import actor
from webapp.database import db, unit_of_work, utcnow
from webapp.files.responses import refuse_large_body
from workflow.core import templates
from workflow.core.access import MAX_ID
from workflow.core.attachments import MAX_SIZE
from workflow.core.documents import catalog
from workflow.core.models import DocumentTemplate, Role

OFFICE = frozenset({Role.office.value})


class TemplateVersionOut(BaseModel):
    version: int
    active: bool
    filename: str
    size: int
    sha256: str
    note: str
    uploaded_by_id: int | None
    uploaded_by: str | None
    uploaded_at: datetime


class TemplateField(BaseModel):
    name: str = Field(description="written {{ name }} in the template")
    label: Message


class DocumentTemplateOut(BaseModel):
    name: str
    label: Message
    in_use: TemplateVersionOut | None = Field(description="null: the template shipped with the system")
    versions: list[TemplateVersionOut] = Field(description="newest first")
    fields: list[TemplateField]


class DocumentTemplateList(BaseModel):
    items: list[DocumentTemplateOut]


class RestoreRequest(Strict):
    version: int | None = Field(ge=1, le=MAX_ID, description="the version to use again; null: the shipped template")


UPLOAD_BODY = {"required": True, "content": {"multipart/form-data": {"schema": {
    "type": "object", "required": ["file", "note"],
    "properties": {"file": {"type": "string", "format": "binary",
                            "description": "the edited template, a Word document (.docx) of at most 20 MB"},
                   "note": {"type": "string", "maxLength": templates.NOTE_MAX,
                            "description": "what was changed (e.g. 更换红头)"}}}}}}


def _version_out(row: DocumentTemplate, names: dict[int, str]) -> TemplateVersionOut:
    return TemplateVersionOut(version=row.version, active=row.active, filename=row.filename, size=row.size,
                              sha256=row.sha256, note=row.note, uploaded_by_id=row.uploaded_by_id,
                              uploaded_by=names.get(row.uploaded_by_id) if row.uploaded_by_id else None,
                              uploaded_at=row.uploaded_at)


def _out(doc: templates.TemplateStatus) -> dict:
    return DocumentTemplateOut(
        name=doc.name, label=Message(zh=doc.title.zh, en=doc.title.en),
        in_use=_version_out(doc.in_use, doc.uploaders) if doc.in_use else None,
        versions=[_version_out(v, doc.uploaders) for v in doc.versions],
        fields=[TemplateField(name=k, label=Message(zh=v.zh, en=v.en)) for k, v in doc.fields.items()],
    ).model_dump(mode="json")


@api_route(bp, "/templates", "GET", roles=OFFICE, summary="The documents' templates: which is in use, every version",
           responses={200: (DocumentTemplateList, "every document the system issues")})
def list_templates() -> ResponseReturnValue:
    return jsonify({"items": [_out(doc) for doc in templates.status(db(), actor())]})


def _names() -> dict[str, Any]:
    return {"type": "string", "enum": sorted(catalog().documents)}


@api_route(bp, "/templates/<name>", "POST", roles=OFFICE, path={"name": _names},
           summary="Upload an edited template (multipart: 'file' and 'note'); once it passes its check with the "
                   "sample case it is the next version and in use",
           request_body=UPLOAD_BODY,
           responses={201: (DocumentTemplateOut, "checked, stored and in use"), 404: (Error, "no such document"),
                      409: (Error, "the file is the template in use"), 413: (Error, "file over 20 MB"),
                      422: (Error, "no note, not a .docx, or the template failed its check (details say why)")})
def upload_template(name: str) -> ResponseReturnValue:
    me = actor()
    refuse_large_body()
    file = request.files.get("file")
    try:
        data = file.read(MAX_SIZE + 1) if file else b""
        with unit_of_work() as s:
            templates.upload(s, actor=me, name=name, filename=file.filename if file else "", data=data,
                             note=request.form.get("note", ""), now=utcnow())
    finally:
        if file:
            file.close()
    return jsonify(_out(templates.one(db(), me, name))), 201


@api_route(bp, "/templates/<name>/restore", "POST", roles=OFFICE, body=RestoreRequest, path={"name": _names},
           summary="Put an earlier version (or, with version null, the shipped template) back in use",
           responses={200: (DocumentTemplateOut, "in use"), 404: (Error, "no such document or version"),
                      409: (Error, "that version no longer passes the check, or its file is missing")})
def restore_template(body: RestoreRequest, name: str) -> ResponseReturnValue:
    with unit_of_work() as s:
        templates.restore(s, actor=actor(), name=name, version=body.version, now=utcnow())
    return jsonify(_out(templates.one(db(), actor(), name)))
