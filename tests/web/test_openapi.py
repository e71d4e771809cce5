"""GET /api/v1/openapi.json: a well-formed OpenAPI 3.1 document that matches the routes and the real responses.

openapi-spec-validator is not among the test dependencies, so the document's structure is checked here; its
schemas are checked as JSON Schema 2020-12 with jsonschema-rs (which schemathesis brings along)."""

from __future__ import annotations

import re

import jsonschema_rs
import pytest

from conftest import api_headers

HTTP_METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}


@pytest.fixture
def doc(client) -> dict:
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200 and response.mimetype == "application/json"
    return response.json


def flask_routes(app) -> set[tuple[str, str]]:
    """(OpenAPI path, method) of every route under /api/v1 except the document itself."""
    found = set()
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1/") or rule.endpoint == "api.openapi":
            continue
        path = re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule.rule)
        found.update((path, method.lower()) for method in rule.methods - {"HEAD", "OPTIONS"})
    return found


def operations(doc: dict):
    for path, item in doc["paths"].items():
        for method, operation in item.items():
            if method in HTTP_METHODS:
                yield path, method, operation


def resolve(doc: dict, ref: str):
    assert ref.startswith("#/"), f"only local references are used: {ref}"
    node = doc
    for part in ref[2:].split("/"):
        part = part.replace("~1", "/").replace("~0", "~")
        assert isinstance(node, dict) and part in node, f"unresolved $ref {ref}"
        node = node[part]
    return node


def refs(node):
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref":
                yield value
            else:
                yield from refs(value)
    elif isinstance(node, list):
        for item in node:
            yield from refs(item)


def validator(doc: dict, schema: dict):
    """A 2020-12 validator for `schema`, its references resolved against the whole document."""
    return jsonschema_rs.Draft202012Validator({**schema, "components": doc["components"]})


def test_the_document_is_openapi_3_1(doc):
    assert doc["openapi"] == "3.1.0"
    assert doc["info"]["title"] and doc["info"]["version"]
    assert isinstance(doc["paths"], dict) and doc["paths"]
    assert all(path.startswith("/api/v1/") for path in doc["paths"])
    assert doc["components"]["securitySchemes"]["bearer"] == {"type": "http", "scheme": "bearer"}


def test_every_api_route_is_documented_with_its_method_and_nothing_else(app, doc):
    documented = {(path, method) for path, method, _ in operations(doc)}
    routes = flask_routes(app)
    assert routes <= documented, f"undocumented: {sorted(routes - documented)}"
    assert documented <= routes, f"documented but not served: {sorted(documented - routes)}"
    assert {("/api/v1/auth/token", "post"), ("/api/v1/me", "get"), ("/api/v1/definitions", "get"),
            ("/api/v1/cases", "get"), ("/api/v1/cases", "post"), ("/api/v1/cases/{case_id}", "get"),
            ("/api/v1/cases/{case_id}/transitions", "post"), ("/api/v1/cases/{case_id}/events", "get")} <= documented


def test_every_reference_resolves(doc):
    found = list(refs(doc))
    assert found
    for ref in found:
        resolve(doc, ref)


def test_operations_are_complete(doc):
    ids = []
    for path, method, operation in operations(doc):
        ids.append(operation["operationId"])
        assert operation["summary"]
        assert operation["responses"]
        for status, response in operation["responses"].items():
            assert re.fullmatch(r"[1-5]\d\d", status), (path, status)
            assert response["description"]
        templated = set(re.findall(r"{(\w+)}", path))
        declared = {p["name"] for p in operation.get("parameters", []) if p["in"] == "path"}
        assert templated == declared, (path, method)
        for parameter in operation.get("parameters", []):
            assert parameter["in"] in ("path", "query", "header", "cookie")
            if parameter["in"] == "path":
                assert parameter["required"] is True
        for requirement in operation.get("security", []):
            assert set(requirement) <= set(doc["components"]["securitySchemes"])
        needs_token = path != "/api/v1/auth/token"
        assert bool(operation.get("security")) == needs_token, (path, method)
        if needs_token:
            assert "401" in operation["responses"]
        if "{case_id}" in path:
            assert "404" in operation["responses"]
    assert len(ids) == len(set(ids)), "operationIds are unique"


