"""Who reads which part of a case, rule by rule, against a visibility file of the test's own: two processes, a group
members see their own entry of until the review ends, a group only the office sees (others get its average, the
security auditor sees it once decided), confidential steps, an attachment a county sees once decided, personal
keys. The data, the timeline and the audit trail as each role reads them."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from types import SimpleNamespace

import pytest

from workflow.core import visibility
from workflow.core.actors import Actor
from workflow.core.db import transaction
from workflow.core.models import AuditEvent, Case
from workflow.core.visibility import (
    CHANGED,
    HIDDEN_NAME,
    WITHHELD,
    AuditorReader,
    AuditorView,
    case_processes,
    hidden_keys,
    may_see_kind,
    parse_visibility,
    personal_as_fact,
    redacted_for_auditor,
    summary,
    visible_data,
    visible_events,
)

STATES = {"designation": {"consultation", "scoring", "decided"}, "inspection": {"planned", "closed"}}
SPEC = """key: visibility
version: 1
label: {zh: 可见范围, en: Visibility}
personal: [mobile]
processes:
  designation:
    fields:
      opinions:
        label: {zh: 意见, en: Opinions}
        keys: [opinions]
        visible_to: [office, leader]
        in_states: {member: [decided]}
        own_to: [member]
      scores:
        label: {zh: 评分, en: Scores}
        keys: [scores, score_note]
        visible_to: [office]
        in_states: {auditor: [decided]}
        others_see: test_score_average
    events: {record_opinion: opinions, record_score: scores}
    attachments:
      opinion_sheet: {visible_to: [office], in_states: {county: [decided]}}
  inspection:
    fields:
      plan:
        label: {zh: 检查安排, en: Plan}
        keys: [plan]
        visible_to: [office]
