"""The access matrix, generated from the application's own URL map: every route and method (pages and API), called
by every role and by nobody, on an object of the user's own county, of another county and on an id that does not
exist, answers the status written in EXPECTED below. A route added without a row here fails the test, which then
prints what the new route answered, ready to be checked and copied in.

Along the way: every response carries the security headers; another county's object answers exactly like a
missing one (same status, same body); and no GET writes anything but the session's last-seen time (a refusal may
add its `permission_refused` event, reading the trail may add the auditor's own events)."""

from __future__ import annotations

import hashlib
from urllib.parse import quote

import pytest
import sqlalchemy as sa
from sqlmodel import SQLModel
from world import ROLES, args, build_world, clients, tokens

from conftest import csrf_token, login, without_csrf_token

OBJECT_KINDS = ("own", "other", "missing")
B = ("county", "office", "member", "leader")  # the business roles


def same(status: int) -> dict[str, int]:
    return dict.fromkeys(ROLES, status)


def business(ok, *, admin=403, auditor=403, anonymous=302, **roles) -> dict[str, object]:
    """Business roles get `ok` (or what `roles` says); the administrator and the auditor 403; nobody a login."""
    return {**dict.fromkeys(B, ok), **roles, "admin": admin, "auditor": auditor, "anonymous": anonymous}


def only(role: str, ok, *, refused=403, anonymous=302) -> dict[str, object]:
    return {**dict.fromkeys(ROLES, refused), role: ok, "anonymous": anonymous}


# (endpoint, method) -> role -> status, or (own, other, missing) for routes that take an object id.
# Pages send nobody to the login page (302); the API answers 401. See the module docstring.
SEES_ALL = (200, 200, 404)  # office and leader see every county's case
OWN_ONLY = (200, 404, 404)  # a county its own; a member unit the case it was asked about
REFUSED = (403, 403, 403)  # 三员分立: the administrator and the auditor, whatever the object
LOGIN = (302, 302, 302)
API_LOGIN = (401, 401, 401)


def case_page(ok_own=OWN_ONLY, ok_all=SEES_ALL, **roles) -> dict[str, object]:
    """A page about one case: what each business role sees, 403 for administrator and auditor."""
    return {"county": ok_own, "office": ok_all, "member": ok_own, "leader": ok_all, **roles,
            "admin": REFUSED, "auditor": REFUSED, "anonymous": LOGIN}


def case_api(ok_own=OWN_ONLY, ok_all=SEES_ALL, **roles) -> dict[str, object]:
    return {**case_page(ok_own, ok_all, **roles), "anonymous": API_LOGIN}


def admin_page(ok, *, missing: int | None = None) -> dict[str, object]:
    """An administrator's page: everyone else 403 (an object page: 403 whatever the object)."""
    if missing is None:
        return only("admin", ok)
    return {**dict.fromkeys(ROLES, REFUSED), "admin": (ok, ok, missing), "anonymous": LOGIN}


def office_object(ok, *, missing: int = 404, anonymous=LOGIN) -> dict[str, object]:
    """An office page about an object that is not a county's (a document's template): every other role 403."""
    return {**dict.fromkeys(ROLES, REFUSED), "office": (ok, ok, missing), "anonymous": anonymous}


