"""The case tally (case_tally, migration 0026): how many cases of a kind each county has in each state, kept by the
database's triggers in the writing transaction, whatever writes the cases; the dashboard reads it."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from test_migrations import _migrate

from workflow.core.db import transaction
from workflow.core.engine import fire
from workflow.core.models import Case, CaseTally
from workflow.core.tally import counted, counts

CASES = Case.__table__
TALLY = CaseTally.__table__
ORDER = {"problem": "厂区扬尘", "severity": "medium", "due_date": "2026-12-10"}


def test_the_tally_follows_every_write_of_the_cases(db, make, now):
    office = make.user("office")
    cases = [make.case("designation", county=county) for county in ("盂县", "盂县", "平定县")]
    make.case("rectification", state="overdue", county="平定县", by=office, data=ORDER)
    with transaction(db) as s:
        yu, ping = cases[0].county_id, cases[2].county_id
        assert counts(s) == counted(s)
        assert counts(s)[("designation", yu, "draft")] == 2
        assert counts(s)[("rectification", ping, "overdue")] == 1
    with transaction(db) as s:  # a transition through the engine
        fire(session=s, case_id=cases[0].id, trigger="withdraw", actor=make.actor(
            make.user("county", username="yx_clerk")), now=now)
    with transaction(db) as s:
        conn = s.connection()
        assert counts(s) == counted(s)
        assert (counts(s)[("designation", yu, "draft")], counts(s)[("designation", yu, "withdrawn")]) == (1, 1)
        # writes the engine never makes: another county, another kind, a bulk insert, an update leaving the state as
        # it was, a delete
        conn.execute(CASES.update().where(CASES.c.id == cases[1].id).values(county_id=ping))
        conn.execute(CASES.update().where(CASES.c.id == cases[2].id).values(definition_key="inspection"))
        conn.execute(CASES.update().where(CASES.c.definition_key == "rectification").values(state="overdue",
                                                                                          title="同一状态"))
        conn.execute(CASES.insert(), [dict(number=f"T-{n}", definition_key="problem", definition_version=1,
                                           state="open", version=1, county_id=yu, title="问题", data={},
                                           created_at=now, updated_at=now) for n in range(3)])
        conn.execute(CASES.delete().where(CASES.c.number == "T-0"))
        assert counts(s) == counted(s)
        assert counts(s)[("problem", yu, "open")] == 2 and ("designation", yu, "draft") not in counts(s)
    with transaction(db) as s:
        assert counts(s) == counted(s)


def test_a_rolled_back_write_leaves_the_tally_as_it_was(db, make):
    case = make.case("designation")
    with transaction(db) as s:
        before = counts(s)
    with pytest.raises(RuntimeError, match="fails after its write"), transaction(db) as s:
        s.connection().execute(CASES.update().where(CASES.c.id == case.id).values(state="submitted"))
        assert counts(s) != before
        raise RuntimeError("the action fails after its write")
    with transaction(db) as s:
        assert counts(s) == before == counted(s)


def test_the_migration_counts_the_cases_already_there_and_taking_it_back_drops_the_tally(engine, db, make):
    office = make.user("office")
    cases = [make.case("designation"), *(make.case("rectification", state="overdue", county="城区", by=office,
                                                   data=ORDER) for _ in range(2))]
    try:
        _migrate(engine, "downgrade", "0025")
        with engine.connect() as conn:
            assert not sa.inspect(conn).has_table("case_tally")
            conn.execute(CASES.update().where(CASES.c.id == cases[0].id).values(state="submitted"))
            conn.commit()
    finally:
        _migrate(engine, "upgrade", "head")
    with transaction(db) as s:
        assert counts(s) == counted(s)
        assert counts(s)[("rectification", cases[1].county_id, "overdue")] == 2
        assert counts(s)[("designation", cases[0].county_id, "submitted")] == 1
        s.connection().execute(CASES.update().where(CASES.c.id == cases[1].id).values(state="closed"))
        assert counts(s) == counted(s)  # and the triggers are back


def test_zyz_tally_recount_counts_it_again_from_the_cases(db, make, run_zyz):
    """After cases loaded with the triggers off, or twice (a data-only restore), the command puts it right."""
    office = make.user("office")
    cases = [make.case("designation"), make.case("rectification", state="overdue", county="城区", by=office,
                                                 data=ORDER)]
    assert run_zyz("tally", "recount").output == "tally counted again: it was right\n"
    with transaction(db) as s:
        conn = s.connection()
        conn.execute(TALLY.update().where(TALLY.c.definition_key == "designation").values(n=TALLY.c.n + 1))
        conn.execute(TALLY.delete().where(TALLY.c.definition_key == "rectification"))
        conn.execute(TALLY.insert().values(definition_key="problem", county_id=cases[0].county_id, state="open",
                                           n=3))
    result = run_zyz("tally", "recount")
    assert (result.exit_code, result.output) == (0, "tally counted again: 3 of its rows were wrong\n")
    with transaction(db) as s:
        assert counts(s) == counted(s)
        assert counts(s)[("rectification", cases[1].county_id, "overdue")] == 1
