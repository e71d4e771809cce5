"""incidents: failed automatic steps after their retries; a deadline's failed tries

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-04 01:58:31.263136
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('incident',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=True),
    sa.Column('deadline_id', sa.Integer(), nullable=True),
    sa.Column('job', sqlmodel.sql.sqltypes.AutoString(length=60), nullable=True),
    sa.Column('trigger', sqlmodel.sql.sqltypes.AutoString(length=60), nullable=True),
    sa.Column('error_zh', sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=False),
    sa.Column('error_en', sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=False),
    sa.Column('tries', sa.Integer(), nullable=False),
    sa.Column('first_failed_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('last_failed_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
    sa.Column('resolved_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('resolved_by_id', sa.Integer(), nullable=True),
    sa.Column('resolution', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=True),
    sa.Column('comment', sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=True),
    sa.ForeignKeyConstraint(['case_id'], ['case_file.id'], ),
    sa.ForeignKeyConstraint(['deadline_id'], ['deadline.id'], ),
    sa.ForeignKeyConstraint(['resolved_by_id'], ['app_user.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('incident', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_incident_case_id'), ['case_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_incident_deadline_id'), ['deadline_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_incident_status'), ['status'], unique=False)

    with op.batch_alter_table('deadline', schema=None) as batch_op:
        batch_op.add_column(sa.Column('attempts', sa.Integer(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('first_failed_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column('next_try_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True))



def downgrade() -> None:
    with op.batch_alter_table('deadline', schema=None) as batch_op:
        batch_op.drop_column('next_try_at')
        batch_op.drop_column('first_failed_at')
        batch_op.drop_column('attempts')

    with op.batch_alter_table('incident', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_incident_status'))
        batch_op.drop_index(batch_op.f('ix_incident_deadline_id'))
        batch_op.drop_index(batch_op.f('ix_incident_case_id'))

    op.drop_table('incident')
