"""Attachments of cases: upload, list, download; and the .docx documents made from a case."""

from flask import Blueprint

from webapp.auth.roles import business_roles_only

bp = Blueprint("files", __name__)
bp.before_request(business_roles_only)  # 三员分立: no administrator or auditor here

from webapp.files import views  # noqa: E402,F401
