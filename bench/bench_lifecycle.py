"""A town's whole life through the system, step by step, next to raw sqlite3 writing the same rows.

Each of N designation cases goes through its real path, with the services the web pages call and one
transaction (`workflow.core.db.transaction`) per step, as each page's request has:

  the county's application (a new town, `create_case` with the form's data and the required 证明材料 stored by
  `store_upload`, as the application form saves it), `submit`; the office's `accept` (three member units);
  each member unit's `record_opinion`; `conclude` (the opinion sheet .docx); `record_experts`; `propose`;
  the leading group's `approve` (the 公示 announcement .docx); the public notice ended by
  `workflow.core.sweep.sweep` with the clock moved to the deadline (`publicity_end`); the office's
  `issue_notice` (numbered designation notice .docx, the town designated);
  then for the town: `plan_inspection` (the plan page's service), `start`, `record_finding`, `decide_finding`
  (rectify: the rectification order and its numbered notice .docx), `close`; the county's `acknowledge` of the
  order; the sweep at each of the order's reminder moments (7, 3, 1 and 0 working days before) and at its
  deadline (`expire`); the office's `criticise` and the leading group's `approve_criticism` (the criticism
  notice .docx).

The sweep runs with `limit=1`, so that each reminder and each expiry is one transaction like every other step
(in production it takes up to 200 due rows per transaction); the batch that finds nothing more due ends each
sweep and is reported as its own line.

Timing: each step is the wall time of its unit of work (opening the session, the step, the commit, closing);
a sweep's transactions are timed from one commit to the next. A whole case is the sum of its steps (and its
share of the sweeps' last, empty batches).

Raw side (SQLite): the engine side's database connections are sqlite3 connections of a class that records
every statement and its parameters as the driver receives them (SQLAlchemy's statements and the ones
`workflow.core.db.Prepared` runs on the DBAPI cursor alike), and every commit. Each engine transaction's
writes (INSERT, UPDATE, DELETE, in order, with the very parameters) are replayed with the sqlite3 module, one
transaction each (`BEGIN IMMEDIATE` ... `COMMIT`), on a copy of the database taken before the first step, with
the same durability (WAL, synchronous=FULL, foreign keys on). The raw side so writes exactly the rows the
engine wrote, the hash-chained audit events included, but reads nothing: it does not look up the case, the
chain's head, the recipients, nor compute a hash, and it builds no .docx and stores no file (the engine side
writes each document to the upload directory). Both sides run in alternating blocks of cases (the engine's
block, then the replay of its transactions), so that noise from other processes falls on both.
At the end both databases must hold the same number of rows in every table, and workflow.core.audit.verify
must accept both chains; the script exits with 1 otherwise.

    .venv/bin/python bench/bench_lifecycle.py [--cases 40] [--blocks 4] [--database sqlite|postgres|both]

--database postgres runs the engine side on PostgreSQL instead (both: after SQLite, the default when
ZYZ_BENCH_POSTGRES_URL is set), on the database
named by --postgres, ZYZ_BENCH_POSTGRES_URL or postgresql+psycopg://postgres@127.0.0.1:5432/zyz_bench_lifecycle
(created if missing; its public schema is dropped); there is no raw side there.
"""

from __future__ import annotations

import argparse
import io
import os
import shutil
import sqlite3
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlmodel import Session, select

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import commit_ceiling, durability, empty_schema
from workflow import processes
from workflow.accounts.auth import create_user
from workflow.core import attachments, audit
from workflow.core import sweep as sweep_module
from workflow.core.actors import Actor
from workflow.core.attachments import store_upload
from workflow.core.db import make_engine, make_session_factory, migrate, transaction
from workflow.core.engine import create_case, fire
from workflow.core.models import Case, Deadline, Unit
from workflow.core.settings import settings
from workflow.designation import experts
from workflow.designation.materials import checklist
from workflow.supervision.inspections import plan_inspection
from workflow.towns.services import create_town

processes.load()

START = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)  # Monday 10:00 in Yangquan
BLOCK_SPACING = timedelta(weeks=13)  # each block of cases lives its life in its own quarter
APPLICATION = {  # tests/conftest.py COMPLETE_APPLICATION: meets every criterion
    "industry_category": "manufacturing", "leading_industry": "装备制造", "main_products": "矿山机械、液压支架",
    "output_yi": 12.5, "county_share_pct": 18.5, "jobs": 3200, "local_workers": 2100, "average_income": 52000,
    "leading_enterprises": [{"name": "阳泉华鑫机械有限公司", "honours": ["zjtx"]}], "supporting_enterprises": 26,
    "business_environment": "设立企业服务专班，审批事项全程代办。",
}
MATERIAL_PDF = b"%PDF-1.4\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n"
SCORES: dict[str, float] = {"agglomeration": 26, "leading_enterprises": 18, "supporting_chain": 13,
                             "brands_standards": 13, "innovation_environment": 18}
COUNTIES = ("盂县", "平定县")
MEMBERS = ("市科技局", "市发改委", "市商务局")
TARGET_MS = 10.0  # every step's p95 on SQLite
TARGET_RATIO = 0.40  # the whole lifecycle per transaction against raw sqlite3
EMPTY = "sweep: last batch (nothing due)"
CRITICISM = "逾期未建成检验检测公共服务平台，且未申请延期。"  # the facts, as they will stand in the notice

# What the engine side's connections and sessions did, in order: ("sql", text, params, many), ("commit", time),
# ("process", case id, label) for each deadline row the sweep processes.
LOG: list[tuple[Any, ...]] = []


class _RecordingCursor(sqlite3.Cursor):
    def execute(self, sql: str, parameters: Any = (), /) -> sqlite3.Cursor:  # type: ignore[override]
        LOG.append(("sql", sql, parameters, False))
        return super().execute(sql, parameters)

    def executemany(self, sql: str, seq_of_parameters: Any, /) -> sqlite3.Cursor:  # type: ignore[override]
        rows = list(seq_of_parameters)
        LOG.append(("sql", sql, rows, True))
        return super().executemany(sql, rows)


class _RecordingConnection(sqlite3.Connection):
    """A sqlite3 connection whose cursors record each statement with its parameters (see LOG)."""

    def cursor(self, factory: Any = None) -> Any:
        return super().cursor(factory or _RecordingCursor)


@event.listens_for(Session, "after_commit")
def _committed(_session: Session) -> None:
    LOG.append(("commit", time.perf_counter(), time.process_time()))


_real_process = sweep_module._process


def _noted_process(session: Session, row: Any, **kwargs: Any) -> str:
    """The sweep's own processing of a row, noting which case and what (for the labels; it runs unchanged)."""
    LOG.append(("process", row.case_id, f"sweep: {row.trigger or 'reminder'}" if row.kind == "expiry"
                else "sweep: reminder"))
    return _real_process(session, row, **kwargs)


sweep_module._process = _noted_process

# Time spent making stored files durable (fsync of a new file and of its directory), which the raw side does not do.
FSYNC = [0.0]
_real_fsync_path = attachments.fsync_path


def _timed_fsync_path(path: Path) -> None:
    t = time.perf_counter()
    try:
        _real_fsync_path(path)
    finally:
        FSYNC[0] += time.perf_counter() - t


attachments.fsync_path = _timed_fsync_path


@dataclass
class Transaction:
    """One engine transaction: its step, the lifecycle it belongs to, its time and its writes."""

    label: str
    life: int | None  # the index of the case whose lifecycle it belongs to (None: a sweep's empty batch)
    seconds: float
    cpu: float  # CPU time of this process
    files: float  # of `seconds`, the time spent making stored files durable (fsync)
    writes: list[tuple[str, Any, bool]] = field(default_factory=list)


WRITES = ("INSERT", "UPDATE", "DELETE", "REPLAC")


def _writes(entries: list[tuple[Any, ...]]) -> list[tuple[str, Any, bool]]:
    return [(e[1], e[2], e[3]) for e in entries if e[0] == "sql" and e[1].lstrip()[:6].upper() in WRITES]


