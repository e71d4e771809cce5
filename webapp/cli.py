"""The `zyz` command: init, demo, serve, definitions, audit, keys, units, users."""

from __future__ import annotations

import sys
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO, Any, NoReturn

import click
import sqlalchemy as sa
from apscheduler.schedulers.base import BaseScheduler
from flask import Flask, current_app
from flask.cli import FlaskGroup, with_appcontext
from sqlalchemy.orm import sessionmaker
from sqlmodel import Session

from webapp.config import CLOCK_ENVS, LOOPBACK_HOSTS, demo_data_key, demo_database, key_weakness
from webapp.database import Clock, clock, forget_clock, utcnow
from workflow import processes
from workflow.core import audit, datakeys, keyrotation
from workflow.core.catalog import CATALOG
from workflow.core.db import make_engine, make_session_factory, migrate, schema_problem, transaction
from workflow.core.definitions import DefinitionError, load_file
from workflow.core.errors import WorkflowError


def _create_app(*_args: Any, **_kwargs: Any) -> Flask:
    from webapp import create_app

    return create_app()


@click.group(cls=FlaskGroup, create_app=_create_app, add_default_commands=False, add_version_option=False)
def main() -> None:
    """zyz — 阳泉市专业镇案件管理系统 (Yangquan professional towns case system)."""
    processes.load()


def _sessions() -> sessionmaker[Session]:
    """The sessions of a database that is ready to work on (else a one-line error, exit 2)."""
    _ready(current_app)
    return current_app.extensions["zyz"]["sessions"]


NOT_INITIALISED = ("数据库尚未初始化：请先运行 zyz demo 或 zyz init",
                   "database not initialised: run zyz demo or zyz init first")
NOT_READY = {
    "missing": NOT_INITIALISED,
    "uninitialised": NOT_INITIALISED,
    "outdated": ("数据库结构不是最新：请运行 zyz init（演示数据库：重新运行 zyz demo）",
                 "the database schema is out of date: run zyz init (the demo database: run zyz demo again)"),
}


def _ready(app: Flask) -> None:
    """Refuse, in one line, a database without the schema: a missing SQLite file is not created, a traceback
    never shown."""
    state = app.extensions["zyz"]
    if state.get("ready"):
        return
    where = state["engine"].url.render_as_string(hide_password=True)
    try:
        problem = schema_problem(state["engine"])
    except sa.exc.OperationalError as exc:
        reason = str(exc.orig or exc).strip().splitlines()[0]
        _refuse("无法连接数据库", f"cannot connect to the database ({where}): {reason}")
    if problem:
        zh, en = NOT_READY[problem]
        _refuse(zh, f"{en} ({where})")
    state["ready"] = True


def _refuse(zh: str, en: str) -> NoReturn:
    """A refusal of the command line itself (its environment or arguments): one line, exit 2."""
    click.echo(f"error: {zh} / {en}", err=True)
    sys.exit(2)


def _loopback_unless_secret(host: str, secret_key: str) -> None:
    """With the default (development) secret key, or another guessable one, anyone could sign a session cookie:
    such a server listens on this computer only."""
    if key_weakness(secret_key) and host.strip().lower() not in LOOPBACK_HOSTS:
        _refuse(f"使用默认（开发）密钥时只能监听本机地址（127.0.0.1、::1、localhost），不能监听 {host}："
                "请先将 ZYZ_SECRET_KEY 设为随机值",
                f"with the default (development) secret key the server listens on this computer only "
                f"(127.0.0.1, ::1, localhost), not on {host}: set ZYZ_SECRET_KEY to a random value first")


def _fail(exc: WorkflowError) -> None:
    click.echo(f"error: {exc.zh} / {exc.en}", err=True)
    for item in exc.details or []:
        if isinstance(item, dict):
            click.echo(f"  - {item.get('field') or ''}: {item.get('zh')} / {item.get('en')}", err=True)
    sys.exit(1)


@main.command("init")
@click.option("--profile", "profile_path", type=click.Path(dir_okay=False, path_type=Path),
              help="The city profile this database is for (default: the one it was set up with, else "
                   "definitions/profile.yaml).")
@with_appcontext
def init_command(profile_path: Path | None) -> None:
    """Create or migrate the database, store the definitions and the city profile, add missing reference units."""
    from workflow.core import profile as city_profile
    from workflow.designation import eligibility
    from workflow.seed import ensure_reference_units

    chosen = None
    if profile_path is not None:
        try:
            chosen = city_profile.load_profile(profile_path)
            eligibility.table_for(chosen)  # its thresholds are the eligibility table's
        except (city_profile.ProfileError, eligibility.EligibilityError) as exc:
            for line in exc.errors:
                click.echo(f"error: {line}", err=True)
            sys.exit(2)
    migrate(current_app.extensions["zyz"]["engine"])
    with transaction(_sessions()) as s:
        CATALOG.sync(s, utcnow())
        if chosen is not None:
            city_profile.store(s, chosen, utcnow())
            city_profile.use_profile(chosen)
        added = ensure_reference_units(s, utcnow())
    wanted = current_app.config.get("AUDIT_HASH")
    try:
        with transaction(_sessions()) as s:
            if wanted and audit.switch_algorithm(s, to=wanted, now=utcnow()):
                click.echo(f"the audit trail's events are hashed with {wanted} from now on (switch recorded)")
            hashed = audit.chain_algorithm(s)
    except WorkflowError as exc:
        _fail(exc)
    click.echo(f"database ready ({current_app.config['DATABASE_URL'].split('@')[-1]}); "
               f"city {city_profile.profile().city}; {added} units added; audit hash {hashed}")


@main.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@with_appcontext
def serve_command(host: str, port: int) -> None:
    """Serve the application (development and small sites; use gunicorn in production)."""
    from werkzeug.serving import run_simple

    _loopback_unless_secret(host, current_app.config["SECRET_KEY"])
    run_simple(host, port, current_app._get_current_object(), threaded=True)  # type: ignore[attr-defined]  # werkzeug's LocalProxy hides the real object's type


