from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import render_template, request
from flask.typing import ResponseReturnValue
from flask_login import login_required
from sqlmodel import col, select

from webapp.auth.current import actor
from webapp.dashboard import charts
from webapp.database import db, utcnow
from webapp.errors import message_of
from webapp.exporting import export_limit, xlsx_download
from webapp.towns import bp
from workflow.core.calendar import local_date
from workflow.core.catalog import CATALOG
from workflow.core.errors import WorkflowError
from workflow.core.models import Attachment, Unit, UnitKind
from workflow.core.pdf import with_pdfs
from workflow.core.queries import Page
from workflow.core.reasons import parse_whole
from workflow.core.reference import INDUSTRY_CATEGORIES
from workflow.core.tiers import tier_of
from workflow.statistics.overview import town_statistics
from workflow.towns.registry_view import (
    REGISTRY,
    registry_filters,
    tiers,
    town_entries,
    town_entry,
    town_evaluations,
    town_list,
)


def _int(name: str, default: int = 0, values: Mapping[str, str] | None = None) -> int:
    return parse_whole((request.args if values is None else values).get(name), low=0, high=99_999_999,
                       default=default)


def _filters(values: Mapping[str, str]) -> dict[str, Any]:
    """The registry's filters from its query string (or from its export button's form)."""
    levels = CATALOG.current("town").states
    return {"county_id": _int("county", 0, values) or None,
            "level": values.get("level") if values.get("level") in levels else None,
            "industry_category": values.get("category") if values.get("category") in INDUSTRY_CATEGORIES else None,
            "tier": values.get("tier") if values.get("tier") in {t.key for t in tiers()} else None}


@bp.route("/towns")
@login_required
def index() -> ResponseReturnValue:
    counties = db().exec(select(Unit).where(Unit.kind == UnitKind.county.value).order_by(col(Unit.id))).all()
    context = {"counties": counties, "levels": CATALOG.current("town").states, "categories": INDUSTRY_CATEGORIES,
               "tiers": tiers(), "export_limit": export_limit()}
    try:
        page = town_entries(db(), actor(), **_filters(request.args), q=request.args.get("q"), page=_int("page", 1),
                            today=local_date(utcnow()))
    except WorkflowError as exc:  # a search of more than 100 characters
        return render_template("towns/index.html", page=Page([], 0, 1, 20), error=message_of(exc),
                               **context), exc.status
    return render_template("towns/index.html", page=page, error=None, **context)


@bp.route("/towns/export.xlsx", methods=["POST"])
@login_required
def export() -> ResponseReturnValue:
    """The registry with the page's filters (and its search), every town of it, as an Excel workbook."""
    filters = _filters(request.form)
    entries = town_list(db(), actor(), **filters, q=request.form.get("q") or None, today=local_date(utcnow()))
    return xlsx_download(REGISTRY, lambda limit: entries, total=len(entries), filters=registry_filters(db(), **filters))


@bp.route("/towns/<int:town_id>")
@login_required
def show(town_id: int) -> ResponseReturnValue:
    entry, cases = town_entry(db(), actor(), town_id, today=local_date(utcnow()))
    documents, pdfs = with_pdfs(db(), db().exec(select(Attachment).where(Attachment.town_id == town_id)
                                               .order_by(Attachment.id)).all())  # type: ignore[arg-type]  # SQLModel types a column as its Python value, not a SQL expression
    evaluations = town_evaluations(db(), actor(), town_id)
    return render_template("towns/show.html", entry=entry, cases=cases, documents=documents, pdfs=pdfs,
                           levels=CATALOG.current("town").states, categories=INDUSTRY_CATEGORIES,
                           years=town_statistics(db(), actor(), town_id), tier_of=tier_of,
                           evaluations=evaluations, evaluation_charts=_evaluation_charts(evaluations),
                           shown=charts.shown)


def _evaluation_charts(evaluations: list[Any]) -> dict[str, charts.LineChart] | None:
    """The town's totals and published ranks over the years, as the dashboard draws its lines."""
    if not evaluations:
        return None
    years = sorted(e.year for e in evaluations)
    totals = {e.year: e.total for e in evaluations}
    ranks = {e.year: e.rank for e in evaluations if e.rank is not None}
    found = {"total": charts.line_chart(years, [("", totals)], height=160,
                                        top_value=float(max(e.max_points for e in evaluations)))}
    if ranks:
        found["rank"] = charts.rank_chart(years, "", ranks)
    return found
