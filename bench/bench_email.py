"""How fast the dispatcher empties the outbox: 10,000 queued e-mails to a loopback SMTP server (target < 60 s).

The e-mails are deadline reminders as the rules queue them (one case, 100 county users, 10,000 outbox rows
with distinct causes). The SMTP server is aiosmtpd in a separate process (so that it does not compete with
the dispatcher for the GIL); it counts the messages and their distinct Message-IDs. The dispatcher runs as
in production: one SMTP connection per batch, each message rendered from its templates (subject, plain text,
HTML), committed as `sending` before it is handed over and as `sent` (with its audit event) after, on
SQLite in WAL mode with synchronous=FULL, or on PostgreSQL with --database.

    .venv/bin/python bench/bench_email.py [--emails 10000] [--batch 100] [--connections 4] [--database URL]
                                          [--profile]
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import pstats
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import fresh_engine
from notifications.dispatcher import dispatch
from notifications.settings import NotifySettings, SmsSettings, SmtpSettings
from workflow import processes
from workflow.accounts.auth import create_user
from workflow.core import audit
from workflow.core.actors import Actor
from workflow.core.db import make_engine, make_session_factory, transaction
from workflow.core.engine import create_case
from workflow.core.models import AuditEvent, OutboxMessage, Unit
from workflow.towns.services import create_town

processes.load()

TARGET_SECONDS = 60.0
START = datetime(2026, 11, 27, 1, 0, tzinfo=UTC)  # Friday 09:00 in Yangquan: reminders go out
SENDER = "阳泉市专业镇办公室 <noreply@zyz.yq.gov.cn>"
MESSAGE_ID = re.compile(rb"^Message-ID:\s*(\S+)", re.IGNORECASE | re.MULTILINE)


def serve_sink(port: int) -> None:
    """The SMTP server process: count messages and distinct Message-IDs until SIGTERM, then print them."""
    from aiosmtpd.controller import Controller

    ids: set[bytes] = set()

    class Sink:
        count = 0

        async def handle_DATA(self, server, session, envelope):  # type: ignore[no-untyped-def]
            Sink.count += 1
            found = MESSAGE_ID.search(envelope.original_content.split(b"\r\n\r\n", 1)[0])
            ids.add(found.group(1) if found else b"")
            return "250 2.0.0 OK"

    controller = Controller(Sink(), hostname="127.0.0.1", port=port)
    controller.start()
    print("ready", flush=True)
    signal.sigwait({signal.SIGTERM})
    controller.stop()
    print(json.dumps({"messages": Sink.count, "distinct_message_ids": len(ids)}), flush=True)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def setup(url: str, emails: int) -> None:
    """One rectification order and `emails` reminder rows for 100 county users, all due now."""
    engine = fresh_engine(url)
    sessions = make_session_factory(engine)
    with transaction(sessions) as s:
        county = Unit(name="盂县", kind="county", created_at=START)
        office = Unit(name="市工信局", kind="office", created_at=START)
        s.add_all([county, office])
        s.flush()
        users = [create_user(s, username=f"county{i}", display_name=f"盂县经办人{i}", role="county",
                             unit_id=county.id, password="Bench-pass-2026", now=START, email=f"county{i}@yx.gov.cn")
                 for i in range(100)]
        office_user = create_user(s, username="office1", display_name="市工信局经办人", role="office",
                                  unit_id=office.id, password="Bench-pass-2026", now=START)
        actor = Actor.of(office_user, office)
        town = create_town(session=s, actor=Actor.system(), name="娘子关镇", county_id=county.id, now=START)
        case = create_case(session=s, definition_key="rectification", actor=actor, now=START, town_id=town.id,
                           data={"problem": "检验检测公共服务平台未建成", "due_date": "2026-12-31"})
        s.connection().execute(OutboxMessage.__table__.delete())  # the order's own announcement: not measured
        params = {"number": case.number, "title": case.title, "deadline": "整改期限",
                  "deadline_en": "Rectification deadline", "due_date": "2026-12-31", "days_before": 3,
                  "is_estimated": False, "state": "整改中", "state_en": "Rectifying"}
        rows = [{"idempotency_key": f"deadline:{i}:u{users[i % 100].id}:email", "source": f"deadline:{i}",
                 "rule": "rectify_reminder", "template": "deadline_reminder", "category": "deadline",
                 "channel": "email", "user_id": users[i % 100].id, "case_id": case.id, "params": params,
                 "status": "queued", "attempts": 0, "retries": 0, "next_attempt_at": START, "created_at": START}
                for i in range(emails)]
        s.connection().execute(OutboxMessage.__table__.insert(), rows)
    engine.dispose()


def run(url: str, emails: int, batch: int, connections: int, profile: bool) -> int:
    setup(url, emails)
    port = free_port()
    sink = subprocess.Popen([sys.executable, __file__, "--serve-sink", str(port)], stdout=subprocess.PIPE, text=True)
    try:
        assert sink.stdout is not None and sink.stdout.readline().strip() == "ready"
        engine = make_engine(url)
        sessions = make_session_factory(engine)
        settings = NotifySettings(smtp=SmtpSettings(host="127.0.0.1", port=port, security="none", sender=SENDER),
                                  sms=SmsSettings(provider="console"), base_url="https://zyz.yq.gov.cn",
                                  batch=batch, connections=connections)
        profiler = cProfile.Profile() if profile else None
        started = time.perf_counter()
        cpu = time.process_time()
        if profiler:
            profiler.enable()
        result = dispatch(sessions, now=START + timedelta(seconds=1), settings=settings)
        if profiler:
            profiler.disable()
        elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    finally:
        sink.send_signal(signal.SIGTERM)
        out, _ = sink.communicate(timeout=60)
    received = json.loads(out.strip().splitlines()[-1])
    with transaction(sessions) as s:
        conn = s.connection()
        statuses = dict(conn.execute(sa.select(OutboxMessage.__table__.c.status, sa.func.count())
                                     .group_by(OutboxMessage.__table__.c.status)).all())
        events = conn.execute(sa.select(sa.func.count()).select_from(AuditEvent.__table__).where(
            AuditEvent.__table__.c.kind == "notification_sent")).scalar_one()
        chain = audit.verify(s)
    engine.dispose()

    rate = emails / elapsed
    print(f"database: {engine.dialect.name}{' (WAL, synchronous=FULL)' if engine.dialect.name == 'sqlite' else ''}; "
          f"{connections} SMTP connections, batches of {batch}")
    print(f"{emails:,} queued e-mails delivered in {elapsed:.1f} s ({rate:,.0f}/s; dispatcher CPU {cpu:.1f} s, "
          f"{cpu / emails * 1000:.2f} ms per message)")
    print(f"target: under {TARGET_SECONDS:.0f} s; took {elapsed / TARGET_SECONDS:.0%} of it "
          f"({TARGET_SECONDS / elapsed:.1f}x faster than required)")
    print(f"received {received['messages']:,} messages with {received['distinct_message_ids']:,} distinct "
          f"Message-IDs; rows {statuses}; {events:,} notification_sent events; audit chain "
          f"{'intact' if chain.ok else 'BROKEN'}")
    if profiler:
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(45)
    ok = (result.sent == emails and received == {"messages": emails, "distinct_message_ids": emails}
          and statuses == {"sent": emails} and events == emails and chain.ok and elapsed < TARGET_SECONDS)
    print("OK" if ok else "FAILED")
    return 0 if ok else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--emails", type=int, default=10_000)
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--connections", type=int, default=NotifySettings.connections)
    parser.add_argument("--database", help="a PostgreSQL URL (its schema public is dropped and recreated)")
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--serve-sink", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_sink:
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM})
        serve_sink(args.serve_sink)
        return 0
    if args.database:
        return run(args.database, args.emails, args.batch, args.connections, args.profile)
    with tempfile.TemporaryDirectory() as folder:
        return run(f"sqlite:///{os.path.join(folder, 'bench.db')}", args.emails, args.batch, args.connections,
                   args.profile)


if __name__ == "__main__":
    sys.exit(main())
