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
from webapp.errors import field_errors
from webapp.exporting import export_limit, xlsx_download
from webapp.supervision import bp
from webapp.templating import lang
from workflow.core.catalog import CATALOG
from workflow.core.errors import WorkflowError
from workflow.core.list_exports import BOARD, board_filters
from workflow.core.models import Role, Unit, UnitKind
from workflow.core.queries import OPEN_ORDER_STATES, CaseRow, supervision_board
from workflow.core.reasons import parse_whole
from workflow.supervision.findings import by_key as finding_type
from workflow.supervision.inspections import designated_towns, plan_campaign, plan_inspection


@bp.app_template_global()
def finding_type_label(key: str | None) -> str:
    """The label of a kind of finding (definitions/findings.yaml), in the reader's language."""
    found = finding_type(key)
    return found.label.get(lang()) if found else ""


@bp.before_request
@login_required
def office_and_leaders() -> None:
    if current_user.role not in (Role.office, Role.leader):
        abort(403)


def _board_filters(values: Mapping[str, str]) -> dict[str, Any]:
    """The board's filters from its query string (or from its export button's form)."""
    return {"county_id": parse_whole(values.get("county"), low=0, high=99_999_999),
            "state": values.get("state") if values.get("state") in OPEN_ORDER_STATES else None}


@bp.route("/supervision")
def board() -> ResponseReturnValue:
    rows = supervision_board(db(), actor(), now=utcnow(), **_board_filters(request.args))
    counties = db().exec(select(Unit).where(Unit.kind == UnitKind.county.value).order_by(col(Unit.id))).all()
    return render_template("supervision/board.html", rows=rows, counties=counties, states=OPEN_ORDER_STATES,
                           definition=CATALOG.current("rectification"), export_limit=export_limit())


@bp.route("/supervision/export.xlsx", methods=["POST"])
def export_board() -> ResponseReturnValue:
    """The board with its filters, as on the page, as an Excel workbook."""
    filters = _board_filters(request.form)
    rows = supervision_board(db(), actor(), now=utcnow(), **filters)
    return xlsx_download(BOARD, lambda limit: (CaseRow(*row) for row in rows), total=len(rows),
                         filters=board_filters(db(), **filters))


@bp.route("/inspections/plan", methods=["GET", "POST"])
def plan() -> ResponseReturnValue:
    if current_user.role != Role.office:
        abort(403)
    errors: dict[str, list[str]] = {}
    if request.method == "POST":
        try:
            with unit_of_work() as s:
                if request.form.get("scope") == "all":
                    cases = plan_campaign(session=s, actor=actor(), now=utcnow(), name=request.form.get("name", ""),
                                          planned_date=request.form.get("planned_date") or None)
                else:
                    raw = request.form.get("town_id", "")
                    if not (raw.isascii() and raw.isdigit()):
                        raise WorkflowError("请选择专业镇。", "Choose a town.",
                                            details=[{"field": "town_id", "zh": "请选择专业镇", "en": "choose a town"}])
                    town_id = parse_whole(raw, low=0, default=0)  # a number past any id names no town
                    cases = [plan_inspection(session=s, actor=actor(), town_id=town_id, now=utcnow(),
                                             planned_date=request.form.get("planned_date") or None,
                                             campaign=request.form.get("name") or None)]
            flash(_("%(n)s inspections planned.", n=len(cases)), "success")
            return redirect(url_for("cases.show", case_id=cases[0].id) if len(cases) == 1
                            else url_for("cases.list_cases", definition="inspection"))
        except WorkflowError as exc:
            errors = field_errors(exc)
    return render_template("supervision/plan.html", towns=designated_towns(db()), errors=errors,
                           form=request.form), 422 if errors else 200