@main.group("demo", invoke_without_command=True)
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@click.option("--no-serve", is_flag=True, help="Build the demo database and stop.")
@with_appcontext
def demo_group(host: str, port: int, no_serve: bool) -> None:
    """A fresh demo database under instance/, one login per role, then serve on http://HOST:PORT.

    `zyz demo clock` moves the demo's time (with ZYZ_ENV=demo, on this database)."""
    if click.get_current_context().invoked_subcommand is not None:
        return
    if not no_serve:
        _loopback_unless_secret(host, current_app.config["SECRET_KEY"])
    from webapp import create_app
    from workflow.seed import build_demo

    instance = Path(current_app.instance_path)
    instance.mkdir(parents=True, exist_ok=True)
    url, anchors_dir = demo_database(str(instance))
    path = Path(sa.engine.make_url(url).database or "")
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    # A new demo trail gets new anchors, kept apart from those of a real database in the same instance.
    anchors = Path(anchors_dir)
    (anchors / audit.ANCHOR_FILE).unlink(missing_ok=True)
    # The demo's contact details are encrypted at rest like a real deployment's: under ZYZ_DATA_KEY when it is set,
    # else under a key of the demo's own kept beside its database.
    data_key = current_app.config.get("DATA_KEY") or demo_data_key(str(instance), create=True)
    datakeys.configure(data_key, current_app.config.get("DATA_KEYS_PREVIOUS"))
    engine = make_engine(url)
    migrate(engine)
    built_at = Clock.real()  # a new database: its demo clock is not set
    with transaction(make_session_factory(engine)) as s:
        if current_app.config.get("AUDIT_HASH"):  # ZYZ_AUDIT_HASH=sm3 make demo: the demo's trail in SM3
            audit.switch_algorithm(s, to=current_app.config["AUDIT_HASH"], now=built_at)
        CATALOG.sync(s, built_at)
        logins = build_demo(s, built_at)
    engine.dispose()
    click.echo(f"demo database: {path}")
    click.echo("demo logins (role, username, password):")
    for role, username, password in logins:
        click.echo(f"  {role:8} {username:12} {password}")
    if no_serve:
        return
    app = create_app({"DATABASE_URL": url, "ZYZ_ENV": "demo", "ANCHOR_DIR": str(anchors), "DATA_KEY": data_key})
    from werkzeug.serving import run_simple

    scheduler = _scheduler(app, background=True)
    scheduler.start()
    click.echo(f"scheduler running in this process; serving on http://{host}:{port}")
    try:
        run_simple(host, port, app, threaded=True)
    finally:
        scheduler.shutdown(wait=False)


@demo_group.group("clock")
def demo_clock_group() -> None:
    """The demo clock (ZYZ_ENV demo or test only): the time the pages, the rules, the sweep and the dispatcher see.

    It is stored in the database, so the web server, the scheduler and every zyz command share it. Times are
    Beijing time unless they carry an offset."""


def _clock_allowed(what: str) -> None:
    if current_app.config["ZYZ_ENV"] not in CLOCK_ENVS:
        _refuse(f"{what} 只在 ZYZ_ENV 为 demo 或 test 时可用（当前：{current_app.config['ZYZ_ENV']}）",
                f"{what} is only allowed when ZYZ_ENV is demo or test (now: {current_app.config['ZYZ_ENV']})")


def _moment(text: str) -> datetime:
    """An ISO time given on the command line, Beijing time unless it carries an offset, in UTC."""
    from workflow.core.calendar import LOCAL_TZ

    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        _refuse(f"不是 ISO 格式的时间：{text}", f"not an ISO time: {text} (e.g. 2027-03-01T09:00)")
    return (moment.replace(tzinfo=LOCAL_TZ) if moment.tzinfo is None else moment).astimezone(UTC)


def _set_clock(*, to: datetime | None = None, by: timedelta | None = None) -> datetime:
    """Set the demo clock to the moment `to`, or move it by `by`, or (neither) back to the real time."""
    from workflow.core import democlock
    from workflow.core.actors import Actor
    from workflow.core.models import Role

    sessions = _sessions()
    found = clock()
    real = found.real()
    offset = to - real if to is not None else found.offset() + by if by is not None else timedelta(0)
    actor = Actor(user_id=None, name="zyz demo clock", role=Role.system.value, unit_id=None, unit_name=None)
    with transaction(sessions) as s:
        now = democlock.set_offset(s, offset=offset, real_now=real, actor=actor)
    forget_clock()
    return now


def _show_clock(now: datetime, offset: timedelta) -> None:
    from workflow.core.calendar import shown_time

    if not offset:
        click.echo(f"demo clock: not set, the real time {shown_time(now, '%Y-%m-%d %H:%M:%S')} (Beijing time)")
        return
    seconds = int(abs(offset.total_seconds()))
    days, rest = divmod(seconds, 86400)
    click.echo(f"demo clock: {shown_time(now, '%Y-%m-%d %H:%M:%S')} (Beijing time), {days} days "
               f"{rest // 3600:02}:{rest % 3600 // 60:02} {'ahead of' if offset > timedelta(0) else 'behind'} "
               "the real time")


@demo_clock_group.command("show")
@with_appcontext
def demo_clock_show() -> None:
    """Print the demo clock's time and how far it stands from the real time."""
    _clock_allowed("zyz demo clock")
    _ready(current_app)
    found = clock()
    offset = found.offset()
    _show_clock(found.real() + offset, offset)


@demo_clock_group.command("set")
@click.argument("moment")
@with_appcontext
def demo_clock_set(moment: str) -> None:
    """Set the demo clock to MOMENT (ISO, e.g. 2027-03-01T09:00, Beijing time); it runs on from there."""
    _clock_allowed("zyz demo clock")
    now = _set_clock(to=_moment(moment))
    _show_clock(now, clock().offset())


