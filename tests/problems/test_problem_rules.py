"""The problem ledger's rules one by one (workflow/problems/rules.py): the reasons an answer is refused, exactly and
at the length limit; what an answer records (its outcome, when, in the data and the trail); and that answering
clears what the responsible unit owes, and only that."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import ledger_world
import pytest
import sqlalchemy as sa
import time_machine
from sqlmodel import select

from workflow.core.calendar import LOCAL_TZ
from workflow.core.db import transaction
from workflow.core.errors import Unprocessable
from workflow.core.models import AuditEvent, CaseParty
from workflow.problems import ledger
from workflow.problems.rules import FORMER, MAX_TEXT, RAISER, RESPONSIBLE

NOW = datetime(2026, 11, 27, 10, tzinfo=LOCAL_TZ)  # a Friday
people = ledger_world.people  # the fixture


@pytest.fixture
def problem(db, make, people):
    """A problem 市科技局 logged and the office gave to 市发改委."""
    with time_machine.travel(NOW, tick=False), transaction(db) as s:
        case = ledger.log_problem(session=s, actor=make.actor(people.users["kj"]), now=NOW,
                                  town_id=people.towns["西烟镇"].id,
                                  data={"category": "land", "description": "园区用地指标不足"})
        ledger.assign(session=s, actor=make.actor(people.users["office"]), now=NOW, case_id=case.id,
                      responsible_unit_id=people.units["市发改委"])
        return case.id


def answer(db, make, people, case_id: int, outcome: str, text: str | None, who: str = "fgw", now: datetime = NOW):
    with time_machine.travel(now, tick=False), transaction(db) as s:
        return ledger.answer(session=s, actor=make.actor(people.users[who]), now=now, case_id=case_id,
                             outcome=outcome, text=text)


def test_a_problem_needs_its_description_within_the_limit_and_the_reasons_say_so(db, make, people):
    def log(**data):
        with transaction(db) as s:
            return ledger.log_problem(session=s, actor=make.actor(people.users["kj"]), now=NOW,
                                      town_id=people.towns["西烟镇"].id, data={"category": "land", **data})

    for missing in ({}, {"description": "  "}, {"description": 17}):
        with pytest.raises(Unprocessable) as refused:
            log(**missing)
        assert [d for d in refused.value.details if d["field"] == "description"][-1] == {
            "field": "description", "zh": "请填写问题描述", "en": "the description is required"}, missing
    with pytest.raises(Unprocessable) as refused:
        log(description="字" * (MAX_TEXT + 1))
    assert refused.value.details == [{"field": "description", "zh": f"问题描述不能超过 {MAX_TEXT} 字",
                                      "en": f"the description may be at most {MAX_TEXT} characters"}]
    assert log(description="字" * MAX_TEXT).data["description"] == "字" * MAX_TEXT


@pytest.mark.parametrize(("outcome", "field", "zh", "en", "required"), [
    ("resolved", "resolution", "办理情况", "what was done", ("必须填写办理情况", "What was done is required")),
    ("unsolvable", "unsolvable_reason", "无法解决的原因", "the reason",
     ("必须填写本级无法解决的原因", "Why it cannot be solved at this level is required")),
])
def test_an_answer_needs_its_text_within_the_limit_and_the_reasons_say_so(db, make, people, problem, outcome,
                                                                           field, zh, en, required):
    with pytest.raises(Unprocessable) as refused:  # a field the step requires, left out: the engine's own reason
        answer(db, make, people, problem, outcome, "")
    assert refused.value.details == [{"field": field, "zh": required[0], "en": required[1]}]
    with pytest.raises(Unprocessable) as refused:  # given, but only spaces
        answer(db, make, people, problem, outcome, "   ")
    assert refused.value.details == [{"field": field, "zh": f"请填写{zh}", "en": f"{en} is required"}]
    with pytest.raises(Unprocessable) as refused:
        answer(db, make, people, problem, outcome, "字" * (MAX_TEXT + 1))
    assert refused.value.details == [{"field": field, "zh": f"{zh}不能超过 {MAX_TEXT} 字",
                                      "en": f"{en} may be at most {MAX_TEXT} characters"}]
    done = answer(db, make, people, problem, outcome, "字" * MAX_TEXT)  # the limit itself is accepted
    assert done.state == "answered" and done.data[field] == "字" * MAX_TEXT


def _parties(db, case_id: int) -> dict[str, list[tuple[int, datetime | None]]]:
    """The case's units by purpose, each with when it last answered (None: it owes an answer)."""
    with transaction(db) as s:
        rows = s.connection().execute(sa.select(CaseParty.purpose, CaseParty.unit_id, CaseParty.responded_at)
                                      .where(CaseParty.case_id == case_id).order_by(CaseParty.id)).all()
    found: dict[str, list[tuple[int, datetime | None]]] = {}
    for purpose, unit_id, responded_at in rows:
        if responded_at is not None:  # naive UTC on SQLite, aware on PostgreSQL
            responded_at = responded_at.astimezone(UTC) if responded_at.tzinfo else responded_at.replace(tzinfo=UTC)
        found.setdefault(purpose, []).append((unit_id, responded_at))
    return found


def test_an_answer_records_its_outcome_and_time_and_clears_only_what_the_responsible_unit_owes(db, make, people,
                                                                                             problem):
    with transaction(db) as s:  # a second problem, answered by nobody yet: the answer below leaves it alone
        other = ledger.log_problem(session=s, actor=make.actor(people.users["kj"]), now=NOW,
                                   town_id=people.towns["西烟镇"].id,
                                   data={"category": "land", "description": "另一个问题"})
        ledger.assign(session=s, actor=make.actor(people.users["office"]), now=NOW, case_id=other.id,
                      responsible_unit_id=people.units["市发改委"])
    kj, fgw = people.units["市科技局"], people.units["市发改委"]
    logged = NOW.astimezone(UTC)
    assert _parties(db, problem) == {RAISER: [(kj, logged)], RESPONSIBLE: [(fgw, None)]}

    later = datetime(2026, 12, 1, 15, tzinfo=LOCAL_TZ)
    done = answer(db, make, people, problem, "resolved", "调剂用地指标 50 亩已下达", now=later)
    assert done.data["outcome"] == "resolved" and done.data["answered_at"] == later.isoformat()
    assert _parties(db, problem) == {RAISER: [(kj, logged)], RESPONSIBLE: [(fgw, later.astimezone(UTC))]}
    assert _parties(db, other.id) == {RAISER: [(kj, logged)], RESPONSIBLE: [(fgw, None)]}
    with transaction(db) as s:
        event = s.exec(select(AuditEvent).where(AuditEvent.case_id == problem, AuditEvent.trigger ==
                                                "report_resolved")).one()
    assert json.loads(event.data)["outcome"] == "resolved"
    assert FORMER not in _parties(db, problem)
