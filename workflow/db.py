"""Database engines and sessions: SQLite (WAL, synchronous=FULL, BEGIN IMMEDIATE) or PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import sessionmaker
from sqlmodel import Session


def is_sqlite(bind: Engine | sa.Connection | Session) -> bool:
    """True when the bind talks to SQLite."""
    if isinstance(bind, Session):
        bind = bind.get_bind()
    return bind.dialect.name == "sqlite"


def make_engine(url: str, *, echo: bool = False) -> Engine:
    """An engine for `url`; SQLite gets WAL, full fsync, foreign keys and write-locking transactions."""
    if url.startswith("sqlite"):
        engine = sa.create_engine(url, echo=echo, connect_args={"check_same_thread": False, "timeout": 30})

        @event.listens_for(engine, "connect")
        def _on_connect(dbapi_connection, _record):  # type: ignore[no-untyped-def]
            # pysqlite's own BEGIN is deferred; we issue BEGIN IMMEDIATE ourselves so that a
            # read-then-write transaction never fails with SQLITE_BUSY halfway through.
            dbapi_connection.isolation_level = None
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=FULL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.close()

        @event.listens_for(engine, "begin")
        def _on_begin(conn):  # type: ignore[no-untyped-def]
            conn.connection.dbapi_connection.execute("BEGIN IMMEDIATE")  # straight to the driver: every fire begins here

        return engine
    return sa.create_engine(url, echo=echo, pool_pre_ping=True, pool_size=10, max_overflow=20)


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions that do not reload every row after a commit (batched work ran 3x slower with it)."""
    return sessionmaker(bind=engine, class_=Session, expire_on_commit=False, autoflush=False)


@contextmanager
def transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One unit of work: commit at the end, roll back on any exception."""
    session = factory()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


# One parameter of a compiled statement: its name in the SQL, the key of the caller's value (None: the
# value the statement holds itself), that value, and the bind processor SQLAlchemy would apply.
_Slot = tuple[str, str | None, Any, Callable[[Any], Any] | None]


class Prepared:
    """A write compiled once per dialect and set of columns, run on the connection's DBAPI cursor.

    For the statements inside every transition (the case's versioned UPDATE, the audit event, deadline
    and notification rows): SQLAlchemy's general execution path (cache lookup, execution context,
    events, result set-up) costs several times what the database itself needs for a one-row write.
    This runs the SQL text SQLAlchemy compiled, with the parameters passed through the same bind
    processors (the same stored text for a datetime or a JSON value), on the same connection and so in
    the same transaction. Only for statements whose every value is given: a column that would take a
    Python-side default is refused when the statement is compiled.
    """

    def __init__(self, statement: sa.Insert | sa.Update):
        self.statement = statement
        self._compiled: dict[tuple[str, tuple[str, ...]], tuple[str, bool, list[_Slot]]] = {}

    def _compile(self, dialect: sa.Dialect, keys: tuple[str, ...]) -> tuple[str, bool, list[_Slot]]:
        compiled = self.statement.compile(dialect=dialect, column_keys=list(keys))
        if compiled.insert_prefetch or compiled.update_prefetch:  # type: ignore[attr-defined]
            raise ValueError(f"{self.statement}: every column must be given (no Python-side defaults)")
        slots: dict[str, _Slot] = {}
        for bind, name in compiled.bind_names.items():
            given = bind.key in keys
            if not given and bind.required:
                raise ValueError(f"{self.statement}: no value for {bind.key}")
            processor = bind.type.dialect_impl(dialect).bind_processor(dialect)
            slots[name] = (name, bind.key if given else None, bind.effective_value, processor)
        order = (compiled.positiontup or []) if dialect.positional else list(slots)
        return compiled.string, bool(dialect.positional), [slots[name] for name in order]

    def _arguments(self, conn: sa.Connection, params: Mapping[str, Any]) -> tuple[str, Any]:
        key = (f"{conn.dialect.name}+{conn.dialect.driver}", tuple(params))
        found = self._compiled.get(key)
        if found is None:
            found = self._compiled[key] = self._compile(conn.dialect, key[1])
        sql, positional, slots = found
        values = [params[source] if source is not None else fixed for _, source, fixed, _ in slots]
        values = [value if processor is None else processor(value)
                  for value, (_, _, _, processor) in zip(values, slots, strict=True)]
        return sql, tuple(values) if positional else {slot[0]: value for slot, value in zip(slots, values, strict=True)}

    def execute(self, conn: sa.Connection, params: Mapping[str, Any]) -> int:
        """Run with one set of parameters; the number of rows written."""
        sql, arguments = self._arguments(conn, params)
        cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
        try:
            cursor.execute(sql, arguments)
            return int(cursor.rowcount)
        finally:
            cursor.close()

    def execute_many(self, conn: sa.Connection, rows: Sequence[Mapping[str, Any]]) -> int:
        """Run once per row (every row with the same keys); the number of rows written, or -1 if unknown."""
        if not rows:
            return 0
        calls = [self._arguments(conn, row) for row in rows]
        cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
        try:
            cursor.executemany(calls[0][0], [arguments for _, arguments in calls])
            return int(cursor.rowcount)
        finally:
            cursor.close()


MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"


def migrate(engine: Engine, revision: str = "head") -> None:
    """Create or upgrade the schema with Alembic."""
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)
