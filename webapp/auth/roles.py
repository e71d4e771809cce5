"""Separation of duties (三员分立) at the edge: business roles work on cases, the administrator manages accounts,
the auditor reads the trail. The services refuse too; this makes the pages answer 403 rather than show nothing."""

from __future__ import annotations

from flask import Flask, abort, request, url_for
from flask_login import current_user

from workflow.core.models import Role

BUSINESS_ROLES = frozenset({Role.county.value, Role.office.value, Role.member.value, Role.leader.value})
ANY_ROLE = {"cases.index"}  # "/" sends each role to its own start page


def business_roles_only() -> None:
    """before_request of the case, town and file blueprints: administrator and auditor get 403.

    Nobody logged in passes here and meets the view's login_required (a redirect to the login page)."""
    if current_user.is_authenticated and current_user.role not in BUSINESS_ROLES and request.endpoint not in ANY_ROLE:
        abort(403)


def home_url() -> str:
    """Where a user starts: the inbox for business roles, the accounts for the administrator, the trail for the
    auditor."""
    if not current_user.is_authenticated:
        return url_for("cases.inbox")  # which asks for a login first
    role = current_user.role
    if role == Role.admin:
        return url_for("admin.users")
    if role == Role.auditor:
        return url_for("auditor.search")
    if role in BUSINESS_ROLES:
        return url_for("cases.inbox")
    return url_for("notify.index")


def is_business() -> bool:
    return bool(current_user.is_authenticated and current_user.role in BUSINESS_ROLES)


def init_app(app: Flask) -> None:
    app.jinja_env.globals.update(home_url=home_url, is_business=is_business)
