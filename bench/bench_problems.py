"""The problem ledger's view over 100,000 problems (workflow.problems.ledger.ledger_page: one page of 20 with the
total, the county and town names and the deadline badges): p50 and p95 per filter, for the office (every problem),
a county (its own) and a member unit (those it logged or is responsible for), on SQLite and PostgreSQL, next to a
baseline measured in the same run: a plain SELECT of one page and its count by the indexed columns alone (number,
title, state by kind and county). Target: p95 under 100 ms on both databases.

    .venv/bin/python bench/bench_problems.py [--problems 100000] [--runs 20] [--postgres URL]

--postgres (or ZYZ_BENCH_POSTGRES_URL) also runs on that PostgreSQL database: its public schema is dropped.
The dataset is made with a fixed seed: the same problems every run.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import fresh_engine
from workflow import processes
from workflow.core.actors import Actor
from workflow.core.db import make_session_factory, transaction
from workflow.problems.ledger import LedgerFilters, ledger_page

processes.load()

NOW = datetime(2026, 11, 27, 2, 0, tzinfo=UTC)
TARGET_MS = 100.0
SEED = 20261204
COUNTIES = ["城区", "矿区", "郊区", "平定县", "盂县", "高新区"]
MEMBERS = ["市发改委", "市科技局", "市财政局", "市规划和自然资源局", "市生态环境局", "市商务局", "市能源局", "市金融办",
           "市人社局", "市行政审批局"]
CATEGORIES = ["land", "energy", "finance", "talent", "approvals", "market", "other"]
# the states a ledger holds, weighted as an office's ledger after a few years: most closed
STATES = [("closed", 50), ("assigned", 15), ("in_progress", 10), ("answered", 8), ("overdue", 7), ("logged", 5),
          ("for_meeting", 2), ("escalated", 3)]
TEXTS = ["用地指标不足，扩产项目无法落地", "天然气管网未通，窑炉改造受阻", "融资担保难，贷款审批周期长",
         "技工短缺，招不到熟练工", "环评审批慢，项目开工推迟", "产品销售渠道窄", "冷链物流设施不足"]
OFFICE_UNIT = len(COUNTIES) + 1
FIRST_MEMBER = OFFICE_UNIT + 1


def dataset(count: int) -> dict[str, list[tuple[Any, ...]]]:
    """Units, towns, problems, their parties, ledger entries and open deadlines, all from one seed."""
    rng = random.Random(SEED)
    towns = [(i, f"测试{i:03d}镇", 1 + i % len(COUNTIES)) for i in range(1, 301)]
    states = [s for s, w in STATES for _ in range(w)]
    cases, parties, deadlines, entries = [], [], [], []
    for i in range(1, count + 1):
        town_id, town, county_id = towns[rng.randrange(len(towns))]
        state = rng.choice(states)
        category = rng.choice(CATEGORIES)
        data: dict[str, Any] = {"category": category, "description": f"{town}：{rng.choice(TEXTS)}",
                                "origin": "field_work", "raised_by": "走访组"}
        if rng.random() < 0.3:  # logged by a member unit
            parties.append((i, FIRST_MEMBER + rng.randrange(len(MEMBERS)), "problem_raiser", NOW))
        unit = None
        if state != "logged":
            unit = county_id if rng.random() < 0.3 else FIRST_MEMBER + rng.randrange(len(MEMBERS))
            due = date(2026, 1, 5) + timedelta(days=rng.randrange(700))
            data.update({"responsible_unit_id": unit, "responsible_unit": "责任单位", "due_date": due.isoformat()})
            parties.append((i, unit, "problem_responsible", NOW))
            if state in ("assigned", "in_progress"):
                deadlines.append((i, state, "answer", "expiry", "expire", due.isoformat(),
                                  datetime(due.year, due.month, due.day, 16, tzinfo=UTC), "open", NOW))
        entries.append((i, category, unit))
        cases.append((i, f"WT-{2023 + i % 4}-{i:06d}", "problem", 1, state, 1, county_id, town_id,
                      f"{town}：{data['description'][:20]}", json.dumps(data, ensure_ascii=False)))
    units = ([(i, name, "county") for i, name in enumerate(COUNTIES, 1)] + [(OFFICE_UNIT, "市工信局", "office")]
             + [(FIRST_MEMBER + i, name, "member") for i, name in enumerate(MEMBERS)])
    return {"units": units, "towns": towns, "cases": cases, "parties": parties, "deadlines": deadlines,
            "entries": entries}


def build(url: str, count: int) -> tuple[Any, dict[str, Actor]]:
    """A fresh, migrated database holding the dataset; the engine and the actors to read the ledger as."""
    engine = fresh_engine(url)
    pg = engine.dialect.name == "postgresql"
    rows = dataset(count)
    raw = engine.raw_connection()
    dbapi = raw.dbapi_connection
    cur = dbapi.cursor()

    def put(table: str, columns: str, values: list[tuple[Any, ...]]) -> None:
        if pg:
            with cur.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                for row in values:
                    copy.write_row(row)
        else:
            cur.executemany(f"INSERT INTO {table} ({columns}) VALUES ({', '.join(['?'] * len(values[0]))})", values)

    stamp = NOW if pg else NOW.isoformat(sep=" ")
    if not pg:
        cur.execute("BEGIN")
    put("unit", "id, name, kind, is_active, created_at", [(*u, True, stamp) for u in rows["units"]])
    put("town", "id, name, county_id, created_at", [(*t, stamp) for t in rows["towns"]])
    put("case_file", "id, number, definition_key, definition_version, state, version, county_id, town_id, title, "
        "data, created_at, updated_at", [(*c, stamp, stamp) for c in rows["cases"]])
    put("case_party", "case_id, unit_id, purpose, created_at", [(*p[:3], stamp) for p in rows["parties"]])
    put("problem_entry", "case_id, category, responsible_unit_id", rows["entries"])
    put("deadline", "case_id, state, name, kind, trigger, due_date, due_at, status, created_at, is_estimated, "
        "attempts", [(*d[:6], d[6] if pg else d[6].isoformat(sep=" "), d[7], stamp, False, 0)
                     for d in rows["deadlines"]])
    if pg:
        for table in ("case_file", "unit", "town"):
            cur.execute(f"SELECT setval('{table}_id_seq', (SELECT max(id) FROM {table}))")
    dbapi.commit()
    if pg:
        dbapi.autocommit = True  # what autovacuum does soon after a bulk load
        cur.execute("VACUUM ANALYZE")
        dbapi.autocommit = False
    else:
        cur.execute("ANALYZE")
        dbapi.commit()
    cur.close()
    raw.close()
    return engine, {
        "office": Actor(user_id=None, name="办公室", role="office", unit_id=OFFICE_UNIT, unit_name="市工信局"),
        "county": Actor(user_id=None, name="盂县", role="county", unit_id=5, unit_name="盂县"),
        "member": Actor(user_id=None, name="市发改委", role="member", unit_id=FIRST_MEMBER, unit_name="市发改委")}


def views() -> list[tuple[str, str, LedgerFilters, int]]:
    """(what, who, filters, page): what people open."""
    return [
        ("the whole ledger, page 1", "office", LedgerFilters(), 1),
        ("the whole ledger, page 200", "office", LedgerFilters(), 200),
        ("one county", "office", LedgerFilters(county_id=5), 1),
        ("one town", "office", LedgerFilters(town_id=17), 1),
        ("one category", "office", LedgerFilters(category="finance"), 1),
        ("one state", "office", LedgerFilters(state="answered"), 1),
        ("overdue", "office", LedgerFilters(overdue=True), 1),
        ("a responsible unit", "office", LedgerFilters(unit_id=FIRST_MEMBER + 3), 1),
        ("county + category + state", "office", LedgerFilters(county_id=4, category="land", state="assigned"), 1),
        ("its own ledger", "county", LedgerFilters(), 1),
        ("its own, one category", "county", LedgerFilters(category="talent"), 1),
        ("its own, overdue", "county", LedgerFilters(overdue=True), 1),
        ("what it logged or must answer", "member", LedgerFilters(), 1),
        ("the same, one category", "member", LedgerFilters(category="land"), 1),
    ]


def baseline(engine: Any) -> Callable[[], int]:
    """One page of 20 and the count by the indexed columns alone, no JSON, no join: the floor of any list."""
    page = sa.text("SELECT id, number, title, state FROM case_file WHERE definition_key = 'problem' "
                   "AND county_id = 5 ORDER BY id DESC LIMIT 20")
    count = sa.text("SELECT count(*) FROM case_file WHERE definition_key = 'problem' AND county_id = 5")

    def run() -> int:
        with engine.connect() as conn:
            conn.execute(page).all()
            return int(conn.execute(count).scalar_one())

    return run


def timed(fn: Callable[[], Any], runs: int) -> tuple[list[float], Any]:
    fn()  # warm: the first run reads the pages into the cache
    times, result = [], None
    for _ in range(runs):
        started = time.perf_counter()
        result = fn()
        times.append((time.perf_counter() - started) * 1000)
    return times, result


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def run(name: str, url: str, count: int, runs: int) -> bool:
    started = time.perf_counter()
    engine, actors = build(url, count)
    print(f"  {name}: {count:,} problems built in {time.perf_counter() - started:.1f} s")
    sessions = make_session_factory(engine)
    floor = baseline(engine)
    print(f"  {'view':32} {'who':7} {'found':>7} {'p50':>8} {'p95':>8}   {'base p50':>8} {'base p95':>8}")
    worst = 0.0
    for what, who, filters, page in views():
        def one(who: str = who, filters: LedgerFilters = filters, page: int = page) -> int:
            with transaction(sessions) as s:
                return ledger_page(s, actors[who], filters, now=NOW, page=page, per_page=20).total

        # the baseline is timed in alternation with the view, so that noise from other processes falls on both
        times, base_times, total = [], [], one()
        floor()
        for _ in range(runs):
            for fn, into in ((one, times), (floor, base_times)):
                t0 = time.perf_counter()
                fn()
                into.append((time.perf_counter() - t0) * 1000)
        worst = max(worst, pct(times, 95))
        print(f"  {what:32} {who:7} {total:>7,} {statistics.median(times):>6.1f}ms {pct(times, 95):>6.1f}ms"
              f"   {statistics.median(base_times):>6.1f}ms {pct(base_times, 95):>6.1f}ms")
    engine.dispose()
    ok = worst < TARGET_MS
    print(f"  {name}: slowest p95 {worst:.1f} ms ({worst / TARGET_MS:.0%} of the {TARGET_MS:.0f} ms target) — "
          f"{'met' if ok else 'NOT met'}")
    return ok


def main(argv: Iterator[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--problems", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--postgres", default=os.environ.get("ZYZ_BENCH_POSTGRES_URL"),
                        help="also run on this PostgreSQL database (its public schema is dropped)")
    args = parser.parse_args(list(argv) if argv is not None else None)
    ok = True
    with tempfile.TemporaryDirectory() as folder:
        ok &= run("SQLite", f"sqlite:///{Path(folder) / 'problems.db'}", args.problems, args.runs)
    if args.postgres:
        ok &= run("PostgreSQL", args.postgres, args.problems, args.runs)
    else:
        print("  PostgreSQL: not run (give --postgres URL or ZYZ_BENCH_POSTGRES_URL)")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
