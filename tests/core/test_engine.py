"""`workflow.core.engine.fire`: the checks in their order, the writes, the rollback, definition versions."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
import time_machine
import transitions
from statements import counted, listing

from conftest import footprint, reload
from workflow.core import audit, engine
from workflow.core.access import get_case
from workflow.core.actors import Actor
from workflow.core.catalog import CATALOG
from workflow.core.db import transaction
from workflow.core.definitions import DEFINITIONS_DIR, parse_definition
from workflow.core.engine import AFTER_FIRE, create_case, fire
from workflow.core.errors import Conflict, Forbidden, InvalidInput, NotFound, Unprocessable, WorkflowError
from workflow.core.models import AuditEvent, Case, CaseParty, Counter, Deadline, DefinitionSource, Unit
from workflow.core.queries import registry_case
from workflow.core.registry import ACTIONS, GUARDS


def run(db, actor, case_id, trigger, now, **kwargs):
    """Fire in a transaction of its own and return the case as the database then holds it."""
    with transaction(db) as s:
        fire(session=s, case_id=case_id, trigger=trigger, actor=actor, now=now, **kwargs)
    return reload(db, case_id)


def refused(db, actor, case_id, trigger, now, error=Exception, **kwargs):
    with pytest.raises(error) as raised, transaction(db) as s:
        fire(session=s, case_id=case_id, trigger=trigger, actor=actor, now=now, **kwargs)
    return raised.value


def rows(db, table, *where, order=None):
    with transaction(db) as s:
        query = sa.select(table).where(*where).order_by(order if order is not None else table.c.id)
        return [dict(r) for r in s.connection().execute(query).mappings()]


def snapshot(db, case_id):
    """Everything a fire could write: the case row, the whole audit trail and head, deadlines, parties."""
    return {
        "case": rows(db, Case.__table__, Case.__table__.c.id == case_id),
        "audit": rows(db, AuditEvent.__table__, order=AuditEvent.__table__.c.seq),
        "head": rows(db, audit._head_table),
        "deadlines": rows(db, Deadline.__table__, Deadline.__table__.c.case_id == case_id),
        "parties": rows(db, CaseParty.__table__, CaseParty.__table__.c.case_id == case_id),
    }


def transitions_of(db, case_id):
    table = AuditEvent.__table__
    return [(e["trigger"], e["from_state"], e["to_state"])
            for e in rows(db, table, table.c.case_id == case_id, table.c.kind == "transition",
                          order=table.c.seq)]


def open_deadlines(db, case_id):
    table = Deadline.__table__
    return [(d["state"], d["name"], d["kind"], d["offset_days"], d["due_date"])
            for d in rows(db, table, table.c.case_id == case_id, table.c.status == "open")]


@pytest.fixture
def people(make):
    county = make.user("county", county="盂县")
    return {
        "county": make.actor(county),
        "county_user": county,
        "other_county": make.actor(make.user("county", county="城区")),
        "office": make.actor(make.user("office")),
        "member": make.actor(make.user("member")),
        "other_member": make.actor(make.user("member", unit="市发改委")),
        "leader": make.actor(make.user("leader")),
        "system": Actor.system(),
    }


@pytest.fixture
def draft(make, people):
    return make.case("designation", by=people["county_user"])


@pytest.fixture
def submitted(db, now, people, draft, complete_application):
    run(db, people["county"], draft.id, "edit", now, payload=complete_application)
    return run(db, people["county"], draft.id, "submit", now)


# ---- happy paths -----------------------------------------------------------------------------------


def test_designation_from_draft_to_designated(db, now, make, people, draft, complete_application):
    county, office, member, leader = people["county"], people["office"], people["member"], people["leader"]
    case = run(db, county, draft.id, "edit", now, payload=complete_application)
    assert (case.state, case.version) == ("draft", 2)
    assert case.data == complete_application

    case = run(db, county, draft.id, "submit", now)
    assert (case.state, case.version) == ("submitted", 3)

    case = run(db, office, draft.id, "accept", now, payload={"member_units": [member.unit_id]})
    assert case.state == "consultation"
    assert case.data["consulted_units"] == [member.unit_id]
    assert "member_units" not in case.data
    parties = rows(db, CaseParty.__table__, CaseParty.__table__.c.case_id == draft.id)
    assert [(p["unit_id"], p["purpose"]) for p in parties] == [(member.unit_id, "consultation")]
    # 7 working days from Friday 2026-11-27: 30 Nov .. 4 Dec, 7, 8 Dec
    assert case.data["opinion_due_date"] == "2026-12-08"
    assert ("consultation", "opinions", "expiry", None, "2026-12-08") in open_deadlines(db, draft.id)

    case = run(db, member, draft.id, "record_opinion", now, payload={"opinion": "agree"})
    assert case.state == "consultation"
    assert case.data["opinions"][str(member.unit_id)]["answer"] == "agree"

    case = run(db, office, draft.id, "conclude", now)
    assert case.state == "expert_review"
    assert open_deadlines(db, draft.id) == []

    case = run(db, office, draft.id, "record_experts", now,
               payload={"experts": [{"name": "张教授", "score": 88}], "expert_recommendation": "recommend"})
    case = run(db, office, draft.id, "propose", now)
    assert case.state == "decision"
    case = run(db, leader, draft.id, "approve", now)
    assert case.state == "publicity"
    publicity = rows(db, Deadline.__table__, Deadline.__table__.c.case_id == draft.id,
                     Deadline.__table__.c.state == "publicity")
    assert [(d["kind"], d["trigger"], d["due_date"]) for d in publicity] == [
        ("expiry", "publicity_end", "2026-12-04")]

    later = now + timedelta(days=8)
    case = run(db, people["system"], draft.id, "publicity_end", later)
    assert case.state == "notice_pending" and case.closed_at is None
    assert "designation_number" not in case.data  # taken only when the office issues the notice
    # 5 working days from Saturday 2026-12-05: 7 .. 11 December
    assert ("notice_pending", "issue_notice", "expiry", None, "2026-12-11") in open_deadlines(db, draft.id)
    case = run(db, office, draft.id, "issue_notice", later)
    assert case.state == "designated"
    assert case.closed_at == later
    assert case.data["designation_number"] == "阳专镇〔2026〕1号"
    assert case.version == 11  # one per fire: ten fires

    with transaction(db) as s:
        record = registry_case(s, case.town_id)
        assert record.state == "municipal"
        assert record.data["designation_number"] == "阳专镇〔2026〕1号"
        assert record.data["designation_case_id"] == draft.id
        assert audit.verify(s).ok

    assert transitions_of(db, draft.id) == [
        ("edit", "draft", "draft"), ("submit", "draft", "submitted"), ("accept", "submitted", "consultation"),
        ("record_opinion", "consultation", "consultation"), ("conclude", "consultation", "expert_review"),
        ("record_experts", "expert_review", "expert_review"), ("propose", "expert_review", "decision"),
        ("approve", "decision", "publicity"), ("publicity_end", "publicity", "notice_pending"),
        ("issue_notice", "notice_pending", "designated"),
    ]


def test_transition_event_carries_actor_comment_and_changes(db, now, people, submitted):
    run(db, people["office"], submitted.id, "return_for_revision", now, comment="  请补充产值证明  ")
    table = AuditEvent.__table__
    event = rows(db, table, table.c.case_id == submitted.id, table.c.trigger == "return_for_revision")[0]
    office = people["office"]
    assert (event["actor_id"], event["role"], event["unit_name"]) == (office.user_id, "office", "市工信局")
    assert event["comment"] == "请补充产值证明"
    assert event["county_id"] == submitted.county_id
    assert event["occurred_at"] == now
    edit = rows(db, table, table.c.case_id == submitted.id, table.c.trigger == "edit")[0]
    assert '"output_yi":[null,12.5]' in edit["data"]


def test_rectification_order_with_an_extension(db, now, make, people):
    order = make.case("rectification", by=make.user("office"),
                      data={"problem": "污水处理设施未运行", "due_date": "2026-12-31"})
    county = people["county"]
    office = make.actor(make.user("office"))
    case = run(db, county, order.id, "acknowledge", now)
    assert case.state == "rectifying"
    assert ("rectifying", "rectify", "expiry", None, "2026-12-31") in open_deadlines(db, order.id)

    case = run(db, county, order.id, "request_extension", now, payload={"requested_due_date": "2027-01-29"},
               comment="设备到货延迟")
    assert case.state == "extension_requested"
    assert case.data["extension_requested"] is True

    case = run(db, office, order.id, "grant_extension", now, payload={"due_date": "2027-01-29"})
    assert case.state == "rectifying"
    assert case.data["original_due_date"] == "2026-12-31"
    assert case.data["deadline_history"][0]["to"] == "2027-01-29"
    expiry = rows(db, Deadline.__table__, Deadline.__table__.c.case_id == order.id,
                  Deadline.__table__.c.status == "open", Deadline.__table__.c.kind == "expiry")
    # chinese-calendar does not know 2027 yet: the date is marked as an estimate
    assert [(d["due_date"], d["is_estimated"]) for d in expiry] == [("2027-01-29", True)]

    again = refused(db, county, order.id, "request_extension", now, Unprocessable,
                    payload={"requested_due_date": "2027-02-26"}, comment="再延期")
    assert [r["en"] for r in again.details] == ["an extension may be requested only once"]

    case = run(db, county, order.id, "submit_report", now, payload={"report": "已完成整改"})
    assert case.state == "under_verification"
    assert case.data["reports"][0]["late"] is False
    assert open_deadlines(db, order.id) == []
    case = run(db, office, order.id, "accept", now)
    assert case.state == "completed"
    assert case.closed_at == now


# ---- refusals ---------------------------------------------------------------------------------------


def test_role_not_allowed_is_forbidden(db, now, people, draft):
    error = refused(db, people["office"], draft.id, "withdraw", now, Forbidden)
    assert (error.status, error.code) == (403, "role_not_allowed")


def test_system_trigger_is_forbidden_to_people(db, now, people, submitted):
    run(db, people["office"], submitted.id, "return_for_revision", now, comment="补正")
    for who in ("county", "office"):
        error = refused(db, people[who], submitted.id, "expire", now, Forbidden)
        assert error.status == 403
    assert run(db, people["system"], submitted.id, "expire", now).state == "withdrawn"


def test_case_of_another_county_is_not_found_like_a_missing_one(db, now, people, draft):
    hidden = refused(db, people["other_county"], draft.id, "withdraw", now, NotFound)
    missing = refused(db, people["county"], draft.id + 1000, "withdraw", now, NotFound)
    assert (hidden.status, hidden.code, hidden.zh, hidden.en, hidden.details) == (
        missing.status, missing.code, missing.zh, missing.en, missing.details)
    assert hidden.status == 404
    assert reload(db, draft.id).state == "draft"


def test_member_not_invited_does_not_see_the_case(db, now, people, submitted):
    run(db, people["office"], submitted.id, "accept", now,
        payload={"member_units": [people["member"].unit_id]})
    error = refused(db, people["other_member"], submitted.id, "record_opinion", now, NotFound,
                    payload={"opinion": "agree"})
    assert error.status == 404


def test_trigger_not_valid_in_state_is_a_conflict(db, now, people, draft):
    error = refused(db, people["county"], draft.id, "resubmit", now, Conflict)
    assert (error.status, error.code) == (409, "invalid_trigger")
    assert "草稿" in error.zh and "Draft" in error.en


def test_unknown_trigger_is_invalid_input(db, now, people, draft):
    error = refused(db, people["county"], draft.id, "frobnicate", now, InvalidInput)
    assert (error.status, error.code) == (400, "unknown_trigger")


def test_stale_version_is_refused_and_writes_nothing(db, now, people, submitted):
    before = snapshot(db, submitted.id)
    error = refused(db, people["office"], submitted.id, "return_for_revision", now, Conflict,
                    comment="补正", expected_version=submitted.version - 1)
    assert (error.status, error.code) == (409, "stale_version")
    assert error.details == {"current_version": submitted.version}
    assert snapshot(db, submitted.id) == before
    case = run(db, people["office"], submitted.id, "return_for_revision", now, comment="补正",
               expected_version=submitted.version)
    assert case.state == "returned"


def test_every_failing_reason_is_listed(db, now, make, people, complete_application):
    incomplete = {k: v for k, v in complete_application.items() if k not in ("industry_category", "leading_industry")}
    case = make.case("designation", by=people["county_user"], data=incomplete)
    before = snapshot(db, case.id)
    error = refused(db, people["county"], case.id, "submit", now, Unprocessable, payload={"colour": "red"})
    assert (error.status, error.code) == (422, "guards_failed")
    assert [r["field"] for r in error.details] == ["colour", "industry_category", "leading_industry"]
    assert all(r["en"] in error.en and r["zh"] in error.zh for r in error.details)
    assert snapshot(db, case.id) == before


def test_every_failing_guard_reason_from_several_guards(db, now, people, draft, complete_application):
    data = {**complete_application, "jobs": -3, "average_income": "高"}
    del data["leading_industry"]
    with transaction(db) as s:  # data from before the guard existed: the submit guards must catch it
        s.connection().execute(sa.update(Case.__table__).where(Case.__table__.c.id == draft.id).values(data=data))
    error = refused(db, people["county"], draft.id, "submit", now, Unprocessable)
    fields = [r["field"] for r in error.details]
    assert fields[:2] == ["jobs", "average_income"]  # application_fields_valid
    assert "leading_industry" in fields[2:]  # application_complete


def test_comment_required(db, now, people, submitted):
    for comment in (None, "", "   "):
        error = refused(db, people["office"], submitted.id, "return_for_revision", now, Unprocessable,
                        comment=comment)
        assert error.details == [
            {"field": "comment", "zh": "必须填写意见或理由", "en": "a comment is required"}]
    assert reload(db, submitted.id).state == "submitted"


def test_unknown_payload_field_refused(db, now, people, draft):
    error = refused(db, people["county"], draft.id, "edit", now, Unprocessable,
                    payload={"output_yi": 3, "approved": True})
    assert error.details == [{"field": "approved", "zh": "不接受字段 approved",
                              "en": "field approved is not accepted here"}]
    assert reload(db, draft.id).data == {}


def test_required_payload_field(db, now, people, submitted):
    error = refused(db, people["office"], submitted.id, "accept", now, Unprocessable, payload={})
    assert [r["field"] for r in error.details] == ["member_units"]  # said once, not again by the guard
    assert error.details[0]["zh"] == "必须填写征求意见的成员单位"
    assert error.details[0]["en"] == "Member units asked for opinions is required"


# ---- rollback ---------------------------------------------------------------------------------------

TEST_PROCESS = """
key: enginetest
version: 1
label: {zh: 引擎测试, en: Engine test}
create_roles: [county, office]
initial: open
states:
  open:
    label: {zh: 待办, en: Open}
    deadlines:
      - {name: answer, label: {zh: 答复, en: Answer}, working_days: 3, reminders: [1]}
  waiting:
    label: {zh: 等待, en: Waiting}
    deadlines:
      - {name: reply, label: {zh: 回复, en: Reply}, working_days: 5, on_expiry: lapse, reminders: [2, 0]}
  done:
    label: {zh: 完成, en: Done}
    final: true
