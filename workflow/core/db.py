"""Database engines and sessions: SQLite (WAL, synchronous=FULL, BEGIN IMMEDIATE unless reading) or PostgreSQL."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import closing, contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import make_transient_to_detached, sessionmaker
from sqlalchemy.orm.attributes import instance_dict
from sqlmodel import Session

from workflow.core.errors import WorkflowError


def is_sqlite(bind: Engine | sa.Connection | Session) -> bool:
    """True when the bind talks to SQLite."""
    if isinstance(bind, Session):
        bind = bind.get_bind()
    return bind.dialect.name == "sqlite"


_READING: ContextVar[bool] = ContextVar("zyz_reading", default=False)
_QUERY_ONLY = "zyz_query_only"  # in a SQLite connection's info: whether PRAGMA query_only is on


@contextmanager
def reading() -> Iterator[None]:
    """SQLite transactions begun inside only read: a plain (deferred) BEGIN under PRAGMA query_only, so that they
    neither take nor wait for the write lock, and a write in one fails at once (`wrote_while_reading`) instead of
    failing only when another connection has written meanwhile (a deferred transaction that has read cannot
    become a writer then). A web page's GET runs so (webapp.database.App). PostgreSQL is not changed."""
    token = _READING.set(True)
    try:
        yield
    finally:
        _READING.reset(token)


@contextmanager
def writing() -> Iterator[None]:
    """Transactions begun inside take SQLite's write lock first (BEGIN IMMEDIATE), inside `reading()` too: for a
    write that a read-only request makes on purpose (a refusal written to the audit trail)."""
    token = _READING.set(False)
    try:
        yield
    finally:
        _READING.reset(token)


def wrote_while_reading(exc: BaseException) -> bool:
    """Whether `exc` is SQLite refusing a write in a transaction begun inside `reading()` (SQLITE_READONLY), raised
    by the driver itself or wrapped by SQLAlchemy."""
    found = getattr(exc, "orig", None) if isinstance(exc, sa.exc.DBAPIError) else exc
    return isinstance(found, sqlite3.OperationalError) and found.sqlite_errorcode == sqlite3.SQLITE_READONLY


def json_key(column: Any, key: str) -> Any:
    """`column[key]` of a JSON column with the key written into the SQL rather than bound: SQLite uses an index on an
    expression (migrations 0018 and 0025, on case data) only when the query spells the expression out as the index does,
    and a bound JSON path is a `?` there. The key is a name from the code, quoted by SQLAlchemy."""
    return column[sa.bindparam(None, key, type_=sa.JSON.JSONStrIndexType, literal_execute=True)]


def make_engine(url: str, *, echo: bool = False) -> Engine:
    """An engine for `url`; SQLite gets WAL, full fsync, foreign keys and write-locking transactions (read-only
    ones inside `reading()`)."""
    if url.startswith("sqlite"):
        engine = sa.create_engine(url, echo=echo, connect_args={"check_same_thread": False, "timeout": 30})

        @event.listens_for(engine, "connect")
        def _on_connect(dbapi_connection, record):
            # pysqlite's own BEGIN is deferred; we issue BEGIN IMMEDIATE ourselves so that a
            # read-then-write transaction never fails with SQLITE_BUSY halfway through.
            dbapi_connection.isolation_level = None
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=FULL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.close()
            record.info[_QUERY_ONLY] = False

        @event.listens_for(engine, "begin")
        def _on_begin(conn):
            dbapi_connection = conn.connection.dbapi_connection  # straight to the driver (every fire)
            reads_only = _READING.get()
            if conn.info[_QUERY_ONLY] is not reads_only:
                dbapi_connection.execute(f"PRAGMA query_only={'ON' if reads_only else 'OFF'}")
                conn.info[_QUERY_ONLY] = reads_only
            dbapi_connection.execute("BEGIN" if reads_only else "BEGIN IMMEDIATE")

        @event.listens_for(engine, "checkin")
        def _on_checkin(dbapi_connection, record):
            # the next user of this connection may write outside a transaction (none left when it was invalidated)
            if dbapi_connection is not None and record.info.get(_QUERY_ONLY):
                dbapi_connection.execute("PRAGMA query_only=OFF")
                record.info[_QUERY_ONLY] = False

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


@contextmanager
def one_action(session: Session) -> Iterator[Session]:
    """One action of a person on `session`: commit when it succeeds; when it is refused, commit the writes the
    refusal keeps (a failed login's count: WorkflowError.keep_writes) or roll back; roll back on any other error."""
    try:
        yield session
    except WorkflowError as exc:
        if exc.keep_writes:
            session.commit()
        else:
            session.rollback()
        raise
    except BaseException:
        session.rollback()
        raise
    session.commit()


