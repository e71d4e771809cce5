"""The notification centre: in-app messages, unread count, mark read."""

from flask import Blueprint

bp = Blueprint("notices", __name__)

from webapp.notices import views  # noqa: E402,F401
