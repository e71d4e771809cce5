"""Receipts (签收): a county's notices to acknowledge, the confirmation step, and the office's overview."""

from flask import Blueprint

from webapp.auth.roles import business_roles_only

bp = Blueprint("receipts", __name__)
bp.before_request(business_roles_only)  # 三员分立: no administrator or auditor here

from webapp.receipts import views  # noqa: E402,F401
