"""roster: the leading group's seats by position (seat), and the seat a login session acts in

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-04 18:40:00.000000
"""
import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = '0019'
down_revision = '0018'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('seat',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('position', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('title', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=True),
    sa.Column('role', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('acting_unit_id', sa.Integer(), nullable=False),
    sa.Column('holder_id', sa.Integer(), nullable=True),
    sa.Column('held_since', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('sort', sa.Integer(), nullable=False),
    sa.Column('is_active', sa.Boolean(), nullable=False),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['unit_id'], ['unit.id'], ),
    sa.ForeignKeyConstraint(['acting_unit_id'], ['unit.id'], ),
    sa.ForeignKeyConstraint(['holder_id'], ['app_user.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('seat', schema=None) as batch_op:
        batch_op.create_index('ix_seat_holder_id', ['holder_id'], unique=False)
        batch_op.create_index('ix_seat_role_unit', ['role', 'acting_unit_id', 'holder_id'], unique=False)
    with op.batch_alter_table('login_session', schema=None) as batch_op:
        batch_op.add_column(sa.Column('acting_seat_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key('fk_login_session_acting_seat', 'seat', ['acting_seat_id'], ['id'])


def downgrade() -> None:
    with op.batch_alter_table('login_session', schema=None) as batch_op:
        batch_op.drop_constraint('fk_login_session_acting_seat', type_='foreignkey')
        batch_op.drop_column('acting_seat_id')
    with op.batch_alter_table('seat', schema=None) as batch_op:
        batch_op.drop_index('ix_seat_role_unit')
        batch_op.drop_index('ix_seat_holder_id')
    op.drop_table('seat')
