"""workflow.core.db.json_key: a filter on case data that an expression index of migrations 0018 and 0025 covers is
written so that SQLite uses the index (the JSON path spelt out, not bound), and finds what the plain subscript
finds."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlalchemy import event
from sqlmodel import col, select

from workflow.core.actors import Actor
from workflow.core.db import json_key, transaction
from workflow.core.models import Case
from workflow.programmes.tasks import plan_case, task_query
from workflow.projects.batches import three_batches


def _plans(session, run) -> list[str]:
    """SQLite's plan of each statement `run(session)` sends (EXPLAIN QUERY PLAN, with the same parameters)."""
    sent: list[tuple[str, object]] = []
    connection = session.connection()

    def keep(_conn, _cursor, statement, parameters, _context, _many):
        sent.append((statement, parameters))

    event.listen(connection, "before_cursor_execute", keep)
    try:
        run(session)
    finally:
        event.remove(connection, "before_cursor_execute", keep)
    return [" ".join(row[-1] for row in connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters))
            for statement, parameters in sent if statement.lstrip().upper().startswith("SELECT")]


@pytest.mark.sqlite  # PostgreSQL plans with the path's value either way
def test_the_task_lists_filters_on_case_data_read_their_expression_indexes(db):
    """The year and the programme of a task. (A project's last progress date is left bound: "stalled" matches most
    projects, and SQLite, choosing without statistics, read it through the index three times slower than by kind.)"""
    with transaction(db) as s:
        by_year = _plans(s, lambda s: s.exec(task_query(Actor.system(), year=2026)).all())
        by_programme = _plans(s, lambda s: s.exec(task_query(Actor.system(), programme="industry_chain")).all())
        plan = _plans(s, lambda s: plan_case(s, 2026))
    assert any("ix_case_file_data_plan_year" in p for p in by_year), by_year
    assert any("ix_case_file_data_programme" in p for p in by_programme), by_programme
    assert any("ix_case_file_data_plan_year" in p for p in plan), plan


@pytest.mark.sqlite
def test_three_batches_finds_the_years_projects_through_the_stage_year_indexes(db):
    with transaction(db) as s:
        plans = _plans(s, lambda s: three_batches(s, Actor.system(), 2026))
    for index in ("ix_case_file_data_signed_year", "ix_case_file_data_started_year",
                  "ix_case_file_data_producing_year"):
        assert any(index in p for p in plans), plans


def test_a_key_written_into_the_sql_finds_what_the_bound_key_finds(db, make):
    cases = [make.case("designation") for _ in range(2)]
    table = Case.__table__
    with transaction(db) as s:
        for case, value in zip(cases, ("2026-03-01", "2025-12-31"), strict=True):
            s.connection().execute(sa.update(table).where(table.c.id == case.id).values(
                data={**case.data, "last_activity_date": value}))
    with transaction(db) as s:
        def found(field):
            return s.exec(select(Case.id).where(field.as_string() < "2026-01-01", col(Case.id).in_(
                [c.id for c in cases]))).all()

        assert found(json_key(col(Case.data), "last_activity_date")) == found(col(Case.data)["last_activity_date"]) \
            == [cases[1].id]
