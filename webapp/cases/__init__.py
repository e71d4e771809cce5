"""Inbox, case lists, the case page and the forms that fire transitions."""

from flask import Blueprint

from webapp.auth.roles import business_roles_only

bp = Blueprint("cases", __name__)
bp.before_request(business_roles_only)  # 三员分立: no administrator or auditor here

from webapp.cases import application, views  # noqa: E402,F401
