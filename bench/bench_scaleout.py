"""Scale-out on PostgreSQL: two sites and two schedulers on one database, then the audit chain's head under
concurrent writers.

1. Two gunicorn instances (2 workers each, ports of their own) and two `zyz scheduler` processes on one
   PostgreSQL database, sharing their keys as a deployment behind a load balancer does. bench_http's virtual users
   (its user classes, imported from bench.bench_http) split evenly across the two sites: the load phase (waits of
   1–3 s) reports errors (target 0), p95 and read-your-writes; then the same users without waits, against one site
   and then against both, give the throughput of one instance next to two, measured in the same run on the same
   machine. Meanwhile --deadlines reminder rows (on cases the users do not cycle) fall due over the run, and both
   schedulers sweep every --sweep-seconds: once the run ends, each row must have fired exactly once (one
   reminder_sent or reminder_skipped audit event naming it, its status final), and the report says how many rows
   were checked and how the two schedulers shared them (SELECT ... FOR UPDATE SKIP LOCKED in workflow.core.sweep).
2. The audit chain's head: 1, 2 and 4 writer processes, each firing transitions (return for revision, resubmit,
   as the engine does for a person: the head locked first, workflow.core.audit.lock_head) as fast as it can for
   --writer-seconds. Per writer count: transactions/s, p50/p95 of a transaction (with its commit), and the lock
   wait share (the time spent waiting for the head's SELECT ... FOR UPDATE over the time in transactions). The
   ceiling is then set against a province's peak write rate, estimated from the generated dataset's city (one
   large city, 15 counties: 1,000,000 audit events over ten years) scaled to 11 cities (~120 counties).

    .venv/bin/python bench/bench_scaleout.py [--postgres URL] [--users 10] [--duration 15]
        [--throughput-users 4] [--deadlines 300] [--sweep-seconds 3] [--writer-seconds 10] [--writers 1,2,4]

PostgreSQL only: --postgres or ZYZ_BENCH_POSTGRES_URL names the server; the database used is zyz_bench_scaleout on
it (created if missing; its public schema is dropped). Without either, or with the server unreachable, the script
says so and exits 0. Every gunicorn, scheduler and writer process it starts runs in a process group of its own,
ended when the script ends.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from contextlib import ExitStack
from datetime import timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.bench_http import (  # noqa: E402 - after the path is set
    _end_group,
    _group_cpu,
    _postgres_url,
    prepare,
    run_locust,
    server_environment,
    servers,
)

DATABASE = "zyz_bench_scaleout"
# The province estimate: the generated dataset is one large city (15 counties) over ten years.
CITY_EVENTS_PER_YEAR = 1_000_000 / 10
CITIES = 11
WORKING_HOURS_PER_YEAR = 250 * 8
PEAK_FACTOR = 20  # the busiest hour (a deadline day, a campaign's last afternoon) over the working-hours average
REMINDER_KINDS = ("reminder_sent", "reminder_skipped")


# ---------------------------------------------------------------------------------------------------------------
# 1. Two sites, two schedulers


def add_deadlines(url: str, world: dict[str, Any], count: int, start_in: float, spread: float) -> list[int]:
    """`count` reminder rows on cases the users leave alone, due from `start_in` s from now over `spread` s; each
    under a name of its own, so that none supersedes another (workflow.core.sweep._too_late)."""
    import sqlalchemy as sa

    from webapp.database import Clock
    from workflow.core.db import make_engine, make_session_factory, transaction
    from workflow.core.models import Deadline

    engine = make_engine(url)
    rng = random.Random(count)
    cycled = set(world["all_cycle"])
    now = Clock.real()
    ids: list[int] = []
    with transaction(make_session_factory(engine)) as s:
        cases = [row for row in s.connection().execute(sa.text("SELECT id, state FROM case_file ORDER BY id"))
                 if row[0] not in cycled]
        rows = []
        for i in range(count):
            case_id, state = cases[i % len(cases)]
            due = now + timedelta(seconds=start_in + rng.uniform(0, spread))
            rows.append(Deadline(case_id=case_id, state=state, name=f"bench_{i}", kind="reminder", offset_days=1,
                                 due_date=due.date().isoformat(), due_at=due, created_at=now))
        s.add_all(rows)
        s.flush()
        ids = [row.id for row in rows if row.id is not None]
    engine.dispose()
    return ids


def wait_swept(url: str, ids: list[int], timeout: float) -> int:
    """Wait until none of `ids` is open or claimed any more (at most `timeout` s); returns how many still are."""
    import sqlalchemy as sa

    engine = make_engine_of(url)
    left = len(ids)
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            with engine.connect() as conn:
                left = conn.execute(sa.text("SELECT count(*) FROM deadline WHERE id = ANY(:ids) AND status IN "
                                            "('open', 'claimed')"), {"ids": ids}).scalar_one()
            if not left:
                break
            time.sleep(1)
    finally:
        engine.dispose()
    return int(left)


def make_engine_of(url: str) -> Any:
    from workflow.core.db import make_engine

    return make_engine(url)


def check_deadlines(url: str, ids: list[int]) -> dict[str, Any]:
    """Each row's audit events (reminder_sent/reminder_skipped naming it) and status, and who claimed it."""
    import sqlalchemy as sa

    engine = make_engine_of(url)
    with engine.connect() as conn:
        events = Counter({row[0]: row[1] for row in conn.execute(sa.text(
            "SELECT CAST(data::jsonb ->> 'deadline_id' AS integer), count(*) FROM audit_event "
            "WHERE kind = ANY(:kinds) AND CAST(data::jsonb ->> 'deadline_id' AS integer) = ANY(:ids) "
            "GROUP BY 1"), {"kinds": list(REMINDER_KINDS), "ids": ids})})
        rows = list(conn.execute(sa.text("SELECT id, status, claimed_by FROM deadline WHERE id = ANY(:ids)"),
                                 {"ids": ids}))
    engine.dispose()
    statuses = Counter(row[1] for row in rows)
    by_worker = Counter((row[2] or "").rsplit(":", 1)[-1] for row in rows if row[2])
    return {"checked": len(ids), "once": sum(1 for i in ids if events[i] == 1),
            "twice_or_more": sorted(i for i in ids if events[i] > 1),
            "never": sorted(i for i in ids if events[i] == 0), "statuses": dict(statuses),
            "by_scheduler_pid": dict(by_worker)}


