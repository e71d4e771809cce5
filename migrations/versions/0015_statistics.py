"""annual town statistics: the accepted figures per town and year, the town's latest output

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-04 13:00:00.000000
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel
from sqlalchemy.dialects import postgresql


revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('town_statistics',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('town_id', sa.Integer(), nullable=False),
    sa.Column('county_id', sa.Integer(), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('output_yi', sa.Float(), nullable=True),
    sa.Column('figures', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('spec_version', sa.Integer(), nullable=False),
    sa.Column('report_case_id', sa.Integer(), nullable=False),
    sa.Column('accepted_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['county_id'], ['unit.id'], ),
    sa.ForeignKeyConstraint(['report_case_id'], ['case_file.id'], ),
    sa.ForeignKeyConstraint(['town_id'], ['town.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('town_id', 'year', name='uq_town_statistics_year')
    )
    with op.batch_alter_table('town_statistics', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_town_statistics_county_id'), ['county_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_town_statistics_town_id'), ['town_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_town_statistics_year'), ['year'], unique=False)
    # plain ALTER TABLE … ADD COLUMN on both databases: a batch copy of `town` would drop a table other rows
    # point at
    op.add_column('town', sa.Column('output_yi', sa.Float(), nullable=True))
    op.add_column('town', sa.Column('output_year', sa.Integer(), nullable=True))


def downgrade() -> None:
    # ALTER TABLE … DROP COLUMN (SQLite 3.35 and later, PostgreSQL): no batch copy of a table rows point at
    op.execute("ALTER TABLE town DROP COLUMN output_year")
    op.execute("ALTER TABLE town DROP COLUMN output_yi")
    with op.batch_alter_table('town_statistics', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_town_statistics_year'))
        batch_op.drop_index(batch_op.f('ix_town_statistics_town_id'))
        batch_op.drop_index(batch_op.f('ix_town_statistics_county_id'))
    op.drop_table('town_statistics')
