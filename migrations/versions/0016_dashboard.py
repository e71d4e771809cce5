"""dashboard: indexes that let the dashboard's aggregates read indexes alone (cases of a kind by county and state,
accepted output by year and county, attachments by kind and time)

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-04 14:00:00.000000
"""
from alembic import op


revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('case_file', schema=None) as batch_op:
        batch_op.create_index('ix_case_file_kind_county_state', ['definition_key', 'county_id', 'state'],
                              unique=False)
    with op.batch_alter_table('town_statistics', schema=None) as batch_op:
        batch_op.create_index('ix_town_statistics_year_county', ['year', 'county_id', 'output_yi'], unique=False)
    with op.batch_alter_table('attachment', schema=None) as batch_op:
        batch_op.create_index('ix_attachment_kind_uploaded', ['kind', 'uploaded_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('attachment', schema=None) as batch_op:
        batch_op.drop_index('ix_attachment_kind_uploaded')
    with op.batch_alter_table('town_statistics', schema=None) as batch_op:
        batch_op.drop_index('ix_town_statistics_year_county')
    with op.batch_alter_table('case_file', schema=None) as batch_op:
        batch_op.drop_index('ix_case_file_kind_county_state')
