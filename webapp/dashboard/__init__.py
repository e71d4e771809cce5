"""The dashboard (工作看板): the plan's targets with their progress, output by year, the registry, designations and
supervision at a glance, for the leading group and the office (every county) and for a county (its own towns)."""

from flask import Blueprint

from webapp.auth.roles import business_roles_only

bp = Blueprint("dashboard", __name__)
bp.before_request(business_roles_only)  # 三员分立: no administrator or auditor here

from webapp.dashboard import views  # noqa: E402,F401
