"""Two-step verification pages: the code after the password at login, and setting up the authenticator app (the QR
code is drawn here, as an SVG data URI: no request leaves the network) or SMS codes (sent through the notification
SMS gateway once the transaction that stored the code's hash has committed)."""

from __future__ import annotations

import segno
from flask import flash, redirect, render_template, request, session, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user

from notifications.sms import mask
from webapp.auth import bp
from webapp.auth.current import SessionUser, actor, client_ip, factors, login_allowed, policy, too_many_attempts
from webapp.auth.forms import CodeForm, RecoveryCodesForm
from webapp.auth.sms import flash_sent, send_sms_code
from webapp.auth.views import PENDING, STANDING, fresh_session, safe_next
from webapp.database import db, unit_of_work, utcnow
from webapp.errors import field_errors, message_of
from workflow.accounts import second_factor
from workflow.core.errors import WorkflowError
from workflow.core.models import Unit, User

PENDING_SECONDS = 300  # the code is asked for within five minutes of the password
LOW_CODES = 2  # the page warns when no more recovery codes than this are left


def _pending_user_id() -> int | None:
    pending = session.get(PENDING)
    if not isinstance(pending, dict) or not isinstance(pending.get("user_id"), int):
        return None
    if not 0 <= utcnow().timestamp() - float(pending.get("at", 0)) <= PENDING_SECONDS:
        return None
    return pending["user_id"]


@bp.route("/login/code", methods=["GET", "POST"])
def login_code() -> ResponseReturnValue:
    """The second step of an enrolled user's login: a code of the app, or a recovery code."""
    if current_user.is_authenticated:
        return redirect(safe_next(request.args.get("next")))
    user_id = _pending_user_id()
    if user_id is None:
        session.pop(PENDING, None)
        flash(_("Please log in again."), "info")
        return redirect(url_for("auth.login", next=request.args.get("next")))
    form = CodeForm()
    if form.validate_on_submit():
        if not login_allowed():  # a code is a guess like a password: the same limit per address
            return too_many_attempts()
        try:
            with unit_of_work() as s:
                user = s.get(User, user_id)
                assert user is not None  # accounts are never deleted
                factor = second_factor.check_code(s, user=user, code=form.code.data, ip=client_ip(), now=utcnow(),
                                                  policy=policy())
                key, row = second_factor.begin_session(s, user=user, kind="web", ip=client_ip(), now=utcnow(),
                                                       factors=factors(), factor=factor, policy=policy())
        except WorkflowError as exc:
            if exc.code != "bad_otp":  # locked, or the account changed meanwhile: start again from the password
                session.pop(PENDING, None)
            flash(message_of(exc), "error")
            return _code_page(form, user_id, 401)
        fresh_session()
        login_user(SessionUser(user, db().get(Unit, user.unit_id), key, row.id))  # type: ignore[arg-type]  # SQLModel types an id as optional; this row is saved
        if factor == "recovery":
            flash(_("You logged in with a recovery code; %(n)s are left. Each works only once.",
                    n=second_factor.recovery_codes_left(db(), user.id)), "warning")  # type: ignore[arg-type]  # SQLModel types an id as optional; this row is saved
        return redirect(safe_next(request.args.get("next")))
    return _code_page(form, user_id, 400 if request.method == "POST" else 200)


def _code_page(form: CodeForm, user_id: int, status: int) -> ResponseReturnValue:
    row = second_factor.factor_of(db(), user_id)
    return render_template("auth/login_code.html", form=form, is_sms=row is not None and row.method == "sms"), status


@bp.route("/login/code/resend", methods=["POST"])
def login_code_resend() -> ResponseReturnValue:
    """Another SMS code for the user waiting at the code page (one a minute)."""
    user_id = None if current_user.is_authenticated else _pending_user_id()
    if user_id is None:
        return redirect(url_for("auth.login_code", next=request.args.get("next")))
    try:
        with unit_of_work() as s:
            user = s.get(User, user_id)
            assert user is not None  # accounts are never deleted
            sms = second_factor.resend_sms_code(s, user=user, now=utcnow(), ip=client_ip())
    except WorkflowError as exc:
        flash(message_of(exc), "error")
    else:
        flash_sent(sms, send_sms_code(sms))
    return redirect(url_for("auth.login_code", next=request.args.get("next")))


