"""client_certificate: the subject of an account's client certificate (UKey), matched at login when asked

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-05 02:15:00.000000
"""
import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = '0024'
down_revision = '0023'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('app_user', sa.Column('cert_subject', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True))


def downgrade() -> None:
    # ALTER TABLE … DROP COLUMN on both (SQLite 3.35+): building app_user anew would fail on the rows that name it
    op.execute("ALTER TABLE app_user DROP COLUMN cert_subject")
