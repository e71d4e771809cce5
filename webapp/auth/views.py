from __future__ import annotations

from datetime import datetime
from urllib.parse import urlsplit

from flask import flash, redirect, render_template, request, session, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user

from webapp import LOCALES
from webapp.auth import bp
from webapp.auth.current import (
    SessionUser,
    client_certificate,
    client_ip,
    factors,
    load_user_for_request,
    login_allowed,
    policy,
    too_many_attempts,
)
from webapp.auth.forms import LoginForm, PasswordForm
from webapp.auth.roles import home_url
from webapp.auth.sms import flash_sent, send_sms_code
from webapp.database import db, unit_of_work, utcnow
from webapp.errors import field_errors, message_of
from webapp.templating import lang
from workflow.accounts import seats, second_factor
from workflow.accounts.auth import authenticate, change_password, end_all_sessions, end_session, has_second_factor
from workflow.core.errors import WorkflowError
from workflow.core.models import LoginSession, Unit
from workflow.core.reasons import parse_whole

STANDING = "two_step_standing"  # the login session's id, its standing under the two-step policy, the date due
PENDING = "pending_login"  # the user whose password was right and who is asked for the code: id and time
OPEN_ENDPOINTS = {"auth.login", "auth.logout", "auth.password", "auth.language", "static"}
# What a user whose grace period to enrol has run out may still reach (README, "Two-step verification").
ENROLMENT_ENDPOINTS = {"auth.second_factor", "auth.second_factor_start", "auth.second_factor_confirm"}


@bp.app_template_global()
def acting_choices() -> list[seats.Identity]:
    """The ways the logged-in user may act (their own role and each seat they hold); one: nothing to choose."""
    if not current_user.is_authenticated:
        return []
    return seats.identities(db(), current_user.row)


@bp.app_template_global()
def seat_position_label(position: str) -> str:
    return seats.position_label(position, lang())


@bp.before_app_request
def resolve_login() -> ResponseReturnValue | None:
    if request.endpoint == "static":
        return None
    load_user_for_request()
    if not current_user.is_authenticated or request.blueprint == "api" or request.endpoint in OPEN_ENDPOINTS:
        return None
    if current_user.row.must_change_password:
        flash(_("Please set a new password before you continue."), "warning")
        return redirect(url_for("auth.password"))
    if request.endpoint in ENROLMENT_ENDPOINTS:
        return None
    found = _standing()
    if found.status == "overdue":
        flash(_("Two-step verification is required for your account: set it up to continue."), "warning")
        return redirect(url_for("auth.second_factor"))
    if found.status == "grace" and request.method == "GET" and not session.get("second_factor_invited"):
        session["second_factor_invited"] = True  # once per login: the page says how long, and may be skipped
        return redirect(url_for("auth.second_factor", next=request.full_path.rstrip("?")))
    return None


def _standing() -> second_factor.Standing:
    """The user's standing under the two-step policy, read once a login and kept in its cookie, so that a page
    costs no query for it: a grace period turns overdue by the clock alone (Standing.as_of), enrolling clears what
    was kept (second_factor_confirm), an administrator's reset ends every session, and a seat of a required role
    given during a login starts no grace period before the next login anyway (second_factor.begin_session)."""
    kept = session.get(STANDING)
    if not kept or kept[0] != current_user.session_id:
        found = second_factor.standing(db(), user=current_user.row, factors=factors(), now=utcnow())
        kept = session[STANDING] = [current_user.session_id, found.status,
                                    found.enrol_by_at.isoformat() if found.enrol_by_at else None]
    due = datetime.fromisoformat(kept[2]) if kept[2] else None
    return second_factor.Standing(kept[1], due).as_of(utcnow())


def safe_next(target: str | None) -> str:
    if target:
        parts = urlsplit(target)
        if not parts.scheme and not parts.netloc and target.startswith("/") and not target.startswith("//"):
            return target
    return home_url()



