"""Tampering behind the application's back, found and located by `zyz audit verify`: a row edited, deleted,
inserted or reordered in the database file, and the whole table rewritten with a recomputed chain (which only
the signed daily anchors outside the database reveal); forged, removed and foreign anchors; the anchor job. And
national cryptography: a deployment that asks for SM3 (ZYZ_AUDIT_HASH=sm3 at `zyz init`) gets every later event
hashed with SM3 and its anchors and archives signed with HMAC-SM3; the switch is an event of the chain, so that
`zyz audit verify` knows where SM3 begins and a database never mixes hashes without saying so."""

from __future__ import annotations

import hashlib
import hmac
import json
import sqlite3
import threading
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from conftest import ON_POSTGRES
from webapp.config import ConfigError, check_production
from workflow.core import audit
from workflow.core.actors import Actor
from workflow.core.calendar import LOCAL_TZ
from workflow.core.db import make_engine, transaction
from workflow.core.engine import fire
from workflow.core.errors import InvalidInput
from workflow.core.models import AuditEvent, AuditHead

TABLE = AuditEvent.__table__
KEY = "integrity-test-key-0123456789abcdef0123456789"


@pytest.fixture
def anchors(tmp_path) -> Path:
    return tmp_path / "anchors"


@pytest.fixture
def zyz(run_zyz, anchors):
    """Run `zyz ARGS` in-process against the test database, with the anchor folder and key of this test."""
    return lambda *args: run_zyz(*args, env={"ZYZ_ANCHOR_DIR": str(anchors), "ZYZ_AUDIT_HMAC_KEY": KEY})


@pytest.fixture
def chain(db, make, now, complete_application):
    """Accounts, a town and a case moved three times, plus a few logins: about a dozen events."""
    county = make.user("county")
    office = make.user("office")
    case = make.case("designation", by=county)
    for actor, trigger, kwargs in ((county, "edit", {"payload": complete_application}), (county, "submit", {}),
                                   (office, "return_for_revision", {"comment": "请补充材料"})):
        with transaction(db) as s:
            fire(session=s, case_id=case.id, trigger=trigger, actor=make.actor(actor), now=now, **kwargs)
    with transaction(db) as s:
        for n in range(3):
            audit.record(s, kind="login_ok", now=now + timedelta(minutes=n), actor=make.actor(office),
                         data={"via": "web"})
    return events(db)


def events(db) -> list[dict]:
    with transaction(db) as s:
        return [dict(r) for r in s.connection().execute(sa.select(TABLE).order_by(TABLE.c.seq)).mappings()]


def anchor(db, anchors, moment) -> dict:
    with transaction(db) as s:
        return audit.write_anchor(s, directory=anchors, key=KEY.encode(), now=moment)


def tamper(database_url: str, *statements: str, params: list | None = None) -> None:
    """Change the trail as someone holding the database file (or the PostgreSQL superuser) could: the
    append-only triggers are dropped or disabled, the rows changed, the triggers put back."""
    if ON_POSTGRES:
        engine = make_engine(database_url)
        with engine.begin() as conn:
            conn.exec_driver_sql("ALTER TABLE audit_event DISABLE TRIGGER audit_event_append_only")
            for n, statement in enumerate(statements):
                conn.exec_driver_sql(statement.replace("?", "%s"), tuple(params[n]) if params else ())
            conn.exec_driver_sql("ALTER TABLE audit_event ENABLE TRIGGER audit_event_append_only")
        engine.dispose()
        return
    path = database_url.removeprefix("sqlite:///")
    conn = sqlite3.connect(path, isolation_level=None)  # the file itself, no application code
    saved = conn.execute("SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'audit_event'"
                         ).fetchall()
    conn.execute("BEGIN")
    for name, _ in saved:
        conn.execute(f"DROP TRIGGER {name}")
    for n, statement in enumerate(statements):
        conn.execute(statement, params[n] if params else ())
    for _, sql in saved:
        conn.execute(sql)
    conn.execute("COMMIT")
    conn.close()


def verify(zyz) -> tuple[int, list[str]]:
    result = zyz("audit", "verify")
    return result.exit_code, result.output.strip().splitlines()


def test_an_intact_trail_with_anchors_verifies(zyz, chain, db, anchors, now):
    first = anchor(db, anchors, now)
    anchor(db, anchors, now + timedelta(days=1))
    code, lines = verify(zyz)
    assert code == 0, lines
    assert lines[0].startswith(f"OK: {len(chain) + 2} events, chain intact")
    assert lines[1] == f"anchors: 2 checked, newest {(now + timedelta(days=1)):%Y-%m-%d %H:%M:%S} UTC (seq " \
                       f"{len(chain) + 1}); all match"
    assert first["seq"] == len(chain) and first["hash"] == chain[-1]["hash"]


def test_verify_says_when_there_is_no_anchor_yet(zyz, chain):
    code, lines = verify(zyz)
    assert code == 0 and lines[1] == "anchors: none yet (the scheduler writes one a day)"


@pytest.mark.parametrize("how, statements, blamed, words", [
    ("edited", ["UPDATE audit_event SET comment = '同意' WHERE seq = 6"], 6, "edited"),
    ("deleted", ["DELETE FROM audit_event WHERE seq = 5"], 6, "preceded by a deleted event"),
    ("reordered", ["UPDATE audit_event SET seq = -1 WHERE seq = 7", "UPDATE audit_event SET seq = 7 WHERE seq = 8",
                   "UPDATE audit_event SET seq = 8 WHERE seq = -1"], 7, "reordered"),
])
def test_a_row_changed_in_the_database_file_is_found_and_located(zyz, chain, database_url, how, statements, blamed,
                                                                 words):
    tamper(database_url, *statements)
    code, lines = verify(zyz)
    event_id = chain[blamed - 1]["id"] if how != "reordered" else chain[blamed]["id"]
    assert code == 1
    assert lines[0] == f"BROKEN: event #{event_id} (seq {blamed}) {words}"


