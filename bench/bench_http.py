"""The whole site under load over HTTP: Locust (headless, as a library) against gunicorn with 2 workers while the
scheduler runs, on SQLite and on PostgreSQL.

Virtual users wait 1–3 s between tasks and do what the system's people do:

  county clerks (pages): the inbox, case pages, the case list with filters, search, the dashboard, downloading a
  supporting document, and resubmitting an application returned to them (open the case, open the step's form,
  post it with the form's CSRF token and the case's version, as a browser does);
  the office (pages): the same reading, and returning a submitted application for revision (comment required);
  integrations of a county and of the office (the JSON API with a Bearer token from POST /api/v1/auth/token):
  the case list, a case, search, the dashboard, and the same two transitions;
  the auditor: the audit trail's search with criteria, and a case's history.

Each transition is checked for read-your-writes: the very next request for that case (the case page, or the API's
case) must show the state the transition entered; violations are counted. Requests are named by route pattern
(`/cases/<id>`), so the report gives p50/p95/p99, requests per second and errors per route, with the number of SQL
statements each route runs per request, counted in-process with the Flask test client (SQLAlchemy's
`before_cursor_execute`, plus the statements `workflow.core.db.Prepared` runs on the DBAPI cursor itself; BEGIN,
COMMIT and the pool's ping are not counted). Then a saturation run: the same users without waits, stepping the
user count up, reports the highest request rate at which p95 stays within 80 ms.

    .venv/bin/python bench/bench_http.py [--users 10] [--duration 20] [--spawn-rate 5]
        [--steps 1,2,4,8] [--step-duration 10] [--sweep-seconds 10] [--database sqlite|postgres|both]
        [--dataset demo|generated] [--scale 1.0] [--seed 20261127]

Full figures: --users 50 --duration 300. Targets, per request type: p95 ≤ 80 ms, p99 ≤ 150 ms, no errors.

The data: --dataset demo is `zyz demo`'s database; --dataset generated is `bench.dataset.build(url, scale, seed)`
(1,000 towns, 100,000 cases, 1M audit events, 500 users at scale 1). On top of either, the benchmark adds its own
accounts (one per county, the office, the auditor; password BENCH_PASSWORD) and the applications the transitions
cycle on: for each virtual user slot of each pool (pages, API) three designation applications of a county, each
in a town of its own, submitted with their supporting documents (one of them then returned for revision). A
county user and an office user of the same slot share their applications (the office returns them, the county
resubmits them); while one of them is between reading a case and the request after its transition, the other
leaves that case alone, so the two never race for a case and a read-your-writes violation is the server's.

The load phase is measured once every user has started and logged in, plus 5 s (the logins are reported apart:
argon2 makes each cost a few hundred ms). Next to the latencies: the CPU time of gunicorn's process group per
request (the figure that does not depend on what else the machine runs), Locust's own, the scheduler's, and the
machine's load average. The scheduler runs with its jobs as in production, its deadline sweep every --sweep-seconds
(10; production 60); the benchmark waits for its start-up work (the first sweep, the PDF copies of the demo's
notices) to finish before loading. The saturation run starts users without waits in steps (each step: 3 s for the
new users to log in, then --step-duration measured) and stops after a step whose p95 passes twice the target.

--database postgres runs on the database named by --postgres, ZYZ_BENCH_POSTGRES_URL or
postgresql+psycopg://postgres@127.0.0.1:5432/zyz_bench_http (created if missing; its public schema is dropped);
both (SQLite, then PostgreSQL) is the default when ZYZ_BENCH_POSTGRES_URL is set. Every gunicorn and scheduler
process the script starts runs in a process group of its own, ended when the script ends.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from datetime import timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

P95_MS = 80.0
P99_MS = 150.0
BENCH_PASSWORD = "Bench-2026!"  # the benchmark's own throwaway accounts
CASES_PER_SLOT = 3
DEFAULT_POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/zyz_bench_http"
APPLICATION = {"industry_category": "agriculture", "leading_industry": "小杂粮", "main_products": "小米、荞麦",
               "output_yi": 3.2, "county_share_pct": 12.5, "jobs": 1800, "local_workers": 1500,
               "average_income": 38000, "supporting_enterprises": 24,
               "leading_enterprises": [{"name": "压测农业开发有限公司", "honours": ["dragon_head"]}],
               "business_environment": "县政府设立专业镇服务专班，项目审批全程代办。"}
# The two transitions the users fire, each way through the pages and the API: (trigger, role, from, to).
CYCLE = {"return_for_revision": ("office", "submitted", "returned"),
         "resubmit": ("county", "returned", "submitted")}


# ---------------------------------------------------------------------------------------------------------------
# The database: a dataset, then the benchmark's accounts and applications


def prepare(url: str, workdir: Path, *, dataset: str, scale: float, seed: int, slots: int) -> dict[str, Any]:
    """Build the database at `url` and return what the virtual users need to know of it (the world)."""
    import sqlalchemy as sa

    from bench.common import fresh_engine
    from workflow import processes
    from workflow.core.catalog import CATALOG
    from workflow.core.db import make_engine, make_session_factory, migrate, transaction
    from workflow.core.settings import configure
    from workflow.seed import ensure_reference_units

    processes.load()
    configure(instance_path=str(workdir / "instance"), upload_dir=str(workdir / "files"))
    started = time.perf_counter()
    from webapp.database import Clock

    now = Clock.real()
    if dataset == "demo":
        from workflow.seed import build_demo

        engine = fresh_engine(url)
        with transaction(make_session_factory(engine)) as s:
            CATALOG.sync(s, now)
            build_demo(s, now)
    else:
        import importlib

        generated = importlib.import_module("bench.dataset")  # written apart; imported only when asked for
        summary = generated.build(url, scale, seed)  # a fresh database: the file replaced, or the schema dropped
        print(f"  generated dataset: {summary.get('counts', summary) if isinstance(summary, dict) else summary}")
        engine = make_engine(url)
        migrate(engine)
        with transaction(make_session_factory(engine)) as s:
            CATALOG.sync(s, now)
            ensure_reference_units(s, now)
    base_seconds = time.perf_counter() - started
    started = time.perf_counter()
    with transaction(make_session_factory(engine)) as s:
        world = _add_load_fixtures(s, now, slots=slots, seed=seed)
    with engine.connect() as conn:
        world.update(_read_targets(conn, world, seed))
        cases = conn.execute(sa.text("SELECT count(*) FROM case_file")).scalar_one()
        events = conn.execute(sa.text("SELECT count(*) FROM audit_event")).scalar_one()
    engine.dispose()
    print(f"  database: {dataset} ({base_seconds:.1f} s) + the benchmark's accounts and {len(world['all_cycle'])} "
          f"applications ({time.perf_counter() - started:.1f} s): {cases:,} cases, {events:,} audit events")
    world["labels"] = _state_labels()
    return world


def _state_labels() -> dict[str, list[str]]:
    import yaml

    states = yaml.safe_load((ROOT / "definitions" / "designation.yaml").read_text(encoding="utf-8"))["states"]
    return {name: [states[name]["label"]["zh"], states[name]["label"]["en"]] for name in ("submitted", "returned")}


def _add_load_fixtures(s: Any, now: Any, *, slots: int, seed: int) -> dict[str, Any]:
    """The benchmark's accounts and, per pool and slot, CASES_PER_SLOT submitted applications of one county."""
    from sqlmodel import col, select

    from workflow.accounts.auth import actor_for, create_user
    from workflow.core.actors import Actor
    from workflow.core.engine import create_case, fire
    from workflow.core.models import Unit, UnitKind
    from workflow.seed import attach_materials
    from workflow.towns.services import create_town

    counties = s.exec(select(Unit).where(Unit.kind == UnitKind.county.value, col(Unit.is_active).is_(True))
                      .order_by(col(Unit.id))).all()
    office = s.exec(select(Unit).where(Unit.kind == UnitKind.office.value).order_by(col(Unit.id))).first()
    users: dict[str, Any] = {}

    def account(username: str, role: str, unit_id: int, name: str) -> Any:
        users[username] = create_user(s, username=username, display_name=name, role=role, unit_id=unit_id,
                                      password=BENCH_PASSWORD, now=now, must_change_password=False,
                                      email=f"{username}@example.gov.cn")
        return users[username]

    county_users = {c.id: f"bench_county_{c.id}" for c in counties}
    for c in counties:
        account(county_users[c.id], "county", c.id, f"{c.name} 压测办事员")
    account("bench_office", "office", office.id, "办公室 压测")
    account("bench_auditor", "auditor", office.id, "审计员 压测")
    system = Actor.system()
    office_actor = actor_for(s, users["bench_office"])
    pools: dict[str, list[dict[str, Any]]] = {}
    every: list[int] = []
    for pool in ("page", "api"):
        pools[pool] = []
        for slot in range(slots):
            county = counties[slot % len(counties)]
            who = actor_for(s, users[county_users[county.id]])
            ids = []
            for j in range(CASES_PER_SLOT):
                town = create_town(session=s, actor=system, name=f"压测{pool}{slot}-{j}镇", county_id=county.id,
                                   now=now - timedelta(days=20), industry_category="agriculture",
                                   leading_industry="小杂粮")
                case = create_case(session=s, definition_key="designation", actor=who, now=now, town_id=town.id,
                                   data=APPLICATION)
                assert case.id is not None  # flushed
                attach_materials(s, who, case.id, now)
                fire(session=s, case_id=case.id, trigger="submit", actor=who, now=now)
                if j % 2:  # some start returned, so that both sides have work from the start
                    fire(session=s, case_id=case.id, trigger="return_for_revision", actor=office_actor, now=now,
                         comment="请补充产值统计证明材料")
                ids.append(case.id)
            pools[pool].append({"county": county_users[county.id], "county_id": county.id, "cases": ids})
            every += ids
    return {"password": BENCH_PASSWORD, "pools": pools, "all_cycle": every, "office": "bench_office",
            "auditor": "bench_auditor", "county_users": {str(k): v for k, v in county_users.items()},
            "county_ids": [c.id for c in counties]}