def run_sites(url: str, workdir: Path, world: dict[str, Any], args: argparse.Namespace) -> bool:
    env = server_environment(url, workdir, args.sweep_seconds)
    with ExitStack() as stack:
        host_a, groups_a = stack.enter_context(servers(url, workdir, args.sweep_seconds, env=env, tag=" A"))
        host_b, groups_b = stack.enter_context(servers(url, workdir, args.sweep_seconds, env=env, tag=" B"))
        hosts = [host_a, host_b]
        # due over the load phase and the throughput runs that follow it (logins included)
        spread = args.duration + 2 * args.duration + args.users / 5 + 10
        ids = add_deadlines(url, world, args.deadlines, 5, spread)
        print(f"  {len(ids)} reminder rows due over the next {spread + 5:.0f} s; both schedulers sweep every "
              f"{args.sweep_seconds} s", flush=True)
        load = run_locust({"name": "load", "host": host_a, "hosts": hosts, "groups": [], "users": args.users,
                           "duration": args.duration, "spawn_rate": 5}, world, workdir)
        rates = {}
        web = [groups_a[0], groups_b[0]]
        for label, sites in (("one instance", [host_a]), ("two instances", hosts)):
            cpu = sum(_group_cpu(g) for g in web)
            result = run_locust({"name": "saturation", "host": host_a, "hosts": sites, "groups": [],
                                 "steps": [args.throughput_users], "warmup": 3, "duration": args.duration},
                                world, workdir)
            step = result["steps"][0] if result.get("steps") else None
            if step:  # both instances' workers, over the whole run (its warm-up and logins included)
                step["web_cpu_s"] = sum(_group_cpu(g) for g in web) - cpu
            rates[label] = step
            rates[label + " ryw"] = result["read_your_writes"]
        left = wait_swept(url, ids, timeout=max(30, 4 * args.sweep_seconds))
        pids = {str(groups_a[1]): "scheduler A", str(groups_b[1]): "scheduler B"}
    checked = check_deadlines(url, ids)
    ok = report_sites(load, rates, checked, left, pids, args)
    return ok


