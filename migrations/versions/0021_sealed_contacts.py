"""sealed_contacts: room for mobile numbers and e-mail addresses encrypted at rest (workflow.core.datakeys)

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-05 01:20:00.000000

PostgreSQL widens the columns. SQLite enforces no VARCHAR length (a sealed value fits as it is), and widening them
there would mean building app_user anew, which the rows of other tables name; its declared lengths are left as they
were (workflow.core.db.compare_type does not count a text length on SQLite).
"""
import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = '0021'
down_revision = '0020'
branch_labels = None
depends_on = None

# (table, column, length before, length now): a sealed value is the ciphertext in base64 with its key's name
COLUMNS = (("app_user", "email", 200, 400), ("app_user", "mobile", 20, 120), ("outbox_message", "address", 200, 400))


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        return
    for table, column, before, now in COLUMNS:
        op.alter_column(table, column, existing_type=sqlmodel.sql.sqltypes.AutoString(length=before),
                        type_=sa.String(length=now), existing_nullable=True)


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        return
    for table, column, before, now in COLUMNS:
        op.alter_column(table, column, existing_type=sa.String(length=now),
                        type_=sqlmodel.sql.sqltypes.AutoString(length=before), existing_nullable=True)
