"""The problem ledger's pages: the ledger (filters, pages, Excel export), logging a problem with its evidence,
assigning it to a unit, an existing Excel ledger read in, and the problem's part of the case page. The other steps
(the unit's answers, the office's verification and escalation, the leader's decision) are the case page's own
transition forms, with the fields' widgets registered here."""

from flask import Blueprint
from flask_babel import lazy_gettext as _l

from webapp.auth.roles import business_roles_only
from webapp.cases import DETAILS, OWN_PAGES, STARTED_ELSEWHERE
from webapp.cases.fields import WIDGETS, Widget

bp = Blueprint("problems", __name__)
bp.before_request(business_roles_only)  # 三员分立: no administrator or auditor here

STARTED_ELSEWHERE.add("problem")  # logged from the ledger's own form (problems.log)
OWN_PAGES[("problem", "assign")] = "problems.assign"
OWN_PAGES[("problem", "meeting_assign")] = "problems.assign"
DETAILS["problem"] = "problems/_detail.html"
WIDGETS.update({
    "resolution": Widget("textarea", _l("What was done to solve it")),
    "plan": Widget("textarea", _l("The plan to solve it")),
    "plan_date": Widget("date", _l("Solved by (planned date)")),
    "unsolvable_reason": Widget("textarea", _l("Why it cannot be solved at this level")),
    "order_due_date": Widget("date", _l("The order's deadline")),
    "order_problem": Widget("textarea", _l("Problem to rectify (left empty: the problem's description)")),
    "meeting_note": Widget("textarea", _l("Note for the meeting (the issue and the office's proposal)")),
    "decision_text": Widget("textarea", _l("The meeting's decision")),
})

from webapp.problems import views  # noqa: E402,F401
