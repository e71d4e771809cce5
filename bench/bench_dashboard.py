"""How fast the dashboard answers over 10 years x 1,000 towns of statistics and 100,000 cases.

    .venv/bin/python bench/bench_dashboard.py [--towns 1000] [--years 10] [--cases 100000] [--requests 200]
                                              [--postgres URL]

Data (bulk-inserted into a freshly migrated database, SQLite in a temporary directory unless --postgres names
one, whose schema `public` is dropped and made again): 6 counties; 1,000 towns with their registry records at
the registry's levels; 10 accepted years of statistics per town (10,000 rows, each with the full figures of
definitions/statistics.yaml and 0-3 brands and standards); 100,000 cases in all (the towns' records, the 10,000
statistics reports, designations, inspections and rectification orders in every state); 60,000 attachments, of
them 6,000 criticism notices over the ten years.

Timed, server-side (Flask's test client in the same process, so no network), in alternating blocks so that other
load on the machine falls on every side alike: the leading group's /dashboard page (every county), a county's
/dashboard, GET /api/v1/dashboard, and two baselines: a trivial page (/notifications, the same login, session and
layout) and the naive statistics aggregate (every town_statistics row loaded and summed in Python: what the
dashboard's GROUP BY and JSON queries replace). Prints p50 and p95 per side with the dataset's size, and exits 1
when a dashboard request's p95 is 100 ms or more.
"""

from __future__ import annotations

import argparse
import random
import re
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from workflow import processes
from workflow.accounts.auth import create_user
from workflow.core.catalog import CATALOG
from workflow.core.db import make_engine, make_session_factory, migrate, transaction
from workflow.core.models import (
    Attachment,
    Case,
    Town,
    TownStatistics,
    TownStatisticsItem,
    Unit,
    statistics_item_rows,
)

processes.load()

NOW = datetime(2026, 11, 27, 2, 0, tzinfo=UTC)
COUNTIES = ("城区", "矿区", "郊区", "平定县", "盂县", "高新区")
PASSWORD = "Bench-2026!dash"
TARGET_MS = 100.0
CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
LEVELS = (("candidate", 55), ("municipal", 30), ("recommended_provincial", 3), ("provincial", 7),
          ("revocation_proposed", 1), ("revoked", 4))


def _states(key: str) -> list[str]:
    return list(CATALOG.current(key).states)