@pytest.mark.parametrize("rehashed, words", [(True, "preceded by a deleted event"), (False, "edited")])
def test_an_event_deleted_and_the_next_relinked_over_it_is_found(zyz, chain, database_url, rehashed, words):
    """Event 5 deleted and event 6 linked to event 4. With 6's hash recomputed the links hold, and the gap in the
    sequence numbers still names the deletion; with its hash left as it was, 6 no longer matches its content."""
    relinked = {**chain[5], "prev_hash": chain[3]["hash"]}
    stored_hash = audit.event_hash(relinked) if rehashed else chain[5]["hash"]
    tamper(database_url, "DELETE FROM audit_event WHERE seq = 5",
           "UPDATE audit_event SET prev_hash = ?, hash = ? WHERE seq = 6",
           params=[[], [chain[3]["hash"], stored_hash]])
    code, lines = verify(zyz)
    assert code == 1 and lines[0] == f"BROKEN: event #{chain[5]['id']} (seq 6) {words}"


def test_a_row_inserted_in_the_database_file_is_found_and_located(zyz, chain, db, database_url):
    base = chain[4]
    forged = {name: base[name] for name in audit.HASHED_FIELDS}
    forged.update(kind="login_ok", comment=None, data='{"via":"web"}', prev_hash=base["hash"])
    forged["hash"] = audit.event_hash(forged)
    columns = ", ".join(f'"{c}"' for c in ("seq", *audit.HASHED_FIELDS, "hash"))
    stored_time = forged["occurred_at"].strftime("%Y-%m-%d %H:%M:%S.%f")
    values = [6, stored_time if not ON_POSTGRES else forged["occurred_at"],
              *(forged[k] for k in audit.HASHED_FIELDS[1:]), forged["hash"]]
    tamper(database_url, "UPDATE audit_event SET seq = -seq - 1 WHERE seq >= 6",
           "UPDATE audit_event SET seq = -seq WHERE seq < 0",
           f"INSERT INTO audit_event ({columns}) VALUES ({', '.join('?' * len(values))})",
           params=[[], [], values])
    inserted = next(e for e in events(db) if e["seq"] == 6)
    code, lines = verify(zyz)
    assert code == 1 and lines[0] == f"BROKEN: event #{inserted['id']} (seq 6) inserted"


def rewrite(database_url: str, chain: list[dict], start_seq: int, comment: str) -> None:
    """Rewrite the trail from `start_seq` on as a careful forger would: the content changed, every hash and link
    recomputed with the published algorithm, the head moved: the chain by itself verifies."""
    rows = [dict(e) for e in chain]
    prev = rows[start_seq - 2]["hash"] if start_seq > 1 else audit.GENESIS
    statements, params = [], []
    for row in rows[start_seq - 1:]:
        if row["seq"] == start_seq:
            row["comment"] = comment
        row["prev_hash"] = prev
        row["hash"] = prev = audit.event_hash(row)
        statements.append("UPDATE audit_event SET comment = ?, prev_hash = ?, hash = ? WHERE seq = ?")
        params.append([row["comment"], row["prev_hash"], row["hash"], row["seq"]])
    statements.append("UPDATE audit_head SET hash = ? WHERE id = 1")
    params.append([prev])
    tamper(database_url, *statements, params=params)


def test_the_whole_table_rewritten_consistently_is_caught_by_the_anchors(zyz, chain, db, database_url, anchors,
                                                                         now):
    early = anchor(db, anchors, now)  # at seq len(chain), then an anchor_written event
    late = anchor(db, anchors, now + timedelta(days=1))
    everything = events(db)
    rewrite(database_url, everything, 1, "从未发生")
    with transaction(db) as s:
        assert audit.verify(s).ok  # the chain alone cannot tell
    code, lines = verify(zyz)
    assert code == 1
    assert lines[0].startswith("OK: ")
    assert lines[1].startswith("anchors: 2 checked")
    assert lines[2] == (f"anchor of {now:%Y-%m-%d %H:%M:%S} UTC: event seq {early['seq']} differs from the anchored "
                        f"hash; the trail was rewritten up to seq {early['seq']}")
    assert lines[3].startswith(f"anchor of {now + timedelta(days=1):%Y-%m-%d %H:%M:%S} UTC: event seq "
                               f"{late['seq']} differs")


def test_a_rewrite_after_an_anchor_is_located_between_two_anchors(zyz, chain, db, database_url, anchors, now):
    early = anchor(db, anchors, now)
    with transaction(db) as s:
        audit.record(s, kind="logout", now=now + timedelta(hours=1), actor=Actor.system())
    late = anchor(db, anchors, now + timedelta(days=1))
    everything = events(db)
    rewrite(database_url, everything, early["seq"] + 2, "无")
    code, lines = verify(zyz)
    assert code == 1 and lines[0].startswith("OK: ") and len(lines) == 3
    assert lines[2] == (f"anchor of {now + timedelta(days=1):%Y-%m-%d %H:%M:%S} UTC: event seq {late['seq']} "
                        f"differs from the anchored hash; the trail was rewritten after seq {early['seq']} up to "
                        f"seq {late['seq']}")


def _lines(anchors: Path) -> list[dict]:
    return [json.loads(line) for line in (anchors / audit.ANCHOR_FILE).read_text().splitlines()]


def _write(anchors: Path, lines: list[dict]) -> None:
    (anchors / audit.ANCHOR_FILE).write_text("".join(audit.canonical_json(line) + "\n" for line in lines))


def test_an_anchor_forged_to_match_a_rewrite_is_refused_by_its_signature(zyz, chain, db, database_url, anchors,
                                                                         now):
    anchor(db, anchors, now)
    rewrite(database_url, events(db), 3, "伪造")
    lines = _lines(anchors)
    lines[0]["hash"] = events(db)[lines[0]["seq"] - 1]["hash"]  # the forger cannot sign it without the key
    _write(anchors, lines)
    code, out = verify(zyz)
    assert code == 1
    assert out[2] == (f"anchor line 1 (seq {lines[0]['seq']}): signature does not match (forged, or another key)")


def test_anchors_signed_with_another_key_are_all_refused(zyz, chain, db, anchors, now):
    with transaction(db) as s:
        audit.write_anchor(s, directory=anchors, key=b"another-key-0123456789abcdef012345", now=now)
    code, out = verify(zyz)
    assert code == 1 and "signature does not match" in out[2]


