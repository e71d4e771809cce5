"""Inbox, case lists, the case page and the forms that fire transitions."""

from flask import Blueprint

bp = Blueprint("cases", __name__)

from webapp.cases import application, views  # noqa: E402,F401
