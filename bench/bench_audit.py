"""How fast the audit trail is checked and searched at 1,000,000 events.

Builds (or reuses) a SQLite file holding a migrated schema and N pre-chained events: each event's hash is
computed with `workflow.core.audit.event_hash` over the previous one, the rows go in by bulk insert with the
trail's indexes dropped and rebuilt afterwards, the chain's head is set, and a signed anchor is written
for every day of the year the events span. Then it times:

- `zyz audit verify`'s check (`workflow.core.audit.check_integrity`: the whole chain and every anchor);
- the auditor's searches (`workflow.core.audit.search`): the first page, the next page by keyset, and pages
  filtered by kind, user, unit, role, county, case, a day, a month, and combinations;
- the same first page and a filtered page through the auditor's web page (search, its own audit event,
  the commit and the HTML).

    .venv/bin/python bench/bench_audit.py [--events 1000000] [--db PATH] [--rebuild] [--postgres URL] [--strict]

The database file is kept (default: zyz-bench-audit-N.db in the temporary directory) and reused while it
holds the events and the current schema; --rebuild makes it again. --postgres URL also builds the same
events in that (emptied!) PostgreSQL database and times verify and the searches there. It exits 0 and says
which targets were met; --strict exits 1 when one was not.
"""

from __future__ import annotations

import argparse
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import empty_schema
from workflow import processes
from workflow.core import audit
from workflow.core.calendar import local_date
from workflow.core.db import make_engine, make_session_factory, migrate, transaction

processes.load()

VERIFY_TARGET = 100_000  # events per second
SEARCH_TARGET_MS = 200
KEY = b"bench-anchor-key-0123456789abcdef0123456789"
START = datetime(2025, 11, 27, 0, 0, tzinfo=UTC)
SPAN = timedelta(days=365)
COUNTIES = ["城区", "矿区", "郊区", "平定县", "盂县", "高新区"]
MEMBERS = ["市发改委", "市科技局", "市财政局", "市自然资源局", "市生态环境局", "市农业农村局", "市商务局",
           "市市场监管局", "市统计局", "阳泉海关", "市税务局", "人民银行阳泉分行"]
KINDS = [  # (kind, weight, who): who acts
    ("transition", 400, "case"), ("login_ok", 150, "any"), ("logout", 100, "any"), ("reminder_sent", 80, "system"),
    ("notification_sent", 90, "system"), ("case_created", 40, "case"), ("attachment_added", 40, "case"),
    ("search", 20, "auditor"), ("login_failed", 20, "any"), ("session_ended", 20, "any"),
    ("password_changed", 5, "any"), ("permission_refused", 5, "any"), ("export", 3, "auditor"),
    ("admin_change", 2, "admin"), ("user_created", 1, "admin"), ("lockout", 1, "any"), ("notification_failed", 1,
                                                                                        "system"),
    ("deadline_failed", 0.1, "system"),
]
TRIGGERS = [("submit", "draft", "submitted"), ("accept", "submitted", "consultation"),
            ("return_for_revision", "submitted", "returned"), ("resubmit", "returned", "submitted"),
            ("acknowledge", "issued", "rectifying"), ("submit_report", "rectifying", "under_verification")]
COMMENTS = [None, None, None, "请补充上年度产值证明材料", "同意受理", "整改报告已收到，请补充现场照片"]
CASES = 30_000


def users() -> list[tuple]:
    """(id, name, role, unit_id, unit_name): units 1-6 are the counties, 7 the office, 8- the member units."""
    out, uid = [], 1
    for i, county in enumerate(COUNTIES, start=1):
        for n in range(30):
            out.append((uid, f"{county}经办人{n + 1}", "county", i, county))
            uid += 1
    for role, count in (("office", 40), ("auditor", 3), ("admin", 2), ("leader", 5)):
        for n in range(count):
            unit = (8 + len(MEMBERS), "阳泉市专业镇高质量发展领导小组") if role == "leader" else (7, "市工信局")
            out.append((uid, f"{role}用户{n + 1}", role, *unit))
            uid += 1
    for j, member in enumerate(MEMBERS):
        for n in range(12):
            out.append((uid, f"{member}联络员{n + 1}", "member", 8 + j, member))
            uid += 1
    return out


