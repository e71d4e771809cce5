"""The audit trail: append hash-chained events, verify the chain and its signed anchors, search, archive.

Nothing here updates or deletes an event: the database refuses it (a trigger), and no function offers it.
"""

from __future__ import annotations

import csv
import fcntl
import hashlib
import hmac
import json
import os
import re
import sqlite3
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session as OrmSession
from sqlmodel import Session

from workflow.core.actors import Actor
from workflow.core.calendar import local_date, local_moment
from workflow.core.db import Prepared, is_sqlite, table_of
from workflow.core.errors import InvalidInput
from workflow.core.models import AuditEvent, AuditHead, Case, User
from workflow.core.reasons import parse_whole

GENESIS = "0" * 64

# The hashes the chain can be written with: SHA-256 by default, SM3 (GB/T 32905, through OpenSSL 3) where the
# deployment asks for national cryptography (ZYZ_AUDIT_HASH=sm3 at `zyz init`). The anchors' and archives' HMAC use
# the same one. A chain starts in SHA-256; a hash_algorithm_changed event (itself hashed the old way) switches every
# event after it, and `verify` follows the switch along the chain.
HASHES: dict[str, Callable[..., Any]] = {"sha256": hashlib.sha256, "sm3": lambda data=b"": hashlib.new("sm3", data)}
DEFAULT_ALGORITHM = "sha256"
ALGORITHM_CHANGED = "hash_algorithm_changed"

# The fields an event's hash covers, in this order. `seq` is not among them: it is checked for
# continuity on its own, so a reordering shows as a broken link rather than as an edit.
HASHED_FIELDS = (
    "occurred_at", "kind", "actor_id", "actor_name", "role", "unit_id", "unit_name", "county_id",
    "ip", "case_id", "trigger", "from_state", "to_state", "comment", "data", "prev_hash",
)

# The kinds the application records (searchable by the auditor); others may appear and are shown as they are.
EVENT_KINDS = (
    "transition", "case_created", "town_created", "attachment_added", "login_ok", "login_failed",
    "login_rate_limited", "logout", "lockout", "session_ended", "password_changed", "password_expired",
    "password_rehashed", "user_created", "user_locked", "user_unlocked", "admin_change", "permission_refused",
    "permission_refused_summary",
    "reminder_sent", "notification_sent", "notification_failed", "notification_retried",
    "notification_preferences_changed", "deadline_failed", "search", "export", "integrity_check", "anchor_written",
    "archive", "incident_opened", "incident_retried", "incident_retry_failed", "incident_resolved",
    "incident_recovered", "reminder_skipped", "demo_clock_set", "deadline_recounted",
    "template_replaced", "template_restored",
    "files_swept",
    "receipt_expected", "receipt_acknowledged", "receipt_reminded",
    "reminder_batch_sent",
    "tier_changed", "statistics_campaign_opened", "statistics_imported",
    "unit_preset_saved", "unit_preset_deleted",
    "list_exported",
    "designation_renewed", "redesignation_reviews_opened",
    "seat_handed_over", "acting_changed",
    "evaluation_campaign_opened", "town_praised",
    "problems_imported",
    "meeting_recorded",
    "plan_tasks_imported",
    "dossier_downloaded",
    ALGORITHM_CHANGED, "data_keys_rotated", "password_common",
    "account_requested", "account_request_approved", "account_request_rejected",
    "second_factor_required", "second_factor_enrolled", "second_factor_reset", "recovery_code_used",
    "sms_code_sent", "recovery_codes_regenerated",
)

_event_table = table_of(AuditEvent)
_head_table = table_of(AuditHead)
# Built once: record() runs inside every fire, and building a statement costs more than executing it.
_HEAD = sa.select(_head_table.c.seq, _head_table.c.hash, _head_table.c.algorithm).where(_head_table.c.id == 1)
_HEAD_LOCKED = _HEAD.with_for_update()
_READ_HEAD = {True: Prepared(_HEAD), False: Prepared(_HEAD_LOCKED)}  # by is_sqlite
_INSERT = Prepared(_event_table.insert())
_MOVE_HEAD = Prepared(_head_table.update().where(_head_table.c.id == 1))
# One encoder for every hash: json.dumps with options builds a new encoder on each call.
_ENCODER = json.JSONEncoder(ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=str)


def canonical_json(value: Any) -> str:
    """JSON with sorted keys and no spaces: the same data always gives the same text."""
    return _ENCODER.encode(value)


def stamp(value: datetime) -> str:
    """The text an event's time is hashed as: UTC, ISO 8601, microseconds."""
    return value.astimezone(UTC).isoformat(timespec="microseconds")


def event_hash(row: Mapping[str, Any], algorithm: str = DEFAULT_ALGORITHM) -> str:
    """The hash (SHA-256 unless told) of the canonical serialisation of an event's hashed fields."""
    values = [stamp(row["occurred_at"]) if k == "occurred_at" else row.get(k) for k in HASHED_FIELDS]
    return HASHES[algorithm](canonical_json(values).encode()).hexdigest()


def record(
    session: Session,
    *,
    kind: str,
    now: datetime,
    actor: Actor | None = None,
    case_id: int | None = None,
    county_id: int | None = None,
    trigger: str | None = None,
    from_state: str | None = None,
    to_state: str | None = None,
    comment: str | None = None,
    data: dict[str, Any] | None = None,
    ip: str | None = None,
) -> dict[str, Any]:
    """Append one event to the chain inside the caller's transaction and return it."""
    conn = session.connection()
    seq, prev_hash, algorithm = _head(session)
    row: dict[str, Any] = {
        "seq": seq + 1,
        "occurred_at": now,
        "kind": kind,
        "actor_id": actor.user_id if actor else None,
        "actor_name": actor.name if actor else None,
        "role": actor.role if actor else None,
        "unit_id": actor.unit_id if actor else None,
        "unit_name": actor.unit_name if actor else None,
        "county_id": county_id,
        "ip": ip if ip is not None else (actor.ip if actor else None),
        "case_id": case_id,
        "trigger": trigger,
        "from_state": from_state,
        "to_state": to_state,
        "comment": comment,
        "data": canonical_json(data or {}),
        "prev_hash": prev_hash,
    }
    row["hash"] = event_hash(row, algorithm)
    _INSERT.execute(conn, row)
    session.info[_HEAD_KEY] = (row["seq"], row["hash"], algorithm)  # written to audit_head once, at commit
    return row


