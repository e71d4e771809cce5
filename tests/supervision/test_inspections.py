"""Inspections: one town or a campaign over every designated town, the yearly campaign, findings decided
one by one (a finding to rectify becomes an order to the town's county), closing only when all are decided."""

from datetime import UTC, datetime

import pytest
import time_machine
from sqlmodel import select

from conftest import footprint, reload
from workflow.core.actors import Actor
from workflow.core.attachments import store_bytes
from workflow.core.db import transaction
from workflow.core.engine import fire
from workflow.core.errors import Unprocessable
from workflow.core.models import Case
from workflow.core.queries import registry_case
from workflow.supervision.inspections import open_yearly_campaign, plan_campaign, plan_inspection


def _designate(make, db, county):
    town = make.town(county=county)
    with transaction(db) as s:
        fire(session=s, case_id=registry_case(s, town.id).id, trigger="designate", actor=Actor.system(),
             now=make.now, payload={"designated_date": "2026-01-05", "review_date": "2029-01-05"})
    return town


def test_campaign_covers_every_designated_town_and_not_candidates(make, db, now):
    office = make.user("office")
    designated = [_designate(make, db, c) for c in ("盂县", "平定县")]
    make.town(county="郊区")  # a candidate: not inspected
    with transaction(db) as s:
        cases = plan_campaign(session=s, actor=make.actor(office), now=now, name="2026年第四季度专项检查")
    assert sorted(c.town_id for c in cases) == sorted(t.id for t in designated)
    assert {c.state for c in cases} == {"planned"} and {c.data["campaign"] for c in cases} == {"2026年第四季度专项检查"}
    assert {c.county_id for c in cases} == {t.county_id for t in designated}


def test_findings_become_orders_and_closing_needs_every_decision(make, db, now):
    office = make.user("office")
    town = _designate(make, db, "盂县")
    me = make.actor(office)
    with transaction(db) as s:
        inspection = plan_inspection(session=s, actor=me, town_id=town.id, now=now)
        fire(session=s, case_id=inspection.id, trigger="start", actor=me, now=now)
        for text, severity in (("检验检测平台未运行", "high"), ("台账更新不及时", "low")):
            fire(session=s, case_id=inspection.id, trigger="record_finding", actor=me, now=now,
                 payload={"finding": {"text": text, "severity": severity, "attachments": []}})
        fire(session=s, case_id=inspection.id, trigger="decide_finding", actor=me, now=now,
             payload={"finding_no": 1, "decision": "rectify", "due_date": "2027-01-29"})
    with transaction(db) as s, pytest.raises(Unprocessable) as refused:
        fire(session=s, case_id=inspection.id, trigger="close", actor=me, now=now)
    assert "第 2 项" in refused.value.zh
    with transaction(db) as s:
        fire(session=s, case_id=inspection.id, trigger="decide_finding", actor=me, now=now,
             payload={"finding_no": 2, "decision": "no_action"})
        fire(session=s, case_id=inspection.id, trigger="close", actor=me, now=now)
    closed = reload(db, inspection.id)
    assert closed.state == "closed"
    order_id = closed.data["findings"][0]["order_id"]
    order = reload(db, order_id)
    assert (order.definition_key, order.state, order.county_id, order.town_id, order.parent_id) == (
        "rectification", "issued", town.county_id, town.id, inspection.id)
    assert order.data["due_date"] == "2027-01-29" and order.data["problem"] == "检验检测平台未运行"


def test_a_finding_needs_text_and_severity(make, db, now):
    office = make.user("office")
    inspection = make.case("inspection", state="in_progress", by=office)
    with transaction(db) as s, pytest.raises(Unprocessable) as refused:
        fire(session=s, case_id=inspection.id, trigger="record_finding", actor=make.actor(office), now=now,
             payload={"finding": {"text": " ", "severity": "extreme"}})
    assert {d["field"] for d in refused.value.details} == {"finding"} and len(refused.value.details) == 2


def test_the_yearly_campaign_opens_on_its_date_once(make, db):
    _designate(make, db, "盂县")
    before = datetime(2027, 2, 28, 1, 0, tzinfo=UTC)
    on_the_day = datetime(2027, 3, 1, 1, 0, tzinfo=UTC)
    with transaction(db) as s:
        assert open_yearly_campaign(session=s, now=before) == []
    with transaction(db) as s:
        opened = open_yearly_campaign(session=s, now=on_the_day)
    with transaction(db) as s:
        again = open_yearly_campaign(session=s, now=on_the_day)
    assert len(opened) == 1 and again == []
    assert opened[0].data["campaign"] == "2027年度专业镇专项检查"


def test_the_scheduler_runs_the_yearly_campaign_job(make, db, app):
    from webapp.cli import _scheduler

    _designate(make, db, "平定县")
    scheduler = _scheduler(app, background=True)
    job = scheduler.get_job("yearly-inspections")
    assert job is not None and "cron" in str(job.trigger)
    with time_machine.travel(datetime(2027, 3, 2, 0, 30, tzinfo=UTC), tick=False):
        job.func()
    with transaction(db) as s:
        planned = s.exec(select(Case).where(Case.definition_key == "inspection")).all()
    assert [c.data["campaign"] for c in planned] == ["2027年度专业镇专项检查"]


@pytest.mark.parametrize("finding", [
    {"text": "台账不全", "severity": {"level": "high"}},
    {"text": "台账不全", "severity": ["high"]},
    {"text": "台账不全", "severity": "high", "attachments": 5},
    {"text": "台账不全", "severity": "high", "attachments": [{"id": 1}]},
    {"text": "台账不全", "severity": "high", "attachments": [True]},
    {"text": "台账不全", "severity": "high", "attachments": [10**22]},
    {"text": "台账不全", "severity": "high", "attachments": "other"},  # replaced by another case's attachment below
], ids=["severity object", "severity list", "evidence a number", "evidence objects", "evidence true",
        "evidence id too large", "evidence of another case"])
def test_a_finding_of_the_wrong_shape_is_refused_and_nothing_is_stored(make, db, now, finding):
    office = make.user("office")
    inspection = make.case("inspection", state="in_progress", by=office)
    elsewhere = make.case("inspection", state="in_progress", by=office)
    with transaction(db) as s:
        own, other = (store_bytes(session=s, actor=Actor.system(), data=b"%PDF-1.4\n%%EOF\n", filename="现场照片.pdf",
                                  content_type="application/pdf", kind="evidence", now=now, case_id=c.id).id
                      for c in (inspection, elsewhere))
    if finding.get("attachments") == "other":
        finding = {**finding, "attachments": [own, other]}
    before = footprint(db)
    with transaction(db) as s, pytest.raises(Unprocessable) as refused:
        fire(session=s, case_id=inspection.id, trigger="record_finding", actor=make.actor(office), now=now,
             payload={"finding": finding})
    assert [d["field"] for d in refused.value.details] == ["finding"]
    assert footprint(db) == before
    with transaction(db) as s:  # the case's own attachment is evidence it takes
        fire(session=s, case_id=inspection.id, trigger="record_finding", actor=make.actor(office), now=now,
             payload={"finding": {"text": "台账不全", "severity": "high", "attachments": [own]}})
    assert reload(db, inspection.id).data["findings"][0]["attachments"] == [own]
