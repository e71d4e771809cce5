"""Receipts in the API: the notices the caller may see with who acknowledged them, and a county's acknowledgement
(as on the pages)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from flask import jsonify, request, url_for
from flask.typing import ResponseReturnValue
from pydantic import BaseModel

from webapp.api.blueprint import bp
from webapp.api.openapi import Query, api_route
from webapp.api.schemas import Error
from webapp.auth.current import actor
from webapp.database import db, unit_of_work, utcnow
from webapp.errors import json_error
from webapp.exporting import xlsx_download
from workflow.core import receipts
from workflow.core.exports import EXPORT_LIMIT
from workflow.core.list_exports import RECEIPTS, RECEIPTS_MINE, receipt_filters
from workflow.core.models import Role
from workflow.core.queries import count_of
from workflow.core.reasons import parse_whole

READERS = frozenset({Role.county.value, *receipts.READERS})
COUNTY = frozenset({Role.county.value})
INT = {"type": "integer", "minimum": 1, "maximum": 2**31 - 1}


class ReceiptOut(BaseModel):
    id: int
    attachment_id: int
    filename: str
    kind: str
    case_id: int | None
    case_number: str | None
    case_title: str | None
    unit_id: int
    unit_name: str
    issued_at: datetime
    remind_date: date | None
    reminded_at: datetime | None
    acknowledged_at: datetime | None
    acknowledged_by: str | None
    overdue: bool
    late: bool
    download_url: str


class ReceiptList(BaseModel):
    items: list[ReceiptOut]
    total: int
    page: int
    per_page: int


def _out(view: receipts.ReceiptView) -> dict[str, Any]:
    fields = {name: getattr(view, name) for name in ReceiptOut.model_fields if name != "download_url"}
    return ReceiptOut(**fields, download_url=url_for("api.download_attachment", attachment_id=view.attachment_id)
                      ).model_dump(mode="json")


@api_route(bp, "/receipts", "GET", roles=READERS,
           summary="Notices to acknowledge: a county's own, or every county's for the office and the leading group",
           query=(Query("status", {"type": "string", "enum": list(receipts.STATUSES)},
                        "all (default), unsigned, signed, or overdue (unsigned past the day to sign by)"),
                  Query("county", INT, "one county's (office and leading group)"), Query("page", INT),
                  Query("per_page", {**INT, "maximum": 100})),
           responses={200: (ReceiptList, "one page, unacknowledged first, then newest first"),
                      400: (Error, "bad parameter")})
def list_receipts() -> ResponseReturnValue:
    numbers = {}
    for name in ("county", "page", "per_page"):
        raw = request.args.get(name)
        if raw is not None:
            number = parse_whole(raw)
            if number is None:
                return json_error(400, "bad_request", f"参数 {name} 须为正整数。",
                                  f"{name} must be a positive integer.")
            numbers[name] = number
    status = request.args.get("status", "all")
    if status not in receipts.STATUSES:
        return json_error(400, "bad_request", "参数 status 须为 all、unsigned、signed 或 overdue。",
                          "status must be all, unsigned, signed or overdue.")
    page = receipts.listing(db(), actor(), now=utcnow(), status=status, county_id=numbers.get("county"),
                            page=numbers.get("page", 1), per_page=numbers.get("per_page", 20))
    return jsonify(ReceiptList(items=[_out(v) for v in page.items], total=page.total, page=page.page,  # type: ignore[misc]  # items are the receipts' JSON dicts, validated by the model
                               per_page=page.per_page).model_dump(mode="json"))


@api_route(bp, "/receipts/export.xlsx", "POST", roles=READERS,
           summary="Export the notices and their acknowledgements, with the list's filters, as an Excel workbook",
           query=(Query("status", {"type": "string", "enum": list(receipts.STATUSES)},
                        "all (default), unsigned, signed, or overdue (unsigned past the day to sign by)"),
                  Query("county", INT, "one county's (office and leading group)")),
           responses={200: (None, "the workbook, as Content-Disposition: attachment (every matching notice, at most "
                                  f"{EXPORT_LIMIT:,}; X-Export-Rows and X-Export-Total say how many are in it and "
                                  "how many matched); the export is recorded in the audit trail"),
                      400: (Error, "bad parameter")})
def export_receipts() -> ResponseReturnValue:
    raw = request.args.get("county")
    number = parse_whole(raw)
    if raw is not None and number is None:
        return json_error(400, "bad_request", "参数 county 须为正整数。", "county must be a positive integer.")
    status = request.args.get("status", "all")
    if status not in receipts.STATUSES:
        return json_error(400, "bad_request", "参数 status 须为 all、unsigned、signed 或 overdue。",
                          "status must be all, unsigned, signed or overdue.")
    me, s, now = actor(), db(), utcnow()
    county = number if me.role != Role.county.value else None  # a county: its own only
    query = receipts.listing_query(me, now=now, status=status, county_id=county)
    return xlsx_download(RECEIPTS_MINE if me.role == Role.county.value else RECEIPTS,
                         lambda limit: receipts.listing_rows(s, query, now=now, limit=limit), total=count_of(s, query),
                         filters=receipt_filters(s, status=status, county_id=county))


@api_route(bp, "/receipts/<int:receipt_id>/acknowledge", "POST", roles=COUNTY,
           summary="Acknowledge (签收) a notice addressed to the caller's county; it cannot be undone",
           responses={200: (ReceiptOut, "acknowledged"), 404: (Error, "no such notice, or not the caller's county's"),
                      409: (Error, "already acknowledged (the message says when and by whom)")})
def acknowledge_receipt(receipt_id: int) -> ResponseReturnValue:
    with unit_of_work() as s:
        view = receipts.acknowledge(s, actor(), receipt_id, utcnow())
    return jsonify(_out(view))
