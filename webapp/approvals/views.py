"""Pending account requests: the list, one request with its confirmation, approve and reject. Nothing here shows
a password: an approved one goes to the user's own e-mail address and mobile number."""

from __future__ import annotations

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user, login_required

from webapp.approvals import bp
from webapp.auth.current import actor, policy
from webapp.database import db, unit_of_work, utcnow
from webapp.errors import field_errors, is_english
from workflow.accounts import approvals
from workflow.core.errors import WorkflowError
from workflow.core.reasons import parse_whole


@bp.before_request
@login_required
def approvers_only() -> None:
    if current_user.role != approvals.approver_role():
        abort(403)


@bp.app_template_global()
def account_approver_role() -> str:
    """The role that decides account requests (the navigation shows it the way there)."""
    return approvals.approver_role()


@bp.app_template_global()
def account_request_kind_label(kind: str) -> str:
    return {"create": _("New account"), "reset": _("Password reset")}.get(kind, kind)


@bp.app_template_global()
def account_request_status_label(status: str) -> str:
    return {"pending": _("Awaiting approval"), "approved": _("Approved"), "rejected": _("Rejected")}.get(status,
                                                                                                        status)


@bp.app_template_global()
def delivery_channel_label(channel: str) -> str:
    return {"email": _("E-mail"), "sms": _("SMS")}.get(channel, channel)


@bp.route("")
def index() -> ResponseReturnValue:
    page = approvals.list_pending(db(), actor=actor(), page=parse_whole(request.args.get("page"), low=1,
                                                                        high=999_999_999, default=1) or 1,
                                  per_page=current_app.config["PAGE_SIZE"])
    return render_template("approvals/index.html", page=page, me=actor().user_id)


def _show(request_id: int, errors: dict[str, list[str]], status: int = 200) -> ResponseReturnValue:
    me = actor()
    row = approvals.get_request(db(), actor=me, request_id=request_id)
    refusal = approvals.own_interest(me, row.request)
    return render_template("approvals/show.html", row=row, errors=errors, form=request.form,
                           refusal=(refusal[1] if is_english() else refusal[0]) if refusal else None), status


@bp.route("/<int:request_id>")
def show(request_id: int) -> ResponseReturnValue:
    return _show(request_id, {})


def _decide(request_id: int, approve: bool) -> ResponseReturnValue:
    try:
        with unit_of_work() as s:
            approvals.decide(s, actor=actor(), request_id=request_id, approve=approve, now=utcnow(), policy=policy(),
                             confirmed=request.form.get("confirm") == "yes", comment=request.form.get("comment"))
    except WorkflowError as exc:
        if exc.status in (403, 404, 409):
            raise
        return _show(request_id, field_errors(exc), 422)
    flash(_("Approved: the one-time password is on its way to the user's own e-mail address or mobile number.")
          if approve else _("Rejected: the account stays as it was."), "success")
    return redirect(url_for("approvals.index"))


@bp.route("/<int:request_id>/approve", methods=["POST"])
def approve(request_id: int) -> ResponseReturnValue:
    return _decide(request_id, True)


@bp.route("/<int:request_id>/reject", methods=["POST"])
def reject(request_id: int) -> ResponseReturnValue:
    return _decide(request_id, False)
