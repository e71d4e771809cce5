"""The statistics in Excel through the API: a county downloads the year's workbook of its reports still to fill
in, and uploads it filled in (multipart) to save or submit every report in it — all of them or, when any row or
cell is wrong, none, with every problem in the error's details by row and column."""

from __future__ import annotations

import io

from flask import jsonify, request
from flask.typing import ResponseReturnValue
from pydantic import BaseModel, Field

from webapp.api.blueprint import bp
from webapp.api.openapi import api_route
from webapp.api.schemas import Error
from webapp.auth.current import actor
from webapp.database import db, unit_of_work, utcnow
from webapp.statistics.excel import oversize, send_workbook, workbook_name
from workflow.core.errors import Unprocessable
from workflow.core.models import Role
from workflow.statistics import excel

COUNTY = frozenset({Role.county.value})
TRUE, FALSE = ("1", "true", "yes", "on"), ("", "0", "false", "no", "off")


class ImportedReport(BaseModel):
    id: int
    number: str
    state: str
    version: int


class StatisticsImportOut(BaseModel):
    report_year: int
    submitted: bool = Field(description="true: every report was submitted; false: saved")
    reports: list[ImportedReport] = Field(description="in the workbook's order")
    sha256: str = Field(description="of the uploaded file, as in the audit trail")


IMPORT_BODY = {"required": True, "content": {"multipart/form-data": {"schema": {
    "type": "object", "required": ["file"],
    "properties": {"file": {"type": "string", "format": "binary",
                            "description": "the year's workbook as downloaded and filled in (.xlsx, at most 10 MB)"},
                   "submit": {"type": "string", "enum": ["true", "false"], "default": "false",
                              "description": "true: submit every report (each must be complete, large changes "
                                             "explained); false: save them"}}}}}}
PROBLEMS = ("the workbook is refused; `details` lists every problem: {row, column (letter), header, field, "
            "problem {zh, en}, zh, en} (row and column null for the file as a whole)")


@api_route(bp, "/statistics/<int:year>/template.xlsx", "GET", roles=COUNTY,
           summary="The year's statistics workbook of the county's reports still to fill in (pre-filled)",
           responses={200: (None, "the workbook (.xlsx), as Content-Disposition: attachment"),
                      404: (Error, "the county has no report of that year"),
                      422: (Error, "no report of the year is waiting for the county's figures")})
def statistics_template(year: int) -> ResponseReturnValue:
    return send_workbook(excel.template(db(), actor(), year), workbook_name(year))


@api_route(bp, "/statistics/<int:year>/import", "POST", roles=COUNTY, request_body=IMPORT_BODY,
           summary="Import the filled-in workbook: every report saved (or submitted) in one transaction, or none",
           responses={200: (StatisticsImportOut, "every row imported"),
                      404: (Error, "the county has no report of that year"), 413: (Error, "file over 10 MB"),
                      422: (Error, PROBLEMS)})
def statistics_import(year: int) -> ResponseReturnValue:
    refusal = oversize()
    if refusal is not None:
        raise refusal
    flag = (request.form.get("submit") or "").strip().lower()
    if flag not in TRUE + FALSE:
        zh, en = "submit 须为 true 或 false。", "submit must be true or false."
        raise Unprocessable(zh, en, code="invalid_input", details=[{"field": "submit", "zh": zh, "en": en}])
    file = request.files.get("file")
    try:
        with unit_of_work() as s:
            done = excel.import_workbook(s, actor(), year, file.stream if file else io.BytesIO(),
                                         submit=flag in TRUE, now=utcnow(),
                                         filename=(file.filename or "") if file else "")
    finally:
        if file:
            file.close()
    return jsonify(StatisticsImportOut(
        report_year=year, submitted=done.submitted, sha256=done.sha256,
        reports=[ImportedReport(id=c.id or 0, number=c.number or "", state=c.state, version=c.version)
                 for c in done.reports]).model_dump(mode="json"))
