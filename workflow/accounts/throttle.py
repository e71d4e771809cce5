"""Login attempt and permission refusal counters in the database: every gunicorn worker and every host behind the
balancer shares them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session

from workflow.core import audit
from workflow.core.actors import Actor
from workflow.core.db import is_sqlite, table_of
from workflow.core.models import LoginSession, LoginThrottle, Unit, User

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


# --- permission refusals ------------------------------------------------------------------------------------------

REFUSAL_WINDOW = timedelta(minutes=1)
REFUSALS_ONE_BY_ONE = 10  # a session's refusals a minute recorded as their own events; the rest only counted
REFUSAL_PREFIX = "refused:"


def refusal_key(*, session_id: int | None, ip: str | None) -> str:
    """Whose refusals are counted together: a login session (page or token), else the client's address."""
    return f"session:{session_id}" if session_id is not None else f"ip:{ip or '-'}"


def _utc(value: datetime | None) -> datetime | None:
    return value.replace(tzinfo=UTC) if value is not None and value.tzinfo is None else value


def count_refusal(session: Session, *, key: str, now: datetime, actor: Actor | None, ip: str | None,
                  limit: int = REFUSALS_ONE_BY_ONE) -> bool:
    """Count a permission refusal of one session (`refusal_key`); True when it is to be recorded as its own
    permission_refused event, False once the session has had `limit` of them this minute (a probe or a
    misbehaving client must not flood the trail). The refusals only counted go into one
    permission_refused_summary event when their minute is over: at the session's next refusal, or by
    `flush_refusals` (the scheduler, every minute). The caller holds the trail's head (audit.lock_head) first."""
    row = failure_row(session, key=REFUSAL_PREFIX + key, now=now)
    start = window_start(now, REFUSAL_WINDOW)
    began = _utc(row.window_start)
    if began != start:
        if began is not None and row.count > limit:
            _summary(session, row, began, limit, now=now, actor=actor, ip=ip)
        row.window_start, row.count = start, 0
    row.count += 1
    row.updated_at = now
    session.add(row)
    session.flush()
    return row.count <= limit


def _summary(session: Session, row: LoginThrottle, began: datetime, limit: int, *, now: datetime,
             actor: Actor | None, ip: str | None) -> None:
    audit.record(session, kind="permission_refused_summary", now=now, actor=actor, ip=ip if actor is None else None,
                 data={"session": row.key.removeprefix(REFUSAL_PREFIX), "from": audit.stamp(began),
                       "to": audit.stamp(began + REFUSAL_WINDOW), "refused": row.count, "recorded": limit,
                       "counted": row.count - limit})


def flush_refusals(session: Session, *, now: datetime, limit: int = REFUSALS_ONE_BY_ONE) -> int:
    """Write the summary of every session's refusals only counted in a minute that is over; the number of
    summaries written. Each is attributed to the session's account (or its client address)."""
    current = window_start(now, REFUSAL_WINDOW)
    keys = list(session.connection().execute(
        sa.select(_table.c.key).where(_table.c.key.startswith(REFUSAL_PREFIX), _table.c.count > limit,
                                      _table.c.window_start < current).order_by(_table.c.key)).scalars())
    if keys:
        audit.lock_head(session)  # the trail's head before any counter, as a refusal takes them
    written = 0
    for key in keys:
        row = failure_row(session, key=key, now=now)  # locked: a refusal of that session meanwhile waits
        began = _utc(row.window_start)
        if began is None or began >= current or row.count <= limit:
            continue  # counted afresh meanwhile
        actor, ip = _session_actor(session, key.removeprefix(REFUSAL_PREFIX))
        _summary(session, row, began, limit, now=now, actor=actor, ip=ip)
        row.count = 0
        session.add(row)
        written += 1
    session.flush()
    return written


def _session_actor(session: Session, key: str) -> tuple[Actor | None, str | None]:
    """The account a login session belongs to (as an actor, at the session's address), or the address alone."""
    kind, _, value = key.partition(":")
    if kind == "session" and value.isdigit():
        login = session.get(LoginSession, int(value))
        user = session.get(User, login.user_id) if login is not None else None
        if login is not None and user is not None:
            return Actor.of(user, session.get(Unit, user.unit_id), ip=login.ip), None
    return None, value if kind == "ip" else None
