"""The project libraries' pages: the two lists (重点项目库, the county's 招商引资清单) with their filters and exports,
the new-project form, the Excel import with its template, and 三个一批. The stage moves and the quarterly update
are the case page's steps (their fields' widgets are registered here)."""

from flask import Blueprint
from flask_babel import lazy_gettext as _l

from webapp.auth.roles import business_roles_only
from webapp.cases import DETAILS, NEW_CASE_PAGES
from webapp.cases.fields import WIDGETS, Widget

bp = Blueprint("projects", __name__)
bp.before_request(business_roles_only)  # 三员分立: no administrator or auditor here

NEW_CASE_PAGES["key_project"] = "projects.new_key_project"
NEW_CASE_PAGES["investment_project"] = "projects.new_investment_project"
DETAILS["key_project"] = DETAILS["investment_project"] = "projects/_detail.html"
WIDGETS.update({
    "project_name": Widget("text", _l("Project name")),
    "enterprise": Widget("text", _l("Enterprise")),
    "investment_planned": Widget("number", _l("Planned investment (10,000 yuan)")),
    "investment_completed": Widget("number", _l("Investment completed so far (10,000 yuan)")),
    "support": Widget("textarea", _l("Support received")),
    "report_due_date": Widget("date", "report_due_date", internal=True),
    "signed_date": Widget("date", _l("Date signed")),
    "started_date": Widget("date", _l("Date construction started")),
    "producing_date": Widget("date", _l("Date production started")),
    "effective_date": Widget("date", _l("Date full output reached")),
    "landed_date": Widget("date", _l("Date landed")),
    "terminated_date": Widget("date", _l("Date terminated")),
    "termination_reason": Widget("textarea", _l("Reason for terminating")),
})

from webapp.projects import views  # noqa: E402,F401