def test_a_removed_anchor_line_breaks_the_links_between_anchors(zyz, chain, db, anchors, now):
    for day in range(3):
        anchor(db, anchors, now + timedelta(days=day))
    lines = _lines(anchors)
    _write(anchors, [lines[0], lines[2]])
    code, out = verify(zyz)
    assert code == 1
    assert out[2] == "anchor line 2: does not follow the line before (an anchor was removed or moved)"


def test_events_deleted_below_an_anchor_are_reported_missing(zyz, chain, db, database_url, anchors, now):
    mark = anchor(db, anchors, now)
    tamper(database_url, f"DELETE FROM audit_event WHERE seq >= {mark['seq']}",
           f"UPDATE audit_head SET seq = {mark['seq'] - 1}, hash = '{chain[mark['seq'] - 2]['hash']}' WHERE id = 1")
    code, out = verify(zyz)
    assert code == 1 and out[0].startswith("OK: ")  # the shortened chain is consistent in itself
    assert out[2] == f"anchor of {now:%Y-%m-%d %H:%M:%S} UTC: event seq {mark['seq']} is missing from the trail"


def test_an_unreadable_anchor_line_is_reported(zyz, chain, db, anchors, now):
    anchor(db, anchors, now)
    with open(anchors / audit.ANCHOR_FILE, "a") as f:
        f.write("{not json\n")
    code, out = verify(zyz)
    assert code == 1 and out[2] == "anchor line 2: unreadable"


def test_zyz_audit_anchor_writes_a_signed_anchor_of_the_head(zyz, chain, db, anchors):
    result = zyz("audit", "anchor")
    assert result.exit_code == 0, result.output
    (line,) = _lines(anchors)
    assert (line["seq"], line["hash"], line["prev"]) == (len(chain), chain[-1]["hash"], "")
    assert line == audit.sign_anchor(KEY.encode(), seq=line["seq"], hash=line["hash"],
                                     anchored_at=datetime.fromisoformat(line["anchored_at"]))
    assert events(db)[-1]["kind"] == "anchor_written"
    assert verify(zyz)[0] == 0


def test_the_daily_job_writes_the_first_time_it_runs_each_beijing_day(db, chain, anchors, now):
    def job(moment):
        with transaction(db) as s:
            return audit.write_anchor(s, directory=anchors, key=KEY.encode(), now=moment, only_if_due=True)

    assert job(now) is not None
    assert job(now + timedelta(hours=3)) is None
    midnight = now.astimezone(LOCAL_TZ).replace(hour=0, minute=5) + timedelta(days=1)
    assert job(midnight - timedelta(minutes=10)) is None  # 23:55 Beijing, the same day
    assert job(midnight) is not None  # 00:05 the next day (16:05 UTC)
    lines = _lines(anchors)
    assert len(lines) == 2 and lines[1]["prev"] == lines[0]["hmac"]


def test_the_scheduler_has_the_anchor_job(app, tmp_path):
    from webapp.cli import _scheduler

    app.config.update(ANCHOR_DIR=str(tmp_path / "anchors"), AUDIT_HMAC_KEY=KEY)
    scheduler = _scheduler(app, background=True)
    (job,) = [j for j in scheduler.get_jobs() if j.id == "audit-anchor"]
    assert str(job.trigger).startswith("cron") and "minute='7'" in str(job.trigger)


def test_production_refuses_a_missing_default_or_short_anchor_key():
    from webapp.config import DEFAULT_AUDIT_KEY, ConfigError, check_production

    good = {"ZYZ_ENV": "production", "SECRET_KEY": "Jf3q-9xKwB2mZtY7vLr0_Hs5NdUe8GcP1aQoXiVy4Tk",
            "AUDIT_HMAC_KEY": KEY}
    check_production(good)
    for key in (DEFAULT_AUDIT_KEY, "", "short", "s" * 40):
        with pytest.raises(ConfigError, match="ZYZ_AUDIT_HMAC_KEY"):
            check_production({**good, "AUDIT_HMAC_KEY": key})
    with pytest.raises(ConfigError, match="ZYZ_AUDIT_HMAC_KEY"):
        check_production({k: v for k, v in good.items() if k != "AUDIT_HMAC_KEY"})


@pytest.mark.sqlite  # PostgreSQL returns timestamps, not text
def test_a_stored_time_in_another_format_is_hashed_as_the_column_reads_it(db, chain, database_url, engine):
    """verify reads SQLite's text times itself for speed; a time stored in another format (a hand-made row that
    SQLAlchemy still reads) must be judged exactly as the column reads it, not as text."""
    last = chain[-1]
    row = {name: last[name] for name in audit.HASHED_FIELDS}
    row.update(kind="logout", data="{}", prev_hash=last["hash"], occurred_at=last["occurred_at"].replace(microsecond=0))
    row["hash"] = audit.event_hash(row)
    columns = ", ".join(f'"{c}"' for c in ("seq", *audit.HASHED_FIELDS, "hash"))
    values = [len(chain) + 1, row["occurred_at"].strftime("%Y-%m-%d %H:%M:%S"),
              *(row[k] for k in audit.HASHED_FIELDS[1:]), row["hash"]]
    tamper(database_url, f"INSERT INTO audit_event ({columns}) VALUES ({', '.join('?' * len(values))})",
           "UPDATE audit_head SET seq = ?, hash = ? WHERE id = 1", params=[values, [len(chain) + 1, row["hash"]]])
    with transaction(db) as s:
        assert audit.verify(s).ok
    result = audit.check_integrity(engine, anchor_dir="/nonexistent", key=b"k")
    assert result.ok and result.chain.count == len(chain) + 1


