"""The provincial recommendation's pages (推荐上报): the rounds and the shortlist, opening a round, a round's page
(choosing its towns, recording the province's answers, the dossier), and the round's part of the case page. The
office's submission and the leader's approval or return are the case page's own transition buttons."""

from flask import Blueprint

from webapp.auth.roles import business_roles_only
from webapp.cases import DETAILS, OWN_PAGES, STARTED_ELSEWHERE

bp = Blueprint("recommendation", __name__)
bp.before_request(business_roles_only)  # 三员分立: no administrator or auditor here

STARTED_ELSEWHERE.add("provincial_recommendation")  # opened from the recommendations page
OWN_PAGES[("provincial_recommendation", "select_towns")] = "recommendation.show"
OWN_PAGES[("provincial_recommendation", "record_answer")] = "recommendation.show"
DETAILS["provincial_recommendation"] = "recommendation/_detail.html"

from webapp.recommendation import views  # noqa: E402,F401