def _split(entries: list[tuple[Any, ...]]) -> list[tuple[list[tuple[Any, ...]], float, float]]:
    """The entries of each committed transaction, with its commit's wall and CPU time."""
    out: list[tuple[list[tuple[Any, ...]], float, float]] = []
    current: list[tuple[Any, ...]] = []
    for entry in entries:
        if entry[0] == "commit":
            out.append((current, entry[1], entry[2]))
            current = []
        else:
            current.append(entry)
    return out


@dataclass
class World:
    db: Any
    engine: Any
    actors: dict[str, Actor]
    members: list[Actor]
    member_ids: list[int]
    upload_dir: Path
    sqlite: bool
    done: list[Transaction] = field(default_factory=list)  # this block's transactions, in order

    @contextmanager
    def step(self, label: str, life: int) -> Iterator[Session]:
        start = len(LOG)
        t, c, f = time.perf_counter(), time.process_time(), FSYNC[0]
        with transaction(self.db) as s:
            yield s
        seconds, cpu, files = time.perf_counter() - t, time.process_time() - c, FSYNC[0] - f
        committed = _split(LOG[start:])
        if len(committed) != 1:
            raise RuntimeError(f"{label}: {len(committed)} transactions where one was expected")
        self.done.append(Transaction(label, life, seconds, cpu, files, _writes(committed[0][0])))

    def fire(self, label: str, life: int, case_id: int, role: str | Actor, **kwargs: Any) -> Case:
        actor = role if isinstance(role, Actor) else self.actors[role]
        with self.step(label, life) as s:
            return fire(session=s, case_id=case_id, trigger=label, actor=actor, **kwargs)

    def sweep(self, now: datetime, lives: dict[int, int]) -> None:
        """`workflow.core.sweep.sweep` at `now`, one due row per transaction, each transaction recorded."""
        start = len(LOG)
        t, c = time.perf_counter(), time.process_time()
        sweep_module.sweep(self.db, now=now, limit=1)
        end, end_cpu = time.perf_counter(), time.process_time()
        committed = _split(LOG[start:])
        for i, (entries, at, at_cpu) in enumerate(committed):
            processed = [e for e in entries if e[0] == "process"]
            last = i == len(committed) - 1
            seconds = at - (committed[i - 1][1] if i else t) + (end - at if last else 0.0)
            cpu = at_cpu - (committed[i - 1][2] if i else c) + (end_cpu - at_cpu if last else 0.0)
            label, life = (processed[0][2], lives[processed[0][1]]) if processed else (EMPTY, None)
            self.done.append(Transaction(label, life, seconds, cpu, 0.0, _writes(entries)))  # a sweep stores no file

    def sweep_until(self, case_ids: dict[int, int], state: str, after: datetime) -> datetime:
        """Move the clock from one due moment of these cases' open deadlines to the next, sweeping at each, until
        every one of them is in `state`; the last moment swept."""
        now = after
        while True:
            with transaction(self.db) as s:
                states = set(s.exec(select(Case.state).where(Case.id.in_(case_ids))).all())  # type: ignore[union-attr]
                due = s.exec(select(sa.func.min(Deadline.due_at)).where(
                    Deadline.case_id.in_(case_ids), Deadline.status == "open")).one()  # type: ignore[attr-defined]
            if states == {state}:
                return now
            if due is None:
                raise RuntimeError(f"cases not all {state} and nothing due: {states}")
            now = max(now, due if due.tzinfo else due.replace(tzinfo=UTC))
            self.sweep(now, case_ids)


