"""The security auditor's pages (role auditor only): search, a case's history, export, verify integrity."""

from flask import Blueprint

bp = Blueprint("auditor", __name__, url_prefix="/auditor")

from webapp.auditor import views  # noqa: E402,F401
