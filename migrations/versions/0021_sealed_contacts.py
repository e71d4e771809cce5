"""sealed_contacts: room for mobile numbers and e-mail addresses encrypted at rest (workflow.core.datakeys)

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-05 01:20:00.000000
"""
import warnings
from contextlib import contextmanager

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = '0021'
down_revision = '0020'
branch_labels = None
depends_on = None

# (table, column, length before, length now): a sealed value is the ciphertext in base64 with its key's name
COLUMNS = (("app_user", "email", 200, 400), ("app_user", "mobile", 20, 120), ("outbox_message", "address", 200, 400))


@contextmanager
def _quietly():
    """SQLite rebuilds a table to change a column, reflecting the tables it refers to: case_file's expression
    index of 0018 cannot be reflected there and is left alone (it is on case_file, which is not rebuilt)."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "Skipped unsupported reflection of expression-based index", sa.exc.SAWarning)
        yield


def upgrade() -> None:
    for table, column, before, now in COLUMNS:
        with _quietly(), op.batch_alter_table(table) as batch_op:
            batch_op.alter_column(column, existing_type=sqlmodel.sql.sqltypes.AutoString(length=before),
                                  type_=sa.String(length=now), existing_nullable=True)


def downgrade() -> None:
    for table, column, before, now in COLUMNS:
        with _quietly(), op.batch_alter_table(table) as batch_op:
            batch_op.alter_column(column, existing_type=sa.String(length=now),
                                  type_=sqlmodel.sql.sqltypes.AutoString(length=before), existing_nullable=True)
