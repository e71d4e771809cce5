"""Who sees what within a designation (definitions/visibility.yaml): the applying county gets the expert average
and the decision, not the experts' names and scores nor the member units' opinions and officials; a member unit
sees only its own opinion until the joint review concludes. Pages and the API read the case through the same
service, so each is checked on both."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from conftest import api_headers, login
from workflow.core.db import transaction
from workflow.core.engine import fire
from workflow.core.queries import case_events
from workflow.core.visibility import readable_case, visible_data

APPLICATION = {"industry_category": "manufacturing", "leading_industry": "耐火材料", "main_products": "高铝砖",
               "output_yi": 12.5, "leading_enterprises": [{"name": "盂县耐材集团"}], "supporting_enterprises": 12}
EXPERTS = [{"name": "张评审", "score": 80}, {"name": "赵评审", "score": 91}]
SECRETS = ("李科技", "王发改", "产值数据需核实", "张评审", "赵评审", "建议认定，注意安全生产")


@pytest.fixture
def review(make, db, now, tmp_path, monkeypatch):
    """A designation in consultation: 市科技局 (李科技) agrees, 市发改委 (王发改) disagrees with reasons."""
    from workflow.core import attachments

    monkeypatch.setattr(attachments.settings, "upload_dir", str(tmp_path / "files"))
    county = make.user("county", county="盂县")
    office = make.user("office")
    leader = make.user("leader")
    kj = make.user("member", unit="市科技局", display_name="李科技")
    fg = make.user("member", unit="市发改委", display_name="王发改")
    case = make.case("designation", state="submitted", town=make.town("梁家寨乡"), by=county, data=dict(APPLICATION))
    with transaction(db) as s:
        fire(session=s, case_id=case.id, trigger="accept", actor=make.actor(office), now=now,
             payload={"member_units": [kj.unit_id, fg.unit_id]})
    with transaction(db) as s:
        fire(session=s, case_id=case.id, trigger="record_opinion", actor=make.actor(kj), now=now,
             payload={"opinion": "agree"})
    return {"case": case, "county": county, "office": office, "leader": leader, "kj": kj, "fg": fg}


def to_decision(make, db, now, review):
    """The second unit answers, the office concludes and records the experts, and proposes."""
    case = review["case"]
    steps = [(review["fg"], "record_opinion", {"opinion": "disagree"}, "产值数据需核实"),
             (review["office"], "conclude", {}, None),
             (review["office"], "record_experts",
              {"experts": EXPERTS, "expert_recommendation": "建议认定，注意安全生产"}, None),
             (review["office"], "propose", {}, None)]
    for user, trigger, payload, comment in steps:
        with transaction(db) as s:
            fire(session=s, case_id=case.id, trigger=trigger, actor=make.actor(user), now=now + timedelta(hours=1),
                 payload=payload, comment=comment)


def test_a_member_unit_sees_only_its_own_opinion_while_the_review_runs(make, db, now, review):
    case = review["case"]
    with transaction(db) as s:
        mine = readable_case(s, make.actor(review["kj"]), case.id).data["opinions"]
        theirs = readable_case(s, make.actor(review["fg"]), case.id).data["opinions"]
        office = readable_case(s, make.actor(review["office"]), case.id).data["opinions"]
    assert list(mine) == [str(review["kj"].unit_id)] and mine[str(review["kj"].unit_id)]["by"] == "李科技"
    assert theirs == {}  # 市发改委 has not answered: it does not see what 市科技局 said
    assert office[str(review["kj"].unit_id)]["answer"] == "agree"


def test_once_the_review_concludes_member_units_read_every_opinion(make, db, now, review):
    to_decision(make, db, now, review)
    with transaction(db) as s:
        seen = readable_case(s, make.actor(review["kj"]), review["case"].id).data
    assert {o["by"] for o in seen["opinions"].values()} == {"李科技", "王发改"}
    assert "experts" not in seen and seen["expert_average"] == 85.5


def test_the_county_gets_the_average_and_the_decision_not_names_scores_or_opinions(make, db, now, review):
    to_decision(make, db, now, review)
    case = review["case"]
    with transaction(db) as s:
        county = readable_case(s, make.actor(review["county"]), case.id)
        events = case_events(s, make.actor(review["county"]), case.id)
        leader = visible_data(make.actor(review["leader"]), s.get(type(county), case.id))
    assert county.state == "decision" and county.data["expert_average"] == 85.5
    assert not {"experts", "expert_recommendation", "opinions"} & set(county.data)
    assert county.data["consulted_units"] == [review["kj"].unit_id, review["fg"].unit_id]
    timeline = json.dumps([(e.actor_name, e.unit_name, e.comment, e.data) for e in events], ensure_ascii=False)
    assert not [secret for secret in SECRETS if secret in timeline]
    assert [e.trigger for e in events if e.trigger] == ["accept", "record_opinion", "record_opinion", "conclude",
                                                         "record_experts", "propose"]  # each step is still there
    assert [e["name"] for e in leader["experts"]] == ["张评审", "赵评审"]  # the leader decides on the full record


def test_the_county_page_and_api_show_neither_an_expert_nor_another_units_official(make, app, db, now, review):
    to_decision(make, db, now, review)
    case = review["case"]
    client = app.test_client()
    login(client, review["county"].username)
    page = client.get(f"/cases/{case.id}").get_data(as_text=True)
    assert "85.5" in page and "专家姓名和评分仅限领导小组及其办公室查阅" in page
    api = client.get(f"/api/v1/cases/{case.id}", headers=api_headers(client, review["county"].username))
    events = client.get(f"/api/v1/cases/{case.id}/events", headers=api_headers(client, review["county"].username))
    files = client.get(f"/api/v1/cases/{case.id}/attachments",
                       headers=api_headers(client, review["county"].username))
    assert api.status_code == events.status_code == files.status_code == 200
    assert api.json["data"]["expert_average"] == 85.5
    for text in (page, api.get_data(as_text=True), events.get_data(as_text=True)):
        assert not [secret for secret in SECRETS if secret in text]
    assert "opinion_sheet" not in [f["kind"] for f in files.json["items"]]
    assert "opinion-sheet.docx" not in page

    office = app.test_client()
    login(office, review["office"].username)
    office_page = office.get(f"/cases/{case.id}").get_data(as_text=True)
    assert all(secret in office_page for secret in SECRETS)
    headers = api_headers(office, review["office"].username)
    sheet = next(f for f in office.get(f"/api/v1/cases/{case.id}/attachments", headers=headers).json["items"]
                 if f["kind"] == "opinion_sheet")
    # the county downloads the sheet by its id: as if it did not exist
    refused = client.get(f"/api/v1/attachments/{sheet['id']}", headers=api_headers(client, review["county"].username))
    assert refused.status_code == 404
    assert office.get(f"/api/v1/attachments/{sheet['id']}", headers=headers, buffered=True).status_code == 200


def test_a_member_units_page_does_not_show_the_other_units_opinion_before_the_conclusion(make, app, db, now, review):
    with transaction(db) as s:
        fire(session=s, case_id=review["case"].id, trigger="record_opinion", actor=make.actor(review["fg"]),
             now=now, payload={"opinion": "disagree"}, comment="产值数据需核实")
    client = app.test_client()
    login(client, review["kj"].username)
    page = client.get(f"/cases/{review['case'].id}").get_data(as_text=True)
    api = client.get(f"/api/v1/cases/{review['case'].id}", headers=api_headers(client, review["kj"].username))
    for text in (page, api.get_data(as_text=True)):
        assert "王发改" not in text and "产值数据需核实" not in text
    assert "李科技" in page and "其他成员单位的意见在会审结束后可见" in page