def _read_targets(conn: Any, world: dict[str, Any], seed: int) -> dict[str, Any]:
    """What each kind of user reads: case ids, documents, list filters, search words, audit criteria."""
    import sqlalchemy as sa

    rng = random.Random(seed)

    def ids(sql: str, limit: int, **params: Any) -> list[int]:
        found = [row[0] for row in conn.execute(sa.text(sql), params)]
        return sorted(rng.sample(found, min(limit, len(found))))

    by_county: dict[str, dict[str, list[int]]] = {}
    for county_id in world["county_ids"]:
        by_county[str(county_id)] = {  # documents: those the county's own people attached to its applications
            "cases": ids("SELECT id FROM case_file WHERE county_id = :c", 300, c=county_id),
            "documents": ids("SELECT a.id FROM attachment a JOIN case_file c ON c.id = a.case_id "
                             "WHERE c.county_id = :c AND c.definition_key = 'designation' AND a.uploaded_by_id IN "
                             "(SELECT id FROM app_user WHERE unit_id = :c)", 100, c=county_id),
        }
    office_cases = ids("SELECT id FROM case_file", 500)
    office_documents = ids("SELECT a.id FROM attachment a JOIN case_file c ON c.id = a.case_id "
                           "WHERE c.definition_key = 'designation'", 200)
    combos = [list(row) for row in conn.execute(sa.text(
        "SELECT definition_key, state FROM case_file GROUP BY definition_key, state ORDER BY count(*) DESC "
        "LIMIT 20"))]
    towns = [row[0] for row in conn.execute(sa.text("SELECT name FROM town ORDER BY id"))]
    numbers = [row[0] for row in conn.execute(sa.text("SELECT number FROM case_file ORDER BY id"))]
    words = rng.sample(towns, min(30, len(towns))) + rng.sample(numbers, min(20, len(numbers))) + [
        "小杂粮", "耐火材料", "陶瓷", "整改", "认定申请"]
    start = (time.strftime("%Y-%m-%d", time.gmtime(time.time() - 30 * 86400)))
    audit_queries: list[dict[str, Any]] = [
        {"kind": "transition"}, {"kind": "login_ok", "user": "bench_office"}, {"user": "压测"},
        {"start": start}, {"kind": "attachment_added", "start": start},
        *({"county": c} for c in world["county_ids"][:3]), *({"case": n} for n in rng.sample(numbers, 3))]
    return {"by_county": by_county, "office_cases": office_cases, "office_documents": office_documents,
            "filters": combos, "words": words, "audit_queries": audit_queries}


