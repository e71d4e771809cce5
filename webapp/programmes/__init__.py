"""The action plan's pages: the programme board (per programme and per unit, printable, exported to .xlsx), the task
list, the year's plan (drafted by the office; submitted and approved through the case page's steps), a task's
progress report form with its evidence, and the office's form for a meeting's decisions."""

from flask import Blueprint
from flask_babel import lazy_gettext as _l

from webapp.auth.roles import business_roles_only
from webapp.cases import DETAILS, OWN_PAGES
from webapp.cases.fields import WIDGETS, Widget

bp = Blueprint("programmes", __name__)
bp.before_request(business_roles_only)  # 三员分立: no administrator or auditor here

OWN_PAGES[("plan_task", "submit_report")] = "programmes.report"
OWN_PAGES[("action_plan", "save_task")] = "programmes.plan_of_case"
OWN_PAGES[("action_plan", "remove_task")] = "programmes.plan_of_case"
DETAILS["plan_task"] = "programmes/_task_detail.html"
DETAILS["action_plan"] = "programmes/_plan_detail.html"
WIDGETS["supervision_due_date"] = Widget("date", _l("Supervision deadline"))

from webapp.programmes import views  # noqa: E402,F401
