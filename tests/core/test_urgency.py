"""Deadlines always in sight (issue 14 §1): every to-do list puts the overdue first (the most overdue on top),
then the soonest due, then what has no deadline; an order the sweep made overdue keeps its due date and stays
with the county, which can still submit its report; the case page says what happens when a deadline passes."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest

from workflow.core.calendar import LOCAL_TZ
from workflow.core.catalog import CATALOG
from workflow.core.db import transaction
from workflow.core.definitions import DefinitionError, parse_definition
from workflow.core.engine import fire
from workflow.core.queries import case_deadlines, case_list, deadline_badges, inbox, supervision_board
from workflow.core.sweep import sweep


def at_local(day: date, hour: int = 10) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=LOCAL_TZ)


@pytest.fixture
def orders(db, make):
    """Four orders issued on Friday 27 November 2026 with different deadlines, and a county's draft application;
    then the real sweep runs on Thursday 3 December, when two of the deadlines have passed."""
    office, county = make.user("office"), make.user("county")
    town = make.town()
    made = {}
    for name, due in (("later", None), ("tomorrow", "2026-12-04"), ("passed", "2026-12-01"),
                      ("long_passed", "2026-11-30")):
        data = {"problem": f"问题 {name}", **({"due_date": due} if due else {})}
        made[name] = make.case("rectification", town=town, by=office, data=data)
    made["draft"] = make.case("designation", town=make.town(), by=county)
    today = at_local(date(2026, 12, 3))
    sweep(db, now=today)
    return made, make.actor(county), make.actor(office), today


def _numbers(cases):
    return [c.id for c in cases]


def test_the_county_inbox_puts_the_most_overdue_first_and_keeps_the_overdue_orders(db, orders):
    made, county, _office, today = orders
    with transaction(db) as s:
        assert s.get(type(made["passed"]), made["passed"].id).state == "overdue"
        page = inbox(s, county)
        badges = deadline_badges(s, _numbers(page.items), now=today)
    # the two overdue orders stay in 我的待办: the county can still submit its report
    assert _numbers(page.items) == [made[k].id for k in ("long_passed", "passed", "tomorrow", "later", "draft")]
    assert (badges[made["long_passed"].id].due_date, badges[made["long_passed"].id].working_days_left) == (
        "2026-11-30", -3)
    assert (badges[made["passed"].id].due_date, badges[made["passed"].id].working_days_left) == ("2026-12-01", -2)
    assert badges[made["passed"].id].overdue and badges[made["passed"].id].tone == "late"
    assert badges[made["tomorrow"].id].working_days_left == 1
    assert made["draft"].id not in badges


def test_the_overdue_order_can_still_be_reported_from_the_inbox(db, orders):
    made, county, _office, today = orders
    with transaction(db) as s:
        case = fire(session=s, case_id=made["passed"].id, trigger="submit_report", actor=county,
                    now=today, payload={"report": "已整改完毕"})
    assert case.state == "under_verification"
    with transaction(db) as s:
        assert made["passed"].id not in _numbers(inbox(s, county).items)


def test_the_case_list_and_the_board_sort_by_urgency_too(db, orders):
    made, county, office, today = orders
    with transaction(db) as s:
        listed = case_list(s, county).items
        board = supervision_board(s, office, now=today)
    # then the cases without a deadline (the draft, the towns' registry records), newest first
    assert _numbers(listed)[:4] == [made[k].id for k in ("long_passed", "passed", "tomorrow", "later")]
    assert made["draft"].id in _numbers(listed)[4:]
    assert _numbers(listed)[4:] == sorted(_numbers(listed)[4:], reverse=True)
    assert [c.id for c, *_ in board] == [made[k].id for k in ("long_passed", "passed", "tomorrow", "later")]
    assert [b.working_days_left for *_, b in board][:3] == [-3, -2, 1]


def test_the_case_page_names_each_deadline_with_what_happens_when_it_passes(db, orders):
    made, _county, _office, today = orders
    with transaction(db) as s:
        overdue = case_deadlines(s, s.get(type(made["passed"]), made["passed"].id), now=today)
        running = case_deadlines(s, s.get(type(made["tomorrow"]), made["tomorrow"].id), now=today)
    assert [(d.label.zh, d.due_date, d.working_days_left, d.overdue) for d in overdue] == [
        ("整改期限", "2026-12-01", -2, True)]
    assert [(d.label.zh, d.working_days_left) for d in running] == [("整改期限", 1)]
    assert running[0].on_expiry_text.zh == "逾期未整改的，转为逾期未整改并可予通报批评"


def test_a_deadline_passed_on_a_friday_is_overdue_over_the_weekend_not_due(db, make):
    """Due Friday 4 December 2026: on the Sunday after, no working day has passed since, yet the order is late
    (the sweep made it overdue): the page, the lists and the panel say overdue by one working day, never due."""
    from workflow.core.panels import case_panel

    office, county = make.user("office"), make.user("county")
    order = make.case("rectification", town=make.town(), by=office,
                      data={"problem": "台账不全", "due_date": "2026-12-04"})
    sunday = at_local(date(2026, 12, 6))
    sweep(db, now=sunday)
    with transaction(db) as s:
        row = s.get(type(order), order.id)
        shown = case_deadlines(s, row, now=sunday)
        badge = deadline_badges(s, [order.id], now=sunday)[order.id]
        panel = case_panel(session=s, actor=make.actor(county), case_id=order.id, now=sunday)
        friday = case_deadlines(s, row, now=at_local(date(2026, 12, 4)))
        monday = deadline_badges(s, [order.id], now=at_local(date(2026, 12, 8)))[order.id]
    assert row.state == "overdue"
    assert [(d.working_days_left, d.overdue, d.tone) for d in shown] == [(-1, True, "late")]
    assert (badge.working_days_left, badge.overdue) == (-1, True)
    assert [d.working_days_left for d in panel.due] == [-1]
    assert [d.working_days_left for d in friday] == [0]  # on the day itself: due today
    assert monday.working_days_left == -2  # then counted in working days as before


def test_a_returned_application_says_it_is_withdrawn_when_the_revision_deadline_passes(db, make, now,
                                                                                        complete_application):
    county, office = make.user("county"), make.user("office")
    case = make.case("designation", by=county, data=complete_application, state="submitted")
    with transaction(db) as s:
        fire(session=s, case_id=case.id, trigger="return_for_revision", actor=make.actor(office), now=now,
             comment="缺少产值证明")
    with transaction(db) as s:
        shown = case_deadlines(s, s.get(type(case), case.id), now=now + timedelta(days=1))
    assert [(d.label.zh, d.on_expiry_text.zh) for d in shown] == [("补正期限", "逾期未补正将自动视为撤回申报")]
    assert shown[0].working_days_left == 10  # Saturday: still the ten working days from Monday


def test_every_deadline_of_every_process_says_what_happens_when_it_passes():
    for key in CATALOG.keys():
        for state in CATALOG.current(key).states.values():
            for spec in state.deadlines:
                assert spec.on_expiry_text and spec.on_expiry_text.zh and spec.on_expiry_text.en, (key, spec.name)


def test_a_text_of_what_happens_needs_both_languages():
    text = """
