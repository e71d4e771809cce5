"""The town registry pages."""

from flask import Blueprint

from webapp.auth.roles import business_roles_only

bp = Blueprint("towns", __name__)
bp.before_request(business_roles_only)  # 三员分立: no administrator or auditor here

from webapp.towns import views  # noqa: E402,F401