def setup(url: str, upload_dir: Path) -> World:
    engine = make_engine(url)
    sqlite = engine.dialect.name == "sqlite"
    if sqlite:
        @event.listens_for(engine, "do_connect")
        def _recording(_dialect: Any, _record: Any, _cargs: Any, cparams: dict[str, Any]) -> None:
            cparams["factory"] = _RecordingConnection
    else:
        empty_schema(engine)
    migrate(engine)
    settings.upload_dir = str(upload_dir)
    db = make_session_factory(engine)
    with transaction(db) as s:
        units = {name: Unit(name=name, kind="county", created_at=START) for name in COUNTIES}
        units["市工信局"] = Unit(name="市工信局", kind="office", created_at=START)
        units["领导小组"] = Unit(name="阳泉市专业镇高质量发展领导小组", kind="leading_group", created_at=START)
        for name in MEMBERS:
            units[name] = Unit(name=name, kind="member", created_at=START)
        s.add_all(units.values())
        s.flush()
        people = [("county0", "county", COUNTIES[0]), ("county1", "county", COUNTIES[1]),
                  ("office", "office", "市工信局"), ("leader", "leader", "领导小组"),
                  *((f"member{i}", "member", name) for i, name in enumerate(MEMBERS))]
        actors = {}
        for username, role, unit in people:
            user = create_user(s, username=username, display_name=f"{unit}经办人", role=role,
                               unit_id=units[unit].id or 0, password="Bench-pass-2026", now=START)
            actors[username] = Actor.of(user, units[unit])
    members = [actors[f"member{i}"] for i in range(len(MEMBERS))]
    return World(db, engine, actors, members, [m.unit_id for m in members if m.unit_id], upload_dir, sqlite)


def run_block(world: World, lives: range, base: datetime) -> None:
    """Every case of `lives` through its whole life, step by step, from `base` on."""
    now = base
    designation: dict[int, int] = {}
    for life in lives:
        county = f"county{life % len(COUNTIES)}"
        me = world.actors[county]
        with world.step("create (application form)", life) as s:
            town = create_town(session=s, actor=me, name=f"测试镇{life:04d}", county_id=me.unit_id or 0, now=now,
                               industry_category="manufacturing", leading_industry="装备制造")
            case = create_case(session=s, definition_key="designation", actor=me, now=now, town_id=town.id,
                               data=dict(APPLICATION))
            for material in checklist():
                if material.required:
                    store_upload(session=s, actor=me, case_id=case.id, filename=f"{material.kind}.pdf",  # type: ignore[arg-type]
                                 stream=io.BytesIO(MATERIAL_PDF), now=now, upload_dir=world.upload_dir,
                                 kind=material.kind)
        case_id: int = case.id  # type: ignore[assignment]
        designation[case_id] = life
        world.fire("submit", life, case_id, county, now=now)
        world.fire("accept", life, case_id, "office", now=now, payload={"member_units": world.member_ids})
        for member in world.members:
            world.fire("record_opinion", life, case_id, member, now=now, payload={"opinion": "agree"})
        world.fire("conclude", life, case_id, "office", now=now)
        world.fire("record_experts", life, case_id, "office", now=now, payload={
            "experts": [experts.expert(name, "太原理工大学", SCORES) for name in ("刘教授", "王研究员", "陈高工")],
            "expert_recommendation": "建议认定"})
        world.fire("propose", life, case_id, "office", now=now)
        world.fire("approve", life, case_id, "leader", now=now)
    now = world.sweep_until(designation, "notice_pending", now) + timedelta(hours=1)
    towns: dict[int, int] = {}
    for case_id, life in designation.items():
        issued = world.fire("issue_notice", life, case_id, "office", now=now)
        towns[life] = issued.town_id  # type: ignore[assignment]
    now += timedelta(days=1)
    orders: dict[int, int] = {}
    for life, town_id in towns.items():
        office = world.actors["office"]
        with world.step("plan_inspection", life) as s:
            inspection_id: int = plan_inspection(session=s, actor=office, town_id=town_id, now=now).id  # type: ignore[assignment]
        world.fire("start", life, inspection_id, "office", now=now)
        world.fire("record_finding", life, inspection_id, "office", now=now, payload={
            "finding": {"text": "检验检测公共服务平台未建成", "severity": "high", "attachments": []}})
        decided = world.fire("decide_finding", life, inspection_id, "office", now=now,
                             payload={"finding_no": 1, "decision": "rectify"})
        order_id = decided.data["findings"][0]["order_id"]
        orders[order_id] = life
        world.fire("close", life, inspection_id, "office", now=now)
        world.fire("acknowledge", life, order_id, f"county{life % len(COUNTIES)}", now=now)
    now = world.sweep_until(orders, "overdue", now) + timedelta(hours=1)
    for order_id, life in orders.items():
        world.fire("criticise", life, order_id, "office", now=now, comment=CRITICISM)
        world.fire("approve_criticism", life, order_id, "leader", now=now + timedelta(hours=1))