def events(count: int, seed: int = 2026):
    """Yield (row dict, tuple for INSERT) for `count` chained events, a year of a city office's activity."""
    rnd = random.Random(seed)
    people = users()
    by_role: dict[str, list[tuple]] = {}
    for person in people:
        by_role.setdefault(person[2], []).append(person)
    case_actors = by_role["county"] + by_role["office"] + by_role["member"]
    kinds = [k for k, _, _ in KINDS]
    weights = [w for _, w, _ in KINDS]
    who = {k: w for k, _, w in KINDS}
    step = SPAN / count
    prev = audit.GENESIS
    for seq in range(1, count + 1):
        kind = rnd.choices(kinds, weights)[0]
        # mostly in order; now and then a few seconds behind the event before (requests that commit late)
        occurred = START + step * seq - timedelta(seconds=rnd.choice((0, 0, 0, 0, 0, 0, 0, 0, 1, 3)))
        occurred = occurred.replace(microsecond=rnd.randrange(1_000_000))
        case_id = county_id = trigger = from_state = to_state = comment = None
        data: dict = {}
        if who[kind] == "system":
            actor = None
        elif who[kind] == "case":
            actor = rnd.choice(case_actors)
        elif who[kind] == "any":
            actor = rnd.choice(people)
        else:
            actor = rnd.choice(by_role[who[kind]])
        if who[kind] in ("case", "system") or kind == "permission_refused":
            case_id = rnd.randrange(1, CASES + 1)
            county_id = 1 + case_id % 6
            if actor is not None and actor[2] == "county":
                county_id = actor[3]
        if kind == "transition":
            trigger, from_state, to_state = rnd.choice(TRIGGERS)
            comment = rnd.choice(COMMENTS)
            data = {"changes": {"output_yi": [None, round(rnd.uniform(2, 30), 1)]}} if rnd.random() < 0.2 else {}
        elif kind in ("login_ok", "logout"):
            data = {"via": "web" if rnd.random() < 0.8 else "api"}
        elif kind == "permission_refused":
            trigger = "accept"
            data = {"method": "POST", "path": f"/api/v1/cases/{case_id}/transitions", "code": "role_not_allowed"}
        elif kind in ("search", "export"):
            data = {"kind": "transition", "county_id": rnd.randrange(1, 7)}
        elif kind == "reminder_sent":
            data = {"deadline": "respond", "offset_days": rnd.choice((7, 3, 1, 0))}
        row = {
            "occurred_at": occurred, "kind": kind,
            "actor_id": actor[0] if actor else None, "actor_name": actor[1] if actor else "系统",
            "role": actor[2] if actor else "system", "unit_id": actor[3] if actor else None,
            "unit_name": actor[4] if actor else None, "county_id": county_id,
            "ip": f"10.{actor[3]}.{actor[0] % 250}.{rnd.randrange(2, 250)}" if actor else None,
            "case_id": case_id, "trigger": trigger, "from_state": from_state, "to_state": to_state,
            "comment": comment, "data": audit.canonical_json(data), "prev_hash": prev,
        }
        row["hash"] = prev = audit.event_hash(row)
        stored = occurred.strftime("%Y-%m-%d %H:%M:%S.%f")  # as SQLAlchemy stores a DateTime in SQLite
        yield row, (seq, stored, *(row[k] for k in audit.HASHED_FIELDS[1:]), row["hash"])


def anchor_lines(points: list[tuple[int, str, datetime]]) -> list[str]:
    lines, prev = [], ""
    for seq, digest, at in points:
        line = audit.sign_anchor(KEY, seq=seq, hash=digest, anchored_at=at, prev=prev)
        prev = line["hmac"]
        lines.append(audit.canonical_json(line))
    return lines


INSERT = ('INSERT INTO audit_event (seq, occurred_at, kind, actor_id, actor_name, role, unit_id, unit_name, '
          'county_id, ip, case_id, "trigger", from_state, to_state, comment, data, prev_hash, hash) '
          'VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)')


