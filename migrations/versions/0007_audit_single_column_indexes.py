"""audit_event: drop the single-column indexes that the (column, seq) indexes of 0005 make redundant

Every event written updated both; the search uses only the pairs.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-27 15:40:00.000000
"""
from alembic import op


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None

COLUMNS = ("actor_id", "case_id", "kind", "occurred_at")


def upgrade() -> None:
    for name in COLUMNS:
        op.drop_index(f"ix_audit_event_{name}", table_name="audit_event")


def downgrade() -> None:
    for name in COLUMNS:
        op.create_index(f"ix_audit_event_{name}", "audit_event", [name], unique=False)