@demo_clock_group.command("advance")
@click.option("--days", type=click.IntRange(min=0), default=0, help="Calendar days to move ahead.")
@click.option("--hours", type=click.IntRange(min=0), default=0, help="Hours to move ahead.")
@with_appcontext
def demo_clock_advance(days: int, hours: int) -> None:
    """Move the demo clock ahead by --days and --hours (calendar days; weekends and holidays count)."""
    _clock_allowed("zyz demo clock")
    if not days and not hours:
        _refuse("请给出 --days 或 --hours", "give --days or --hours (to go back, use set or reset)")
    now = _set_clock(by=timedelta(days=days, hours=hours))
    _show_clock(now, clock().offset())


@demo_clock_group.command("reset")
@with_appcontext
def demo_clock_reset() -> None:
    """Put the demo clock back to the real time."""
    _clock_allowed("zyz demo clock")
    now = _set_clock()
    _show_clock(now, timedelta(0))


@main.group("definitions")
def definitions_group() -> None:
    """Check and show process definitions."""


@definitions_group.command("check")
@click.argument("path", required=False, type=click.Path(exists=True, path_type=Path))
def definitions_check(path: Path | None) -> None:
    """Validate definition files (a file, or every *.yaml process file in a folder); exit 1 on any error."""
    from workflow.core.definitions import DEFINITIONS_DIR, PROCESS_FILES

    target = path or DEFINITIONS_DIR
    files = [target] if target.is_file() else [target / f"{name}.yaml" for name in PROCESS_FILES]
    failed = False
    for file in files:
        try:
            load_file(file)
        except DefinitionError as exc:
            failed = True
            for line in exc.errors:
                click.echo(line)
        else:
            click.echo(f"OK {file}")
    sys.exit(1 if failed else 0)


@definitions_group.command("show")
@click.argument("key")
def definitions_show(key: str) -> None:
    """Print the states and transitions of the current version of KEY."""
    try:
        definition = CATALOG.current(key)
    except WorkflowError as exc:
        _fail(exc)
        return
    click.echo(f"{definition.key} v{definition.version} — {definition.label.zh} / {definition.label.en}")
    click.echo(f"initial: {definition.initial}; started by: {', '.join(sorted(definition.create_roles))}")
    click.echo("states:")
    for state in definition.states.values():
        flags = " [final]" if state.final else ""
        click.echo(f"  {state.name:22} {state.label.zh} / {state.label.en}{flags}")
        for dl in state.deadlines:
            length = (f"{dl.working_days} working days" if dl.working_days else
                      f"{dl.calendar_days} calendar days" if dl.calendar_days else "")
            source = f"field {dl.field}" + (f" (default {length})" if length else "") if dl.field else length
            reminders = ", ".join(str(r) for r in dl.reminders)
            click.echo(f"      deadline {dl.name}: {source}; on expiry: {dl.on_expiry or '-'}; "
                       f"reminders (working days before): {reminders or '-'}")
    click.echo("transitions:")
    for t in definition.transitions:
        who = "system" if t.system else ",".join(sorted(t.roles))
        extra = []
        if t.guards:
            extra.append("guards: " + ",".join(t.guards))
        if t.requires:
            extra.append("requires: " + ",".join(t.requires))
        if t.comment == "required":
            extra.append("comment required")
        click.echo(f"  {t.trigger:20} {'|'.join(t.sources)} -> {t.dest or '(stays)'}  [{who}]"
                   f"{'  ' + '; '.join(extra) if extra else ''}")