def build_sqlite(path: Path, count: int) -> tuple[float, list[str]]:
    """The database file and the anchor lines; returns the seconds it took."""
    started = time.perf_counter()
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    engine = make_engine(f"sqlite:///{path}")
    migrate(engine)
    add_people(engine)
    engine.dispose()
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA synchronous=OFF")
    conn.execute("PRAGMA cache_size=-400000")
    indexes = conn.execute("SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'audit_event' "
                           "AND sql IS NOT NULL").fetchall()
    for name, _ in indexes:
        conn.execute(f'DROP INDEX "{name}"')
    conn.execute("BEGIN")
    batch, points, day = [], [], None
    last = None
    for row, values in events(count):
        batch.append(values)
        today = local_date(row["occurred_at"])
        if day is not None and today != day:  # the scheduler's first run of the day anchors the head
            points.append((last[0], last[1], row["occurred_at"]))
        day, last = today, (values[0], row["hash"])
        if len(batch) == 50_000:
            conn.executemany(INSERT, batch)
            batch.clear()
    conn.executemany(INSERT, batch)
    conn.execute("UPDATE audit_head SET seq = ?, hash = ? WHERE id = 1", last)
    conn.execute("COMMIT")
    for _, sql in indexes:
        conn.execute(sql)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    return time.perf_counter() - started, anchor_lines(points)


def add_people(engine) -> None:
    """The units and accounts the events name, so that a search by user name finds them."""
    from workflow.core.models import Unit, User

    names = [*COUNTIES, "市工信局", *MEMBERS, "阳泉市专业镇高质量发展领导小组"]
    kinds = ["county"] * 6 + ["office"] + ["member"] * len(MEMBERS) + ["leading_group"]
    with transaction(make_session_factory(engine)) as s:
        s.add_all(Unit(id=i, name=name, kind=kind, created_at=START)
                  for i, (name, kind) in enumerate(zip(names, kinds, strict=True), start=1))
        s.flush()
        s.add_all(User(id=uid, username=f"user{uid}", display_name=name, role=role, unit_id=unit_id,
                       password_hash="!", password_changed_at=START, created_at=START)
                  for uid, name, role, unit_id, _ in users())


def build_postgres(url: str, count: int) -> float:
    """The same events in PostgreSQL (schema dropped and migrated first), by COPY."""
    started = time.perf_counter()
    engine = make_engine(url)
    empty_schema(engine)
    migrate(engine)
    add_people(engine)
    raw = engine.raw_connection()
    dbapi = raw.dbapi_connection
    last = None
    columns = ("seq, occurred_at, kind, actor_id, actor_name, role, unit_id, unit_name, county_id, ip, case_id, "
               '"trigger", from_state, to_state, comment, data, prev_hash, hash')
    with dbapi.cursor() as cur, cur.copy(f"COPY audit_event ({columns}) FROM STDIN") as copy:
        for row, values in events(count):
            copy.write_row((values[0], row["occurred_at"], *values[2:]))
            last = (values[0], row["hash"])
    with dbapi.cursor() as cur:
        cur.execute("UPDATE audit_head SET seq = %s, hash = %s WHERE id = 1", last)
    dbapi.commit()
    dbapi.autocommit = True  # what autovacuum does soon after a bulk load: statistics and the visibility map
    with dbapi.cursor() as cur:
        cur.execute("VACUUM ANALYZE audit_event")
    dbapi.autocommit = False
    raw.close()
    engine.dispose()
    return time.perf_counter() - started


def fingerprint_ok(path: Path, count: int) -> bool:
    """Whether the file holds at least `count` events on the current schema revision."""
    if not path.exists():
        return False
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    from workflow.core.db import MIGRATIONS_DIR

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    head = ScriptDirectory.from_config(config).get_current_head()
    try:
        conn = sqlite3.connect(path)
        revision = conn.execute("SELECT version_num FROM alembic_version").fetchone()[0]
        seq = conn.execute("SELECT seq FROM audit_head").fetchone()[0]
        conn.close()
    except sqlite3.Error:
        return False
    return revision == head and seq >= count


def timed(function, repeat: int = 5) -> tuple[float, object]:
    """Median milliseconds of `repeat` calls, and the last result."""
    times, result = [], None
    for _ in range(repeat):
        started = time.perf_counter()
        result = function()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times), result