class Raw:
    """The engine's transactions replayed with the sqlite3 module: the same writes, one transaction each."""

    def __init__(self, path: Path):
        self.conn = sqlite3.connect(path, isolation_level=None, cached_statements=512)
        for pragma in ("journal_mode=WAL", "synchronous=FULL", "foreign_keys=ON", "busy_timeout=30000"):
            self.conn.execute(f"PRAGMA {pragma}")

    def replay(self, tx: Transaction) -> tuple[float, float]:
        """Wall and CPU time of one transaction."""
        conn = self.conn
        t, c = time.perf_counter(), time.process_time()
        conn.execute("BEGIN IMMEDIATE")
        for sql, params, many in tx.writes:
            if many:
                conn.executemany(sql, params)
            else:
                conn.execute(sql, params).fetchall()  # an INSERT ... RETURNING finishes when read
        conn.execute("COMMIT")
        return time.perf_counter() - t, time.process_time() - c


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * len(ordered) + 0.5) - 1))]


def summary(values: list[float]) -> str:
    ms = [v * 1000 for v in values]
    return f"{pct(ms, 0.5):7.2f} {pct(ms, 0.95):7.2f} {pct(ms, 0.99):7.2f}"


def mean_ms(values: list[float]) -> float:
    return sum(values) / len(values) * 1000 if values else 0.0


def table_counts(path_or_engine: Any) -> dict[str, int]:
    with path_or_engine.connect() as conn:
        names = sa.inspect(conn).get_table_names()
        return {name: conn.execute(sa.text(f'SELECT count(*) FROM "{name}"')).scalar_one() for name in sorted(names)}


