"""常用组合 on the 受理 form without JavaScript, the office's list of saved sets, and the API: the office saves the
ticked member units under a name, applies a set (the form comes back with exactly its units ticked), is told in
Chinese what is wrong with a refused save and gets its ticks back, deletes a set after confirming; the API lists,
saves and deletes through the same services."""

from __future__ import annotations

import json
import re
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlmodel import select

from conftest import api_headers, csrf_token, login
from workflow.core import unit_presets
from workflow.core.db import transaction
from workflow.core.models import AuditEvent, UnitPreset
from workflow.seed import ensure_reference_units, unit_id

INDUSTRY = ("市发改委", "市工信局", "市科技局", "市商务局", "市市场监管局", "市统计局")


def text(response) -> str:
    return response.get_data(as_text=True)


def ticked(page: str) -> set[int]:
    return {int(i) for i in re.findall(r'name="member_units" value="(\d+)" checked>', page)}


def flashes(page: str) -> list[str]:
    return [re.sub(r"\s+", " ", m).strip() for m in re.findall(r'class="flash [a-z]+"[^>]*>(.*?)</', page, re.S)]


@pytest.fixture
def setup(app, make, db, now):
    with transaction(db) as s:
        ensure_reference_units(s, now)
        ids = {name: unit_id(s, name) for name in (*INDUSTRY, "市农业农村局", "市文旅局")}
    county = make.user("county", username="yx_clerk")
    office = make.user("office", unit="市工信局（领导小组办公室）", username="office_wang")
    cases = [make.case(state="submitted", by=county) for _ in range(2)]
    client = app.test_client()
    login(client, "office_wang")
    return {"ids": ids, "cases": cases, "office": office, "client": client}


def _save(client, case_id: int, data: dict):
    url = f"/cases/{case_id}/do/accept"
    return client.post(f"{url}/unit-preset", data={**data, "csrf_token": csrf_token(client, url)})


def _presets(db) -> list[tuple[str, list[int]]]:
    with transaction(db) as s:
        return [(p.name, p.unit_ids) for p in s.exec(select(UnitPreset).order_by(UnitPreset.id))]


def test_the_office_saves_the_ticked_units_and_applies_the_set_on_another_form_without_javascript(setup, db):
    client, ids, (first, second) = setup["client"], setup["ids"], setup["cases"]
    form = text(client.get(f"/cases/{first.id}/do/accept"))
    assert "常用组合" in form and "还没有常用组合" in form
    assert f'formaction="/cases/{first.id}/do/accept/unit-preset"' in form
    assert 'href="/unit-presets"' in form
    industry = sorted(ids[n] for n in INDUSTRY)
    # the form's other fields go along (the button posts the whole form); they are not saved
    response = _save(client, first.id, {"member_units": [str(i) for i in industry],
                                        "preset_name": " 工业类常用会审单位 ", "opinion_due_date": "",
                                        "expected_version": str(first.version)})
    assert response.status_code == 303
    [(name, unit_ids)] = _presets(db)
    assert (name, unit_ids) == ("工业类常用会审单位", industry)
    with transaction(db) as s:
        preset_id = s.exec(select(UnitPreset.id)).one()
    location = urlsplit(response.headers["Location"])
    assert location.path == f"/cases/{first.id}/do/accept" and parse_qs(location.query) == {"preset": [str(preset_id)]}
    back = text(client.get(response.headers["Location"]))
    assert "已保存为常用组合“工业类常用会审单位”：6 个成员单位。" in flashes(back)
    assert ticked(back) == set(industry)
    assert f'<option value="{preset_id}" data-unit-ids="{",".join(map(str, industry))}" selected>' in back

    # another application: the set, chosen and applied (GET ?preset=ID), ticks exactly its units
    plain = text(client.get(f"/cases/{second.id}/do/accept"))
    assert ticked(plain) == set()
    assert f'<form id="unit-preset-apply" method="get" action="/cases/{second.id}/do/accept">' in plain
    assert 'name="preset" form="unit-preset-apply"' in plain
    applied = text(client.get(f"/cases/{second.id}/do/accept?preset={preset_id}"))
    assert ticked(applied) == set(industry)
    # and 受理 with them consults exactly those units
    response = client.post(f"/cases/{second.id}/do/accept",
                           data={"member_units": [str(i) for i in industry], "expected_version": str(second.version),
                                 "csrf_token": csrf_token(client, f"/cases/{second.id}/do/accept")})
    assert response.status_code == 302
    with transaction(db) as s:
        from workflow.core.models import Case

        assert sorted(s.get(Case, second.id).data["consulted_units"]) == industry