def scheduled_jobs(app: Flask) -> tuple[tuple[str, Callable[[], Any], dict[str, Any]], ...]:
    """The jobs besides the sweep (id, function, APScheduler trigger): the yearly inspection campaign, the yearly
    statistics reports and the yearly evaluation (checked daily and at start), the re-designation reviews of the
    towns whose review date is within ZYZ_REDESIGNATION_LEAD_DAYS (daily and at start), the notification
    dispatcher (every ZYZ_NOTIFY_SECONDS), the audit trail's anchor and the PDF copies of issued notices (every
    ZYZ_PDF_SECONDS, so a notice has its PDF within about a minute), and the sweep of stored files no row names
    (daily and at start), the reminders of notices the counties have not acknowledged (hourly and at start), and the
    summaries of permission refusals only counted (every minute).
    Each job reads the application's clock when it runs (the demo clock included); APScheduler itself wakes by the
    real time."""
    from notifications.dispatcher import job as dispatcher_job
    from notifications.settings import NotifySettings
    from workflow.accounts.throttle import flush_refusals
    from workflow.core.calendar import LOCAL_TZ
    from workflow.core.filesweep import sweep_files
    from workflow.core.pdf import job as pdf_job
    from workflow.core.receipts import remind_due
    from workflow.designation.redesignation import open_due_reviews
    from workflow.evaluation.campaign import open_yearly_evaluation
    from workflow.statistics.campaign import open_yearly_reports
    from workflow.supervision.inspections import open_yearly_campaign

    sessions = app.extensions["zyz"]["sessions"]
    now: Clock = app.extensions["zyz"]["clock"]

    def yearly_inspections() -> None:
        with transaction(sessions) as s:
            open_yearly_campaign(session=s, now=now(), month_day=app.config["INSPECTION_DATE"])

    def yearly_statistics() -> None:
        with transaction(sessions) as s:
            open_yearly_reports(session=s, now=now(), month_day=app.config["STATISTICS_DATE"])

    def yearly_evaluation() -> None:
        with transaction(sessions) as s:
            open_yearly_evaluation(session=s, now=now(), month_day=app.config["EVALUATION_DATE"])

    def redesignation_reviews() -> None:
        with transaction(sessions) as s:
            open_due_reviews(session=s, now=now(), lead_days=app.config["REDESIGNATION_LEAD_DAYS"])

    jobs: tuple[tuple[str, Callable[[], Any], dict[str, Any]], ...] = (("yearly-inspections", yearly_inspections,
             {"trigger": "cron", "hour": 8, "timezone": LOCAL_TZ, "next_run_time": datetime.now(UTC)}),
            ("yearly-statistics", yearly_statistics,
             {"trigger": "cron", "hour": 8, "minute": 5, "timezone": LOCAL_TZ, "next_run_time": datetime.now(UTC)}),
            ("yearly-evaluation", yearly_evaluation,
             {"trigger": "cron", "hour": 8, "minute": 15, "timezone": LOCAL_TZ, "next_run_time": datetime.now(UTC)}),
            ("redesignation-reviews", redesignation_reviews,
             {"trigger": "cron", "hour": 8, "minute": 10, "timezone": LOCAL_TZ, "next_run_time": datetime.now(UTC)}),
            ("notification-dispatch", dispatcher_job(sessions, NotifySettings.from_mapping(app.config), now),
             {"trigger": "interval", "seconds": app.config["NOTIFY_SECONDS"], "next_run_time": datetime.now(UTC)}))
    # The audit trail's daily anchor: asked every hour (and at start), written by the first run of each day.
    jobs += (("audit-anchor", lambda: _anchor(app, only_if_due=True),
              {"trigger": "cron", "minute": 7, "timezone": LOCAL_TZ, "next_run_time": datetime.now(UTC)}),)
    jobs += (("notice-pdf", pdf_job(sessions, now),
              {"trigger": "interval", "seconds": app.config["PDF_SECONDS"], "next_run_time": datetime.now(UTC)}),)
    jobs += (("file-sweep", lambda: sweep_files(sessions, now=now()),
              {"trigger": "cron", "hour": 3, "minute": 40, "timezone": LOCAL_TZ, "next_run_time": datetime.now(UTC)}),)

    def receipt_reminders() -> None:
        with transaction(sessions) as s:
            remind_due(s, now=now())

    # Notices not acknowledged in time: looked for every hour (and at start), reminded from 09:00 on a working day.
    jobs += (("receipt-reminders", receipt_reminders,
              {"trigger": "cron", "minute": 1, "timezone": LOCAL_TZ, "next_run_time": datetime.now(UTC)}),)

    def refusal_summaries() -> None:
        with transaction(sessions) as s:
            flush_refusals(s, now=now())

    # Permission refusals only counted (beyond the per-minute limit of a session): summarised once their minute ends.
    jobs += (("refusal-summaries", refusal_summaries,
              {"trigger": "interval", "seconds": 60, "next_run_time": datetime.now(UTC)}),)
    return jobs


def _scheduler(app: Flask, *, background: bool) -> BaseScheduler:
    """The scheduler with the deadline sweep and the scheduled jobs."""
    from workflow.core.scheduler import build_scheduler

    return build_scheduler(app.extensions["zyz"]["sessions"], clock=app.extensions["zyz"]["clock"],
                           sweep_seconds=app.config["SWEEP_SECONDS"], batch=app.config["SWEEP_BATCH"],
                           background=background, extra_jobs=scheduled_jobs(app))


@main.command("scheduler")
@with_appcontext
def scheduler_command() -> None:
    """Run the scheduler in this process (deadline sweep every ZYZ_SWEEP_SECONDS, default 60). Ctrl-C or SIGTERM
    (what a service manager sends) stops it: the jobs running finish, none starts."""
    import logging
    import signal

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    _ready(current_app)
    # the application itself, not the proxy: the jobs run in the scheduler's threads, outside any app context
    scheduler = _scheduler(current_app._get_current_object(), background=False)  # type: ignore[attr-defined]  # werkzeug's proxy has it
    click.echo(f"scheduler running (sweep every {current_app.config['SWEEP_SECONDS']} s); Ctrl-C stops it")

    def stop(_signum: int, _frame: Any) -> None:
        raise SystemExit(0)

    # SIGTERM stops it as Ctrl-C does (a process started in the background by a shell ignores SIGINT)
    signal.signal(signal.SIGTERM, stop)
    try:
        scheduler.start()
    except (KeyboardInterrupt, SystemExit):
        if scheduler.running:
            scheduler.shutdown()  # waits for the jobs running
        click.echo("scheduler stopped")


@main.group("notifications")
def notifications_group() -> None:
    """E-mail and SMS: check the rules and templates, send now, failed messages."""


@notifications_group.command("check")
def notifications_check() -> None:
    """Load definitions/notifications.yaml and check every template it names; exit 1 on any problem."""
    from notifications.compose import check_templates
    from workflow.notify.rules import RuleError, rules

    try:
        ruleset = rules()
    except RuleError as exc:
        for line in exc.errors:
            click.echo(line)
        sys.exit(1)
    problems = check_templates(ruleset)
    for line in problems:
        click.echo(line)
    if not problems:
        click.echo(f"OK {len(ruleset.rules)} rules, {len(ruleset.templates)} templates")
    sys.exit(1 if problems else 0)


@notifications_group.command("dispatch")
@click.option("--once", is_flag=True, help="Send what is due now and stop.")
@with_appcontext
def notifications_dispatch(once: bool) -> None:
    """Run the dispatcher alone (the scheduler runs it too): every ZYZ_NOTIFY_SECONDS until stopped."""
    import logging
    import time

    from notifications.dispatcher import job
    from notifications.settings import NotifySettings

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    run = job(_sessions(), NotifySettings.from_mapping(current_app.config), clock())
    while True:
        result = run()
        if once:
            click.echo(f"{result.sent} sent, {result.retrying} to retry, {result.failed} failed, "
                       f"{result.deferred} held for quiet hours, {result.in_doubt} in doubt")
            return
        time.sleep(current_app.config["NOTIFY_SECONDS"])


