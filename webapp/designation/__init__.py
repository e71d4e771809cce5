"""The designation's pages: the application form (申报书), its live eligibility panel, its part of the case page."""

from flask import Blueprint

from webapp.auth.roles import business_roles_only
from webapp.cases import DETAILS, NEW_CASE_PAGES, OWN_PAGES

bp = Blueprint("designation", __name__)
bp.before_request(business_roles_only)  # 三员分立: no administrator or auditor here

NEW_CASE_PAGES["designation"] = "designation.new_application"
OWN_PAGES[("designation", "edit")] = "designation.application"
DETAILS["designation"] = "designation/_detail.html"
DETAILS["redesignation"] = "designation/_review_detail.html"  # the re-designation review (滚动认定复核)

from webapp.designation import views  # noqa: E402,F401
