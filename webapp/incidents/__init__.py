"""Incidents: the office's list of automatic steps that failed after their retries, to retry or resolve."""

from flask import Blueprint

bp = Blueprint("incidents", __name__)

from webapp.incidents import views  # noqa: E402,F401