def test_verify_reads_a_snapshot_and_does_not_hold_up_writers(db, engine, chain, now):
    """The web check and the CLI read in a snapshot: a writer goes on meanwhile, and what it adds is not seen."""
    with audit.snapshot(engine) as reader:
        assert reader.first("SELECT seq FROM audit_head WHERE id = 1") == (len(chain),)
        done = threading.Event()

        def write():
            with transaction(db) as s:
                audit.record(s, kind="logout", now=now, actor=Actor.system())
            done.set()

        thread = threading.Thread(target=write)
        thread.start()
        assert done.wait(5), "the writer was held up by the snapshot"
        thread.join()
        result = audit._verify(reader)
        assert result.ok and result.count == len(chain)
    with transaction(db) as s:
        assert audit.verify(s).count == len(chain) + 1


def test_verify_in_batches_gives_the_same_answer(db, chain, database_url):
    tamper(database_url, "DELETE FROM audit_event WHERE seq = 9")
    with transaction(db) as s:
        results = {batch: audit.verify(s, batch=batch) for batch in (1, 2, 3, 7, 1000)}
    assert len(set(map(repr, results.values()))) == 1
    assert results[1].problem == "deleted" and results[1].seq == 10


def test_the_database_writes_the_same_canonical_text_as_python(db, engine, chain, now):
    """verify lets SQLite (json_array) or PostgreSQL (to_json) write each event's canonical JSON, and hashes that:
    for every kind of text it must be the very text Python hashed, or verify would fall back row by row."""
    tricky = ['引号"与\\反斜杠', "换行\n回车\r制表\t", "\b\f\x01\x1f\x7f", "\u2028\u2029", "😀 é /<script>", "", None]
    with transaction(db) as s:
        for text in tricky:
            audit.record(s, kind="logout", now=now + timedelta(microseconds=123457), actor=Actor.system(),
                         comment=text, data={"note": text, "n": 2**40, "x": 1.5})
    with audit.snapshot(engine) as reader:
        fast = [row for rows in reader.batches(3, fast=True) for row in rows]
        slow = [row for rows in reader.batches(3, fast=False) for row in rows]
    assert len(fast) == len(chain) + len(tricky)
    assert fast == slow
    assert all(hashlib.sha256(text.encode()).hexdigest() == stored for _, stored, _, text in fast)


@pytest.mark.postgres  # SQLite's cursor steps through the file itself
@pytest.mark.parametrize("fast", [True, False], ids=["fast", "slow"])
def test_on_postgresql_the_trail_is_walked_through_a_cursor_on_the_server(engine, chain, fast):
    """A trail of a million events is not fetched into the verifier's memory at once: the server holds the walk's
    cursor, and a batch at a time comes over, whichever way the events are read."""
    with audit.snapshot(engine) as reader:
        batches = reader.batches(2, fast=fast)
        first = next(batches)
        assert reader.first("SELECT count(*) FROM pg_cursors") == (1,)
        rest = [row for rows in batches for row in rows]
        assert reader.first("SELECT count(*) FROM pg_cursors") == (0,)  # closed once walked
    assert len(first) == 2
    assert [row[0] for row in first + rest] == [event["seq"] for event in chain]


@pytest.mark.sqlite  # only SQLite lets a BLOB into a text column
def test_a_blob_slipped_into_a_text_column_is_an_edit_not_a_crash(zyz, chain, database_url):
    tamper(database_url, "UPDATE audit_event SET comment = ? WHERE seq = 4", params=[[b"\x00\xff"]])
    code, lines = verify(zyz)
    assert code == 1 and lines[0] == f"BROKEN: event #{chain[3]['id']} (seq 4) edited"


# ---- what verify and the anchors say, word for word ----------------------------------------------------------


def test_an_intact_chain_says_so_in_both_languages(db, chain):
    with transaction(db) as s:
        result = audit.verify(s)
    head = chain[-1]["hash"][:16]
    assert (result.ok, result.count, result.head_hash) == (True, len(chain), chain[-1]["hash"])
    assert result.describe() == f"完整：共 {len(chain)} 条事件，哈希链完整，链头 {head}"
    assert result.describe("en") == f"OK: {len(chain)} events, chain intact, head {head}"


@pytest.mark.parametrize(("problem", "zh", "en"), [
    ("edited", "被篡改", "edited"), (None, "被篡改", "edited"),
    ("deleted", "之前有事件被删除", "preceded by a deleted event"), ("inserted", "为插入的事件", "inserted"),
    ("reordered", "顺序被调换", "reordered"), ("truncated", "之后的事件被删除", "followed by deleted events"),
])
def test_a_broken_chain_names_the_event_and_what_happened(problem, zh, en):
    result = audit.VerifyResult(False, 4, "a" * 64, problem, 5, 17)
    assert result.describe() == f"已损坏：事件 #17（序号 5）{zh}"
    assert result.describe("en") == f"BROKEN: event #17 (seq 5) {en}"


def test_a_head_switched_without_its_event_is_named_with_the_algorithm():
    result = audit.VerifyResult(False, 4, "a" * 64, "algorithm", 4, 17, "sm3")
    assert result.describe() == "已损坏：事件 #17（序号 4）之后，链头记录的哈希算法被改为 sm3，链中没有相应的切换事件"
    assert result.describe("en") == ("BROKEN: event #17 (seq 4) is followed by a head whose hash algorithm was "
                                     "changed to sm3 without a switch-over event in the chain")


@pytest.mark.parametrize("head, problem", [("hash = 'f'", "edited"), ("seq = 2", "truncated")])
def test_a_trail_of_one_event_under_a_head_that_does_not_match_blames_that_event(db, now, database_url, head,
                                                                                  problem):
    """The head names another last event (edited), or one more event than there is (truncated): the blame falls on
    the only event, by its id."""
    with transaction(db) as s:
        only = audit.record(s, kind="login_ok", now=now, data={"via": "web"})
    tamper(database_url, f"UPDATE audit_head SET {head}")
    with transaction(db) as s:
        result = audit.verify(s)
    [stored] = events(db)
    assert only["seq"] == 1
    assert (result.ok, result.problem, result.seq, result.event_id) == (False, problem, 1, stored["id"])


def test_the_first_event_edited_is_blamed_by_its_id(zyz, chain, database_url):
    tamper(database_url, "UPDATE audit_event SET comment = 'x' WHERE seq = 1")
    code, out = verify(zyz)
    assert code == 1 and out[0] == f"BROKEN: event #{chain[0]['id']} (seq 1) edited"


