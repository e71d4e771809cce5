"""Search over 100,000 cases (workflow.core.search.search_cases): p50 and p95 per kind of query, for the office
(sees every case), a county (a sixth of them) and a member unit (the cases it was asked about), on SQLite (FTS5
trigram) and PostgreSQL (pg_trgm), next to a plain LIKE scan over the same rows in the same run. Target: p95
under 100 ms on both databases.

    .venv/bin/python bench/bench_search.py [--cases 100000] [--runs 20] [--postgres URL]

--postgres (or ZYZ_BENCH_POSTGRES_URL) also runs on that PostgreSQL database: its public schema is dropped.
The dataset is made with a fixed seed: the same cases, texts and queries every run.
"""

from __future__ import annotations

import argparse
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
from workflow.core.actors import Actor
from workflow.core.db import make_session_factory, transaction
from workflow.core.search import CHARS_TABLE, COUNT_CAP, body_of, like_pattern, search_cases, spaced

processes.load()

NOW = datetime(2026, 11, 27, 2, 0, tzinfo=UTC)
TARGET_MS = 100.0
SEED = 20261127
COUNTIES = ["城区", "矿区", "郊区", "平定县", "盂县", "高新区"]
MEMBERS = ["市发改委", "市科技局", "市财政局", "市自然资源局", "市生态环境局", "市商务局"]
TOWN_HEADS = list("娘子关西烟梁家寨路家村东梁仙人孙家庄牵牛镇上社北下庄冶西岔口巨城柏井张庄")
INDUSTRIES = ["铸造", "耐火材料", "陶瓷", "煤层气", "新材料", "农产品加工", "文化旅游", "装备制造", "光伏", "中药材",
              "食品", "纺织", "化工", "建材", "物流", "电子信息"]
FIRM_HEADS = ["阳泉", "晋东", "太行", "狮脑山", "娘子关", "冠山", "桃河", "翠枫", "南庄", "平潭", "荫营", "华鑫",
              "宏达", "鑫源", "瑞丰", "金泰", "恒通", "永盛", "兆丰", "三元"]
FIRM_TAILS = ["有限公司", "集团有限公司", "股份有限公司", "科技有限公司", "实业有限公司", "厂"]
COMMENTS = ["请补充{x}产值统计证明材料", "龙头企业名单不全，请补充{x}", "{x}上下游配套企业户数与附件不一致",
            "营商环境材料过于简略，请补充{x}", "同意认定，建议加强{x}品牌建设", "整改报告未附{x}照片",
            "{x}台账缺失，限期补齐", "延期理由不充分：{x}", "已核实{x}整改完成", "专家意见：{x}产业带动明显"]
PROCESSES = [("designation", "SQ", "市级专业镇认定申请"), ("rectification", "ZG", "限期整改通知"),
             ("inspection", "JC", "专项检查"), ("town", "DA", "档案")]


def dataset(count: int) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]], list[tuple[Any, ...]],
                                 list[tuple[Any, ...]]]:
    """Towns, cases, their search texts and the member units' case parties, all from one seed."""
    rng = random.Random(SEED)
    towns, seen = [], set()
    while len(towns) < 600:
        name = "".join(rng.sample(TOWN_HEADS, 2)) + rng.choice(["镇", "乡"])
        county = 1 + len(towns) % len(COUNTIES)
        if (county, name) not in seen:
            seen.add((county, name))
            towns.append((len(towns) + 1, name, county, rng.choice(INDUSTRIES)))
    cases, bodies, parties = [], [], []
    for i in range(1, count + 1):
        town_id, town, county_id, industry = towns[rng.randrange(len(towns))]
        key, prefix, label = PROCESSES[rng.randrange(len(PROCESSES))]
        number = f"{prefix}-{2023 + i % 4}-{i:05d}"
        title = f"{town}{label}" if key == "town" else f"{label} · {town}"
        firms = [rng.choice(FIRM_HEADS) + industry + rng.choice(FIRM_TAILS) for _ in range(rng.randint(1, 3))]
        comments = [(None, rng.choice(COMMENTS).format(x=rng.choice([industry, town, *firms])))
                    for _ in range(rng.randint(0, 3))]
        data = {"leading_industry": industry, "leading_enterprises": [{"name": f} for f in firms]}
        cases.append((i, number, key, 1, "submitted", 1, county_id, town_id, title, NOW, NOW))
        bodies.append((i, body_of(number=number, title=title, town=town, county=COUNTIES[county_id - 1],
                                  definition_key=key, data=data, comments=comments)))
        if rng.random() < 0.02:
            parties.append((i, 8 + rng.randrange(len(MEMBERS)), "consultation", NOW))
    return towns, cases, bodies, parties