def test_errors_are_documented_with_the_error_schema(doc):
    error = resolve(doc, "#/components/schemas/Error")
    assert set(error["required"]) >= {"error", "message"}
    for path, method, operation in operations(doc):
        for status, response in operation["responses"].items():
            if status.startswith(("4", "5")):
                schema = response["content"]["application/json"]["schema"]
                assert schema == {"$ref": "#/components/schemas/Error"}, (path, method, status)


def test_the_transition_operation_documents_every_refusal(doc):
    operation = doc["paths"]["/api/v1/cases/{case_id}/transitions"]["post"]
    assert {"200", "403", "404", "409", "422"} <= set(operation["responses"])
    body = operation["requestBody"]["content"]["application/json"]["schema"]
    request = validator(doc, body)
    assert request.is_valid({"trigger": "submit", "expected_version": 1})
    assert request.is_valid({"trigger": "edit", "expected_version": 3, "data": {"jobs": 1}, "comment": "好"})
    assert not request.is_valid({"trigger": "submit"})
    assert not request.is_valid({"trigger": "submit", "expected_version": "1"})
    assert not request.is_valid({"trigger": "submit", "expected_version": 1, "force": True})
    assert not request.is_valid({"trigger": "edit", "expected_version": 1, "data": []})


def test_every_component_schema_is_valid_json_schema(doc):
    for name in doc["components"]["schemas"]:
        validator(doc, {"$ref": f"#/components/schemas/{name}"})  # raises on an invalid schema


def _documented_schema(doc: dict, path: str, method: str, status: int) -> dict:
    """The schema the document gives for this response, found by matching the concrete path to a template."""
    for template, item in doc["paths"].items():
        pattern = "^" + re.sub(r"\\{\w+\\}", r"[^/]+", re.escape(template)) + "$"
        if re.match(pattern, path.split("?")[0]) and method in item:
            response = item[method]["responses"][str(status)]
            assert "content" in response, f"{method.upper()} {template} {status} documents no body"
            return response["content"]["application/json"]["schema"]
    raise AssertionError(f"no operation for {method} {path}")


def test_real_responses_match_the_documented_schemas(doc, client, make, complete_application):
    county = make.user("county", username="yx_clerk")
    make.user("office", username="office1")
    case = make.case("designation", by=county, data=complete_application)
    town = make.town(county="盂县")
    headers = api_headers(client, "yx_clerk")
    office = api_headers(client, "office1")
    exchanges = [
        ("post", "/api/v1/auth/token", None, {"username": "yx_clerk", "password": "Zyz-test-2026"}, 200),
        ("post", "/api/v1/auth/token", None, {"username": "yx_clerk", "password": "Wrong-pass-1"}, 401),
        ("get", "/api/v1/me", headers, None, 200),
        ("get", "/api/v1/definitions", headers, None, 200),
        ("get", "/api/v1/cases?per_page=5", headers, None, 200),
        ("get", f"/api/v1/cases/{case.id}", headers, None, 200),
        ("get", f"/api/v1/cases/{case.id}/events", headers, None, 200),
        ("post", "/api/v1/cases", headers, {"definition": "designation", "town_id": town.id}, 201),
        ("post", f"/api/v1/cases/{case.id}/transitions", headers, {"trigger": "submit", "expected_version": 1}, 200),
        ("post", f"/api/v1/cases/{case.id}/transitions", headers, {"trigger": "submit", "expected_version": 1}, 409),
        ("post", f"/api/v1/cases/{case.id}/transitions", office, {"trigger": "accept", "expected_version": 2}, 422),
        ("post", f"/api/v1/cases/{case.id}/transitions", headers,
         {"trigger": "return_for_revision", "expected_version": 2}, 403),
        ("get", "/api/v1/cases/999999", headers, None, 404),
        ("get", "/api/v1/me", None, None, 401),
    ]
    for method, url, auth, body, status in exchanges:
        kwargs = {"headers": auth or {}}
        if body is not None:
            kwargs["json"] = body
        response = getattr(client, method)(url, **kwargs)
        assert response.status_code == status, (method, url, response.get_data(as_text=True))
        schema = _documented_schema(doc, url, method, status)
        errors = [str(e) for e in validator(doc, schema).iter_errors(response.json)]
        assert errors == [], (method, url, status, errors)


