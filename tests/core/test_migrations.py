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
from workflow.core.db import MIGRATIONS_DIR, is_sqlite, transaction


def test_migrated_schema_matches_the_models(engine):
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
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
