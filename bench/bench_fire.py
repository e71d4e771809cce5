"""How fast `workflow.core.engine.fire` runs end to end, next to raw sqlite3 writing the same rows.

Both sides use a SQLite file in WAL mode with synchronous=FULL and one transaction per fire. The
workload cycles designation cases between `submitted` and `returned`: `return_for_revision` (office,
comment required) closes the submitted state's three review deadline rows and opens the returned
state's three, `resubmit` (county, the application guards and the supporting documents) does the
reverse. Each fire therefore checks visibility, role, version, fields and
guards, moves the state, writes the case, appends a hash-chained audit event, updates the chain's
head, writes deadline rows and commits.

The raw side writes the very same rows with the sqlite3 module: the versioned UPDATE of the case
(state, version, data, updated_at), the head read, the audit INSERT with its sha256 over the same
canonical JSON, the head UPDATE, the closing UPDATE of the state left and the three deadline INSERTs
of the state entered, and the in-app
notification the rules of definitions/notifications.yaml write (to the county's users on return, to
the office's on resubmission; the raw side knows them in advance). At the end both databases must
hold the same number of rows, and workflow.core.audit.verify must accept both chains.

    .venv/bin/python bench/bench_fire.py [--cases 100] [--rounds 6] [--sync FULL] [--profile]

--sync OFF runs both sides without fsync, to show what each costs in CPU alone.
"""

from __future__ import annotations

import argparse
import cProfile
import hashlib
import json
import pstats
import shutil
import sqlite3
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa
import transitions
from sqlalchemy import event

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import commit_ceiling, durability
from workflow import processes
from workflow.accounts.auth import create_user
from workflow.core import audit
from workflow.core import engine as engine_module
from workflow.core.actors import Actor
from workflow.core.calendar import DEFAULT_CALENDAR, local_date, local_moment
from workflow.core.catalog import CATALOG, build_machine
from workflow.core.db import make_engine, make_session_factory, migrate, transaction
from workflow.core.deadlines import REMINDER_TIME, expiry_moment
from workflow.core.engine import _Bound, create_case, fire
from workflow.core.models import AuditEvent, Case, Deadline, Notification, Unit
from workflow.seed import attach_materials
from workflow.towns.services import create_town

processes.load()

START = datetime(2026, 11, 27, 2, 0, tzinfo=UTC)  # Friday 10:00 in Yangquan
APPLICATION = {
    "industry_category": "manufacturing", "leading_industry": "装备制造", "main_products": "矿山机械、液压支架",
    "output_yi": 12.5, "county_share_pct": 18.5, "jobs": 3200, "local_workers": 2100, "average_income": 52000,
    "leading_enterprises": [{"name": "阳泉华鑫机械有限公司", "honours": ["zjtx"]}], "supporting_enterprises": 26,
    "business_environment": "设立企业服务专班，审批事项全程代办。",
}
COMMENT = "请补充上年度产值证明材料"
CYCLE = (("return_for_revision", "office", "submitted", "returned"), ("resubmit", "county", "returned", "submitted"))


def setup(path: Path, cases: int, sync: str):
    """A migrated database with two users and `cases` designation cases, all submitted."""
    engine = make_engine(f"sqlite:///{path}")
    if sync != "FULL":
        @event.listens_for(engine, "connect")
        def _sync(dbapi_connection, _record):  # type: ignore[no-untyped-def]
            dbapi_connection.execute(f"PRAGMA synchronous={sync}")
    migrate(engine)
    db = make_session_factory(engine)
    with transaction(db) as s:
        county = Unit(name="盂县", kind="county", created_at=START)
        office = Unit(name="市工信局", kind="office", created_at=START)
        s.add_all([county, office])
        s.flush()
        county_user = create_user(s, username="county1", display_name="盂县经办人", role="county",
                                  unit_id=county.id, password="Bench-pass-2026", now=START)
        office_user = create_user(s, username="office1", display_name="市工信局经办人", role="office",
                                  unit_id=office.id, password="Bench-pass-2026", now=START)
        actors = {"county": Actor.of(county_user, county), "office": Actor.of(office_user, office)}
        ids = []
        for i in range(cases):
            town = create_town(session=s, actor=Actor.system(), name=f"测试镇{i:04d}", county_id=county.id, now=START)
            case = create_case(session=s, definition_key="designation", actor=actors["county"], now=START,
                               town_id=town.id, data=APPLICATION)
            attach_materials(s, actors["county"], case.id, START)  # type: ignore[arg-type]  # saved: it has its id
            ids.append(case.id)
    for case_id in ids:
        with transaction(db) as s:
            fire(session=s, case_id=case_id, trigger="submit", actor=actors["county"], now=START)
    return engine, db, actors, ids