def report_sites(load: dict[str, Any], rates: dict[str, Any], checked: dict[str, Any], left: int,
                 pids: dict[str, str], args: argparse.Namespace) -> bool:
    figures, ryw = load["load"], load["read_your_writes"]
    print(f"\n  load split across two instances ({args.users} users waiting 1–3 s): {figures['requests']:,} requests "
          f"in {figures['seconds']:.0f} s, {figures['rps']:.1f} requests/s, {figures['failures']} errors "
          f"(target 0); p50 {figures['p50']:.0f} ms, p95 {figures['p95']:.0f} ms, p99 {figures['p99']:.0f} ms")
    for error in figures["errors"][:10]:
        print(f"    error ×{error['count']}: {error['method']} {error['name']}: {error['error'][:160]}")
    violations = ryw["violations"]
    print(f"  read-your-writes across the two instances: {ryw['checks']} transitions checked, {violations} "
          "violations")
    for example in ryw["examples"][:5]:
        print(f"    {example}")
    errors = figures["failures"]
    print(f"  throughput, {args.throughput_users} users without waits, {args.duration:.0f} s each, same run:")
    for label in ("one instance", "two instances"):
        step = rates[label]
        if step is None:
            print(f"    {label}: no figures")
            continue
        errors += step["failures"]
        violations += rates[label + " ryw"]["violations"]
        print(f"    {label:14}: {step['rps']:6.1f} requests/s, p50 {step['p50']:.0f} ms, p95 {step['p95']:.0f} ms, "
              f"{step['failures']} errors; the instances' workers used {step['web_cpu_s']:.1f} CPU s")
    one, two = rates["one instance"], rates["two instances"]
    if one and two and one["rps"]:
        print(f"    two instances / one: {two['rps'] / one['rps']:.2f}× (on {os.cpu_count()} cores shared by both "
              "instances, the schedulers, PostgreSQL and Locust: the ratio shows the database is not the limit "
              "only where the cores are not)")
    shared = ", ".join(f"{pids.get(pid, 'pid ' + pid)} {n}" for pid, n in sorted(checked["by_scheduler_pid"].items()))
    print(f"  deadlines: {checked['checked']} reminder rows checked; fired exactly once: {checked['once']}; twice or "
          f"more: {len(checked['twice_or_more'])}; never: {len(checked['never'])}; still open or claimed: {left}; "
          f"statuses {checked['statuses']}; claimed by: {shared}")
    if checked["twice_or_more"]:
        print(f"    fired more than once: {checked['twice_or_more'][:20]}")
    ok = (errors == 0 and violations == 0 and not checked["twice_or_more"] and not checked["never"]
          and not left)
    print(f"  scale-out check: {'passed' if ok else 'FAILED'} (errors {errors}, read-your-writes violations "
          f"{violations}, deadlines fired twice {len(checked['twice_or_more'])}, never {len(checked['never'])})")
    return ok


# ---------------------------------------------------------------------------------------------------------------
# 2. Writers on the audit chain's head


