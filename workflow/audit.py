"""The audit trail: append hash-chained events, and verify the chain."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session

from workflow.actors import Actor
from workflow.db import is_sqlite
from workflow.models import AuditEvent, AuditHead

GENESIS = "0" * 64

# The fields an event's hash covers, in this order. `seq` is not among them: it is checked for
# continuity on its own, so a reordering shows as a broken link rather than as an edit.
HASHED_FIELDS = (
    "occurred_at", "kind", "actor_id", "actor_name", "role", "unit_id", "unit_name", "county_id",
    "ip", "case_id", "trigger", "from_state", "to_state", "comment", "data", "prev_hash",
)

_event_table = AuditEvent.__table__  # type: ignore[attr-defined]
_head_table = AuditHead.__table__  # type: ignore[attr-defined]
# Built once: record() runs inside every fire, and building a statement costs more than executing it.
_HEAD = sa.select(_head_table.c.seq, _head_table.c.hash).where(_head_table.c.id == 1)
_HEAD_LOCKED = _HEAD.with_for_update()
_INSERT = _event_table.insert()
_MOVE_HEAD = _head_table.update().where(_head_table.c.id == 1)


def canonical_json(value: Any) -> str:
    """JSON with sorted keys and no spaces: the same data always gives the same text."""
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=str)


def _stamp(value: datetime) -> str:
    return value.astimezone(UTC).isoformat(timespec="microseconds")


def event_hash(row: dict[str, Any] | Any) -> str:
    """sha256 over the canonical serialisation of an event's hashed fields."""
    get = row.get if isinstance(row, dict) else (lambda k: getattr(row, k))
    values = [_stamp(get("occurred_at")) if k == "occurred_at" else get(k) for k in HASHED_FIELDS]
    return hashlib.sha256(canonical_json(values).encode()).hexdigest()


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
    # Writers queue on the head row; on SQLite BEGIN IMMEDIATE already serialises them.
    seq, prev_hash = conn.execute(_HEAD if is_sqlite(conn) else _HEAD_LOCKED).one()
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
    row["hash"] = event_hash(row)
    conn.execute(_INSERT, row)
    conn.execute(_MOVE_HEAD, {"seq": row["seq"], "hash": row["hash"]})
    return row


@dataclass
class VerifyResult:
    ok: bool
    count: int
    head_hash: str
    problem: str | None = None  # edited | deleted | inserted | reordered
    seq: int | None = None
    event_id: int | None = None

    def describe(self, locale: str = "zh") -> str:
        if self.ok:
            if locale.startswith("en"):
                return f"OK: {self.count} events, chain intact, head {self.head_hash[:16]}"
            return f"完整：共 {self.count} 条事件，哈希链完整，链头 {self.head_hash[:16]}"
        words = {
            "edited": ("被篡改", "edited"), "deleted": ("之前有事件被删除", "preceded by a deleted event"),
            "inserted": ("为插入的事件", "inserted"), "reordered": ("顺序被调换", "reordered"),
            "truncated": ("之后的事件被删除", "followed by deleted events"),
        }[self.problem or "edited"]
        if locale.startswith("en"):
            return f"BROKEN: event #{self.event_id} (seq {self.seq}) {words[1]}"
        return f"已损坏：事件 #{self.event_id}（序号 {self.seq}）{words[0]}"


def verify(session: Session, *, batch: int = 20000) -> VerifyResult:
    """Walk the chain in order; report the first event that was edited, deleted, inserted or reordered."""
    conn = session.connection()
    columns = [_event_table.c[name] for name in ("id", "seq", "hash", *HASHED_FIELDS)]
    expected_prev, expected_seq, count, last_seq, last_id = GENESIS, 1, 0, 0, None
    before_last = GENESIS  # the hash the last accepted event links to
    while True:
        rows = conn.execute(
            sa.select(*columns).where(_event_table.c.seq > last_seq).order_by(_event_table.c.seq).limit(batch)
        ).mappings().all()
        if not rows:
            break
        for row in rows:
            if row["prev_hash"] != expected_prev or row["seq"] != expected_seq or event_hash(row) != row["hash"]:
                problem, seq, event_id = _classify(conn, row, expected_prev, expected_seq)
                if event_id == last_id:  # the blame falls on the event before, which was accepted too soon
                    return VerifyResult(False, count - 1, before_last, problem, seq, event_id)
                return VerifyResult(False, count, expected_prev, problem, seq, event_id)
            before_last, expected_prev = expected_prev, row["hash"]
            expected_seq += 1
            count += 1
            last_id, last_seq = row["id"], row["seq"]
    head_seq, head_hash = conn.execute(sa.select(_head_table.c.seq, _head_table.c.hash)).one()
    if head_seq < count:
        # Events beyond the head were written without going through record(): slipped in at the end.
        ev = _event_table.c
        first = conn.execute(sa.select(ev.seq, ev.id).where(ev.seq == head_seq + 1)).one()
        return VerifyResult(False, head_seq, head_hash, "inserted", first.seq, first.id)
    if head_seq == count and head_hash != expected_prev:
        # As many events as the head counts, but the last one is not the one recorded: rewritten, hash and all.
        return VerifyResult(False, count - 1, before_last, "edited", last_seq, last_id)
    if head_seq > count:
        return VerifyResult(False, count, expected_prev, "truncated", last_seq, last_id)
    return VerifyResult(True, count, expected_prev)


def _classify(conn: sa.Connection, row: Any, expected_prev: str, expected_seq: int) -> tuple[str, int, int]:
    """Name what happened at the first place where the chain breaks, and the event to blame."""
    here = (row["seq"], row["id"])
    content_ok = event_hash(row) == row["hash"]
    if row["prev_hash"] == expected_prev:
        if not content_ok:
            return ("edited", *here)
        return ("deleted", *here) if row["seq"] > expected_seq else ("inserted", *here)
    ev = _event_table.c
    linked = conn.execute(sa.select(ev.seq).where(ev.hash == row["prev_hash"], ev.seq != row["seq"])).first()
    if linked is not None and linked.seq > row["seq"]:
        return ("reordered", *here)
    if linked is not None:
        # It links to an earlier event: what stands between was slipped in; blame the event before it.
        before = conn.execute(
            sa.select(ev.seq, ev.id).where(ev.seq < row["seq"]).order_by(ev.seq.desc()).limit(1)
        ).one()
        return ("inserted", before.seq, before.id)
    following = conn.execute(
        sa.select(ev.prev_hash).where(ev.seq > row["seq"]).order_by(ev.seq).limit(1)
    ).first()
    if following is not None and following.prev_hash == expected_prev:
        return ("inserted", *here)  # the next event links over this one to its predecessor
    return ("edited", *here) if not content_ok else ("deleted", *here)
