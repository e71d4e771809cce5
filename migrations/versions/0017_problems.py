"""problems: the problem ledger's filter columns (problem_entry: a problem's category and the unit responsible now,
by index), filled from the problems already logged; an index of the cases of a kind in id order with the list
filters' columns (state, county, town), from which a ledger is filtered and counted without reading the rows

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-04 16:00:00.000000
"""
import json

import sqlalchemy as sa
from alembic import op

revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('problem_entry',
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('category', sa.String(length=20), nullable=False),
    sa.Column('responsible_unit_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['case_id'], ['case_file.id'], ),
    sa.ForeignKeyConstraint(['responsible_unit_id'], ['unit.id'], ),
    sa.PrimaryKeyConstraint('case_id')
    )
    with op.batch_alter_table('problem_entry', schema=None) as batch_op:
        batch_op.create_index('ix_problem_entry_category', ['category', 'case_id'], unique=False)
        batch_op.create_index('ix_problem_entry_unit', ['responsible_unit_id', 'case_id'], unique=False)
    with op.batch_alter_table('case_file', schema=None) as batch_op:
        batch_op.create_index('ix_case_file_kind_id', ['definition_key', 'id', 'state', 'county_id', 'town_id'],
                              unique=False)
    connection = op.get_bind()
    entries = sa.table('problem_entry', sa.column('case_id'), sa.column('category'), sa.column('responsible_unit_id'))
    rows = []
    for row in connection.execute(sa.text("SELECT id, data FROM case_file WHERE definition_key = 'problem'")):
        data = row.data if isinstance(row.data, dict) else json.loads(row.data or '{}')
        rows.append({"case_id": row.id, "category": str(data.get("category") or "")[:20],
                     "responsible_unit_id": data.get("responsible_unit_id")})
    if rows:
        connection.execute(entries.insert(), rows)


def downgrade() -> None:
    with op.batch_alter_table('case_file', schema=None) as batch_op:
        batch_op.drop_index('ix_case_file_kind_id')
    with op.batch_alter_table('problem_entry', schema=None) as batch_op:
        batch_op.drop_index('ix_problem_entry_unit')
        batch_op.drop_index('ix_problem_entry_category')
    op.drop_table('problem_entry')