def writer_child(config_path: str, result_path: str) -> None:
    """One writer: transitions on its own cases, back and forth, as fast as it can until the common end."""
    import sqlalchemy as sa
    from sqlmodel import select

    from webapp.database import Clock
    from workflow import processes
    from workflow.accounts.auth import actor_for
    from workflow.core import audit
    from workflow.core.db import make_engine, make_session_factory, transaction
    from workflow.core.engine import fire
    from workflow.core.models import User

    processes.load()
    config = json.loads(Path(config_path).read_text(encoding="utf-8"))
    engine = make_engine(config["url"])
    sessions = make_session_factory(engine)
    with transaction(sessions) as s:
        actors = {role: actor_for(s, s.exec(select(User).where(User.username == name)).one())
                  for role, name in (("county", config["county"]), ("office", config["office"]))}
        rows = s.connection().execute(sa.text("SELECT id, state FROM case_file WHERE id = ANY(:ids)"),
                                      {"ids": config["cases"]}).all()
        states: dict[int, str] = {row[0]: row[1] for row in rows}
    latencies: list[float] = []
    waits: list[float] = []
    cases = config["cases"]
    i = 0
    while time.time() < config["start"]:
        time.sleep(0.01)
    while time.time() < config["end"]:
        cid = cases[i % len(cases)]
        i += 1
        submitted = states[cid] == "submitted"
        began = time.perf_counter()
        with transaction(sessions) as s:
            audit.lock_head(s)  # what fire() takes first; timed on its own
            locked = time.perf_counter()
            case = fire(session=s, case_id=cid, trigger="return_for_revision" if submitted else "resubmit",
                        actor=actors["office" if submitted else "county"], now=Clock.real(),
                        comment="请补充产值统计证明材料" if submitted else None)
            states[cid] = case.state
        latencies.append(time.perf_counter() - began)
        waits.append(locked - began)
    engine.dispose()
    Path(result_path).write_text(json.dumps({"latencies": latencies, "waits": waits}), encoding="utf-8")