def test_an_event_linking_to_nothing_before_one_that_links_over_it_is_an_insertion(zyz, chain, db, database_url):
    """Slipped in with a made-up link: the next event still links to the one before it."""
    forged = {name: chain[4][name] for name in audit.HASHED_FIELDS}
    forged.update(kind="login_ok", prev_hash="e" * 64, data=audit.canonical_json({}))
    forged["hash"] = audit.event_hash(forged)
    shift = "UPDATE audit_event SET seq = -(seq + 1) WHERE seq >= 6"
    back = "UPDATE audit_event SET seq = -seq WHERE seq < 0"
    columns = ", ".join(f'"{c}"' if c == "trigger" else c for c in ("seq", "hash", *audit.HASHED_FIELDS))
    insert = f"INSERT INTO audit_event ({columns}) VALUES ({', '.join('?' * (len(audit.HASHED_FIELDS) + 2))})"
    values = [6, forged["hash"], *(forged[c] for c in audit.HASHED_FIELDS)]
    tamper(database_url, shift, back, insert, params=[[], [], values])
    inserted = next(e for e in events(db) if e["seq"] == 6)
    code, out = verify(zyz)
    assert code == 1 and out[0] == f"BROKEN: event #{inserted['id']} (seq 6) inserted"


def test_a_time_read_back_is_hashed_as_utc_whatever_the_server_clock(monkeypatch, db, chain):
    """A server set to Beijing time hashes a stored time as the same UTC moment as one set to UTC."""
    import time as clock

    monkeypatch.setenv("TZ", "Asia/Shanghai")
    clock.tzset()
    try:
        with transaction(db) as s:
            reader = audit._reader_of(s)
            moment = datetime(2026, 11, 27, 2, 0)
            expected = "2026-11-27T02:00:00.000000+00:00"
            assert reader.hashed_time(moment) == expected  # a naive time is UTC, as the column reads it
            assert reader.hashed_time(moment.replace(tzinfo=LOCAL_TZ)) == "2026-11-26T18:00:00.000000+00:00"
            if not ON_POSTGRES:  # SQLite gives the stored text back; PostgreSQL's driver gives datetimes only
                assert reader.hashed_time("2026-11-27 02:00:00.000000") == expected
                assert reader.hashed_time("2026-11-27T02:00:00") == expected
            assert audit.verify(s).ok
    finally:
        monkeypatch.delenv("TZ")
        clock.tzset()


def test_an_anchor_line_is_signed_over_its_version_head_time_and_link():
    import hmac

    moment = datetime(2026, 11, 27, 2, 0, tzinfo=LOCAL_TZ)
    line = audit.sign_anchor(KEY.encode(), seq=12, hash="c" * 64, anchored_at=moment, prev="d" * 64)
    body = {"v": 1, "seq": 12, "hash": "c" * 64, "anchored_at": "2026-11-26T18:00:00.000000+00:00", "prev": "d" * 64}
    signature = hmac.new(KEY.encode(), json.dumps(body, sort_keys=True, separators=(",", ":")).encode(),
                         hashlib.sha256).hexdigest()
    assert line == {**body, "hmac": signature}


@pytest.mark.parametrize(("problem", "zh", "en"), [
    (audit.AnchorProblem(3, "unreadable"), "锚点第 3 行：无法读取", "anchor line 3: unreadable"),
    (audit.AnchorProblem(3, "forged", 12), "锚点第 3 行（序号 12）：签名不符（被伪造或密钥不同）",
     "anchor line 3 (seq 12): signature does not match (forged, or another key)"),
    (audit.AnchorProblem(3, "unlinked", 12), "锚点第 3 行：与上一行不衔接（有锚点被删除或移动）",
     "anchor line 3: does not follow the line before (an anchor was removed or moved)"),
    (audit.AnchorProblem(3, "missing", 12, "2026-11-27T02:00:00.000000+00:00"),
     "2026-11-27 02:00:00 UTC 的锚点：序号 12 的事件已不在审计记录中",
     "anchor of 2026-11-27 02:00:00 UTC: event seq 12 is missing from the trail"),
    (audit.AnchorProblem(3, "missing", 12), "? 的锚点：序号 12 的事件已不在审计记录中",
     "anchor of ?: event seq 12 is missing from the trail"),
    (audit.AnchorProblem(3, "differs", 12, "2026-11-27T02:00:00+00:00"),
     "2026-11-27 02:00:00 UTC 的锚点：序号 12 的事件与锚定的哈希不符，审计记录在序号 12 及之前被改写",
     "anchor of 2026-11-27 02:00:00 UTC: event seq 12 differs from the anchored hash; the trail was rewritten "
     "up to seq 12"),
    (audit.AnchorProblem(3, "differs", 12, "2026-11-27T02:00:00+00:00", 7),
     "2026-11-27 02:00:00 UTC 的锚点：序号 12 的事件与锚定的哈希不符，审计记录在序号 7 之后、序号 12 及之前被改写",
     "anchor of 2026-11-27 02:00:00 UTC: event seq 12 differs from the anchored hash; the trail was rewritten "
     "after seq 7 up to seq 12"),
])
def test_each_anchor_problem_in_both_languages(problem, zh, en):
    assert (problem.describe(), problem.describe("en")) == (zh, en)


def test_the_anchor_report_in_both_languages():
    none = audit.AnchorReport()
    assert none.describe() == ["锚点：尚无（调度程序每天写入一个）"]
    assert none.describe("en") == ["anchors: none yet (the scheduler writes one a day)"]
    assert audit.AnchorReport(has_file=True).describe("en") == none.describe("en")  # an empty file
    newest = {"anchored_at": "2026-11-27T02:00:00.000000+00:00", "seq": 9}
    good = audit.AnchorReport(has_file=True, count=2, newest=newest)
    assert good.describe() == ["锚点：已核对 2 个，最新 2026-11-27 02:00:00 UTC（序号 9），全部相符"]
    assert good.describe("en") == ["anchors: 2 checked, newest 2026-11-27 02:00:00 UTC (seq 9); all match"]
    bad = audit.AnchorReport(has_file=True, count=1, problems=[audit.AnchorProblem(1, "unreadable")])
    assert bad.describe() == ["锚点：已核对 1 个，最新  UTC（序号 None）", "锚点第 1 行：无法读取"]
    assert audit.Integrity(audit.VerifyResult(True, 0, audit.GENESIS), good).describe("en") == [
        "OK: 0 events, chain intact, head 0000000000000000", good.describe("en")[0]]


