"""Supervision: the office's board of rectification orders, and planning inspections."""

from flask import Blueprint

from webapp.cases import DETAILS

bp = Blueprint("supervision", __name__)

DETAILS["inspection"] = "supervision/_detail_inspection.html"
DETAILS["rectification"] = "supervision/_detail_rectification.html"

from webapp.supervision import views  # noqa: E402,F401
