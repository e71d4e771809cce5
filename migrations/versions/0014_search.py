"""search: each case's search text, indexed by character trigrams (SQLite FTS5, PostgreSQL pg_trgm)

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-08 10:00:00.000000

The FTS5 table (SQLite) and the trigram index (PostgreSQL) are not in the models: workflow.core.search names them
(`outside_models`, which the migrations' check and autogenerate leave aside). The text of the cases already there is
written here, by the same code that keeps it current.
"""
from alembic import op
import sqlalchemy as sa


revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None

SQLITE_FTS = (
    # external content: the text is stored once, in case_search; the triggers keep the index in step with it
    "CREATE VIRTUAL TABLE case_search_fts USING fts5(body, content='case_search', content_rowid='case_id', "
    "tokenize='trigram')",
    "CREATE TRIGGER case_search_ai AFTER INSERT ON case_search BEGIN "
    "INSERT INTO case_search_fts(rowid, body) VALUES (new.case_id, new.body); END",
    "CREATE TRIGGER case_search_ad AFTER DELETE ON case_search BEGIN "
    "INSERT INTO case_search_fts(case_search_fts, rowid, body) VALUES ('delete', old.case_id, old.body); END",
    "CREATE TRIGGER case_search_au AFTER UPDATE ON case_search BEGIN "
    "INSERT INTO case_search_fts(case_search_fts, rowid, body) VALUES ('delete', old.case_id, old.body); "
    "INSERT INTO case_search_fts(rowid, body) VALUES (new.case_id, new.body); END",
    # single characters, for terms of one or two characters (written by workflow.core.search.index_case)
    "CREATE VIRTUAL TABLE case_search_fts_chars USING fts5(body, content='', "
    "tokenize='unicode61 remove_diacritics 0')",
)


def upgrade() -> None:
    op.create_table('case_search',
    sa.Column('case_id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['case_file.id'], ),
    sa.PrimaryKeyConstraint('case_id')
    )
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        for statement in SQLITE_FTS:
            op.execute(statement)
    else:
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        op.execute("CREATE INDEX ix_case_search_body_trgm ON case_search USING gin (body gin_trgm_ops)")
        # the characters of each text, for terms of one or two characters (no trigram to look up)
        op.execute("CREATE INDEX ix_case_search_body_chars ON case_search USING gin (regexp_split_to_array(body, ''))")
    _fill(bind)


def _fill(bind) -> None:
    """The search text of every case already there (the processes register what they contribute)."""
    if bind.execute(sa.text("SELECT count(*) FROM case_file")).scalar() == 0:
        return
    from sqlmodel import Session

    from workflow import processes
    from workflow.core import search

    processes.load()
    with Session(bind=bind) as session:
        search.rebuild(session)
        session.flush()


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        for name in ("case_search_au", "case_search_ad", "case_search_ai"):
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
        op.execute("DROP TABLE IF EXISTS case_search_fts")
        op.execute("DROP TABLE IF EXISTS case_search_fts_chars")
    else:
        op.execute("DROP INDEX IF EXISTS ix_case_search_body_trgm")
        op.execute("DROP INDEX IF EXISTS ix_case_search_body_chars")
    op.drop_table('case_search')