# One parameter of a compiled statement: its name in the SQL, the key of the caller's value (None: the
# value the statement holds itself), that value, and the bind processor SQLAlchemy would apply.
_Slot = tuple[str, str | None, Any, Callable[[Any], Any] | None]
# The SQL text, whether parameters are positional, the parameters in order, a SELECT's result processors.
_Compiled = tuple[str, bool, list[_Slot], list[Callable[[Any], Any] | None] | None]


class Prepared:
    """A statement compiled once per dialect and set of columns, run on the connection's DBAPI cursor.

    For the statements inside every transition (the audit head, the case's versioned UPDATE, the audit
    event, deadline rows, the notification rules' recipients and rows): SQLAlchemy's general execution
    path (cache lookup, execution context, events, result set-up) costs several times what the database
    itself needs for a one-row statement. This runs the SQL text SQLAlchemy compiled, with the
    parameters passed through the same bind processors (the same stored text for a datetime or a JSON
    value) and the rows of a SELECT through the same result processors, on the same connection and so
    in the same transaction. Only for writes whose every value is given: a column that would take a
    Python-side default is refused when the statement is compiled.
    """

    def __init__(self, statement: sa.Insert | sa.Update | sa.Select[Any]):
        self.statement = statement
        self._compiled: dict[tuple[str, str, tuple[str, ...]], _Compiled] = {}
        self._multi: dict[tuple[int, tuple[str, ...]], Prepared] = {}  # INSERTs of several rows, by count

    def _compile(self, dialect: sa.Dialect, keys: tuple[str, ...]) -> _Compiled:
        compiled = self.statement.compile(dialect=dialect, column_keys=list(keys))
        if compiled.insert_prefetch or compiled.update_prefetch:
            raise ValueError(f"{self.statement}: every column must be given (no Python-side defaults)")
        slots: dict[str, _Slot] = {}
        for bind, name in compiled.bind_names.items():
            given = bind.key in keys
            if not given and bind.required:
                raise ValueError(f"{self.statement}: no value for {bind.key}")
            processor = bind.type.dialect_impl(dialect).bind_processor(dialect)
            slots[name] = (name, bind.key if given else None, bind.effective_value, processor)
        order = (compiled.positiontup or []) if dialect.positional else list(slots)
        results: list[Callable[[Any], Any] | None] | None = None
        if isinstance(self.statement, sa.Select):
            results = [column.type.dialect_impl(dialect).result_processor(dialect, None)
                       for column in self.statement.selected_columns]
        return compiled.string, bool(dialect.positional), [slots[name] for name in order], results

    def _for(self, conn: sa.Connection, params: Mapping[str, Any]) -> _Compiled:
        key = (conn.dialect.name, conn.dialect.driver, tuple(params))
        found = self._compiled.get(key)
        if found is None:
            found = self._compiled[key] = self._compile(conn.dialect, key[2])
        return found

    @staticmethod
    def _arguments(found: _Compiled, params: Mapping[str, Any]) -> Any:
        _, positional, slots, _ = found
        values = []
        for _, source, fixed, processor in slots:
            value = fixed if source is None else params[source]
            values.append(value if processor is None else processor(value))
        return tuple(values) if positional else {slot[0]: value for slot, value in zip(slots, values, strict=True)}

    @staticmethod
    def _cursor(conn: sa.Connection) -> closing[Any]:
        return closing(conn.connection.dbapi_connection.cursor())  # type: ignore[union-attr]  # the connection is checked out, so its DBAPI connection is set

    def execute(self, conn: sa.Connection, params: Mapping[str, Any]) -> int:
        """Run a write with one set of parameters; the number of rows written."""
        found = self._for(conn, params)
        with self._cursor(conn) as cursor:
            cursor.execute(found[0], self._arguments(found, params))
            return int(cursor.rowcount)

    def fetch(self, conn: sa.Connection, params: Mapping[str, Any]) -> list[tuple[Any, ...]]:
        """Run a SELECT; its rows as tuples of the values SQLAlchemy would return."""
        found = self._for(conn, params)
        processors = found[3]
        if processors is None:
            raise TypeError(f"{self.statement}: not a SELECT")
        with self._cursor(conn) as cursor:
            cursor.execute(found[0], self._arguments(found, params))
            rows = cursor.fetchall()
        if not any(processors):
            return [tuple(row) for row in rows]
        return [tuple(value if processor is None else processor(value)
                      for value, processor in zip(row, processors, strict=True)) for row in rows]

    def execute_many(self, conn: sa.Connection, rows: Sequence[Mapping[str, Any]]) -> int:
        """Run once per row (every row with the same keys); the number of rows written, or -1 if unknown.

        On a server database an INSERT of several rows goes as one statement with a VALUES row per row:
        one round trip (psycopg's executemany pipelines the rows but waits on the server several times).
        """
        if len(rows) <= 1:
            return self.execute(conn, rows[0]) if rows else 0
        if not is_sqlite(conn) and isinstance(self.statement, sa.Insert):
            return self._multi_values(self.statement, len(rows), tuple(rows[0])).execute(
                conn, {f"{key}_{i}": value for i, row in enumerate(rows) for key, value in row.items()})
        found = self._for(conn, rows[0])
        with self._cursor(conn) as cursor:
            cursor.executemany(found[0], [self._arguments(found, row) for row in rows])
            return int(cursor.rowcount)

    def _multi_values(self, statement: sa.Insert, count: int, keys: tuple[str, ...]) -> Prepared:
        found = self._multi.get((count, keys))
        if found is None:
            columns = statement.table.c
            found = self._multi[(count, keys)] = Prepared(statement.values([
                {key: sa.bindparam(f"{key}_{i}", type_=columns[key].type) for key in keys} for i in range(count)]))
        return found