def build(url: str, count: int) -> tuple[Any, dict[str, Actor]]:
    """A fresh, migrated database holding the dataset; the engine and the actors to search as."""
    engine = fresh_engine(url)
    towns, cases, bodies, parties = dataset(count)
    units = [(i, name, "county") for i, name in enumerate(COUNTIES, 1)] + [(7, "市工信局", "office")] + [
        (8 + i, name, "member") for i, name in enumerate(MEMBERS)]
    pg = engine.dialect.name == "postgresql"
    raw = engine.raw_connection()
    dbapi = raw.dbapi_connection
    cur = dbapi.cursor()
    mark = "%s" if pg else "?"

    def put(table: str, columns: str, rows: list[tuple[Any, ...]]) -> None:
        if pg:
            with cur.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        else:
            cur.executemany(f"INSERT INTO {table} ({columns}) VALUES ({', '.join([mark] * len(rows[0]))})", rows)

    stamp = NOW.isoformat(sep=" ") if not pg else NOW
    if not pg:
        cur.execute("BEGIN")  # one transaction (the engine's connections otherwise commit each statement)
    put("unit", "id, name, kind, is_active, created_at", [(*u, True, stamp) for u in units])
    put("town", "id, name, county_id, leading_industry, created_at", [(*t, stamp) for t in towns])
    put("case_file", "id, number, definition_key, definition_version, state, version, county_id, town_id, title, "
        "created_at, updated_at, data", [(*c[:9], stamp, stamp, "{}") for c in cases])
    put("case_search", "case_id, body", bodies)  # SQLite: its triggers fill the trigram table
    if not pg:  # what workflow.core.search.index_case writes besides
        cur.executemany(f"INSERT INTO {CHARS_TABLE}(rowid, body) VALUES (?, ?)",
                        [(case_id, spaced(body)) for case_id, body in bodies])
    put("case_party", "case_id, unit_id, purpose, created_at", [(*p[:3], stamp) for p in parties])
    if pg:
        cur.execute("SELECT setval('case_file_id_seq', %s)", (count,))
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
    office = Actor(user_id=None, name="办公室", role="office", unit_id=7, unit_name="市工信局")
    county = Actor(user_id=None, name="盂县", role="county", unit_id=5, unit_name="盂县")
    member = Actor(user_id=None, name="市科技局", role="member", unit_id=9, unit_name="市科技局")
    return engine, {"office": office, "county": county, "member": member}


def queries(count: int) -> list[tuple[str, str, str]]:
    """(shape, who, q): the kinds of query people type."""
    rng = random.Random(SEED + 1)
    towns, cases, bodies, _ = dataset(min(count, 2000))  # the same first rows: names that exist
    number = cases[rng.randrange(len(cases))][1]
    town = towns[5][1]
    firm = next(line for line in bodies[7][1].split("\n") if line.endswith(("公司", "厂")))
    return [
        ("case number, exact", "office", number),
        ("case number, exact", "county", number),
        ("town name (3 chars)", "office", town),
        ("town name (3 chars)", "county", town),
        ("county (2 chars)", "office", "盂县"),
        ("county (2 chars)", "member", "盂县"),
        ("enterprise name", "office", firm),
        ("enterprise, part (4 chars)", "office", firm[:4]),
        ("comment phrase", "office", "产值统计证明"),
        ("comment phrase", "county", "产值统计证明"),
        ("industry (2 chars)", "office", "铸造"),
        ("one character", "office", "镇"),
        ("one character", "county", "镇"),
        ("two words", "office", f"{town} 铸造"),
        ("nothing matches (3 chars)", "office", "无此物"),
        ("nothing matches (2 chars)", "office", "无此"),
        ("100 characters", "office", "阳泉" * 50),
    ]