_HEAD_KEY = "zyz.audit_head"


def lock_head(session: Session) -> tuple[int, str]:
    """Take the chain's head for this transaction (its seq and hash), once.

    Writers queue on the head row (SELECT ... FOR UPDATE) until they commit; on SQLite BEGIN IMMEDIATE
    already serialises them, so the head read once stays true for the rest of the transaction. Services
    that write cases and deadlines take it before any other row (`fire`, `create_case`, each batch of the
    sweep): with one lock always first, a transition and the sweep working on the same case cannot
    deadlock on PostgreSQL, whichever of case, deadline and counter rows each would otherwise lock first.
    """
    seq, prev_hash, _algorithm = _head(session)
    return seq, prev_hash


def _head(session: Session) -> tuple[int, str, str]:
    head = session.info.get(_HEAD_KEY)
    if head is None:
        conn = session.connection()
        [(seq, prev_hash, algorithm)] = _READ_HEAD[is_sqlite(conn)].fetch(conn, {})
        head = session.info[_HEAD_KEY] = (seq, prev_hash, algorithm)
    return head


def chain_algorithm(session: Session) -> str:
    """The hash the next event will be written with (read without taking the head's lock)."""
    head = session.info.get(_HEAD_KEY)
    return head[2] if head is not None else session.connection().execute(_HEAD).one()[2]


def switch_algorithm(session: Session, *, to: str, now: datetime, actor: Actor | None = None) -> dict[str, Any] | None:
    """Write every event from now on with `to` (sha256 or sm3); None when the chain uses it already.

    The switch is itself an event of the chain, hashed the old way, so that `verify` knows where the new hash
    begins and a database never mixes algorithms without saying so.
    """
    if to not in HASHES:
        raise InvalidInput(f"不支持的哈希算法：{to}（可选：{'、'.join(HASHES)}）",
                           f"Unknown hash algorithm: {to} (one of: {', '.join(HASHES)})", code="unknown_algorithm")
    try:
        HASHES[to](b"")
    except ValueError:  # an OpenSSL without SM3
        raise InvalidInput(f"本机的 OpenSSL 不提供 {to.upper()}，无法改用该算法。",
                           f"This machine's OpenSSL does not provide {to.upper()}.",
                           code="unavailable_algorithm") from None
    current = _head(session)[2]
    if current == to:
        return None
    event = record(session, kind=ALGORITHM_CHANGED, now=now, actor=actor or Actor.system(),
                   data={"from": current, "to": to})
    session.info[_HEAD_KEY] = (event["seq"], event["hash"], to)
    return event


def flush_head(session: Session) -> None:
    """Write the head kept in memory since the transaction's first event (commit does it by itself)."""
    head = session.info.pop(_HEAD_KEY, None)
    if head is not None:
        _MOVE_HEAD.execute(session.connection(), {"seq": head[0], "hash": head[1], "algorithm": head[2]})


@sa.event.listens_for(OrmSession, "before_commit")
def _write_head(session: OrmSession) -> None:
    flush_head(session)  # type: ignore[arg-type]  # SQLAlchemy's event passes the ORM Session that SQLModel's subclasses


@sa.event.listens_for(OrmSession, "after_soft_rollback")
def _forget_head(session: OrmSession, _previous: Any) -> None:
    # rolled back (the whole transaction, or a savepoint taken after flush_head): the table holds the truth
    session.info.pop(_HEAD_KEY, None)


# --- verifying the chain ------------------------------------------------------------------------------------------

@dataclass
class VerifyResult:
    ok: bool
    count: int
    head_hash: str
    problem: str | None = None  # edited | deleted | inserted | reordered | truncated | algorithm
    seq: int | None = None
    event_id: int | None = None
    algorithm: str = DEFAULT_ALGORITHM  # the hash the chain ends with (the next event's)

    def describe(self, locale: str = "zh") -> str:
        if self.ok:
            written = "" if self.algorithm == DEFAULT_ALGORITHM else self.algorithm.upper()
            if locale.startswith("en"):
                return (f"OK: {self.count} events, chain intact, head {self.head_hash[:16]}"
                        + (f", hashed with {written}" if written else ""))
            return (f"完整：共 {self.count} 条事件，哈希链完整，链头 {self.head_hash[:16]}"
                    + (f"，哈希算法 {written}" if written else ""))
        words = {
            "edited": ("被篡改", "edited"), "deleted": ("之前有事件被删除", "preceded by a deleted event"),
            "inserted": ("为插入的事件", "inserted"), "reordered": ("顺序被调换", "reordered"),
            "truncated": ("之后的事件被删除", "followed by deleted events"),
            "algorithm": (f"之后，链头记录的哈希算法被改为 {self.algorithm}，链中没有相应的切换事件",
                          f"is followed by a head whose hash algorithm was changed to {self.algorithm} without a "
                          "switch-over event in the chain"),
        }[self.problem or "edited"]
        if locale.startswith("en"):
            return f"BROKEN: event #{self.event_id} (seq {self.seq}) {words[1]}"
        return f"已损坏：事件 #{self.event_id}（序号 {self.seq}）{words[0]}"


_COLUMNS = ("id", "seq", "hash", *HASHED_FIELDS)  # the order of _ROW_SQL's columns
_ROW_SQL = ('SELECT id, seq, hash, occurred_at, kind, actor_id, actor_name, role, unit_id, unit_name, county_id, '
            'ip, case_id, "trigger", from_state, to_state, comment, data, prev_hash FROM audit_event')