transitions:
  - {trigger: advance, label: {zh: 推进, en: Advance}, source: open, dest: waiting, roles: [county],
     accepts: [note], actions: [test_scribble, test_explode]}
  - {trigger: advance_quietly, label: {zh: 推进, en: Advance}, source: open, dest: waiting, roles: [county],
     accepts: [note], actions: [test_scribble]}
  - {trigger: tidy, label: {zh: 整理, en: Tidy}, source: waiting, dest: waiting, roles: [county],
     accepts: [note], actions: [test_forget]}
  - {trigger: sign, label: {zh: 签字, en: Sign}, source: waiting, dest: waiting, roles: [county],
     requires: [signature]}
  - {trigger: bump, label: {zh: 插队, en: Bump}, source: waiting, dest: done, roles: [office],
     guards: [test_bump]}
  - {trigger: finish, label: {zh: 完成, en: Finish}, source: waiting, dest: done, roles: [office]}
  - {trigger: lapse, label: {zh: 逾期, en: Lapse}, source: waiting, dest: done, system: true}
"""


class Boom(RuntimeError):
    pass


@pytest.fixture
def test_process(monkeypatch, isolated_catalog):
    """A definition whose `advance` writes everywhere it can, then raises."""

    def scribble(ctx):
        ctx.data["scribbled"] = True
        table = CaseParty.__table__
        ctx.session.connection().execute(table.insert().values(
            case_id=ctx.case.id, unit_id=ctx.actor.unit_id, purpose="scribble", created_at=ctx.now))
        audit.record(ctx.session, kind="scribble", now=ctx.now, actor=ctx.actor, case_id=ctx.case.id)

    def explode(ctx):
        raise Boom("action failed")

    def forget(ctx):
        ctx.data.pop("scribbled", None)
        ctx.data.setdefault("log", []).append("tidied")  # changes a list inside the data in place

    def bump(ctx):
        """Another writer changes the case after the checks (outside the engine, as an import script might)."""
        table = Case.__table__
        ctx.session.connection().execute(table.update().where(table.c.id == ctx.case.id)
                                         .values(version=table.c.version + 1))
        return []

    monkeypatch.setitem(ACTIONS, "test_scribble", scribble)
    monkeypatch.setitem(ACTIONS, "test_forget", forget)
    monkeypatch.setitem(GUARDS, "test_bump", bump)
    monkeypatch.setitem(ACTIONS, "test_explode", explode)
    definition = parse_definition(TEST_PROCESS, "enginetest.yaml")
    isolated_catalog.add(definition)
    return definition


@pytest.fixture
def open_case(db, now, make, people, test_process):
    with transaction(db) as s:
        return create_case(session=s, definition_key="enginetest", actor=people["county"], now=now,
                           town_id=make.town().id)


def test_exception_in_an_action_leaves_no_trace(db, now, people, test_process, open_case):
    before = snapshot(db, open_case.id)
    assert [d["name"] for d in before["deadlines"]] == ["answer", "answer"]
    with pytest.raises(Boom), transaction(db) as s:
        fire(session=s, case_id=open_case.id, trigger="advance", actor=people["county"], now=now,
             payload={"note": "x"})
    assert snapshot(db, open_case.id) == before
    assert CATALOG.machine(test_process).models == []  # the call's model was unbound despite the error
    with transaction(db) as s:
        assert audit.verify(s).ok


def test_exception_in_an_after_fire_hook_leaves_no_trace(
        db, now, people, test_process, open_case, monkeypatch):
    seen = []

    def hook(ctx, from_state):
        # by now everything is written in the transaction: state, version, audit, deadlines
        conn = ctx.session.connection()
        seen.append(conn.execute(sa.select(Case.__table__.c.state, Case.__table__.c.version).where(
            Case.__table__.c.id == ctx.case.id)).one())
        seen.append(conn.execute(sa.select(sa.func.count()).select_from(Deadline.__table__).where(
            Deadline.__table__.c.state == "waiting")).scalar_one())
        raise Boom("notification failed")

    monkeypatch.setattr("workflow.core.engine.AFTER_FIRE", [*AFTER_FIRE, hook])
    before = snapshot(db, open_case.id)
    with pytest.raises(Boom), transaction(db) as s:
        fire(session=s, case_id=open_case.id, trigger="advance_quietly", actor=people["county"], now=now)
    assert seen == [("waiting", 2), 3]
    assert snapshot(db, open_case.id) == before


def test_the_same_fire_without_the_failure_writes_everything(db, now, people, test_process, open_case):
    before = snapshot(db, open_case.id)
    case = run(db, people["county"], open_case.id, "advance_quietly", now, payload={"note": "x"})
    after = snapshot(db, open_case.id)
    assert (case.state, case.version, case.data) == ("waiting", 2, {"note": "x", "scribbled": True})
    assert [e["kind"] for e in after["audit"][len(before["audit"]):]] == ["scribble", "transition"]
    assert [p["purpose"] for p in after["parties"]] == ["scribble"]
    assert [(d["state"], d["status"]) for d in after["deadlines"]] == [
        ("open", "closed"), ("open", "closed"), ("waiting", "open"), ("waiting", "open"), ("waiting", "open")]


def test_a_guard_refusal_runs_no_action(db, now, people, test_process, open_case):
    before = snapshot(db, open_case.id)
    error = refused(db, people["county"], open_case.id, "advance", now, Unprocessable,
                    payload={"colour": "x"})
    assert error.details[0]["field"] == "colour"
    assert snapshot(db, open_case.id) == before


def _last_event(db, case_id):
    table = AuditEvent.__table__
    return rows(db, table, table.c.case_id == case_id, order=table.c.seq.desc())[0]


def test_the_audit_event_records_exactly_what_changed(db, now, people, test_process, open_case):
    import json

    run(db, people["county"], open_case.id, "advance_quietly", now, payload={"note": "x"})
    event = _last_event(db, open_case.id)
    assert json.loads(event["data"]) == {"changes": {"note": [None, "x"], "scribbled": [None, True]}}
    # a new value, a field an action removes (logged as cleared), a list an action extends
    run(db, people["county"], open_case.id, "tidy", now, payload={"note": "y"})
    event = _last_event(db, open_case.id)
    assert json.loads(event["data"]) == {"changes": {"note": ["x", "y"], "scribbled": [True, None],
                                                     "log": [None, ["tidied"]]}}
    # the same value again is no change; a list changed in place is compared with what it was before
    run(db, people["county"], open_case.id, "tidy", now, payload={"note": "y"})
    event = _last_event(db, open_case.id)
    assert json.loads(event["data"]) == {"changes": {"log": [["tidied"], ["tidied", "tidied"]]}}
    assert reload(db, open_case.id).data == {"note": "y", "log": ["tidied", "tidied"]}
    run(db, people["office"], open_case.id, "finish", now)
    event = _last_event(db, open_case.id)
    assert (event["trigger"], event["from_state"], event["to_state"], json.loads(event["data"])) == (
        "finish", "waiting", "done", {})  # nothing changed in the data: no diff at all


def test_only_a_final_state_closes_the_case(db, now, people, test_process, open_case):
    later = now + timedelta(days=2)
    assert run(db, people["county"], open_case.id, "advance_quietly", now).closed_at is None
    assert run(db, people["county"], open_case.id, "tidy", now).closed_at is None
    case = run(db, people["office"], open_case.id, "finish", later)
    assert (case.state, case.closed_at, case.updated_at) == ("done", later, later)


def test_fire_returns_the_case_as_written(db, now, people, test_process, open_case):
    later = now + timedelta(hours=1)
    with transaction(db) as s:
        returned = fire(session=s, case_id=open_case.id, trigger="advance_quietly", actor=people["county"],
                        now=later, payload={"note": "x"})
        seen = (returned.id, returned.state, returned.version, returned.data, returned.updated_at,
                returned.closed_at)
    stored = reload(db, open_case.id)
    assert seen == (stored.id, stored.state, stored.version, stored.data, stored.updated_at, stored.closed_at)
    assert seen[1:5] == ("waiting", 2, {"note": "x", "scribbled": True}, later)


def test_a_step_that_stays_in_its_state_keeps_its_deadlines(db, now, people, test_process, open_case):
    run(db, people["county"], open_case.id, "advance_quietly", now)
    table = Deadline.__table__
    before = rows(db, table, table.c.case_id == open_case.id, table.c.state == "waiting")
    run(db, people["county"], open_case.id, "tidy", now + timedelta(days=1))
    assert rows(db, table, table.c.case_id == open_case.id, table.c.state == "waiting") == before
    assert [(d["kind"], d["status"]) for d in before] == [("expiry", "open"), ("reminder", "open"),
                                                          ("reminder", "open")]


def test_after_fire_hooks_see_the_step_as_it_was_taken(db, now, people, test_process, open_case, monkeypatch):
    seen = []
    monkeypatch.setattr("workflow.core.engine.AFTER_FIRE",
                        [*AFTER_FIRE, lambda ctx, from_state: seen.append((ctx, from_state))])
    run(db, people["county"], open_case.id, "advance_quietly", now, payload={"note": "x"}, comment="  先推进  ")
    ctx, from_state = seen[-1]
    assert (from_state, ctx.case.state, ctx.spec.trigger, ctx.actor) == ("open", "waiting", "advance_quietly",
                                                                          people["county"])
    assert (ctx.comment, ctx.payload, ctx.data, ctx.now) == ("先推进", {"note": "x"},
                                                             {"note": "x", "scribbled": True}, now)
    assert [(r["state"], r["kind"]) for r in ctx.planned] == [("waiting", "expiry"), ("waiting", "reminder"),
                                                              ("waiting", "reminder")]
    run(db, people["county"], open_case.id, "tidy", now, comment="   ")
    ctx, from_state = seen[-1]
    assert (from_state, ctx.comment, ctx.planned) == ("waiting", None, None)  # a blank comment is none
    assert ctx.cause is None  # a person's step is an event of its own


def test_a_step_caused_by_another_event_carries_that_cause_to_the_hooks(db, now, people, test_process, open_case,
                                                                       monkeypatch):
    """The sweep fires an expiry as part of the deadline's own event: the notification rules hear one cause for
    both, so a person gets one message per channel, not two."""
    seen = []
    monkeypatch.setattr("workflow.core.engine.AFTER_FIRE",
                        [*AFTER_FIRE, lambda ctx, from_state: seen.append(ctx.cause)])
    run(db, people["county"], open_case.id, "advance_quietly", now, cause="deadline:42")
    assert seen == ["deadline:42"]


def test_what_each_role_may_try_now(db, people, test_process, open_case):
    from workflow.core.engine import allowed_transitions

    def allowed(who):
        with transaction(db) as s:
            case = s.get(Case, open_case.id)
            return [t.trigger for t in allowed_transitions(test_process, case, people[who])]

    assert allowed("county") == ["advance", "advance_quietly"]
    assert allowed("office") == []
    run(db, people["county"], open_case.id, "advance_quietly", open_case.created_at)
    assert allowed("county") == ["tidy", "sign"]
    assert allowed("office") == ["bump", "finish"]  # `lapse` is the system's: never offered to a person
    assert allowed("system") == []


def test_every_refusal_says_what_to_fix(db, now, people, test_process, open_case, draft):
    def said(error):
        return (error.status, error.code, error.zh, error.en)

    assert said(refused(db, people["county"], draft.id, "frobnicate", now, InvalidInput)) == (
        400, "unknown_trigger", "未知的操作：frobnicate", "Unknown trigger: frobnicate")
    assert said(refused(db, people["county"], draft.id, "resubmit", now, Conflict)) == (
        409, "invalid_trigger", "案件当前状态为“草稿”，不能执行“重新提交”。",
        "'Resubmit' is not possible in state 'Draft'.")
    assert said(refused(db, people["office"], draft.id, "withdraw", now, Forbidden)) == (
        403, "role_not_allowed", "您的角色无权执行该操作。", "Your role may not do this.")
    assert said(refused(db, people["county"], draft.id, "withdraw", now, Conflict, expected_version=7)) == (
        409, "stale_version", "案件已被他人修改（版本已变化），请刷新后重试。",
        "The case has changed since you loaded it (stale version); reload and try again.")
    assert said(refused(db, people["county"], open_case.id, "advance", now, Unprocessable,
                        payload={"colour": "red", "size": 2})) == (
        422, "guards_failed", "不能执行该操作：不接受字段 colour；不接受字段 size",
        "Cannot do this: field colour is not accepted here; field size is not accepted here")
    run(db, people["county"], open_case.id, "advance_quietly", now)
    before = snapshot(db, open_case.id)
    assert said(refused(db, people["office"], open_case.id, "bump", now, Conflict)) == (
        409, "concurrent_change", "该案件已被他人修改，请刷新后重试。",
        "The case was changed meanwhile; reload and try again.")
    assert snapshot(db, open_case.id) == before


def _create(db, actor, now, **kwargs):
    with transaction(db) as s:
        return create_case(session=s, definition_key="enginetest", actor=actor, now=now, **kwargs)


def test_a_new_case_is_numbered_titled_recorded_and_given_its_deadlines(db, now, make, people, test_process):
    town = make.town("西烟镇")
    case = _create(db, people["county"], now, town_id=town.id, data={})
    second = _create(db, people["county"], now, town_id=town.id, title="第二件")
    assert (case.number, second.number) == ("EN-2026-0001", "EN-2026-0002")
    assert (case.title, second.title) == ("引擎测试 · 西烟镇", "第二件")
    assert (case.state, case.version, case.county_id, case.town_id, case.created_at, case.updated_at) == (
        "open", 1, people["county"].unit_id, town.id, now, now)
    assert case.created_by_id == people["county"].user_id and case.closed_at is None
    event = rows(db, AuditEvent.__table__, AuditEvent.__table__.c.case_id == case.id)[0]
    assert (event["kind"], event["to_state"], event["county_id"]) == ("case_created", "open", case.county_id)
    import json

    assert json.loads(event["data"]) == {"definition": "enginetest@1", "number": "EN-2026-0001", "data": {}}
    deadlines = rows(db, Deadline.__table__, Deadline.__table__.c.case_id == case.id)
    assert [(d["state"], d["kind"]) for d in deadlines] == [("open", "expiry"), ("open", "reminder")]
    # without a town, the office names the county; a county user's own county is always used
    office_case = _create(db, people["office"], now, county_id=people["county"].unit_id)
    assert (office_case.county_id, office_case.town_id, office_case.title) == (
        people["county"].unit_id, None, "引擎测试")
    assert _create(db, people["county"], now, county_id=999).county_id == people["county"].unit_id


def test_a_new_case_names_who_made_it_keeps_its_parent_and_is_found_at_once(db, now, make, people, test_process):
    from workflow.core.search import search_cases

    parent = _create(db, people["county"], now, town_id=make.town("西烟镇").id)
    child = _create(db, people["county"], now, town_id=make.town("东山村镇").id, parent_id=parent.id,
                    title="东山村整改台账")
    assert reload(db, child.id).parent_id == parent.id and reload(db, parent.id).parent_id is None
    event = rows(db, AuditEvent.__table__, AuditEvent.__table__.c.case_id == child.id)[0]
    county = people["county"]
    assert (event["actor_id"], event["actor_name"], event["role"], event["unit_id"], event["unit_name"]) == (
        county.user_id, county.name, "county", county.unit_id, "盂县")
    with transaction(db) as s:
        assert [hit.case.id for hit in search_cases(s, county, "东山村整改").items] == [child.id]


def test_the_hooks_after_a_creation_hear_its_deadlines_and_the_years_counted_without_holidays(
        db, make, people, test_process, monkeypatch):
    town, heard, years = make.town(), [], []  # the town first: its registry record is a case of its own
    monkeypatch.setattr("workflow.core.engine.AFTER_CREATE",
                        [*engine.AFTER_CREATE, lambda ctx: heard.append(list(ctx.planned))])
    monkeypatch.setattr("workflow.core.engine.ESTIMATED_YEAR", [lambda session, year, now: years.append(year)])
    late_in_the_year = datetime(2026, 12, 30, 2, 0, tzinfo=UTC)  # three working days later is in 2027
    case = _create(db, people["county"], late_in_the_year, town_id=town.id)
    stored = rows(db, Deadline.__table__, Deadline.__table__.c.case_id == case.id)
    assert [[(p["name"], p["kind"], p["due_date"]) for p in planned] for planned in heard] == [
        [(d["name"], d["kind"], str(d["due_date"])) for d in stored]]
    assert {str(d["due_date"])[:4] for d in stored if d["is_estimated"]} == {"2027"} and years == [2027]


def test_a_guard_of_the_creation_is_not_heard_on_a_field_already_refused(db, now, make, people, monkeypatch,
                                                                         isolated_catalog, test_process):
    def check(ctx):
        return [{"field": "visit_date", "zh": "走访日期不在本年度", "en": "visit date not this year"},
                {"field": "note", "zh": "备注需写明走访人", "en": "the note must name the visitor"}]

    monkeypatch.setitem(GUARDS, "test_check", check)
    text = TEST_PROCESS.replace("key: enginetest", "key: visittest").replace(
        "initial: open", "initial: open\ncreate_accepts: [note, visit_date]\ncreate_guards: [test_check]")
    isolated_catalog.add(parse_definition(text, "visittest.yaml"))
    town = make.town()
    with pytest.raises(Unprocessable) as refused, transaction(db) as s:
        create_case(session=s, definition_key="visittest", actor=people["county"], now=now, town_id=town.id,
                    data={"note": "走访", "visit_date": "下周一"})
    assert [d["zh"] for d in refused.value.details] == ["visit_date应为 YYYY-MM-DD 格式的有效日期", "备注需写明走访人"]


def test_case_numbers_go_on_from_the_year_s_stored_counter(db, now, make, people, test_process):
    """The counter of a process's case numbers is `case:<process>` for the year: numbers given before (a register
    carried over) are never given again."""
    with transaction(db) as s:
        s.add(Counter(key="case:enginetest", year=2026, value=41))
        s.add(Counter(key="enginetest", year=2026, value=7))  # another counter of the same name: not this one
    assert _create(db, people["county"], now, town_id=make.town().id).number == "EN-2026-0042"


def test_a_county_whose_id_is_the_largest_an_integer_holds_may_hold_a_case(db, now, people, test_process):
    """The id guard stops at what an INTEGER column holds (2**31 - 1), not one short of it."""
    with transaction(db) as s:
        s.add(Unit(id=2**31 - 1, name="高新区", kind="county", created_at=now))
    assert _create(db, people["office"], now, county_id=2**31 - 1).county_id == 2**31 - 1


def test_a_new_case_refused_says_why_and_writes_nothing(db, now, make, people, test_process):
    def said(error):
        return (error.status, error.code, error.zh, error.en, error.details)

    other_town = make.town("义井镇", county="城区")
    before = snapshot(db, 0)
    with pytest.raises(Forbidden) as raised, transaction(db) as s:
        create_case(session=s, definition_key="enginetest", actor=people["member"], now=now, town_id=other_town.id)
    assert said(raised.value)[:4] == (403, "role_not_allowed", "您的角色无权新建此类案件。",
                                      "Your role may not start this kind of case.")
    no_town = (422, "guards_failed", "所选专业镇不存在。", "No such town.",
               [{"field": "town_id", "zh": "所选专业镇不存在", "en": "no such town"}])
    for town_id in (other_town.id, 0, other_town.id + 100, 2**31):  # another county's, out of range, missing
        with pytest.raises(Unprocessable) as raised, transaction(db) as s:
            create_case(session=s, definition_key="enginetest", actor=people["county"], now=now, town_id=town_id)
        assert said(raised.value) == no_town, town_id
    with pytest.raises(Unprocessable) as raised, transaction(db) as s:
        create_case(session=s, definition_key="enginetest", actor=people["office"], now=now)
    assert said(raised.value) == (422, "guards_failed", "必须指定所属县（区）。", "A county is required.",
                                  [{"field": "county_id", "zh": "必须指定县（区）", "en": "county is required"}])
    no_county = (422, "guards_failed", "所选县（区）不存在。", "No such county.",
                 [{"field": "county_id", "zh": "所选县（区）不存在", "en": "no such county"}])
    leading_group = make.unit("阳泉市专业镇建设工作领导小组", "leading_group")
    for county_id in (people["member"].unit_id, leading_group.id, 0, -1, 999_999, 2**31, True, "1"):
        with pytest.raises(Unprocessable) as raised, transaction(db) as s:
            create_case(session=s, definition_key="enginetest", actor=people["office"], now=now, county_id=county_id)
        assert said(raised.value) == no_county, county_id
    with pytest.raises(Unprocessable) as raised, transaction(db) as s:
        create_case(session=s, definition_key="enginetest", actor=people["county"], now=now,
                    data={"colour": "red", "size": 1})
    assert said(raised.value)[:4] == (
        422, "guards_failed", "不能新建：不接受字段 colour；不接受字段 size",
        "Cannot create: field colour is not accepted here; field size is not accepted here")
    assert snapshot(db, 0) == before


def test_a_required_field_left_empty_and_a_comment_too_long_are_refused(db, now, people, test_process, open_case):
    run(db, people["county"], open_case.id, "advance_quietly", now)
    for empty in (None, "", [], {}):
        error = refused(db, people["county"], open_case.id, "sign", now, Unprocessable,
                        payload={"signature": empty})
        assert error.details == [{"field": "signature", "zh": "必须填写signature", "en": "signature is required"}]
    assert run(db, people["county"], open_case.id, "sign", now, payload={"signature": 0}).data["signature"] == 0
    error = refused(db, people["county"], open_case.id, "tidy", now, Unprocessable, comment="意" * 2001)
    assert error.details == [{"field": "comment", "zh": "意见不能超过 2000 字",
                              "en": "comment longer than 2000 characters"}]
    assert run(db, people["county"], open_case.id, "tidy", now, comment="意" * 2000).version == 4


def test_a_town_with_the_largest_id_can_have_a_case(db, now, make, people, test_process):
    town = make.town("西烟镇")
    with transaction(db) as s:
        values = {c.key: getattr(town, c.key) for c in town.__table__.columns}
        s.connection().execute(sa.insert(town.__table__).values({**values, "id": 2**31 - 1, "name": "最后一个镇"}))
    assert _create(db, people["county"], now, town_id=2**31 - 1).title == "引擎测试 · 最后一个镇"


# ---- definition versions and machines --------------------------------------------------------------


def _designation_v2() -> str:
    """The designation process's file as its next version would be: longer revision, optional comment."""
    text = (DEFINITIONS_DIR / "designation.yaml").read_text(encoding="utf-8")
    current = CATALOG.current("designation").version
    changes = [
        (f"version: {current}\n", f"version: {current + 1}\n"),
        ("        working_days: 10\n        on_expiry: expire\n",
         "        working_days: 15\n        on_expiry: expire\n"),
        ("    dest: returned\n    roles: [office]\n    comment: required\n",
         "    dest: returned\n    roles: [office]\n    comment: optional\n"),
    ]
    for old, new in changes:
        assert text.count(old) == 1, old
        text = text.replace(old, new)
    return text


