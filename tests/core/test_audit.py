"""The hash-chained audit trail: append-only in the database, and every kind of tampering located."""

from __future__ import annotations

import itertools
from contextlib import contextmanager
from dataclasses import replace

import pytest
import sqlalchemy as sa

from workflow.core import audit
from workflow.core.db import is_sqlite, transaction
from workflow.core.engine import fire
from workflow.core.models import AuditEvent

TABLE = AuditEvent.__table__
SQLITE_TRIGGERS = {
    verb: f"CREATE TRIGGER audit_event_no_{verb.lower()} BEFORE {verb} ON audit_event "
          "BEGIN SELECT RAISE(ABORT, 'audit_event is append-only'); END"
    for verb in ("UPDATE", "DELETE")
}


@pytest.fixture
def chain(db, make, now, complete_application):
    """A small history (accounts, a town, a case moved three times): its events by seq, as stored."""
    county = make.user("county")
    office = make.user("office")
    case = make.case("designation", by=county)
    for actor, trigger, kwargs in (
        (county, "edit", {"payload": complete_application}),
        (county, "submit", {}),
        (office, "return_for_revision", {"comment": "请补充材料"}),
    ):
        with transaction(db) as s:
            fire(session=s, case_id=case.id, trigger=trigger, actor=make.actor(actor), now=now, **kwargs)
    return events(db)


def events(db):
    with transaction(db) as s:
        return [dict(r) for r in s.connection().execute(sa.select(TABLE).order_by(TABLE.c.seq)).mappings()]


def verify(db, **kwargs):
    with transaction(db) as s:
        return audit.verify(s, **kwargs)


@contextmanager
def tampering(engine):
    """A transaction in which audit_event can be changed: the append-only trigger is dropped (SQLite) or
    disabled (PostgreSQL) at its start and put back at its end, as someone with the database's keys could."""
    with engine.begin() as conn:
        if is_sqlite(conn):
            for verb in SQLITE_TRIGGERS:
                conn.exec_driver_sql(f"DROP TRIGGER audit_event_no_{verb.lower()}")
        else:
            conn.exec_driver_sql("ALTER TABLE audit_event DISABLE TRIGGER audit_event_append_only")
        yield conn
        if is_sqlite(conn):
            for statement in SQLITE_TRIGGERS.values():
                conn.exec_driver_sql(statement)
        else:
            conn.exec_driver_sql("ALTER TABLE audit_event ENABLE TRIGGER audit_event_append_only")


def _renumber_from(conn, seq, shift):
    """Move every event from `seq` on by `shift` places (in two steps: seq is unique)."""
    conn.execute(TABLE.update().where(TABLE.c.seq >= seq).values(seq=-(TABLE.c.seq + shift)))
    conn.execute(TABLE.update().where(TABLE.c.seq < 0).values(seq=-TABLE.c.seq))


def _forged_after(event):
    """A plausible event that links correctly to `event`, with its hash computed the way the system does."""
    row = {name: event[name] for name in audit.HASHED_FIELDS}
    row.update(kind="login_ok", comment=None, case_id=None, trigger=None, from_state=None, to_state=None,
               data=audit.canonical_json({"via": "web"}), prev_hash=event["hash"])
    row["hash"] = audit.event_hash(row)
    return row


def test_the_chain_verifies_after_a_scenario(db, chain):
    assert [e["seq"] for e in chain] == list(range(1, len(chain) + 1))
    assert [e["kind"] for e in chain] == ["user_created", "user_created", "town_created", "case_created",
                                          "case_created", "transition", "transition", "transition"]
    assert chain[0]["prev_hash"] == audit.GENESIS
    assert all(later["prev_hash"] == earlier["hash"] for earlier, later in itertools.pairwise(chain))
    assert all(audit.event_hash(e) == e["hash"] for e in chain)
    result = verify(db)
    assert (result.ok, result.count, result.head_hash, result.problem) == (True, 8, chain[-1]["hash"], None)
    assert verify(db, batch=3) == result
    assert result.describe("en") == f"OK: 8 events, chain intact, head {chain[-1]['hash'][:16]}"


def test_an_empty_chain_verifies(db):
    result = verify(db)
    assert (result.ok, result.count, result.head_hash) == (True, 0, audit.GENESIS)