_ALL_ROWS = _ROW_SQL + " ORDER BY seq"
_ONE_ROW = _ROW_SQL + " WHERE seq = ?"
# SQLite writes the canonical JSON itself (json_array escapes text exactly as json.dumps(ensure_ascii=False)
# does), so Python only hashes one string per event. It gives NULL where the text could differ from Python's:
# a time not in SQLAlchemy's format, a REAL in an integer column; those events are checked the slow way.
_SQLITE_CANONICAL = (
    "SELECT seq, hash, prev_hash, CASE WHEN occurred_at GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9] "
    "[0-9][0-9]:[0-9][0-9]:[0-9][0-9].[0-9][0-9][0-9][0-9][0-9][0-9]' AND typeof(actor_id) <> 'real' "
    "AND typeof(unit_id) <> 'real' AND typeof(county_id) <> 'real' AND typeof(case_id) <> 'real' "
    "THEN json_array(substr(occurred_at, 1, 10) || 'T' || substr(occurred_at, 12) || '+00:00', kind, actor_id, "
    'actor_name, role, unit_id, unit_name, county_id, ip, case_id, "trigger", from_state, to_state, comment, data, '
    "prev_hash) END FROM audit_event ORDER BY seq")
# PostgreSQL the same way: to_json escapes text as json.dumps does; integers print as Python prints them.
_POSTGRES_CANONICAL = (
    "SELECT seq, hash, prev_hash, '[' || to_json(to_char(occurred_at AT TIME ZONE 'UTC', "
    "'YYYY-MM-DD\"T\"HH24:MI:SS.US') || '+00:00')::text"
    " || ',' || coalesce(to_json(kind)::text, 'null') || ',' || coalesce(actor_id::text, 'null')"
    " || ',' || coalesce(to_json(actor_name)::text, 'null') || ',' || coalesce(to_json(role)::text, 'null')"
    " || ',' || coalesce(unit_id::text, 'null') || ',' || coalesce(to_json(unit_name)::text, 'null')"
    " || ',' || coalesce(county_id::text, 'null') || ',' || coalesce(to_json(ip)::text, 'null')"
    " || ',' || coalesce(case_id::text, 'null') || ',' || coalesce(to_json(\"trigger\")::text, 'null')"
    " || ',' || coalesce(to_json(from_state)::text, 'null') || ',' || coalesce(to_json(to_state)::text, 'null')"
    " || ',' || coalesce(to_json(comment)::text, 'null') || ',' || coalesce(to_json(data)::text, 'null')"
    " || ',' || coalesce(to_json(prev_hash)::text, 'null') || ']' FROM audit_event ORDER BY seq")
_SQLITE_STAMP = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6}")  # how SQLAlchemy writes a DateTime there
_ID, _SEQ, _HASH, _PREV = 0, 1, 2, len(_COLUMNS) - 1


class _Reader:
    """Raw DB-API reads of the trail: verifying a million events cannot afford an ORM row or a dict each."""

    def __init__(self, dbapi: Any, dialect: sa.Dialect):
        self.dbapi = dbapi
        self.sqlite = dialect.name == "sqlite"
        # What SQLAlchemy does with a stored time, for any value the fast path below does not recognise.
        self._to_datetime = _event_table.c.occurred_at.type.dialect_impl(dialect).result_processor(dialect, None)

    def sql(self, text: str) -> str:
        return text if self.sqlite else text.replace("?", "%s")

    def first(self, text: str, *params: Any) -> tuple | None:
        cursor = self.dbapi.cursor()
        try:
            cursor.execute(self.sql(text), params)
            return cursor.fetchone()
        finally:
            cursor.close()

    def row(self, seq: int) -> tuple:
        """Every column of the event at `seq`, in _COLUMNS order."""
        found = self.first(_ONE_ROW, seq)
        assert found is not None
        return found

    def id_at(self, seq: int) -> int | None:
        found = self.first("SELECT id FROM audit_event WHERE seq = ?", seq) if seq > 0 else None
        return found[0] if found else None

    def batches(self, size: int, *, fast: bool) -> Iterator[list[tuple]]:
        """Every event in seq order as (seq, hash, prev_hash, canonical text or None), `size` at a time, streamed
        (a server-side cursor on PostgreSQL). `fast`: SQLite builds the text; otherwise Python does."""
        if fast:
            cursor = self.dbapi.cursor() if self.sqlite else self.dbapi.cursor(name="zyz_audit_verify")
            try:
                cursor.execute(_SQLITE_CANONICAL if self.sqlite else _POSTGRES_CANONICAL)
                while rows := cursor.fetchmany(size):
                    yield rows
            finally:
                cursor.close()
            return
        cursor = self.dbapi.cursor() if self.sqlite else self.dbapi.cursor(name="zyz_audit_verify")
        encode, hashed_time = _ENCODER.encode, self.hashed_time
        try:
            cursor.execute(_ALL_ROWS)
            while rows := cursor.fetchmany(size):
                yield [(r[1], r[2], r[18], encode((hashed_time(r[3]), *r[4:]))) for r in rows]
        finally:
            cursor.close()

    def hashed_time(self, value: Any) -> str:
        """The text an event's time is hashed as, from the value the driver returns."""
        if isinstance(value, str):
            if _SQLITE_STAMP.fullmatch(value):
                return f"{value[:10]}T{value[11:]}+00:00"
            value = self._to_datetime(value) if self._to_datetime else value
        elif isinstance(value, datetime) and value.tzinfo is None:
            value = value.replace(tzinfo=UTC)  # as the column type reads it
        return stamp(value)

    def content_hash(self, row: Sequence[Any], algorithm: str = DEFAULT_ALGORITHM) -> str:
        """The hash of a full row (_COLUMNS order) exactly as event_hash computes it from the mapped values."""
        return HASHES[algorithm](_ENCODER.encode((self.hashed_time(row[3]), *row[4:])).encode()).hexdigest()

    def switches(self) -> dict[int, str | None]:
        """The seq of each hash_algorithm_changed event and the algorithm it switches to (None: unreadable)."""
        cursor = self.dbapi.cursor()
        try:
            cursor.execute(self.sql("SELECT seq, data FROM audit_event WHERE kind = ? ORDER BY seq"),
                           (ALGORITHM_CHANGED,))
            found: dict[int, str | None] = {}
            for seq, data in cursor.fetchall():
                try:
                    to = json.loads(data).get("to") if isinstance(data, str) else None
                except (ValueError, AttributeError):
                    to = None
                found[seq] = to if to in HASHES else None
            return found
        finally:
            cursor.close()


