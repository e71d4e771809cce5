"""One town, one open application, and none once designated or revoked: the cause of the application that was
stuck in 公示中 for ever after its public notice ended (the registry refused to designate the town twice)."""


import pytest
import sqlalchemy as sa
from sqlmodel import select
from statements import counted, listing

from conftest import COMPLETE_APPLICATION, reload
from workflow.core.db import transaction
from workflow.core.engine import create_case, fire
from workflow.core.errors import Unprocessable
from workflow.core.models import Case, Deadline, Incident
from workflow.core.queries import registry_case
from workflow.core.sweep import sweep

REVIEWED = {**COMPLETE_APPLICATION, "experts": [{"name": "甲", "score": 80}], "expert_recommendation": "同意"}


def _apply(db, make, county, town):
    with transaction(db) as s:
        return create_case(session=s, definition_key="designation", actor=make.actor(county), now=make.now,
                           town_id=town.id, data=COMPLETE_APPLICATION)


def _refusal(excinfo) -> str:
    return "；".join(r["zh"] for r in excinfo.value.details if r.get("field") == "town_id")


def _designate(db, make, county, town):
    case = make.case("designation", state="notice_pending", by=county, town=town, data=REVIEWED)
    office = make.actor(make.user("office"))
    with transaction(db) as s:
        fire(session=s, case_id=case.id, trigger="issue_notice", actor=office, now=make.now)
    return reload(db, case.id)


def test_a_second_application_for_a_town_is_refused_while_one_is_open(db, make):
    county = make.user("county")
    town = make.town()
    first = _apply(db, make, county, town)
    with pytest.raises(Unprocessable) as refused:
        _apply(db, make, county, town)
    assert _refusal(refused) == f"该镇已有一份未办结的认定申请（{first.number}，草稿），不能重复申报"
    assert "already has an open application" in refused.value.en
    with transaction(db) as s:
        fire(session=s, case_id=first.id, trigger="withdraw", actor=make.actor(county), now=make.now)
    assert _apply(db, make, county, town).state == "draft"  # withdrawn: the town may apply again


def test_the_registry_record_and_the_open_applications_are_read_together_and_the_first_open_one_is_named(
        db, make, monkeypatch):
    """Two open applications for one town (made before the rule existed): a third is refused naming the first; the
    town's registry record and its open applications come in one query."""
    county = make.user("county")
    town = make.town()
    first, second = make.case("designation", by=county, town=make.town()), _apply(db, make, county, town)
    with transaction(db) as s:
        s.connection().execute(sa.update(Case.__table__).where(Case.__table__.c.id == first.id)
                               .values(town_id=town.id))
    with counted(db.kw["bind"], monkeypatch) as statements, pytest.raises(Unprocessable) as refused:
        _apply(db, make, county, town)
    assert first.id < second.id
    assert _refusal(refused) == f"该镇已有一份未办结的认定申请（{first.number}，草稿），不能重复申报"
    assert len([q for q in statements if "FROM case_file" in q and "case_file.town_id = " in q]) == 1, \
        listing(statements)


def test_a_designated_or_revoked_town_cannot_apply(db, make):
    county, leader = make.user("county"), make.user("leader")
    town = make.town()
    designated = _designate(db, make, county, town)
    number = designated.data["designation_number"]
    with pytest.raises(Unprocessable) as refused:
        _apply(db, make, county, town)
    assert _refusal(refused) == f"该镇已认定（市级专业镇，{number}），不能重复申报认定"
    with transaction(db) as s:
        record = registry_case(s, town.id)
        s.connection().execute(sa.update(Case.__table__).where(Case.__table__.c.id == record.id)
                               .values(state="revocation_decision"))
        fire(session=s, case_id=record.id, trigger="revoke", actor=make.actor(leader), now=make.now,
             comment="连续两次通报批评后仍未整改")
    with pytest.raises(Unprocessable) as revoked:
        _apply(db, make, county, town)
    assert _refusal(revoked) == f"该镇已被撤销认定（{number}），撤销认定后不能再次申报"


def test_submitting_or_approving_is_refused_once_the_town_was_designated_meanwhile(db, make):
    """Two applications for one town made before the rule existed: the second cannot go on once the first
    designated the town."""
    county, leader = make.user("county"), make.user("leader")
    town, other_town = make.town(), make.town()
    first = make.case("designation", state="notice_pending", by=county, town=town, data=REVIEWED)
    draft = _apply(db, make, county, other_town)
    waiting = make.case("designation", state="decision", by=county, town=make.town(), data=REVIEWED)
    office = make.actor(make.user("office"))
    with transaction(db) as s:  # as data written before the rule would have them
        s.connection().execute(sa.update(Case.__table__).where(Case.__table__.c.id.in_([draft.id, waiting.id]))
                               .values(town_id=town.id))
        fire(session=s, case_id=first.id, trigger="issue_notice", actor=office, now=make.now)
    for case, trigger, actor in ((draft, "submit", county), (waiting, "approve", leader)):
        with transaction(db) as s, pytest.raises(Unprocessable) as refused:
            fire(session=s, case_id=case.id, trigger=trigger, actor=make.actor(actor), now=make.now)
        assert "该镇已认定（市级专业镇" in _refusal(refused)


def test_the_end_of_a_public_notice_never_fails_and_a_notice_for_a_town_designated_meanwhile_is_refused(
        db, make, now, client):
    """The story that once left an application stuck in 公示中: two applications for one town (made before the
    rule existed) both reach the end of their public notice. The end is now only a move to 待印发认定通知, done
    by the sweep; the office issuing the second notice is refused with the reason, and sends the case back."""
    from conftest import csrf_token, login

    county, office = make.user("county"), make.user("office")
    town = make.town()
    first = make.case("designation", state="publicity", by=county, town=town, data=REVIEWED)
    second = make.case("designation", state="publicity", by=county, town=make.town(), data=REVIEWED)
    with transaction(db) as s:
        s.connection().execute(sa.update(Case.__table__).where(Case.__table__.c.id == second.id)
                               .values(town_id=town.id))
        due = s.exec(select(Deadline.due_at).where(Deadline.case_id == second.id,
                                                   Deadline.kind == "expiry")).one()
    sweep(db, now=due)
    assert reload(db, first.id).state == reload(db, second.id).state == "notice_pending"
    with transaction(db) as s:
        assert s.exec(select(Incident)).all() == []
        fire(session=s, case_id=first.id, trigger="issue_notice", actor=make.actor(office), now=now)

    login(client, office.username)
    url = f"/cases/{second.id}/do/issue_notice"
    token = csrf_token(client, url)
    refused = client.post(url, data={"csrf_token": token, "expected_version": reload(db, second.id).version,
                                     "confirmed": "yes"})
    assert refused.status_code == 422
    assert "该镇已认定（市级专业镇，阳专镇〔2026〕1号）" in refused.get_data(as_text=True)
    assert reload(db, second.id).state == "notice_pending"
    with transaction(db) as s:
        fire(session=s, case_id=second.id, trigger="withhold_notice", actor=make.actor(office), now=now,
             comment="该镇已由 " + first.number + " 认定，退回专家评审")
    assert reload(db, second.id).state == "expert_review"
