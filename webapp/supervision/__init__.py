"""Supervision: the office's board of rectification orders, and planning inspections."""

from flask import Blueprint

bp = Blueprint("supervision", __name__)

from webapp.supervision import views  # noqa: E402,F401