def _check(db, anchors):
    with transaction(db) as s:
        return audit.check_anchors(audit._reader_of(s), directory=anchors, key=KEY.encode())


def _problems(report):
    return [(p.line, p.problem, p.seq, p.anchored_at, p.good_seq) for p in report.problems]


def test_anchors_checked_line_by_line(db, chain, anchors, now):
    first = anchor(db, anchors, now)
    path = anchors / audit.ANCHOR_FILE
    other_key = audit.sign_anchor(b"another-key-" * 3, seq=first["seq"], hash=first["hash"],
                                  anchored_at=now, prev=first["hmac"])
    with open(path, "a") as f:
        f.write("\n")  # a blank line is skipped
        f.write(audit.canonical_json({**first, "seq": str(first["seq"])}) + "\n")  # a seq that is not a number
        f.write(audit.canonical_json({**first, "hmac": 7}) + "\n")  # a signature that is not text
        f.write(audit.canonical_json(other_key) + "\n")  # signed with another key
    # the next anchor links to the forged line's signature: it follows it, so only the forgery is reported
    linked = audit.sign_anchor(KEY.encode(), seq=first["seq"], hash=first["hash"], anchored_at=now,
                               prev=other_key["hmac"])
    with open(path, "a") as f:
        f.write(audit.canonical_json(linked) + "\n")
    report = _check(db, anchors)
    stamp = first["anchored_at"]
    assert report.count == 5 and report.newest == linked
    assert _problems(report) == [(3, "unreadable", None, None, None), (4, "unreadable", None, None, None),
                                 (5, "forged", first["seq"], stamp, None)]


def test_after_an_unreadable_line_the_next_anchor_starts_a_new_chain_of_links(db, chain, anchors, now):
    path = anchors / audit.ANCHOR_FILE
    path.parent.mkdir(parents=True)
    path.write_text("garbage\n")
    with transaction(db) as s:
        line = audit.write_anchor(s, directory=anchors, key=KEY.encode(), now=now)
    assert line["prev"] == ""  # the line before could not be read
    assert _problems(_check(db, anchors)) == [(1, "unreadable", None, None, None)]


def test_anchors_of_the_first_event_and_of_an_empty_trail_match(db, anchors, now):
    assert _problems(_check(db, anchors)) == [] and not _check(db, anchors).has_file
    empty = anchor(db, anchors, now)  # the trail is empty: the anchor holds seq 0 and the genesis hash
    assert (empty["seq"], empty["hash"]) == (0, audit.GENESIS)
    first = anchor(db, anchors, now)  # now it holds the first event: the anchor_written event of the first
    assert first["seq"] == 1
    report = _check(db, anchors)
    assert (report.count, _problems(report)) == (2, [])


def test_an_anchor_rewritten_or_removed_is_located(db, chain, anchors, now, database_url):
    first = anchor(db, anchors, now)
    path = anchors / audit.ANCHOR_FILE
    forged_missing = audit.sign_anchor(KEY.encode(), seq=999, hash="a" * 64, anchored_at=now, prev=first["hmac"])
    forged_differs = audit.sign_anchor(KEY.encode(), seq=first["seq"], hash="b" * 64, anchored_at=now,
                                       prev=forged_missing["hmac"])
    unlinked = audit.sign_anchor(KEY.encode(), seq=first["seq"], hash=first["hash"], anchored_at=now, prev="x")
    with open(path, "a") as f:
        for line in (forged_missing, forged_differs, unlinked):
            f.write(audit.canonical_json(line) + "\n")
    stamp = first["anchored_at"]
    assert _problems(_check(db, anchors)) == [(2, "missing", 999, stamp, None),
                                              (3, "differs", first["seq"], stamp, first["seq"]),
                                              (4, "unlinked", first["seq"], stamp, None)]


def test_writing_an_anchor(db, chain, anchors, now):
    with pytest.raises(InvalidInput) as refused, transaction(db) as s:
        audit.write_anchor(s, directory=anchors, key=b"", now=now)
    assert (refused.value.zh, refused.value.en) == ("未配置审计锚点的签名密钥。",
                                                    "No HMAC key for the audit anchors is configured.")
    deep = anchors / "a" / "b"
    first = anchor(db, deep, now)
    second = anchor(db, deep, now + timedelta(minutes=1))  # asked outright: written even on the same day
    assert second["prev"] == first["hmac"] and len(_lines(deep)) == 2
    assert (deep.stat().st_mode & 0o777) == 0o700  # only the service's account reads the anchors
    written = [e for e in events(db) if e["kind"] == "anchor_written"]
    assert [json.loads(e["data"]) for e in written] == [{"seq": first["seq"], "hash": first["hash"]},
                                                        {"seq": second["seq"], "hash": second["hash"]}]
    assert {e["role"] for e in written} == {"system"}


def test_a_last_line_that_is_not_an_anchor_is_linked_over(db, chain, anchors, now):
    path = anchors / audit.ANCHOR_FILE
    path.parent.mkdir(parents=True)
    path.write_text("[1, 2]\n")
    with transaction(db) as s:
        line = audit.write_anchor(s, directory=anchors, key=KEY.encode(), now=now, only_if_due=True)
    assert line is not None and line["prev"] == ""


# --- SM3 ------------------------------------------------------------------------------------------------------------

def sm3(text: str) -> str:
    return hashlib.new("sm3", text.encode()).hexdigest()


def canonical(event: dict) -> str:
    return audit.canonical_json([audit.stamp(event["occurred_at"]) if k == "occurred_at" else event[k]
                                 for k in audit.HASHED_FIELDS])


