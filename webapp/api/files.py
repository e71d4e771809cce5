"""Attachments in the API: upload (multipart), list a case's files, download one."""

from __future__ import annotations

import io
from datetime import datetime
from typing import Any

from flask import current_app, jsonify, request, url_for
from flask.typing import ResponseReturnValue
from pydantic import BaseModel

from webapp.api.blueprint import bp
from webapp.api.openapi import api_route
from webapp.api.schemas import Error
from webapp.auth.current import actor
from webapp.auth.roles import BUSINESS_ROLES
from webapp.database import db, unit_of_work, utcnow
from webapp.files.responses import refuse_large_body, send_attachment
from workflow.core.attachments import UPLOAD_KINDS, get_attachment, list_attachments, store_upload
from workflow.core.models import Attachment


class AttachmentOut(BaseModel):
    id: int
    case_id: int | None
    town_id: int | None
    kind: str
    filename: str
    content_type: str
    size: int
    sha256: str
    uploaded_by_id: int | None
    uploaded_at: datetime
    derived_from_id: int | None = None  # the PDF of a notice names the notice's .docx
    download_url: str


class AttachmentList(BaseModel):
    items: list[AttachmentOut]


def upload_body() -> dict[str, Any]:
    """The multipart body of an upload; `kind` lists every kind a process registered (read when asked)."""
    kinds = sorted({"evidence", *(k for per_process in UPLOAD_KINDS.values() for k in per_process)})
    return {"required": True, "content": {"multipart/form-data": {"schema": {
        "type": "object", "required": ["file"],
        "properties": {"file": {"type": "string", "format": "binary",
                                "description": "PDF, OFD, PNG, JPEG, GIF, BMP, TIFF, DOCX, XLSX, PPTX, or legacy "
                                               "Office/WPS (DOC, XLS, PPT, WPS, ET, DPS); at most 20 MB; the type "
                                               "is read from the content and must agree with the extension"},
                       "kind": {"type": "string", "default": "evidence", "enum": kinds,
                                "description": "what the file is: 'evidence', or for a designation one of the "
                                               "kinds of supporting documents in definitions/materials.yaml"}}}}}}


def _out(row: Attachment) -> dict:
    return AttachmentOut(**row.model_dump(), download_url=url_for("api.download_attachment", attachment_id=row.id)
                         ).model_dump(mode="json")


@api_route(bp, "/cases/<int:case_id>/attachments", "POST", roles=BUSINESS_ROLES,
           summary="Attach a file to a case (multipart, field 'file')",
           request_body=upload_body,
           responses={201: (AttachmentOut, "stored"), 403: (Error, "role may not upload"),
                      404: (Error, "no such case, or not visible"), 409: (Error, "the case is closed"),
                      413: (Error, "file over 20 MB"),
                      422: (Error, "no file, extension not allowed, or content not of an accepted type or not "
                                   "matching the extension")})
def upload_attachment(case_id: int) -> ResponseReturnValue:
    me = actor()
    refuse_large_body()
    file = request.files.get("file")
    try:
        with unit_of_work() as session:
            row = store_upload(session=session, actor=me, case_id=case_id, filename=file.filename if file else "",
                               stream=file.stream if file else io.BytesIO(), now=utcnow(),
                               upload_dir=current_app.config["UPLOAD_DIR"],
                               kind=request.form.get("kind") or "evidence")
    finally:
        if file:
            file.close()
    return jsonify(_out(row)), 201


@api_route(bp, "/cases/<int:case_id>/attachments", "GET", roles=BUSINESS_ROLES, summary="A case's attachments",
           responses={200: (AttachmentList, "oldest first"), 404: (Error, "no such case, or not visible")})
def case_attachments(case_id: int) -> ResponseReturnValue:
    rows = list_attachments(session=db(), actor=actor(), case_id=case_id)
    return jsonify({"items": [_out(r) for r in rows]})


@api_route(bp, "/attachments/<int:attachment_id>", "GET", roles=BUSINESS_ROLES, summary="Download an attachment",
           responses={200: (None, "the file, as Content-Disposition: attachment"),
                      404: (Error, "no such attachment, or not visible")})
def download_attachment(attachment_id: int) -> ResponseReturnValue:
    row, path = get_attachment(session=db(), actor=actor(), attachment_id=attachment_id,
                               upload_dir=current_app.config["UPLOAD_DIR"])
    return send_attachment(row, path)