def _returned_expiry(db, case_id):
    table = Deadline.__table__
    return [d["due_date"] for d in rows(db, table, table.c.case_id == case_id, table.c.status == "open",
                                        table.c.kind == "expiry")]


def test_running_cases_keep_their_definition_version(
        db, now, make, people, submitted, isolated_catalog, complete_application):
    v1 = isolated_catalog.current("designation")
    assert submitted.definition_version == v1.version
    v2 = parse_definition(_designation_v2(), "designation.yaml")
    assert v2.version == v1.version + 1
    isolated_catalog.add(v2)
    assert isolated_catalog.current("designation") is v2

    # the old case still follows its version: a comment is required, the deadline is 10 working days
    refused(db, people["office"], submitted.id, "return_for_revision", now, Unprocessable)
    old = run(db, people["office"], submitted.id, "return_for_revision", now, comment="补正")
    assert (old.state, old.definition_version) == ("returned", v1.version)
    assert _returned_expiry(db, submitted.id) == ["2026-12-11"]

    # a new case starts on the new version
    new = make.case("designation", by=people["county_user"])
    assert new.definition_version == v2.version
    run(db, people["county"], new.id, "edit", now, payload=complete_application)
    run(db, people["county"], new.id, "submit", now)
    new = run(db, people["office"], new.id, "return_for_revision", now)
    assert (new.state, new.definition_version) == ("returned", v2.version)
    assert _returned_expiry(db, new.id) == ["2026-12-18"]

    stored = rows(db, DefinitionSource.__table__, DefinitionSource.__table__.c.key == "designation")
    assert [(r["version"], r["sha256"]) for r in stored] == [(v1.version, v1.sha256), (v2.version, v2.sha256)]