@bp.route("/login", methods=["GET", "POST"])
def login() -> ResponseReturnValue:
    if current_user.is_authenticated:
        return redirect(home_url())
    form = LoginForm()
    if form.validate_on_submit():
        session.pop(PENDING, None)  # a password step left unfinished ends with a new attempt
        if not login_allowed():
            return too_many_attempts()
        try:
            with unit_of_work() as s:
                user = authenticate(s, username=form.username.data.strip(), password=form.password.data,
                                    ip=client_ip(), now=utcnow(), policy=policy(), certificate=client_certificate())
                sms = None
                if has_second_factor(s, user.id):  # type: ignore[arg-type]  # SQLModel types an id as optional; this row is saved
                    key = None
                    sms = second_factor.login_sms_code(s, user=user, now=utcnow(), ip=client_ip())
                else:
                    key, row = second_factor.begin_session(s, user=user, kind="web", ip=client_ip(), now=utcnow(),
                                                           factors=factors(), policy=policy())
        except WorkflowError as exc:
            flash(message_of(exc), "error")
            return render_template("auth/login.html", form=form), 401
        fresh_session()
        if key is None:  # the password was right; the session starts once the code is right too
            session[PENDING] = {"user_id": user.id, "at": utcnow().timestamp()}
            if sms is not None:
                flash_sent(sms, send_sms_code(sms))
            return redirect(url_for("auth.login_code", next=request.args.get("next")))
        login_user(SessionUser(user, db().get(Unit, user.unit_id), key, row.id))  # type: ignore[arg-type]  # SQLModel types an id as optional; this row is saved
        return redirect(safe_next(request.args.get("next")))
    return render_template("auth/login.html", form=form), 400 if request.method == "POST" else 200


def fresh_session() -> None:
    """A fresh session id at every login step (the language chosen stays)."""
    lang = session.get("lang")
    session.clear()
    if lang:
        session["lang"] = lang


@bp.route("/logout", methods=["POST"])
def logout() -> ResponseReturnValue:
    if current_user.is_authenticated:
        with unit_of_work() as s:
            end_session(s, key=current_user.key, now=utcnow(), actor=current_user.actor())
        logout_user()
    lang = session.get("lang")
    session.clear()
    if lang:
        session["lang"] = lang
    flash(_("You have logged out."), "info")
    return redirect(url_for("auth.login"))


@bp.route("/password", methods=["GET", "POST"])
@login_required
def password() -> ResponseReturnValue:
    form = PasswordForm()
    errors: dict[str, list[str]] = {}
    if form.validate_on_submit():
        if not login_allowed():  # the current password is checked here: as many tries as at the login
            return too_many_attempts()
        if form.new.data != form.confirm.data:
            errors = {"confirm": [_("The two new passwords differ.")]}
        else:
            try:
                with unit_of_work() as s:
                    user = s.merge(current_user.row)
                    change_password(s, user=user, current=form.current.data, new=form.new.data, now=utcnow(),
                                    actor=current_user.actor(), policy=policy())
                    end_all_sessions(s, user_id=user.id, reason="password_changed", now=utcnow())
            except WorkflowError as exc:
                errors = field_errors(exc)
            else:
                logout_user()
                session.clear()
                flash(_("Your password has been changed. Please log in again."), "success")
                return redirect(url_for("auth.login"))
    status = 422 if errors or (request.method == "POST" and form.errors) else 200
    return render_template("auth/password.html", form=form, errors=errors, policy=policy()), status


@bp.route("/acting", methods=["POST"])
@login_required
def acting() -> ResponseReturnValue:
    """Act from now on in a seat of the roster the user holds, or in the account's own role (seat empty)."""
    raw = request.form.get("seat", "")
    seat_id = parse_whole(raw, low=0, high=999_999_999)
    if raw and seat_id is None:
        flash(_("Choose a seat you hold."), "error")
        return redirect(home_url())
    try:
        with unit_of_work() as s:
            login = s.get(LoginSession, current_user.session_id)
            assert login is not None  # the session this request came through
            chosen = seats.act_as(s, user=s.merge(current_user.row), login=login, seat_id=seat_id, now=utcnow(),
                                  ip=client_ip())
    except WorkflowError as exc:
        flash(message_of(exc), "error")
        return redirect(home_url())
    flash(_("You now act as %(who)s.", who=chosen.title or chosen.unit_name), "success")
    # the page asked from may not be the new role's: start again from the role's own first page
    return redirect(url_for("cases.index"))


@bp.route("/language", methods=["POST"])
def language() -> ResponseReturnValue:
    chosen = request.form.get("lang")
    if chosen in LOCALES:
        session["lang"] = chosen
    return redirect(safe_next(request.form.get("next")))