@notifications_group.command("failed")
@with_appcontext
def notifications_failed() -> None:
    """List failed messages, newest first."""
    from notifications.outbox import failed
    from workflow.core.calendar import shown_time

    with transaction(_sessions()) as s:
        rows, total = failed(s, per_page=200)
    click.echo(f"{total} failed")
    for r in rows:
        when = shown_time(r.failed_at)
        click.echo(f"#{r.id} {when} {r.case_number or '-'} {r.channel} {r.recipient}: {r.last_error}")


@notifications_group.command("retry")
@click.argument("outbox_id", type=int)
@with_appcontext
def notifications_retry(outbox_id: int) -> None:
    """Put failed message OUTBOX_ID back in the queue (as the office would from its page)."""
    from notifications.outbox import retry
    from workflow.core.actors import Actor

    office = Actor(user_id=None, name="zyz notifications retry", role="office", unit_id=None, unit_name=None)
    try:
        with transaction(_sessions()) as s:
            retry(s, outbox_id=outbox_id, actor=office, now=utcnow())
    except WorkflowError as exc:
        _fail(exc)
    click.echo(f"#{outbox_id} queued again")


@main.group("deadlines")
def deadlines_group() -> None:
    """Deadlines: what is coming, and a sweep now."""


@deadlines_group.command("list")
@click.option("--limit", default=50, show_default=True)
@with_appcontext
def deadlines_list(limit: int) -> None:
    """Open deadlines and reminders, soonest first (times in Beijing time)."""
    from workflow.core.calendar import shown_time
    from workflow.core.sweep import upcoming

    with transaction(_sessions()) as s:
        rows = upcoming(s, now=utcnow(), limit=limit)
    if not rows:
        click.echo("no open deadlines")
    for r in rows:
        what = f"expiry -> {r.trigger}" if r.kind == "expiry" else f"reminder {r.offset_days} working days before"
        if r.kind == "expiry" and not r.trigger:
            what = "deadline (no automatic step)"
        flag = "  [estimated: weekends only]" if r.is_estimated else ""
        click.echo(f"{shown_time(r.due_at)}  {r.number:14} {r.state:20} {r.name:10} {what}{flag}")


@deadlines_group.command("sweep")
@click.option("--as-of", "as_of", help="Set the demo clock to this ISO time (Beijing time unless an offset is given), "
              "then sweep: `zyz demo clock set` and a sweep in one (ZYZ_ENV demo or test only)")
@with_appcontext
def deadlines_sweep(as_of: str | None) -> None:
    """Run one sweep now (by the demo clock, when set): fire every due reminder and expiry."""
    from workflow.core.sweep import sweep

    if as_of:
        _clock_allowed("--as-of")
    sessions = _sessions()  # before the clock is read: a database that is not there is not created by reading it
    now = _set_clock(to=_moment(as_of)) if as_of else utcnow()
    result = sweep(sessions, now=now)
    click.echo(f"swept as of {now.isoformat(timespec='seconds')}: {result.reminders} reminders, "
               f"{result.expiries} expiries, {result.skipped} reminders skipped (too late), "
               f"{result.failed} failed tries, {result.incidents} new incidents")
    if result.incidents:
        click.echo("see: zyz incidents list", err=True)
    # the sweep did its job even when a step failed: that is an incident for a person, not a failed command


@main.group("documents")
def documents_group() -> None:
    """Official documents: the PDF copies of issued notices."""


@documents_group.command("pdf")
@with_appcontext
def documents_pdf() -> None:
    """Make now the PDF of every issued notice that has none (the scheduler does it every ZYZ_PDF_SECONDS)."""
    from workflow.core.pdf import UNAVAILABLE, make_pending

    result = make_pending(_sessions(), clock=clock(), limit=None)
    if result.is_unavailable:  # the notices stay available as .docx: a note, not a failure
        click.echo(f"{UNAVAILABLE[0]} / {UNAVAILABLE[1]}")
        return
    click.echo(f"{result.made} PDF made, {len(result.failed)} failed")
    for attachment_id, error in result.failed:
        click.echo(f"  attachment #{attachment_id}: {error}", err=True)
    if result.failed:
        sys.exit(1)
@main.group("files")
def files_group() -> None:
    """Stored files (attachments, documents, template versions)."""


@files_group.command("sweep")
@click.option("--grace-hours", type=click.IntRange(min=1), default=None,
              help="remove only files older than this (default ZYZ_FILE_GRACE_HOURS, 24)")
@with_appcontext
def files_sweep(grace_hours: int | None) -> None:
    """Remove the stored files no row names and stale temporary files, older than the grace period."""
    from workflow.core.actors import Actor
    from workflow.core.filesweep import grace_period, sweep_files

    grace = timedelta(hours=grace_hours) if grace_hours is not None else grace_period()
    operator = Actor(user_id=None, name="zyz files sweep", role="system", unit_id=None, unit_name=None)
    result = sweep_files(_sessions(), now=utcnow(), grace=grace, actor=operator)
    if result.busy:
        click.echo("another file sweep is running; nothing done")
        return
    hours = f"{grace.total_seconds() / 3600:g}"
    click.echo(f"removed {len(result.removed)} unreferenced files and {len(result.temp_removed)} temporary files "
               f"older than {hours} hours")
    for sha256 in result.removed:
        click.echo(f"  {sha256}")
    for name in result.temp_removed:
        click.echo(f"  tmp/{name}")


@main.group("search")
def search_group() -> None:
    """The search index of the cases."""


@search_group.command("rebuild")
@with_appcontext
def search_rebuild() -> None:
    """Write every case's search text again (it is kept current by every change; this repairs or refills it)."""
    from workflow.core.search import rebuild

    with transaction(_sessions()) as s:
        count = rebuild(s)
    click.echo(f"search text written for {count} cases")


@main.group("tally")
def tally_group() -> None:
    """How many cases of a kind each county has in each state (the dashboard's counts, kept by the database)."""


