"""Opening a year's campaign by hand (the statistics reports, the evaluation): the office types the year and ticks
the confirmation; the process's own service opens what is missing and the page says how many."""

from __future__ import annotations

from collections.abc import Callable, Sized

from flask import abort, flash, redirect, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user

from webapp.auth.current import actor
from webapp.database import unit_of_work, utcnow
from webapp.errors import message_of
from workflow.core.errors import WorkflowError
from workflow.core.models import Role
from workflow.core.reasons import parse_whole

Opener = Callable[..., Sized]  # open_reports / open_evaluation: (session=, actor=, now=, year=) -> what it opened


def open_year_by_hand(*, opener: Opener, overview: str, year_zh: str, opened: Callable[[int, str], str],
                      none: Callable[[str], str]) -> ResponseReturnValue:
    """Read the year and the confirmation, open the year with `opener` in one transaction, flash what happened
    (`opened(n, year)` or `none(year)`), and go back to the `overview` endpoint of that year."""
    if current_user.role != Role.office:
        abort(403)
    raw = request.form.get("year", "")
    year = parse_whole(raw, low=1000, high=9999)
    try:
        if year is None:
            raise WorkflowError(f"请填写{year_zh}（四位数字）。", "Enter the year (four digits).")
        if request.form.get("confirmed") != "yes":
            raise WorkflowError("请勾选确认后再发起。", "Tick the box to confirm.")
        with unit_of_work() as s:
            done = opener(session=s, actor=actor(), now=utcnow(), year=year)
    except WorkflowError as exc:
        flash(message_of(exc), "error")
        return redirect(url_for(overview, year=year), 303)
    if len(done):
        flash(opened(len(done), raw), "success")
    else:
        flash(none(raw), "info")
    return redirect(url_for(overview, year=raw), 303)