def _rewrite(verb, *, id="id", seq="seq", then=""):
    """`verb` INTO audit_event a copy of event 8 with its comment changed, under the id and seq given."""
    names = [c.name for c in TABLE.columns]
    values = [id if c == "id" else seq if c == "seq" else "'rewritten'" if c == "comment" else f'"{c}"' for c in names]
    columns = ", ".join(f'"{c}"' for c in names)
    return f"{verb} INTO audit_event ({columns}) SELECT {', '.join(values)} FROM audit_event WHERE seq = 8{then}"


MERGE = "MERGE INTO audit_event AS e USING (SELECT 8 AS seq) AS s ON e.seq = s.seq WHEN MATCHED THEN "
SQLITE, POSTGRES = pytest.mark.sqlite, pytest.mark.postgres


@pytest.mark.parametrize("statement", [
    pytest.param("UPDATE audit_event SET comment = 'nothing happened' WHERE seq = 8", id="update"),
    pytest.param("UPDATE audit_event SET seq = seq + 100", id="update-all"),
    pytest.param("DELETE FROM audit_event WHERE seq = 8", id="delete"),
    pytest.param("DELETE FROM audit_event", id="delete-all"),
    pytest.param(_rewrite("INSERT", then=" ON CONFLICT (id) DO UPDATE SET comment = excluded.comment"),
                 id="upsert-on-id"),
    pytest.param(_rewrite("INSERT", id="id + 1000", then=" ON CONFLICT (seq) DO UPDATE SET comment = excluded.comment"),
                 id="upsert-on-seq"),
    pytest.param(_rewrite("REPLACE"), marks=SQLITE, id="replace"),
    pytest.param(_rewrite("INSERT OR REPLACE"), marks=SQLITE, id="insert-or-replace"),
    pytest.param(_rewrite("REPLACE", id="id + 1000"), marks=SQLITE, id="replace-taking-the-seq"),
    pytest.param(_rewrite("REPLACE", seq="seq + 1000"), marks=SQLITE, id="replace-taking-the-id"),
    pytest.param(_rewrite("INSERT", id="NULL", then=" ON CONFLICT DO UPDATE SET comment = excluded.comment"),
                 marks=SQLITE, id="upsert-on-any-key"),
    pytest.param("UPDATE OR REPLACE audit_event SET seq = 8 WHERE seq = 7", marks=SQLITE, id="update-or-replace"),
    pytest.param("TRUNCATE audit_event", marks=POSTGRES, id="truncate"),
    pytest.param("TRUNCATE audit_event RESTART IDENTITY CASCADE", marks=POSTGRES, id="truncate-cascade"),
    pytest.param(MERGE + "UPDATE SET comment = 'rewritten'", marks=POSTGRES, id="merge-update"),
    pytest.param(MERGE + "DELETE", marks=POSTGRES, id="merge-delete"),
])
def test_the_database_refuses_every_statement_that_changes_an_event(engine, db, chain, now, statement):
    """Whatever the spelling (REPLACE rewrites a row without firing the delete trigger, TRUNCATE without the
    row triggers), the database refuses it, every event stays as it was and the next event is appended."""
    with pytest.raises(sa.exc.DBAPIError, match="append-only"), engine.begin() as conn:
        conn.exec_driver_sql(statement)
    assert events(db) == chain
    assert verify(db).ok
    with transaction(db) as s:
        appended = audit.record(s, kind="login_ok", now=now, data={"via": "web"})
    assert appended["seq"] == len(chain) + 1 and appended["prev_hash"] == chain[-1]["hash"]
    assert events(db)[:-1] == chain and verify(db).ok


@pytest.mark.sqlite  # the id SQLite shows a trigger before it has chosen one
def test_a_row_planted_with_id_minus_one_does_not_stop_appending(engine, db, chain, now):
    planted = {**_forged_after(chain[-1]), "seq": 1000}
    with engine.begin() as conn:
        conn.execute(TABLE.insert().values(id=-1, **planted))
    with transaction(db) as s:
        appended = audit.record(s, kind="login_ok", now=now)
    assert appended["seq"] == len(chain) + 1
    assert not verify(db).ok  # the planted row is an insertion, and found