def searches(db) -> list[tuple[str, audit.Criteria, dict]]:
    mid = START + SPAN / 2
    first_page = {}
    with transaction(db) as s:
        page = audit.search(s, audit.Criteria())
        first_page["before"] = page.next_before
    day = audit.Criteria(start_at=mid, end_at=mid + timedelta(days=1))
    return [
        ("first page, no filter", audit.Criteria(), {}),
        ("second page (keyset: before the last seq)", audit.Criteria(), first_page),
        ("kind = transition", audit.Criteria(kind="transition"), {}),
        ("kind = permission_refused (rare)", audit.Criteria(kind="permission_refused"), {}),
        ("user = one county clerk", audit.Criteria(user="盂县经办人7"), {}),
        ("unit = 市科技局", audit.Criteria(unit_id=9), {}),
        ("role = auditor (rare)", audit.Criteria(role="auditor"), {}),
        ("county = 盂县", audit.Criteria(county_id=5), {}),
        ("case = one id", audit.Criteria(case="12345"), {}),
        ("one day, six months ago", day, {}),
        ("one month, six months ago", audit.Criteria(start_at=mid, end_at=mid + timedelta(days=30)), {}),
        ("the whole year", audit.Criteria(start_at=START, end_at=START + SPAN), {}),
        ("the last 7 days (no end)", audit.Criteria(start_at=START + SPAN - timedelta(days=7)), {}),
        ("the middle half of the year", audit.Criteria(start_at=START + SPAN / 4, end_at=START + SPAN * 3 / 4), {}),
        ("10 % to 90 % of the year", audit.Criteria(start_at=START + SPAN / 10, end_at=START + SPAN * 9 / 10), {}),
        ("10 % to 90 %, kind = lockout", audit.Criteria(kind="lockout", start_at=START + SPAN / 10,
                                                       end_at=START + SPAN * 9 / 10), {}),
        ("kind + county + one day", audit.Criteria(kind="transition", county_id=5, start_at=mid,
                                                   end_at=mid + timedelta(days=1)), {}),
        ("role = county + kind = export (none match)", audit.Criteria(role="county", kind="export"), {}),
        ("user + kind = login_ok", audit.Criteria(user="盂县经办人7", kind="login_ok"), {}),
        ("kind = lockout + one month", audit.Criteria(kind="lockout", start_at=mid, end_at=mid + timedelta(days=30)),
         {}),
    ]


def run_verify(engine, anchor_dir: Path, count: int) -> float:
    best = 0.0
    for attempt in (1, 2):
        started = time.perf_counter()
        result = audit.check_integrity(engine, anchor_dir=anchor_dir, key=KEY)
        seconds = time.perf_counter() - started
        rate = result.chain.count / seconds
        best = max(best, rate)
        print(f"verify #{attempt}: {result.chain.count:,} events and {result.anchors.count} anchors in "
              f"{seconds:.2f} s = {rate:,.0f} events/s  ({'OK' if result.ok else 'BROKEN'}: "
              f"{'; '.join(result.describe('en'))})")
        if not result.ok or result.chain.count < count:
            raise SystemExit("the benchmark's chain does not verify")
    print(f"verify: best {best:,.0f} events/s = {best / VERIFY_TARGET:.2f} x the target of "
          f"{VERIFY_TARGET:,}/s  -> {'met' if best >= VERIFY_TARGET else 'NOT met'}")
    return best


def run_searches(db) -> float:
    worst = 0.0
    for label, criteria, keys in searches(db):
        def one(criteria=criteria, keys=keys):  # type: ignore[no-untyped-def]
            with transaction(db) as s:
                return audit.search(s, criteria, **keys)
        ms, page = timed(one)
        worst = max(worst, ms)
        print(f"  {label:48} {ms:7.1f} ms  ({ms / SEARCH_TARGET_MS:.2f} x 200 ms)  {len(page.items)} rows"
              f"{', more' if page.next_before else ''}")
    print(f"search: slowest {worst:.1f} ms = {worst / SEARCH_TARGET_MS:.2f} x the target of {SEARCH_TARGET_MS} ms "
          f"-> {'met' if worst < SEARCH_TARGET_MS else 'NOT met'}")
    return worst


