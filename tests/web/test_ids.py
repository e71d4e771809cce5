"""An id in a URL that no INTEGER column can hold (23 digits, or just past 2³¹−1) is a 404 like any missing id, on
every page and API route, for every role and for nobody: never a database error (SQLite and PostgreSQL both refuse
such a number in a query). Ids typed into forms are treated the same way."""

from __future__ import annotations

import pytest
from werkzeug.routing import IntegerConverter
from world import ROLES, args, build_world, clients, tokens

from conftest import csrf_token, footprint, login

HUGE = 10**22 + 7  # 23 digits
JUST_PAST = 2**31  # the first number an INTEGER column cannot hold


@pytest.fixture
def world(make, db, now):
    return build_world(make, db, now)


def id_rules(app):
    """(rule, method, the names of its integer arguments) of every route that takes a number."""
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        numbers = [name for name, converter in rule._converters.items() if isinstance(converter, IntegerConverter)]
        if numbers:
            for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
                yield rule, method, numbers


def test_every_route_with_an_id_answers_a_number_beyond_the_database_with_404(app, db, world):
    browsers, bearer = clients(app, world), tokens(app, world)
    csrf = {role: csrf_token(b, "/login" if role == "anonymous" else "/password") for role, b in browsers.items()}
    checked, wrong = set(), []
    before = footprint(db)
    for rule, method, numbers in id_rules(app):
        for number in (HUGE, JUST_PAST):
            for role in ROLES:
                values = {**args(world, role, rule.arguments, "own"), **dict.fromkeys(numbers, number)}
                url = app.url_map.bind("localhost").build(rule.endpoint, values, method=method)
                if rule.endpoint.startswith("api."):
                    response = (app.test_client().post(url, headers=bearer[role], json={}) if method == "POST"
                                else app.test_client().get(url, headers=bearer[role]))
                    ok = response.status_code == 404 and response.json["error"] == "not_found"
                else:
                    response = (browsers[role].post(url, data={"csrf_token": csrf[role]}) if method == "POST"
                                else browsers[role].get(url))
                    ok = response.status_code == 404 and "页面或对象不存在" in response.get_data(as_text=True)
                if not ok:
                    wrong.append((rule.endpoint, method, role, number, response.status_code))
                checked.add(rule.endpoint)
    assert wrong == []
    assert footprint(db) == before
    # the kinds of object the issue names, each on a page and in the API where it has one
    assert {"files.download", "api.download_attachment", "cases.show", "api.show", "notify.read",
            "admin.user", "notify.user_preferences", "notify.retry", "towns.show"} <= checked


@pytest.mark.parametrize("path", ["/attachments/{n}", "/api/v1/attachments/{n}", "/cases/{n}", "/api/v1/cases/{n}",
                                  "/api/v1/cases/{n}/attachments", "/api/v1/cases/{n}/events", "/towns/{n}"])
def test_a_23_digit_id_is_the_same_404_as_a_missing_one_for_the_office(app, world, path):
    """Before, an attachment id of 23 digits was a server error (500)."""
    office = clients(app, world)["office"]
    headers = tokens(app, world)["office"] if path.startswith("/api/") else {}
    huge, missing = (office.get(path.format(n=n), headers=headers) for n in ("9" * 23, 999_999))
    assert huge.status_code == missing.status_code == 404
    if path.startswith("/api/"):
        assert huge.json["error"] == missing.json["error"] == "not_found"


def test_notification_user_and_outbox_ids_of_23_digits_are_404(app, world):
    """Marking a notification read, retrying a message, an account's notification settings: 500 before."""
    browsers = clients(app, world)
    for role, method, path in (("county", "post", "/notifications/{n}/read"),
                               ("office", "post", "/notifications/outbox/{n}/retry"),
                               ("admin", "get", "/admin/users/{n}/notifications"),
                               ("admin", "get", "/admin/users/{n}")):
        browser = browsers[role]
        token = csrf_token(browser, "/password")
        response = getattr(browser, method)(path.format(n="9" * 23), data={"csrf_token": token})
        assert response.status_code == 404, (path, response.status_code)


def test_a_town_id_typed_into_the_inspection_form_that_no_row_can_have_is_a_field_error(app, make, client, db):
    make.user("office", username="planner")
    login(client, "planner")
    before = footprint(db)
    response = client.post("/inspections/plan", data={"town_id": "9" * 23, "planned_date": "2027-03-01",
                                                      "csrf_token": csrf_token(client, "/inspections/plan")})
    assert response.status_code == 422
    assert "所选专业镇不存在" in response.get_data(as_text=True)
    assert footprint(db) == before
