"""The project libraries' list over 100,000 projects (workflow.projects.ledger.project_page: one page of 20 with the
total, as the page and the API ask for it): p50 and p95 per filter, for the office (every county) and a county (a
sixth), on SQLite and PostgreSQL, next to a baseline measured in the same run: a plain indexed SELECT of the same
page and count (definition and state, no visibility rule, no JSON). Target: p95 under 100 ms on both databases.

    .venv/bin/python bench/bench_projects.py [--projects 100000] [--runs 20] [--postgres URL]

--postgres (or ZYZ_BENCH_POSTGRES_URL) also runs on that PostgreSQL database: its public schema is dropped.
The dataset is made with a fixed seed: the same projects, stages and dates every run.
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
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import fresh_engine
from workflow import processes
from workflow.core.actors import Actor
from workflow.core.db import make_session_factory, transaction
from workflow.projects.ledger import ProjectFilters, project_page

processes.load()

NOW = datetime(2026, 11, 27, 2, 0, tzinfo=UTC)
TARGET_MS = 100.0
SEED = 20261204
COUNTIES = ["城区", "矿区", "郊区", "平定县", "盂县", "高新区"]
KEY_PATH = (("reserve", None), ("signed", "signed_date"), ("started", "started_date"),
            ("producing", "producing_date"), ("effective", "effective_date"))
INVESTMENT_PATH = (("negotiating", None), ("signed", "signed_date"), ("landed", "landed_date"))


def dataset(count: int) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    rng = random.Random(SEED)
    towns = [(i, f"镇{i}", 1 + i % len(COUNTIES)) for i in range(1, 301)]
    cases = []
    for i in range(1, count + 1):
        town_id, _, county_id = towns[rng.randrange(len(towns))]
        key = "key_project" if rng.random() < 0.7 else "investment_project"
        path = KEY_PATH if key == "key_project" else INVESTMENT_PATH
        reached = rng.randrange(len(path))
        day = date(2023, 1, 1) + timedelta(days=rng.randrange(1300))
        data: dict[str, Any] = {"project_name": f"项目{i}", "enterprise": f"企业{i % 997}",
                                "investment_planned": rng.randrange(100, 200000)}
        for _, field in path[1:reached + 1]:
            day += timedelta(days=rng.randrange(0, 120))
            data[field] = min(day, NOW.date()).isoformat()
        data["last_activity_date"] = min(day, NOW.date()).isoformat()
        if key == "key_project":
            data["report_due_date"] = "2027-01-15"
        prefix = "XM" if key == "key_project" else "ZS"
        cases.append((i, f"{prefix}-{2023 + i % 4}-{i:06d}", key, 1, path[reached][0], 1, county_id, town_id,
                      data["project_name"], json.dumps(data, ensure_ascii=False)))
    return towns, cases


def build(url: str, count: int) -> Any:
    engine = fresh_engine(url)
    pg = engine.dialect.name == "postgresql"
    towns, cases = dataset(count)
    units = [(i, name, "county") for i, name in enumerate(COUNTIES, 1)] + [(7, "市工信局", "office")]
    raw = engine.raw_connection()
    dbapi = raw.dbapi_connection
    cur = dbapi.cursor()
    stamp = NOW if pg else NOW.isoformat(sep=" ")

    def put(table: str, columns: str, rows: list[tuple[Any, ...]]) -> None:
        if pg:
            with cur.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        else:
            cur.executemany(f"INSERT INTO {table} ({columns}) VALUES ({', '.join(['?'] * len(rows[0]))})", rows)

    if not pg:
        cur.execute("BEGIN")
    put("unit", "id, name, kind, is_active, created_at", [(*u, True, stamp) for u in units])
    put("town", "id, name, county_id, created_at", [(*t, stamp) for t in towns])
    put("case_file", "id, number, definition_key, definition_version, state, version, county_id, town_id, title, "
        "data, created_at, updated_at", [(*c, stamp, stamp) for c in cases])
    if pg:
        cur.execute("SELECT setval('case_file_id_seq', %s)", (count,))
    dbapi.commit()
    if pg:
        dbapi.autocommit = True
        cur.execute("VACUUM ANALYZE")
        dbapi.autocommit = False
    else:
        cur.execute("ANALYZE")
        dbapi.commit()
    cur.close()
    raw.close()
    return engine


def timed(fn: Callable[[], Any], runs: int) -> tuple[float, float]:
    fn()  # warm
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    times.sort()
    return statistics.median(times), times[max(0, round(0.95 * len(times)) - 1)]


def run(url: str, count: int, runs: int) -> bool:
    engine = build(url, count)
    office = Actor(user_id=None, name="办公室", role="office", unit_id=7, unit_name="市工信局")
    county = Actor(user_id=None, name="盂县", role="county", unit_id=5, unit_name="盂县")
    table = sa.table("case_file", sa.column("id"), sa.column("definition_key"), sa.column("state"),
                     sa.column("county_id"), sa.column("title"), sa.column("data"), sa.column("number"))
    shapes: list[tuple[str, Actor, ProjectFilters, int]] = [
        ("all, first page", office, ProjectFilters(), 1),
        ("all, page 50", office, ProjectFilters(), 50),
        ("stage 开工", office, ProjectFilters(stage="started"), 1),
        ("stalled", office, ProjectFilters(stalled=True), 1),
        ("county + stage", office, ProjectFilters(county_id=5, stage="signed"), 1),
        ("county's own", county, ProjectFilters(), 1),
        ("county's own, stalled", county, ProjectFilters(stalled=True), 1),
    ]
    sessions = make_session_factory(engine)
    ok = True
    print(f"\n{engine.dialect.name}: {count:,} projects, {runs} runs each; p50 / p95 in ms")
    print(f"{'list':<24}{'service p50':>12}{'p95':>8}{'baseline p50':>14}{'p95':>8}")
    for name, who, filters, page in shapes:
        def service(who: Actor = who, filters: ProjectFilters = filters, page: int = page) -> None:
            with transaction(sessions) as s:
                project_page(s, who, "key_project", filters, now=NOW, page=page)

        def baseline(who: Actor = who, filters: ProjectFilters = filters, page: int = page) -> None:
            where = [table.c.definition_key == "key_project"]
            if filters.stage:
                where.append(table.c.state == filters.stage)
            if filters.county_id or who.role == "county":
                where.append(table.c.county_id == (filters.county_id or who.unit_id))
            with engine.connect() as conn:
                conn.execute(sa.select(sa.func.count()).select_from(table).where(*where)).scalar()
                conn.execute(sa.select(table).where(*where).order_by(table.c.id.desc())
                             .offset((page - 1) * 20).limit(20)).all()

        s50, s95 = timed(service, runs)
        b50, b95 = timed(baseline, runs)
        ok &= s95 < TARGET_MS
        print(f"{name:<24}{s50:>12.1f}{s95:>8.1f}{b50:>14.1f}{b95:>8.1f}{'' if s95 < TARGET_MS else '  OVER'}")
    engine.dispose()
    return ok


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--projects", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--postgres", default=os.environ.get("ZYZ_BENCH_POSTGRES_URL"))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        ok = run(f"sqlite:///{tmp}/bench.db", args.projects, args.runs)
    if args.postgres:
        ok &= run(args.postgres, args.projects, args.runs)
    print("\nall p95 under", TARGET_MS, "ms" if ok else "ms: NO")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
