"""The migrations build exactly the schema the models declare, on whichever database the suite runs on."""

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from sqlmodel import SQLModel

import workflow.core.models  # noqa: F401  (the tables)
from workflow.core import audit
from workflow.core.db import MIGRATIONS_DIR, compare_type, is_sqlite, transaction
from workflow.core.search import outside_models


# SQLite's reflection cannot read the expression indexes of 0018 (outside the models, like the search indexes)
@pytest.mark.filterwarnings("ignore:Skipped unsupported reflection of expression-based index:sqlalchemy.exc.SAWarning")
def test_migrated_schema_matches_the_models(engine):
    with engine.connect() as conn:
        # the search index objects the models do not declare (the FTS5 table and its shadow tables, the trigram
        # index) are left aside, as autogenerate leaves them (migrations/env.py)
        context = MigrationContext.configure(conn, opts={"compare_type": compare_type, "include_name": outside_models})
        differences = compare_metadata(context, SQLModel.metadata)
    assert differences == []


def _audit_triggers(conn) -> set[str]:
    """The names of the triggers on audit_event."""
    sql = ("SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'audit_event'" if is_sqlite(conn)
           else "SELECT tgname FROM pg_trigger WHERE tgrelid = 'audit_event'::regclass AND NOT tgisinternal")
    return set(conn.exec_driver_sql(sql).scalars())


def _migrate(engine, command_name: str, revision: str) -> None:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        getattr(command, command_name)(config, revision)


def _refused(engine, statement: str) -> None:
    with pytest.raises(sa.exc.DBAPIError, match="append-only"), engine.begin() as conn:
        conn.exec_driver_sql(statement)


def test_0009_rolls_back_to_the_guards_of_0001_and_forward_again(engine, db, now):
    """An operator taking 0009 back gets the trail of 0008 (still refusing UPDATE and DELETE), and upgrading
    again puts REPLACE (SQLite) and TRUNCATE (PostgreSQL) behind the guard once more."""
    with transaction(db) as s:
        audit.record(s, kind="login_ok", now=now)
    with engine.connect() as conn:
        sqlite = is_sqlite(conn)
    try:
        _migrate(engine, "downgrade", "0008")
        with engine.connect() as conn:
            assert _audit_triggers(conn) == (
                {"audit_event_no_update", "audit_event_no_delete"} if sqlite else {"audit_event_append_only"})
        _refused(engine, "DELETE FROM audit_event")
    finally:
        _migrate(engine, "upgrade", "head")
    with engine.connect() as conn:
        assert _audit_triggers(conn) == (
            {"audit_event_no_update", "audit_event_no_delete", "audit_event_no_replace"} if sqlite
            else {"audit_event_append_only", "audit_event_no_truncate"})
    _refused(engine, "REPLACE INTO audit_event SELECT * FROM audit_event" if sqlite else "TRUNCATE audit_event")
    with transaction(db) as s:
        assert audit.record(s, kind="logout", now=now)["seq"] == 2
    with transaction(db) as s:
        assert audit.verify(s).ok


def test_deadlines_open_before_0010_are_counted_again_when_their_year_is_entered(engine, db):
    """An estimate written before deadlines kept what they were counted from still moves when 2027 is entered;
    a date the office gave does not."""
    from datetime import UTC, date, datetime

    import sqlalchemy as sa

    from workflow.core.actors import Actor
    from workflow.core.calendar import local_moment
    from workflow.core.calendar_admin import enter_year
    from workflow.core.catalog import CATALOG
    from workflow.core.db import table_of, transaction
    from workflow.core.definitions import DEFINITIONS_DIR
    from workflow.core.models import Case, Deadline, DefinitionSource, Unit

    _migrate(engine, "downgrade", "0008")
    issued, acknowledged = datetime(2026, 11, 27, 2, tzinfo=UTC), datetime(2026, 11, 30, 2, tzinfo=UTC)
    returned = datetime(2026, 12, 24, 2, tzinfo=UTC)
    deadlines = table_of(Deadline)

    def rows(case_id, state, due, at, status="open"):
        base = {"case_id": case_id, "state": state, "name": {1: "rectify", 2: "rectify", 3: "resubmit"}[case_id],
                "due_date": due, "is_estimated": True, "status": status, "created_at": at, "attempts": 0}
        return [{**base, "kind": "expiry", "offset_days": None, "due_at": local_moment(date.fromisoformat(due))},
                {**base, "kind": "reminder", "offset_days": 0, "due_at": local_moment(date.fromisoformat(due))}]

    with engine.begin() as conn:
        for key in ("rectification", "designation"):
            conn.execute(sa.insert(table_of(DefinitionSource)).values(
                key=key, version=CATALOG.current(key).version, sha256="0" * 64, loaded_at=issued,
                source=(DEFINITIONS_DIR / f"{key}.yaml").read_text(encoding="utf-8")))
        county = conn.execute(sa.insert(table_of(Unit)).values(name="盂县", kind="county", created_at=issued)
                              .returning(table_of(Unit).c.id)).scalar_one()
        for number, key, state in ((1, "rectification", "rectifying"), (2, "rectification", "issued"),
                                   (3, "designation", "returned")):
            conn.execute(sa.insert(table_of(Case)).values(
                id=number, number=f"C-{number}", definition_key=key, definition_version=CATALOG.current(key).version,
                state=state, county_id=county, title="案件", data={}, created_at=issued, updated_at=issued))
        conn.execute(sa.insert(deadlines), [
            *rows(1, "issued", "2027-01-08", issued, "closed"),  # counted on issue: 30 working days, weekends only
            *rows(1, "rectifying", "2027-01-08", acknowledged),  # read again from the order's due_date
            *rows(2, "issued", "2027-01-04", issued),  # a date the office gave
            *rows(3, "returned", "2027-01-07", returned)])  # 10 working days from Thursday 24 December
    _migrate(engine, "upgrade", "head")

    with transaction(db) as s:
        enter_year(s, year=2027, text="2027-01-01 休\n", actor=Actor.system(), now=datetime(2026, 12, 28, tzinfo=UTC))
    with engine.connect() as conn:
        found = conn.execute(sa.select(deadlines.c.case_id, deadlines.c.counted_from, deadlines.c.working_days,
                                       deadlines.c.due_date)
                             .where(deadlines.c.status == "open", deadlines.c.kind == "expiry")
                             .order_by(deadlines.c.case_id)).all()
    assert [tuple(r) for r in found] == [(1, "2026-11-27", 30, "2027-01-11"), (2, None, None, "2027-01-04"),
                                         (3, "2026-12-24", 10, "2027-01-08")]