@tally_group.command("recount")
@with_appcontext
def tally_recount() -> None:
    """Count the tally again from the cases (it is kept current by the database on every change; this repairs it
    after cases were loaded with its triggers off, or twice, as a data-only restore may)."""
    from workflow.core.tally import recount

    with transaction(_sessions()) as s:
        wrong = recount(s)
    click.echo(f"tally counted again: {wrong} of its rows were wrong" if wrong else "tally counted again: it was right")


@main.group("incidents")
def incidents_group() -> None:
    """Incidents: automatic steps (deadlines, scheduled jobs) that failed after their retries."""


def _operator(command: str) -> Any:
    from workflow.core.actors import Actor

    return Actor(user_id=None, name=f"zyz incidents {command}", role="system", unit_id=None, unit_name=None)


@incidents_group.command("list")
@click.option("--all", "show_all", is_flag=True, help="resolved ones too")
@click.option("--limit", default=50, show_default=True)
@with_appcontext
def incidents_list(show_all: bool, limit: int) -> None:
    """Open incidents, newest failure first (times in Beijing time)."""
    from workflow.core.calendar import shown_time
    from workflow.core.incidents import listing

    with transaction(_sessions()) as s:
        rows = s.connection().execute(listing(s, status=None if show_all else "open").limit(limit)).all()
    if not rows:
        click.echo("no open incidents" if not show_all else "no incidents")
    for r in rows:
        what = f"{r.number} {r.trigger or ''}".strip() if r.case_id else f"job {r.job}"
        click.echo(f"#{r.id} {r.status:8} {shown_time(r.last_failed_at)}  {what}  tries {r.tries}"
                   f"  {r.error_zh}")


@incidents_group.command("retry")
@click.argument("incident_id", type=int)
@with_appcontext
def incidents_retry(incident_id: int) -> None:
    """Run the failed step of incident INCIDENT_ID again now (after fixing its cause)."""
    from workflow.core import incidents
    from workflow.core.sweep import retry_incident

    operator = _operator("retry")
    try:
        with transaction(_sessions()) as s:
            incident = incidents.get_open(s, incident_id, operator, for_update=False)
            job = incident.job
        if job is None:
            with transaction(_sessions()) as s:
                incident, error = retry_incident(s, incident_id, actor=operator, now=utcnow())
        else:
            error = _retry_job(incident_id, job, operator)
    except WorkflowError as exc:
        _fail(exc)
    if error:
        click.echo(f"#{incident_id} failed again: {error[0]} / {error[1]}", err=True)
        sys.exit(1)
    click.echo(f"#{incident_id} retried: done")


def _retry_job(incident_id: int, job: str, operator: Any) -> tuple[str, str] | None:
    from workflow.core import incidents

    functions = {job_id: function for job_id, function, _ in scheduled_jobs(current_app)}
    if job not in functions:
        raise WorkflowError(f"没有名为 {job} 的定时任务。", f"No scheduled job named {job}.")
    try:
        functions[job]()
    except Exception as exc:  # reported to the operator and counted on the incident
        error = incidents.error_texts(exc)
        with transaction(_sessions()) as s:
            incidents.failed_again(s, incidents.get_open(s, incident_id, operator), now=utcnow(), error=error,
                                   actor=operator)
        return error
    with transaction(_sessions()) as s:
        incidents.close(s, incidents.get_open(s, incident_id, operator), now=utcnow(), actor=operator,
                        resolution="retried")
    return None


@incidents_group.command("resolve")
@click.argument("incident_id", type=int)
@click.option("--comment", required=True, help="how it was dealt with (kept in the audit trail)")
@with_appcontext
def incidents_resolve(incident_id: int, comment: str) -> None:
    """Close incident INCIDENT_ID by hand, saying how it was dealt with."""
    from workflow.core.incidents import resolve_by_hand

    try:
        with transaction(_sessions()) as s:
            resolve_by_hand(s, incident_id, actor=_operator("resolve"), now=utcnow(), comment=comment)
    except WorkflowError as exc:
        _fail(exc)
    click.echo(f"#{incident_id} resolved")


@main.group("calendar")
def calendar_group() -> None:
    """The working-day calendar: statutory holidays and make-up working days per year."""


@calendar_group.command("list")
@click.argument("year", type=int)
@with_appcontext
def calendar_list(year: int) -> None:
    """Print YEAR's holidays and make-up days, and where they come from."""
    from workflow.core.calendar import package_year
    from workflow.core.calendar_admin import known_years, year_days

    with transaction(_sessions()) as s:
        source = known_years(s).get(year, "none")
        rows = [(d.day, d.is_workday, d.note) for d in year_days(s, year)] if source == "table" else []
    if source == "package":
        rows = package_year(year)
    click.echo(f"{year}: " + {"table": "entered in the system's table", "package": "from the chinese-calendar package",
                              "none": "NOT KNOWN: deadlines in this year are counted with weekends only"}[source])
    for day, workday, note in rows:
        click.echo(f"  {day} {'班 workday' if workday else '休 holiday'} {note or ''}".rstrip())


@calendar_group.command("import")
@click.argument("year", type=int)
@click.argument("source", type=click.File("r", encoding="utf-8"), required=False)
@click.option("--from-package", is_flag=True, help="Copy the year from the chinese-calendar package.")
@with_appcontext
def calendar_import(year: int, source: IO[str] | None, from_package: bool) -> None:
    """Enter YEAR from SOURCE (lines 'YYYY-MM-DD 休|班 [note]'; - for stdin) or from the package."""
    from workflow.core.actors import Actor
    from workflow.core.calendar import package_knows, package_year
    from workflow.core.calendar_admin import enter_year

    if from_package:
        if not package_knows(year):
            click.echo(f"error: the chinese-calendar package does not know {year}", err=True)
            sys.exit(1)
        text = "\n".join(f"{d} {'班' if w else '休'} {n or ''}" for d, w, n in package_year(year))
    elif source is not None:
        text = source.read()
    else:
        click.echo("error: give a file (or -) or --from-package", err=True)
        sys.exit(2)
    try:
        with transaction(_sessions()) as s:
            entered = enter_year(s, year=year, text=text, actor=Actor.system(), now=utcnow())
    except WorkflowError as exc:
        _fail(exc)
    click.echo(f"{year}: {entered.days} days entered; {entered.recounted} open deadlines counted again")