def test_the_document_needs_no_token_and_is_stable(client):
    first = client.get("/api/v1/openapi.json")
    second = client.get("/api/v1/openapi.json")
    assert first.status_code == 200 and first.get_data() == second.get_data()


def undeclared(doc: dict, schema: dict, where: str) -> list[str]:
    """Where a request's schema lets a generated client send what the server refuses: an integer without both
    bounds, a text without a maximum length, an enum or a format, a list without a maximum size."""
    if "$ref" in schema:
        return undeclared(doc, resolve(doc, schema["$ref"]), where)
    found = [p for part in ("anyOf", "oneOf", "allOf") for s in schema.get(part, [])
             for p in undeclared(doc, s, where)]
    kind = schema.get("type")
    if kind == "integer" and not {"minimum", "maximum"} <= schema.keys():
        found.append(f"{where}: an integer without both bounds")
    if kind == "string" and not schema.keys() & {"maxLength", "enum", "const", "format"}:
        found.append(f"{where}: a text without maxLength, enum or format")
    if kind == "array":
        if "maxItems" not in schema:
            found.append(f"{where}: a list without maxItems")
        found += undeclared(doc, schema.get("items", {}), f"{where}[]")
    for name, item in schema.get("properties", {}).items():
        found += undeclared(doc, item, f"{where}.{name}")
    if isinstance(schema.get("additionalProperties"), dict):
        found += undeclared(doc, schema["additionalProperties"], f"{where}.*")
    return found


def test_every_input_declares_its_bounds_lengths_and_values(doc):
    """A client generated from the document cannot send what the server will refuse for its size or kind: every
    integer has both bounds, every text a maximum length, a format or its list of values, every list a maximum."""
    found = []
    for path, method, operation in operations(doc):
        for parameter in operation.get("parameters", []):
            found += undeclared(doc, parameter["schema"], f"{method.upper()} {path} {parameter['name']}")
        for media, content in operation.get("requestBody", {}).get("content", {}).items():
            found += undeclared(doc, content["schema"], f"{method.upper()} {path} {media}")
    assert found == []


def test_the_values_a_field_may_take_come_from_the_definitions(doc):
    from workflow.core.catalog import CATALOG
    from workflow.problems.categories import categories
    from workflow.programmes.catalog import programme_spec

    cases = {p["name"]: p["schema"] for p in doc["paths"]["/api/v1/cases"]["get"]["parameters"]}
    assert cases["definition"]["enum"] == CATALOG.keys()
    assert "designated" in cases["state"]["enum"] and "draft" in cases["state"]["enum"]
    problem = doc["components"]["schemas"]["ProblemCreate"]["properties"]
    assert problem["category"]["enum"] == [c.key for c in categories()]
    assert problem["description"]["maxLength"] == 2000
    assert problem["origin"]["anyOf"][0]["enum"] == ["field_work", "enterprise"]
    tasks = {p["name"]: p["schema"] for p in doc["paths"]["/api/v1/programmes/tasks"]["get"]["parameters"]}
    assert tasks["programme"]["enum"] == [p.key for p in programme_spec().programmes]
    library = doc["paths"]["/api/v1/projects/{library}"]["get"]["parameters"][0]
    assert (library["name"], library["schema"]["enum"]) == ("library", ["key", "investment"])
    upload = doc["paths"]["/api/v1/cases/{case_id}/attachments"]["post"]["requestBody"]["content"]
    kinds = upload["multipart/form-data"]["schema"]["properties"]["kind"]["enum"]
    assert "evidence" in kinds and len(kinds) > 1  # the designation's supporting documents besides evidence


def test_an_id_beyond_the_database_integer_in_a_list_is_a_422_naming_it(client, make):
    """Ids in a list are bounded like the others: a value past INTEGER is refused before any query, never a 500."""
    office = make.user("office")
    headers = api_headers(client, office.username)
    answer = client.post("/api/v1/unit-presets", json={"name": "常用单位", "unit_ids": [2**31]}, headers=headers)
    assert answer.status_code == 422
    assert answer.json["error"] == "invalid_input" and answer.json["details"][0]["field"] == "unit_ids.0"