EXPECTED: dict[tuple[str, str], dict[str, object]] = {
    # --- open to everyone --------------------------------------------------------------------------------------
    ("static", "GET"): same((200, 200, 404)),
    ("favicon", "GET"): same(200),
    ("auth.login", "GET"): {**same(302), "anonymous": 200},
    ("auth.login", "POST"): {**same(302), "anonymous": 400},  # logged in: to the start page; nobody: empty form
    ("auth.logout", "POST"): same(302),
    ("auth.language", "POST"): same(302),
    ("auth.password", "GET"): {**same(200), "anonymous": 302},
    ("auth.password", "POST"): {**same(422), "anonymous": 302},
    ("auth.acting", "POST"): same(302),  # to the start page, acting in the account's own role (no seat held)
    # the code after the password: nobody is waiting for one here (logged in: to the start page; nobody: the login)
    ("auth.login_code", "GET"): same(302),
    ("auth.login_code", "POST"): same(302),
    ("auth.login_code_resend", "POST"): same(302),
    ("auth.second_factor", "GET"): {**same(200), "anonymous": 302},
    ("auth.second_factor_start", "POST"): {**same(302), "anonymous": 302},  # back to the page with the QR code
    ("auth.second_factor_sms", "POST"): {**same(302), "anonymous": 302},  # back to the page, the SMS sent or not
    ("auth.second_factor_confirm", "POST"): {**same(422), "anonymous": 302},  # no code
    ("auth.second_factor_recovery_codes", "POST"): {**same(422), "anonymous": 302},  # no password
    ("organisation.roster", "GET"): {**same(200), "anonymous": 302},  # the roster is the annex: everyone reads it
    ("notify.index", "GET"): {**same(200), "anonymous": 302},
    ("notify.read", "POST"): same(LOGIN),  # another user's notification changes nothing, like a missing one
    ("notify.read_all", "POST"): same(302),
    ("notify.preferences", "GET"): {**same(200), "anonymous": 302},
    ("notify.preferences", "POST"): {**same(422), "anonymous": 302},  # an empty form: reminders need a channel
    ("notify.failed", "GET"): only("office", 200),
    ("notify.retry", "POST"): {**dict.fromkeys(ROLES, REFUSED), "office": (302, 302, 302),
                                "anonymous": LOGIN},  # back to the list, with a message (a missing one too)
    ("notify.user_preferences", "GET"): admin_page(200, missing=404),
    # incidents: the office's, whatever the county; a failed step of a case without a deadline row cannot be
    # retried here (409 / back with a message); resolving without a comment is a 422
    ("incidents.index", "GET"): only("office", 200),
    ("incidents.show", "GET"): {**dict.fromkeys(ROLES, REFUSED), "office": (200, 200, 404), "anonymous": LOGIN},
    ("incidents.retry", "POST"): {**dict.fromkeys(ROLES, REFUSED), "office": (302, 302, 404), "anonymous": LOGIN},
    ("incidents.resolve", "POST"): {**dict.fromkeys(ROLES, REFUSED), "office": (422, 422, 404),
                                    "anonymous": LOGIN},
    ("api.list_incidents", "GET"): only("office", 200, anonymous=401),
    ("api.show_incident", "GET"): {**dict.fromkeys(ROLES, REFUSED), "office": (200, 200, 404),
                                   "anonymous": API_LOGIN},
    ("api.retry_incident_api", "POST"): {**dict.fromkeys(ROLES, REFUSED), "office": (409, 409, 404),
                                         "anonymous": API_LOGIN},
    ("api.resolve_incident_api", "POST"): {**dict.fromkeys(ROLES, REFUSED), "office": (422, 422, 422),
                                           "anonymous": API_LOGIN},  # the body is checked first
    ("notify.user_preferences", "POST"): admin_page(422, missing=404),
    # document templates: the office's (not the administrator's); an upload without its confirmation is shown the
    # form again (422), a restore's confirmation page defaults to the shipped template
    ("templates_admin.index", "GET"): only("office", 200),
    ("templates_admin.show", "GET"): office_object(200),
    ("templates_admin.download", "GET"): office_object(200),
    ("templates_admin.sample", "GET"): office_object(200),
    ("templates_admin.upload", "POST"): office_object(422),
    ("templates_admin.restore", "GET"): office_object(200),
    ("templates_admin.restore", "POST"): office_object(422),
    ("api.list_templates", "GET"): only("office", 200, anonymous=401),
    ("api.upload_template", "POST"): office_object(422, anonymous=API_LOGIN),  # no note, no file
    ("api.restore_template", "POST"): office_object(422, missing=422, anonymous=API_LOGIN),  # the body first
    ("cases.index", "GET"): same(302),  # each role to its own start page
    # --- the business: cases, towns, files, supervision -------------------------------------------------------
    ("cases.inbox", "GET"): business(200),
    ("cases.list_cases", "GET"): business(200),
    # 导出 Excel: a POST (the export is an audit event), for whoever may read the list; a county's own cases only
    ("cases.export_inbox", "POST"): business(200),
    ("cases.export_cases", "POST"): business(200),
    ("cases.search", "GET"): business(200),  # without a query the search box alone; what is found: test_search*.py
    ("cases.show", "GET"): case_page(),
    ("cases.diagram", "GET"): case_page(),
    # record_opinion is the member unit's: others who see the case are refused, who do not see it get 404
    ("cases.transition", "GET"): case_page(county=(403, 404, 404), office=(403, 403, 404), member=OWN_ONLY,
                                           leader=(403, 403, 404)),
    ("cases.transition", "POST"): case_page(county=(403, 404, 404), office=(403, 403, 404), member=(422, 404, 404),
                                            leader=(403, 403, 404)),
    # the application form is the county's; in consultation it sends the county back to the case page
    ("designation.application", "GET"): case_page(county=(302, 404, 404), office=(403, 403, 404),
                                                  member=(403, 404, 404), leader=(403, 403, 404)),
    ("designation.application", "POST"): case_page(county=(302, 404, 404), office=(403, 403, 404),
                                                   member=(403, 404, 404), leader=(403, 403, 404)),
    ("cases.new_case", "GET"): business(403, county=302, office=200),  # a county starts on the application form
    ("cases.new_case", "POST"): business(403, county=302, office=422),
    ("designation.new_application", "GET"): business(403, county=200),
    ("designation.new_application", "POST"): business(403, county=422),
    ("designation.eligibility_preview", "POST"): business(200),
    ("files.download", "GET"): case_page(),
    # the opinion sheet: the leading group and its office; a member unit once the review has concluded (the world's
    # case is still in consultation); never the applying county (definitions/visibility.yaml)
    ("files.opinion_sheet", "GET"): case_page(county=(403, 404, 404), member=(403, 404, 404)),
    # the draft of the notice a case is about to issue: the world's case issues none in its state (404 for all who
    # see it; tests/designation/test_notices_issued.py shows the office and the leader a draft, the county none)
    ("files.preview", "GET"): case_page(county=(404, 404, 404), office=(404, 404, 404), member=(404, 404, 404),
                                        leader=(404, 404, 404)),
    ("files.preview_docx", "GET"): case_page(county=(404, 404, 404), office=(404, 404, 404),
                                             member=(404, 404, 404), leader=(404, 404, 404)),
    ("files.upload", "POST"): case_page(county=(302, 404, 404), office=(302, 302, 404), member=(302, 404, 404),
                                        leader=(403, 403, 404)),  # no file: back to the case with a message
    ("towns.index", "GET"): business(200),
    ("towns.export", "POST"): business(200),
    ("towns.show", "GET"): case_page(member=SEES_ALL),  # member units read every town
    ("supervision.board", "GET"): business(403, office=200, leader=200),
    ("supervision.export_board", "POST"): business(403, office=200, leader=200),
    ("supervision.plan", "GET"): business(403, office=200),
    ("supervision.plan", "POST"): business(403, office=422),
    # 催办 in one batch (the office's): the confirmation page, then the POST (unconfirmed: 422); county B's case in
    # 会审 has no unit waiting (nobody to remind); through the API a GET reads the batch and a POST sends it
    ("cases.chase_opinions", "GET"): {**dict.fromkeys(ROLES, REFUSED), "office": (200, 200, 404), "anonymous": LOGIN},
    ("cases.chase_opinions", "POST"): {**dict.fromkeys(ROLES, REFUSED), "office": (422, 422, 404),
                                       "anonymous": LOGIN},
    ("supervision.chase_overdue_orders", "GET"): business(403, office=200),
    ("supervision.chase_overdue_orders", "POST"): business(403, office=422),
    ("api.plan_chase_opinions", "GET"): {**dict.fromkeys(ROLES, REFUSED), "office": (200, 200, 404),
                                         "anonymous": API_LOGIN},
    ("api.chase_opinions_api", "POST"): {**dict.fromkeys(ROLES, REFUSED), "office": (200, 409, 404),
                                         "anonymous": API_LOGIN},
    ("api.plan_chase_orders", "GET"): only("office", 200, anonymous=401),
    ("api.chase_orders_api", "POST"): only("office", 409, anonymous=401),  # no order is overdue in this world
    # receipts (签收): a county acknowledges its own notices (the page asks to confirm first: an unconfirmed POST is
    # a 422); the office and the leading group see every county's
    ("receipts.mine", "GET"): business(403, county=200),
    ("receipts.overview", "GET"): business(403, office=200, leader=200),
    ("receipts.export_mine", "POST"): business(403, county=200),
    ("receipts.export_overview", "POST"): business(403, office=200, leader=200),
    ("receipts.acknowledge", "GET"): case_page(county=(200, 404, 404), office=REFUSED, member=REFUSED,
                                               leader=REFUSED),
    ("receipts.acknowledge", "POST"): case_page(county=(422, 404, 404), office=REFUSED, member=REFUSED,
                                                leader=REFUSED),
    # 常用组合 (saved sets of member units for 受理): the office's, whatever the county. Saving from a case's form goes
    # back to that form (an empty name: with a message); a county or member unit that sees the case is refused.
    # The API's DELETE runs first (its rule sorts first) and deletes both of the world's sets, so the page's delete
    # finds them gone and goes back to the list with a message, as for a missing one.
    ("cases.save_unit_preset", "POST"): case_page(county=(403, 404, 404), office=(303, 303, 404),
                                                  member=(403, 404, 404), leader=(403, 403, 404)),
    ("cases.unit_presets_page", "GET"): only("office", 200),
    ("cases.delete_unit_preset", "POST"): {**dict.fromkeys(ROLES, REFUSED), "office": (303, 303, 303),
                                           "anonymous": LOGIN},
    ("api.list_unit_presets", "GET"): only("office", 200, anonymous=401),
    ("api.save_unit_preset_api", "POST"): only("office", 422, anonymous=401),  # an empty body
    ("api.delete_unit_preset_api", "DELETE"): office_object(200, anonymous=API_LOGIN),
    # --- the administrator: accounts and the working-day calendar ----------------------------------------------
    ("admin.users", "GET"): admin_page(200),
    ("admin.new_user", "GET"): admin_page(200),
    ("admin.new_user", "POST"): admin_page(422),
    ("admin.user", "GET"): admin_page(200, missing=404),
    ("admin.user", "POST"): admin_page(422, missing=404),
    ("admin.disable_user", "POST"): admin_page(302, missing=404),
    ("admin.enable_user", "POST"): admin_page(302, missing=404),
    ("admin.unlock_user", "POST"): admin_page(302, missing=404),
    ("admin.end_user_sessions", "POST"): admin_page(302, missing=404),
    ("admin.reset_user_password", "POST"): admin_page(200, missing=404),  # the one-time password, shown once
    ("admin.reset_second_factor", "GET"): admin_page(200, missing=404),  # the page that asks to confirm
    ("admin.reset_second_factor", "POST"): admin_page(302, missing=404),
    ("admin.set_user_certificate", "POST"): admin_page(302, missing=404),  # no subject: none registered
    ("admin.units", "GET"): admin_page(200),
    ("admin.new_unit", "GET"): admin_page(200),
    ("admin.new_unit", "POST"): admin_page(422),  # no name, no kind
    ("admin.unit", "GET"): admin_page(200, missing=404),
    ("admin.unit", "POST"): admin_page(422, missing=404),  # an empty name
    ("admin.deactivate_unit", "POST"): admin_page(302, missing=404),
    ("admin.activate_unit", "POST"): admin_page(302, missing=404),
    ("admin.calendar", "GET"): admin_page(200),
    ("admin.roster", "GET"): admin_page(200),
    ("admin.add_seat", "POST"): admin_page(422),
    ("admin.seat_action", "POST"): admin_page(302, missing=404),
    ("admin.seat", "GET"): admin_page(200, missing=404),
    ("admin.calendar_year", "GET"): admin_page(200, missing=404),  # 2026, 2027; 1999 is out of range
    ("admin.calendar_year", "POST"): admin_page(422, missing=404),
    # --- the auditor: the trail only (webapp/auditor) ----------------------------------------------------------
    # account approvals: the approver's (the auditor unless ZYZ_ACCOUNT_APPROVER says office); a decision without
    # its confirmation is shown the form again
    ("approvals.index", "GET"): only("auditor", 200),
    ("approvals.show", "GET"): {**dict.fromkeys(ROLES, REFUSED), "auditor": (200, 200, 404), "anonymous": LOGIN},
    ("approvals.approve", "POST"): {**dict.fromkeys(ROLES, REFUSED), "auditor": (422, 422, 404),
                                    "anonymous": LOGIN},
    ("approvals.reject", "POST"): {**dict.fromkeys(ROLES, REFUSED), "auditor": (422, 422, 404),
                                   "anonymous": LOGIN},
    ("auditor.search", "GET"): only("auditor", 200),
    ("auditor.case_history", "GET"): {**dict.fromkeys(ROLES, REFUSED), "auditor": (200, 200, 200),
                                      "anonymous": LOGIN},  # any case's trail; an unknown id has none
    ("auditor.export", "POST"): only("auditor", 400),  # no format chosen
    ("auditor.verify", "GET"): only("auditor", 200),
    ("auditor.verify", "POST"): only("auditor", 200),
    # --- the API: Bearer tokens only, 401 without -------------------------------------------------------------
    ("api.openapi", "GET"): same(200),
    ("api.token", "POST"): same(422),  # an empty body, whoever sends it
    ("api.me", "GET"): {**same(200), "anonymous": 401},
    ("api.definitions", "GET"): {**same(200), "anonymous": 401},
    ("api.list_cases", "GET"): {**dict.fromkeys(B, 200), "admin": 403, "auditor": 403, "anonymous": 401},
    ("api.export_cases", "POST"): {**dict.fromkeys(B, 200), "admin": 403, "auditor": 403, "anonymous": 401},
    ("api.create", "POST"): {**dict.fromkeys(B, 422), "admin": 403, "auditor": 403, "anonymous": 401},
    ("api.search", "GET"): {**dict.fromkeys(B, 400), "admin": 403, "auditor": 403, "anonymous": 401},  # no q
    ("api.show", "GET"): case_api(),
    ("api.events", "GET"): case_api(),
    ("api.case_panel_api", "GET"): case_api(),
    # the statistics report's form answers 404 for any other kind of case (the world's are designations); who may
    # fill a report is in tests/statistics/test_statistics_web.py
    ("statistics.fill", "GET"): {**dict.fromkeys(B, (404, 404, 404)), "admin": (403, 403, 403),
                                 "auditor": (403, 403, 403), "anonymous": (302, 302, 302)},
    ("statistics.fill", "POST"): {**dict.fromkeys(B, (404, 404, 404)), "admin": (403, 403, 403),
                                  "auditor": (403, 403, 403), "anonymous": (302, 302, 302)},
    # the evaluation's forms answer 404 for any other kind of case (the world's are designations); who may fill
    # them is in tests/evaluation/test_campaign_web.py
    ("evaluation.assess", "GET"): {**dict.fromkeys(B, (404, 404, 404)), "admin": REFUSED, "auditor": REFUSED,
                                   "anonymous": LOGIN},
    ("evaluation.assess", "POST"): {**dict.fromkeys(B, (404, 404, 404)), "admin": REFUSED, "auditor": REFUSED,
                                    "anonymous": LOGIN},
    ("evaluation.score", "GET"): {**dict.fromkeys(B, (404, 404, 404)), "admin": REFUSED, "auditor": REFUSED,
                                  "anonymous": LOGIN},
    ("evaluation.score", "POST"): {**dict.fromkeys(B, (404, 404, 404)), "admin": REFUSED, "auditor": REFUSED,
                                   "anonymous": LOGIN},
    ("evaluation.open_year", "POST"): only("office", 303),
    ("evaluation.overview", "GET"): business(200),  # each sees the evaluations it may see: test_campaign_web.py
    # the year's ranking: the office and the leader in every state, a county once published, no member unit; the
    # world has no ranking (the page says so; a year's export and JSON are not found). test_ranking_web.py has the
    # rest
    ("evaluation.ranking", "GET"): business(200, member=403),
    ("evaluation.export_ranking", "POST"): {**dict.fromkeys(ROLES, REFUSED), "county": (404, 404, 404),
                                            "office": (404, 404, 404), "leader": (404, 404, 404),
                                            "anonymous": LOGIN},
    ("api.evaluation_ranking", "GET"): {**dict.fromkeys(ROLES, REFUSED), "county": (404, 404, 404),
                                        "office": (404, 404, 404), "leader": (404, 404, 404),
                                        "anonymous": API_LOGIN},
    # the project libraries: counties, the office and the leader; member units have no part in them. `library`
    # names a list (key | investment), not an object: each role sees its own projects in either, an unknown
    # library is 404. The API's case ids are the world's designations: not projects (bodies refused first).
    ("projects.ledger", "GET"): {**dict.fromkeys(B, (200, 200, 404)), "member": (403, 403, 404),
                                 "admin": REFUSED, "auditor": REFUSED, "anonymous": LOGIN},
    ("projects.export", "POST"): {**dict.fromkeys(B, (200, 200, 404)), "member": (403, 403, 404),
                                  "admin": REFUSED, "auditor": REFUSED, "anonymous": LOGIN},
    ("projects.import_template", "GET"): {**dict.fromkeys(B, (200, 200, 404)), "member": (403, 403, 404),
                                          "leader": (403, 403, 404), "admin": REFUSED, "auditor": REFUSED,
                                          "anonymous": LOGIN},
    ("projects.import_projects", "POST"): {**dict.fromkeys(B, (422, 422, 404)), "member": (403, 403, 404),
                                           "leader": (403, 403, 404), "admin": REFUSED, "auditor": REFUSED,
                                           "anonymous": LOGIN},
    ("projects.new_key_project", "GET"): business(200, member=403, leader=403),
    ("projects.new_key_project", "POST"): business(422, member=403, leader=403),
    ("projects.new_investment_project", "GET"): business(200, member=403, leader=403),
    ("projects.new_investment_project", "POST"): business(422, member=403, leader=403),
    ("projects.batches", "GET"): business(200, member=403),
    ("projects.export_batches", "POST"): business(200, member=403),
    ("api.list_projects", "GET"): {**dict.fromkeys(B, (200, 200, 404)), "member": REFUSED, "admin": REFUSED,
                                   "auditor": REFUSED, "anonymous": API_LOGIN},
    ("api.create_project_api", "POST"): {**dict.fromkeys(ROLES, REFUSED), "county": (422, 422, 422),
                                         "office": (422, 422, 422), "anonymous": API_LOGIN},
    ("api.update_project_api", "POST"): {**dict.fromkeys(ROLES, REFUSED), "county": (422, 422, 422),
                                         "office": (422, 422, 422), "anonymous": API_LOGIN},
    ("api.move_project_api", "POST"): {**dict.fromkeys(ROLES, REFUSED), "county": (422, 422, 422),
                                       "office": (422, 422, 422), "anonymous": API_LOGIN},
    ("api.three_batches_api", "GET"): {**dict.fromkeys(ROLES, REFUSED), "county": (200, 200, 200),
                                       "office": (200, 200, 200), "leader": (200, 200, 200), "anonymous": API_LOGIN},
    ("statistics.open_year", "POST"): only("office", 303),
    ("statistics.overview", "GET"): business(200),
    ("statistics.export_year", "POST"): business(200),  # a county's own towns only: test_statistics_web.py
    # the Excel round trip is the county's; the world has no statistics report, so every year is one the county
    # has no report of: not found (tests/statistics/test_statistics_excel.py has the rest)
    ("statistics.excel_template", "GET"): {**dict.fromkeys(ROLES, REFUSED), "county": (404, 404, 404),
                                           "anonymous": LOGIN},
    ("statistics.excel_import", "POST"): {**dict.fromkeys(ROLES, REFUSED), "county": (404, 404, 404),
                                          "anonymous": LOGIN},
    ("api.statistics_template", "GET"): {**dict.fromkeys(ROLES, REFUSED), "county": (404, 404, 404),
                                         "anonymous": API_LOGIN},
    ("api.statistics_import", "POST"): {**dict.fromkeys(ROLES, REFUSED), "county": (404, 404, 404),
                                        "anonymous": API_LOGIN},
    # the dashboard: the leading group and the office see every county, a county its own towns; no member unit
    ("dashboard.index", "GET"): business(200, member=403),
    ("api.dashboard", "GET"): {**dict.fromkeys(B, 200), "member": 403, "admin": 403, "auditor": 403,
                               "anonymous": 401},
    ("api.case_attachments", "GET"): case_api(),
    ("api.download_attachment", "GET"): case_api(),
    ("api.transition", "POST"): case_api(ok_own=(422, 422, 422), ok_all=(422, 422, 422)),  # the body is read first
    ("api.upload_attachment", "POST"): case_api(ok_own=(422, 404, 404), ok_all=(422, 422, 404),
                                                leader=(403, 403, 404)),
    ("api.list_receipts", "GET"): {**dict.fromkeys(B, 200), "member": 403, "admin": 403, "auditor": 403,
                                   "anonymous": 401},
    ("api.export_receipts", "POST"): {**dict.fromkeys(B, 200), "member": 403, "admin": 403, "auditor": 403,
                                      "anonymous": 401},
    # the county's own notice is acknowledged here (the API has no confirmation step), so the page shows it signed
    ("api.acknowledge_receipt", "POST"): case_api(county=(200, 404, 404), office=REFUSED, member=REFUSED,
                                                  leader=REFUSED),
    # the problem ledger: every business role reads it (each what it may see: tests/problems/test_problem_api.py);
    # the office imports an Excel ledger; the steps' forms and JSON answer 404 for any other kind of case (the
    # world's are designations), the JSON reading its body first
    ("problems.ledger", "GET"): business(200),
    ("problems.export", "POST"): business(200),
    ("problems.log", "GET"): business(200, leader=403),
    ("problems.log", "POST"): business(422, leader=403),  # nothing chosen
    ("problems.assign", "GET"): {**dict.fromkeys(B, (404, 404, 404)), "admin": REFUSED, "auditor": REFUSED,
                                 "anonymous": LOGIN},
    ("problems.assign", "POST"): {**dict.fromkeys(B, (404, 404, 404)), "admin": REFUSED, "auditor": REFUSED,
                                  "anonymous": LOGIN},
    ("problems.import_ledger", "GET"): only("office", 200),
    ("problems.import_ledger", "POST"): only("office", 422),  # no file
    ("problems.import_template", "GET"): only("office", 200),
    ("api.list_problems", "GET"): business(200, anonymous=401),
    ("api.export_problems", "POST"): business(200, anonymous=401),
    # the provincial recommendation (推荐上报): the office and the leader only; the office alone changes it; the world's
    # cases are not rounds, so they answer 404 like a missing one (tests/recommendation/test_recommendation_web.py)
    ("recommendation.index", "GET"): business(200, county=403, member=403),
    ("recommendation.index", "POST"): business(422, county=403, member=403, leader=403),  # nothing entered
    ("recommendation.show", "GET"): {**case_page(REFUSED, (404, 404, 404)), "member": REFUSED},
    ("recommendation.choose", "POST"): {**case_page(REFUSED, (404, 404, 404)), "member": REFUSED},
    ("recommendation.answer", "POST"): {**case_page(REFUSED, (404, 404, 404)), "member": REFUSED},
    ("recommendation.dossier", "POST"): {**case_page(REFUSED, (404, 404, 404)), "member": REFUSED},
    ("api.recommendation_shortlist", "GET"): business(200, county=403, member=403, anonymous=401),
    ("api.open_recommendation_round", "POST"): {**only("office", 422), "anonymous": 401},
    ("api.recommendation_round", "GET"): {**case_api(REFUSED, (404, 404, 404)), "member": REFUSED},
    ("api.recommendation_dossier", "POST"): {**case_api(REFUSED, (404, 404, 404)), "member": REFUSED},
    ("api.choose_recommendation_towns", "POST"): {**case_api(REFUSED, REFUSED), "office": (422, 422, 422),
                                                  "member": REFUSED},
    ("api.record_recommendation_answer", "POST"): {**case_api(REFUSED, REFUSED), "office": (422, 422, 422),
                                                   "member": REFUSED},
    ("api.log_problem", "POST"): business(422, anonymous=401),
    ("api.assign_problem", "POST"): case_api(ok_own=(422, 422, 422), ok_all=(422, 422, 422)),
    ("api.answer_problem", "POST"): case_api(ok_own=(422, 422, 422), ok_all=(422, 422, 422)),
    ("api.verify_problem", "POST"): case_api(ok_own=(422, 422, 422), ok_all=(422, 422, 422)),
    ("api.escalate_problem", "POST"): case_api(ok_own=(422, 422, 422), ok_all=(422, 422, 422)),
    ("api.decide_problem", "POST"): case_api(ok_own=(422, 422, 422), ok_all=(422, 422, 422)),
    # the action plan and its tasks (任务台账): the world holds no plan and no task, so a year's plan is missing for
    # the office and the leader (counties and member units never read the plan itself), a case id that is not a
    # task answers 404 to everyone, and the lists and the board are empty but readable by every business role;
    # the office alone starts a plan and records a meeting (the empty body: 422)
    ("api.programmes", "GET"): {**dict.fromkeys(B, 200), "admin": 403, "auditor": 403, "anonymous": 401},
    ("api.tasks", "GET"): {**dict.fromkeys(B, 200), "admin": 403, "auditor": 403, "anonymous": 401},
    ("api.action_plan", "GET"): case_api(ok_own=REFUSED, ok_all=(404, 404, 404)),
    ("api.programme_board", "GET"): case_api(ok_own=(200, 200, 200), ok_all=(200, 200, 200)),
    ("api.task", "GET"): case_api(ok_own=(404, 404, 404), ok_all=(404, 404, 404)),
    ("api.task_reports", "GET"): case_api(ok_own=(404, 404, 404), ok_all=(404, 404, 404)),
    ("api.start_plan", "POST"): {**dict.fromkeys(B, 403), "office": 422, "admin": 403, "auditor": 403,
                                 "anonymous": 401},
    ("api.meeting", "POST"): {**dict.fromkeys(B, 403), "office": 422, "admin": 403, "auditor": 403,
                              "anonymous": 401},
    # the action plan's pages: the board, its export and the task list for every business role (each sees its own
    # tasks); the plan page for the office and the leader; the meeting form and starting a plan for the office
    # (an empty form: the meeting's fields marked, 422; the plan: back to the page with the message, 303); the pages
    # of one plan or task answer 404 for a case that is not one (the world holds none)
    ("programmes.board_page", "GET"): business(200),
    ("programmes.export_board", "POST"): business(200),
    ("programmes.task_list", "GET"): business(200),
    ("programmes.plan", "GET"): business(403, office=200, leader=200),
    ("programmes.start_plan", "POST"): business(403, office=303),
    ("programmes.meeting", "GET"): business(403, office=200),
    ("programmes.meeting", "POST"): business(403, office=422),
    ("programmes.plan_of_case", "GET"): case_page(ok_own=(404, 404, 404), ok_all=(404, 404, 404)),
    ("programmes.save_task", "POST"): case_page(ok_own=(404, 404, 404), ok_all=(404, 404, 404)),
    ("programmes.remove_task", "POST"): case_page(ok_own=(404, 404, 404), ok_all=(404, 404, 404)),
    ("programmes.import_tasks", "GET"): case_page(ok_own=(404, 404, 404), ok_all=(404, 404, 404)),
    ("programmes.import_tasks", "POST"): case_page(ok_own=(404, 404, 404), ok_all=(404, 404, 404)),
    ("programmes.import_template", "GET"): business(403, office=200),
    ("api.plan_tasks_template", "GET"): only("office", 200, anonymous=401),
    ("api.import_plan_tasks", "POST"): {**dict.fromkeys(ROLES, REFUSED), "office": (404, 404, 404),
                                        "anonymous": API_LOGIN},
    ("programmes.report", "GET"): case_page(ok_own=(404, 404, 404), ok_all=(404, 404, 404)),
    ("programmes.report", "POST"): case_page(ok_own=(404, 404, 404), ok_all=(404, 404, 404)),
}

