"""The leading group's roster (role admin): add a seat, have a user take a vacant one, hand a seat to a successor
(its pending work goes along), vacate or retire a seat. The rules are in workflow.accounts.seats."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _

from webapp.admin import bp
from webapp.auth.current import actor
from webapp.database import db, unit_of_work, utcnow
from webapp.errors import field_errors, message_of
from workflow.accounts import seats
from workflow.core.errors import WorkflowError
from workflow.core.models import SeatPosition
from workflow.core.reasons import parse_whole


def _id(raw: str | None) -> int:
    return parse_whole(raw, low=0, high=999_999_999, default=0)


def _page(errors: dict[str, list[str]] | None = None, status: int = 200) -> ResponseReturnValue:
    s = db()
    return render_template("admin/roster.html", roster=seats.roster(s, include_inactive=True),
                           positions=[p.value for p in SeatPosition], units=seats.active_units(s),
                           errors=errors or {}, form=request.form), status


def _seat_page(seat_id: int, errors: dict[str, list[str]] | None = None, status: int = 200) -> ResponseReturnValue:
    s = db()
    line = seats.roster_line(s, seat_id)
    return render_template("admin/seat.html", seat=line.seat, unit=line.unit, holder=line.holder,
                           candidates=seats.candidates(s), errors=errors or {}), status


@bp.route("/roster")
def roster() -> ResponseReturnValue:
    return _page()


@bp.route("/roster/seats/<int:seat_id>")
def seat(seat_id: int) -> ResponseReturnValue:
    return _seat_page(seat_id)


@bp.route("/roster/seats", methods=["POST"])
def add_seat() -> ResponseReturnValue:
    try:
        with unit_of_work() as s:
            seats.create_seat(s, actor=actor(), position=request.form.get("position", ""),
                              title=request.form.get("title", ""), unit_id=_id(request.form.get("unit_id")) or None,
                              now=utcnow())
    except WorkflowError as exc:
        if exc.status == 403:
            raise
        return _page(field_errors(exc), 422)
    flash(_("The seat has been added."), "success")
    return redirect(url_for("admin.roster"))


@bp.route("/roster/seats/<int:seat_id>/<action>", methods=["POST"])
def seat_action(seat_id: int, action: str) -> ResponseReturnValue:
    form = request.form
    try:
        with unit_of_work() as s:
            who = actor()
            if action == "assign":
                seats.assign(s, actor=who, seat_id=seat_id, user_id=_id(form.get("user_id")), now=utcnow())
                message = _("The seat has been taken.")
            elif action == "hand-over":
                done = seats.hand_over(s, actor=who, seat_id=seat_id, successor_id=_id(form.get("successor_id")),
                                       now=utcnow(), note=form.get("note", ""))
                message = _("The seat has passed to %(name)s with %(notices)s unread notices and %(messages)s "
                            "unsent messages.", name=done.successor.display_name, notices=done.notices_moved,
                            messages=done.messages_moved)
            elif action == "vacate":
                seats.vacate(s, actor=who, seat_id=seat_id, now=utcnow(), note=form.get("note", ""))
                message = _("The seat is vacant.")
            elif action in ("retire", "restore"):
                seats.set_seat_active(s, actor=who, seat_id=seat_id, active=action == "restore", now=utcnow())
                message = _("The seat has been retired.") if action == "retire" else _("The seat is in use again.")
            else:
                return _page({"": [_("Unknown action.")]}, 404)
    except WorkflowError as exc:
        if exc.status in (403, 404):
            raise
        return _seat_page(seat_id, {"": [message_of(exc)], **field_errors(exc)}, exc.status)
    flash(message, "success")
    return redirect(url_for("admin.seat", seat_id=seat_id))
