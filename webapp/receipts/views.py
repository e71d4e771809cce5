from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlmodel import col, select

from webapp.auth.current import actor
from webapp.database import db, unit_of_work, utcnow
from webapp.errors import message_of
from webapp.exporting import export_limit, xlsx_download
from webapp.receipts import bp
from workflow.core import receipts
from workflow.core.errors import WorkflowError
from workflow.core.exports import ListSpec
from workflow.core.list_exports import RECEIPTS, RECEIPTS_MINE, receipt_filters
from workflow.core.models import Case, Role, Unit, UnitKind
from workflow.core.queries import count_of
from workflow.core.reasons import parse_whole


def _int_arg(name: str, default: int = 1, values: Mapping[str, str] | None = None) -> int:
    return parse_whole((request.args if values is None else values).get(name), low=0, high=99_999_999,
                       default=default)


def _status_arg(values: Mapping[str, str] | None = None) -> str:
    status = (request.args if values is None else values).get("status", "all")
    return status if status in receipts.STATUSES else "all"


def _back(default: str) -> str:
    """Where to go after acknowledging: the page the county came from (a local path), else `default`."""
    target = request.values.get("next", "")
    return target if target.startswith("/") and not target.startswith("//") and "\\" not in target else default


@bp.route("/receipts")
@login_required
def mine() -> ResponseReturnValue:
    """The county's notices: those waiting to be acknowledged first, then the signed ones."""
    if current_user.role != Role.county:
        abort(403)
    status = _status_arg()
    page = receipts.listing(db(), actor(), now=utcnow(), status=status, page=_int_arg("page"))
    return render_template("receipts/mine.html", page=page, status=status, export_limit=export_limit())


@bp.route("/receipts/export.xlsx", methods=["POST"])
@login_required
def export_mine() -> ResponseReturnValue:
    """The county's notices with the page's filter, as an Excel workbook."""
    if current_user.role != Role.county:
        abort(403)
    return _export(RECEIPTS_MINE, status=_status_arg(request.form), county_id=None)


@bp.route("/receipts/overview")
@login_required
def overview() -> ResponseReturnValue:
    """签收情况: every notice, the county it is addressed to, who signed it and when, and which are overdue."""
    if current_user.role not in receipts.READERS:
        abort(403)
    status = _status_arg()
    county = _int_arg("county", 0) or None
    page = receipts.listing(db(), actor(), now=utcnow(), status=status, county_id=county, page=_int_arg("page"))
    counties = db().exec(select(Unit).where(Unit.kind == UnitKind.county.value).order_by(col(Unit.id))).all()
    return render_template("receipts/overview.html", page=page, status=status, counties=counties,
                           export_limit=export_limit())


@bp.route("/receipts/overview/export.xlsx", methods=["POST"])
@login_required
def export_overview() -> ResponseReturnValue:
    """签收情况 with the page's filters, every notice of it, as an Excel workbook."""
    if current_user.role not in receipts.READERS:
        abort(403)
    return _export(RECEIPTS, status=_status_arg(request.form), county_id=_int_arg("county", 0, request.form) or None)


def _export(spec: ListSpec[receipts.ReceiptView], *, status: str, county_id: int | None) -> ResponseReturnValue:
    s, now = db(), utcnow()
    query = receipts.listing_query(actor(), now=now, status=status, county_id=county_id)
    return xlsx_download(spec, lambda limit: receipts.listing_rows(s, query, now=now, limit=limit),
                         total=count_of(s, query), filters=receipt_filters(s, status=status, county_id=county_id))


@bp.route("/receipts/<int:receipt_id>/acknowledge", methods=["GET", "POST"])
@login_required
def acknowledge(receipt_id: int) -> ResponseReturnValue:
    """The confirmation step, then the acknowledgement (which cannot be undone)."""
    me = actor()
    receipt = receipts.to_acknowledge(db(), me, receipt_id, now=utcnow())
    back = _back(url_for("cases.show", case_id=receipt.case_id) if receipt.case_id else url_for("receipts.mine"))
    errors: dict[str, list[str]] = {}
    if request.method == "POST":
        if request.form.get("confirmed") != "yes":
            errors["confirmed"] = [_("Tick the box to confirm that your county has received the notice.")]
        else:
            try:
                with unit_of_work() as s:
                    done = receipts.acknowledge(s, me, receipt_id, utcnow())
            except WorkflowError as exc:
                if exc.status in (403, 404):
                    raise
                flash(message_of(exc), "warning")
                return redirect(back)
            flash(_("Acknowledged: %(notice)s.", notice=done.notice), "success")
            return redirect(back)
    case = db().get(Case, receipt.case_id) if receipt.case_id else None
    return render_template("receipts/acknowledge.html", receipt=receipt, case=case, back=back,
                           errors=errors), 422 if errors else 200


@bp.app_template_global()
def notice_receipts(case: Case) -> dict[int, list[receipts.ReceiptView]]:
    """The receipts of a case's notices by attachment, for the attachments on the case page."""
    return receipts.for_case(db(), actor(), case.id, now=utcnow(), case=case)  # type: ignore[arg-type]  # SQLModel types an id as optional; this row is saved


@bp.app_context_processor
def receipt_context() -> dict[str, Any]:
    """How many notices the county has not acknowledged, for its menu."""
    if not current_user.is_authenticated or request.blueprint == "api" or current_user.role != Role.county:
        return {}
    return {"pending_receipts": receipts.pending_count(db(), actor())}