def _reader_of(session: Session) -> _Reader:
    conn = session.connection()
    return _Reader(conn.connection.dbapi_connection, conn.dialect)


@contextmanager
def snapshot(engine: Engine) -> Iterator[_Reader]:
    """A read-only, consistent view of the trail that does not hold up writers while it is walked.

    SQLite: a deferred transaction (the engine's own BEGIN IMMEDIATE would block every writer for the whole
    walk). PostgreSQL: REPEATABLE READ, so events committed meanwhile do not look like tampering at the end.
    """
    raw = engine.raw_connection()
    dbapi = raw.dbapi_connection
    assert dbapi is not None  # None only once the proxied connection is closed or invalidated
    try:
        if engine.dialect.name == "sqlite":
            dbapi.execute("BEGIN")
        else:
            cursor = dbapi.cursor()
            cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            cursor.close()
        yield _Reader(dbapi, engine.dialect)
    finally:
        if engine.dialect.name == "sqlite":
            if dbapi.in_transaction:
                dbapi.execute("ROLLBACK")
        else:
            dbapi.rollback()
        raw.close()


def verify(session: Session, *, batch: int = 20000) -> VerifyResult:
    """Walk the chain in order; report the first event that was edited, deleted, inserted or reordered."""
    return _verify(_reader_of(session), batch)


def _verify(reader: _Reader, batch: int = 20000) -> VerifyResult:
    try:
        return _walk(reader, batch, fast=True)
    except sqlite3.OperationalError:
        if not reader.sqlite:
            raise
        return _walk(reader, batch, fast=False)  # a BLOB where text belongs (json_array refuses it): the slow way


def _walk(reader: _Reader, batch: int, *, fast: bool) -> VerifyResult:
    expected_prev, expected_seq = GENESIS, 1
    before_last = GENESIS  # the hash the last accepted event links to
    algorithm = DEFAULT_ALGORITHM
    hasher = HASHES[algorithm]
    switches = reader.switches()
    for rows in reader.batches(batch, fast=fast):
        for seq, stored_hash, prev_hash, text in rows:
            if (prev_hash != expected_prev or seq != expected_seq or text is None
                    or hasher(text.encode()).hexdigest() != stored_hash):
                row = reader.row(seq)
                if (prev_hash != expected_prev or seq != expected_seq
                        or reader.content_hash(row, algorithm) != stored_hash):
                    count, last_id = expected_seq - 1, reader.id_at(expected_seq - 1)
                    problem, blamed_seq, event_id = _classify(reader, row, expected_prev, algorithm)
                    if event_id == last_id:  # the blame falls on the event before, which was accepted too soon
                        return VerifyResult(False, count - 1, before_last, problem, blamed_seq, event_id, algorithm)
                    return VerifyResult(False, count, expected_prev, problem, blamed_seq, event_id, algorithm)
                # else: the fast text was not the canonical one (a time stored another way): the event is intact
            if seq in switches:  # intact: the events after it are hashed with the algorithm it names
                switched = switches[seq]
                if switched is None:  # hashed right, yet naming no known algorithm: written around record()
                    return VerifyResult(False, seq - 1, expected_prev, "edited", seq, reader.id_at(seq), algorithm)
                algorithm, hasher = switched, HASHES[switched]
            before_last, expected_prev = expected_prev, stored_hash
            expected_seq += 1
    count = last_seq = expected_seq - 1
    head_seq, head_hash, head_algorithm = (reader.first("SELECT seq, hash, algorithm FROM audit_head WHERE id = 1")
                                           or (0, GENESIS, DEFAULT_ALGORITHM))
    if head_seq == count and head_hash == expected_prev and head_algorithm != algorithm:
        # the next event would be hashed with an algorithm no event of the chain switched to
        return VerifyResult(False, count, expected_prev, "algorithm", last_seq or None, reader.id_at(last_seq),
                            head_algorithm)
    if head_seq < count:
        # Events beyond the head were written without going through record(): slipped in at the end.
        return VerifyResult(False, head_seq, head_hash, "inserted", head_seq + 1, reader.id_at(head_seq + 1))
    if head_seq == count and head_hash != expected_prev:
        # As many events as the head counts, but the last one is not the one recorded: rewritten, hash and all.
        return VerifyResult(False, count - 1, before_last, "edited", last_seq, reader.id_at(last_seq))
    if head_seq > count:
        return VerifyResult(False, count, expected_prev, "truncated", last_seq, reader.id_at(last_seq), algorithm)
    return VerifyResult(True, count, expected_prev, algorithm=algorithm)


def _classify(reader: _Reader, row: Sequence[Any], expected_prev: str,
              algorithm: str = DEFAULT_ALGORITHM) -> tuple[str, int, int]:
    """Name what happened at the first place where the chain breaks, and the event to blame."""
    seq, prev_hash = row[_SEQ], row[_PREV]
    here = (seq, row[_ID])
    content_ok = reader.content_hash(row, algorithm) == row[_HASH]
    if prev_hash == expected_prev:
        # linked and intact, yet not accepted: its seq is ahead of the one expected (seqs are unique, read in order)
        return ("edited" if not content_ok else "deleted", *here)
    linked = reader.first("SELECT seq FROM audit_event WHERE hash = ? AND seq <> ? LIMIT 1", prev_hash, seq)
    if linked is not None and linked[0] > seq:
        return ("reordered", *here)
    if linked is not None:
        # It links to an earlier event: what stands between was slipped in; blame the event before it.
        before = reader.first("SELECT seq, id FROM audit_event WHERE seq < ? ORDER BY seq DESC LIMIT 1", seq)
        assert before is not None
        return ("inserted", before[0], before[1])
    following = reader.first("SELECT prev_hash FROM audit_event WHERE seq > ? ORDER BY seq LIMIT 1", seq)
    if following is not None and following[0] == expected_prev:
        return ("inserted", *here)  # the next event links over this one to its predecessor
    return ("edited", *here) if not content_ok else ("deleted", *here)