def test_saving_again_under_the_same_name_replaces_the_units(setup, db):
    client, ids, case = setup["client"], setup["ids"], setup["cases"][0]
    _save(client, case.id, {"member_units": [str(ids["市发改委"])], "preset_name": "工业类"})
    response = _save(client, case.id, {"member_units": [str(ids["市科技局"]), str(ids["市商务局"])],
                                       "preset_name": "工业类"})
    assert _presets(db) == [("工业类", sorted([ids["市科技局"], ids["市商务局"]]))]
    assert "常用组合“工业类”已更新：2 个成员单位。" in flashes(text(setup["client"].get(response.headers["Location"])))


@pytest.mark.parametrize(("name", "units", "message"), [
    ("", True, "请填写常用组合的名称。"),
    ("组" * 41, True, "常用组合的名称不能超过 40 个字。"),
    ("工业类", False, "请至少选择一个成员单位。"),
])
def test_a_refused_save_says_why_in_chinese_and_keeps_the_ticks(setup, db, name, units, message):
    client, ids, case = setup["client"], setup["ids"], setup["cases"][0]
    chosen = sorted([ids["市发改委"], ids["市文旅局"]]) if units else []
    response = _save(client, case.id, {"member_units": [str(i) for i in chosen], "preset_name": name})
    assert response.status_code == 303
    assert urlsplit(response.headers["Location"]).path == f"/cases/{case.id}/do/accept"
    back = text(client.get(response.headers["Location"]))
    assert message in flashes(back)
    assert ticked(back) == set(chosen)
    assert f'name="preset_name" maxlength="40" value="{name}"' in back
    assert _presets(db) == []


def test_an_inactive_or_unknown_unit_is_refused(setup, db):
    client, ids, case = setup["client"], setup["ids"], setup["cases"][0]
    response = _save(client, case.id, {"member_units": [str(ids["市发改委"]), "999999"], "preset_name": "工业类"})
    back = text(client.get(response.headers["Location"]))
    assert "以下编号不是在用的成员单位：999999。" in flashes(back)
    assert ticked(back) == {ids["市发改委"]}
    assert _presets(db) == []


def test_a_missing_set_in_the_address_is_said_and_nothing_is_ticked(setup):
    client, case = setup["client"], setup["cases"][0]
    page = text(client.get(f"/cases/{case.id}/do/accept?preset=999999"))
    assert "该常用组合已不存在。" in flashes(page)
    assert ticked(page) == set()


def test_only_the_accept_form_of_the_office_shows_the_sets(setup, app, make, db):
    member = make.user("member", unit="市科技局", username="keji_zhao")
    case = setup["cases"][0]
    # a form without member units (退回补正) has none
    page = text(setup["client"].get(f"/cases/{case.id}/do/return_for_revision"))
    assert "unit-preset" not in page
    # and nobody but the office may save one, even with the form's own fields
    other = app.test_client()
    login(other, member.username)
    response = other.post(f"/cases/{case.id}/do/accept/unit-preset",
                          data={"member_units": ["1"], "preset_name": "x", "csrf_token": csrf_token(other, "/inbox")})
    assert response.status_code == 404  # the member unit does not see this case
    county = app.test_client()
    login(county, "yx_clerk")
    response = county.post(f"/cases/{case.id}/do/accept/unit-preset",
                           data={"member_units": ["1"], "preset_name": "x", "csrf_token": csrf_token(county, "/inbox")})
    assert response.status_code == 403
    assert _presets(db) == []


def test_the_office_lists_the_sets_and_deletes_one_after_confirming(setup, make, db, now):
    client, ids = setup["client"], setup["ids"]
    office = make.actor(setup["office"])
    with transaction(db) as s:
        keep = unit_presets.save_preset(s, office, name="农业文旅类", unit_ids=[ids["市农业农村局"], ids["市文旅局"]],
                                        now=now).preset
        gone = unit_presets.save_preset(s, office, name="工业类", unit_ids=[ids["市发改委"]], now=now).preset
    page = text(client.get("/unit-presets"))
    assert re.findall(r'<td class="preset-name">([^<]+)</td>', page) == ["农业文旅类", "工业类"]
    assert "市文旅局、市农业农村局" in page  # in order of id (the annex's)
    assert f'action="/unit-presets/{gone.id}/delete" data-confirm="删除常用组合“工业类”？' in page
    token = csrf_token(client, "/unit-presets")
    response = client.post(f"/unit-presets/{gone.id}/delete", data={"csrf_token": token})
    assert response.status_code == 303 and response.headers["Location"] == "/unit-presets"
    assert "已删除常用组合“工业类”。" in flashes(text(client.get("/unit-presets")))
    assert _presets(db) == [("农业文旅类", sorted([ids["市农业农村局"], ids["市文旅局"]]))]
    # deleted twice (another window): said so, nothing else happens
    response = client.post(f"/unit-presets/{gone.id}/delete", data={"csrf_token": token})
    assert "该常用组合已不存在。" in flashes(text(client.get(response.headers["Location"])))
    assert keep.id != gone.id
    with transaction(db) as s:
        kinds = [e.kind for e in s.exec(select(AuditEvent).where(AuditEvent.kind.startswith("unit_preset")))]
    assert kinds == ["unit_preset_saved", "unit_preset_saved", "unit_preset_deleted"]