def _postgres_url(url: str) -> str:
    """The benchmark's database, created when missing."""
    import sqlalchemy as sa

    target = sa.engine.make_url(url)
    admin = sa.create_engine(target.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        if not conn.execute(sa.text("SELECT 1 FROM pg_database WHERE datname = :n"),
                            {"n": target.database}).first():
            conn.execute(sa.text(f'CREATE DATABASE "{target.database}"'))
    admin.dispose()
    return url


# ---------------------------------------------------------------------------------------------------------------
# gunicorn and the scheduler, each in a process group of its own


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def server_environment(url: str, workdir: Path, sweep_seconds: int = 60, notify_seconds: int = 5) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ZYZ_")}
    env.update({"ZYZ_ENV": "production", "ZYZ_SECRET_KEY": secrets.token_urlsafe(48),
                "ZYZ_AUDIT_HMAC_KEY": secrets.token_urlsafe(48), "ZYZ_DATABASE_URL": url,
                "ZYZ_INSTANCE_PATH": str(workdir / "instance"), "ZYZ_UPLOAD_DIR": str(workdir / "files"),
                "ZYZ_ANCHOR_DIR": str(workdir / "anchors"),
                "ZYZ_LOGIN_RATE_LIMIT": "0",  # every virtual user logs in from 127.0.0.1
                "ZYZ_SWEEP_SECONDS": str(sweep_seconds),
                "ZYZ_NOTIFY_SECONDS": str(notify_seconds),  # the dispatcher's interval (production: 5 s)
                "PYTHONPATH": str(ROOT)})
    return env


@contextmanager
def servers(url: str, workdir: Path, sweep_seconds: int, *, env: dict[str, str] | None = None,
            tag: str = "", scheduler_nice: int = 0, notify_seconds: int = 5,
            workers: int = 2) -> Iterator[tuple[str, list[int]]]:
    """gunicorn (2 workers unless told) and `zyz scheduler` on the database; yields the site's address. Both are
    ended (their whole process groups: the workers, LibreOffice started by the scheduler) however the block ends.
    Yields the site's address and the two process groups' ids. Several instances on one database share one `env`
    (their keys) and each has a `tag` of its own (the names of its logs). `scheduler_nice` > 0 starts the scheduler
    under `nice -n` (a service unit's `Nice=`, README "Production"): its background work yields the CPU to the
    workers."""
    env = env or server_environment(url, workdir, sweep_seconds, notify_seconds)
    names = (f"gunicorn{tag}", f"scheduler{tag}")
    port = _free_port()
    began = time.perf_counter()
    bin_dir = Path(sys.executable).parent
    zyz = [str(bin_dir / "zyz")] if (bin_dir / "zyz").exists() else [sys.executable, "-c",
                                                                       "from webapp.cli import main; main()"]
    started: list[subprocess.Popen[bytes]] = []
    logs = []
    try:
        for name, command in (
                (names[0], [sys.executable, "-m", "gunicorn", "--workers", str(workers), "--bind", f"127.0.0.1:{port}",
                              "--access-logfile", str(workdir / f"access{tag}.log"),
                              "--access-logformat", ACCESS_FORMAT, "webapp:create_app()"]),
                (names[1], [*(["nice", "-n", str(scheduler_nice)] if scheduler_nice else []), *zyz, "scheduler"])):
            log = open(workdir / f"{name}.log", "wb")  # noqa: SIM115 - closed in the finally block
            logs.append(log)
            started.append(subprocess.Popen(command, env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
                                            start_new_session=True))
        host = f"http://127.0.0.1:{port}"
        _wait_ready(host, started, workdir, names)
        _settle(started[1].pid)
        print(f"  gunicorn{tag} and the scheduler{tag} ready, the scheduler's start-up work done: "
              f"{time.perf_counter() - began:.0f} s", flush=True)
        yield host, [process.pid for process in started]
    finally:
        for process in started:
            _end_group(process)
        for log in logs:
            log.close()


# gunicorn's access log: the time the worker took over each request (%(L)s, seconds), from reading its first byte
# to the response's last; what Locust sees beyond it is the wait in the listen queue for a free worker (and loopback).
ACCESS_FORMAT = "%(L)s"


def _served_ms(access_log: str | None, start: int, end: int) -> list[float]:
    """The workers' own times (ms) of the requests logged between two sizes of the access log."""
    if not access_log:
        return []
    with open(access_log, "rb") as log:
        log.seek(start)
        lines = log.read(end - start).decode(errors="replace").splitlines()
    return sorted(1000 * float(line) for line in lines if line.strip())


def _size(path: str | None) -> int:
    return os.path.getsize(path) if path and os.path.exists(path) else 0


def _percentile(ordered: list[float], share: float) -> float:
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))] if ordered else 0.0


def _wait_ready(host: str, started: list[subprocess.Popen[bytes]], workdir: Path,
                names: tuple[str, str] = ("gunicorn", "scheduler")) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        for process, name in zip(started, names, strict=True):
            if process.poll() is not None:
                tail = (workdir / f"{name}.log").read_text(errors="replace")[-3000:]
                raise RuntimeError(f"{name} stopped (exit {process.returncode}):\n{tail}")
        try:
            with urllib.request.urlopen(f"{host}/login", timeout=5) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.3)
    raise RuntimeError("gunicorn did not answer within 60 s")