def observed_rows(results) -> str:
    """Observed statuses in EXPECTED's syntax (printed when a route has no row yet)."""
    lines = []
    for (endpoint, method), by_role in sorted(results.items()):
        cells = ", ".join(f'"{role}": {by_role[role]}' for role in ROLES)
        lines.append(f'    ("{endpoint}", "{method}"): {{{cells}}},')
    return "\n".join(lines)


# --- requests --------------------------------------------------------------------------------------------------

def normalised(body: bytes, path: str) -> bytes:
    """The body with its own address taken out (the language form's return address, a login redirect's `next`)
    and the CSRF token (signed with the second it was made in): what is left must not depend on the object."""
    text = without_csrf_token(body.decode("utf-8", "replace"))
    for form in (path, quote(path, safe=""), quote(path)):
        text = text.replace(form, "<this url>")
    return text.encode()

def rules(app):
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: (r.rule, r.endpoint)):
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            yield rule, method


class Caller:
    """Sends one request as a role, the way that role's client would."""

    def __init__(self, app, world):
        self.app = app
        self.world = world
        self.browsers = clients(app, world)
        self.bearer = tokens(app, world)
        self.csrf = {role: csrf_token(b, "/login" if role == "anonymous" else "/password")
                     for role, b in self.browsers.items()}

    def __call__(self, rule, method: str, role: str, which: str):
        values = args(self.world, role, rule.arguments, which)
        url = self.app.url_map.bind("localhost").build(rule.endpoint, values, method=method)
        if rule.endpoint.startswith("api."):
            headers = self.bearer[role]
            if method == "POST":
                return self.app.test_client().post(url, headers=headers, json={})
            if method == "DELETE":
                return self.app.test_client().delete(url, headers=headers)
            return self.app.test_client().get(url, headers=headers)
        browser = self.browsers[role]
        if rule.endpoint == "auth.logout":  # a throwaway session: logging out clears this one's CSRF token too
            browser = self.app.test_client()
            if role != "anonymous":
                login(browser, self.world.usernames[role])
            return browser.post(url, data={"csrf_token": csrf_token(browser, "/login" if role == "anonymous"
                                                                                else "/password")})
        with browser.session_transaction() as session:
            session.pop("_flashes", None)  # a message left by the request before would show on this page
        if method == "POST":
            return browser.post(url, data={"csrf_token": self.csrf[role]})
        return browser.get(url)


