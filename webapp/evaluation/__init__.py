"""The annual evaluation's pages: the county's self-assessment form, a member unit's values form, the case page's
breakdown, the year's list with opening the evaluation by hand, and the year's ranking."""

from flask import Blueprint

from webapp.auth.roles import business_roles_only
from webapp.cases import DETAILS, OWN_PAGES

bp = Blueprint("evaluation", __name__)
bp.before_request(business_roles_only)  # 三员分立: no administrator or auditor here

OWN_PAGES[("evaluation_town", "save_assessment")] = "evaluation.assess"
OWN_PAGES[("evaluation_town", "submit_assessment")] = "evaluation.assess"
OWN_PAGES[("evaluation_town", "give_unit_values")] = "evaluation.score"
DETAILS["evaluation_town"] = "evaluation/_detail.html"
DETAILS["evaluation_ranking"] = "evaluation/_ranking_detail.html"

from webapp.evaluation import ranking, views  # noqa: E402,F401