def qr_data_uri(text: str) -> str:
    """`text` as a QR code, an SVG in a data: URI (the page's Content-Security-Policy allows data: images)."""
    return segno.make(text, error="m").svg_data_uri(scale=5, border=2)


@bp.route("/account/two-step", endpoint="second_factor")
@login_required
def second_factor_page() -> ResponseReturnValue:
    return _page()


def _page(form: CodeForm | None = None, errors: dict | None = None, status: int = 200,
          regenerate_errors: dict | None = None) -> ResponseReturnValue:
    user = current_user.row
    row = second_factor.factor_of(db(), user.id)
    secret = row.totp_secret if row is not None and row.confirmed_at is None else None
    sms_pending = row is not None and row.method == "sms" and row.confirmed_at is None and bool(row.sms_code_hash)
    return render_template(
        "auth/second_factor.html", row=row, form=form or CodeForm(), errors=errors or {}, sms_pending=sms_pending,
        regenerate_errors=regenerate_errors or {}, low_codes=LOW_CODES,
        mobile=mask(user.mobile) if user.mobile else None,
        standing=second_factor.standing(db(), user=user, factors=factors(), now=utcnow()),
        secret=secret, qr=qr_data_uri(second_factor.provisioning_uri(user, secret)) if secret else None,
        codes_left=second_factor.recovery_codes_left(db(), user.id) if row is not None and row.confirmed_at else 0,
        next_url=safe_next(request.args.get("next")),
    ), status


@bp.route("/account/two-step/start", methods=["POST"])
@login_required
def second_factor_start() -> ResponseReturnValue:
    with unit_of_work() as s:
        second_factor.begin_enrolment(s, user=s.merge(current_user.row), now=utcnow(), actor=actor())
    return redirect(url_for("auth.second_factor", next=request.args.get("next")))


@bp.route("/account/two-step/sms", methods=["POST"])
@login_required
def second_factor_sms() -> ResponseReturnValue:
    """Codes by SMS instead of an app: send the first one (or another), to confirm with."""
    try:
        with unit_of_work() as s:
            sms = second_factor.begin_sms_enrolment(s, user=s.merge(current_user.row), now=utcnow(), actor=actor())
    except WorkflowError as exc:
        if exc.status == 403:
            raise
        flash(message_of(exc), "error")
    else:
        flash_sent(sms, send_sms_code(sms))
    return redirect(url_for("auth.second_factor", next=request.args.get("next")))


@bp.route("/account/two-step/confirm", methods=["POST"])
@login_required
def second_factor_confirm() -> ResponseReturnValue:
    form = CodeForm()
    if not form.validate_on_submit():
        return _page(form, {"code": [_("Enter the 6 digits the app shows.")]}, 422)
    try:
        with unit_of_work() as s:
            codes = second_factor.confirm_enrolment(s, user=s.merge(current_user.row), code=form.code.data,
                                                    now=utcnow(), actor=actor())
    except WorkflowError as exc:
        if exc.status == 409:
            flash(message_of(exc), "error")
            return redirect(url_for("auth.second_factor"))
        return _page(form, field_errors(exc), 422)
    session.pop(STANDING, None)
    return render_template("auth/recovery_codes.html", codes=codes, next_url=safe_next(request.args.get("next")))


@bp.route("/account/two-step/recovery-codes", methods=["POST"])
@login_required
def second_factor_recovery_codes() -> ResponseReturnValue:
    """Ten new recovery codes in place of the old ones, once the account's password is given; shown once."""
    form = RecoveryCodesForm()
    if not form.validate_on_submit():
        return _page(regenerate_errors={"password": [_("Enter your current password.")]}, status=422)
    if not login_allowed():  # the password is checked here: as many tries as at the login
        return too_many_attempts()
    try:
        with unit_of_work() as s:
            codes = second_factor.regenerate_recovery_codes(s, user=s.merge(current_user.row),
                                                            password=form.password.data, now=utcnow(),
                                                            actor=actor(), policy=policy())
    except WorkflowError as exc:
        if exc.status in (403, 409):  # not set up: nothing to replace (the page offers no such form)
            raise
        return _page(regenerate_errors=field_errors(exc), status=422)
    return render_template("auth/recovery_codes.html", codes=codes, is_new=True,
                           next_url=url_for("auth.second_factor"))