def test_a_version_no_longer_in_memory_is_rebuilt_from_the_database(
        db, now, people, submitted, isolated_catalog, monkeypatch):
    old = submitted.definition_version
    isolated_catalog.add(parse_definition(_designation_v2(), "designation.yaml"))
    # a restarted process: the old version is no longer in the files, so not in memory either
    isolated_catalog._versions.pop(("designation", old))
    isolated_catalog._machines.pop(("designation", old))

    built = []
    original_init = transitions.Machine.__init__

    def counting_init(self, *args, **kwargs):
        built.append(self)
        original_init(self, *args, **kwargs)

    monkeypatch.setattr(transitions.Machine, "__init__", counting_init)
    # the old version requires a comment
    refused(db, people["office"], submitted.id, "return_for_revision", now, Unprocessable)
    case = run(db, people["office"], submitted.id, "return_for_revision", now, comment="补正")
    assert (case.state, case.definition_version) == ("returned", old)
    assert _returned_expiry(db, submitted.id) == ["2026-12-11"]
    rebuilt = isolated_catalog.get("designation", old)
    assert rebuilt.path == f"designation.yaml@{old}"
    assert len(built) == 1 and isolated_catalog.machine(rebuilt) is built[0]
    run(db, people["county"], submitted.id, "resubmit", now)
    assert len(built) == 1


