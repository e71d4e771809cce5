"""The demo's problem ledger: a dozen problems of 盂县, 平定县 and 郊区 in the process's states, one escalated into a
rectification order of its town that names it, one waiting for the leader's decision."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime

from sqlmodel import select

from workflow.core.actors import Actor
from workflow.core.db import transaction
from workflow.core.models import Case, Unit
from workflow.core.queries import inbox

NOW = datetime(2026, 3, 16, 2, 0, tzinfo=UTC)  # a Monday, 10:00 in Yangquan


def test_the_demo_has_a_dozen_problems_in_every_state_and_one_order(db):
    from workflow.seed import build_demo

    with transaction(db) as s:
        build_demo(s, NOW)
    with transaction(db) as s:
        problems = s.exec(select(Case).where(Case.definition_key == "problem").order_by(Case.id)).all()
        counties = {u.id: u.name for u in s.exec(select(Unit))}
        assert len(problems) == 12
        assert {counties[p.county_id] for p in problems} == {"盂县", "平定县", "郊区"}
        assert Counter(p.state for p in problems) == {"logged": 2, "assigned": 3, "in_progress": 2, "overdue": 1,
                                                       "answered": 1, "closed": 1, "for_meeting": 1, "escalated": 1}
        [escalated] = [p for p in problems if p.state == "escalated"]
        order = s.get(Case, escalated.data["order_id"])
        assert order.definition_key == "rectification" and order.data["problem_id"] == escalated.id
        assert order.town_id == escalated.town_id and order.state == "issued"
        leader = Actor(user_id=None, name="领导", role="leader", unit_id=None, unit_name=None)
        waiting = [c.id for c in inbox(s, leader, per_page=100).items if c.definition_key == "problem"]
        assert waiting == [p.id for p in problems if p.state == "for_meeting"]
