"""/dashboard: the figures of workflow.dashboard.figures as charts, each with its table beside it; prints on one A4
page. The JSON API's GET /api/v1/dashboard (webapp/api/dashboard.py) gives the same figures."""

from __future__ import annotations

from flask import render_template, request
from flask.typing import ResponseReturnValue
from flask_login import login_required

from webapp.auth.current import actor
from webapp.dashboard import bp, charts
from webapp.database import db, utcnow
from webapp.projects.charts import batch_chart
from webapp.templating import lang
from workflow.core.calendar import local_date
from workflow.dashboard.figures import PACE_LABELS, Dashboard, build
from workflow.projects.batches import BATCH_LABELS, three_batches


def chart_data(board: Dashboard) -> dict[str, object]:
    """The geometry of the page's charts."""
    locale = lang()
    targets = charts.bar_chart(
        [(f.target.label.get(locale), f.share,
          f"{charts.shown(f.value)} / {charts.shown(f.goal)}" if f.goal is not None else charts.shown(f.value),
          f.pace) for f in board.targets], elapsed=board.elapsed)
    total = charts.line_chart(board.years, [("", board.output_total)])
    by_county = charts.line_chart(board.years, [(u.name, board.output_by_county.get(u.id or 0, {}))
                                                for u in board.counties])
    overdue = charts.bar_chart([(o.county, o.overdue_rate, charts.percent(o.overdue_rate) if o.open else "—",
                                 "behind" if o.overdue else "none") for o in board.orders], left=70)
    return {"targets": targets, "total": total, "by_county": by_county, "overdue": overdue}


@bp.route("/dashboard", methods=["GET"])
@login_required
def index() -> ResponseReturnValue:
    board = build(db(), actor(), local_date(utcnow()), request.args.get("period") or None)
    batches = three_batches(db(), actor(), board.today.year)  # 三个一批 (workflow/projects/batches.py)
    return render_template("dashboard/index.html", board=board, charts=chart_data(board), shown=charts.shown,
                           percent=charts.percent, pace_labels=PACE_LABELS, batches=batches,
                           batch_chart=batch_chart(batches), batch_labels=BATCH_LABELS)
