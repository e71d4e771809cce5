"""The annual statistics' pages: the report form, the year's overview with opening the reports, the case page's
part, and a town's figures by year."""

from flask import Blueprint

from webapp.auth.roles import business_roles_only
from webapp.cases import DETAILS, OWN_PAGES

bp = Blueprint("statistics", __name__)
bp.before_request(business_roles_only)  # 三员分立: no administrator or auditor here

OWN_PAGES[("statistics_report", "save_figures")] = "statistics.fill"
OWN_PAGES[("statistics_report", "submit_figures")] = "statistics.fill"
DETAILS["statistics_report"] = "statistics/_detail.html"

from webapp.statistics import excel, views  # noqa: E402,F401
