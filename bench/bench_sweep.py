"""The deadline sweep at scale.

1. Lookup: over 1,000,000 deadline rows of which 100 are due, how long the sweep's lookup of what is
   due takes (target: under 5 ms; its cost follows what is due, not the size of the table).
2. Throughput: 10,000 expiries due in the same second, all processed (each a transition through the
   engine, an audit event, notification rows), target: within 60 s.

    .venv/bin/python bench/bench_sweep.py [--rows 1000000] [--due 10000] [--postgres URL]
"""

from __future__ import annotations

import argparse
import sqlite3
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import fresh_engine
from workflow import processes
from workflow.accounts.auth import create_user
from workflow.core.actors import Actor
from workflow.core.db import make_session_factory, transaction
from workflow.core.engine import create_case
from workflow.core.models import AuditEvent, Case, Deadline, Notification, Unit
from workflow.core.sweep import due_query, sweep
from workflow.towns.services import create_town

processes.load()

NOW = datetime(2026, 11, 27, 2, 0, tzinfo=UTC)
LOOKUP_TARGET_MS = 5.0
THROUGHPUT_TARGET_S = 60.0


def fresh_database(url: str | None, folder: Path, name: str):  # type: ignore[no-untyped-def]
    if url is None:
        url = f"sqlite:///{folder / name}"
    return fresh_engine(url)


def seed(sessions):  # type: ignore[no-untyped-def]
    """A county with two clerks, the office with one user, one town; returns (office actor, town id)."""
    with transaction(sessions) as s:
        county = Unit(name="盂县", kind="county", created_at=NOW)
        office = Unit(name="市工信局", kind="office", created_at=NOW)
        s.add_all([county, office])
        s.flush()
        for i in range(2):
            create_user(s, username=f"clerk{i}", display_name="县办事员", role="county", unit_id=county.id,
                        password="Bench-2026!", now=NOW)
        boss = create_user(s, username="office", display_name="办公室", role="office", unit_id=office.id,
                           password="Bench-2026!", now=NOW)
        town = create_town(session=s, actor=Actor.system(), name="娘子关镇", county_id=county.id, now=NOW)
        return Actor.of(boss, office), town.id


def lookup(engine, rows: int, due: int) -> list[float]:  # type: ignore[no-untyped-def]
    """Fill the deadline table with `rows` rows, `due` of them due, and time the sweep's lookup."""
    sessions = make_session_factory(engine)
    office, town_id = seed(sessions)
    with transaction(sessions) as s:
        case = create_case(session=s, definition_key="rectification", actor=office, now=NOW, town_id=town_id,
                           data={"problem": "基准测试"})
        case_id = case.id
    table = Deadline.__table__  # type: ignore[attr-defined]
    started = time.perf_counter()
    batch = []
    statuses = ("fired", "closed", "open")
    with engine.begin() as conn:
        for i in range(rows - due):
            status = statuses[i % 3]
            # open rows lie in the future; fired and closed ones in the past
            offset = timedelta(minutes=1 + i % 500_000)
            when = NOW + offset if status == "open" else NOW - offset
            batch.append({"case_id": case_id, "state": "rectifying", "name": "rectify", "kind": "reminder",
                          "offset_days": 1, "due_date": "2026-12-01", "due_at": when, "status": status,
                          "is_estimated": False, "created_at": NOW})
            if len(batch) == 20_000:
                conn.execute(table.insert(), batch)
                batch.clear()
        batch += [{"case_id": case_id, "state": "rectifying", "name": "rectify", "kind": "reminder",
                   "offset_days": 1, "due_date": "2026-11-27", "due_at": NOW - timedelta(seconds=i), "status": "open",
                   "is_estimated": False, "created_at": NOW} for i in range(due)]
        conn.execute(table.insert(), batch)
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:
            conn.exec_driver_sql("ANALYZE deadline")
    print(f"  filled {rows:,} deadline rows in {time.perf_counter() - started:.1f} s")
    query = due_query(NOW, 200)
    timings = []
    with engine.connect() as conn:
        for _ in range(30):
            t = time.perf_counter()
            found = conn.execute(query).scalars().all()
            timings.append((time.perf_counter() - t) * 1000)
        assert len(found) == due, (len(found), due)
        plan = conn.exec_driver_sql(
            "EXPLAIN QUERY PLAN " + str(query.compile(engine, compile_kwargs={"literal_binds": True}))
            if engine.dialect.name == "sqlite" else
            "EXPLAIN " + str(query.compile(engine, compile_kwargs={"literal_binds": True}))).all()
    print("  plan: " + " | ".join(str(row[-1]) for row in plan))
    return timings


