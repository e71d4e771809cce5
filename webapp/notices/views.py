from __future__ import annotations

from typing import Any

from flask import redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlmodel import select

from webapp.database import db, unit_of_work, utcnow
from webapp.errors import is_english
from webapp.notices import bp
from workflow.models import Notification
from workflow.notices import mark_read, unread_count
from workflow.queries import _page


def render_notice(notice: Notification) -> str:
    """The text of a notification in the reader's language."""
    p: dict[str, Any] = dict(notice.params or {})
    en = is_english()
    deadline = p.get("deadline_en" if en else "deadline", "")
    if notice.kind == "reminder":
        days = p.get("days_before") or 0
        if days:
            return _("Reminder: %(number)s %(title)s — %(deadline)s falls on %(due)s, in %(days)s working days.",
                     number=p.get("number"), title=p.get("title"), deadline=deadline, due=p.get("due_date"),
                     days=days)
        return _("Reminder: %(number)s %(title)s — %(deadline)s is today (%(due)s).",
                 number=p.get("number"), title=p.get("title"), deadline=deadline, due=p.get("due_date"))
    if notice.kind == "expired":
        if p.get("new_state"):
            return _("%(number)s %(title)s — %(deadline)s (%(due)s) has passed; the case is now: %(state)s.",
                     number=p.get("number"), title=p.get("title"), deadline=deadline, due=p.get("due_date"),
                     state=p.get("new_state_en" if en else "new_state"))
        return _("%(number)s %(title)s — %(deadline)s (%(due)s) has passed.", number=p.get("number"),
                 title=p.get("title"), deadline=deadline, due=p.get("due_date"))
    if notice.kind == "calendar_missing":
        return _("The holidays of %(year)s are not entered yet: deadlines in %(year)s are counted with weekends "
                 "only. Ask the administrator to enter the year's holidays.", year=p.get("year"))
    return p.get("text_en" if en else "text") or notice.kind


@bp.route("/notifications")
@login_required
def index():  # type: ignore[no-untyped-def]
    raw = request.args.get("page", "1")
    query = (select(Notification).where(Notification.user_id == current_user.row.id)
             .order_by(Notification.id.desc()))  # type: ignore[union-attr]
    page = _page(db(), query, int(raw) if raw.isdigit() and len(raw) < 7 else 1, 20)
    return render_template("notices/index.html", page=page, render_notice=render_notice)


@bp.route("/notifications/<int:notice_id>/read", methods=["POST"])
@login_required
def read(notice_id: int):  # type: ignore[no-untyped-def]
    with unit_of_work() as s:
        mark_read(s, user_id=current_user.row.id, notification_id=notice_id, now=utcnow())
    return redirect(url_for("notices.index"))


@bp.route("/notifications/read-all", methods=["POST"])
@login_required
def read_all():  # type: ignore[no-untyped-def]
    with unit_of_work() as s:
        mark_read(s, user_id=current_user.row.id, now=utcnow())
    return redirect(url_for("notices.index"))


@bp.app_context_processor
def unread() -> dict:
    if not current_user.is_authenticated or request.blueprint == "api":
        return {}
    return {"unread_notices": unread_count(db(), current_user.row.id)}