def persistent(session: Session, model: type[Any], row: Sequence[Any]) -> Any:
    """The session's instance of `model` for a row of all its table's columns (in table order), as the
    ORM would return it: the instance already in the session if there is one, else a new one added to
    the session as loaded from the database (so changes to it are flushed like any other's)."""
    mapper = sa.inspect(model)
    if not mapper.configured:  # a process whose first load this is: the ORM sets up its attributes now
        sa.orm.configure_mappers()
    columns = mapper.local_table.columns
    key = [value for column, value in zip(columns, row, strict=True) if column.primary_key]
    found = session.identity_map.get(mapper.identity_key_from_primary_key(key))
    if found is not None:
        return found
    instance = mapper.class_manager.new_instance()
    instance_dict(instance).update(zip([column.key for column in columns], row, strict=True))
    make_transient_to_detached(instance)  # which also marks every value as loaded, not changed
    session.add(instance)
    return instance


MIGRATIONS_DIR = Path(__file__).resolve().parents[2] / "migrations"


def compare_type(context: Any, inspected_column: Any, metadata_column: Any, inspected_type: Any,
                 metadata_type: Any) -> bool | None:
    """Alembic's type comparison, except that on SQLite, which enforces no length, two texts of different lengths
    are the same type (migration 0021 widens columns on PostgreSQL only). None: Alembic's own comparison."""
    declared = metadata_type.impl_instance if isinstance(metadata_type, sa.types.TypeDecorator) else metadata_type
    if (context.dialect.name == "sqlite" and isinstance(inspected_type, sa.String) and isinstance(declared, sa.String)
            and not isinstance(inspected_type, sa.Text) and not isinstance(declared, sa.Text)):
        return False
    return None


def migrate(engine: Engine, revision: str = "head") -> None:
    """Create or upgrade the schema with Alembic."""
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


def head_revision() -> str | None:
    """The newest migration's revision id."""
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return ScriptDirectory.from_config(config).get_current_head()


def schema_problem(engine: Engine) -> str | None:
    """Why the database cannot be worked on yet, or None: "missing" (an SQLite file that does not exist, looked
    for without creating it), "uninitialised" (no schema) or "outdated" (behind the migrations). A server that
    cannot be reached raises sqlalchemy's OperationalError."""
    url = engine.url
    if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:") \
            and not url.database.startswith("file:") and not Path(url.database).exists():
        return "missing"
    with engine.connect() as conn:
        if not sa.inspect(conn).has_table("alembic_version"):
            return "uninitialised"
        current = conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()
    return None if current == head_revision() else "outdated"


def saved_id(row: Any) -> int:
    """The id of a row that has been written (SQLModel types an id as optional until the row is flushed)."""
    if row.id is None:
        raise ValueError(f"{type(row).__name__} has not been written yet")
    return int(row.id)


def table_of(model: type[Any]) -> sa.Table:
    """A model's table (SQLModel adds `__table__` when the class is made, without declaring it for type checkers)."""
    return model.__table__