def test_tampering_puts_the_guard_back(engine, db, chain):
    with tampering(engine) as conn:
        conn.execute(TABLE.update().where(TABLE.c.seq == 3).values(comment="x"))
    with pytest.raises(sa.exc.DBAPIError, match="append-only"), engine.begin() as conn:
        conn.exec_driver_sql("DELETE FROM audit_event WHERE seq = 1")
    assert len(events(db)) == len(chain)


WORDS_ZH = {"edited": "被篡改", "preceded by a deleted event": "之前有事件被删除", "inserted": "为插入的事件",
            "reordered": "顺序被调换", "followed by deleted events": "之后的事件被删除"}


def _expect(db, problem, event, words_en, count):
    """The whole result: what broke and where, and how many events (up to which hash) are still vouched for."""
    result = verify(db)
    assert (result.ok, result.problem, result.seq, result.event_id) == (False, problem, event["seq"], event["id"])
    stored = events(db)
    assert (result.count, result.head_hash) == (count, stored[count - 1]["hash"] if count else audit.GENESIS)
    assert [e["seq"] for e in stored[:count]] == list(range(1, count + 1))
    assert verify(db, batch=2) == result
    assert result.describe("en") == f"BROKEN: event #{event['id']} (seq {event['seq']}) {words_en}"
    assert result.describe() == f"已损坏：事件 #{event['id']}（序号 {event['seq']}）{WORDS_ZH[words_en]}"
    return result


@pytest.mark.parametrize("column, value", [
    ("comment", "同意受理"), ("actor_name", "别人"), ("data", "{}"), ("to_state", "consultation"),
    ("prev_hash", "f" * 64), ("hash", "0" * 64),
])
def test_an_edited_event_is_found(engine, db, chain, column, value):
    with tampering(engine) as conn:
        conn.execute(TABLE.update().where(TABLE.c.seq == 6).values({column: value}))
    stored = events(db)[5]
    _expect(db, "edited", stored, "edited", count=5)  # the events before it are still vouched for


def test_an_edited_event_with_a_recomputed_hash_is_found(engine, db, chain):
    """Rewriting the hash too (the algorithm is no secret) leaves the next event linking to an event that
    is no longer there. The chain cannot tell this from event 6 deleted and the rest renumbered (the
    original event 6 is gone from it either way), so it is reported where the link breaks."""
    forged = {**chain[5], "comment": "同意受理"}
    forged["hash"] = audit.event_hash(forged)
    with tampering(engine) as conn:
        conn.execute(TABLE.update().where(TABLE.c.seq == 6).values(comment=forged["comment"], hash=forged["hash"]))
    _expect(db, "deleted", chain[6], "preceded by a deleted event", count=6)


def test_the_last_event_edited_with_a_recomputed_hash_is_found(engine, db, chain):
    forged = {**chain[-1], "comment": "无意见"}
    forged["hash"] = audit.event_hash(forged)
    with tampering(engine) as conn:
        conn.execute(TABLE.update().where(TABLE.c.seq == 8).values(comment=forged["comment"], hash=forged["hash"]))
    _expect(db, "edited", chain[-1], "edited", count=7)


@pytest.mark.parametrize("seq", [1, 4, 7])
def test_a_deleted_event_is_found_at_the_event_after_the_gap(engine, db, chain, seq):
    with tampering(engine) as conn:
        conn.execute(TABLE.delete().where(TABLE.c.seq == seq))
    _expect(db, "deleted", chain[seq], "preceded by a deleted event", count=seq - 1)


def test_a_deleted_event_with_the_rest_renumbered_is_found(engine, db, chain):
    with tampering(engine) as conn:
        conn.execute(TABLE.delete().where(TABLE.c.seq == 4))
        _renumber_from(conn, 5, -1)
    moved = {**chain[4], "seq": 4}
    _expect(db, "deleted", moved, "preceded by a deleted event", count=3)


def test_an_inserted_event_is_found_where_it_was_inserted(engine, db, chain):
    forged = _forged_after(chain[4])
    with tampering(engine) as conn:
        _renumber_from(conn, 6, 1)
        inserted_id = conn.execute(TABLE.insert().values(seq=6, **forged).returning(TABLE.c.id)).scalar_one()
    assert [e["seq"] for e in events(db)] == list(range(1, 10))
    _expect(db, "inserted", {"seq": 6, "id": inserted_id}, "inserted", count=5)


