"""Account management pages (role admin): list, create, edit, disable / enable, unlock, reset the password,
end the sessions. A one-time password is shown once, on the page that made it, and never put in the session; for a
business account under ZYZ_ACCOUNT_APPROVER there is none to show: the request waits for the approver."""

from __future__ import annotations

from collections.abc import Mapping

from flask import current_app, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _

from webapp.admin import bp
from webapp.auth.current import actor, policy
from webapp.database import db, unit_of_work, utcnow
from webapp.errors import field_errors, message_of
from workflow.accounts import approvals, second_factor
from workflow.accounts import services as accounts
from workflow.accounts.auth import set_certificate
from workflow.core.errors import WorkflowError
from workflow.core.models import HUMAN_ROLES, User
from workflow.core.reasons import parse_whole

ROLES = [r.value for r in HUMAN_ROLES]
NOTIFICATION_SETTINGS_RULE = "/admin/users/<int:user_id>/notifications"


def _int(raw: str | None, default: int = 0) -> int:
    return parse_whole(raw, low=0, high=999_999_999, default=default)


def _fields() -> dict:
    form = request.form
    return {"display_name": form.get("display_name", ""), "email": form.get("email") or None,
            "mobile": form.get("mobile") or None, "unit_id": _int(form.get("unit_id")), "role": form.get("role", "")}


@bp.app_template_global()
def account_status_label(status: str) -> str:
    return {"active": _("Active"), "disabled": _("Disabled"), "locked": _("Locked"),
            "must_change_password": _("Must change the password")}.get(status, status)


@bp.app_template_global()
def notification_settings_url(user_id: int) -> str | None:
    """The page for a user's contact details and notification preferences, once it exists (webapp/notify)."""
    for rule in current_app.url_map.iter_rules():
        if rule.rule == NOTIFICATION_SETTINGS_RULE:
            return url_for(rule.endpoint, user_id=user_id)
    return None


@bp.route("/users")
def users() -> ResponseReturnValue:
    args = request.args
    role = args.get("role") if args.get("role") in ROLES else None
    status = args.get("status") if args.get("status") in accounts.STATUSES else None
    text = (args.get("q") or "").strip()[:64] or None
    page = accounts.list_accounts(db(), actor=actor(), now=utcnow(), text=text, role=role,
                                  unit_id=_int(args.get("unit")) or None, status=status, page=_int(args.get("page"), 1),
                                  per_page=current_app.config["PAGE_SIZE"])
    return render_template("admin/users.html", page=page, roles=ROLES, statuses=accounts.STATUSES,
                           units=accounts.units_for_accounts(db()), filters={"q": text or "", "role": role or "",
                                                                             "unit": args.get("unit", ""),
                                                                             "status": status or ""})


@bp.route("/users/new", methods=["GET", "POST"])
def new_user() -> ResponseReturnValue:
    errors: dict[str, list[str]] = {}
    if request.method == "POST":
        try:
            with unit_of_work() as s:
                user, password = accounts.create_account(s, actor=actor(), now=utcnow(), policy=policy(),
                                                         username=request.form.get("username", ""), **_fields())
        except WorkflowError as exc:
            if exc.status == 403:
                raise
            errors = field_errors(exc)
        else:
            if password is None:
                return render_template("admin/users_pending.html", user=user, created=True)
            return render_template("admin/users_password.html", user=user, password=password, created=True)
    return render_template("admin/users_new.html", roles=ROLES, units=accounts.units_for_accounts(db()),
                           form=request.form, errors=errors), 422 if errors else 200


@bp.route("/users/<int:user_id>", methods=["GET", "POST"])
def user(user_id: int) -> ResponseReturnValue:
    me = actor()
    errors: dict[str, list[str]] = {}
    row = accounts.get_account(db(), actor=me, user_id=user_id)
    if request.method == "POST":
        try:
            with unit_of_work() as s:
                changes = accounts.update_account(s, actor=me, user_id=user_id, now=utcnow(), **_fields())
        except WorkflowError as exc:
            if exc.status in (403, 404):
                raise
            errors = field_errors(exc)
        else:
            flash(_("Saved.") if changes else _("Nothing changed."), "success" if changes else "info")
            return redirect(url_for("admin.user", user_id=user_id))
    form = request.form if errors else None
    return _user_page(row, form=form, errors=errors, status=422 if errors else 200)