key: sample
version: 1
label: {zh: 样例, en: Sample}
create_roles: [county]
initial: open
states:
  open:
    label: {zh: 办理中, en: Open}
    deadlines:
      - {name: answer, label: {zh: 答复期限, en: Answer deadline}, working_days: 3, on_expiry_text: {zh: 逾期关闭}}
  done:
    label: {zh: 结束, en: Done}
    final: true
transitions:
  - {trigger: finish, label: {zh: 办结, en: Finish}, source: open, dest: done, roles: [county]}
"""
    with pytest.raises(DefinitionError) as caught:
        parse_definition(text, "sample.yaml")
    assert caught.value.errors == ["sample.yaml: states.open.deadlines[0].on_expiry_text.en: "
                                   "missing text of what happens when the deadline passes"]


def test_the_states_after_an_order_went_overdue_keep_its_deadline_in_sight():
    from workflow.core.queries import passed_states

    # drafted and issued criticisms follow only from an overdue order; a report under verification is reached
    # on time too, and the designation's notice step has a deadline of its own; a problem of the ledger overdue
    # keeps the deadline it missed in sight until its unit answers or the office assigns it again
    assert passed_states() == {"rectification": {"overdue", "criticism_pending", "criticised"},
                               "problem": {"overdue"},
                               # an action-plan task: its report overdue, or its 督办 overdue and what follows
                               "plan_task": {"late", "supervision_overdue", "criticism_pending", "criticised"}}


def test_a_criticised_order_stays_red_with_its_working_days_and_sorts_among_the_overdue(db, make, orders):
    made, _county, office, today = orders
    leader = make.actor(make.user("leader"))
    with transaction(db) as s:
        fire(session=s, case_id=made["long_passed"].id, trigger="criticise", actor=office, now=today,
             comment="逾期未整改")
        fire(session=s, case_id=made["passed"].id, trigger="criticise", actor=office, now=today,
             comment="逾期未整改")
    with transaction(db) as s:
        fire(session=s, case_id=made["passed"].id, trigger="approve_criticism", actor=leader, now=today)
    later = today + timedelta(days=7)  # Thursday 10 December: five more working days
    with transaction(db) as s:
        board = supervision_board(s, office, now=later)
        listed = case_list(s, office, definition="rectification").items
        pending = case_deadlines(s, s.get(type(made["long_passed"]), made["long_passed"].id), now=later)
    states = {c.id: c.state for c, *_ in board}
    assert (states[made["long_passed"].id], states[made["passed"].id]) == ("criticism_pending", "criticised")
    # the most overdue on top, whatever the step after the deadline; the running ones after them
    assert [c.id for c, *_ in board] == [made[k].id for k in ("long_passed", "passed", "tomorrow", "later")]
    assert [(b.due_date, b.working_days_left, b.tone) for *_, b in board][:3] == [
        ("2026-11-30", -8, "late"), ("2026-12-01", -7, "late"), ("2026-12-04", -4, "late")]
    assert _numbers(listed)[:3] == [made[k].id for k in ("long_passed", "passed", "tomorrow")]
    assert [(d.label.zh, d.due_date, d.working_days_left) for d in pending] == [("整改期限", "2026-11-30", -8)]


def test_a_reissued_order_shows_its_new_deadline_not_the_passed_one(db, make, orders):
    made, _county, office, today = orders
    leader = make.actor(make.user("leader"))
    case_id = made["passed"].id
    with transaction(db) as s:
        fire(session=s, case_id=case_id, trigger="criticise", actor=office, now=today, comment="逾期未整改")
    with transaction(db) as s:
        fire(session=s, case_id=case_id, trigger="approve_criticism", actor=leader, now=today)
    with transaction(db) as s:
        fire(session=s, case_id=case_id, trigger="reissue", actor=office, now=today,
             payload={"due_date": "2026-12-18"})
    with transaction(db) as s:
        badge = deadline_badges(s, [case_id], now=today)[case_id]
    assert (badge.due_date, badge.working_days_left, badge.overdue) == ("2026-12-18", 11, False)


def test_a_notice_not_issued_in_time_stays_overdue_while_it_waits(db, make, now):
    """A deadline with nothing to fire (the designation notice to issue in five working days) passes without
    moving the case: the office is told, and the case keeps that deadline, red, until the notice is issued."""
    office = make.user("office")
    case = make.case("designation", by=make.user("county"), state="notice_pending", data={})
    with transaction(db) as s:
        due = case_deadlines(s, s.get(type(case), case.id), now=now)[0]
    assert (due.label.zh, due.overdue) == ("认定通知印发期限", False)
    after = at_local(date.fromisoformat(due.due_date) + timedelta(days=3))
    sweep(db, now=after)
    with transaction(db) as s:
        shown = case_deadlines(s, s.get(type(case), case.id), now=after)
        badge = deadline_badges(s, [case.id], now=after)[case.id]
        first = inbox(s, make.actor(office)).items[0]
    assert [(d.label.zh, d.due_date, d.overdue) for d in shown] == [("认定通知印发期限", due.due_date, True)]
    assert badge.overdue and badge.tone == "late"
    assert first.id == case.id
