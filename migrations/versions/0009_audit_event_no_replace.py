"""audit_event: refuse REPLACE (SQLite) and TRUNCATE (PostgreSQL) as UPDATE and DELETE are refused

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-05 09:12:40.118342

SQLite's REPLACE (and INSERT OR REPLACE) removes the row whose id or seq the new row takes without firing the
delete triggers of 0001, so an event could be rewritten in place. A BEFORE INSERT trigger refuses a row whose
id or seq is already in the table, which is the only way such a statement can touch an existing event; it
refuses an upsert's insert the same way. On PostgreSQL, INSERT ... ON CONFLICT DO UPDATE and MERGE already fire
the row trigger of 0001; TRUNCATE fires only statement triggers, so it gets one.
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        # NEW.id reads -1 before SQLite has chosen the id of a row inserted without one (every row the
        # application writes): that value is never compared, so a row planted with id -1 cannot stop appending.
        op.execute(
            "CREATE TRIGGER audit_event_no_replace BEFORE INSERT ON audit_event "
            "WHEN EXISTS (SELECT 1 FROM audit_event WHERE seq = NEW.seq) "
            "OR (NEW.id <> -1 AND EXISTS (SELECT 1 FROM audit_event WHERE id = NEW.id)) "
            "BEGIN SELECT RAISE(ABORT, 'audit_event is append-only'); END"
        )
    else:
        op.execute(
            "CREATE TRIGGER audit_event_no_truncate BEFORE TRUNCATE ON audit_event "
            "FOR EACH STATEMENT EXECUTE FUNCTION audit_event_append_only()"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS audit_event_no_replace")
    else:
        op.execute("DROP TRIGGER IF EXISTS audit_event_no_truncate ON audit_event")