@main.group("keys")
def keys_group() -> None:
    """The key that encrypts personal data at rest (ZYZ_DATA_KEY): make one, re-encrypt under it."""


@keys_group.command("new")
@click.option("--cipher", type=click.Choice(["sm4", "aes"]), default="sm4", show_default=True,
              help="SM4-GCM (national cryptography) or AES-256-GCM.")
def keys_new(cipher: str) -> None:
    """Print a new random data key, for ZYZ_DATA_KEY (keep it apart from the database and its backups)."""
    click.echo(datakeys.new_key(cipher))


@keys_group.command("rotate")
@click.option("--batch", default=500, show_default=True, type=click.IntRange(1, 100000),
              help="Rows re-encrypted per transaction.")
@with_appcontext
def keys_rotate(batch: int) -> None:
    """Re-encrypt every personal value not under ZYZ_DATA_KEY (older keys in ZYZ_DATA_KEYS_PREVIOUS, values stored
    before any key); stopped half way, run it again."""
    _ready(current_app)
    try:
        result = keyrotation.rotate(_sessions(), now=utcnow(), batch=batch)
    except datakeys.DataKeyError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)
    key = datakeys.KEYRING.current
    for name, count in result.resealed.items():
        click.echo(f"  {name}: {count}")
    click.echo(f"{result.total} values re-encrypted under {key.cipher} key {key.kid}" if key
               else f"{result.total} values decrypted (no ZYZ_DATA_KEY is set: stored as they are)")


@main.group("audit")
def audit_group() -> None:
    """The audit trail: verify it, anchor it, archive old events (nothing is ever deleted)."""


def _audit_key(app: Flask) -> bytes:
    return str(app.config["AUDIT_HMAC_KEY"]).encode()


def _anchor(app: Flask, *, only_if_due: bool) -> dict[str, Any] | None:
    now = app.extensions["zyz"]["clock"]()  # also from the scheduler's thread, outside any app context
    with transaction(app.extensions["zyz"]["sessions"]) as s:
        return audit.write_anchor(s, directory=app.config["ANCHOR_DIR"], key=_audit_key(app), now=now,
                                  only_if_due=only_if_due)


@audit_group.command("verify")
@with_appcontext
def audit_verify() -> None:
    """Walk the hash chain and check it against every signed anchor; exit 1 naming what was tampered with."""
    _ready(current_app)
    result = audit.check_integrity(current_app.extensions["zyz"]["engine"], anchor_dir=current_app.config["ANCHOR_DIR"],
                                   key=_audit_key(current_app))
    for line in result.describe("en"):
        click.echo(line)
    sys.exit(0 if result.ok else 1)


@audit_group.command("anchor")
@with_appcontext
def audit_anchor() -> None:
    """Write an anchor of the chain's head now (the scheduler writes one a day)."""
    _ready(current_app)
    line = _anchor(current_app, only_if_due=False)
    assert line is not None
    click.echo(f"anchored seq {line['seq']} hash {line['hash'][:16]} at {line['anchored_at']} "
               f"in {Path(current_app.config['ANCHOR_DIR']) / audit.ANCHOR_FILE}")


@audit_group.command("archive")
@click.option("--before", "before", required=True, help="Archive the events before this date (YYYY-MM-DD, Beijing "
              f"time); at least {audit.MIN_ARCHIVE_AGE_DAYS} days ago.")
@click.option("--out", "out", type=click.Path(file_okay=False, path_type=Path),
              help="The folder for the archive and its manifest (default: <instance>/audit-archive).")
@click.option("--format", "fmt", type=click.Choice(["jsonl", "csv"]), default="jsonl", show_default=True)
@with_appcontext
def audit_archive(before: str, out: Path | None, fmt: str) -> None:
    """Copy older events with their hashes to a file and a manifest; nothing is deleted from the trail."""
    from datetime import date

    from workflow.core.calendar import local_date

    try:
        day = date.fromisoformat(before)
    except ValueError:
        click.echo(f"error: not a date (YYYY-MM-DD): {before}", err=True)
        sys.exit(2)
    folder = out or Path(current_app.instance_path) / "audit-archive"
    try:
        with transaction(_sessions()) as s:
            result = audit.archive(s, before=day, today=local_date(utcnow()), directory=folder, now=utcnow(),
                                   fmt=fmt, key=_audit_key(current_app))
    except FileExistsError as exc:
        click.echo(f"error: the archive exists already, nothing overwritten: {exc.filename}", err=True)
        sys.exit(1)
    except WorkflowError as exc:
        _fail(exc)
        return
    click.echo(f"archived {result.count} events (seq {result.first_seq} to {result.last_seq}, last hash "
               f"{(result.last_hash or '')[:16]}) to {result.path}; manifest {result.manifest_path}; "
               "nothing was deleted")


@main.group("units")
def units_group() -> None:
    """Units: counties, member units, the office, the leading group (never deleted: deactivate instead)."""


@units_group.command("list")
@click.option("--kind", type=click.Choice(["county", "office", "member", "leading_group"]))
@click.option("--inactive", "show", flag_value="inactive", help="Only the deactivated units.")
@click.option("--all", "show", flag_value="all", help="Active and deactivated units.")
@with_appcontext
def units_list(kind: str | None, show: str | None) -> None:
    """One line a unit: id, kind, active or inactive, name."""
    from workflow.accounts import units

    status = {"inactive": "inactive", "all": None}.get(show or "", "active")
    with transaction(_sessions()) as s:
        page, number = None, 1
        while page is None or page.has_next:
            page = units.list_units(s, actor=None, kind=kind, status=status, page=number, per_page=100)
            for unit in page.items:
                click.echo(f"{unit.id}\t{unit.kind}\t{'active' if unit.is_active else 'inactive'}\t{unit.name}")
            number += 1