def test_unknown_definition_version_is_refused(db, people, submitted, isolated_catalog):
    with transaction(db) as s, pytest.raises(InvalidInput) as raised:
        isolated_catalog.get("designation", 7, s)
    assert raised.value.code == "unknown_definition"


def test_a_known_version_with_other_content_is_refused(isolated_catalog):
    text = (DEFINITIONS_DIR / "designation.yaml").read_text(encoding="utf-8")
    changed = parse_definition(text.replace("working_days: 10", "working_days: 11"), "designation.yaml")
    with pytest.raises(Exception, match="already loaded with other content; raise the version"):
        isolated_catalog.add(changed)
    assert isolated_catalog.current("designation").states["returned"].deadlines[0].working_days == 10


def test_one_machine_per_definition_version(
        db, now, people, draft, monkeypatch, isolated_catalog, complete_application):
    definition = CATALOG.current("designation")
    machine = CATALOG.machine(definition)
    assert CATALOG.machine(definition) is machine
    assert machine.models == []

    built = []
    original_init = transitions.Machine.__init__

    def counting_init(self, *args, **kwargs):
        built.append(self)
        original_init(self, *args, **kwargs)

    monkeypatch.setattr(transitions.Machine, "__init__", counting_init)
    run(db, people["county"], draft.id, "edit", now, payload=complete_application)
    run(db, people["county"], draft.id, "submit", now)
    run(db, people["office"], draft.id, "return_for_revision", now, comment="补正")
    run(db, people["county"], draft.id, "resubmit", now)
    CATALOG.add(parse_definition(definition.source, "designation.yaml"))  # the same version again
    assert built == []
    assert CATALOG.machine(definition) is machine
    assert machine.models == []


