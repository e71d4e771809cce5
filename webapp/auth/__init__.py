"""Login, logout, password change, and who the current user is."""

from flask import Blueprint

bp = Blueprint("auth", __name__)

from webapp.auth import two_step, views  # noqa: E402,F401
