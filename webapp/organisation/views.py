"""The roster page: every logged-in user may read who holds which seat (the annex is a public document)."""

from __future__ import annotations

from flask import render_template
from flask.typing import ResponseReturnValue
from flask_login import login_required

from webapp.database import db
from webapp.organisation import bp
from workflow.accounts import seats


@bp.route("/roster")
@login_required
def roster() -> ResponseReturnValue:
    group, office = seats.bodies(db())
    return render_template("organisation/roster.html", roster=seats.roster(db()), group=group, office=office)