def test_fire_reads_no_wall_clock(db, now, people, draft):
    with time_machine.travel("2031-05-05 12:00 +0000", tick=False):
        case = run(db, people["county"], draft.id, "withdraw", now)
    assert case.updated_at == case.closed_at == now
    table = AuditEvent.__table__
    assert rows(db, table, table.c.case_id == draft.id, table.c.kind == "transition")[0]["occurred_at"] == now


# ---- two people at the same moment ----------------------------------------------------------------


def _race(db, now, case_id, attempts):
    """Run each (actor, trigger, kwargs) in its own thread and session, released together."""
    start = threading.Barrier(len(attempts), timeout=20)
    results: dict[str, object] = {}

    def attempt(actor, trigger, kwargs):
        start.wait()
        try:
            with transaction(db) as s:
                fire(session=s, case_id=case_id, trigger=trigger, actor=actor, now=now, **kwargs)
            results[trigger] = "ok"
        except WorkflowError as exc:
            results[trigger] = exc

    threads = [threading.Thread(target=attempt, args=a) for a in attempts]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not any(t.is_alive() for t in threads)
    return results


def _pairs(people):
    return {
        "accept_vs_return": ("submitted", [
            (people["office"], "accept", {"payload": {"member_units": [people["member"].unit_id]}}),
            (people["office"], "return_for_revision", {"comment": "补正"}),
        ]),
        "submit_vs_withdraw": ("draft", [
            (people["county"], "submit", {}),
            (people["county"], "withdraw", {}),
        ]),
    }