def test_an_event_appended_behind_the_head_is_found(engine, db, chain):
    forged = _forged_after(chain[-1])
    with tampering(engine) as conn:
        inserted_id = conn.execute(TABLE.insert().values(seq=9, **forged).returning(TABLE.c.id)).scalar_one()
    _expect(db, "inserted", {"seq": 9, "id": inserted_id}, "inserted", count=8)


@pytest.mark.parametrize("first, second", [(3, 4), (2, 7), (7, 8)])
def test_reordered_events_are_found(engine, db, chain, first, second):
    a, b = chain[first - 1], chain[second - 1]
    with tampering(engine) as conn:
        conn.execute(TABLE.update().where(TABLE.c.id == a["id"]).values(seq=-1))
        conn.execute(TABLE.update().where(TABLE.c.id == b["id"]).values(seq=first))
        conn.execute(TABLE.update().where(TABLE.c.id == a["id"]).values(seq=second))
    # the first place out of order now holds the later event
    _expect(db, "reordered", {"seq": first, "id": b["id"]}, "reordered", count=first - 1)


@pytest.mark.parametrize("removed", [1, 3])
def test_truncation_is_found(engine, db, chain, removed):
    with tampering(engine) as conn:
        conn.execute(TABLE.delete().where(TABLE.c.seq > len(chain) - removed))
    last = chain[-removed - 1]
    _expect(db, "truncated", last, "followed by deleted events", count=len(chain) - removed)


def test_the_whole_trail_deleted_is_truncation(engine, db, chain):
    with tampering(engine) as conn:
        conn.execute(TABLE.delete())
    result = verify(db)
    assert (result.ok, result.problem, result.count) == (False, "truncated", 0)


def test_describe_in_chinese(engine, db, chain):
    with tampering(engine) as conn:
        conn.execute(TABLE.delete().where(TABLE.c.seq == 4))
    assert verify(db).describe("zh") == f"已损坏：事件 #{chain[4]['id']}（序号 5）之前有事件被删除"


# ---- what one event keeps of who did what, where ---------------------------------------------------------------


@pytest.mark.parametrize("given_ip, actor_ip, kept", [
    pytest.param("10.0.0.9", "10.0.0.1", "10.0.0.9", id="the-request's-address-first"),
    pytest.param(None, "10.0.0.1", "10.0.0.1", id="else-the-actor's"),
    pytest.param(None, None, None, id="else-none"),
])
def test_an_event_keeps_who_acted_from_which_unit_and_address_on_which_case(db, make, now, given_ip, actor_ip,
                                                                           kept):
    """The auditor's question, who did what when and from where: every column of the event says it, as stored."""
    county = make.user("county")
    case = make.case("designation", by=county)
    actor = replace(make.actor(county), ip=actor_ip)
    with transaction(db) as s:
        row = audit.record(s, kind="transition", now=now, actor=actor, case_id=case.id, county_id=case.county_id,
                           trigger="submit", from_state="draft", to_state="submitted", comment="提交申报",
                           data={"n": 1}, ip=given_ip)
    stored = events(db)[-1]
    assert {k: stored[k] for k in ("actor_id", "actor_name", "role", "unit_id", "unit_name", "county_id", "ip",
                                   "case_id", "trigger", "from_state", "to_state", "comment", "data")} == {
        "actor_id": county.id, "actor_name": actor.name, "role": "county", "unit_id": county.unit_id,
        "unit_name": actor.unit_name, "county_id": case.county_id, "ip": kept, "case_id": case.id,
        "trigger": "submit", "from_state": "draft", "to_state": "submitted", "comment": "提交申报", "data": '{"n":1}'}
    assert actor.unit_name and county.unit_id and case.county_id  # each compared with a value, not with None
    assert stored["hash"] == row["hash"] == audit.event_hash(stored)


def test_an_event_of_no_one_keeps_no_actor_but_the_address_given(db, now):
    with transaction(db) as s:
        audit.record(s, kind="login_failed", now=now, ip="10.0.0.9")
    [stored] = events(db)
    assert [stored[k] for k in ("actor_id", "actor_name", "role", "unit_id", "unit_name", "ip")] == [
        None, None, None, None, None, "10.0.0.9"]