@pytest.fixture
def switched(db, now, chain):
    """The chain of test_audit_integrity, switched to SM3, then two more logins."""
    with transaction(db) as s:
        switch = audit.switch_algorithm(s, to="sm3", now=now, actor=Actor.system())
    with transaction(db) as s:
        for n in range(2):
            audit.record(s, kind="login_ok", now=now + timedelta(minutes=10 + n), data={"via": "web"})
    return switch


def test_after_the_switch_every_event_is_hashed_with_sm3_and_the_switch_itself_the_old_way(db, chain, switched):
    trail = events(db)
    switch, after = trail[len(chain)], trail[len(chain) + 1:]
    assert switch["kind"] == "hash_algorithm_changed" and json.loads(switch["data"]) == {"from": "sha256",
                                                                                         "to": "sm3"}
    assert switch["actor_name"] == Actor.system().name
    assert switch["hash"] == hashlib.sha256(canonical(switch).encode()).hexdigest() == switched["hash"]
    assert len(after) == 2
    for event in after:
        assert event["hash"] == sm3(canonical(event)) == audit.event_hash(event, "sm3")
        assert event["hash"] != audit.event_hash(event)
    assert [e["prev_hash"] for e in after] == [switch["hash"], after[0]["hash"]]
    with transaction(db) as s:
        assert audit.chain_algorithm(s) == "sm3"
        head = s.get(AuditHead, 1)
        assert (head.seq, head.hash, head.algorithm) == (len(chain) + 3, after[-1]["hash"], "sm3")


def test_the_whole_chain_verifies_and_says_it_is_hashed_with_sm3(db, chain, switched):
    with transaction(db) as s:
        result = audit.verify(s)
    head = events(db)[-1]["hash"]
    assert (result.ok, result.count, result.head_hash, result.algorithm) == (True, len(chain) + 3, head, "sm3")
    assert result.describe() == f"完整：共 {len(chain) + 3} 条事件，哈希链完整，链头 {head[:16]}，哈希算法 SM3"
    assert result.describe("en") == f"OK: {len(chain) + 3} events, chain intact, head {head[:16]}, hashed with SM3"


def test_a_chain_never_switched_verifies_as_sha256_and_says_nothing_of_it(db, chain):
    with transaction(db) as s:
        result = audit.verify(s)
    assert result.ok and result.algorithm == "sha256" and "SM3" not in result.describe()


def test_switching_to_the_hash_in_use_writes_nothing(db, now, switched, chain):
    with transaction(db) as s:
        assert audit.switch_algorithm(s, to="sm3", now=now) is None
    assert len(events(db)) == len(chain) + 3


def test_switching_back_is_recorded_too_and_the_chain_still_verifies(db, now, switched, chain):
    with transaction(db) as s:
        back = audit.switch_algorithm(s, to="sha256", now=now)
        audit.record(s, kind="login_ok", now=now, data={"via": "web"})
    trail = events(db)
    assert back["hash"] == sm3(canonical(trail[-2]))  # the switch back is the last event in SM3
    assert trail[-1]["hash"] == hashlib.sha256(canonical(trail[-1]).encode()).hexdigest()
    with transaction(db) as s:
        result = audit.verify(s)
    assert result.ok and result.count == len(chain) + 5 and result.algorithm == "sha256"


def test_an_unknown_hash_is_refused_in_words_and_nothing_is_written(db, now, chain):
    with pytest.raises(InvalidInput) as refused, transaction(db) as s:
        audit.switch_algorithm(s, to="md5", now=now)
    assert refused.value.zh == "不支持的哈希算法：md5（可选：sha256、sm3）"
    assert refused.value.en == "Unknown hash algorithm: md5 (one of: sha256, sm3)"
    assert len(events(db)) == len(chain)


def test_an_sm3_event_edited_in_the_database_is_found_and_located(zyz, db, chain, switched, database_url):
    seq = len(chain) + 2
    tamper(database_url, f"UPDATE audit_event SET data = '{{\"via\":\"api\"}}' WHERE seq = {seq}")
    code, lines = verify(zyz)
    assert code == 1
    assert lines[0] == f"BROKEN: event #{events(db)[seq - 1]['id']} (seq {seq}) edited"


def test_an_event_slipped_in_with_sha256_after_the_switch_is_not_accepted(zyz, db, chain, switched, database_url):
    """Someone writing an event around record() with the hash they know: the chain expects SM3 there."""
    last = events(db)[-1]
    forged = {name: last[name] for name in audit.HASHED_FIELDS}
    forged.update(prev_hash=last["hash"], comment="补录")
    forged["hash"] = audit.event_hash(forged)  # SHA-256
    columns = ["seq", "hash", *audit.HASHED_FIELDS]
    tamper(database_url, f"INSERT INTO audit_event ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})",
           "UPDATE audit_head SET seq = seq + 1, hash = ?",
           params=[[last["seq"] + 1, forged["hash"], *[forged[c] for c in audit.HASHED_FIELDS]], [forged["hash"]]])
    code, lines = verify(zyz)
    inserted = events(db)[-1]
    assert code == 1 and lines[0] == f"BROKEN: event #{inserted['id']} (seq {inserted['seq']}) edited"


def test_a_head_switched_back_without_an_event_is_reported(db, chain, switched, database_url):
    """The head says SHA-256 (so the next event would be hashed the weaker way) though no event switched back."""
    tamper(database_url, "UPDATE audit_head SET algorithm = 'sha256'")
    with transaction(db) as s:
        result = audit.verify(s)
    last = events(db)[-1]
    assert (result.ok, result.problem, result.seq, result.event_id) == (False, "algorithm", last["seq"], last["id"])
    assert result.describe() == (f"已损坏：事件 #{last['id']}（序号 {last['seq']}）之后，"
                                 "链头记录的哈希算法被改为 sha256，链中没有相应的切换事件")


def test_a_head_switched_to_sm3_without_an_event_is_reported_naming_sm3(db, chain, database_url):
    """The other way round: a SHA-256 chain whose head says the next event will be hashed with SM3."""
    tamper(database_url, "UPDATE audit_head SET algorithm = 'sm3'")
    with transaction(db) as s:
        result = audit.verify(s)
    last = chain[-1]
    assert (result.ok, result.problem, result.count, result.seq, result.event_id) == (
        False, "algorithm", len(chain), last["seq"], last["id"])
    assert result.describe("en") == (f"BROKEN: event #{last['id']} (seq {last['seq']}) is followed by a head whose "
                                     "hash algorithm was changed to sm3 without a switch-over event in the chain")


