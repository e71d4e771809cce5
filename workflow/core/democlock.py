"""The demo clock: for training, the system's time stands ahead of (or behind) the real time by a stored offset.

One row in `demo_clock`, or none: the real clock. It lives in the database so that the web server, the scheduler
and each `zyz` command see the same time. The application reads it once per request, per sweep and per dispatch
(`webapp.database.Clock`) and only when ZYZ_ENV is demo or test; production never reads it. Every change is an
audit event, so the trail shows where its times jump.
"""

from __future__ import annotations

from contextlib import closing
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session

from workflow.core import audit
from workflow.core.actors import Actor
from workflow.core.db import table_of
from workflow.core.models import DemoClock

_table = table_of(DemoClock)
_READ = "SELECT offset_us FROM demo_clock WHERE id = 1"


def offset(engine: Engine) -> timedelta:
    """The demo clock's offset from the real time (zero when it is not set).

    Read on a connection of its own, in autocommit on SQLite: the caller may hold a write transaction on
    another connection, and this read must neither wait for it (BEGIN IMMEDIATE would) nor join it.
    """
    with closing(engine.raw_connection()) as raw, closing(raw.cursor()) as cursor:
        cursor.execute(_READ)
        row = cursor.fetchone()
    return timedelta(microseconds=int(row[0])) if row else timedelta(0)


def set_offset(session: Session, *, offset: timedelta, real_now: datetime, actor: Actor) -> datetime:
    """Set the demo clock to stand `offset` from the real time (zero: the real clock again); returns the time it
    now reads. The audit trail records the change at that time, with the time it read before."""
    audit.lock_head(session)  # one writer at a time: two changes at once would each read the same "before"
    conn = session.connection()
    before = conn.execute(sa.select(_table.c.offset_us).where(_table.c.id == 1)).scalar()
    microseconds = offset // timedelta(microseconds=1)
    if microseconds == 0:
        conn.execute(_table.delete())
    elif before is None:
        conn.execute(_table.insert().values(id=1, offset_us=microseconds, updated_at=real_now))
    else:
        conn.execute(_table.update().where(_table.c.id == 1).values(offset_us=microseconds, updated_at=real_now))
    was = real_now + timedelta(microseconds=before or 0)
    now = real_now + timedelta(microseconds=microseconds)
    audit.record(session, kind="demo_clock_set", now=now, actor=actor,
                 data={"from": audit.stamp(was), "to": audit.stamp(now), "real": audit.stamp(real_now),
                       "offset_seconds": round(offset.total_seconds(), 6)})
    return now