"""
OPINIONS = {"5": {"answer": "agree", "note": "同意"}, "6": {"answer": "disagree", "note": "产值存疑"}}
DATA = {"title": "西烟镇申报", "opinions": OPINIONS, "scores": [80, 90], "score_note": "较好", "mobile": "13912345678"}
WHEN = datetime(2026, 11, 27, 2, 0, tzinfo=UTC)


def _average(data):
    scores = data.get("scores")
    return sum(scores) / len(scores) if scores else None


@pytest.fixture(autouse=True)
def spec(monkeypatch):
    # the summary is registered for these tests only (the list of summaries is part of other tests' messages)
    monkeypatch.setitem(visibility.SUMMARIES, "test_score_average", _average)
    parsed = parse_visibility(SPEC, "visibility.yaml", STATES)
    monkeypatch.setattr(visibility, "rules", lambda: parsed)
    return parsed


def actor(role: str, unit_id: int | None = None) -> Actor:
    return Actor(user_id=1, name="某人", role=role, unit_id=unit_id, unit_name=None)


def case(state: str = "scoring", data: dict | None = None, key: str = "designation") -> Case:
    return Case(id=7, definition_key=key, state=state, data=json.loads(json.dumps(DATA if data is None else data)))


# --- the case's data ------------------------------------------------------------------------------------------------

def test_the_office_reads_everything():
    assert visible_data(actor("office"), case()) == DATA
    assert hidden_keys(actor("office"), case()) == set()


def test_a_member_reads_its_own_opinion_until_the_review_ends_then_all_of_them():
    during = visible_data(actor("member", 5), case("scoring"))
    assert during == {"title": "西烟镇申报", "opinions": {"5": OPINIONS["5"]}, "test_score_average": 85,
                      "mobile": "13912345678"}
    assert hidden_keys(actor("member", 5), case("scoring")) == {"opinions", "scores", "score_note"}
    after = visible_data(actor("member", 6), case("decided"))
    assert after == {"title": "西烟镇申报", "opinions": OPINIONS, "test_score_average": 85, "mobile": "13912345678"}
    assert hidden_keys(actor("member", 6), case("decided")) == {"scores", "score_note"}
    assert "opinions" not in visible_data(actor("member", None), case("scoring"))  # no unit of its own: none


def test_a_county_reads_neither_group_and_gets_the_average_only_when_there_is_one():
    assert visible_data(actor("county", 9), case()) == {"title": "西烟镇申报", "test_score_average": 85,
                                                        "mobile": "13912345678"}
    assert visible_data(actor("county", 9), case(data={"title": "t", "scores": []})) == {"title": "t"}
    assert hidden_keys(actor("county", 9), case("decided")) == {"opinions", "scores", "score_note"}


def test_what_a_reader_is_given_is_a_copy_that_cannot_change_the_case():
    shown = case()
    read = visible_data(actor("office"), shown)
    read["opinions"]["5"]["answer"] = "disagree"
    read["scores"].append(0)
    assert shown.data == DATA


def test_a_process_without_rules_shows_everything():
    assert visible_data(actor("county", 9), case(key="rectification")) == DATA
    assert hidden_keys(actor("county", 9), case(key="rectification")) == set()


def test_an_attachment_kind_is_shown_by_its_own_rule():
    assert may_see_kind(actor("office"), case("scoring"), "opinion_sheet")
    assert not may_see_kind(actor("county", 9), case("scoring"), "opinion_sheet")
    assert may_see_kind(actor("county", 9), case("decided"), "opinion_sheet")
    assert may_see_kind(actor("county", 9), case("scoring"), "application_form")  # no rule: whoever sees the case
    assert may_see_kind(actor("county", 9), case(key="rectification"), "opinion_sheet")  # a process without rules


# --- the timeline -----------------------------------------------------------------------------------------------

def step(seq: int, trigger: str | None, data: dict | str, unit_id: int | None = 5, comment: str | None = None):
    return AuditEvent(seq=seq, occurred_at=WHEN, kind="transition" if trigger else "case_created", case_id=7,
                      trigger=trigger, actor_id=11, actor_name="成员单位甲", unit_id=unit_id, unit_name="甲局",
                      comment=comment, data=data if isinstance(data, str) else json.dumps(data, ensure_ascii=False),
                      prev_hash="0" * 64, hash="1" * 64)


TIMELINE = [
    step(1, None, {"definition": "designation@1", "data": {"title": "西烟镇申报", "scores": []}}, unit_id=9),
    step(2, "record_opinion", {"changes": {"opinions": [{}, OPINIONS]}}, comment="产值存疑"),
    step(3, "submit", {"changes": {"title": ["旧", "新名称"], "score_note": [None, "较好"]}, "score_note": "较好"},
         unit_id=9),
]


def test_the_office_reads_the_timeline_as_it_is():
    seen = visible_events(actor("office"), case(), TIMELINE)
    assert [id(e) for e in seen] == [id(e) for e in TIMELINE]


def test_others_read_a_confidential_step_in_its_place_without_who_what_or_why():
    seen = visible_events(actor("county", 9), case(), TIMELINE)
    assert [e.seq for e in seen] == [1, 2, 3]
    secret = seen[1]
    assert (secret.actor_name, secret.actor_id, secret.unit_name, secret.unit_id, secret.comment, secret.data) == (
        HIDDEN_NAME, None, None, None, None, "{}")
    assert (secret.trigger, secret.occurred_at) == ("record_opinion", WHEN)
    # the other steps lose the hidden fields only, wherever they are in the event
    assert seen[0].data == '{"data": {"title": "西烟镇申报"}, "definition": "designation@1"}'
    assert seen[2].data == '{"changes": {"title": ["旧", "新名称"]}}'
    assert seen[2].actor_name == "成员单位甲" and seen[2].unit_id == 9
    assert TIMELINE[1].actor_name == "成员单位甲" and "score_note" in TIMELINE[2].data  # the trail is not changed


def test_a_member_reads_its_own_confidential_step_not_another_members():
    own = visible_events(actor("member", 5), case(), TIMELINE)[1]
    other = visible_events(actor("member", 6), case(), TIMELINE)[1]
    assert (own.actor_name, own.comment) == ("成员单位甲", "产值存疑")
    assert json.loads(own.data) == {"changes": {}}  # its opinions are a hidden field of the case all the same
    assert (other.actor_name, other.comment, other.data) == (HIDDEN_NAME, None, "{}")
    assert visible_events(actor("member", None), case(), TIMELINE)[1].actor_name == HIDDEN_NAME
    # once the review has ended, every member reads every member's step
    after = visible_events(actor("member", 6), case("decided"), TIMELINE)[1]
    assert (after.actor_name, after.comment) == ("成员单位甲", "产值存疑")


def test_the_data_of_a_step_that_is_not_json_or_not_a_mapping_is_shown_safely():
    broken = [step(4, "submit", "not json", unit_id=9), step(5, "submit", "[1, 2]", unit_id=9),
              step(6, "submit", "", unit_id=9)]
    assert [e.data for e in visible_events(actor("county", 9), case(), broken)] == ["{}", "[1, 2]", "{}"]


# --- what the security auditor reads of the trail ------------------------------------------------------------------

def trail(**fields) -> SimpleNamespace:
    base = {"case_id": 7, "trigger": None, "from_state": None, "to_state": None, "comment": None}
    data = fields.pop("data", {})
    return SimpleNamespace(**{**base, **fields, "data": data if isinstance(data, str) else json.dumps(data)})


def test_the_auditor_sees_a_group_in_the_states_it_is_given_them():
    data = {"changes": {"scores": [[], [80]], "title": ["a", "b"]}}
    assert redacted_for_auditor(trail(to_state="scoring", data=data), "designation").data == {
        "changes": {"scores": CHANGED, "title": ["a", "b"]}}
    assert redacted_for_auditor(trail(to_state="decided", data=data), "designation").data == data
    # the state the step ended in, or (a step that ended none) the one it started from
    assert redacted_for_auditor(trail(from_state="scoring", to_state="decided", data=data), "designation").data == data
    assert redacted_for_auditor(trail(from_state="decided", data=data), "designation").data == data
    assert redacted_for_auditor(trail(data=data), "designation").data["changes"]["scores"] == CHANGED


def test_a_confidential_step_shows_the_auditor_its_keys_and_no_value_nor_comment():
    found = redacted_for_auditor(trail(trigger="record_score", to_state="scoring", comment="打分偏低",
                                       data={"changes": {"title": ["a", "b"]}, "round": 2}), "designation")
    assert found == AuditorView(WITHHELD, {"changes": {"title": CHANGED}, "round": WITHHELD})
    decided = redacted_for_auditor(trail(trigger="record_score", to_state="decided", comment="打分偏低",
                                         data={"round": 2}), "designation")
    assert decided == AuditorView("打分偏低", {"round": 2})


def test_only_the_groups_of_the_events_own_process_are_hidden_from_the_auditor():
    data = {"plan": "突击检查", "opinions": {"5": "agree"}}
    assert redacted_for_auditor(trail(data=data), "designation").data == {"plan": "突击检查", "opinions": WITHHELD}
    assert redacted_for_auditor(trail(data=data), "inspection").data == {"plan": WITHHELD, "opinions": {"5": "agree"}}
    assert redacted_for_auditor(trail(data=data), None).data == {"plan": WITHHELD, "opinions": WITHHELD}


def test_a_personal_value_is_withheld_whatever_it_holds():
    found = redacted_for_auditor(trail(case_id=None, data={"mobile": {"old": "139", "new": "138"}, "n": 1}), None)
    assert found.data == {"mobile": WITHHELD, "n": 1}


@pytest.mark.parametrize("raw", ["not json", "[1, 2]", ""])
def test_an_event_whose_data_is_not_a_mapping_shows_the_auditor_none(raw):
    assert redacted_for_auditor(trail(data=raw, comment="备注"), "designation") == AuditorView("备注", {})


def test_personal_values_are_recorded_as_a_fact():
    assert personal_as_fact({"mobile": "13912345678", "title": "西烟镇"}, "recorded") == {
        "mobile": "recorded", "title": "西烟镇"}


def test_a_summary_name_is_registered_once():
    assert summary("test_score_average")(_average) is _average  # the same function again: no harm
    with pytest.raises(ValueError, match=r"^summary 'test_score_average' registered twice$"):
        summary("test_score_average")(lambda data: None)


# --- the auditor's reader over a stream of events -------------------------------------------------------------------

def test_the_reader_looks_each_case_s_process_up_once(db, make):
    designation, inspection = make.case("designation"), make.case("inspection")
    data = {"plan": "突击检查", "opinions": {"5": "agree"}}
    with transaction(db) as s:
        assert case_processes(s, []) == {}
        assert case_processes(s, [inspection.id, designation.id, inspection.id]) == {
            designation.id: "designation", inspection.id: "inspection"}
        reader = AuditorReader(s)
        reader.know([designation.id, None])
        assert reader.processes == {designation.id: "designation"}
        reader.know([designation.id, inspection.id, 999999])
        assert reader.processes == {designation.id: "designation", inspection.id: "inspection", 999999: None}
        assert reader(trail(case_id=designation.id, data=data)).data == {"plan": "突击检查", "opinions": WITHHELD}
        assert reader(trail(case_id=inspection.id, data=data)).data == {"plan": WITHHELD, "opinions": {"5": "agree"}}
        assert reader(trail(case_id=999999, data=data)).data == {"plan": WITHHELD, "opinions": WITHHELD}
        assert reader(trail(case_id=None, data=data)).data == data  # no case: personal keys only
    fresh = AuditorReader(db())
    try:
        assert fresh(trail(case_id=inspection.id, data=data)).data == {"plan": WITHHELD, "opinions": {"5": "agree"}}
        assert fresh.processes == {inspection.id: "inspection"}
    finally:
        fresh.session.close()
