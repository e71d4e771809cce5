"""APScheduler as the clock: it wakes the sweep; the deadline rows decide what is due.

The scheduler runs in its own process (`zyz scheduler`) or inside `zyz demo`, never in web workers.
On start the sweep runs at once and catches up everything missed while nothing was running;
APScheduler's own misfire handling is not relied on (coalesce, no grace limit, one instance).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.schedulers.blocking import BlockingScheduler
from sqlalchemy.orm import sessionmaker
from sqlmodel import Session

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

    scheduler.add_job(run_sweep, "interval", seconds=sweep_seconds, id="deadline-sweep",
                      next_run_time=datetime.now(UTC))
    for job_id, function, trigger in extra_jobs:
        scheduler.add_job(function, id=job_id, **trigger)
    return scheduler
