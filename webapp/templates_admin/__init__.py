"""Document templates (文书模板): the office replaces a notice's template with its own edited copy, downloads any
version and a sample, and puts an earlier version or the shipped template back (workflow.core.templates)."""

from flask import Blueprint

bp = Blueprint("templates_admin", __name__, url_prefix="/document-templates")

from webapp.templates_admin import views  # noqa: E402,F401
