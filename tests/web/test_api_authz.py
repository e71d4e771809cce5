"""Schemathesis against /api/v1/openapi.json, in process, with the tokens of two counties: requests generated from
the document (and requests aimed at the two counties' own cases and files) never get a server error, every
response matches the documented schema and status codes, and a county never gets the other county's objects."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from conftest import COMPLETE_APPLICATION, api_headers
from workflow.core.actors import Actor
from workflow.core.attachments import store_bytes
from workflow.core.db import transaction

PDF = b"%PDF-1.4\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n"
OBJECT_PARAMETERS = ("case_id", "attachment_id")


@pytest.fixture
def two_counties(app, make, db, now):
    """County A (盂县) and county B (城区): a user, a town, an application and an attachment each."""
    found = {}
    for side, county in (("A", "盂县"), ("B", "城区")):
        user = make.user("county", county=county, username=f"clerk_{side.lower()}")
        town = make.town(county=county)
        case = make.case("designation", town=town, by=user, data=COMPLETE_APPLICATION)
        with transaction(db) as s:
            attachment = store_bytes(session=s, actor=Actor.system(), data=PDF, filename=f"{side}.pdf",
                                     content_type="application/pdf", kind="evidence", now=now, case_id=case.id)
        found[side] = {"headers": api_headers(app.test_client(), user.username), "county_id": user.unit_id,
                       "objects": {"case_id": case.id, "attachment_id": attachment.id}}
    return found


# Schemathesis's WSGI transport reads a downloaded file's body but does not close Werkzeug's file wrapper.
@pytest.mark.filterwarnings("ignore::ResourceWarning")
def test_generated_requests_from_two_counties_meet_the_document_and_never_cross_counties(app, two_counties):
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 11
    owners = {side: world["objects"] for side, world in two_counties.items()}
    failures, crossings, own_reads = [], [], set()

    def object_ids(operation) -> dict[str, list[int]]:
        names = {p.name for p in operation.path_parameters}
        return {name: [owners[side][name] for side in owners] for name in OBJECT_PARAMETERS if name in names}

    for operation in operations:
        ids = object_ids(operation)
        strategies = [operation.as_strategy()]
        for name, values in ids.items():  # aimed at the counties' real objects, not only at random ids
            strategies += [operation.as_strategy(path_parameters={name: value}) for value in values]

        @settings(max_examples=50, deadline=None, derandomize=True, database=None,
                  suppress_health_check=list(HealthCheck))
        @given(case=st.one_of(*strategies), side=st.sampled_from(sorted(owners)))
        def exercise(case, side):
            case.headers = {**(case.headers or {}), **two_counties[side]["headers"]}
            response = case.call()
            try:
                case.validate_response(response, checks=[not_a_server_error, response_schema_conformance,
                                                         status_code_conformance, content_type_conformance])
            except Exception as exc:
                failures.append((case.operation.label, side, case.path_parameters, response.status_code,
                                 str(exc)[:300]))
            if b"Traceback" in response.content:  # a workbook is not text
                failures.append((case.operation.label, side, "stack trace in the body"))
            for name, value in (case.path_parameters or {}).items():
                owner = next((s for s, objects in owners.items() if objects.get(name) == value), None)
                if owner is None:
                    continue
                if owner != side and response.status_code < 300:
                    crossings.append((case.operation.label, side, name, value, response.status_code))
                if owner == side and response.status_code == 200 and case.method == "GET":
                    own_reads.add((case.operation.label, side))
            if case.operation.label == "GET /api/v1/cases" and response.status_code == 200:
                counties = {item["county_id"] for item in response.json()["items"]}
                if counties - {two_counties[side]["county_id"]}:
                    crossings.append((case.operation.label, side, "listed", counties))

        exercise()
    assert failures == []
    assert crossings == [], "a county got the other county's object"
    # the check had teeth: each side read its own case and file
    assert {("GET /api/v1/cases/{case_id}", "A"), ("GET /api/v1/cases/{case_id}", "B"),
            ("GET /api/v1/attachments/{attachment_id}", "A")} <= own_reads