def report(title: str, done: list[Transaction], raw: dict[int, float] | None,
           raw_cpu: dict[int, float] | None = None) -> bool:
    """Print the per-step and per-case figures; True when every target is met."""
    order: list[str] = []
    engine_by: dict[str, list[float]] = defaultdict(list)
    raw_by: dict[str, list[float]] = defaultdict(list)
    cpu_by: dict[str, list[float]] = defaultdict(list)
    files_by: dict[str, list[float]] = defaultdict(list)
    raw_cpu_by: dict[str, list[float]] = defaultdict(list)
    lives: dict[int, float] = defaultdict(float)
    raw_lives: dict[int, float] = defaultdict(float)
    for i, tx in enumerate(done):
        if tx.label not in engine_by:
            order.append(tx.label)
        engine_by[tx.label].append(tx.seconds)
        cpu_by[tx.label].append(tx.cpu)
        files_by[tx.label].append(tx.files)
        if raw is not None and raw_cpu is not None:
            raw_by[tx.label].append(raw[i])
            raw_cpu_by[tx.label].append(raw_cpu[i])
    # a sweep's empty last batch is shared by the cases of its block, equally
    block_lives: list[int] = []
    for i, tx in enumerate(done):
        if tx.life is not None:
            lives[tx.life] += tx.seconds
            raw_lives[tx.life] += raw[i] if raw is not None else 0.0
            if tx.life not in block_lives:
                block_lives.append(tx.life)
    empties = [(i, tx) for i, tx in enumerate(done) if tx.life is None]
    if empties and lives:
        share = sum(tx.seconds for _, tx in empties) / len(lives)
        raw_share = sum(raw[i] for i, _ in empties) / len(lives) if raw is not None else 0.0
        for life in lives:
            lives[life] += share
            raw_lives[life] += raw_share
    width = max(len(label) for label in order) + 2
    print()
    print(title)
    head = f"{'step':<{width}} {'count':>5}   {'p50':>7} {'p95':>7} {'p99':>7} {'CPU':>6} {'files':>6}"
    if raw is not None:
        head += f"   {'raw p50':>7} {'p95':>7} {'p99':>7} {'CPU':>6}"
    print(head + f"   p95 < {TARGET_MS:g} ms")
    print(f"{'':<{width}} (ms; CPU: mean CPU time of this process per transaction; files: mean time in fsync of "
          "the files the step stores, .docx and uploads)")
    ok = True
    for label in order:
        values = engine_by[label]
        met = pct(values, 0.95) * 1000 < TARGET_MS
        ok &= met
        line = (f"{label:<{width}} {len(values):>5}   {summary(values)} {mean_ms(cpu_by[label]):6.2f} "
                f"{mean_ms(files_by[label]):6.2f}")
        if raw is not None:
            line += f"   {summary(raw_by[label])} {mean_ms(raw_cpu_by[label]):6.2f}"
        print(f"{line}   {'met' if met else 'NOT met'}")
    print(f"{'whole case':<{width}} {len(lives):>5}   {summary(list(lives.values()))} {'':>13}"
          + (f"   {summary(list(raw_lives.values()))}" if raw is not None else ""))
    engine_total = sum(tx.seconds for tx in done)
    print(f"{len(done)} transactions, {engine_total / len(done) * 1000:.2f} ms each on average "
          f"({len(done) / engine_total:.0f} /s), of which {mean_ms([tx.cpu for tx in done]):.2f} ms CPU and "
          f"{mean_ms([tx.files for tx in done]):.2f} ms in fsync of stored files")
    if raw is not None:
        raw_total = sum(raw.values())
        ratio = raw_total / engine_total
        print(f"raw sqlite3: the same {len(raw)} transactions' writes, {raw_total / len(raw) * 1000:.2f} ms each "
              f"({len(raw) / raw_total:.0f} /s), of which {mean_ms(list((raw_cpu or {}).values())):.2f} ms CPU")
        print(f"lifecycle per transaction at {ratio:.1%} of raw sqlite3 "
              f"(target >= {TARGET_RATIO:.0%}: {'met' if ratio >= TARGET_RATIO else 'NOT met'})")
        ok &= ratio >= TARGET_RATIO
        files = sum(tx.files for tx in done)
        print(f"  without the fsync of stored files (which the raw side does not write): "
              f"{raw_total / (engine_total - files):.1%}")
    missed = [k for k in order if pct(engine_by[k], 0.95) * 1000 >= TARGET_MS]
    print(f"every step's p95 under {TARGET_MS:g} ms: " + (f"NOT met ({', '.join(missed)})" if missed else "met"))
    return ok