def _check_one_winner(db, case_id, results, before, expected_loser_codes):
    winners = [t for t, r in results.items() if r == "ok"]
    losers = [r for r in results.values() if r != "ok"]
    assert len(winners) == 1 and len(losers) == 1, results
    assert isinstance(losers[0], Conflict) and losers[0].code in expected_loser_codes
    assert reload(db, case_id).version == before["case"][0]["version"] + 1
    after = snapshot(db, case_id)
    written = after["audit"][len(before["audit"]):]
    assert [(e["kind"], e["case_id"], e["trigger"]) for e in written] == [("transition", case_id, winners[0])]
    if winners == ["return_for_revision"]:
        assert {d["state"] for d in after["deadlines"] if d["status"] == "open"} == {"returned"}
    if winners != ["accept"]:
        assert after["parties"] == []
    with transaction(db) as s:
        assert audit.verify(s).ok


def test_conflicting_fires_one_wins(db, now, people, submitted):
    """Released together, whatever the database's order: one wins, the other is refused as a conflict."""
    before = snapshot(db, submitted.id)
    results = _race(db, now, submitted.id, _pairs(people)["accept_vs_return"][1])
    _check_one_winner(db, submitted.id, results, before, {"invalid_trigger", "concurrent_change"})


@pytest.mark.postgres
@pytest.mark.parametrize("pair", ["accept_vs_return", "submit_vs_withdraw"])
def test_a_fire_whose_case_changed_after_its_checks_writes_nothing(
        db, now, make, people, monkeypatch, pair, complete_application):
    """Writers queue on the audit head, so two fires never pass their checks together; should the case
    change under a fire anyway (a write from outside the engine), the versioned UPDATE refuses it."""
    state, attempts = _pairs(people)[pair]
    case = make.case("designation", by=people["county_user"], data=complete_application)
    if state == "submitted":
        case = run(db, people["county"], case.id, "submit", now)
    checked, changed = threading.Event(), threading.Event()
    original = engine.check_transition

    def check_then_wait(*args, **kwargs):
        spec = original(*args, **kwargs)
        checked.set()
        assert changed.wait(timeout=20)
        return spec

    monkeypatch.setattr(engine, "check_transition", check_then_wait)
    before = snapshot(db, case.id)
    actor, trigger, kwargs = attempts[0]
    outcome: dict[str, object] = {}

    def attempt():
        try:
            with transaction(db) as s:
                fire(session=s, case_id=case.id, trigger=trigger, actor=actor, now=now, **kwargs)
            outcome["result"] = "ok"
        except WorkflowError as exc:
            outcome["result"] = exc

    thread = threading.Thread(target=attempt)
    thread.start()
    assert checked.wait(timeout=20)
    table = Case.__table__
    with db.kw["bind"].begin() as conn:  # another writer bumps the version meanwhile
        conn.execute(table.update().where(table.c.id == case.id).values(version=table.c.version + 1))
    changed.set()
    thread.join(timeout=30)
    refused = outcome["result"]
    assert isinstance(refused, Conflict) and refused.code == "concurrent_change"
    after = snapshot(db, case.id)
    assert after["audit"] == before["audit"] and after["deadlines"] == before["deadlines"]
    assert reload(db, case.id).version == before["case"][0]["version"] + 1


