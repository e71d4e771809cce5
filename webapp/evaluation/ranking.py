"""The year's ranking page (the table, its chart, what approval set in motion) and its results workbook. Who may
read what, and when, is workflow/evaluation/ranking_view.py's: the page asks it and shows what it gives."""

from __future__ import annotations

from decimal import Decimal

from flask import Response, render_template, request
from flask.typing import ResponseReturnValue
from flask_login import login_required

from webapp.auth.current import actor
from webapp.database import db, unit_of_work, utcnow
from webapp.evaluation import bp
from webapp.evaluation.charts import StackedChart, stacked_chart
from webapp.exporting import content_disposition
from webapp.templating import lang
from workflow.core.exports import XLSX
from workflow.core.reasons import parse_whole
from workflow.evaluation import values as v
from workflow.evaluation.ranking_view import RankingView, export_results, ranking_view, ranking_years


def chart(view: RankingView) -> StackedChart:
    """Each town's total, its groups' points stacked, out of the full marks."""
    locale = lang()
    return stacked_chart([(f"{r['rank']}. {r['town']}",
                           [(g.label.get(locale), Decimal(r["groups"].get(g.key, "0"))) for g in view.spec.groups],
                           v.shown(Decimal(r["total"])))
                          for r in view.rows], full=view.spec.total)


@bp.route("/evaluation/ranking", methods=["GET"])
@login_required
def ranking() -> ResponseReturnValue:
    """The ranking of ?year= (default: the latest the reader may see)."""
    me, s = actor(), db()
    years = ranking_years(s, me)
    year = parse_whole(request.args.get("year"), low=1000, high=9999)
    if year is None:
        if not years:
            return render_template("evaluation/ranking.html", view=None, years=years, year=None)
        year = years[0]
    view = ranking_view(s, me, year)
    return render_template("evaluation/ranking.html", view=view, years=years, year=view.year,
                           chart=chart(view) if view.rows else None)


@bp.route("/evaluation/ranking/<int:year>/export", methods=["POST"])
@login_required
def export_ranking(year: int) -> ResponseReturnValue:
    """The year's results workbook (.xlsx); the export is recorded in the audit trail."""
    with unit_of_work() as s:
        filename, content = export_results(s, actor=actor(), year=year, now=utcnow())
    return Response(content, mimetype=XLSX, headers={
        "Content-Disposition": content_disposition(filename, f"evaluation-results-{year}.xlsx"),
        "X-Content-Type-Options": "nosniff", "Cache-Control": "private, no-store"})
