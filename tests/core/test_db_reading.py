"""workflow.core.db.reading / writing: on SQLite a transaction begun inside `reading()` neither takes nor waits for
the write lock, and a write in it fails at once (recognised by `wrote_while_reading`); on PostgreSQL nothing
changes."""

from __future__ import annotations

import sqlite3
import threading

import pytest
import sqlalchemy as sa
from sqlmodel import select

from workflow.core.db import Prepared, reading, transaction, writing, wrote_while_reading
from workflow.core.models import Unit


def _unit_names(db) -> list[str]:
    with transaction(db) as s:
        return list(s.exec(select(Unit.name).order_by(Unit.name)).all())


def _holder(database_url: str) -> sqlite3.Connection:
    """A second connection to the test's SQLite file, as another process would open it."""
    return sqlite3.connect(sa.engine.make_url(database_url).database, isolation_level=None, timeout=30)


@pytest.mark.sqlite
def test_a_write_while_reading_fails_at_once_and_is_recognised(db, make, now):
    make.unit("盂县", "county")
    with reading(), pytest.raises(sa.exc.OperationalError) as orm, transaction(db) as s:
        assert s.exec(select(Unit.name)).all() == ["盂县"]  # reading is allowed
        s.add(Unit(name="平定县", kind="county", created_at=now))
        s.flush()
    assert wrote_while_reading(orm.value)
    insert = Prepared(sa.insert(Unit.__table__))
    with reading(), pytest.raises(sqlite3.OperationalError) as raw, transaction(db) as s:  # the driver's own cursor
        insert.execute(s.connection(), {"name": "郊区", "kind": "county", "is_active": True, "created_at": now})
    assert wrote_while_reading(raw.value)
    assert _unit_names(db) == ["盂县"]


@pytest.mark.sqlite
def test_other_errors_are_not_taken_for_a_write_while_reading(db, make, now):
    make.unit("盂县", "county")
    with pytest.raises(sa.exc.IntegrityError) as duplicate, transaction(db) as s:
        s.add(Unit(name="盂县", kind="county", created_at=now))
        s.flush()
    with pytest.raises(sa.exc.OperationalError) as missing, reading(), transaction(db) as s:
        s.connection().execute(sa.text("SELECT * FROM no_such_table"))
    assert not wrote_while_reading(duplicate.value)
    assert not wrote_while_reading(missing.value)
    assert not wrote_while_reading(ValueError("attempt to write a readonly database"))


@pytest.mark.sqlite
def test_writing_inside_reading_takes_the_write_lock_and_writes(db, now):
    with reading(), writing(), transaction(db) as s:
        s.add(Unit(name="平定县", kind="county", created_at=now))
    assert _unit_names(db) == ["平定县"]


@pytest.mark.sqlite
def test_a_read_neither_takes_nor_waits_for_the_write_lock(db, make, database_url, now):
    make.unit("盂县", "county")
    other = _holder(database_url)
    other.execute("BEGIN IMMEDIATE")  # another writer, midway through its transaction
    other.execute("INSERT INTO unit (name, kind, is_active, created_at) "
                  "VALUES ('平定县', 'county', 1, '2026-11-27 02:00:00.000000')")
    released = threading.Event()
    timer = threading.Timer(20, lambda: (released.set(), other.execute("COMMIT")))
    timer.start()
    try:
        with reading(), transaction(db) as s:
            assert s.exec(select(Unit.name)).all() == ["盂县"]  # the last committed state
            # and the write lock is free for the other writer: a reading transaction never took it
        assert not released.is_set()  # answered while the other writer still held the lock
    finally:
        timer.cancel()
        if not released.is_set():
            other.execute("COMMIT")
        other.close()
    assert _unit_names(db) == ["平定县", "盂县"]


@pytest.mark.sqlite
def test_a_connection_that_was_reading_writes_again_once_back_in_the_pool(db, engine, now):
    with reading(), transaction(db) as s:
        s.exec(select(Unit)).all()
    raw = engine.raw_connection()  # the same pooled connection, outside any transaction of ours
    try:
        assert raw.driver_connection.execute("PRAGMA query_only").fetchone() == (0,)
    finally:
        raw.close()
    with transaction(db) as s:  # and a writer's transaction on it writes
        s.add(Unit(name="郊区", kind="county", created_at=now))
    assert _unit_names(db) == ["郊区"]


@pytest.mark.postgres
def test_on_postgresql_reading_changes_nothing(db, now):
    with reading(), transaction(db) as s:
        s.add(Unit(name="平定县", kind="county", created_at=now))
    assert _unit_names(db) == ["平定县"]
