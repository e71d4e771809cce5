"""case tally: how many cases of a kind each county has in each state (`case_tally`), kept by triggers on
case_file in the writing transaction, whatever writes the cases (the engine, a bulk import, a migration); filled
from the cases already there. The dashboard reads the registry's levels, the designations and the rectification
orders from it instead of counting the cases. And an index for the cases of a kind that reached a state in a year,
of one county or of all.

Revision ID: 0026
Revises: 0025
Create Date: 2026-12-07 01:00:00.000000
"""
import sqlalchemy as sa
import sqlmodel  # noqa: F401 - the column types of generated migrations
from alembic import op

revision = '0026'
down_revision = '0025'
branch_labels = None
depends_on = None

# SQLite: one trigger per event; "ON CONFLICT" needs the WHERE true of an INSERT ... SELECT (the parser's rule)
_ADD = ("INSERT INTO case_tally (definition_key, county_id, state, n) SELECT {r}.definition_key, {r}.county_id, "
        "{r}.state, 1 WHERE true ON CONFLICT (definition_key, county_id, state) DO UPDATE SET n = n + 1;")
_REMOVE = ("UPDATE case_tally SET n = n - 1 WHERE definition_key = {r}.definition_key AND county_id = {r}.county_id "
           "AND state = {r}.state;")
SQLITE_TRIGGERS = {
    "case_tally_insert": f"AFTER INSERT ON case_file BEGIN {_ADD.format(r='NEW')} END",
    "case_tally_update": ("AFTER UPDATE OF definition_key, county_id, state ON case_file "
                          "WHEN NEW.definition_key IS NOT OLD.definition_key OR NEW.county_id IS NOT OLD.county_id "
                          f"OR NEW.state IS NOT OLD.state BEGIN {_REMOVE.format(r='OLD')} {_ADD.format(r='NEW')} END"),
    "case_tally_delete": f"AFTER DELETE ON case_file BEGIN {_REMOVE.format(r='OLD')} END",
}
POSTGRES_FUNCTION = """
CREATE FUNCTION case_tally_keep() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        UPDATE case_tally SET n = n - 1 WHERE definition_key = OLD.definition_key AND county_id = OLD.county_id
            AND state = OLD.state;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        INSERT INTO case_tally (definition_key, county_id, state, n)
            VALUES (NEW.definition_key, NEW.county_id, NEW.state, 1)
            ON CONFLICT (definition_key, county_id, state) DO UPDATE SET n = case_tally.n + 1;
    END IF;
    RETURN NULL;
END $$
"""
POSTGRES_TRIGGERS = (
    "CREATE TRIGGER case_tally_insert_delete AFTER INSERT OR DELETE ON case_file "
    "FOR EACH ROW EXECUTE FUNCTION case_tally_keep()",
    "CREATE TRIGGER case_tally_update AFTER UPDATE OF definition_key, county_id, state ON case_file FOR EACH ROW "
    "WHEN (NEW.definition_key IS DISTINCT FROM OLD.definition_key OR NEW.county_id IS DISTINCT FROM OLD.county_id "
    "OR NEW.state IS DISTINCT FROM OLD.state) EXECUTE FUNCTION case_tally_keep()",
)


def upgrade() -> None:
    op.create_table(
        "case_tally",
        sa.Column("definition_key", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("county_id", sa.Integer(), nullable=False),
        sa.Column("state", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("definition_key", "county_id", "state"),
    )
    op.create_index("ix_case_file_kind_state_county_closed", "case_file",
                    ["definition_key", "state", "county_id", "closed_at"])
    op.execute("INSERT INTO case_tally (definition_key, county_id, state, n) SELECT definition_key, county_id, state, "
               "count(*) FROM case_file GROUP BY definition_key, county_id, state")
    if op.get_bind().dialect.name == "sqlite":
        for name, body in SQLITE_TRIGGERS.items():
            op.execute(f"CREATE TRIGGER {name} {body}")
    else:
        op.execute(POSTGRES_FUNCTION)
        for statement in POSTGRES_TRIGGERS:
            op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for name in SQLITE_TRIGGERS:
            op.execute(f"DROP TRIGGER {name}")
    else:
        op.execute("DROP TRIGGER case_tally_update ON case_file")
        op.execute("DROP TRIGGER case_tally_insert_delete ON case_file")
        op.execute("DROP FUNCTION case_tally_keep()")
    op.drop_index("ix_case_file_kind_state_county_closed", table_name="case_file")
    op.drop_table("case_tally")
