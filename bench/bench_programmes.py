"""How fast the action plan's task list and board answer over 100,000 tasks.

Builds a migrated database holding the units and N task cases (definitions/plan_task.yaml) in a mix of states,
programmes, years and responsible units (counties and member units, each member unit's task with its
responsible and lead parties), by bulk insert. Then it times `workflow.programmes.tasks.task_page` (one page of
20, with its count) as the office, a county and a member unit, with and without filters, next to a baseline
measured side by side: a plain indexed SELECT of one page of cases of the same county, and prints p50/p95.

    .venv/bin/python bench/bench_programmes.py [--tasks 100000] [--postgres URL] [--runs 50]

--postgres URL builds the same tasks in that (emptied!) PostgreSQL database and times it there too. Target: the
task list's p95 under 100 ms.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import sqlalchemy as sa
from sqlmodel import select

from workflow import processes
from workflow.core.actors import Actor
from workflow.core.db import make_engine, make_session_factory, migrate, table_of, transaction
from workflow.core.models import Case, CaseParty, Unit, UnitKind
from workflow.programmes.catalog import programme_spec
from workflow.programmes.tasks import task_page

processes.load()

TARGET_MS = 100
NOW = datetime(2026, 11, 27, 2, 0, tzinfo=UTC)
COUNTIES = ["城区", "矿区", "郊区", "平定县", "盂县", "高新区"]
MEMBERS = ["市发改委", "市科技局", "市工信局", "市农业农村局", "市商务局", "市市场监管局", "市文旅局", "市人社局"]
STATES = ["in_progress"] * 6 + ["late", "supervised", "completed", "completed"]


def build(engine, n: int) -> dict[str, int]:
    migrate(engine)
    sessions = make_session_factory(engine)
    units: dict[str, int] = {}
    with transaction(sessions) as s:
        for name, kind in [("市工信局（领导小组办公室）", UnitKind.office), *[(c, UnitKind.county) for c in COUNTIES],
                           *[(m, UnitKind.member) for m in MEMBERS]]:
            unit = Unit(name=name, kind=kind.value, created_at=NOW)
            s.add(unit)
            s.flush()
            units[name] = unit.id  # type: ignore[assignment]
    rng = random.Random(17)
    keys = [p.key for p in programme_spec().programmes]
    cases, parties = [], []
    for i in range(1, n + 1):
        unit = rng.choice(COUNTIES + MEMBERS)
        lead = rng.choice(MEMBERS)
        county = units[unit] if unit in COUNTIES else units["市工信局（领导小组办公室）"]
        cases.append({"id": i, "number": f"RW-B-{i:07d}", "definition_key": "plan_task", "definition_version": 1,
                      "state": rng.choice(STATES), "version": 2, "county_id": county, "title": f"任务{i}",
                      "data": {"programme": rng.choice(keys), "task_title": f"任务{i}", "plan_year": rng.choice(
                          [2024, 2025, 2026]), "responsible_unit_id": units[unit], "lead_unit_id": units[lead],
                               "report_cycle": "monthly", "report_due_date": "2026-12-07", "source": "plan",
                               "reports": [{"text": "进展", "at": "2026-11-01T10:00:00", "late": False}]},
                      "created_at": NOW, "updated_at": NOW})
        if unit in MEMBERS:
            parties.append({"case_id": i, "unit_id": units[unit], "purpose": "responsible", "created_at": NOW})
        if lead != unit:
            parties.append({"case_id": i, "unit_id": units[lead], "purpose": "lead", "created_at": NOW,
                            "responded_at": NOW})
    with engine.begin() as conn:
        for start in range(0, len(cases), 5000):
            conn.execute(table_of(Case).insert(), cases[start:start + 5000])
        for start in range(0, len(parties), 5000):
            chunk = [{"responded_at": None, **p} for p in parties[start:start + 5000]]
            conn.execute(table_of(CaseParty).insert(), chunk)
    with engine.begin() as conn:
        conn.execute(sa.text("ANALYZE"))  # the planner's statistics, as after any bulk load
    return units


def timed(fn, runs: int) -> tuple[float, float]:
    fn()
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    times.sort()
    return statistics.median(times), times[int(len(times) * 0.95) - 1]


def run(url: str, n: int, runs: int) -> bool:
    engine = make_engine(url)
    units = build(engine, n)
    sessions = make_session_factory(engine)
    office = Actor(user_id=1, name="office", role="office", unit_id=units["市工信局（领导小组办公室）"], unit_name="")
    county = Actor(user_id=2, name="county", role="county", unit_id=units["盂县"], unit_name="盂县")
    member = Actor(user_id=3, name="member", role="member", unit_id=units["市科技局"], unit_name="市科技局")
    table = table_of(Case)
    baseline_query = (sa.select(table).where(table.c.county_id == units["盂县"]).order_by(table.c.id).limit(20))
    cases = [
        ("office, all tasks", office, {}),
        ("office, year 2026, late", office, {"year": 2026, "standing": "late"}),
        ("office, a programme", office, {"programme": "innovation"}),
        ("county, its tasks", county, {}),
        ("county, year 2026", county, {"year": 2026}),
        ("member, responsible or lead", member, {}),
        ("member, a unit filter", member, {"unit_id": units["市科技局"]}),
    ]
    ok = True
    with sessions() as s:
        base = timed(lambda: s.execute(baseline_query).all(), runs)
        print(f"  baseline (indexed SELECT, one page)      p50 {base[0]:7.2f} ms  p95 {base[1]:7.2f} ms")
        for name, who, filters in cases:
            p50, p95 = timed(lambda who=who, filters=filters: task_page(s, who, page=2, per_page=20, **filters), runs)
            met = p95 < TARGET_MS
            ok = ok and met
            print(f"  {name:40s} p50 {p50:7.2f} ms  p95 {p95:7.2f} ms  {'ok' if met else 'OVER TARGET'}")
        count = s.exec(select(sa.func.count()).select_from(Case)).one()
    print(f"  ({count} tasks)")
    return ok


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tasks", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--postgres")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        print(f"SQLite, {args.tasks} tasks:")
        ok = run(f"sqlite:///{tmp}/bench-programmes.db", args.tasks, args.runs)
    if args.postgres:
        engine = make_engine(args.postgres)
        with engine.begin() as conn:
            conn.execute(sa.text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
        print(f"PostgreSQL, {args.tasks} tasks:")
        ok = run(args.postgres, args.tasks, args.runs) and ok
    print("target met" if ok else f"target NOT met (p95 < {TARGET_MS} ms)")


if __name__ == "__main__":
    main()
