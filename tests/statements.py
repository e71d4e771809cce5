"""Counting the SQL statements of one request: SQLAlchemy's (`before_cursor_execute`) and the ones
workflow.core.db.Prepared sends to the DBAPI cursor itself. BEGIN and COMMIT are not statements of the request's
own work and are not counted: SQLite's BEGIN IMMEDIATE goes straight to the driver, PostgreSQL's BEGIN and every
COMMIT are the DBAPI connection's own."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
import sqlalchemy as sa

from workflow.core import db as core_db


class _CountingCursor:
    """A DBAPI cursor that notes each statement it is asked to run (one DBAPI call, one statement)."""

    def __init__(self, cursor: Any, statements: list[str]):
        self._cursor = cursor
        self._statements = statements

    def execute(self, statement: str, *args: Any, **kwargs: Any) -> Any:
        self._statements.append(statement)
        return self._cursor.execute(statement, *args, **kwargs)

    def executemany(self, statement: str, *args: Any, **kwargs: Any) -> Any:
        self._statements.append(statement)
        return self._cursor.executemany(statement, *args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._cursor, name)


@contextmanager
def counted(on: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """The SQL text of each statement run inside the block, in order, on an engine or a Flask app's engine."""
    statements: list[str] = []

    def on_execute(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    original = core_db.Prepared._cursor

    def cursor(conn: sa.Connection) -> Any:
        opened = original(conn)
        return type(opened)(_CountingCursor(opened.thing, statements))

    engine = on if isinstance(on, sa.Engine) else on.extensions["zyz"]["engine"]
    sa.event.listen(engine, "before_cursor_execute", on_execute)
    monkeypatch.setattr(core_db.Prepared, "_cursor", staticmethod(cursor))
    try:
        yield statements
    finally:
        sa.event.remove(engine, "before_cursor_execute", on_execute)
        monkeypatch.setattr(core_db.Prepared, "_cursor", staticmethod(original))


def listing(statements: list[str]) -> str:
    """The statements numbered, one a line (for a failing count's message)."""
    return "\n".join(f"{i:2}. {' '.join(s.split())[:220]}" for i, s in enumerate(statements, 1))


def shape(statement: str) -> str:
    """What a statement does and to which table: 'SELECT case_file' (the first table it reads), 'INSERT deadline',
    'UPDATE audit_head', 'DELETE seat'."""
    words = statement.replace("(", " (").split()
    verb = words[0].upper()
    if verb == "SELECT":
        table = words[[w.upper() for w in words].index("FROM") + 1]
    elif verb in ("INSERT", "DELETE"):  # INSERT INTO t, DELETE FROM t
        table = words[2]
    else:
        table = words[1]
    return f"{verb} {table}"