def like_scan(engine: Any) -> Callable[[Actor, str], int]:
    """The baseline: the same page and count (up to the same cap) by a plain LIKE over the same text, which no
    index can serve."""
    operator = "LIKE"
    sql_count = (f"SELECT count(*) FROM (SELECT 1 FROM case_file c JOIN case_search s ON s.case_id = c.id "
                 f"WHERE (s.body || '') {operator} :p ESCAPE '\\' {{scope}} LIMIT {COUNT_CAP + 1}) AS found")
    sql_page = (f"SELECT c.id, c.number, c.title, s.body FROM case_file c JOIN case_search s ON s.case_id = c.id "
                f"WHERE (s.body || '') {operator} :p ESCAPE '\\' {{scope}} ORDER BY c.id DESC LIMIT 20")

    def run(actor: Actor, q: str) -> int:
        scope = {"office": "", "county": f"AND c.county_id = {actor.unit_id}",
                 "member": f"AND c.id IN (SELECT case_id FROM case_party WHERE unit_id = {actor.unit_id})"}[actor.role]
        clauses = {"p": like_pattern(q.split()[0])}
        extra = "".join(f" AND s.body {operator} :p{i} ESCAPE '\\'" for i in range(1, len(q.split())))
        clauses.update({f"p{i}": like_pattern(t) for i, t in enumerate(q.split()[1:], 1)})
        with engine.connect() as conn:
            total = conn.execute(sa.text(sql_count.format(scope=scope + extra)), clauses).scalar_one()
            conn.execute(sa.text(sql_page.format(scope=scope + extra)), clauses).all()
        return int(total)

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
    print(f"  {name}: {count:,} cases built in {time.perf_counter() - started:.1f} s")
    sessions = make_session_factory(engine)
    baseline = like_scan(engine)
    print(f"  {'query':28} {'who':7} {'found':>7} {'p50':>8} {'p95':>8}   {'LIKE p50':>8} {'LIKE p95':>8}")
    worst = 0.0
    for shape, who, q in queries(count):
        def one(who: str = who, q: str = q) -> int:
            with transaction(sessions) as s:
                return search_cases(s, actors[who], q, page=1, per_page=20).total

        def scan(who: str = who, q: str = q) -> int:
            return baseline(actors[who], q)

        times, total = timed(one, runs)
        like_times, like_total = timed(scan, max(3, runs // 4))
        assert total == min(like_total, COUNT_CAP), (shape, who, total, like_total)
        worst = max(worst, pct(times, 95))
        print(f"  {shape:28} {who:7} {total:>7,} {statistics.median(times):>6.1f}ms {pct(times, 95):>6.1f}ms"
              f"   {statistics.median(like_times):>6.1f}ms {pct(like_times, 95):>6.1f}ms")
    engine.dispose()
    ok = worst < TARGET_MS
    print(f"  {name}: slowest p95 {worst:.1f} ms ({worst / TARGET_MS:.0%} of the {TARGET_MS:.0f} ms target) — "
          f"{'met' if ok else 'NOT met'}")
    return ok


def main(argv: Iterator[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--postgres", default=os.environ.get("ZYZ_BENCH_POSTGRES_URL"),
                        help="also run on this PostgreSQL database (its public schema is dropped)")
    args = parser.parse_args(list(argv) if argv is not None else None)
    ok = True
    with tempfile.TemporaryDirectory() as folder:
        ok &= run("SQLite", f"sqlite:///{Path(folder) / 'search.db'}", args.cases, args.runs)
    if args.postgres:
        ok &= run("PostgreSQL", args.postgres, args.cases, args.runs)
    else:
        print("  PostgreSQL: not run (give --postgres URL or ZYZ_BENCH_POSTGRES_URL)")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
