"""The supporting documents (证明材料) of an application: a checklist in definitions/materials.yaml; submit is
refused with the missing kinds named; an upload chooses its kind; the office sees the checklist ticked."""

from __future__ import annotations

import io

import pytest

from conftest import COMPLETE_APPLICATION, MATERIAL_PDF, api_headers, attach_materials, login, reload
from workflow.core.db import transaction
from workflow.core.engine import fire
from workflow.core.errors import Unprocessable
from workflow.designation.materials import MaterialsError, checklist, parse_materials


def test_submit_names_every_missing_kind_and_passes_once_they_are_attached(make, db, now):
    county = make.user("county")
    case = make.case("designation", by=county, data=dict(COMPLETE_APPLICATION), materials=False)
    with transaction(db) as s:
        attach_materials(s, case.id, now, kinds=["county_request", "output_proof"])
    with pytest.raises(Unprocessable) as raised, transaction(db) as s:
        fire(session=s, case_id=case.id, trigger="submit", actor=make.actor(county), now=now)
    assert [(r["field"], r["zh"]) for r in raised.value.details] == [
        ("materials", "缺少证明材料：龙头企业名单、上下游配套企业名单（含家庭农场、专业合作社）")]
    with transaction(db) as s:
        attach_materials(s, case.id, now, kinds=["leading_enterprise_list", "supporting_enterprise_list"])
    with transaction(db) as s:
        fire(session=s, case_id=case.id, trigger="submit", actor=make.actor(county), now=now)
    assert reload(db, case.id).state == "submitted"


def test_an_upload_chooses_its_kind_and_an_unknown_kind_is_refused(make, app, db):
    county = make.user("county")
    case = make.case("designation", by=county, materials=False)
    client = app.test_client()
    headers = api_headers(client, county.username)
    url = f"/api/v1/cases/{case.id}/attachments"
    stored = client.post(url, headers=headers, data={"file": (io.BytesIO(MATERIAL_PDF), "产值.pdf"),
                                                     "kind": "output_proof"})
    assert stored.status_code == 201 and stored.json["kind"] == "output_proof"
    refused = client.post(url, headers=headers, data={"file": (io.BytesIO(MATERIAL_PDF), "x.pdf"), "kind": "bogus"})
    assert refused.status_code == 422 and refused.json["message"]["zh"] == "未知的材料类型。"


def test_the_office_sees_the_checklist_ticked_on_the_case_page(make, app, db, now):
    county = make.user("county")
    office = make.user("office")
    case = make.case("designation", by=county, data=dict(COMPLETE_APPLICATION), materials=False)
    with transaction(db) as s:
        attach_materials(s, case.id, now, kinds=["output_proof"])
    client = app.test_client()
    login(client, office.username)
    page = client.get(f"/cases/{case.id}").get_data(as_text=True)
    section = page[page.index('id="materials"'):]
    section = section[:section.index("</section>")]
    assert 'class="done" data-kind="output_proof"' in section and "output_proof.pdf" in section
    assert 'class="missing" data-kind="leading_enterprise_list"' in section
    assert 'class="optional" data-kind="platform_proof"' in section  # not required: no relaxation chosen
    assert "证明材料" in page


def test_the_checklist_follows_the_plans_criteria():
    required = [m.kind for m in checklist() if m.required]
    assert required == ["county_request", "output_proof", "leading_enterprise_list", "supporting_enterprise_list"]
    relaxed = next(m for m in checklist() if m.kind == "relaxation_proof")
    assert relaxed.needed({"relaxation_basis": "historic_origin"}) and not relaxed.needed({"relaxation_basis": "none"})


HEAD = "key: materials\nversion: 1\nlabel: {zh: 材料, en: Materials}\nmaterials:\n"


@pytest.mark.parametrize(("body", "expected"), [
    ("  - {kind: evidence, label: {zh: 甲, en: A}}\n",
     ["m.yaml: materials[0] (evidence).kind: 'evidence' is a kind the system gives its own documents"]),
    ("  - {kind: a, label: {zh: 甲, en: A}, criterion: beauty, required_if: colour}\n"
     "  - {kind: a, label: {zh: 乙}, required: yes please}\n",
     ["m.yaml: materials[0] (a).criterion: unknown criterion 'beauty' (definitions/eligibility.yaml)",
      "m.yaml: materials[0] (a).required_if: unknown application field 'colour'",
      "m.yaml: materials[1] (a).kind: kind 'a' listed twice",
      "m.yaml: materials[1] (a).required: must be true or false",
      "m.yaml: materials[1] (a).label.en: missing label"]),
])
def test_a_broken_checklist_is_refused_with_every_problem(body, expected):
    with pytest.raises(MaterialsError) as raised:
        parse_materials(HEAD + body, "m.yaml")
    assert raised.value.errors == expected
