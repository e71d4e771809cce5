"""ledger filters: expression indexes on the case data the ledgers filter by (an action-plan task's year and
programme, a key project's last progress), each after the kind of case, so that a filter over 100,000 cases of a
kind reads the index, not every row's JSON. The expressions are written exactly as SQLAlchemy compiles
`Case.data[key].as_integer()` / `.as_string()` for each database, or the planner would not match them; the models
do not declare them (workflow.core.search.outside_models leaves them aside, as for the search indexes).

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-04 16:40:00.000000
"""
from alembic import op

revision = '0018'
down_revision = '0017'
branch_labels = None
depends_on = None

# index name -> (data key, SQL type it is read as)
DATA_INDEXES = {
    "ix_case_file_data_plan_year": ("plan_year", "INTEGER"),
    "ix_case_file_data_programme": ("programme", "VARCHAR"),
    "ix_case_file_data_last_activity": ("last_activity_date", "VARCHAR"),
}


def _expression(dialect: str, key: str, type_: str) -> str:
    if dialect == "sqlite":
        return f"CAST(JSON_EXTRACT(data, '$.\"{key}\"') AS {type_})"
    return f"(CAST((data ->> '{key}') AS {type_}))"


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    for name, (key, type_) in DATA_INDEXES.items():
        op.execute(f"CREATE INDEX {name} ON case_file (definition_key, {_expression(dialect, key, type_)})")


def downgrade() -> None:
    for name in DATA_INDEXES:
        op.execute(f"DROP INDEX {name}")
