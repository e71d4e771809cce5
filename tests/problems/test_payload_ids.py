"""Every id in an API payload is checked against the kind of row it must name: an id that names nothing, or names
a row of another kind (a member unit where a county belongs, a county where a member unit belongs, a town of
another county), is a 4xx that says which field, never a 500 and never a row written under the wrong owner."""

from __future__ import annotations

import pytest
import time_machine
from ledger_world import api, people  # noqa: F401  (the fixtures)
from test_problem_api import NOW, log

from conftest import footprint

MISSING = 2**31 - 1  # a valid id that names no row


def refused(response, field: str) -> None:
    assert 400 <= response.status_code < 500, (response.status_code, response.get_data(as_text=True))
    body = response.json
    fields = [d.get("field") for d in body.get("details") or [] if isinstance(d, dict)]
    assert field in fields or field in body["message"]["en"], body


@pytest.fixture
def problem(client, people, api):  # noqa: F811
    with time_machine.travel(NOW, tick=False):
        created = log(client, api("kj"), town_id=people.towns["西烟镇"].id)
    assert created.status_code == 201
    return created.json["id"]


@pytest.mark.parametrize("who, fields, field", [
    ("kj", {"town_id": MISSING}, "town_id"),
    ("kj", {"county_id": MISSING}, "county_id"),
    ("office", {"county_id": "kj-unit"}, "county_id"),  # a member unit is no county
    ("office", {"town_id": "pd-town", "county_id": "yx-county"}, "town_id"),  # a town of another county
])
def test_a_problem_names_a_real_town_and_county(client, db, people, api, who, fields, field):  # noqa: F811
    ids = {"kj-unit": people.units["市科技局"], "pd-town": people.towns["娘子关镇"].id,
           "yx-county": people.units["盂县"]}
    before = footprint(db)
    with time_machine.travel(NOW, tick=False):
        answer = log(client, api(who), **{k: ids.get(v, v) for k, v in fields.items()})
    refused(answer, field)
    assert footprint(db)[1] == before[1]  # no case written


@pytest.mark.parametrize("unit", [MISSING, "leading-group", "other-county"])
def test_a_problem_is_assigned_to_a_member_unit_or_its_county_only(client, db, make, people, api, problem, unit):  # noqa: F811
    ids = {"other-county": people.units["平定县"],
           "leading-group": make.unit("阳泉市专业镇高质量发展领导小组", "leading_group").id}
    with time_machine.travel(NOW, tick=False):
        answer = client.post(f"/api/v1/problems/{problem}/assign", headers=api("office"),
                             json={"responsible_unit_id": ids.get(unit, unit)})
    refused(answer, "responsible_unit_id")


@pytest.mark.parametrize("unit_ids, field", [([MISSING], "unit_ids"), (["county"], "unit_ids")])
def test_a_unit_preset_holds_member_units_only(client, people, api, unit_ids, field):  # noqa: F811
    ids = [people.units["盂县"] if u == "county" else u for u in unit_ids]
    answer = client.post("/api/v1/unit-presets", headers=api("office"), json={"name": "常用单位", "unit_ids": ids})
    refused(answer, field)


@pytest.mark.parametrize("fields, field", [({"town_id": MISSING}, "town_id"), ({"county_id": "member"}, "county_id")])
def test_a_project_names_a_real_town_and_county(client, db, people, api, fields, field):  # noqa: F811
    ids = {"member": people.units["市科技局"]}
    body = {"data": {"project_name": "铸造产业园", "enterprise": "盂县华盛铸造有限公司", "investment_planned": 5000},
            **{k: ids.get(v, v) for k, v in fields.items()}}
    before = footprint(db)
    with time_machine.travel(NOW, tick=False):
        answer = client.post("/api/v1/projects/key", headers=api("office"), json=body)
    refused(answer, field)
    assert footprint(db)[1] == before[1]


def test_a_token_for_a_seat_the_user_does_not_hold_is_refused(client, people):  # noqa: F811
    answer = client.post("/api/v1/auth/token", json={"username": "office_staff", "password": "Zyz-test-2026",
                                                     "seat_id": MISSING})
    assert 400 <= answer.status_code < 500 and answer.json["error"]