def test_a_switch_event_naming_no_known_hash_is_an_edit(db, chain, database_url, now):
    """Written around record() with a valid hash, a switch to a hash that does not exist cannot be followed."""
    last = events(db)[-1]
    forged = {name: last[name] for name in audit.HASHED_FIELDS}
    forged.update(kind="hash_algorithm_changed", data='{"from":"sha256","to":"md5"}', prev_hash=last["hash"])
    forged["hash"] = audit.event_hash(forged)
    forged_id = last["id"] + 100  # an id apart from its seq, so that each is seen where it belongs
    columns = ["id", "seq", "hash", *audit.HASHED_FIELDS]
    tamper(database_url, f"INSERT INTO audit_event ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})",
           "UPDATE audit_head SET seq = seq + 1, hash = ?",
           params=[[forged_id, last["seq"] + 1, forged["hash"], *[forged[c] for c in audit.HASHED_FIELDS]],
                   [forged["hash"]]])
    with transaction(db) as s:
        result = audit.verify(s)
    assert (result.ok, result.problem, result.seq, result.count, result.event_id) == (
        False, "edited", last["seq"] + 1, last["seq"], forged_id)
    assert result.describe("en") == f"BROKEN: event #{forged_id} (seq {last['seq'] + 1}) edited"


def test_anchors_of_an_sm3_chain_are_signed_with_hmac_sm3_and_name_it(zyz, db, chain, switched, anchors, now):
    line = anchor(db, anchors, now + timedelta(days=1))
    body = {k: line[k] for k in ("v", "seq", "hash", "anchored_at", "prev", "alg")}
    assert line["alg"] == "sm3" and line["seq"] == len(chain) + 3
    assert line["hmac"] == hmac.new(KEY.encode(), audit.canonical_json(body).encode(), "sm3").hexdigest()
    code, lines = verify(zyz)
    assert code == 0 and lines[0].endswith("hashed with SM3") and lines[1].endswith("all match")


def _anchor_problems(engine, anchors) -> list[tuple[int, str]]:
    with audit.snapshot(engine) as reader:
        report = audit.check_anchors(reader, directory=anchors, key=KEY.encode())
    return [(p.line, p.problem) for p in report.problems]


def test_an_anchor_whose_hash_name_was_changed_is_forged(engine, db, chain, switched, anchors, now):
    anchor(db, anchors, now + timedelta(days=1))
    path = anchors / audit.ANCHOR_FILE
    line = json.loads(path.read_text())
    line["alg"] = "sha256"  # the signature was made with HMAC-SM3 over a body naming sm3
    path.write_text(json.dumps(line) + "\n")
    assert _anchor_problems(engine, anchors) == [(1, "forged")]


def test_an_anchor_naming_an_unknown_hash_is_unreadable(engine, db, chain, anchors, now):
    anchor(db, anchors, now)
    path = anchors / audit.ANCHOR_FILE
    line = json.loads(path.read_text())
    line["alg"] = "md5"
    path.write_text(json.dumps(line) + "\n")
    assert _anchor_problems(engine, anchors) == [(1, "unreadable")]


def test_an_archive_of_an_sm3_chain_carries_the_sm3_of_its_file_and_an_hmac_sm3(db, chain, switched, tmp_path, now):
    with transaction(db) as s:
        result = audit.archive(s, before=date(2100, 1, 1), today=date(2100, 12, 31), directory=tmp_path / "out",
                               now=now, key=KEY.encode())
    manifest = json.loads(result.manifest_path.read_text())
    data = result.path.read_bytes()
    assert manifest["alg"] == "sm3"
    assert manifest["sm3"] == hashlib.new("sm3", data).hexdigest()
    assert manifest["sha256"] == hashlib.sha256(data).hexdigest()
    signed = {k: v for k, v in manifest.items() if k != "hmac"}
    assert manifest["hmac"] == hmac.new(KEY.encode(), audit.canonical_json(signed).encode(), "sm3").hexdigest()


def test_zyz_init_with_sm3_records_the_switch_once(run_zyz, zyz, db, chain, anchors):
    def init(**env: str):
        return run_zyz("init", env={"ZYZ_ANCHOR_DIR": str(anchors), "ZYZ_AUDIT_HMAC_KEY": KEY, **env})

    first = init(ZYZ_AUDIT_HASH="SM3")
    assert first.exit_code == 0, first.output
    assert "the audit trail's events are hashed with sm3 from now on (switch recorded)" in first.output
    assert first.output.strip().endswith("audit hash sm3")
    again = init(ZYZ_AUDIT_HASH="sm3")
    assert again.exit_code == 0 and "switch recorded" not in again.output
    unset = init()  # the variable left out: the chain keeps its hash
    assert unset.exit_code == 0 and unset.output.strip().endswith("audit hash sm3")
    assert [e["kind"] for e in events(db)].count("hash_algorithm_changed") == 1
    code, lines = verify(zyz)
    assert code == 0 and lines[0].endswith("hashed with SM3")


def test_an_unknown_zyz_audit_hash_is_refused_at_start():
    with pytest.raises(ConfigError, match="ZYZ_AUDIT_HASH must be one of sha256, sm3, not 'md5'"):
        check_production({"AUDIT_HASH": "md5"})
    check_production({"AUDIT_HASH": "sm3"})
    check_production({"AUDIT_HASH": None})


def test_a_switch_rolled_back_leaves_the_head_as_it_was(db, chain, now):
    with pytest.raises(RuntimeError), transaction(db) as s:
        audit.switch_algorithm(s, to="sm3", now=now)
        raise RuntimeError("the rest of the action failed")
    with transaction(db) as s:
        assert audit.chain_algorithm(s) == "sha256"
        assert s.connection().execute(sa.select(sa.func.count()).select_from(AuditHead)).scalar() == 1
    assert len(events(db)) == len(chain)
