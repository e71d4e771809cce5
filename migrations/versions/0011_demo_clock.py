"""demo clock: the offset of the training system's time from the real time

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-05 09:00:00.000000
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('demo_clock',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('offset_us', sa.BigInteger(), nullable=False),
    sa.Column('updated_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )


def downgrade() -> None:
    op.drop_table('demo_clock')