@units_group.command("add")
@click.argument("name")
@click.option("--kind", required=True, type=click.Choice(["county", "office", "member", "leading_group"]))
@with_appcontext
def units_add(name: str, kind: str) -> None:
    """Add a unit."""
    from workflow.accounts import units

    try:
        with transaction(_sessions()) as s:
            unit = units.create_unit(s, actor=None, name=name, kind=kind, now=utcnow())
            line = f"added {unit.name} ({kind}, id {unit.id})"
    except WorkflowError as exc:
        _fail(exc)
    click.echo(line)


@units_group.command("rename")
@click.argument("name")
@click.argument("new_name")
@with_appcontext
def units_rename(name: str, new_name: str) -> None:
    """Rename the unit NAME to NEW_NAME (its cases, towns and accounts follow it)."""
    from workflow.accounts import units

    try:
        with transaction(_sessions()) as s:
            unit = units.unit_by_name(s, actor=None, name=name)
            changed = units.rename_unit(s, actor=None, unit_id=unit.id, name=new_name, now=utcnow())  # type: ignore[arg-type]  # SQLModel types an id as optional; this row is saved
            line = f"renamed {name} to {unit.name}" if changed else f"{name}: the name is the same"
    except WorkflowError as exc:
        _fail(exc)
    click.echo(line)


def _set_unit_active(name: str, active: bool) -> None:
    from workflow.accounts import units

    try:
        with transaction(_sessions()) as s:
            unit = units.unit_by_name(s, actor=None, name=name)
            changed = units.set_unit_active(s, actor=None, unit_id=unit.id, active=active, now=utcnow())  # type: ignore[arg-type]  # SQLModel types an id as optional; this row is saved
    except WorkflowError as exc:
        _fail(exc)
    state = "activated" if active else "deactivated"
    click.echo(f"{state} {name}" if changed else f"{name} was {state} already")


@units_group.command("deactivate")
@click.argument("name")
@with_appcontext
def units_deactivate(name: str) -> None:
    """Deactivate a unit: it is no longer chosen for new work; its history stays."""
    _set_unit_active(name, False)


@units_group.command("activate")
@click.argument("name")
@with_appcontext
def units_activate(name: str) -> None:
    """Reactivate a deactivated unit."""
    _set_unit_active(name, True)


@main.group("users")
def users_group() -> None:
    """Accounts."""


@users_group.command("create")
@click.option("--username", required=True)
@click.option("--name", "display_name", required=True)
@click.option("--role", required=True, type=click.Choice(["county", "office", "member", "leader", "auditor", "admin"]))
@click.option("--unit", "unit_name", required=True, help="The unit's name, e.g. 盂县 or 市科技局.")
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True)
@click.option("--email")
@click.option("--mobile")
@with_appcontext
def users_create(username: str, display_name: str, role: str, unit_name: str, password: str,
                 email: str | None, mobile: str | None) -> None:
    """Create an account; the user must change the password at first login. While business accounts need a
    second person's approval (ZYZ_ACCOUNT_APPROVER), only the auditor's and the administrator's are made here."""
    from sqlmodel import select

    from workflow.accounts.approvals import refuse_without_approval
    from workflow.accounts.auth import create_user
    from workflow.core.models import Unit

    try:
        refuse_without_approval(role)
        with transaction(_sessions()) as s:
            unit = s.exec(select(Unit).where(Unit.name == unit_name)).first()
            if unit is None:
                raise WorkflowError(f"单位不存在：{unit_name}", f"No such unit: {unit_name}")
            create_user(s, username=username, display_name=display_name, role=role, unit_id=unit.id,  # type: ignore[arg-type]  # SQLModel types an id as optional; this row is saved
                        password=password, now=utcnow(), email=email, mobile=mobile,
                        policy=current_app.extensions["zyz"]["policy"])
    except WorkflowError as exc:
        _fail(exc)
    click.echo(f"created {username} ({role}, {unit_name})")


@users_group.command("certificate")
@click.argument("username")
@click.argument("subject")
@with_appcontext
def users_certificate(username: str, subject: str) -> None:
    """Register the subject (DN) of the account's client certificate (UKey), as the proxy passes it in
    X-SSL-Client-S-DN; "" removes it. Matched at login with ZYZ_CLIENT_CERT=required; the account's sessions end."""
    from workflow.accounts.auth import set_certificate

    try:
        with transaction(_sessions()) as s:
            set_certificate(s, username=username, subject=subject, now=utcnow(), actor=None)
    except WorkflowError as exc:
        _fail(exc)
    click.echo(f"certificate of {username}: {' '.join(subject.split()) or 'none'}")


@users_group.command("lock")
@click.argument("username")
@click.option("--minutes", type=int, help="Lock for this long; without it the account is disabled until unlocked.")
@with_appcontext
def users_lock(username: str, minutes: int | None) -> None:
    """Lock an account and end its sessions."""
    from workflow.accounts.auth import set_locked

    try:
        with transaction(_sessions()) as s:
            set_locked(s, username=username, locked=True, now=utcnow(), actor=None,
                       until=utcnow() + timedelta(minutes=minutes) if minutes else None)
    except WorkflowError as exc:
        _fail(exc)
    click.echo(f"locked {username}")


@users_group.command("unlock")
@click.argument("username")
@with_appcontext
def users_unlock(username: str) -> None:
    """Unlock an account."""
    from workflow.accounts.auth import set_locked

    try:
        with transaction(_sessions()) as s:
            set_locked(s, username=username, locked=False, now=utcnow(), actor=None)
    except WorkflowError as exc:
        _fail(exc)
    click.echo(f"unlocked {username}")
