"""audit search indexes: each filter column followed by seq, for keyset pages newest first

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-27 14:30:00.000000
"""
from alembic import op


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None

COLUMNS = ("kind", "actor_id", "unit_id", "role", "county_id", "case_id", "occurred_at")


def upgrade() -> None:
    for name in COLUMNS:
        op.create_index(f"ix_audit_event_{name}_seq", "audit_event", [name, "seq"], unique=False)


def downgrade() -> None:
    for name in reversed(COLUMNS):
        op.drop_index(f"ix_audit_event_{name}_seq", table_name="audit_event")