# --- the database footprint of a GET ---------------------------------------------------------------------------

ALLOWED_ON_GET = {"login_session": {"last_seen_at"}}  # the session's touch; everything else must stay


def snapshot(engine) -> tuple[dict[str, str], list[tuple[int, str]]]:
    """A digest of every table but the audit trail, and the audit events as (seq, kind)."""
    digests, events = {}, []
    with engine.connect() as conn:
        for table in SQLModel.metadata.sorted_tables:
            if table.name == "audit_head":  # moves with every event; the events are compared one by one
                continue
            if table.name == "audit_event":
                events = [tuple(r) for r in conn.execute(sa.select(table.c.seq, table.c.kind).order_by(table.c.seq))]
                continue
            skip = ALLOWED_ON_GET.get(table.name, set())
            columns = [c for c in table.columns if c.name not in skip]
            query = sa.select(*columns).order_by(*table.primary_key.columns)
            if table.name == "login_throttle":  # a refusal is counted per session, as it is recorded: left out
                query = query.where(~table.c.key.startswith("refused:"))
            rows = conn.execute(query).all()
            digests[table.name] = hashlib.sha256(repr(rows).encode()).hexdigest()
    return digests, events


def check_get_wrote_nothing(before, after, endpoint: str, status: int) -> list[str]:
    problems = [f"{endpoint}: GET changed table {name}" for name in before[0] if before[0][name] != after[0].get(name)]
    added = [kind for _seq, kind in after[1][len(before[1]):]]
    if after[1][:len(before[1])] != before[1]:
        problems.append(f"{endpoint}: GET changed earlier audit events")
    allowed = set()
    if status == 403:
        allowed |= {"permission_refused", "permission_refused_summary"}
    if added and not endpoint.startswith("auditor.") and set(added) - allowed:
        problems.append(f"{endpoint}: GET wrote audit events {added}")
    return problems