# --- anchors: the head, signed, outside the database ----------------------------------------------------------------

ANCHOR_FILE = "audit-anchors.jsonl"


def _sign(key: bytes, body: dict[str, Any], algorithm: str = DEFAULT_ALGORITHM) -> str:
    return hmac.new(key, canonical_json(body).encode(), HASHES[algorithm]).hexdigest()


def sign_anchor(key: bytes, *, seq: int, hash: str, anchored_at: datetime, prev: str = "",
                algorithm: str = DEFAULT_ALGORITHM) -> dict[str, Any]:
    """One anchor line: the head (seq, hash) at a time, linked to the previous line's signature, signed with
    HMAC over the chain's hash (the line names it when it is not SHA-256)."""
    body: dict[str, Any] = {"v": 1, "seq": seq, "hash": hash, "anchored_at": stamp(anchored_at), "prev": prev}
    if algorithm != DEFAULT_ALGORITHM:
        body["alg"] = algorithm
    return {**body, "hmac": _sign(key, body, algorithm)}


def _read_lines(path: Path) -> list[str]:
    try:
        return path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        return []


def _last_anchor(lines: list[str]) -> dict[str, Any] | None:
    for line in reversed(lines):
        if line.strip():
            try:
                found = json.loads(line)
            except ValueError:
                return {}
            return found if isinstance(found, dict) else {}
    return None


def write_anchor(session: Session, *, directory: str | Path, key: bytes, now: datetime,
                 only_if_due: bool = False) -> dict[str, Any] | None:
    """Append the chain's head (seq, hash) and the time, signed with HMAC-SHA256 (HMAC-SM3 when the chain is
    written with SM3), to the anchor file.

    Each anchor also carries the signature of the one before it, so a removed line shows. With
    `only_if_due`, nothing is written when the file already has an anchor of today (Beijing time): the
    scheduler asks every hour and the first run of each day writes, which also catches up after downtime.
    """
    if not key:
        raise InvalidInput("未配置审计锚点的签名密钥。", "No HMAC key for the audit anchors is configured.")
    path = Path(directory) / ANCHOR_FILE
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    seq, head_hash, algorithm = session.connection().execute(_HEAD).one()
    with open(path, "a+", encoding="utf-8") as f:
        fcntl.flock(f, fcntl.LOCK_EX)  # two schedulers must not both link to the same previous line
        f.seek(0)
        last = _last_anchor(f.read().splitlines())
        if only_if_due and last and _anchored_day(last) == local_date(now):
            return None
        line = sign_anchor(key, seq=seq, hash=head_hash, anchored_at=now, prev=(last or {}).get("hmac", ""),
                           algorithm=algorithm)
        f.write(canonical_json(line) + "\n")
        f.flush()
        os.fsync(f.fileno())
    record(session, kind="anchor_written", now=now, actor=Actor.system(), data={"seq": seq, "hash": head_hash})
    return line


def _anchored_day(anchor: dict[str, Any]) -> date | None:
    try:
        return local_date(datetime.fromisoformat(anchor["anchored_at"]))
    except (KeyError, TypeError, ValueError):
        return None


@dataclass
class AnchorProblem:
    line: int
    problem: str  # unreadable | forged | unlinked | missing | differs
    seq: int | None = None
    anchored_at: str | None = None
    good_seq: int | None = None  # for `differs`: the newest earlier anchor that still matches

    def describe(self, locale: str = "zh") -> str:
        en = locale.startswith("en")
        when = self.anchored_at[:19].replace("T", " ") + " UTC" if self.anchored_at else "?"
        if self.problem == "unreadable":
            return (f"anchor line {self.line}: unreadable" if en else f"锚点第 {self.line} 行：无法读取")
        if self.problem == "forged":
            return (f"anchor line {self.line} (seq {self.seq}): signature does not match (forged, or another key)"
                    if en else f"锚点第 {self.line} 行（序号 {self.seq}）：签名不符（被伪造或密钥不同）")
        if self.problem == "unlinked":
            return (f"anchor line {self.line}: does not follow the line before (an anchor was removed or moved)"
                    if en else f"锚点第 {self.line} 行：与上一行不衔接（有锚点被删除或移动）")
        if self.problem == "missing":
            return (f"anchor of {when}: event seq {self.seq} is missing from the trail" if en
                    else f"{when} 的锚点：序号 {self.seq} 的事件已不在审计记录中")
        since = (f" after seq {self.good_seq}" if en else f"序号 {self.good_seq} 之后、") if self.good_seq else ""
        return (f"anchor of {when}: event seq {self.seq} differs from the anchored hash; the trail was "
                f"rewritten{since} up to seq {self.seq}" if en else
                f"{when} 的锚点：序号 {self.seq} 的事件与锚定的哈希不符，审计记录在{since}序号 {self.seq} 及之前被改写")


@dataclass
class AnchorReport:
    has_file: bool = False
    count: int = 0
    newest: dict[str, Any] | None = None
    problems: list[AnchorProblem] = field(default_factory=list)

    def describe(self, locale: str = "zh") -> list[str]:
        en = locale.startswith("en")
        if not self.has_file or not self.count:
            return ["anchors: none yet (the scheduler writes one a day)" if en
                    else "锚点：尚无（调度程序每天写入一个）"]
        newest = self.newest or {}
        when = str(newest.get("anchored_at", ""))[:19].replace("T", " ")
        head = (f"anchors: {self.count} checked, newest {when} UTC (seq {newest.get('seq')})" if en
                else f"锚点：已核对 {self.count} 个，最新 {when} UTC（序号 {newest.get('seq')}）")
        if not self.problems:
            return [head + ("; all match" if en else "，全部相符")]
        return [head, *(p.describe(locale) for p in self.problems)]


