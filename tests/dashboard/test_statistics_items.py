"""town_statistics_item: the items of the statistics rows' lists, kept in step with the rows (written, rewritten,
deleted with them) and filled from the rows already accepted when migration 0016 runs. The dashboard counts
brands and standards from it."""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from sqlmodel import select

from workflow.core.db import MIGRATIONS_DIR, transaction
from workflow.core.models import Case, TownStatistics, TownStatisticsItem

NOW = datetime(2026, 11, 27, 2, 0, tzinfo=UTC)
FIGURES = {"output_yi": 12.5, "brands": [{"name": "西烟石材", "level": "national"}],
           "standards": [{"name": "石材加工规范", "kind": "industry", "role": "lead"}]}


def items(db):
    with transaction(db) as s:
        return sorted((i.field, i.name, i.choice_key, i.choice_value, i.year)
                      for i in s.exec(select(TownStatisticsItem)).all())


def stored_row(db, make, figures):
    town = make.town("西烟镇", county="盂县")
    with transaction(db) as s:
        record = s.exec(select(Case.id).where(Case.town_id == town.id)).first()
        row = TownStatistics(town_id=town.id, county_id=town.county_id, year=2025, output_yi=12.5, figures=figures,
                             spec_version=1, report_case_id=record, accepted_at=NOW)
        s.add(row)
        s.flush()
        return row.id


def test_the_items_follow_the_row(db, make):
    row_id = stored_row(db, make, FIGURES)
    assert items(db) == [("brands", "西烟石材", "level", "national", 2025),
                         ("standards", "石材加工规范", "kind", "industry", 2025),
                         ("standards", "石材加工规范", "role", "lead", 2025)]
    with transaction(db) as s:  # a report accepted again replaces the row's figures
        row = s.get(TownStatistics, row_id)
        row.figures = {**FIGURES, "brands": [{"name": "西烟石雕", "level": "provincial"}], "standards": []}
        s.add(row)
    assert items(db) == [("brands", "西烟石雕", "level", "provincial", 2025)]
    with transaction(db) as s:
        s.delete(s.get(TownStatistics, row_id))
    assert items(db) == []


def test_migration_0016_fills_the_items_of_rows_accepted_before_it(engine, db, make):
    stored_row(db, make, FIGURES)
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))

    def migrate(name, revision):
        with engine.begin() as conn:
            config.attributes["connection"] = conn
            getattr(command, name)(config, revision)

    try:
        migrate("downgrade", "0015")
        with engine.connect() as conn:
            assert "town_statistics_item" not in sa.inspect(conn).get_table_names()
    finally:
        migrate("upgrade", "head")
    assert [i[:4] for i in items(db)] == [("brands", "西烟石材", "level", "national"),
                                          ("standards", "石材加工规范", "kind", "industry"),
                                          ("standards", "石材加工规范", "role", "lead")]