# --- the test --------------------------------------------------------------------------------------------------


@pytest.fixture
def world(make, db, now):
    return build_world(make, db, now)


def test_every_route_answers_every_role_as_the_matrix_says(app, engine, world):
    call = Caller(app, world)
    results: dict[tuple[str, str], dict[str, object]] = {}
    wrong, leaks, writes, headers = [], [], [], []
    for rule, method in rules(app):
        key = (rule.endpoint, method)
        has_object = bool(rule.arguments)
        results[key] = {}
        for role in ROLES:
            statuses, bodies = [], []
            for which in OBJECT_KINDS if has_object else ("own",):
                before = snapshot(engine) if method == "GET" else None
                response = call(rule, method, role, which)
                body = response.get_data()
                response.close()
                statuses.append(response.status_code)
                bodies.append(normalised(body, response.request.path))
                if before is not None:
                    writes += check_get_wrote_nothing(before, snapshot(engine), rule.endpoint, response.status_code)
                if "frame-ancestors 'none'" not in response.headers.get("Content-Security-Policy", "") or \
                        response.headers.get("X-Content-Type-Options") != "nosniff":
                    headers.append((rule.endpoint, method, role, which))
                if response.status_code >= 500 or b"Traceback" in body:
                    wrong.append((rule.endpoint, method, role, which, response.status_code))
            got = tuple(statuses) if has_object else statuses[0]
            results[key][role] = got
            expected = EXPECTED.get(key, {}).get(role)
            if expected is not None and expected != got:
                wrong.append((rule.endpoint, method, role, f"expected {expected}, got {got}"))
            if has_object and statuses[1] == statuses[2] and statuses[1] != 200 and bodies[1] != bodies[2]:
                leaks.append((rule.endpoint, method, role, statuses[1]))
    missing = sorted(k for k in results if k not in EXPECTED)
    assert not missing, ("routes without a row in EXPECTED (observed answers below; check them, then copy):\n"
                         + observed_rows({k: results[k] for k in missing}))
    assert sorted(k for k in EXPECTED if k not in results) == [], "rows for routes that no longer exist"
    assert wrong == [], "\n".join(map(str, wrong))
    assert leaks == [], "\n".join(map(str, leaks)) + "\nanother county's object must answer exactly like a missing one"
    assert writes == []
    assert headers == []


