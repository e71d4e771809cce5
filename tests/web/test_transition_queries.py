"""The statements of a transition, through the page and through the API: each request's count is held here, so
that a statement added to every transition (a read repeated, a write not batched) is noticed.

The requests are the ones bench/bench_http.py times: the office returning a submitted designation application for
revision, and the county resubmitting it, through the page's form (POST /cases/<id>/do/<trigger>) and through the
API (POST /api/v1/cases/<id>/transitions with expected_version). Each is counted once the caches of loaded tables
are warm and the case has been returned and resubmitted once already (the same comment again: the search text
stays as it is), as it is under load."""

from __future__ import annotations

from statements import counted, listing, shape

from conftest import COMPLETE_APPLICATION, ON_POSTGRES, api_headers, csrf_token, login, reload
from workflow.core.db import transaction
from workflow.core.engine import fire

COMMENT = "请补充产值统计证明材料"
# Statements per request: (SQLite, PostgreSQL). They were 18, 21, 18 and 21 on both before the login session, its
# user and unit were read in one statement, the page handed its case to fire, the search text was read with the
# case and the town's registry record with its open applications (bench/README.md: "A transition's statements").
EXPECTED = {
    "page return_for_revision": (14, 14),
    "page resubmit": (16, 16),
    "api return_for_revision": (15, 15),
    "api resubmit": (17, 17),
}


def test_a_transition_runs_the_statements_held_here(make, app, db, now, monkeypatch):
    town = make.town("西烟镇", county="盂县")
    clerk = make.user("county", county="盂县", username="yx_clerk")
    make.user("office", username="office_staff")
    case = make.case("designation", town=town, by=clerk, data=COMPLETE_APPLICATION)
    with transaction(db) as s:
        fire(session=s, case_id=case.id, trigger="submit", actor=make.actor(clerk), now=now)
    pages = {"office": app.test_client(), "county": app.test_client()}
    assert login(pages["office"], "office_staff").status_code == 302
    assert login(pages["county"], "yx_clerk").status_code == 302
    api = app.test_client()
    headers = {"office": api_headers(api, "office_staff"), "county": api_headers(api, "yx_clerk")}
    steps = (("office", "return_for_revision", "returned", {"comment": COMMENT}),
             ("county", "resubmit", "submitted", {"confirmed": "yes"}))
    found: dict[str, list[str]] = {}
    for counting in (False, True):  # once to warm the caches and write the comment into the search text, then counted
        for role, trigger, state, form in steps:
            version = reload(db, case.id).version
            client = pages[role]
            token = csrf_token(client, f"/cases/{case.id}/do/{trigger}")
            with counted(app, monkeypatch) as statements:
                response = client.post(f"/cases/{case.id}/do/{trigger}",
                                       data={"csrf_token": token, "expected_version": str(version), **form})
            assert response.status_code == 302 and response.headers["Location"] == f"/cases/{case.id}", \
                response.get_data(as_text=True)
            assert (reload(db, case.id).state, reload(db, case.id).version) == (state, version + 1)
            if counting:
                found[f"page {trigger}"] = statements
    for role, trigger, state, form in steps:
        version = reload(db, case.id).version
        body = {"trigger": trigger, "expected_version": version, **({"comment": COMMENT} if "comment" in form else {})}
        with counted(app, monkeypatch) as statements:
            response = api.post(f"/api/v1/cases/{case.id}/transitions", headers=headers[role], json=body)
        assert response.status_code == 200, response.get_data(as_text=True)
        assert (response.json["state"], response.json["version"]) == (state, version + 1)
        found[f"api {trigger}"] = statements
    for request, statements in found.items():  # each row read once: the session with its user and unit, the case
        signed_in = [kind for kind in map(shape, statements) if kind in ("SELECT login_session", "SELECT unit")]
        assert signed_in == ["SELECT login_session"], request
        assert len([q for q in statements if "FROM case_file" in q and "case_file.id = " in q
                    and "case_search" not in q]) == 1, request  # the search text's read of the case apart
    expected = {request: counts[ON_POSTGRES] for request, counts in EXPECTED.items()}
    assert {request: len(statements) for request, statements in found.items()} == expected, "\n\n".join(
        f"{request}: {len(statements)}\n{listing(statements)}" for request, statements in found.items())