def run_pages(url: str, tmp: Path) -> float:
    """The auditor's page through the Flask test client: search + audit event + commit + HTML."""
    import re

    from sqlmodel import select

    from webapp import create_app
    from workflow.accounts.auth import create_user
    from workflow.core.models import Unit, User

    app = create_app({"DATABASE_URL": url, "ZYZ_ENV": "test", "TESTING": True,
                      "SECRET_KEY": "bench-secret-key-that-is-long-enough-0123456789",
                      "UPLOAD_DIR": str(tmp / "files"), "ANCHOR_DIR": str(tmp / "anchors"),
                      "AUDIT_HMAC_KEY": KEY.decode()})
    sessions = app.extensions["zyz"]["sessions"]
    now = datetime.now(UTC)
    with transaction(sessions) as s:
        unit = s.exec(select(Unit).where(Unit.name == "市工信局")).first()
        if unit is None:
            unit = Unit(name="市工信局", kind="office", created_at=now)
            s.add(unit)
            s.flush()
        if s.exec(select(User).where(User.username == "bench-auditor")).first() is None:
            create_user(s, username="bench-auditor", display_name="审计员", role="auditor", unit_id=unit.id,
                        password="Bench-pass-2026", now=now, must_change_password=False)
    client = app.test_client()
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
    client.post("/login", data={"username": "bench-auditor", "password": "Bench-pass-2026", "csrf_token": token})
    worst = 0.0
    for label, query in (("first page", ""), ("kind = transition, county = 盂县", "?kind=transition&county=5"),
                         ("one day", "?start=2026-05-28&end=2026-05-28"),
                         ("user + kind", "?user=%E7%9B%82%E5%8E%BF%E7%BB%8F%E5%8A%9E%E4%BA%BA7&kind=login_ok")):
        def one(query=query):  # type: ignore[no-untyped-def]
            response = client.get(f"/auditor/{query}")
            assert response.status_code == 200, response.status_code
            return response
        ms, _ = timed(one)
        worst = max(worst, ms)
        print(f"  page: {label:42} {ms:7.1f} ms  ({ms / SEARCH_TARGET_MS:.2f} x 200 ms)")
    app.extensions["zyz"]["engine"].dispose()
    return worst


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--db", type=Path, default=None, help="the SQLite file (kept and reused)")
    parser.add_argument("--rebuild", action="store_true")
    parser.add_argument("--postgres", default=None, help="also run on this PostgreSQL database (it is emptied)")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    args = parser.parse_args()
    path = args.db or Path(tempfile.gettempdir()) / f"zyz-bench-audit-{args.events}.db"
    anchor_dir = path.parent / f"{path.stem}-anchors"
    if args.rebuild or not fingerprint_ok(path, args.events) or not (anchor_dir / audit.ANCHOR_FILE).exists():
        print(f"building {args.events:,} chained events in {path} ...", flush=True)
        seconds, lines = build_sqlite(path, args.events)
        anchor_dir.mkdir(exist_ok=True)
        (anchor_dir / audit.ANCHOR_FILE).write_text("".join(line + "\n" for line in lines), encoding="utf-8")
        print(f"built in {seconds:.1f} s ({args.events / seconds:,.0f} events/s), {len(lines)} daily anchors")
    else:
        print(f"reusing {path} ({path.stat().st_size / 1e6:.0f} MB)")
    url = f"sqlite:///{path}"
    engine = make_engine(url)
    db = make_session_factory(engine)
    print("\n== SQLite")
    rate = run_verify(engine, anchor_dir, args.events)
    worst = run_searches(db)
    engine.dispose()
    print("auditor page through Flask (search + its audit event + commit + HTML):")
    with tempfile.TemporaryDirectory() as tmp:
        page_worst = run_pages(url, Path(tmp))
    failed = rate < VERIFY_TARGET or worst >= SEARCH_TARGET_MS or page_worst >= SEARCH_TARGET_MS
    if args.postgres:
        print(f"\n== PostgreSQL: building {args.events:,} events ...", flush=True)
        seconds = build_postgres(args.postgres, args.events)
        print(f"built in {seconds:.1f} s")
        pg = make_engine(args.postgres)
        run_verify(pg, anchor_dir, args.events)
        run_searches(make_session_factory(pg))
        pg.dispose()
    print(f"\ntargets on SQLite: {'all met' if not failed else 'NOT all met'}")
    sys.exit(1 if failed and args.strict else 0)


if __name__ == "__main__":
    main()