def throughput(engine, due: int) -> tuple[float, dict]:  # type: ignore[no-untyped-def]
    """`due` rectification orders whose deadline passes in the same second; time one sweep of them."""
    sessions = make_session_factory(engine)
    office, town_id = seed(sessions)
    issued = NOW - timedelta(days=60)
    started = time.perf_counter()
    with transaction(sessions) as s:
        for i in range(due):
            create_case(session=s, definition_key="rectification", actor=office, now=issued, town_id=town_id,
                        data={"problem": f"问题 {i}", "due_date": "2026-11-20"})
    with engine.begin() as conn:  # only the expiries: every reminder already went out
        table = Deadline.__table__  # type: ignore[attr-defined]
        conn.execute(table.update().where(table.c.kind == "reminder").values(status="fired"))
        conn.execute(table.update().where(table.c.kind == "expiry").values(due_at=NOW - timedelta(seconds=1)))
    print(f"  created {due:,} orders in {time.perf_counter() - started:.1f} s")
    started = time.perf_counter()
    result = sweep(sessions, now=NOW)
    elapsed = time.perf_counter() - started
    with engine.connect() as conn:
        counts = {
            "expiries": result.expiries, "failed": result.failed,
            "overdue cases": conn.execute(sa.select(sa.func.count()).select_from(Case.__table__)  # type: ignore[attr-defined]
                                          .where(Case.__table__.c.state == "overdue")).scalar_one(),  # type: ignore[attr-defined]
            "audit events": conn.execute(sa.select(sa.func.count()).select_from(AuditEvent.__table__)).scalar_one(),  # type: ignore[attr-defined]
            "notifications": conn.execute(sa.select(sa.func.count()).select_from(Notification.__table__)).scalar_one(),  # type: ignore[attr-defined]
        }
    assert counts["overdue cases"] == due and result.failed == 0, counts
    return elapsed, counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--due", type=int, default=10_000)
    parser.add_argument("--postgres", help="also run on this PostgreSQL URL (its public schema is dropped)")
    args = parser.parse_args()
    targets = [("sqlite", None)] + ([("postgresql", args.postgres)] if args.postgres else [])
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for name, url in targets:
            print(f"== {name}: lookup of 100 due rows among {args.rows:,}")
            timings = lookup(fresh_database(url, folder, "lookup.db"), args.rows, 100)
            median = statistics.median(timings)
            print(f"  lookup: median {median:.2f} ms, max {max(timings):.2f} ms "
                  f"(target < {LOOKUP_TARGET_MS} ms: {median / LOOKUP_TARGET_MS:.0%} of it)")
            print(f"== {name}: {args.due:,} expiries due in the same second")
            elapsed, counts = throughput(fresh_database(url, folder, "throughput.db"), args.due)
            print(f"  processed in {elapsed:.1f} s ({args.due / elapsed:,.0f} per second; "
                  f"target {THROUGHPUT_TARGET_S:.0f} s: {elapsed / THROUGHPUT_TARGET_S:.0%} of it); {counts}")
    sqlite3.connect(":memory:").close()


if __name__ == "__main__":
    main()