def _user_page(row: User, *, form: Mapping[str, str] | None = None, errors: dict[str, list[str]] | None = None,
               cert_errors: dict[str, list[str]] | None = None, subject: str | None = None,
               status: int = 200) -> ResponseReturnValue:
    """The account's page; `form` and `subject`: what was typed into a form refused with `errors` or `cert_errors`."""
    if form is None:
        form = {"display_name": row.display_name, "email": row.email or "", "mobile": row.mobile or "",
                "unit_id": str(row.unit_id), "role": row.role}
    now = utcnow()
    return render_template("admin/users_show.html", user=row, form=form, errors=errors or {}, roles=ROLES,
                           units=accounts.units_for_accounts(db()), is_self=row.id == actor().user_id,
                           is_locked=row.locked_until is not None and row.locked_until > now,
                           live_sessions=accounts.live_session_count(db(), user_id=row.id, now=now),  # type: ignore[arg-type]  # SQLModel types an id as optional; this row is saved
                           account_request=approvals.latest_request(db(), row.id),  # type: ignore[arg-type]  # SQLModel types an id as optional; this row is saved
                           factor=second_factor.factor_of(db(), row.id),  # type: ignore[arg-type]  # SQLModel types an id as optional; this row is saved
                           cert_errors=cert_errors or {},
                           subject=(row.cert_subject or "") if subject is None else subject,
                           is_cert_required=current_app.config.get("CLIENT_CERT") == "required",
                           ), status


@bp.route("/users/<int:user_id>/disable", methods=["POST"])
def disable_user(user_id: int) -> ResponseReturnValue:
    with unit_of_work() as s:
        accounts.set_active(s, actor=actor(), user_id=user_id, active=False, now=utcnow())
    flash(_("The account is disabled; its sessions have ended."), "success")
    return redirect(url_for("admin.user", user_id=user_id))


@bp.route("/users/<int:user_id>/enable", methods=["POST"])
def enable_user(user_id: int) -> ResponseReturnValue:
    with unit_of_work() as s:
        accounts.set_active(s, actor=actor(), user_id=user_id, active=True, now=utcnow())
    flash(_("The account is enabled."), "success")
    return redirect(url_for("admin.user", user_id=user_id))


@bp.route("/users/<int:user_id>/unlock", methods=["POST"])
def unlock_user(user_id: int) -> ResponseReturnValue:
    with unit_of_work() as s:
        accounts.unlock(s, actor=actor(), user_id=user_id, now=utcnow())
    flash(_("The account is unlocked."), "success")
    return redirect(url_for("admin.user", user_id=user_id))


@bp.route("/users/<int:user_id>/end-sessions", methods=["POST"])
def end_user_sessions(user_id: int) -> ResponseReturnValue:
    with unit_of_work() as s:
        ended = accounts.end_sessions(s, actor=actor(), user_id=user_id, now=utcnow())
    flash(_("%(n)s sessions or tokens ended; the user must log in again.", n=ended), "success")
    return redirect(url_for("admin.user", user_id=user_id))


@bp.route("/users/<int:user_id>/reset-password", methods=["POST"])
def reset_user_password(user_id: int) -> ResponseReturnValue:
    with unit_of_work() as s:
        password = accounts.reset_password(s, actor=actor(), user_id=user_id, now=utcnow(), policy=policy())
    if password is None:
        return render_template("admin/users_pending.html", user=accounts.get_account(db(), actor=actor(),
                                                                                    user_id=user_id), created=False)
    return render_template("admin/users_password.html", user=accounts.get_account(db(), actor=actor(), user_id=user_id),
                           password=password, created=False)


@bp.route("/users/<int:user_id>/reset-second-factor", methods=["GET", "POST"])
def reset_second_factor(user_id: int) -> ResponseReturnValue:
    """Take away a user's second factor (a lost phone): a page to confirm first, as it cannot be undone."""
    row = accounts.get_account(db(), actor=actor(), user_id=user_id)
    if request.method == "GET":
        return render_template("admin/users_reset_second_factor.html", user=row,
                               factor=second_factor.factor_of(db(), user_id))
    try:
        with unit_of_work() as s:
            second_factor.reset(s, actor=actor(), user_id=user_id, now=utcnow())
    except WorkflowError as exc:
        if exc.status != 409:
            raise
        flash(message_of(exc), "info")
    else:
        flash(_("Two-step verification is reset; the user's sessions have ended and the user sets it up again."),
              "success")
    return redirect(url_for("admin.user", user_id=user_id))


@bp.route("/users/<int:user_id>/certificate", methods=["POST"])
def set_user_certificate(user_id: int) -> ResponseReturnValue:
    """Register the subject of the user's client certificate (UKey), or remove it (empty); the user's sessions end."""
    row = accounts.get_account(db(), actor=actor(), user_id=user_id)
    subject = request.form.get("subject", "")
    try:
        with unit_of_work() as s:
            user = set_certificate(s, username=row.username, subject=subject, now=utcnow(), actor=actor())
    except WorkflowError as exc:
        if exc.status in (403, 404):
            raise
        return _user_page(row, cert_errors=field_errors(exc), subject=subject, status=422)
    if user.cert_subject:
        flash(_("The certificate subject is registered; the user's sessions have ended."), "success")
    else:
        flash(_("The certificate subject is removed; the user's sessions have ended."), "success")
    return redirect(url_for("admin.user", user_id=user_id))