# --- the API -----------------------------------------------------------------------------------------------------


def test_the_api_lists_saves_replaces_and_deletes_sets(setup, app, db):
    ids = setup["ids"]
    api = app.test_client()
    headers = api_headers(api, "office_wang")
    assert api.get("/api/v1/unit-presets", headers=headers).json == {"items": []}
    body = {"name": "工业类常用会审单位", "unit_ids": [ids["市科技局"], ids["市发改委"]]}
    created = api.post("/api/v1/unit-presets", headers=headers, json=body)
    assert created.status_code == 201, created.json
    item = created.json
    assert item["name"] == "工业类常用会审单位" and item["replaced"] is False
    assert item["unit_ids"] == sorted(body["unit_ids"])
    assert [u["name"] for u in item["units"]] == sorted(["市科技局", "市发改委"], key=lambda n: ids[n])
    assert all(u["active"] for u in item["units"])
    replaced = api.post("/api/v1/unit-presets", headers=headers,
                        json={"name": "工业类常用会审单位", "unit_ids": [ids["市商务局"]]})
    assert replaced.status_code == 200 and replaced.json["replaced"] is True
    assert replaced.json["id"] == item["id"] and replaced.json["unit_ids"] == [ids["市商务局"]]
    listed = api.get("/api/v1/unit-presets", headers=headers).json["items"]
    assert [(p["name"], p["unit_ids"]) for p in listed] == [("工业类常用会审单位", [ids["市商务局"]])]
    deleted = api.delete(f"/api/v1/unit-presets/{item['id']}", headers=headers)
    assert deleted.status_code == 200 and deleted.json["name"] == "工业类常用会审单位"
    assert api.delete(f"/api/v1/unit-presets/{item['id']}", headers=headers).status_code == 404
    assert api.get("/api/v1/unit-presets", headers=headers).json == {"items": []}
    with transaction(db) as s:
        events = [(e.kind, json.loads(e.data)["replaced"] if "replaced" in e.data else None)
                  for e in s.exec(select(AuditEvent).where(AuditEvent.kind.startswith("unit_preset")))]
    assert events == [("unit_preset_saved", False), ("unit_preset_saved", True), ("unit_preset_deleted", None)]


@pytest.mark.parametrize(("body", "status", "code"), [
    ({"name": "", "unit_ids": [1]}, 400, "no_name"),
    ({"name": "组" * 41, "unit_ids": [1]}, 400, "name_too_long"),
    ({"name": "组" * 201, "unit_ids": [1]}, 422, None),  # past the schema's limit
    ({"name": "工业类", "unit_ids": []}, 400, "no_units"),
    ({"name": "工业类", "unit_ids": [999_999]}, 400, "unknown_units"),
    ({"name": "工业类", "unit_ids": ["1"]}, 422, None),
    ({"name": "工业类"}, 422, None),
    ({"name": "工业类", "unit_ids": [1], "extra": 1}, 422, None),
])
def test_the_api_refuses_bad_sets_with_a_json_error_and_writes_nothing(setup, app, db, body, status, code):
    api = app.test_client()
    headers = api_headers(api, "office_wang")
    response = api.post("/api/v1/unit-presets", headers=headers, json=body)
    assert response.status_code == status, response.json
    assert response.json["message"]["zh"]
    if code:
        assert response.json["error"] == code
    assert _presets(db) == []


def test_the_api_is_the_offices_only(setup, app, make, db):
    make.user("leader", username="leader_li")
    api = app.test_client()
    headers = api_headers(api, "leader_li")
    assert api.get("/api/v1/unit-presets", headers=headers).status_code == 403
    response = api.post("/api/v1/unit-presets", headers=headers, json={"name": "x", "unit_ids": [1]})
    assert response.status_code == 403 and response.json["error"] == "forbidden"
    assert api.delete("/api/v1/unit-presets/1", headers=headers).status_code == 403
    assert _presets(db) == []
