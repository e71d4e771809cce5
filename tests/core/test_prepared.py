"""workflow.core.db.Prepared and persistent: the hot path's statements store and read exactly what SQLAlchemy's
own execution would, on the session's connection and inside its transaction."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from workflow.core.access import get_case
from workflow.core.db import Prepared, persistent, transaction
from workflow.core.models import Case, Deadline, Notification

MOMENT = datetime(2026, 11, 27, 2, 3, 4, 567891, tzinfo=UTC)
PARAMS = {"number": "阳专镇〔2026〕1号", "quote": '"\\\u2028', "nested": {"n": [1, 2.5, None, True]}}
_notes = Notification.__table__
_deadlines = Deadline.__table__


def _raw(db, table, row_id):
    """The row as the database holds it: stored text, no processing on the way out."""
    with transaction(db) as s:
        columns = ", ".join(c.name for c in table.columns)
        return s.connection().exec_driver_sql(f"SELECT {columns} FROM {table.name} WHERE id = {int(row_id)}").one()


def _notification(user_id, case_id, key):
    return {"user_id": user_id, "case_id": case_id, "kind": "event", "params": PARAMS, "source_key": key,
            "created_at": MOMENT}


def test_a_prepared_insert_stores_what_sqlalchemy_stores(db, make):
    user, case = make.user("office"), make.case()
    with transaction(db) as s:
        conn = s.connection()
        conn.execute(_notes.insert(), _notification(user.id, case.id, "by-sqlalchemy"))
        assert Prepared(_notes.insert()).execute(conn, _notification(user.id, case.id, "prepared")) == 1
        ids = dict(conn.execute(sa.select(_notes.c.source_key, _notes.c.id)).all())
    by_sqlalchemy, prepared = _raw(db, _notes, ids["by-sqlalchemy"]), _raw(db, _notes, ids["prepared"])
    differ = [c.name for c, a, b in zip(_notes.columns, by_sqlalchemy, prepared, strict=True) if a != b]
    assert differ == ["id", "source_key"]  # the datetime and the JSON are stored as the same text


def test_a_prepared_select_reads_what_sqlalchemy_reads(db, make):
    user, case = make.user("office"), make.case()
    with transaction(db) as s:
        s.connection().execute(_notes.insert(), _notification(user.id, case.id, "k"))
    query = sa.select(_notes.c.params, _notes.c.created_at, _notes.c.read_at).where(
        _notes.c.source_key == sa.bindparam("key"))
    with transaction(db) as s:
        conn = s.connection()
        expected = [tuple(row) for row in conn.execute(query, {"key": "k"})]
        assert Prepared(query).fetch(conn, {"key": "k"}) == expected == [(PARAMS, MOMENT, None)]
        assert Prepared(query).fetch(conn, {"key": "missing"}) == []


def test_values_the_statement_holds_itself_are_sent(db, make):
    case = make.case()
    with transaction(db) as s:
        conn = s.connection()
        row = {"case_id": case.id, "state": "x", "name": "d", "kind": "expiry", "trigger": "expire",
               "offset_days": None, "due_date": "2026-12-01", "due_at": MOMENT, "is_estimated": False,
               "created_at": MOMENT, "attempts": 0}
        Prepared(_deadlines.insert()).execute_many(conn, [{**row, "status": "open"}, {**row, "status": "fired"}])
        close = Prepared(_deadlines.update().where(_deadlines.c.case_id == sa.bindparam("b_case"),
                                                   _deadlines.c.status == "open"))  # "open" is in the statement
        assert close.execute(conn, {"status": "closed", "b_case": case.id}) == 1
        statuses = sorted(conn.execute(sa.select(_deadlines.c.status).where(_deadlines.c.case_id == case.id))
                          .scalars())
    assert statuses == ["closed", "fired"]


def test_a_write_rolled_back_with_its_transaction_leaves_nothing(db, make):
    user, case = make.user("office"), make.case()
    with pytest.raises(RuntimeError), transaction(db) as s:
        Prepared(_notes.insert()).execute(s.connection(), _notification(user.id, case.id, "gone"))
        raise RuntimeError("rolled back")
    with transaction(db) as s:
        assert s.connection().execute(sa.select(sa.func.count()).select_from(_notes)).scalar_one() == 0


def test_a_column_that_needs_a_python_default_is_refused(db, make):
    case = make.case()
    with pytest.raises(ValueError, match="every column must be given"), transaction(db) as s:
        Prepared(_deadlines.insert()).execute(s.connection(), {"case_id": case.id, "state": "x"})


def test_persistent_returns_the_session_instance_and_flushes_changes(db, make):
    case = make.case()
    office = make.actor(make.user("office"))
    with transaction(db) as s:
        loaded = get_case(s, office, case.id)
        assert loaded is s.get(Case, case.id)  # in the identity map, as the ORM would have put it
        assert loaded.data == case.data and loaded.created_at == case.created_at
        assert not s.dirty and not s.new
        assert get_case(s, office, case.id) is loaded
        loaded.title = "改过的标题"
    with transaction(db) as s:
        assert s.get(Case, case.id).title == "改过的标题"
        row = s.connection().execute(sa.select(*Case.__table__.columns).where(Case.__table__.c.id == case.id)).one()
        first = s.get(Case, case.id)
        assert persistent(s, Case, tuple(row)) is first


def test_several_rows_at_once_skip_duplicates_and_count_what_was_written(db, make):
    """On PostgreSQL several rows go as one INSERT with a VALUES row each; on SQLite as executemany."""
    user, case = make.user("office"), make.case()
    with transaction(db) as s:
        conn = s.connection()
        dialect = sqlite if conn.dialect.name == "sqlite" else postgresql
        insert = Prepared(dialect.insert(_notes).on_conflict_do_nothing(index_elements=["source_key"]))
        assert insert.execute_many(conn, [_notification(user.id, case.id, k) for k in ("a", "b")]) == 2
        assert insert.execute_many(conn, [_notification(user.id, case.id, k) for k in ("b", "c", "d")]) == 2
        stored = conn.execute(sa.select(_notes.c.source_key, _notes.c.params, _notes.c.created_at)
                              .order_by(_notes.c.source_key)).all()
    assert [tuple(row) for row in stored] == [(k, PARAMS, MOMENT) for k in "abcd"]