def allowed_role(key) -> str:
    """A role the matrix lets through to the view (not refused, not sent to log in)."""
    for role in ("county", "member", "office", "leader", "admin", "auditor", "anonymous"):
        status = EXPECTED[key][role]
        own = status[0] if isinstance(status, tuple) else status
        if own not in (401, 403) and not (own == 302 and role == "anonymous" and key[0] != "auth.language"):
            return role
    raise AssertionError(f"nobody may use {key}")


def test_every_form_post_without_its_csrf_token_is_refused_and_writes_nothing(app, engine, world):
    """Each page POST, sent by a role that may use it but without the token, is a 400 and changes nothing; an
    API POST carrying only the browser's session cookie is a 401 (the API takes Bearer tokens only)."""
    browsers = clients(app, world)
    posts = [(rule, method) for rule, method in rules(app) if method == "POST" and rule.endpoint != "api.token"]
    assert len(posts) >= 20
    problems = []
    for rule, _method in posts:
        api = rule.endpoint.startswith("api.")
        role = "county" if api else allowed_role((rule.endpoint, "POST"))
        url = app.url_map.bind("localhost").build(rule.endpoint, args(world, role, rule.arguments, "own"),
                                                  method="POST")
        before = snapshot(engine)
        if api:
            response = browsers[role].post(url, json={"trigger": "record_opinion", "expected_version": 1})
        else:
            response = browsers[role].post(url, data={"username": world.usernames.get(role, ""),
                                                       "password": "Zyz-test-2026", "lang": "en", "days": "x"})
        after = snapshot(engine)
        expected = 401 if api else 400
        body = response.get_data(as_text=True)
        if response.status_code != expected or (not api and "表单已过期或来源不明" not in body):
            problems.append((rule.endpoint, role, response.status_code))
        if before != after:
            problems.append((rule.endpoint, role, "wrote to the database"))
    assert problems == []
    assert browsers["county"].get("/inbox").status_code == 200  # nobody was logged out on the way


