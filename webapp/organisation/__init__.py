"""The organisation: the leading group's roster as the plan's annex prints it (组成人员, 工作机构)."""

from flask import Blueprint

bp = Blueprint("organisation", __name__)

from webapp.organisation import views  # noqa: E402,F401
