"""Administration pages (role admin): accounts, units, the roster and the working-day calendar."""

from flask import Blueprint

bp = Blueprint("admin", __name__, url_prefix="/admin")

from webapp.admin import roster, units, users, views  # noqa: E402,F401
