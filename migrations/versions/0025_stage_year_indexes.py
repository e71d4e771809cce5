"""stage year indexes: expression indexes on the year of a project's stage dates (signed, started, in production),
each after the kind of case, for 三个一批 (workflow/projects/batches.py), which the dashboard shows: a year's
projects are found through them instead of reading the dates of every project. The expressions are written exactly
as SQLAlchemy compiles `substr(json_key(Case.data, key).as_string(), 1, 4)` for each database (see 0018).

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-06 22:00:00.000000
"""
from alembic import op

revision = '0025'
down_revision = '0024'
branch_labels = None
depends_on = None

# index name -> the data key of the stage date
STAGE_INDEXES = {
    "ix_case_file_data_signed_year": "signed_date",
    "ix_case_file_data_started_year": "started_date",
    "ix_case_file_data_producing_year": "producing_date",
}


def _expression(dialect: str, key: str) -> str:
    if dialect == "sqlite":
        return f"substr(CAST(JSON_EXTRACT(data, '$.\"{key}\"') AS VARCHAR), 1, 4)"
    return f"substr(CAST((data ->> '{key}') AS VARCHAR), 1, 4)"


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    for name, key in STAGE_INDEXES.items():
        op.execute(f"CREATE INDEX {name} ON case_file (definition_key, {_expression(dialect, key)})")


def downgrade() -> None:
    for name in STAGE_INDEXES:
        op.execute(f"DROP INDEX {name}")
