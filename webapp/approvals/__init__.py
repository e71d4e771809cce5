"""The second person's pages (三员分立): account requests the administrator made, approved or rejected by the
security auditor or the office's users (ZYZ_ACCOUNT_APPROVER; workflow.accounts.approvals)."""

from flask import Blueprint

bp = Blueprint("approvals", __name__, url_prefix="/account-requests")

from webapp.approvals import views  # noqa: E402,F401
