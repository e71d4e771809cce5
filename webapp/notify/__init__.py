"""The notification centre: in-app messages, unread count, mark read."""

from flask import Blueprint

bp = Blueprint("notify", __name__)

from webapp.notify import views  # noqa: E402,F401