def check_anchors(reader: _Reader, *, directory: str | Path, key: bytes) -> AnchorReport:
    """Check every anchor's signature and link, and that the trail still holds the anchored event."""
    path = Path(directory) / ANCHOR_FILE
    lines = _read_lines(path)
    report = AnchorReport(has_file=path.exists())
    trusted: list[tuple[int, dict[str, Any]]] = []
    prev_sig = ""
    for number, text in enumerate(lines, start=1):
        if not text.strip():
            continue
        report.count += 1
        try:
            anchor = json.loads(text)
            body = {k: anchor[k] for k in ("v", "seq", "hash", "anchored_at", "prev")}
            if "alg" in anchor:
                body["alg"] = anchor["alg"]
            signature = anchor["hmac"]
            algorithm = anchor.get("alg", DEFAULT_ALGORITHM)
            if not isinstance(anchor["seq"], int) or not isinstance(signature, str) or algorithm not in HASHES:
                raise TypeError
        except (ValueError, KeyError, TypeError):
            report.problems.append(AnchorProblem(number, "unreadable"))
            prev_sig = ""
            continue
        if not hmac.compare_digest(_sign(key, body, algorithm), signature):
            report.problems.append(AnchorProblem(number, "forged", anchor["seq"], anchor.get("anchored_at")))
            prev_sig = signature
            continue
        if anchor["prev"] != prev_sig:
            report.problems.append(AnchorProblem(number, "unlinked", anchor["seq"], anchor["anchored_at"]))
        prev_sig = signature
        trusted.append((number, anchor))
        report.newest = anchor
    stored = _hashes_at(reader, sorted({a["seq"] for _, a in trusted if a["seq"] > 0}))
    good_seq = 0
    for number, anchor in trusted:
        seq = anchor["seq"]
        found = GENESIS if seq == 0 else stored.get(seq)
        if found is None:
            report.problems.append(AnchorProblem(number, "missing", seq, anchor["anchored_at"]))
        elif found != anchor["hash"]:
            report.problems.append(AnchorProblem(number, "differs", seq, anchor["anchored_at"], good_seq or None))
        elif seq >= good_seq:
            good_seq = seq
    report.problems.sort(key=lambda p: p.line)
    return report


def _hashes_at(reader: _Reader, seqs: list[int]) -> dict[int, str]:
    found: dict[int, str] = {}
    for seq in seqs:  # one indexed look-up per anchor: a few hundred a year
        row = reader.first("SELECT hash FROM audit_event WHERE seq = ?", seq)
        if row is not None:
            found[seq] = row[0]
    return found


@dataclass
class Integrity:
    chain: VerifyResult
    anchors: AnchorReport

    @property
    def ok(self) -> bool:
        return self.chain.ok and not self.anchors.problems

    def describe(self, locale: str = "zh") -> list[str]:
        return [self.chain.describe(locale), *self.anchors.describe(locale)]


def check_integrity(bind: Engine, *, anchor_dir: str | Path, key: bytes, batch: int = 20000) -> Integrity:
    """The chain walked from the first event, and every anchor checked against it (`zyz audit verify`)."""
    with snapshot(bind) as reader:
        return Integrity(_verify(reader, batch), check_anchors(reader, directory=anchor_dir, key=key))


# --- search, for the auditor ---------------------------------------------------------------------------------------

@dataclass(frozen=True, kw_only=True)
class Criteria:
    """What the auditor looks for; every given field must match. Times are UTC, the end exclusive."""

    start_at: datetime | None = None
    end_at: datetime | None = None
    user: str | None = None  # a user id, username or display name
    unit_id: int | None = None
    role: str | None = None
    county_id: int | None = None
    case: str | None = None  # a case id or number
    kind: str | None = None

    def as_data(self) -> dict[str, Any]:
        """The criteria given, for the audit event that records the search."""
        out: dict[str, Any] = {}
        for name in ("start_at", "end_at", "user", "unit_id", "role", "county_id", "case", "kind"):
            value = getattr(self, name)
            if value not in (None, ""):
                out[name] = stamp(value) if isinstance(value, datetime) else value
        return out


@dataclass
class TrailPage:
    items: list[Any]
    next_before: int | None  # the last seq shown, when older events match
    prev_after: int | None  # the first seq shown, when newer events match


def _user_ids(session: Session, text: str) -> list[int]:
    text = text.strip()
    if text.isdigit():
        number = parse_whole(text, low=0)
        return [number] if number is not None else []
    users = table_of(User).c
    return list(session.connection().execute(
        sa.select(users.id).where(sa.or_(users.username == text, users.display_name == text))).scalars())


def case_id_of(session: Session, text: str) -> int | None:
    """A case id from an id or a case number (None when neither names a case or past event)."""
    text = text.strip()
    if text.isdigit():
        return parse_whole(text, low=0)
    cases = table_of(Case).c
    return session.connection().execute(sa.select(cases.id).where(cases.number == text)).scalar_one_or_none()


def _unindexed(column: sa.Column, sqlite: bool = True) -> sa.ColumnElement[Any]:
    """The same value, but the planner will not pick the column's index for it: unary + on SQLite (a no-op),
    adding nothing on PostgreSQL (which also turns min(seq) over a time range into a walk along seq otherwise)."""
    if sqlite:
        return sa.literal_column(f"+{column.table.name}.{column.name}", type_=column.type)
    if isinstance(column.type, sa.Integer):
        return sa.type_coerce(column + 0, column.type)
    return sa.type_coerce(column + sa.literal_column("INTERVAL '0 seconds'"), column.type)


@dataclass
class _Plan:
    where: list[sa.ColumnElement[bool]]
    low: int  # the matching events' seq lie in [low, high]
    high: int


_PROBE = 20000  # matches counted per filter (index entries only) when choosing the index to walk