def run_writers(url: str, workdir: Path, world: dict[str, Any], counts: list[int], seconds: float) -> list[dict]:
    import sqlalchemy as sa

    pool = world["pools"]["api"]
    results = []
    for count in counts:
        started: list[subprocess.Popen[bytes]] = []
        engine = make_engine_of(url)
        with engine.connect() as conn:
            before = conn.execute(sa.text("SELECT count(*) FROM audit_event")).scalar_one()
        start = time.time() + 4  # the writers import and connect first, then start together
        paths = []
        try:
            for n in range(count):
                slot = pool[n]
                config, result = workdir / f"writer-{count}-{n}.json", workdir / f"writer-{count}-{n}-result.json"
                config.write_text(json.dumps({"url": url, "cases": slot["cases"], "county": slot["county"],
                                              "office": world["office"], "start": start,
                                              "end": start + seconds}), encoding="utf-8")
                paths.append(result)
                started.append(subprocess.Popen(
                    [sys.executable, str(Path(__file__).resolve()), "--writer-child", str(config), str(result)],
                    cwd=ROOT, start_new_session=True))
            for process in started:
                process.wait(timeout=seconds + 120)
        finally:
            for process in started:
                _end_group(process)
        with engine.connect() as conn:
            events = conn.execute(sa.text("SELECT count(*) FROM audit_event")).scalar_one() - before
        engine.dispose()
        latencies: list[float] = []
        waits: list[float] = []
        for path in paths:
            data = json.loads(path.read_text(encoding="utf-8"))
            latencies += data["latencies"]
            waits += data["waits"]
        ordered = sorted(latencies)
        total = len(ordered)
        figure = {"writers": count, "transactions": total, "tps": total / seconds,
                  "p50": 1000 * ordered[total // 2] if total else 0.0,
                  "p95": 1000 * ordered[min(total - 1, int(total * 0.95))] if total else 0.0,
                  "wait_share": sum(waits) / sum(latencies) if latencies else 0.0,
                  "events_per_transaction": events / total if total else 0.0}
        results.append(figure)
        print(f"    {count} writer{'s' if count > 1 else ' '}: {figure['tps']:6.1f} transactions/s, "
              f"p50 {figure['p50']:.1f} ms, p95 {figure['p95']:.1f} ms, lock wait {100 * figure['wait_share']:.0f} % "
              f"of the time in transactions, {figure['events_per_transaction']:.1f} audit events per transaction "
              f"(load average {os.getloadavg()[0]:.1f})", flush=True)
    return results


def report_writers(results: list[dict]) -> None:
    if not results:
        return
    best = max(results, key=lambda r: r["tps"])
    per_tx = best["events_per_transaction"] or 1.0
    ceiling_events = best["tps"] * per_tx
    average = CITY_EVENTS_PER_YEAR / (WORKING_HOURS_PER_YEAR * 3600)
    city_peak = average * PEAK_FACTOR
    province_peak = city_peak * CITIES
    writers = f"{best['writers']} writer{'s' if best['writers'] > 1 else ''}"
    print(f"  the head's ceiling on this machine: {best['tps']:.0f} transactions/s ({writers}), "
          f"≈ {ceiling_events:.0f} audit events/s")
    print(f"  province estimate: the city's {CITY_EVENTS_PER_YEAR:,.0f} events a year over "
          f"{WORKING_HOURS_PER_YEAR:,} working hours is {average:.3f} events/s; its busiest hour at "
          f"{PEAK_FACTOR}× that {city_peak:.2f}/s; {CITIES} cities (~120 counties) {province_peak:.1f} events/s "
          f"at peak, {100 * province_peak / ceiling_events:.1f} % of the ceiling "
          f"({ceiling_events / province_peak:.0f}× headroom)")
    verdict = ("does not limit a province-wide deployment" if ceiling_events >= 10 * province_peak
               else "would limit a province-wide deployment: shard the chain (one per city)")
    print(f"  the single audit head {verdict}")


# ---------------------------------------------------------------------------------------------------------------


def _scaleout_url(server: str) -> str | None:
    """The benchmark's database on the server named by `server` (created when missing), or None when the server
    does not answer."""
    import sqlalchemy as sa

    url = sa.engine.make_url(server).set(database=DATABASE).render_as_string(hide_password=False)
    try:
        return _postgres_url(url)
    except sa.exc.OperationalError as exc:
        print(f"  PostgreSQL: not run ({server.split('@')[-1]} unreachable: {str(exc.orig).strip()[:200]})")
        return None


def main() -> None:
    if len(sys.argv) == 4 and sys.argv[1] == "--writer-child":
        writer_child(sys.argv[2], sys.argv[3])
        return
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # unwinds like Ctrl-C: the process groups are ended
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--postgres", default=os.environ.get("ZYZ_BENCH_POSTGRES_URL"),
                        help="the PostgreSQL server (its database zyz_bench_scaleout is used)")
    parser.add_argument("--users", type=int, default=10, help="virtual users of the load phase, waiting 1–3 s")
    parser.add_argument("--duration", type=float, default=15, help="seconds of each load and throughput phase")
    parser.add_argument("--throughput-users", type=int, default=4, help="users without waits, for throughput")
    parser.add_argument("--deadlines", type=int, default=300, help="reminder rows falling due during the run")
    parser.add_argument("--sweep-seconds", type=int, default=3, help="both schedulers' sweep interval")
    parser.add_argument("--writer-seconds", type=float, default=10, help="seconds per writer count")
    parser.add_argument("--writers", default="1,2,4", help="writer counts on the audit head")
    parser.add_argument("--seed", type=int, default=20261127)
    args = parser.parse_args()
    print("Scale-out on PostgreSQL: two instances and two schedulers on one database; writers on the audit head")
    if not args.postgres:
        print("  PostgreSQL: not run (give --postgres URL or ZYZ_BENCH_POSTGRES_URL)")
        return
    url = _scaleout_url(args.postgres)
    if url is None:
        return
    counts = [int(n) for n in args.writers.split(",") if n.strip()]
    slots = max(args.users, args.throughput_users, *counts)
    with tempfile.TemporaryDirectory(prefix="zyz-bench-scaleout-") as tmp:
        workdir = Path(tmp)
        print(f"\n== two instances (load average of the machine: {os.getloadavg()[0]:.1f} on {os.cpu_count()} "
              "cores)")
        world = prepare(url, workdir, dataset="demo", scale=1.0, seed=args.seed, slots=slots)
        ok = run_sites(url, workdir, world, args)
        print(f"\n== the audit head: {counts} writers × {args.writer_seconds:.0f} s, each firing transitions on "
              "cases of its own")
        report_writers(run_writers(url, workdir, world, counts, args.writer_seconds))
    if not ok:
        sys.exit(1)


if __name__ == "__main__":
    main()
