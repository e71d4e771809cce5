"""Inbox, case lists, the case page and the forms that fire transitions."""

from flask import Blueprint

from webapp.auth.roles import business_roles_only

bp = Blueprint("cases", __name__)
bp.before_request(business_roles_only)  # 三员分立: no administrator or auditor here

# What a process's blueprint adds to the generic case pages (it registers here; this package imports none):
NEW_CASE_PAGES: dict[str, str] = {}  # definition -> endpoint of its own "new case" form
OWN_PAGES: dict[tuple[str, str], str] = {}  # (definition, trigger) -> endpoint of its own form for that step
DETAILS: dict[str, str] = {}  # definition -> template of its part of the case page
# Definitions not started from "New case" but from a page of their own: a town (the registry), a problem (the ledger)
STARTED_ELSEWHERE: set[str] = {"town"}

from webapp.cases import views  # noqa: E402,F401
