"""The demo's action plan: this year's plan approved, its tasks in several states, a meeting's decision as tasks."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime

import pytest
from sqlmodel import select

from workflow.core.calendar import local_date
from workflow.core.db import transaction
from workflow.core.models import Case


@pytest.mark.parametrize("now", [datetime(2026, 11, 27, 2, 0, tzinfo=UTC), datetime(2027, 4, 1, 2, 0, tzinfo=UTC)])
def test_the_demo_has_an_approved_plan_with_tasks_in_several_states(db, now):
    from workflow.seed import build_demo

    with transaction(db) as s:
        build_demo(s, now)
    with transaction(db) as s:
        [plan] = s.exec(select(Case).where(Case.definition_key == "action_plan")).all()
        tasks = s.exec(select(Case).where(Case.definition_key == "plan_task")).all()
    assert plan.state == "approved" and plan.data["plan_year"] in (local_date(now).year, local_date(now).year - 1)
    states = Counter(t.state for t in tasks)
    assert states == {"in_progress": 5, "late": 1, "supervised": 1, "completed": 1}
    assert sum(t.data["source"] == "meeting" for t in tasks) == 2
    on_track = [t for t in tasks if t.state == "in_progress" and t.data["source"] == "plan"]
    assert all(t.data["report_due_date"] >= local_date(now).isoformat() for t in on_track)
    assert any(r.get("attachments") for t in tasks for r in t.data.get("reports") or [])