def _group_cpu(pgid: int) -> float:
    """CPU seconds of the processes of a process group (read from /proc)."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid:  # after the name: state, ppid, pgrp, ..., utime (12), stime (13)
            total += int(fields[11]) + int(fields[12])
    return total / ticks


def _settle(scheduler_pid: int) -> None:
    """Wait while the scheduler catches up at start (its first sweep, the PDF copies of the demo's notices by
    LibreOffice): until its process group uses under 5 % of a core for two seconds running, at most 90 s."""
    deadline, quiet, last = time.monotonic() + 90, 0, _group_cpu(scheduler_pid)
    while time.monotonic() < deadline and quiet < 2:
        time.sleep(1)
        now = _group_cpu(scheduler_pid)
        quiet = quiet + 1 if now - last < 0.05 else 0
        last = now


def _end_group(process: subprocess.Popen[bytes]) -> None:
    try:
        os.killpg(process.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    with suppress(subprocess.TimeoutExpired):
        process.wait(timeout=15)
    with suppress(ProcessLookupError):  # what is left of the group (a worker, a LibreOffice the scheduler started)
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()


# ---------------------------------------------------------------------------------------------------------------
# The load itself: Locust in a process of its own (it patches the standard library with gevent on import)


def run_locust(phase: dict[str, Any], world: dict[str, Any], workdir: Path) -> dict[str, Any]:
    config = workdir / f"locust-{phase['name']}.json"
    result = workdir / f"locust-{phase['name']}-result.json"
    config.write_text(json.dumps({"phase": phase, "world": world}), encoding="utf-8")
    subprocess.run([sys.executable, str(Path(__file__).resolve()), "--locust-child", str(config), str(result)],
                   check=True, cwd=ROOT)
    return json.loads(result.read_text(encoding="utf-8"))


CSRF = re.compile(r'name="csrf_token"[^>]*?value="([^"]+)"')
VERSION = re.compile(r'name="expected_version" value="(\d+)"')
STATE = re.compile(r'<span class="state big">\s*([^<]*?)\s*</span>')


def _user_classes(world: dict[str, Any], wait: tuple[float, float] | None,
                  tally: dict[str, Any]) -> list[type]:
    """The virtual users (Locust's FastHttpUser: geventhttpclient, cookies kept per user)."""
    from locust import FastHttpUser, between, constant, task

    rng = random.Random()
    labels = world["labels"]
    slots: dict[str, Iterator[int]] = {}
    # The county and the office of a slot share its applications: while one of them is between reading a case and
    # the request after its transition, the other leaves that case alone (as a person would find it in use), so
    # that the check below sees only what the server did.
    busy: set[int] = set()

    def pick(cases: list[int]) -> int | None:
        free = [cid for cid in cases if cid not in busy]
        if not free:
            return None
        cid = rng.choice(free)
        busy.add(cid)
        return cid

    def next_slot(kind: str) -> int:
        import itertools

        return next(slots.setdefault(kind, itertools.count()))

    def observed(trigger: str, cid: int, state: str | None) -> None:
        dest = CYCLE[trigger][2]
        tally["checks"] += 1
        if state not in (dest, *labels[dest]):
            tally["violations"] += 1
            tally["examples"].append(f"case {cid}: {trigger} → {dest}, next request showed {state!r}")

    class Person(FastHttpUser):
        abstract = True
        wait_time = between(*wait) if wait else constant(0)
        role = ""
        pool = "page"

        def on_start(self) -> None:
            self.slot = next_slot(f"{self.pool}:{self.role}")
            pools = world["pools"][self.pool]
            self.mine = pools[self.slot] if self.slot < len(pools) else None
            county = (self.mine or pools[self.slot % len(pools)])["county_id"]
            self.county = str(county)
            self.username = {"county": world["county_users"][self.county], "office": world["office"],
                             "auditor": world["auditor"]}[self.role]
            if self.role == "county":
                self.cases = world["by_county"][self.county]["cases"]
                self.documents = world["by_county"][self.county]["documents"]
            else:
                self.cases, self.documents = world["office_cases"], world["office_documents"]
            self.begin()

        def begin(self) -> None:
            page = self.client.get("/login", name="/login")
            token = CSRF.search(page.text or "")
            with self.client.post("/login", name="/login", allow_redirects=False, catch_response=True,
                                  data={"csrf_token": token.group(1) if token else "", "username": self.username,
                                        "password": world["password"]}) as r:
                if r.status_code != 302:
                    r.failure(f"login answered {r.status_code}")

        def case_page(self, cid: int) -> str | None:
            with self.client.get(f"/cases/{cid}", name="/cases/<id>", catch_response=True) as r:
                if r.status_code != 200:
                    r.failure(f"{r.status_code}")
                    return None
                found = STATE.search(r.text or "")
                return found.group(1) if found else None

        def fire_page(self, trigger: str, form: dict[str, str]) -> None:
            if self.mine is None:  # more users than slots: this one only reads
                self.case_page(rng.choice(self.cases))
                return
            cid = pick(self.mine["cases"])
            if cid is None:
                return
            try:
                self.fire_on(cid, trigger, form)
            finally:
                busy.discard(cid)

        def fire_on(self, cid: int, trigger: str, form: dict[str, str]) -> None:
            if self.case_page(cid) not in labels[CYCLE[trigger][1]]:
                return  # the other side has not acted yet: the person reads the case and moves on
            r = self.client.get(f"/cases/{cid}/do/{trigger}", name=f"/cases/<id>/do/{trigger}")
            token, version = CSRF.search(r.text or ""), VERSION.search(r.text or "")
            if not token or not version:
                return
            with self.client.post(f"/cases/{cid}/do/{trigger}", name=f"/cases/<id>/do/{trigger}",
                                  allow_redirects=False, catch_response=True,
                                  data={"csrf_token": token.group(1), "expected_version": version.group(1),
                                        **form}) as posted:
                location = posted.headers.get("Location") or posted.headers.get("location") or ""
                if posted.status_code != 302 or not location.endswith(f"/cases/{cid}"):
                    posted.failure(f"{posted.status_code} {location}")
                    return
            tally["fired"][f"page {trigger}"] += 1
            observed(trigger, cid, self.case_page(cid))

    class Clerk(Person):
        abstract = True

        @task(3)
        def case(self) -> None:
            self.case_page(rng.choice(self.cases))

        @task(3)
        def inbox(self) -> None:
            self.client.get("/inbox", name="/inbox")

        @task(2)
        def case_list(self) -> None:
            definition, state = rng.choice(world["filters"])
            query = {"definition": definition, "state": state}
            if self.role == "office" and rng.random() < 0.5:
                query["county"] = str(rng.choice(world["county_ids"]))
            elif rng.random() < 0.3:
                query.pop("state")
            self.client.get("/cases", params=query, name="/cases?<filters>")

        @task(2)
        def search(self) -> None:
            self.client.get("/search", params={"q": rng.choice(world["words"])}, name="/search?q=<q>")

        @task(1)
        def dashboard(self) -> None:
            self.client.get("/dashboard", name="/dashboard")

        @task(1)
        def document(self) -> None:
            if self.documents:
                self.client.get(f"/attachments/{rng.choice(self.documents)}", name="/attachments/<id>")

    class CountyClerk(Clerk):
        weight = 4
        role = "county"

        @task(3)
        def resubmit(self) -> None:
            self.fire_page("resubmit", {"confirmed": "yes"})

    class OfficeClerk(Clerk):
        weight = 2
        role = "office"

        @task(3)
        def return_for_revision(self) -> None:
            self.fire_page("return_for_revision", {"comment": "请补充产值统计证明材料"})

    class Integration(FastHttpUser):
        abstract = True
        wait_time = between(*wait) if wait else constant(0)
        role = ""
        trigger = ""

        def on_start(self) -> None:
            self.slot = next_slot(f"api:{self.role}")
            pools = world["pools"]["api"]
            self.mine = pools[self.slot] if self.slot < len(pools) else None
            self.county = str((self.mine or pools[self.slot % len(pools)])["county_id"])
            username = world["county_users"][self.county] if self.role == "county" else world["office"]
            self.cases = (world["by_county"][self.county]["cases"] if self.role == "county"
                          else world["office_cases"])
            with self.client.post("/api/v1/auth/token", name="/api/v1/auth/token", catch_response=True,
                                  json={"username": username, "password": world["password"]}) as r:
                self.headers = {"Authorization": f"Bearer {r.json()['token']}"} if r.status_code == 200 else {}

        def show(self, cid: int) -> dict[str, Any] | None:
            with self.client.get(f"/api/v1/cases/{cid}", name="/api/v1/cases/<id>", headers=self.headers,
                                 catch_response=True) as r:
                if r.status_code != 200:
                    r.failure(f"{r.status_code}")
                    return None
                return dict(r.json())

        @task(3)
        def case(self) -> None:
            self.show(rng.choice(self.cases))

        @task(2)
        def case_list(self) -> None:
            definition, state = rng.choice(world["filters"])
            self.client.get("/api/v1/cases", params={"definition": definition, "state": state},
                            headers=self.headers, name="/api/v1/cases?<filters>")

        @task(1)
        def search(self) -> None:
            self.client.get("/api/v1/search", params={"q": rng.choice(world["words"])}, headers=self.headers,
                            name="/api/v1/search?q=<q>")

        @task(1)
        def dashboard(self) -> None:
            self.client.get("/api/v1/dashboard", headers=self.headers, name="/api/v1/dashboard")

        @task(3)
        def transition(self) -> None:
            if self.mine is None:
                self.show(rng.choice(self.cases))
                return
            cid = pick(self.mine["cases"])
            if cid is None:
                return
            try:
                self.fire_on(cid)
            finally:
                busy.discard(cid)

        def fire_on(self, cid: int) -> None:
            case = self.show(cid)
            if case is None or case["state"] != CYCLE[self.trigger][1]:
                return
            body: dict[str, Any] = {"trigger": self.trigger, "expected_version": case["version"]}
            if self.trigger == "return_for_revision":
                body["comment"] = "请补充龙头企业名单"
            with self.client.post(f"/api/v1/cases/{cid}/transitions", json=body, headers=self.headers,
                                  name=f"/api/v1/cases/<id>/transitions [{self.trigger}]",
                                  catch_response=True) as r:
                if r.status_code != 200:
                    r.failure(f"{r.status_code} {(r.text or '')[:200]}")
                    return
            tally["fired"][f"api {self.trigger}"] += 1
            after = self.show(cid)
            observed(self.trigger, cid, after["state"] if after else None)

    class CountyIntegration(Integration):
        weight = 1
        role = "county"
        trigger = "resubmit"

    class OfficeIntegration(Integration):
        weight = 1
        role = "office"
        trigger = "return_for_revision"

    class Auditor(Person):  # a Person's helpers, and tasks of its own
        weight = 1
        role = "auditor"
        @task(3)
        def audit_search(self) -> None:
            self.client.get("/auditor/", params=rng.choice(world["audit_queries"]), name="/auditor/?<criteria>")

        @task(1)
        def history(self) -> None:
            self.client.get(f"/auditor/cases/{rng.choice(world['office_cases'])}", name="/auditor/cases/<id>")

    return [CountyClerk, OfficeClerk, CountyIntegration, OfficeIntegration, Auditor]


def _stats_of(env: Any, seconds: float, cpu: list[float] | None = None,
              groups: list[int] | None = None) -> dict[str, Any]:
    """Locust's figures since its last reset; with `cpu` (the CPU seconds of gunicorn's and the scheduler's
    process groups at the start), the CPU they used since: gunicorn's per request, the scheduler's in all."""
    routes = []
    for (name, method), entry in sorted(env.stats.entries.items()):
        if entry.num_requests:
            routes.append({"name": name, "method": method, "requests": entry.num_requests,
                           "failures": entry.num_failures, "rps": entry.num_requests / seconds,
                           **{f"p{p}": entry.get_response_time_percentile(p / 100) for p in (50, 95, 99)}})
    total = env.stats.total
    errors = [{"method": e.method, "name": e.name, "error": str(e.error), "count": e.occurrences}
              for e in env.stats.errors.values()]
    used = [_group_cpu(g) - c for g, c in zip(groups or [], cpu or [], strict=False)]
    mine = time.process_time() - cpu[-1] if cpu else 0.0
    return {"routes": routes, "requests": total.num_requests, "failures": total.num_failures,
            "server_cpu_ms": 1000 * used[0] / total.num_requests if used and total.num_requests else 0.0,
            "scheduler_cpu_s": used[1] if used else 0.0,
            "locust_cpu_ms": 1000 * mine / total.num_requests if total.num_requests else 0.0,
            "rps": total.num_requests / seconds if seconds else 0.0, "seconds": seconds,
            **{f"p{p}": total.get_response_time_percentile(p / 100) if total.num_requests else 0.0
               for p in (50, 95, 99)}, "errors": errors}


def _split(classes: list[type], hosts: list[str] | None) -> list[type]:
    """With several sites (`hosts`: instances on one database), each kind of user once per site, with its weight:
    the load split evenly across them. The users still share their slots and cases, as on one site."""
    if not hosts:
        return classes
    return [type(f"{cls.__name__}At{i}", (cls,), {"host": host, "weight": getattr(cls, "weight", 1)})
            for i, host in enumerate(hosts) for cls in classes]


def locust_child(config_path: str, result_path: str) -> None:
    """Run one phase (load, or the saturation steps) and write its figures as JSON."""
    import gevent
    from locust.env import Environment
    from locust.log import setup_logging

    setup_logging("WARNING")
    config = json.loads(Path(config_path).read_text(encoding="utf-8"))
    phase, world = config["phase"], config["world"]
    tally: dict[str, Any] = {"checks": 0, "violations": 0, "examples": [], "fired": Counter()}
    wait = (1.0, 3.0) if phase["name"] == "load" else None
    env = Environment(user_classes=_split(_user_classes(world, wait, tally), phase.get("hosts")),
                      host=None if phase.get("hosts") else phase["host"])
    runner = env.create_local_runner()
    out: dict[str, Any] = {}
    try:
        if phase["name"] == "load":
            runner.start(phase["users"], spawn_rate=phase["spawn_rate"])
            # measured once every user has started and logged in (their logins are reported apart), and 5 s on
            gevent.sleep(phase["users"] / phase["spawn_rate"] + 5)
            warm = _stats_of(env, 1.0)
            out["logins"] = [r for r in warm["routes"] if r["name"] in ("/login", "/api/v1/auth/token")]
            env.stats.reset_all()
            started, cpu = time.monotonic(), [_group_cpu(g) for g in phase["groups"]] + [time.process_time()]
            logged = _size(phase.get("access_log"))
            gevent.sleep(phase["duration"])
            out["load"] = _stats_of(env, time.monotonic() - started, cpu, phase["groups"])
            served = _served_ms(phase.get("access_log"), logged, _size(phase.get("access_log")))
            out["load"]["served"] = {"requests": len(served),
                                     **{f"p{p}": _percentile(served, p / 100) for p in (50, 95, 99)}}
            runner.stop()
        else:
            steps = []
            for users in phase["steps"]:
                runner.start(users, spawn_rate=max(users, 1))
                gevent.sleep(phase["warmup"])  # the new users log in; then the step is measured
                env.stats.reset_all()
                started, cpu = time.monotonic(), [_group_cpu(g) for g in phase["groups"]] + [time.process_time()]
                gevent.sleep(phase["duration"])
                step = _stats_of(env, time.monotonic() - started, cpu, phase["groups"])
                step["users"] = users
                steps.append(step)
                print(f"    {users:3d} users: {step['rps']:6.1f} requests/s, p50 {step['p50']:.0f} ms, "
                      f"p95 {step['p95']:.0f} ms, p99 {step['p99']:.0f} ms, {step['failures']} errors; "
                      f"CPU per request: gunicorn {step['server_cpu_ms']:.1f} ms, "
                      f"Locust {step['locust_cpu_ms']:.1f} ms", flush=True)
                if step["p95"] > P95_MS * 2:
                    break  # past saturation: more users only queue longer
            runner.stop()
            out["steps"] = steps
    finally:
        runner.quit()
    out["read_your_writes"] = {**tally, "fired": dict(tally["fired"])}
    Path(result_path).write_text(json.dumps(out), encoding="utf-8")


# ---------------------------------------------------------------------------------------------------------------
# SQL statements per request, in-process with the Flask test client


def count_queries(url: str, workdir: Path, world: dict[str, Any]) -> dict[str, float]:
    """Each route the users request, requested again through the Flask test client on the same database; the
    statements it runs (SQLAlchemy's and workflow.core.db.Prepared's), per request (median over a few)."""
    from sqlalchemy import event

    from webapp import create_app
    from workflow.core import db as core_db

    env = server_environment(url, workdir)
    app = create_app({"DATABASE_URL": url, "ZYZ_ENV": "production", "SECRET_KEY": env["ZYZ_SECRET_KEY"],
                      "AUDIT_HMAC_KEY": env["ZYZ_AUDIT_HMAC_KEY"], "UPLOAD_DIR": env["ZYZ_UPLOAD_DIR"],
                      "ANCHOR_DIR": env["ZYZ_ANCHOR_DIR"], "LOGIN_RATE_LIMIT": 0})
    engine = app.extensions["zyz"]["engine"]
    count = [0]

    def on_execute(*_args: Any) -> None:
        count[0] += 1

    event.listen(engine, "before_cursor_execute", on_execute)
    originals = {name: getattr(core_db.Prepared, name) for name in ("execute", "fetch", "execute_many")}

    def counted(original: Callable[..., Any]) -> Callable[..., Any]:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            count[0] += 1
            return original(*args, **kwargs)
        return wrapper

    for name, original in originals.items():
        setattr(core_db.Prepared, name, counted(original))
    seen: dict[str, list[int]] = {}
    refused: list[str] = []

    def request(client: Any, method: str, path: str, name: str, **kwargs: Any) -> Any:
        count[0] = 0
        response = client.open(path, method=method, **kwargs)
        if response.status_code < 400:  # a refused request is not the route's work
            seen.setdefault(f"{method} {name}", []).append(count[0])
        else:
            refused.append(f"{method} {path}: {response.status_code}")
        return response

    try:
        for role in ("county", "office"):
            pool = world["pools"]["page"][0]
            username = pool["county"] if role == "county" else world["office"]
            cases = world["by_county"][str(pool["county_id"])] if role == "county" else {
                "cases": world["office_cases"], "documents": world["office_documents"]}
            client = app.test_client()
            _probe_login(client, request, username, world["password"])
            for i in range(3):
                request(client, "GET", "/inbox", "/inbox")
                request(client, "GET", f"/cases/{cases['cases'][i % len(cases['cases'])]}", "/cases/<id>")
                definition, state = world["filters"][i % len(world["filters"])]
                request(client, "GET", "/cases", "/cases?<filters>",
                        query_string={"definition": definition, "state": state})
                request(client, "GET", "/search", "/search?q=<q>", query_string={"q": world["words"][i]})
                request(client, "GET", "/dashboard", "/dashboard")
                if cases["documents"]:
                    request(client, "GET", f"/attachments/{cases['documents'][i]}", "/attachments/<id>")
        # one cycle through the pages, then one through the API, on the first page slot's applications
        office, county = app.test_client(), app.test_client()
        _probe_login(office, request, world["office"], world["password"])
        _probe_login(county, request, world["pools"]["page"][0]["county"], world["password"])
        steps = {"return_for_revision": (office, {"comment": "请补充材料"}), "resubmit": (county, {"confirmed": "yes"})}
        for cid in world["pools"]["page"][0]["cases"]:
            shown = STATE.search(request(office, "GET", f"/cases/{cid}", "/cases/<id>").get_data(as_text=True))
            order = ["resubmit", "return_for_revision"]
            if shown and shown.group(1) in world["labels"]["submitted"]:
                order.reverse()
            for trigger in order:
                client, form = steps[trigger]
                page = request(client, "GET", f"/cases/{cid}/do/{trigger}", f"/cases/<id>/do/{trigger}")
                text = page.get_data(as_text=True)
                token, version = CSRF.search(text), VERSION.search(text)
                if token and version:
                    request(client, "POST", f"/cases/{cid}/do/{trigger}", f"/cases/<id>/do/{trigger}",
                            data={"csrf_token": token.group(1), "expected_version": version.group(1), **form})
        api_pool = world["pools"]["api"][0]
        headers = {}
        for role, username in (("office", world["office"]), ("county", api_pool["county"])):
            r = request(app.test_client(), "POST", "/api/v1/auth/token", "/api/v1/auth/token",
                        json={"username": username, "password": world["password"]})
            headers[role] = {"Authorization": f"Bearer {r.get_json()['token']}"}
        client = app.test_client()
        for i, cid in enumerate(api_pool["cases"]):
            definition, state = world["filters"][i % len(world["filters"])]
            request(client, "GET", "/api/v1/cases", "/api/v1/cases?<filters>", headers=headers["office"],
                    query_string={"definition": definition, "state": state})
            request(client, "GET", "/api/v1/search", "/api/v1/search?q=<q>", headers=headers["office"],
                    query_string={"q": world["words"][i]})
            request(client, "GET", "/api/v1/dashboard", "/api/v1/dashboard", headers=headers["office"])
            state = request(client, "GET", f"/api/v1/cases/{cid}", "/api/v1/cases/<id>",
                            headers=headers["office"]).get_json()["state"]
            sides = [("office", "return_for_revision"), ("county", "resubmit")]
            if state != "submitted":
                sides.reverse()
            for role, trigger in sides:
                case = request(client, "GET", f"/api/v1/cases/{cid}", "/api/v1/cases/<id>",
                               headers=headers[role]).get_json()
                body = {"trigger": trigger, "expected_version": case["version"]}
                if trigger == "return_for_revision":
                    body["comment"] = "请补充材料"
                request(client, "POST", f"/api/v1/cases/{cid}/transitions",
                        f"/api/v1/cases/<id>/transitions [{trigger}]", headers=headers[role], json=body)
        auditor = app.test_client()
        _probe_login(auditor, request, world["auditor"], world["password"])
        for i in range(3):
            request(auditor, "GET", "/auditor/", "/auditor/?<criteria>",
                    query_string=world["audit_queries"][i % len(world["audit_queries"])])
            request(auditor, "GET", f"/auditor/cases/{world['office_cases'][i]}", "/auditor/cases/<id>")
    finally:
        for name, original in originals.items():
            setattr(core_db.Prepared, name, original)
        event.remove(engine, "before_cursor_execute", on_execute)
        engine.dispose()
    for line in refused:
        print(f"  (in-process count: {line} refused, not counted)")
    return {key: sorted(values)[len(values) // 2] for key, values in seen.items()}


def _probe_login(client: Any, request: Callable[..., Any], username: str, password: str) -> None:
    page = request(client, "GET", "/login", "/login")
    token = CSRF.search(page.get_data(as_text=True))
    request(client, "POST", "/login", "/login",
            data={"csrf_token": token.group(1) if token else "", "username": username, "password": password})


# ---------------------------------------------------------------------------------------------------------------
# The report


def _mark(value: float, target: float) -> str:
    return f"{value:6.0f}{' ' if value <= target else '!'}"


def report(database: str, load: dict[str, Any], steps: list[dict[str, Any]], queries: dict[str, float],
           ryw: dict[str, Any], logins: list[dict[str, Any]]) -> None:
    print(f"\n  {database}: {load['requests']:,} requests in {load['seconds']:.0f} s, {load['rps']:.1f} requests/s, "
          f"{load['failures']} errors; p50 {load['p50']:.0f} ms, p95 {load['p95']:.0f} ms, p99 {load['p99']:.0f} ms")
    served = load.get("served")
    if served and served["requests"]:
        print(f"  served by the workers (gunicorn's request time, {served['requests']:,} requests logged): "
              f"p50 {served['p50']:.0f} ms, p95 {served['p95']:.0f} ms, p99 {served['p99']:.0f} ms; the rest of "
              "Locust's figures is the wait for a free worker")
    print(f"  CPU: gunicorn's workers {load['server_cpu_ms']:.1f} ms per request, "
          f"Locust {load['locust_cpu_ms']:.1f} ms per request; the scheduler {load['scheduler_cpu_s']:.2f} s in all")
    print(f"  per request type (ms; '!' misses the target p95 ≤ {P95_MS:.0f}, p99 ≤ {P99_MS:.0f}; SQL: statements "
          "per request, in-process):")
    print(f"  {'request':58} {'n':>6} {'req/s':>6} {'p50':>6}  {'p95':>6}  {'p99':>6}  {'err':>4} {'SQL':>4}")
    for route in sorted(load["routes"], key=lambda r: -r["p95"]):
        sql = queries.get(f"{route['method']} {route['name']}")
        print(f"  {route['method'] + ' ' + route['name']:58} {route['requests']:6d} {route['rps']:6.2f} "
              f"{route['p50']:6.0f}  {_mark(route['p95'], P95_MS)} {_mark(route['p99'], P99_MS)} "
              f"{route['failures']:4d} {sql if sql is not None else '—':>4}")
    missed = [r for r in load["routes"] if r["p95"] > P95_MS or r["p99"] > P99_MS]
    print(f"  targets: {len(load['routes']) - len(missed)} of {len(load['routes'])} request types within "
          f"p95 ≤ {P95_MS:.0f} ms and p99 ≤ {P99_MS:.0f} ms; errors {load['failures']} (target 0)")
    for error in load["errors"][:10]:
        print(f"    error ×{error['count']}: {error['method']} {error['name']}: {error['error'][:160]}")
    fired = ", ".join(f"{k} {v}" for k, v in sorted(ryw["fired"].items()))
    print(f"  read-your-writes: {ryw['checks']} transitions checked ({fired}), {ryw['violations']} violations")
    for example in ryw["examples"][:5]:
        print(f"    {example}")
    print("  logins, at the start (not in the figures above): " + "; ".join(
        f"{r['method']} {r['name']} ×{r['requests']} p50 {r['p50']:.0f} ms, p99 {r['p99']:.0f} ms"
        for r in logins))
    if steps:
        within = [s for s in steps if s["p95"] <= P95_MS and not s["failures"]]
        best = max(within, key=lambda s: s["rps"]) if within else None
        print("  saturation (no waits): " + "; ".join(f"{s['users']} users {s['rps']:.0f}/s p95 {s['p95']:.0f} ms"
                                                      for s in steps))
        print(f"  highest rate with p95 ≤ {P95_MS:.0f} ms and no errors: "
              + (f"{best['rps']:.1f} requests/s ({best['users']} users)" if best else "none of the steps"))


def main() -> None:
    if len(sys.argv) == 4 and sys.argv[1] == "--locust-child":
        locust_child(sys.argv[2], sys.argv[3])
        return
    # a SIGTERM (a timeout, a CI job cancelled) unwinds like Ctrl-C, so the servers' process groups are ended
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=10, help="virtual users of the load phase (full: 50)")
    parser.add_argument("--duration", type=float, default=20, help="seconds of the load phase (full: 300)")
    parser.add_argument("--spawn-rate", type=float, default=5, help="users started per second")
    parser.add_argument("--steps", default="1,2,4,8", help="user counts of the saturation run, no waits")
    parser.add_argument("--step-duration", type=float, default=10, help="seconds measured per saturation step")
    parser.add_argument("--sweep-seconds", type=int, default=10,
                        help="the scheduler's deadline sweep interval (production: 60)")
    parser.add_argument("--database", choices=["sqlite", "postgres", "both"],
                        default="both" if os.environ.get("ZYZ_BENCH_POSTGRES_URL") else "sqlite",
                        help="default: sqlite, and both when ZYZ_BENCH_POSTGRES_URL is set")
    parser.add_argument("--postgres", default=os.environ.get("ZYZ_BENCH_POSTGRES_URL", DEFAULT_POSTGRES))
    parser.add_argument("--dataset", choices=["demo", "generated"], default="demo")
    parser.add_argument("--scale", type=float, default=1.0, help="--dataset generated: its size (1: 100,000 cases)")
    parser.add_argument("--seed", type=int, default=20261127)
    parser.add_argument("--scheduler-nice", type=int, default=0,
                        help="run the scheduler under nice -n N (README \"Production\": Nice=10 in its unit)")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn's worker processes (the target's: 2)")
    parser.add_argument("--notify-seconds", type=int, default=5,
                        help="the dispatcher's interval (production: 5); a long one holds the e-mails back until "
                             "after the run, as when mail leaves from another machine")
    args = parser.parse_args()
    steps = [int(n) for n in args.steps.split(",") if n.strip()]
    slots = max(args.users, *steps)
    databases = ["sqlite", "postgres"] if args.database == "both" else [args.database]
    print(f"HTTP load: gunicorn ({args.workers} workers) + zyz scheduler; {args.users} users × "
          f"{args.duration:.0f} s waiting 1–3 s, then {steps} users without waits × {args.step_duration:.0f} s; "
          f"dataset {args.dataset}; the scheduler sweeps every {args.sweep_seconds} s"
          + (f" and runs under nice -n {args.scheduler_nice}" if args.scheduler_nice else "")
          + (f"; its dispatcher runs every {args.notify_seconds} s" if args.notify_seconds != 5 else ""))
    for database in databases:
        with tempfile.TemporaryDirectory(prefix="zyz-bench-http-") as tmp:
            workdir = Path(tmp)
            url = f"sqlite:///{workdir / 'bench.db'}" if database == "sqlite" else _postgres_url(args.postgres)
            print(f"\n== {database} (load average of the machine: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores)")
            world = prepare(url, workdir, dataset=args.dataset, scale=args.scale, seed=args.seed, slots=slots)
            with servers(url, workdir, args.sweep_seconds, scheduler_nice=args.scheduler_nice,
                         notify_seconds=args.notify_seconds, workers=args.workers) as (host, groups):
                load = run_locust({"name": "load", "host": host, "groups": groups, "users": args.users,
                                   "duration": args.duration, "spawn_rate": args.spawn_rate,
                                   "access_log": str(workdir / "access.log")}, world, workdir)
                print(f"  saturation (load average {os.getloadavg()[0]:.1f}):", flush=True)
                saturation = run_locust({"name": "saturation", "host": host, "groups": groups, "steps": steps,
                                         "warmup": 3, "duration": args.step_duration}, world, workdir) if steps else {}
            queries = count_queries(url, workdir, world)
            report(database, load["load"], saturation.get("steps", []), queries, load["read_your_writes"],
                   load["logins"])
            sat_ryw = saturation.get("read_your_writes")
            if sat_ryw:
                print(f"  read-your-writes in the saturation run: {sat_ryw['checks']} checked, "
                      f"{sat_ryw['violations']} violations")
                for example in sat_ryw["examples"][:5]:
                    print(f"    {example}")


if __name__ == "__main__":
    main()