def test_a_case_the_caller_has_read_is_not_read_again(db, now, people, submitted, monkeypatch):
    """The page that fires a step has read the case for the user (get_case) in the same transaction and hands it
    on: the engine locks the head and goes on with it; a case of another id is read as usual."""
    with transaction(db) as s:
        case = get_case(s, people["office"], submitted.id)
        with counted(db.kw["bind"], monkeypatch) as statements:
            fired = fire(session=s, case_id=submitted.id, trigger="return_for_revision", actor=people["office"],
                         now=now, comment="补正", expected_version=submitted.version, case=case)
        assert fired is case
        assert not [q for q in statements if "FROM case_file" in q and "case_file.id = " in q
                    and "LEFT OUTER JOIN town" not in q], listing(statements)  # the search text's read apart
    assert (reload(db, submitted.id).state, reload(db, submitted.id).version) == ("returned", submitted.version + 1)
    case = run(db, people["county"], submitted.id, "resubmit", now)
    with transaction(db) as s:  # another case handed on: this one is read after the lock
        fired = fire(session=s, case_id=case.id, trigger="return_for_revision", actor=people["office"], now=now,
                     comment="补正", case=Case(id=case.id + 1, version=case.version, state="submitted"))
        assert (fired.id, fired.state, fired.version) == (case.id, "returned", case.version + 1)


@pytest.mark.postgres
def test_a_case_read_before_another_writer_changed_it_is_refused_and_writes_nothing(db, now, people, submitted):
    """The page reads the case before the engine takes the head's lock: a write committed in between (here from
    outside the engine) makes the versioned UPDATE refuse the transition as a concurrent change."""
    before = snapshot(db, submitted.id)
    table = Case.__table__
    with pytest.raises(Conflict) as raised, transaction(db) as s:
        case = get_case(s, people["office"], submitted.id)
        with db.kw["bind"].begin() as conn:  # another writer bumps the version meanwhile
            conn.execute(table.update().where(table.c.id == submitted.id).values(version=table.c.version + 1))
        fire(session=s, case_id=submitted.id, trigger="return_for_revision", actor=people["office"], now=now,
             comment="补正", expected_version=case.version, case=case)
    assert (raised.value.status, raised.value.code) == (409, "concurrent_change")
    after = snapshot(db, submitted.id)
    assert after["audit"] == before["audit"] and after["deadlines"] == before["deadlines"]
    assert reload(db, submitted.id).version == before["case"][0]["version"] + 1


def test_create_actions_run_with_the_new_case_and_what_they_write_is_kept(db, now, make, people, monkeypatch,
                                                                          isolated_catalog, test_process):
    """A definition's create_actions run once the case has its id and number (the rectification order's 整改通知书
    is numbered and attached so); what they add to the data is saved and in the case_created event."""
    seen = []

    def stamp(ctx):
        seen.append((ctx.case.id, ctx.case.number, ctx.spec.trigger))
        ctx.data["stamped_for"] = ctx.case.number
        ctx.audit_data["stamp"] = "已盖章"

    def look(ctx):  # a guard of the creation sees the case as it will be filed
        seen.append((ctx.case.id, ctx.case.number, dict(ctx.case.data), ctx.case.version, ctx.case.state))
        return []

    monkeypatch.setitem(ACTIONS, "test_stamp", stamp)
    monkeypatch.setitem(GUARDS, "test_look", look)
    text = TEST_PROCESS.replace("key: enginetest", "key: stamptest").replace(
        "initial: open",
        "initial: open\ncreate_accepts: [note]\ncreate_guards: [test_look]\ncreate_actions: [test_stamp]")
    isolated_catalog.add(parse_definition(text, "stamptest.yaml"))
    with transaction(db) as s:
        case = create_case(session=s, definition_key="stamptest", actor=people["county"], now=now,
                           town_id=make.town().id, data={"note": "原有数据"})
    assert seen == [(None, "", {"note": "原有数据"}, 1, "open"), (case.id, case.number, "create")]
    stored = reload(db, case.id)
    assert stored.data == {"note": "原有数据", "stamped_for": case.number}
    with transaction(db) as s:
        created = s.exec(sa.select(AuditEvent).where(AuditEvent.case_id == case.id)).scalar_one()
    data = created.data if isinstance(created.data, dict) else __import__("json").loads(created.data)
    assert data["stamp"] == "已盖章" and data["data"] == stored.data and data["number"] == case.number


def test_a_failing_create_action_leaves_no_case(db, now, make, people, monkeypatch, isolated_catalog, test_process):
    def explode(ctx):
        raise Boom("numbering failed")

    monkeypatch.setitem(ACTIONS, "test_explode_on_create", explode)
    text = TEST_PROCESS.replace("key: enginetest", "key: failtest").replace(
        "initial: open", "initial: open\ncreate_actions: [test_explode_on_create]")
    isolated_catalog.add(parse_definition(text, "failtest.yaml"))
    town = make.town()
    with pytest.raises(Boom), transaction(db) as s:
        create_case(session=s, definition_key="failtest", actor=people["county"], now=now, town_id=town.id)
    with transaction(db) as s:
        assert s.exec(sa.select(Case).where(Case.definition_key == "failtest")).first() is None
        assert audit.verify(s).ok


def test_an_unknown_create_action_is_refused_when_the_definition_loads(test_process):
    from workflow.core.definitions import DefinitionError

    text = TEST_PROCESS.replace("initial: open", "initial: open\ncreate_actions: [no_such_action]")
    with pytest.raises(DefinitionError) as broken:
        parse_definition(text, "enginetest.yaml")
    assert broken.value.errors == ["enginetest.yaml: create_actions: unknown action 'no_such_action'"]


def test_a_step_s_comment_makes_the_case_findable(db, now, people, test_process, open_case):
    """Every step rewrites the case's search text in its transaction: what was just said is found at once."""
    from workflow.core.search import search_cases

    run(db, people["county"], open_case.id, "advance_quietly", now, comment="东山村台账已补齐")
    with transaction(db) as s:
        found = search_cases(s, people["county"], "东山村台账").items
    assert [hit.case.id for hit in found] == [open_case.id]


def test_the_office_naming_a_town_and_another_county_is_refused(db, people, now, make, test_process):
    """A town and a county that is not the town's: which did the office mean? Nothing is filed; the town's own
    county is accepted."""
    town = make.town("西烟镇", county="盂县")
    other = make.unit("平定县", "county")
    before = footprint(db)
    with pytest.raises(Unprocessable) as refused:
        _create(db, people["office"], now, town_id=town.id, county_id=other.id)
    assert (refused.value.zh, refused.value.en) == (
        "所选专业镇不属于所选县（区）。", "The town is not in the county chosen.")
    assert refused.value.details == [{"field": "town_id", "zh": "所选专业镇不属于所选县（区）",
                                      "en": "the town is not in the county chosen"}]
    assert footprint(db) == before
    assert _create(db, people["office"], now, town_id=town.id, county_id=town.county_id).town_id == town.id
