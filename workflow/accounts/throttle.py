"""Login attempt counters in the database: every gunicorn worker and every host behind the balancer shares them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session

from workflow.core import audit
from workflow.core.db import is_sqlite, table_of
from workflow.core.models import LoginThrottle

_table = table_of(LoginThrottle)
KEEP = timedelta(days=1)


def _insert(session: Session):
    return (sqlite if is_sqlite(session) else postgresql).insert(_table)


def window_start(now: datetime, window: timedelta) -> datetime:
    """The start of the fixed window holding `now` (windows are aligned on the epoch)."""
    seconds = int(window.total_seconds())
    epoch = int(now.timestamp())
    return datetime.fromtimestamp(epoch - epoch % seconds, tz=UTC)


def hit(session: Session, *, key: str, now: datetime, window: timedelta = timedelta(minutes=1)) -> int:
    """Count one attempt under `key`; the number of attempts in the current window, this one included."""
    start = window_start(now, window)
    insert = _insert(session)
    statement = insert.values(key=key, window_start=start, count=1, updated_at=now).on_conflict_do_update(
        index_elements=["key"],
        set_={"count": sa.case((_table.c.window_start == insert.excluded.window_start, _table.c.count + 1), else_=1),
              "window_start": insert.excluded.window_start, "updated_at": insert.excluded.updated_at},
    ).returning(_table.c.count)
    count = int(session.connection().execute(statement).scalar_one())
    # A cheap sweep on the way (updated_at is indexed): counters of addresses and names not seen for a day.
    session.connection().execute(_table.delete().where(_table.c.updated_at < now - KEEP))
    return count


def failure_row(session: Session, *, key: str, now: datetime) -> LoginThrottle:
    """The failure counter row for `key`, created if missing and locked for this transaction (PostgreSQL)."""
    session.connection().execute(_insert(session).values(key=key, count=0, updated_at=now)
                                 .on_conflict_do_nothing(index_elements=["key"]))
    query = (sa.select(LoginThrottle).where(LoginThrottle.key == key)  # type: ignore[arg-type]  # SQLModel types a column as its Python value, not a SQL expression
             .execution_options(populate_existing=True))
    if not is_sqlite(session):
        query = query.with_for_update()
    return session.execute(query).scalar_one()


def count_login_attempt(session: Session, *, ip: str | None, now: datetime, limit: int) -> bool:
    """Count a login or token attempt from `ip`; False when it is over `limit` a minute (the first one over the
    limit in a minute is audited, the rest are not, so that a flood does not flood the trail as well)."""
    if not ip or limit <= 0:
        return True
    count = hit(session, key=f"ip:{ip}", now=now)
    if count == limit + 1:
        audit.record(session, kind="login_rate_limited", now=now, ip=ip, data={"limit": limit, "per_seconds": 60})
    return count <= limit
