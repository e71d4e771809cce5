"""Opening the year's evaluation for 1,000 designated towns in one transaction (target: under 60 s on SQLite and
PostgreSQL).

    .venv/bin/python bench/bench_evaluation_campaign.py [--towns 1000] [--rounds 3] [--postgres URL]

--postgres (or ZYZ_BENCH_POSTGRES_URL) also runs on that PostgreSQL database: its public schema is dropped.

Data (bulk-inserted into a freshly migrated database, SQLite in a temporary directory with the app's settings:
WAL, synchronous=FULL): 6 counties with two users each (e-mail addresses set: each new case tells its county in
the app and by e-mail, as definitions/notifications.yaml says) and two at the office; 1,000 towns, each with its
registry record (definition "town") at `municipal`, and an accepted statistics row (`town_statistics`) for each
year from 2022 to 2026 with the figures the evaluation reads (so every case gets its statistics' values and last
year's for the growth indicators). No holidays entered for 2027, so the cases' deadlines are estimated and the
office is warned of it, as in a real year whose calendar is missing. Fixed seed: the same rows every run.

Timed, in alternating rounds so that other load on the machine falls on both sides alike:

- the campaign: `workflow.evaluation.campaign.open_evaluation` by the office for one year (2026, then 2025, ...:
  a year is opened once), in one transaction with its commit: 1,000 `evaluation_town` cases with their numbers,
  audit events, deadline rows and search index, and the campaign's own audit event;
- the baseline: the same number of `case_file` rows (same titles and data) inserted by SQLAlchemy core in one
  `executemany`, in one transaction with its commit (deleted again, untimed).

Prints each side's median and worst round, the SQL statements the campaign runs per town (SQLAlchemy's cursor
events and the statements `workflow.core.db.Prepared` runs on the DBAPI cursor), the audit chain's head after
the rounds and a digest of every row the rounds wrote (cases, deadlines, audit events, notifications, outbox,
search texts): the same digest before and after a change to the campaign means the same rows. Exits 1 when a
round of the campaign takes 60 s or more.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import fresh_engine
from workflow import processes
from workflow.core import db as core_db
from workflow.core.actors import Actor
from workflow.core.catalog import CATALOG
from workflow.core.db import make_session_factory, transaction
from workflow.core.models import AuditHead, Case, Town, TownStatistics, Unit, User
from workflow.evaluation.campaign import open_evaluation

processes.load()

NOW = datetime(2027, 4, 1, 2, 0, tzinfo=UTC)  # Thursday 1 April 2027, 10:00 in Yangquan
TARGET_S = 60.0
SEED = 2027
COUNTIES = ("城区", "矿区", "郊区", "平定县", "盂县", "高新区")
YEARS = range(2022, 2027)


def build(url: str, towns: int) -> tuple[sa.Engine, Actor]:
    """A fresh, migrated database holding the towns, their records and statistics; the engine and the office."""
    engine = fresh_engine(url)
    rnd = random.Random(SEED)
    units: list[dict[str, Any]] = [{"id": i, "name": name, "kind": "county", "created_at": NOW}
                                   for i, name in enumerate(COUNTIES, 1)]
    units.append({"id": len(units) + 1, "name": "市工信局", "kind": "office", "created_at": NOW})
    office = Actor(user_id=None, name="办公室", role="office", unit_id=units[-1]["id"], unit_name="市工信局")
    users = [{"username": f"user{u['id']}_{k}", "display_name": f"{u['name']}{k}", "role": u["kind"],
              "unit_id": u["id"], "email": f"user{u['id']}_{k}@example.cn", "password_hash": "-",
              "password_changed_at": NOW, "created_at": NOW} for u in units for k in (1, 2)]
    version = CATALOG.current("town").version
    town_rows: list[dict[str, Any]] = []
    records: list[dict[str, Any]] = []
    stats: list[dict[str, Any]] = []
    for i in range(1, towns + 1):
        county = 1 + (i - 1) % len(COUNTIES)
        town_rows.append({"id": i, "name": f"专业镇{i:04d}", "county_id": county,
                          "industry_category": "manufacturing", "created_at": NOW})
        records.append({"id": i, "number": f"DA-2024-{i:04d}", "definition_key": "town", "definition_version": version,
                        "state": "municipal", "version": 1, "county_id": county, "town_id": i,
                        "title": f"专业镇{i:04d}档案", "data": {}, "created_at": NOW, "updated_at": NOW})
        output = rnd.uniform(5, 60)
        for year in YEARS:
            output *= rnd.uniform(0.95, 1.15)
            figures = {"output_yi": round(output, 2), "tax_wan": round(output * 250, 2),
                       "market_entities": rnd.randrange(100, 3000), "above_scale_firms": rnd.randrange(1, 40),
                       "employees": rnd.randrange(500, 20000), "high_tech_firms": rnd.randrange(0, 10),
                       "specialised_firms": rnd.randrange(0, 10), "invention_patents": rnd.randrange(0, 50),
                       "geographical_indications": rnd.randrange(0, 3), "service_platforms": rnd.randrange(0, 5),
                       "key_projects": rnd.randrange(0, 8), "project_investment_yi": round(rnd.uniform(0, 20), 2),
                       "brands": [], "standards": []}
            stats.append({"id": len(stats) + 1, "town_id": i, "county_id": county, "year": year,
                          "output_yi": figures["output_yi"], "figures": figures, "spec_version": 1,
                          "report_case_id": i, "accepted_at": NOW})
    with engine.begin() as conn:
        conn.execute(sa.insert(Unit.__table__), units)  # type: ignore[attr-defined]
        conn.execute(sa.insert(User.__table__), users)  # type: ignore[attr-defined]
        conn.execute(sa.insert(Town.__table__), town_rows)  # type: ignore[attr-defined]
        conn.execute(sa.insert(Case.__table__), records)  # type: ignore[attr-defined]
        conn.execute(sa.insert(TownStatistics.__table__), stats)  # type: ignore[attr-defined]
        if engine.dialect.name == "postgresql":
            for table in ("unit", "app_user", "town", "case_file", "town_statistics"):  # the next ids after the rows
                conn.execute(sa.text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                                     f"(SELECT max(id) FROM {table}))"))
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(sa.text("VACUUM ANALYZE"))
    else:
        with engine.begin() as conn:
            conn.execute(sa.text("ANALYZE"))
    return engine, office


class Statements:
    """Counts the SQL statements sent while `on` is set: SQLAlchemy's cursor executions and the statements
    `Prepared` runs on the DBAPI cursor itself (which SQLAlchemy's events do not see); an `executemany` counts
    once, as does an INSERT of several rows that `Prepared.execute_many` sends as one statement."""

    def __init__(self, engine: sa.Engine):
        self.on = False
        self.count = 0
        self._depth = 0  # inside a Prepared call: what it runs itself is not counted again
        sa.event.listen(engine, "before_cursor_execute", self._seen)
        for name in ("execute", "fetch", "execute_many"):
            setattr(core_db.Prepared, name, self._counted(getattr(core_db.Prepared, name)))

    def _seen(self, *_: Any) -> None:
        if self.on:
            self.count += 1

    def _counted(self, method: Callable[..., Any]) -> Callable[..., Any]:
        def counted(prepared: core_db.Prepared, conn: sa.Connection, params: Any) -> Any:
            if self.on and not self._depth:
                self.count += 1
            self._depth += 1
            try:
                return method(prepared, conn, params)
            finally:
                self._depth -= 1
        return counted


def baseline_rows(towns: int, year: int) -> list[dict[str, Any]]:
    """What the campaign's case rows hold, for the baseline's core INSERT."""
    return [{"number": f"BASE-{year}-{i:04d}", "definition_key": "evaluation_town", "definition_version": 1,
             "state": "self_assessment", "version": 1, "county_id": 1 + (i - 1) % len(COUNTIES), "town_id": i,
             "title": f"{year}年度评价 · 专业镇{i:04d}",
             "data": {"evaluation_year": year, "spec_version": 1, "statistics_values": {"output": 30},
                      "last_values": {}, "statistics_year": year},
             "created_at": NOW, "updated_at": NOW} for i in range(1, towns + 1)]


WRITTEN = {"case_file": "id, number, definition_key, state, county_id, town_id, title, data, created_at",
           "deadline": "id, case_id, state, name, kind, offset_days, due_date, due_at, is_estimated, status",
           "audit_event": "seq, kind, case_id, county_id, to_state, data, hash",
           # without their ids: an INSERT ... ON CONFLICT DO NOTHING that skips a row takes an id on PostgreSQL
           "notification": "source_key, user_id, case_id, kind, params",
           "outbox_message": "idempotency_key, rule, channel, user_id, case_id, params",
           "case_search": "case_id, body"}


def digest(conn: sa.Connection) -> str:
    """A digest of the rows the campaign writes, in a stable order."""
    found = hashlib.sha256()
    for table, columns in WRITTEN.items():
        for row in conn.execute(sa.text(f"SELECT {columns} FROM {table} ORDER BY {columns.split(',')[0]}")):
            found.update(repr(tuple(row)).encode())
    return found.hexdigest()[:16]


def run(name: str, url: str, towns: int, rounds: int) -> bool:
    started = time.perf_counter()
    engine, office = build(url, towns)
    print(f"  {name}: {towns:,} designated towns ({len(YEARS)} years of statistics each) built in "
          f"{time.perf_counter() - started:.1f} s")
    sessions = make_session_factory(engine)
    counter = Statements(engine)
    table = Case.__table__  # type: ignore[attr-defined]
    campaign: list[float] = []
    baseline: list[float] = []
    per_town: list[float] = []
    for year in list(reversed(YEARS))[:rounds]:
        rows = baseline_rows(towns, year)
        start = time.perf_counter()
        with engine.begin() as conn:
            conn.execute(sa.insert(table), rows)
        baseline.append(time.perf_counter() - start)
        with engine.begin() as conn:
            conn.execute(sa.delete(table).where(table.c.number.like("BASE-%")))
        counter.on, counter.count = True, 0
        start = time.perf_counter()
        with transaction(sessions) as s:
            opened = open_evaluation(session=s, actor=office, now=NOW, year=year)
        campaign.append(time.perf_counter() - start)
        counter.on = False
        assert len(opened) == towns, len(opened)
        assert all(c.data["statistics_year"] == year and c.data["statistics_values"] for c in opened)
        per_town.append(counter.count / towns)
        print(f"  {name}: {year}: campaign {campaign[-1]:6.2f} s ({counter.count:,} statements, "
              f"{counter.count / towns:.1f} per town)   baseline {baseline[-1] * 1000:6.1f} ms")
    with engine.connect() as conn:
        head = conn.execute(sa.select(AuditHead.__table__)).one()  # type: ignore[attr-defined]
        written = digest(conn)
    engine.dispose()
    worst = max(campaign)
    ok = worst < TARGET_S
    print(f"  {'side':<58} {'median':>9} {'worst':>9}")
    print(f"  {'campaign: open_evaluation, one transaction':<58} {statistics.median(campaign):>7.2f} s "
          f"{worst:>7.2f} s")
    print(f"  {'baseline: the same number of case rows, core executemany':<58} "
          f"{statistics.median(baseline) * 1000:>6.1f} ms {max(baseline) * 1000:>6.1f} ms")
    print(f"  {name}: {statistics.median(per_town):.1f} statements per town; audit head {head.seq} {head.hash[:16]}; "
          f"rows written: digest {written}")
    print(f"  {name}: worst round {worst:.2f} s ({worst / TARGET_S:.0%} of the {TARGET_S:.0f} s target) — "
          f"{'met' if ok else 'NOT met'}")
    return ok


def main(argv: Iterator[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--towns", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=3, help=f"at most {len(YEARS)} (one year each)")
    parser.add_argument("--postgres", default=os.environ.get("ZYZ_BENCH_POSTGRES_URL"),
                        help="also run on this PostgreSQL database (its public schema is dropped)")
    args = parser.parse_args(list(argv) if argv is not None else None)
    ok = True
    with tempfile.TemporaryDirectory() as folder:
        ok &= run("SQLite", f"sqlite:///{Path(folder) / 'campaign.db'}", args.towns, min(args.rounds, len(YEARS)))
    if args.postgres:
        ok &= run("PostgreSQL", args.postgres, args.towns, min(args.rounds, len(YEARS)))
    else:
        print("  PostgreSQL: not run (give --postgres URL or ZYZ_BENCH_POSTGRES_URL)")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
