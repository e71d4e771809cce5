"""audit_algorithm: the hash the chain is written with (sha256, or SM3 where the deployment asks for it)

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-05 01:00:00.000000
"""
import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = '0020'
down_revision = '0019'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('audit_head') as batch_op:
        batch_op.add_column(sa.Column('algorithm', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False,
                                      server_default='sha256'))


def downgrade() -> None:
    # Below 0020 every event is read as SHA-256: a chain that switched would no longer verify.
    switched = op.get_bind().execute(sa.text("SELECT algorithm FROM audit_head WHERE algorithm <> 'sha256'")).first()
    if switched is not None:
        raise RuntimeError(f"the audit chain is written with {switched[0]}: 0020 cannot be taken back")
    with op.batch_alter_table('audit_head') as batch_op:
        batch_op.drop_column('algorithm')