def test_what_changes_state_refuses_get(app, world):
    """Logout, language, marking notifications read, every account action: POST (or DELETE) only (405 for a GET)."""
    browsers = clients(app, world)
    readable = {rule.rule for rule in app.url_map.iter_rules() if "GET" in (rule.methods or ())}
    post_only = [rule for rule in app.url_map.iter_rules() if rule.rule not in readable]
    names = {rule.endpoint for rule in post_only}
    assert {"auth.logout", "auth.language", "notify.read", "notify.read_all", "admin.disable_user",
            "admin.enable_user", "admin.deactivate_unit", "admin.activate_unit", "admin.unlock_user",
            "admin.reset_user_password", "admin.end_user_sessions",
            "api.token", "api.transition"} <= names
    for rule in post_only:
        role = "admin" if rule.endpoint.startswith("admin.") else "county"
        method = sorted((rule.methods or set()) - {"HEAD", "OPTIONS"})[0]  # POST, or DELETE in the API
        url = app.url_map.bind("localhost").build(rule.endpoint, args(world, role, rule.arguments, "own"),
                                                  method=method)
        assert browsers[role].get(url).status_code == 405, rule.endpoint
    assert browsers["county"].get("/inbox").status_code == 200


# --- within a case: who sees which part (definitions/visibility.yaml) --------------------------------------------