def build(url: str, towns: int, years: int, cases: int) -> dict[str, int]:
    """The dataset; its size by table."""
    engine = make_engine(url)
    if engine.dialect.name == "postgresql":
        with engine.begin() as c:
            c.execute(sa.text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
    migrate(engine)
    db = make_session_factory(engine)
    rnd = random.Random(2026)
    with transaction(db) as s:
        units = {n: Unit(name=n, kind="county", created_at=NOW) for n in COUNTIES}
        units["office"] = Unit(name="市工信局", kind="office", created_at=NOW)
        units["leader"] = Unit(name="领导小组", kind="leading_group", created_at=NOW)
        for u in units.values():
            s.add(u)
        s.flush()
        for role, name, unit in (("leader", "bench_leader", "leader"), ("office", "bench_office", "office"),
                                 ("county", "bench_county", "盂县")):
            create_user(s, username=name, display_name=name, role=role, unit_id=units[unit].id, password=PASSWORD,
                        now=NOW, must_change_password=False)
        county_ids = [units[n].id for n in COUNTIES]
    version = {k: CATALOG.current(k).version for k in ("town", "statistics_report", "designation", "inspection",
                                                        "rectification")}
    town_rows = [{"id": i + 1, "name": f"专业镇{i + 1:04d}", "county_id": county_ids[i % 6],
                  "industry_category": "manufacturing", "created_at": NOW} for i in range(towns)]
    number = iter(range(1, 10**9))
    case_rows: list[dict] = []

    def case(key: str, state: str, town: dict, data: dict | None = None, created: datetime = NOW) -> int:
        n = next(number)
        case_rows.append({"id": n, "number": f"B{n:08d}", "definition_key": key, "definition_version": version[key],
                          "state": state, "version": 1, "county_id": town["county_id"], "town_id": town["id"],
                          "title": f"{town['name']} {key}", "data": data or {}, "created_at": created,
                          "updated_at": created, "closed_at": created if state in FINAL[key] else None})
        return n

    levels, weights = zip(*LEVELS, strict=True)
    for town in town_rows:
        case("town", rnd.choices(levels, weights)[0], town)
    stat_rows = []
    first_year = 2026 - years
    for town in town_rows:
        output = rnd.uniform(1, 60)
        for year in range(first_year, first_year + years):
            output *= rnd.uniform(0.95, 1.15)
            brands = [{"name": f"品牌{town['id']}-{k}", "level": rnd.choice(("national", "provincial", "municipal"))}
                      for k in range(rnd.randrange(0, 4))]
            standards = [{"name": f"标准{town['id']}-{k}", "kind": rnd.choice(("national", "industry", "local",
                                                                                 "group")),
                          "role": rnd.choice(("lead", "participate"))} for k in range(rnd.randrange(0, 4))]
            figures = {"output_yi": round(output, 2), "tax_wan": round(output * 250, 2),
                       "market_entities": rnd.randrange(100, 3000), "above_scale_firms": rnd.randrange(1, 40),
                       "employees": rnd.randrange(500, 20000), "high_tech_firms": rnd.randrange(0, 10),
                       "specialised_firms": rnd.randrange(0, 10), "invention_patents": rnd.randrange(0, 50),
                       "geographical_indications": rnd.randrange(0, 3), "service_platforms": rnd.randrange(0, 5),
                       "key_projects": rnd.randrange(0, 8), "project_investment_yi": round(rnd.uniform(0, 20), 2),
                       "brands": brands, "standards": standards}
            report = case("statistics_report", "accepted", town, {"report_year": year, "figures": figures})
            stat_rows.append({"id": len(stat_rows) + 1, "town_id": town["id"], "county_id": town["county_id"],
                              "year": year, "output_yi": figures["output_yi"], "figures": figures, "spec_version": 1,
                              "report_case_id": report, "accepted_at": NOW})
    rest = cases - len(case_rows)
    kinds = (("designation", 0.15), ("inspection", 0.4), ("rectification", 0.45))
    order_ids = []
    for key, share in kinds:
        states = _states(key)
        for _ in range(int(rest * share)):
            town = rnd.choice(town_rows)
            created = NOW - timedelta(days=rnd.randrange(0, 365 * years))
            n = case(key, rnd.choice(states), town, created=created)
            if key == "rectification":
                order_ids.append((n, created))
    attachments = []
    for i in range(60000):
        n, created = order_ids[i % len(order_ids)]
        attachments.append({"case_id": n, "kind": "criticism_notice" if i % 10 == 0 else "evidence",
                            "sha256": f"{i:064x}", "filename": f"{i}.pdf", "content_type": "application/pdf",
                            "size": 1000, "uploaded_at": created + timedelta(days=40)})
    with engine.begin() as c:
        c.execute(sa.insert(Town.__table__), town_rows)  # type: ignore[attr-defined]
        for start in range(0, len(case_rows), 5000):
            c.execute(sa.insert(Case.__table__), case_rows[start:start + 5000])  # type: ignore[attr-defined]
        c.execute(sa.insert(TownStatistics.__table__), stat_rows)  # type: ignore[attr-defined]
        # the items as the listeners of workflow.core.models write them with each row (a bulk insert skips them)
        c.execute(sa.insert(TownStatisticsItem.__table__),  # type: ignore[attr-defined]
                  [i for r in stat_rows for i in statistics_item_rows(r["id"], r["town_id"], r["county_id"],
                                                                       r["year"], r["figures"])])
        c.execute(sa.insert(Attachment.__table__), attachments)  # type: ignore[attr-defined]
        if engine.dialect.name == "postgresql":
            for table in ("town", "case_file", "town_statistics", "attachment"):  # the next ids after the rows
                c.execute(sa.text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                                  f"(SELECT max(id) FROM {table}))"))
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
            c.execute(sa.text("VACUUM ANALYZE"))
    engine.dispose()
    with engine.connect() as c:
        item_count = c.execute(sa.text("SELECT count(*) FROM town_statistics_item")).scalar_one()
    return {"towns": len(town_rows), "years": years, "town_statistics": len(stat_rows),
            "town_statistics_item": item_count, "cases": len(case_rows),
            "rectification orders": len(order_ids), "attachments": len(attachments)}