class Raw:
    """The same writes as `fire`, with the sqlite3 module and nothing else."""

    def __init__(self, path: Path, actors: dict[str, Actor], ids: list[int], sync: str):
        self.conn = sqlite3.connect(path, isolation_level=None)
        self.conn.execute("PRAGMA journal_mode=WAL")
        self.conn.execute(f"PRAGMA synchronous={sync}")
        self.actors = actors
        self.cases = {
            row[0]: {"version": row[1], "county_id": row[2], "data": row[3], "number": row[4], "title": row[5]}
            for row in self.conn.execute(
                "SELECT id, version, county_id, data, number, title FROM case_file "
                f"WHERE id IN ({','.join('?' * len(ids))})", ids)
        }
        self.definition = CATALOG.current("designation")
        self.deadline = self.definition.states["returned"].deadlines[0]
        # Who the notification rules tell: returned → the county's users, submitted → the office's users
        # (known in advance here; fire looks them up).
        self.told = {state: [row[0] for row in self.conn.execute(
            "SELECT id FROM app_user WHERE role = ? AND is_active ORDER BY id", (role,))]
            for state, role in (("returned", "county"), ("submitted", "office"))}

    def _notice_params(self, case: dict, trigger: str, from_state: str, to_state: str, comment: str | None,
                       due: str | None) -> str:
        """The in-app notification's params, as workflow.notify.rules.case_params builds them for the rule."""
        d = self.definition
        params = {"number": case["number"], "title": case["title"], "process": d.label.zh, "process_en": d.label.en,
                  "state": d.state_label(to_state), "state_en": d.state_label(to_state, "en"),
                  "step": d.trigger_label(trigger), "step_en": d.trigger_label(trigger, "en"),
                  "from_state": d.state_label(from_state), "from_state_en": d.state_label(from_state, "en")}
        if comment:
            params["comment"] = comment
        if due:
            params.update(due_date=due, deadline=self.deadline.label.zh, deadline_en=self.deadline.label.en)
        params["template"] = "case_event"
        return json.dumps(params, ensure_ascii=False)

    @staticmethod
    def _stamp(moment: datetime) -> str:
        return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")  # how SQLAlchemy stores it on SQLite

    def fire(self, case_id: int, trigger: str, role: str, from_state: str, to_state: str, now: datetime) -> None:
        case = self.cases[case_id]
        actor = self.actors[role]
        stamp = self._stamp(now)
        comment = COMMENT if trigger == "return_for_revision" else None
        conn = self.conn
        conn.execute("BEGIN IMMEDIATE")
        updated = conn.execute(
            "UPDATE case_file SET state = ?, version = ?, data = ?, updated_at = ? WHERE id = ? AND version = ?",
            (to_state, case["version"] + 1, case["data"], stamp, case_id, case["version"]))
        if updated.rowcount != 1:
            raise RuntimeError("lost update")
        seq, prev_hash = conn.execute("SELECT seq, hash FROM audit_head WHERE id = 1").fetchone()
        hashed = [now.isoformat(timespec="microseconds"), "transition", actor.user_id, actor.name, actor.role,
                  actor.unit_id, actor.unit_name, case["county_id"], None, case_id, trigger, from_state, to_state,
                  comment, "{}", prev_hash]
        digest = hashlib.sha256(json.dumps(hashed, ensure_ascii=False, sort_keys=True,
                                           separators=(",", ":")).encode()).hexdigest()
        conn.execute(
            "INSERT INTO audit_event (seq, occurred_at, kind, actor_id, actor_name, role, unit_id, unit_name, "
            "county_id, ip, case_id, \"trigger\", from_state, to_state, comment, data, prev_hash, hash) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (seq + 1, stamp, *hashed[1:], digest))
        conn.execute("UPDATE audit_head SET seq = ?, hash = ? WHERE id = 1", (seq + 1, digest))
        if self.definition.states[from_state].deadlines:  # leaving a state closes its open deadline rows
            conn.execute("UPDATE deadline SET status = 'closed', closed_at = ? "
                         "WHERE case_id = ? AND state = ? AND status = 'open'", (stamp, case_id, from_state))
        due = None
        rows = []
        for spec in self.definition.states[to_state].deadlines:  # entering one opens its rows
            day, estimated = DEFAULT_CALENDAR.add_working_days(local_date(now), spec.working_days)
            rows.append((case_id, to_state, spec.name, "expiry", spec.on_expiry, None, day.isoformat(),
                         self._stamp(expiry_moment(day)), estimated, "open", stamp))
            for offset in spec.reminders:
                at = local_moment(DEFAULT_CALENDAR.working_days_before(day, offset), REMINDER_TIME)
                rows.append((case_id, to_state, spec.name, "reminder", None, offset, day.isoformat(),
                             self._stamp(at), estimated, "open", stamp))
            if to_state == "returned":
                due = day
        if rows:
            conn.executemany(
                "INSERT INTO deadline (case_id, state, name, kind, \"trigger\", offset_days, due_date, due_at, "
                "is_estimated, status, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
        params = self._notice_params(case, trigger, from_state, to_state, comment, due.isoformat() if due else None)
        conn.executemany(
            "INSERT INTO notification (user_id, case_id, kind, params, source_key, created_at) "
            "VALUES (?, ?, 'event', ?, ?, ?) ON CONFLICT (source_key) DO NOTHING",
            [(uid, case_id, params, f"case:{case_id}:v{case['version'] + 1}:u{uid}", stamp)
             for uid in self.told[to_state]])
        conn.execute("COMMIT")
        case["version"] += 1


def run_fire(db, actors, ids, rounds: int, start: datetime) -> int:
    n = 0
    for r in range(rounds):
        now = start + timedelta(minutes=r)
        for trigger, role, _from, _to in CYCLE:
            for case_id in ids:
                with transaction(db) as s:
                    fire(session=s, case_id=case_id, trigger=trigger, actor=actors[role], now=now,
                         comment=COMMENT if trigger == "return_for_revision" else None)
                n += 1
    return n


def run_raw(raw: Raw, ids, rounds: int, start: datetime) -> int:
    n = 0
    for r in range(rounds):
        now = start + timedelta(minutes=r)
        for trigger, role, from_state, to_state in CYCLE:
            for case_id in ids:
                raw.fire(case_id, trigger, role, from_state, to_state, now)
                n += 1
    return n


def counts(engine) -> dict[str, object]:
    with engine.connect() as conn:
        events = conn.execute(sa.select(sa.func.count()).select_from(AuditEvent.__table__)).scalar_one()
        by_status = dict(conn.execute(sa.select(Deadline.__table__.c.status, sa.func.count())
                                      .group_by(Deadline.__table__.c.status)).all())
        versions = conn.execute(sa.select(sa.func.sum(Case.__table__.c.version))).scalar_one()
        notices = conn.execute(sa.select(sa.func.count()).select_from(Notification.__table__)).scalar_one()
    return {"audit events": events, "deadline rows": by_status, "sum of case versions": versions,
            "notifications": notices}


def binding_cost(iterations: int = 3000) -> tuple[float, float, float]:
    """µs per call to fire one trigger on a case: the engine's way (the wrapped row handed to the shared
    machine's event), binding it with add_model/remove_model, and building a Machine per call."""
    definition = CATALOG.current("designation")
    machine = CATALOG.machine(definition)
    case = Case(number="x", definition_key="designation", definition_version=definition.version, state="submitted",
                county_id=1, title="x", data={}, created_at=START, updated_at=START)

    def engine_way() -> None:
        case.state = "submitted"  # what add_model(initial=...) does in the other two
        machine.events["return_for_revision"].trigger(_Bound(case), ctx=None)

    def shared() -> None:
        model = _Bound(case)
        machine.add_model(model, initial="submitted")
        try:
            model.trigger("return_for_revision", ctx=None)
        finally:
            machine.remove_model(model)

    def fresh() -> None:
        model = _Bound(case)
        own = build_machine(definition)
        own.add_model(model, initial="submitted")
        model.trigger("return_for_revision", ctx=None)

    results = []
    for fn in (engine_way, shared, fresh):
        fn()
        t = time.perf_counter()
        for _ in range(iterations):
            fn()
        results.append((time.perf_counter() - t) / iterations * 1e6)
    return results[0], results[1], results[2]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=6, help="submitted→returned→submitted cycles per case")
    parser.add_argument("--blocks", type=int, default=3, help="fire and raw alternate this many times")
    parser.add_argument("--sync", default="FULL", choices=["FULL", "NORMAL", "OFF"])
    parser.add_argument("--dir", default=None, help="where the database files go (default: a temporary directory)")
    parser.add_argument("--profile", action="store_true", help="cProfile one block of fires and print the top")
    args = parser.parse_args()

    workdir = Path(args.dir or tempfile.mkdtemp(prefix="zyz-bench-"))
    fire_path, raw_path = workdir / "fire.db", workdir / "raw.db"
    for path in (fire_path, raw_path):
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
    engine, db, actors, ids = setup(fire_path, args.cases, args.sync)
    engine.dispose()
    with sqlite3.connect(fire_path) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    shutil.copyfile(fire_path, raw_path)
    engine = make_engine(f"sqlite:///{fire_path}")
    if args.sync != "FULL":
        @event.listens_for(engine, "connect")
        def _sync(dbapi_connection, _record):  # type: ignore[no-untyped-def]
            dbapi_connection.execute(f"PRAGMA synchronous={args.sync}")
    db = make_session_factory(engine)
    raw = Raw(raw_path, actors, ids, args.sync)

    ours, theirs = durability(engine, raw.conn)
    print(f"database files in {workdir}")
    print(f"fire: {ours};  raw: {theirs};  one transaction per fire on both sides")
    print(f"{len(ids)} designation cases, submitted ⇄ returned, {args.rounds} cycles per block, "
          f"{args.blocks} blocks each, alternating")

    # warm up both sides (statement caches, the machine, the calendar)
    start = START + timedelta(hours=1)
    run_fire(db, actors, ids[:10], 1, start)
    run_raw(raw, ids[:10], 1, start)

    built: list[object] = []
    original_init = transitions.Machine.__init__

    def counting_init(self, *a, **kw):  # type: ignore[no-untyped-def]
        built.append(self)
        original_init(self, *a, **kw)

    transitions.Machine.__init__ = counting_init  # type: ignore[method-assign]
    # Time the after-fire hooks (the notification rules) apart, to show what they cost.
    hook_time = [0.0]
    original_hooks = list(engine_module.AFTER_FIRE)

    def timed(hook):  # type: ignore[no-untyped-def]
        def run(ctx, from_state):  # type: ignore[no-untyped-def]
            t = time.perf_counter()
            try:
                return hook(ctx, from_state)
            finally:
                hook_time[0] += time.perf_counter() - t
        return run

    engine_module.AFTER_FIRE[:] = [timed(hook) for hook in original_hooks]
    fire_time = raw_time = fire_cpu = raw_cpu = 0.0
    fire_n = raw_n = 0
    try:
        for block in range(args.blocks):
            start = START + timedelta(hours=2 + block)
            t, c = time.perf_counter(), time.process_time()
            fire_n += run_fire(db, actors, ids, args.rounds, start)
            fire_time += time.perf_counter() - t
            fire_cpu += time.process_time() - c
            t, c = time.perf_counter(), time.process_time()
            raw_n += run_raw(raw, ids, args.rounds, start)
            raw_time += time.perf_counter() - t
            raw_cpu += time.process_time() - c
    finally:
        transitions.Machine.__init__ = original_init  # type: ignore[method-assign]
        engine_module.AFTER_FIRE[:] = original_hooks
    raw.conn.close()

    fire_rate, raw_rate = fire_n / fire_time, raw_n / raw_time
    print()
    print(f"fire  {fire_rate:8.0f} /s   ({fire_n} fires, {fire_time * 1000 / fire_n:.2f} ms each, "
          f"of which {fire_cpu * 1000 / fire_n:.2f} ms CPU in this process)")
    print(f"raw   {raw_rate:8.0f} /s   ({raw_n} transactions, {raw_time * 1000 / raw_n:.2f} ms each, "
          f"of which {raw_cpu * 1000 / raw_n:.2f} ms CPU in this process)")
    print(f"ratio {fire_rate / raw_rate:8.1%}   fire / raw")
    if original_hooks:
        without = fire_n / (fire_time - hook_time[0])
        names = ", ".join(f"{h.__module__}.{h.__name__}" for h in original_hooks)
        print(f"hooks {hook_time[0] * 1000 / fire_n:8.2f} ms per fire in after-fire hooks ({names}): the rules "
              f"finding whom to tell; without them fire would run at {without:.0f}/s")
    print(f"disk  {commit_ceiling(workdir, args.sync):8.0f} /s   one-row transactions, same file system and "
          f"durability: the ceiling for any writer")
    print(f"transitions.Machine built during the fires: {len(built)}")
    print(f"target fire >= 1000/s: {'met' if fire_rate >= 1000 else 'NOT met'} (raw sqlite3 writing the same rows: "
          f"{raw_rate:.0f}/s);  target fire >= 30% of raw: {'met' if fire_rate >= 0.3 * raw_rate else 'NOT met'}")

    fire_counts = counts(engine)
    raw_engine = make_engine(f"sqlite:///{raw_path}")
    raw_counts = counts(raw_engine)
    print()
    print(f"rows, fire: {fire_counts}")
    print(f"rows, raw:  {raw_counts}")
    for name, e in (("fire", engine), ("raw", raw_engine)):
        with make_session_factory(e)() as s:
            print(f"audit chain, {name}: {audit.verify(s).describe('en')}")
    if fire_counts != raw_counts:
        raise SystemExit("the two sides wrote different rows")

    engine_way, shared, fresh = binding_cost()
    print()
    print("firing a trigger on a case through its definition's shared machine (no new Machine per call):")
    print(f"  the engine's way, the wrapped row handed to machine.events[trigger]: {engine_way:6.1f} µs/call")
    print(f"  add_model, trigger, remove_model on the shared machine instead:      {shared:6.1f} µs/call")
    print(f"  a new Machine per call instead:                                      {fresh:6.1f} µs/call")

    if args.profile:
        profiler = cProfile.Profile()
        profiler.enable()
        run_fire(db, actors, ids, 1, START + timedelta(hours=20))
        profiler.disable()
        print()
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(40)
    engine.dispose()
    raw_engine.dispose()
    if not args.dir:
        shutil.rmtree(workdir)


if __name__ == "__main__":
    main()
