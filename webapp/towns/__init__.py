"""The town registry pages."""

from flask import Blueprint

bp = Blueprint("towns", __name__)

from webapp.towns import views  # noqa: E402,F401