def _plan(session: Session, criteria: Criteria) -> _Plan | None:
    """WHERE clauses for the criteria, planned for keyset pages on seq; None when nothing can match.

    Each filter column has an index ending in seq, so walking one filter's index in seq order finds a page
    after reading about a page of entries. Two things could make a walk long, and both are taken care of:
    a time range (events newer than its end would be skipped one by one) becomes, in addition, an exact
    seq window (the lowest and highest seq in the range, read from the covering (occurred_at, seq) index);
    and with several filters SQLite walks the index of the rarest one in that window (a capped count of
    each), where it would otherwise guess. PostgreSQL plans from its statistics.
    """
    ev = _event_table.c
    conn = session.connection()
    sqlite = is_sqlite(conn)
    equal: list[tuple[sa.Column, Any]] = []
    for column, value in ((ev.kind, criteria.kind), (ev.role, criteria.role), (ev.unit_id, criteria.unit_id),
                          (ev.county_id, criteria.county_id)):
        if value not in (None, ""):
            equal.append((column, value))
    if criteria.user:
        ids = _user_ids(session, criteria.user)
        if not ids:
            return None
        equal.append((ev.actor_id, ids))
    if criteria.case:
        case_id = case_id_of(session, criteria.case)
        if case_id is None:
            return None
        equal.append((ev.case_id, case_id))
    low, high = 1, 2**63 - 1
    timed: list[tuple[sa.ColumnElement[Any], sa.ColumnElement[bool]]] = []
    if criteria.start_at is not None or criteria.end_at is not None:
        window = _seq_window(conn, criteria.start_at, criteria.end_at)
        if window is None:
            return None
        low, high = window
        when = _unindexed(ev.occurred_at) if sqlite else ev.occurred_at
        if criteria.start_at is not None:
            timed.append((when, when >= criteria.start_at))
        if criteria.end_at is not None:
            timed.append((when, when < criteria.end_at))
    walk = None
    if sqlite and len(equal) > 1:
        def matches(column: sa.Column, value: Any) -> int:
            inner = sa.select(sa.literal(1)).where(_equals(column, value), ev.seq.between(low, high)).limit(_PROBE)
            return conn.execute(sa.select(sa.func.count()).select_from(inner.subquery())).scalar_one()
        walk = min(equal, key=lambda pair: matches(*pair))[0]
    where = [_equals(_unindexed(column) if walk is not None and column is not walk else column, value)
             for column, value in equal]
    where += [condition for _, condition in timed]
    if timed:
        where.append(ev.seq.between(low, high))
    return _Plan(where, low, high)


def _seq_window(conn: sa.Connection, start: datetime | None, end: datetime | None) -> tuple[int, int] | None:
    """The lowest and highest seq of the events in [start, end), exactly, reading as little as it can.

    A side beyond the first or last time recorded bounds nothing. A side that cuts into the trail is found
    by one of two exact reads: through the (occurred_at, seq) index, the events on the far side of the cut
    (index entries only, cheap each), or along seq from that end of the trail to the first event inside the
    range (a row each, twice the cost). Which is shorter is judged by where the cut falls between the first
    and last time; times out of order only make the guess worse, never the answer. Both cuts inside the trail
    may also be read together as the range itself. At 1,000,000 events the worst case reads about half.
    """
    ev = _event_table.c
    sqlite = is_sqlite(conn)
    when = _unindexed(ev.occurred_at, sqlite)  # to read along seq
    seq = _unindexed(ev.seq, sqlite)  # to read through the time index (min(seq) would otherwise walk along seq)
    first_at = conn.execute(sa.select(sa.func.min(ev.occurred_at))).scalar_one()  # one query each: SQLite
    last_at = conn.execute(sa.select(sa.func.max(ev.occurred_at))).scalar_one()  # reads min() alone off the index
    if first_at is None:
        return None
    span = max((last_at - first_at).total_seconds(), 1e-6)
    cuts_low = start is not None and start > first_at
    cuts_high = end is not None and end <= last_at
    low, high = 1, 2**63 - 1
    fa = (start - first_at).total_seconds() / span if cuts_low else 0.0
    fb = (end - first_at).total_seconds() / span if cuts_high else 1.0
    low_cost, high_cost = min(1 - fa, 2 * fa), min(fb, 2 * (1 - fb))
    if cuts_low and cuts_high and fb - fa <= low_cost + high_cost:
        both = conn.execute(sa.select(sa.func.min(seq), sa.func.max(seq))
                            .where(ev.occurred_at >= start, ev.occurred_at < end)).one()
        return None if both[0] is None else (both[0], both[1])
    if cuts_low:
        if 1 - fa <= 2 * fa:
            found = conn.execute(sa.select(sa.func.min(seq)).where(ev.occurred_at >= start)).scalar_one()
        else:
            found = conn.execute(sa.select(ev.seq).where(when >= start).order_by(ev.seq).limit(1)).scalar()
        if found is None:
            return None
        low = found
    if cuts_high:
        if fb <= 2 * (1 - fb):
            found = conn.execute(sa.select(sa.func.max(seq)).where(ev.occurred_at < end)).scalar_one()
        else:
            found = conn.execute(sa.select(ev.seq).where(when < end).order_by(ev.seq.desc()).limit(1)).scalar()
        if found is None:
            return None
        high = found
    return (low, high) if low <= high else None


def _equals(column: Any, value: Any) -> sa.ColumnElement[bool]:
    if isinstance(value, list):
        return column == value[0] if len(value) == 1 else column.in_(value)
    return column == value


def search(session: Session, criteria: Criteria, *, before: int | None = None, after: int | None = None,
           limit: int = 50) -> TrailPage:
    """One page of matching events, newest first, by keyset on seq: `before` pages back, `after` forward."""
    plan = _plan(session, criteria)
    if plan is None:
        return TrailPage([], None, None)
    ev = _event_table.c
    conn = session.connection()
    query = sa.select(_event_table).where(*plan.where)
    if after is not None:
        rows = list(conn.execute(query.where(ev.seq > after).order_by(ev.seq.asc()).limit(limit + 1)))
        newer, rows = len(rows) > limit, rows[:limit]
        rows.reverse()
        older = bool(rows) and _exists(conn, plan, ev.seq < rows[-1].seq)
    else:
        if before is not None:
            query = query.where(ev.seq < before)
        rows = list(conn.execute(query.order_by(ev.seq.desc()).limit(limit + 1)))
        older, rows = len(rows) > limit, rows[:limit]
        newer = before is not None and bool(rows) and _exists(conn, plan, ev.seq > rows[0].seq)
    if not rows:
        return TrailPage([], None, None)
    return TrailPage(rows, rows[-1].seq if older else None, rows[0].seq if newer else None)


