"""Opening one responsible unit's task (definitions/plan_task.yaml): from the approved plan (rules.open_plan_tasks)
or from a meeting's decision (tasks.record_meeting)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Session

from workflow.core.actors import Actor
from workflow.core.calendar import WorkCalendar, local_date
from workflow.core.engine import create_case
from workflow.core.models import Case, Town, Unit, UnitKind
from workflow.core.queries import office_unit
from workflow.programmes import periods

TASK = "plan_task"


def open_task(session: Session, *, now: datetime, calendar: WorkCalendar, unit_id: int, task: dict[str, Any],
              source: str, extra: dict[str, Any]) -> Case:
    """The task case of one responsible unit: a county's case for a county, the office's for a member unit."""
    unit = session.get(Unit, unit_id)
    if unit is None:
        raise LookupError(f"unit {unit_id} is missing")
    county = unit.kind == UnitKind.county.value
    town_id = task.get("town_id") if county else None
    if town_id is not None:
        town = session.get(Town, town_id)
        town_id = town_id if town is not None and town.county_id == unit_id else None
    period, due = periods.first_report(local_date(now), task["report_cycle"], calendar)
    data = {"programme": task.get("programme"), "task_title": task["title"], "responsible_unit_id": unit_id,
            "lead_unit_id": task.get("lead_unit_id"), "target_text": task.get("target_text"),
            "target_figure": task.get("target_figure"), "indicator": task.get("indicator"),
            "milestones": task.get("milestones") or [],
            "report_cycle": task["report_cycle"], "report_period": period, "report_due_date": due.isoformat(),
            "source": source, **extra}
    return create_case(session=session, definition_key=TASK, actor=Actor.system(), now=now, town_id=town_id,
                       county_id=unit_id if county else office_unit(session).id, calendar=calendar,
                       title=f"{task['title']} · {unit.name}", data={k: v for k, v in data.items() if v is not None})