# The own county's case, in consultation, with an opinion sheet and an ordinary attachment: what each role gets
# when it downloads each by id (page and API) and whether the list shows it. A hidden kind answers like a missing
# attachment.
KIND_EXPECTED = {
    "opinion_sheet": {"county": 404, "office": 200, "member": 404, "leader": 200, "admin": 403, "auditor": 403},
    "evidence": {"county": 200, "office": 200, "member": 200, "leader": 200, "admin": 403, "auditor": 403},
}


def test_attachments_of_a_confidential_kind_answer_each_role_as_declared(app, db, now, world):
    from world import PDF

    from workflow.core.actors import Actor
    from workflow.core.attachments import store_bytes
    from workflow.core.db import transaction

    with transaction(db) as s:
        sheet = store_bytes(session=s, actor=Actor.system(), data=PDF, filename="会审意见汇总表.pdf",
                            content_type="application/pdf", kind="opinion_sheet", now=now,
                            case_id=world.cases["own"])
    ids = {"opinion_sheet": sheet.id, "evidence": world.ids["attachment_id"]["own"]}
    browsers, bearer = clients(app, world), tokens(app, world)
    got: dict[str, dict[str, int]] = {}
    for kind, attachment_id in ids.items():
        got[kind] = {}
        for role in KIND_EXPECTED[kind]:
            page = browsers[role].get(f"/attachments/{attachment_id}", buffered=True)
            api = app.test_client().get(f"/api/v1/attachments/{attachment_id}", headers=bearer[role], buffered=True)
            assert page.status_code == api.status_code, (kind, role)
            got[kind][role] = api.status_code
            if role in ("admin", "auditor"):
                continue
            listed = app.test_client().get(f"/api/v1/cases/{world.cases['own']}/attachments", headers=bearer[role])
            if listed.status_code == 200:
                assert (attachment_id in [f["id"] for f in listed.json["items"]]) == (api.status_code == 200), \
                    (kind, role)
    assert got == KIND_EXPECTED
