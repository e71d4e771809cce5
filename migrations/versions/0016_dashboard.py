"""dashboard: the statistics rows' items in a table of their own (town_statistics_item, filled from the rows
already accepted), and indexes that let the dashboard's aggregates read indexes alone (cases of a kind by county
and state, accepted output by year and county, attachments by kind and time)

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-04 14:00:00.000000
"""
import json

import sqlalchemy as sa
from alembic import op



def statistics_item_rows(statistics_id, town_id, county_id, year, figures):
    """The items of one row's figures as workflow.core.models.statistics_item_rows wrote them at this revision."""
    rows = []
    for field, value in figures.items():
        if not isinstance(value, list):
            continue
        for item in value:
            if not isinstance(item, dict):
                continue
            name = str(item.get("name") or "")[:200]
            pairs = [(str(k)[:40], str(v)[:100]) for k, v in item.items() if k != "name"] or [("", "")]
            rows += [{"statistics_id": statistics_id, "town_id": town_id, "county_id": county_id, "year": year,
                      "field": field[:40], "name": name, "choice_key": k, "choice_value": v} for k, v in pairs]
    return rows


revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('town_statistics_item',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('statistics_id', sa.Integer(), nullable=False),
    sa.Column('town_id', sa.Integer(), nullable=False),
    sa.Column('county_id', sa.Integer(), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('field', sa.String(length=40), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('choice_key', sa.String(length=40), nullable=False),
    sa.Column('choice_value', sa.String(length=100), nullable=False),
    sa.ForeignKeyConstraint(['statistics_id'], ['town_statistics.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('town_statistics_item', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_town_statistics_item_statistics_id'), ['statistics_id'], unique=False)
        batch_op.create_index('ix_town_statistics_item_choice', ['field', 'choice_key', 'choice_value', 'year',
                                                                 'county_id', 'town_id', 'name'], unique=False)
    connection = op.get_bind()
    items = sa.table('town_statistics_item', *(sa.column(c) for c in (
        'statistics_id', 'town_id', 'county_id', 'year', 'field', 'name', 'choice_key', 'choice_value')))
    for row in connection.execute(sa.text('SELECT id, town_id, county_id, year, figures FROM town_statistics')):
        figures = row.figures if isinstance(row.figures, dict) else json.loads(row.figures or '{}')
        found = statistics_item_rows(row.id, row.town_id, row.county_id, row.year, figures)
        if found:
            connection.execute(items.insert(), found)
    with op.batch_alter_table('case_file', schema=None) as batch_op:
        batch_op.create_index('ix_case_file_kind_county_state', ['definition_key', 'county_id', 'state'],
                              unique=False)
    with op.batch_alter_table('town_statistics', schema=None) as batch_op:
        batch_op.create_index('ix_town_statistics_year_county', ['year', 'county_id', 'output_yi'], unique=False)
    with op.batch_alter_table('attachment', schema=None) as batch_op:
        batch_op.create_index('ix_attachment_kind_uploaded', ['kind', 'uploaded_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('town_statistics_item', schema=None) as batch_op:
        batch_op.drop_index('ix_town_statistics_item_choice')
        batch_op.drop_index(batch_op.f('ix_town_statistics_item_statistics_id'))
    op.drop_table('town_statistics_item')
    with op.batch_alter_table('attachment', schema=None) as batch_op:
        batch_op.drop_index('ix_attachment_kind_uploaded')
    with op.batch_alter_table('town_statistics', schema=None) as batch_op:
        batch_op.drop_index('ix_town_statistics_year_county')
    with op.batch_alter_table('case_file', schema=None) as batch_op:
        batch_op.drop_index('ix_case_file_kind_county_state')
