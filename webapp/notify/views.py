from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlmodel import select

from notifications import compose
from notifications import outbox as outbox_service
from notifications import preferences as preference_service
from webapp.auth.current import actor
from webapp.database import db, unit_of_work, utcnow
from webapp.errors import field_errors, is_english
from webapp.notify import bp
from workflow.core.errors import WorkflowError
from workflow.core.models import Case, Notification, Role, Unit
from workflow.core.queries import paginate
from workflow.core.reasons import parse_whole
from workflow.notify.rules import PREFERENCE_FIELDS, mark_read, unread_count


def render_notice(notice: Notification) -> str:
    """The text of a notification in the reader's language."""
    p: dict[str, Any] = dict(notice.params or {})
    en = is_english()
    deadline = p.get("deadline_en" if en else "deadline", "")
    if notice.kind == "event" and p.get("template"):
        try:
            return compose.in_app(p["template"], "en" if en else "zh", p)
        except compose.TemplateError:
            return f"{p.get('number', '')} {p.get('step_en' if en else 'step', '')}".strip()
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
    if notice.kind == "incident":
        what = p.get("title") or _("scheduled job %(job)s", job=p.get("job"))
        return _("An automatic step failed after being tried again: %(what)s — %(error)s. See the incidents page.",
                 what=what, error=p.get("error_en" if en else "error"))
    if notice.kind == "deadline_recounted":
        if p.get("was_estimated"):
            return _("%(number)s %(title)s — the holidays of %(year)s are now entered: %(deadline)s, estimated as "
                     "%(old)s, is counted again and now falls on %(due)s.", number=p.get("number"),
                     title=p.get("title"), year=p.get("year"), deadline=deadline, old=p.get("old_due_date"),
                     due=p.get("due_date"))
        return _("%(number)s %(title)s — the holidays of %(year)s were changed: %(deadline)s is counted again and "
                 "moves from %(old)s to %(due)s.", number=p.get("number"), title=p.get("title"), year=p.get("year"),
                 deadline=deadline, old=p.get("old_due_date"), due=p.get("due_date"))
    if notice.kind == "receipt_reminder":
        return _("%(number)s %(title)s — the notice “%(notice)s” is not acknowledged yet (due %(due)s): please "
                 "acknowledge it.", number=p.get("number"), title=p.get("title"), notice=p.get("notice"),
                 due=p.get("due_date"))
    if notice.kind == "calendar_missing":
        return _("The holidays of %(year)s are not entered yet: deadlines in %(year)s are counted with weekends "
                 "only. Ask the administrator to enter the year's holidays.", year=p.get("year"))
    return p.get("text_en" if en else "text") or notice.kind


def _int_arg(name: str) -> int:
    return parse_whole(request.args.get(name, "1"), low=0, high=999_999, default=1)


@bp.route("/notifications")
@login_required
def index() -> ResponseReturnValue:
    query = select(Notification).where(Notification.user_id == current_user.row.id)
    if request.args.get("unread") == "1":
        query = query.where(Notification.read_at.is_(None))  # type: ignore[union-attr]  # SQLModel types a column as its Python value, not a SQL expression
    page = paginate(db(), query.order_by(Notification.id.desc()), _int_arg("page"), 20)  # type: ignore[union-attr]  # SQLModel types a column as its Python value, not a SQL expression
    failed = outbox_service.failed_count(db()) if current_user.role == Role.office else 0
    return render_template("notify/index.html", page=page, render_notice=render_notice, failed=failed,
                           unread_only=request.args.get("unread") == "1")


@bp.route("/notifications/<int:notice_id>/read", methods=["POST"])
@login_required
def read(notice_id: int) -> ResponseReturnValue:
    with unit_of_work() as s:
        row = s.get(Notification, notice_id)
        mark_read(s, user_id=current_user.row.id, notification_id=notice_id, now=utcnow())
    if request.form.get("open") == "1" and row is not None and row.user_id == current_user.row.id and row.case_id:
        return redirect(url_for("cases.show", case_id=row.case_id))
    return redirect(url_for("notify.index"))


