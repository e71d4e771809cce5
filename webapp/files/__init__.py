"""Attachments of cases: upload, list, download; and the .docx documents made from a case."""

from flask import Blueprint

bp = Blueprint("files", __name__)

from webapp.files import views  # noqa: E402,F401