def run_sqlite(cases: int, blocks: int, workdir: Path) -> bool:
    path, raw_path = workdir / "engine.db", workdir / "raw.db"
    world = setup(f"sqlite:///{path}", workdir / "files")
    world.engine.dispose()
    with sqlite3.connect(path) as plain:
        plain.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    shutil.copyfile(path, raw_path)
    raw = Raw(raw_path)
    ours, theirs = durability(world.engine, raw.conn)
    print(f"SQLite files in {workdir}")
    print(f"engine: {ours};  raw: {theirs};  one transaction per step on both sides")
    print(f"{cases} designation cases in {blocks} blocks, engine and raw alternating; plus a warm-up case on both")

    # warm-up: one case through its life on both sides (caches, templates, statements), not counted
    run_block(world, range(cases, cases + 1), START - BLOCK_SPACING)
    for tx in world.done:
        raw.replay(tx)
    world.done, LOG[:] = [], []
    done: list[Transaction] = []
    raw_times: dict[int, float] = {}
    raw_cpu: dict[int, float] = {}
    size = -(-cases // blocks)
    for b in range(blocks):
        lives = range(b * size, min(cases, (b + 1) * size))
        if not lives:
            break
        run_block(world, lives, START + b * BLOCK_SPACING)
        for tx in world.done:
            raw_times[len(done)], raw_cpu[len(done)] = raw.replay(tx)
            done.append(tx)
        world.done, LOG[:] = [], []
    raw.conn.close()
    print(f"disk: {commit_ceiling(workdir):.0f} one-row transactions per second with the same durability, "
          "the ceiling for any writer")
    ok = report("SQLite (WAL, synchronous=FULL): engine p50 / p95 / p99, raw sqlite3 replaying the same writes",
                done, raw_times, raw_cpu)

    engine_counts = table_counts(world.engine)
    raw_engine = make_engine(f"sqlite:///{raw_path}")
    raw_counts = table_counts(raw_engine)
    print()
    differ = {name: (engine_counts.get(name), raw_counts.get(name)) for name in engine_counts.keys() | raw_counts
              if engine_counts.get(name) != raw_counts.get(name)}
    shown = {name: n for name, n in engine_counts.items() if n and not name.startswith("case_search_fts")}
    print(f"rows per table, engine: {shown}")
    same = f"the same in every one of the {len(raw_counts)} tables"
    print(f"rows per table, raw:    {differ or same}")
    chains_ok = True
    for name, e in (("engine", world.engine), ("raw", raw_engine)):
        with make_session_factory(e)() as s:
            result = audit.verify(s)
            print(f"audit chain, {name}: {result.describe('en')}")
            chains_ok &= result.ok
    world.engine.dispose()
    raw_engine.dispose()
    if differ or not chains_ok:
        print("MISMATCH: the two sides hold different rows, or a chain does not verify")
        raise SystemExit(1)
    return ok


def run_postgres(url: str, cases: int, blocks: int, workdir: Path) -> bool:
    admin = sa.engine.make_url(url)
    server = make_engine(admin.set(database="postgres").render_as_string(hide_password=False))
    with server.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        if not conn.execute(sa.text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": admin.database}).first():
            conn.exec_driver_sql(f'CREATE DATABASE "{admin.database}"')
    server.dispose()
    world = setup(url, workdir / "files-pg")
    print(f"PostgreSQL: {admin.render_as_string(hide_password=True)}; {cases} designation cases in {blocks} blocks")
    run_block(world, range(cases, cases + 1), START - BLOCK_SPACING)
    world.done, LOG[:] = [], []
    done: list[Transaction] = []
    size = -(-cases // blocks)
    for b in range(blocks):
        lives = range(b * size, min(cases, (b + 1) * size))
        if lives:
            run_block(world, lives, START + b * BLOCK_SPACING)
            done += world.done
            world.done, LOG[:] = [], []
    ok = report("PostgreSQL: engine p50 / p95 / p99 (no raw side)", done, None)
    with make_session_factory(world.engine)() as s:
        result = audit.verify(s)
    print(f"audit chain: {result.describe('en')}")
    world.engine.dispose()
    if not result.ok:
        raise SystemExit(1)
    return ok


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=40)
    parser.add_argument("--blocks", type=int, default=4, help="engine and raw alternate this many times")
    parser.add_argument("--database", choices=["sqlite", "postgres", "both"],
                        default="both" if os.environ.get("ZYZ_BENCH_POSTGRES_URL") else "sqlite",
                        help="default: sqlite, and both when ZYZ_BENCH_POSTGRES_URL is set")
    parser.add_argument("--postgres", default=os.environ.get(
        "ZYZ_BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/zyz_bench_lifecycle"),
        help="the PostgreSQL database for --database postgres (its public schema is dropped)")
    parser.add_argument("--dir", default=None, help="where the files go (default: a temporary directory)")
    args = parser.parse_args(argv)
    workdir = Path(args.dir or tempfile.mkdtemp(prefix="zyz-bench-lifecycle-"))
    workdir.mkdir(parents=True, exist_ok=True)
    for name in ("engine.db", "raw.db"):
        for suffix in ("", "-wal", "-shm"):
            Path(f"{workdir / name}{suffix}").unlink(missing_ok=True)
    try:
        ok = True
        if args.database in ("sqlite", "both"):
            ok &= run_sqlite(args.cases, args.blocks, workdir)
        if args.database in ("postgres", "both"):
            ok &= run_postgres(args.postgres, args.cases, args.blocks, workdir)
    finally:
        if not args.dir:
            shutil.rmtree(workdir, ignore_errors=True)
    print("targets: " + ("all met" if ok else "not all met (see above)"))


if __name__ == "__main__":
    main()
