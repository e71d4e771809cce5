"""The evaluation campaign through the pages: the office opens a year by hand, the county fills its
self-assessment on its own form (a value out of range named beside its field), a member unit gives its values on
its form and sees only its indicators, the office reads the breakdown on the case page and sets a score only with
a reason."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import time_machine
from sqlmodel import select
from test_campaign import designated, statistics

from conftest import csrf_token, login
from workflow.core.db import transaction
from workflow.core.engine import fire
from workflow.core.models import Case
from workflow.evaluation import values as v
from workflow.evaluation.indicators import evaluation_spec

DAY = datetime(2027, 1, 12, 2, 0, tzinfo=UTC)  # Tuesday 12 January 2027, 10:00 in Yangquan
COUNTY = {"v-digital_projects": "3", "v-town_policy": "是", "v-training": "1200", "v-business_environment": "否",
          "target-employment_target": "6000", "text-scale": "产值稳步增长。"}


@pytest.fixture
def people(make, db):
    people = {"office": make.user("office", username="office_zhang"),
              "county": make.user("county", county="盂县", username="yx_clerk"),
              "other": make.user("county", county="平定县", username="pd_clerk"),
              "keji": make.user("member", unit="市科技局", username="keji"),
              "hr": make.user("member", unit="市人社局", username="renshe"),
              "sj": make.user("member", unit="市市场监管局", username="shichang")}
    town = designated(make, db, "西烟镇")
    designated(make, db, "娘子关镇", county="平定县")
    statistics(db, town, 2026, {"output_yi": 30, "employees": 5200})
    return people


def post_form(client, url, data):
    return client.post(url, data={"csrf_token": csrf_token(client, url), **data})


def county_form():
    keys = {f"v-{i.key}" for i in v.provided_by(evaluation_spec(), "county")}
    return {k: val for k, val in COUNTY.items() if k in keys or not k.startswith("v-")}


def opened_by_hand(client):
    login(client, "office_zhang")
    unconfirmed = client.post("/evaluation/open", data={"csrf_token": csrf_token(client, "/evaluation"),
                                                        "year": "2026"})
    assert unconfirmed.status_code == 303
    done = client.post("/evaluation/open", data={"csrf_token": csrf_token(client, "/evaluation"), "year": "2026",
                                                 "confirmed": "yes"})
    assert done.status_code == 303
    page = client.get("/evaluation?year=2026").get_data(as_text=True)
    assert "2026年度评价 · 西烟镇" in page and "2026年度评价 · 娘子关镇" in page
    client.post("/logout", data={"csrf_token": csrf_token(client, "/inbox")})


def the_case(db, name="西烟镇"):
    with transaction(db) as s:
        return next(c for c in s.exec(select(Case).where(Case.definition_key == "evaluation_town")).all()
                    if c.title.endswith(name))


def test_the_county_fills_its_self_assessment_and_a_value_out_of_range_is_named(client, db, people):
    with time_machine.travel(DAY, tick=False):
        opened_by_hand(client)
        case = the_case(db)
        assert case.data["statistics_values"]["output"] == 30
        login(client, "yx_clerk")
        listing = client.get("/evaluation?year=2026").get_data(as_text=True)
        assert "西烟镇" in listing and "娘子关镇" not in listing  # a county sees its own towns only
        url = f"/evaluation/cases/{case.id}/assess"
        assert client.get(url).status_code == 200
        bad = post_form(client, url, {"expected_version": case.version, "action": "save",
                                      **county_form(), "v-digital_projects": "-2"})
        assert bad.status_code == 422
        assert "数字化转型、智能制造项目应在 0～1000000000 之间" in bad.get_data(as_text=True)
        sent = post_form(client, url, {"expected_version": case.version, "action": "submit", "confirmed": "yes",
                                       **county_form()})
        assert sent.status_code == 302
    with transaction(db) as s:
        row = s.get(Case, case.id)
    assert row.state == "office_check"
    assert row.data["assessment"]["digital_projects"] == 3 and row.data["assessment"]["town_policy"] is True
    assert row.data["group_texts"] == {"scale": "产值稳步增长。"}


def test_a_member_unit_gives_its_values_and_the_office_adjusts_only_with_a_reason(client, db, make, people):
    with time_machine.travel(DAY, tick=False):
        opened_by_hand(client)
        case = the_case(db)
        with transaction(db) as s:
            fire(session=s, case_id=case.id, trigger="submit_assessment", actor=make.actor(people["county"]), now=DAY,
                 payload={"assessment": {k[2:]: val for k, val in county_form().items() if k.startswith("v-")},
                          "targets": {"employment_target": "6000"}})
            case = fire(session=s, case_id=case.id, trigger="accept_assessment", actor=make.actor(people["office"]),
                        now=DAY)
        login(client, "renshe")
        page = client.get(f"/cases/{case.id}").get_data(as_text=True)
        assert "新增就业" in page and "主导产业产值" not in page  # only its own indicators
        url = f"/evaluation/cases/{case.id}/score"
        form = {f"v-{i.key}": "100" for i in v.provided_by(evaluation_spec(), "市人社局")}
        sent = post_form(client, url, {"expected_version": case.version, "confirmed": "yes", **form})
        assert sent.status_code == 302
        assert client.get(url).status_code == 302  # given once: the form is no longer offered
        client.post("/logout", data={"csrf_token": csrf_token(client, "/inbox")})
        login(client, "office_zhang")
        with transaction(db) as s:
            case = s.get(Case, case.id)
        assert case.data["unit_answers"][str(people["hr"].unit_id)]["values"]
        with transaction(db) as s:  # the other units answer: the office closes the scoring
            for user in (people["keji"], people["sj"]):
                indicators = v.provided_by(evaluation_spec(), make.actor(user).unit_name)
                given = {i.key: "是" if i.rule.kind == "yes_no" else "1" for i in indicators}
                fire(session=s, case_id=case.id, trigger="give_unit_values", actor=make.actor(user), now=DAY,
                     payload={"unit_values": given})
            case = fire(session=s, case_id=case.id, trigger="conclude_scoring", actor=make.actor(people["office"]),
                        now=DAY)
        page = client.get(f"/cases/{case.id}").get_data(as_text=True)
        assert "主导产业产值 30 亿元，在 10～50 亿元之间线性计分：5 / 10 分" in page
        url = f"/cases/{case.id}/do/adjust_score"
        no_reason = post_form(client, url, {"expected_version": case.version, "indicator": "output", "points": "4"})
        assert no_reason.status_code == 422
        done = post_form(client, url, {"expected_version": case.version, "indicator": "output", "points": "4",
                                       "comment": "统计口径核减"})
        assert done.status_code == 302
        page = client.get(f"/cases/{case.id}").get_data(as_text=True)
        assert "办公室调整为 4 分，理由：统计口径核减" in page


def test_the_api_fires_the_same_steps_and_every_role_reads_the_case_page(app, client, db, make, people):
    from conftest import api_headers

    api = app.test_client()
    with time_machine.travel(DAY, tick=False):
        opened_by_hand(client)
        case = the_case(db)
        county, office = api_headers(api, "yx_clerk"), api_headers(api, "office_zhang")
        values = {k[2:]: val for k, val in county_form().items() if k.startswith("v-")}
        bad = api.post(f"/api/v1/cases/{case.id}/transitions", headers=county, json={
            "trigger": "submit_assessment", "expected_version": case.version,
            "data": {"assessment": {**values, "town_policy": "也许"}, "targets": {"employment_target": "6000"}}})
        assert bad.status_code == 422
        assert [(d["field"], d["zh"]) for d in bad.json["details"]] == [
            ("town_policy", "制定“一镇一策”扶持政策只能填“是”或“否”")]
        sent = api.post(f"/api/v1/cases/{case.id}/transitions", headers=county, json={
            "trigger": "submit_assessment", "expected_version": case.version,
            "data": {"assessment": values, "targets": {"employment_target": "6000"}}})
        assert sent.status_code == 200, sent.json
        back = api.post(f"/api/v1/cases/{case.id}/transitions", headers=office, json={
            "trigger": "return_assessment", "expected_version": case.version + 1, "comment": "请补充证明"})
        assert back.status_code == 200, back.json
        for user in ("yx_clerk", "office_zhang"):
            login(client, user)
            page = client.get(f"/cases/{case.id}")
            assert page.status_code == 200 and "主导产业产值" in page.get_data(as_text=True)
            client.post("/logout", data={"csrf_token": csrf_token(client, "/inbox")})
        login(client, "pd_clerk")  # another county: as if it did not exist
        assert client.get(f"/cases/{case.id}").status_code == 404
        assert client.get(f"/evaluation/cases/{case.id}/assess").status_code == 404


def test_the_county_gives_evidence_per_group_and_who_sees_the_case_downloads_it(app, client, db, make, people):
    import io

    from conftest import api_headers

    pdf = b"%PDF-1.4\n% evidence\n"
    with time_machine.travel(DAY, tick=False):
        opened_by_hand(client)
        case = the_case(db)
        login(client, "yx_clerk")
        url = f"/evaluation/cases/{case.id}/assess"
        form = client.get(url).get_data(as_text=True)
        assert 'data-evidence="innovation"' in form and "需提供：项目清单及验收或投用证明" in form
        bad = post_form(client, url, {"expected_version": case.version, "action": "save", **county_form(),
                                      "evidence-scale": (io.BytesIO(b"MZ\x90\x00"), "产值证明.pdf")})
        assert bad.status_code == 422 and "可执行程序" in bad.get_data(as_text=True)
        with transaction(db) as s:  # refused: neither the file nor the values were kept
            assert s.get(Case, case.id).version == case.version
        sent = post_form(client, url, {"expected_version": case.version, "action": "save", **county_form(),
                                       "evidence-scale": [(io.BytesIO(pdf), "产值证明.pdf"),
                                                          (io.BytesIO(pdf + b"2"), "企业名录.pdf")],
                                       "evidence-innovation": (io.BytesIO(pdf + b"3"), "项目验收.pdf")})
        assert sent.status_code == 302
        case = the_case(db)
        kept = case.data["group_evidence"]
        assert set(kept) == {"scale", "innovation"} and len(kept["scale"]) == 2
        form = client.get(url).get_data(as_text=True)
        assert "产值证明.pdf" in form and f'name="keep-evidence-scale" value="{kept["scale"][0]}" checked' in form
        # the second file of the group unticked: out of the evidence, still an attachment of the case
        post_form(client, url, {"expected_version": case.version, "action": "save", **county_form(),
                                "keep-evidence-scale": str(kept["scale"][0]),
                                "keep-evidence-innovation": str(kept["innovation"][0])})
        case = the_case(db)
        assert case.data["group_evidence"] == {"scale": kept["scale"][:1], "innovation": kept["innovation"]}
        page = client.get(f"/cases/{case.id}").get_data(as_text=True)
        evidence = page[page.index('data-evidence="scale"'):]
        assert f'href="/attachments/{kept["scale"][0]}"' in evidence.split("</p>")[0]
        assert "产值证明.pdf" in evidence.split("</p>")[0] and "企业名录.pdf" not in evidence.split("</p>")[0]
        with client.get(f"/attachments/{kept['scale'][0]}") as download:
            assert download.data == pdf
        api = app.test_client()
        wrong = api.post(f"/api/v1/cases/{case.id}/transitions", headers=api_headers(api, "yx_clerk"), json={
            "trigger": "save_assessment", "expected_version": case.version,
            "data": {"assessment": {k[2:]: val for k, val in county_form().items() if k.startswith("v-")},
                     "group_evidence": {"scale": [kept["scale"][0] + 1000]}}})
        assert wrong.status_code == 422 and [d["field"] for d in wrong.json["details"]] == ["group_evidence"]
        client.post("/logout", data={"csrf_token": csrf_token(client, "/inbox")})
        make.user("member", unit="市发改委", username="fagai")
        with transaction(db) as s:
            fire(session=s, case_id=case.id, trigger="submit_assessment", actor=make.actor(people["county"]),
                 now=DAY, payload={"targets": {"employment_target": "6000"}})
            fire(session=s, case_id=case.id, trigger="accept_assessment", actor=make.actor(people["office"]), now=DAY)
        # a member unit asked for values sees the case, so its files; a unit not in the case, another county: not
        for username, status in (("renshe", 200), ("fagai", 404), ("pd_clerk", 404)):
            login(client, username)
            with client.get(f"/attachments/{kept['scale'][0]}") as download:
                assert download.status_code == status, username
            client.post("/logout", data={"csrf_token": csrf_token(client, "/inbox")})