def _exists(conn: sa.Connection, plan: _Plan, bound: sa.ColumnElement[bool]) -> bool:
    return conn.execute(sa.select(_event_table.c.seq).where(*plan.where, bound).limit(1)).first() is not None


def iter_events(session: Session, criteria: Criteria, *, batch: int = 2000, limit: int | None = None,
                release: bool = False) -> Iterator[Any]:
    """Every matching event in seq order (oldest first), fetched by keyset in batches.

    With `release`, the read transaction ends after each batch (nothing is written here), so a long export
    does not hold SQLite's write lock throughout; later batches may then include events recorded meanwhile.
    """
    plan = _plan(session, criteria)
    if plan is None:
        return
    ev = _event_table.c
    conn = session.connection()
    last, given = plan.low - 1, 0
    while True:
        rows = list(conn.execute(sa.select(_event_table).where(*plan.where, ev.seq > last)
                                 .order_by(ev.seq).limit(batch)))
        if release:
            session.rollback()
            conn = session.connection()
        for row in rows:
            if limit is not None and given >= limit:
                return
            given += 1
            yield row
        if len(rows) < batch:
            return
        last = rows[-1].seq


def case_history(session: Session, case_id: int) -> list[Any]:
    """Every event about one case, in order."""
    ev = _event_table.c
    return list(session.connection().execute(sa.select(_event_table).where(ev.case_id == case_id).order_by(ev.seq)))


def note_access(session: Session, *, kind: str, actor: Actor, now: datetime, criteria: Criteria | None = None,
                **extra: Any) -> None:
    """Record that the trail was read (search, export, integrity check), with what was asked."""
    data = {**(criteria.as_data() if criteria else {}), **{k: v for k, v in extra.items() if v is not None}}
    record(session, kind=kind, now=now, actor=actor, data=data)


# --- archive: older events copied out with their hashes; nothing deleted -------------------------------------------

MIN_ARCHIVE_AGE_DAYS = 183  # the Cybersecurity Law keeps network logs for at least six months
ARCHIVE_FIELDS = ("id", "seq", *HASHED_FIELDS, "hash")


@dataclass
class ArchiveResult:
    path: Path
    manifest_path: Path
    count: int
    first_seq: int | None
    last_seq: int | None
    last_hash: str | None


def archive(session: Session, *, before: date, today: date, directory: str | Path, now: datetime,
            fmt: str = "jsonl", key: bytes = b"", actor: Actor | None = None) -> ArchiveResult:
    """Copy every event from before `before` (Beijing time) to a file with a manifest; delete nothing.

    Refuses a date less than 183 days before `today`. The events keep their seq, hash and prev_hash, so
    the archive can be checked on its own; the manifest gives the count, the last hash and the file's
    sha256 (and its SM3 when the chain is written with SM3), signed with the anchor key when one is given.
    """
    if (today - before).days < MIN_ARCHIVE_AGE_DAYS:
        raise InvalidInput(f"只能归档 {MIN_ARCHIVE_AGE_DAYS} 天之前的事件（{before} 太近）。",
                           f"Only events older than {MIN_ARCHIVE_AGE_DAYS} days may be archived ({before} is too "
                           "recent).", code="too_recent")
    if fmt not in ("jsonl", "csv"):
        raise InvalidInput(f"不支持的格式：{fmt}", f"Unknown format: {fmt}")
    folder = Path(directory)
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    path = folder / f"audit-before-{before.isoformat()}.{fmt}"
    manifest_path = folder / f"audit-before-{before.isoformat()}.manifest.json"
    algorithm = chain_algorithm(session)
    count, first, last, digest = 0, None, None, hashlib.sha256()
    own = HASHES[algorithm]() if algorithm != DEFAULT_ALGORITHM else None
    criteria = Criteria(end_at=local_moment(before))
    with open(path, "x", encoding="utf-8", newline="") as out:  # "x": an archive is never overwritten
        writer = None
        if fmt == "csv":
            out.write("\ufeff")
            writer = csv.writer(out)
            writer.writerow(ARCHIVE_FIELDS)
        for row in iter_events(session, criteria, batch=5000):
            values = [stamp(row.occurred_at) if name == "occurred_at" else getattr(row, name)
                      for name in ARCHIVE_FIELDS]
            if writer is not None:
                writer.writerow(["" if v is None else v for v in values])
            else:
                out.write(canonical_json(dict(zip(ARCHIVE_FIELDS, values, strict=True))) + "\n")
            count += 1
            first = row if first is None else first
            last = row
    with open(path, "rb") as written:
        for chunk in iter(lambda: written.read(1 << 20), b""):
            digest.update(chunk)
            if own is not None:
                own.update(chunk)
    manifest: dict[str, Any] = {
        "v": 1, "file": path.name, "format": fmt, "before": before.isoformat(), "created_at": stamp(now),
        "count": count, "first_seq": first.seq if first else None, "last_seq": last.seq if last else None,
        "first_prev_hash": first.prev_hash if first else None, "last_hash": last.hash if last else None,
        "sha256": digest.hexdigest(),
    }
    if own is not None:
        manifest[algorithm] = own.hexdigest()
        manifest["alg"] = algorithm
    if key:
        manifest["hmac"] = _sign(key, manifest, algorithm)
    with open(manifest_path, "x", encoding="utf-8") as out:
        out.write(json.dumps(manifest, ensure_ascii=False, indent=1) + "\n")
    record(session, kind="archive", now=now, actor=actor or Actor.system(),
           data={k: manifest[k] for k in ("file", "before", "count", "first_seq", "last_seq", "last_hash", "sha256")})
    return ArchiveResult(path, manifest_path, count, manifest["first_seq"], manifest["last_seq"], manifest["last_hash"])
