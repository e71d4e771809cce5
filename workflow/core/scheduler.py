"""APScheduler as the clock: it wakes the sweep; the deadline rows decide what is due.

The scheduler runs in its own process (`zyz scheduler`) or inside `zyz demo`, never in web workers.
On start the sweep runs at once and catches up everything missed while nothing was running;
APScheduler's own misfire handling is not relied on (coalesce, no grace limit, one instance).

Every job runs guarded: one that raises is tried again after a pause (workflow.core.incidents.BACKOFF), and
after its last try an incident names the job for the office and the operator; its next good run resolves it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.schedulers.blocking import BlockingScheduler
from sqlalchemy.orm import sessionmaker
from sqlmodel import Session

from workflow.core import incidents
from workflow.core import sweep as sweep_module
from workflow.core.db import transaction
from workflow.core.sweep import BATCH, sweep

log = logging.getLogger(__name__)
Job = Callable[[], object]


def build_scheduler(sessions: sessionmaker[Session], *, clock: Callable[[], datetime],
                    sweep_seconds: int = 60, batch: int = BATCH, background: bool = False,
                    extra_jobs: tuple[tuple[str, Job, dict], ...] = ()) -> BaseScheduler:
    """A scheduler with the deadline sweep (first run now) and any extra jobs (id, function, trigger args)."""
    scheduler_class = BackgroundScheduler if background else BlockingScheduler
    scheduler = scheduler_class(timezone=UTC, job_defaults={"coalesce": True, "max_instances": 1,
                                                            "misfire_grace_time": None})

    def run_sweep() -> None:
        result = sweep(sessions, now=clock(), limit=batch)
        if result.total:
            log.info("sweep: %d reminders, %d expiries, %d failed", result.reminders, result.expiries, result.failed)

    scheduler.add_job(guarded(sessions, "deadline-sweep", run_sweep, clock, scheduler), "interval",
                      seconds=sweep_seconds, id="deadline-sweep", next_run_time=datetime.now(UTC))
    for job_id, function, trigger in extra_jobs:
        scheduler.add_job(guarded(sessions, job_id, function, clock, scheduler), id=job_id, **trigger)
    return scheduler


def guarded(sessions: sessionmaker[Session], job_id: str, function: Job, clock: Callable[[], datetime],
            scheduler: BaseScheduler | None = None) -> Job:
    """`function`, tried again after a pause when it raises and recorded as an incident after its last try; a
    run that goes through resolves the job's open incident."""
    failures: dict[str, Any] = {"tries": 0, "first": None, "open": None}

    def run() -> None:
        try:
            function()
        except Exception as exc:  # a job must not die silently: it is retried, then becomes an incident
            now = clock()
            failures["tries"] += 1
            failures["first"] = failures["first"] or now
            log.exception("job %s failed (try %d of %d)", job_id, failures["tries"], incidents.MAX_TRIES)
            if failures["tries"] < incidents.MAX_TRIES:
                if scheduler is not None and scheduler.running:
                    scheduler.add_job(run, "date", id=f"{job_id}:retry", replace_existing=True,
                                      run_date=datetime.now(UTC) + incidents.backoff(failures["tries"]))
                return
            with transaction(sessions) as session:
                incidents.job_failed(session, job=job_id, now=now, error=incidents.error_texts(exc),
                                     tries=failures["tries"], first_failed_at=failures["first"],
                                     notifier=sweep_module.NOTIFIER)
            failures.update(tries=0, first=None, open=True)
            return
        failures.update(tries=0, first=None)
        if failures["open"] is not False:  # not known to have none: look (once per process, then after failures)
            with transaction(sessions) as session:
                incidents.job_recovered(session, job=job_id, now=clock())
            failures["open"] = False

    run.__name__ = f"guarded_{job_id}"
    return run
