"""The project libraries' rules one by one (workflow/projects/rules.py): when a project is stalled or overdue, the
SQL form of the stalled rule against the flag, the amounts a project takes, and what an update does to the
quarterly deadline's rows."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
import sqlalchemy as sa
from sqlmodel import col, select

from workflow.core.db import transaction
from workflow.core.engine import fire
from workflow.core.errors import Unprocessable
from workflow.core.models import Case, Deadline
from workflow.projects.ledger import create_project
from workflow.projects.rules import MAX_AMOUNT, is_overdue, is_stalled, stalled_clause, stalled_since

MARCH = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)
OCTOBER = date(2026, 10, 1)  # Q2 and Q3 whole since March, Q4 begun: more than two whole quarters


@pytest.fixture
def people(make):
    return {"county": make.user("county", county="盂县", username="yx_clerk"),
            "town": make.town("西烟镇", county="盂县")}


def _project(state: str, *, key: str = "key_project", last: str | None = "2026-03-02", due: str | None = None):
    data = {k: v for k, v in (("last_activity_date", last), ("report_due_date", due)) if v}
    return Case(number="X-1", definition_key=key, definition_version=1, state=state, county_id=1, title="石材",
                data=data, created_at=MARCH, updated_at=MARCH)


def test_a_project_that_reached_its_last_stage_or_ended_is_never_stalled():
    for state in ("effective", "landed", "terminated"):
        assert not is_stalled(_project(state), OCTOBER), state
    for state in ("reserve", "signed", "started", "producing"):
        assert is_stalled(_project(state), OCTOBER), state
    assert not is_stalled(_project("producing", last="2026-04-01"), OCTOBER)  # Q2 itself had progress
    assert is_stalled(_project("producing", last=None), OCTOBER)  # counted from the day it was entered (March)


def test_the_quarterly_update_is_overdue_only_after_its_day_and_only_for_a_key_project_still_going():
    due = "2026-10-15"
    assert not is_overdue(_project("signed", due=due), date(2026, 10, 15))  # the day itself is still in time
    assert is_overdue(_project("signed", due=due), date(2026, 10, 16))
    assert not is_overdue(_project("effective", due=due), date(2026, 10, 16))
    assert not is_overdue(_project("signed", key="investment_project", due=due), date(2026, 10, 16))
    assert not is_overdue(_project("signed"), date(2026, 10, 16))  # no deadline


def test_the_sql_stalled_rule_takes_the_library_asked_for_and_leaves_out_ended_projects(db, make, people):
    me = make.actor(people["county"])
    with transaction(db) as s:
        def new(key: str, now: datetime = MARCH) -> int:
            return create_project(session=s, key=key, actor=me, now=now, town_id=people["town"].id, county_id=None,
                                  data={"project_name": f"{key}{now:%m%d}", "investment_planned": 10}).id

        key_stalled, other_library = new("key_project"), new("investment_project")
        on_the_edge = new("key_project", datetime(2026, 4, 1, 2, 0, tzinfo=UTC))  # progress on Q2's first day
        finished = new("key_project")
        for trigger, field in (("sign", "signed_date"), ("start", "started_date"), ("produce", "producing_date"),
                               ("reach_output", "effective_date")):
            fire(session=s, case_id=finished, trigger=trigger, actor=me, now=MARCH, payload={field: "2026-03-02"})
    assert stalled_since(OCTOBER) == date(2026, 4, 1)
    with transaction(db) as s:
        for key, expected in (("key_project", {key_stalled}), ("investment_project", {other_library})):
            found = set(s.connection().execute(sa.select(Case.id).where(stalled_clause(OCTOBER, key))).scalars())
            assert found == expected, key
            rows = s.exec(select(Case).where(col(Case.definition_key) == key)).all()
            assert {c.id for c in rows if is_stalled(c, OCTOBER)} == expected, key  # the flag agrees
    assert on_the_edge not in found and finished not in found


def _update(db, make, people, case_id: int, payload: dict, now: datetime = MARCH) -> Case:
    with transaction(db) as s:
        return fire(session=s, case_id=case_id, trigger="update_project", actor=make.actor(people["county"]),
                    now=now, payload=payload)


AMOUNT_REASON = {"zh": "金额应为不小于 0 的数（万元）", "en": "the amount must be a number from 0 (10,000 yuan)"}


def test_an_amount_is_a_number_from_0_to_a_trillion_yuan_and_may_be_left_empty(db, make, people):
    with transaction(db) as s:
        case_id = create_project(session=s, key="key_project", actor=make.actor(people["county"]), now=MARCH,
                                 town_id=people["town"].id, county_id=None,
                                 data={"project_name": "铸造", "investment_planned": 10}).id
    assert _update(db, make, people, case_id, {"investment_completed": ""}).data["investment_completed"] == ""
    assert _update(db, make, people, case_id, {"investment_completed": MAX_AMOUNT}).data[
        "investment_completed"] == MAX_AMOUNT
    assert _update(db, make, people, case_id, {"investment_completed": 0}).data["investment_completed"] == 0
    for wrong in (MAX_AMOUNT + 1, -1, True, "100"):
        with pytest.raises(Unprocessable) as refused:
            _update(db, make, people, case_id, {"investment_completed": wrong})
        assert refused.value.details == [{"field": "investment_completed", **AMOUNT_REASON}], wrong


def _utc(moment: datetime | None) -> datetime | None:
    """A moment as read back (naive UTC on SQLite, aware on PostgreSQL), aware in UTC."""
    if moment is None:
        return None
    return moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)


def _rows(db, case_id: int) -> list[tuple[int, str, str, datetime | None]]:
    with transaction(db) as s:
        return [(d.id, d.status, d.due_date, _utc(d.closed_at)) for d in s.exec(
            select(Deadline).where(Deadline.case_id == case_id).order_by(col(Deadline.id)))]


def test_an_update_keeps_the_deadline_rows_when_the_date_stays_and_replaces_them_when_it_moves(db, make, people):
    with transaction(db) as s:
        case_id = create_project(session=s, key="key_project", actor=make.actor(people["county"]), now=MARCH,
                                 town_id=people["town"].id, county_id=None,
                                 data={"project_name": "石材深加工", "investment_planned": 5000}).id
    first = _rows(db, case_id)
    assert len(first) == 4 and {status for _, status, _, _ in first} == {"open"}
    march_due = first[0][2]
    assert _update(db, make, people, case_id, {"support": "用地协调"}).data["report_due_date"] == march_due
    assert _rows(db, case_id) == first  # the update of the quarter still running: the same rows, still open

    may = datetime(2026, 5, 6, 2, 0, tzinfo=UTC)  # Q2: the next update falls due after June
    moved = _update(db, make, people, case_id, {"support": "用地协调"}, now=may).data["report_due_date"]
    assert moved > march_due
    rows = _rows(db, case_id)
    assert rows[:4] == [(i, "closed", due, may) for i, _, due, _ in first]
    assert [(status, due) for _, status, due, _ in rows[4:]] == [("open", moved)] * 4