FINAL = {k: {s for s, st in CATALOG.current(k).states.items() if st.final}
         for k in ("town", "statistics_report", "designation", "inspection", "rectification")}


def naive(session) -> tuple[dict, int]:
    """The statistics part the plain way: every accepted row loaded, summed and its items counted in Python."""
    by_year: dict[tuple[int, int], Decimal] = {}
    brands: set[tuple[int, str]] = set()
    for row in session.execute(sa.select(TownStatistics)).scalars():
        key = (row.year, row.county_id)
        by_year[key] = by_year.get(key, Decimal(0)) + Decimal(str(row.output_yi or 0))
        if 2023 <= row.year <= 2025:
            brands |= {(row.town_id, b["name"]) for b in row.figures.get("brands", []) if b["level"] == "national"}
    return by_year, len(brands)


def login(client, username: str) -> None:
    token = CSRF.search(client.get("/login").get_data(as_text=True)).group(1)
    answer = client.post("/login", data={"username": username, "password": PASSWORD, "csrf_token": token})
    assert answer.status_code == 302, answer.status_code


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--towns", type=int, default=1000)
    parser.add_argument("--years", type=int, default=10)
    parser.add_argument("--cases", type=int, default=100000)
    parser.add_argument("--requests", type=int, default=200, help="per side")
    parser.add_argument("--postgres", default=None, help="run on this PostgreSQL database (it is emptied)")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="bench-dashboard-"))
    url = args.postgres or f"sqlite:///{workdir / 'bench.db'}"
    started = time.perf_counter()
    size = build(url, args.towns, args.years, args.cases)
    print(f"database: {'PostgreSQL' if args.postgres else 'SQLite'}; built in {time.perf_counter() - started:.1f} s")
    print("dataset: " + ", ".join(f"{v:,} {k}" for k, v in size.items()))

    from webapp import create_app

    app = create_app({"DATABASE_URL": url, "ZYZ_ENV": "test", "TESTING": True,
                      "SECRET_KEY": "bench-secret-key-that-is-long-enough-0123456789",
                      "UPLOAD_DIR": str(workdir / "files")})
    leader, county, api = app.test_client(), app.test_client(), app.test_client()
    login(leader, "bench_leader")
    login(county, "bench_county")
    token = api.post("/api/v1/auth/token", json={"username": "bench_office", "password": PASSWORD}).json["token"]
    headers = {"Authorization": f"Bearer {token}"}
    db = make_session_factory(app.extensions["zyz"]["engine"])

    def run_naive() -> int:
        with transaction(db) as s:
            naive(s)
        return 200

    sides = {
        "dashboard page, leading group (all counties)": lambda: leader.get("/dashboard?period=2023-2025").status_code,
        "dashboard page, one county": lambda: county.get("/dashboard?period=2023-2025").status_code,
        "GET /api/v1/dashboard (office)": lambda: api.get("/api/v1/dashboard?period=2023-2025",
                                                          headers=headers).status_code,
        "baseline: trivial page (/notifications)": lambda: leader.get("/notifications").status_code,
        "baseline: naive statistics aggregate in Python": run_naive,
    }
    times: dict[str, list[float]] = {name: [] for name in sides}
    for call in sides.values():  # warm up: templates compiled, caches filled
        assert call() == 200
    blocks = 10
    for _ in range(blocks):
        for name, call in sides.items():
            for _ in range(max(args.requests // blocks, 1)):
                start = time.perf_counter()
                status = call()
                times[name].append((time.perf_counter() - start) * 1000)
                assert status == 200, (name, status)
    print(f"\n{'side':<52} {'n':>5} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8}")
    failed = False
    for name, values in times.items():
        values.sort()
        p95 = values[int(len(values) * 0.95) - 1]
        print(f"{name:<52} {len(values):>5} {statistics.median(values):>8.1f} {p95:>8.1f} {values[-1]:>8.1f}")
        if not name.startswith("baseline") and p95 >= TARGET_MS:
            failed = True
    print(f"\ntarget: p95 < {TARGET_MS:.0f} ms per dashboard request: {'NOT MET' if failed else 'met'}")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