@bp.route("/notifications/read-all", methods=["POST"])
@login_required
def read_all() -> ResponseReturnValue:
    with unit_of_work() as s:
        mark_read(s, user_id=current_user.row.id, now=utcnow())
    return redirect(url_for("notify.index"))


# --- preferences ---------------------------------------------------------------------------------------------


def _submitted() -> dict[str, Any]:
    form = request.form
    values: dict[str, Any] = {name: form.get(name) == "on" for name in preference_service.SWITCHES}
    for name in ("quiet_start", "quiet_end", "language"):
        values[name] = form.get(name, "").strip()[:10]
    return values


def _preferences_page(user_id: int, *, template_for_admin: bool) -> ResponseReturnValue:
    user, prefs = preference_service.load(db(), user_id)
    values: dict[str, Any] = {name: getattr(prefs, name) for name in PREFERENCE_FIELDS}
    contact = {"email": user.email or "", "mobile": user.mobile or ""}
    errors: dict[str, list[str]] = {}
    if request.method == "POST":
        values = _submitted()
        contact = {"email": request.form.get("email", "").strip()[:200],
                   "mobile": request.form.get("mobile", "").strip()[:30]}
        try:
            with unit_of_work() as s:
                preference_service.save(s, user_id=user_id, actor=actor(), now=utcnow(), **contact, **values)
        except WorkflowError as exc:
            errors = field_errors(exc)
        else:
            flash(_("Notification settings saved."), "success")
            target = "notify.user_preferences" if template_for_admin else "notify.preferences"
            return redirect(url_for(target, user_id=user_id) if template_for_admin else url_for(target))
    unit = db().get(Unit, user.unit_id)
    return render_template("notify/preferences.html", user=user, unit=unit, values=values, contact=contact,
                           errors=errors, for_admin=template_for_admin), 422 if errors else 200


@bp.route("/notifications/preferences", methods=["GET", "POST"])
@login_required
def preferences() -> ResponseReturnValue:
    return _preferences_page(current_user.row.id, template_for_admin=False)


@bp.route("/admin/users/<int:user_id>/notifications", methods=["GET", "POST"])
@login_required
def user_preferences(user_id: int) -> ResponseReturnValue:
    if current_user.role != Role.admin:
        abort(403)
    return _preferences_page(user_id, template_for_admin=True)


# --- failed messages (the office) -----------------------------------------------------------------------------


@bp.route("/notifications/failed")
@login_required
def failed() -> ResponseReturnValue:
    if current_user.role != Role.office:
        abort(403)
    page = _int_arg("page")
    rows, total = outbox_service.failed(db(), page=page, per_page=50)
    return render_template("notify/failed.html", rows=rows, total=total, page=page,
                           pages=max(1, (total + 49) // 50))


@bp.route("/notifications/outbox/<int:outbox_id>/retry", methods=["POST"])
@login_required
def retry(outbox_id: int) -> ResponseReturnValue:
    if current_user.role != Role.office:
        abort(403)
    try:
        with unit_of_work() as s:
            outbox_service.retry(s, outbox_id=outbox_id, actor=actor(), now=utcnow())
    except WorkflowError as exc:
        flash(exc.en if is_english() else exc.zh, "warning")
    else:
        flash(_("The message is queued again."), "success")
    back = request.form.get("next", "")
    return redirect(back if back.startswith("/") and not back.startswith("//") else url_for("notify.failed"))


# --- the case page's delivery status --------------------------------------------------------------------------


def case_deliveries(case: Case) -> list[outbox_service.Delivery]:
    """The e-mails and SMS of a case the viewer may see (cases/show.html includes notify/_deliveries.html)."""
    if not current_user.is_authenticated:
        return []
    return outbox_service.deliveries(db(), case_id=case.id, viewer=actor())  # type: ignore[arg-type]  # SQLModel types an id as optional; this row is saved


@bp.app_context_processor
def unread() -> dict:
    if not current_user.is_authenticated or request.blueprint == "api":
        return {}
    return {"unread_notices": unread_count(db(), current_user.row.id), "case_deliveries": case_deliveries}
