"""The request's database session, the one place under webapp/ that commits, and the application's clock."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from flask import Flask, Response, current_app, g, request, session
from sqlalchemy.engine import Engine
from sqlmodel import Session

from webapp.config import CLOCK_ENVS
from workflow.core import democlock
from workflow.core.db import one_action, reading, wrote_while_reading

READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_View = TypeVar("_View", bound=Callable[..., Any])


def writes(view: _View) -> _View:
    """Mark a view whose GET writes every time (the auditor's search is written to the trail): its request runs
    as a writer's from the start, not read-only first (App.full_dispatch_request)."""
    view.zyz_writes = True  # type: ignore[attr-defined]  # read by App.full_dispatch_request
    return view


class App(Flask):
    """Flask, with a GET, HEAD or OPTIONS request run read-only on SQLite (workflow.core.db.reading): its
    transactions neither take nor wait for the write lock that every writer holds till its commit. A request of
    these methods that writes after all (a login session's last-seen time, moved on every 30 s; an idle session
    ended) fails at its first write, is rolled back whole and runs once more as a writer. On PostgreSQL nothing
    changes: a read takes no lock there."""

    def full_dispatch_request(self) -> Response:
        view = self.view_functions.get(request.endpoint or "")
        if request.method not in READ_METHODS or getattr(view, "zyz_writes", False):
            return super().full_dispatch_request()
        kept = dict(session)  # what the first run may have flashed or stored goes with its rollback
        try:
            with reading():
                return super().full_dispatch_request()
        except Exception as exc:
            if not wrote_while_reading(exc):
                raise
        self.logger.info("%s %s wrote while reading: run again as a writer", request.method, request.endpoint)
        close_db()
        for name in ("_login_user", "user_loaded", "refusal_recorded"):  # what the first run learnt from the database
            g.pop(name, None)
        session.clear()
        session.update(kept)
        return super().full_dispatch_request()


def db() -> Session:
    """This request's session (opened on first use, closed at teardown)."""
    if "db" not in g:
        g.db = current_app.extensions["zyz"]["sessions"]()
    return g.db


def close_db(_exc: BaseException | None = None) -> None:
    """Roll back and close this request's session (at teardown, and before a read-only request runs again)."""
    session = g.pop("db", None)
    if session is not None:
        session.rollback()
        session.close()


@contextmanager
def unit_of_work() -> Iterator[Session]:
    """Run one action on this request's session (workflow.core.db.one_action)."""
    with one_action(db()) as session:
        yield session


@dataclass(frozen=True)
class Clock:
    """The application's one clock: the real time, moved by the demo clock when ZYZ_ENV is demo or test.

    Calling it reads the demo clock's setting afresh (the scheduler's jobs: once per sweep, per dispatch);
    `utcnow()` reads it once per request or command. In production the setting is never read.
    """

    engine: Engine
    config: Mapping[str, Any]  # the app's config: ZYZ_ENV is looked up when the clock is read

    @staticmethod
    def real() -> datetime:
        """The real time (tests move it with time-machine)."""
        return datetime.now(UTC)

    @property
    def is_adjustable(self) -> bool:
        return self.config.get("ZYZ_ENV") in CLOCK_ENVS

    def offset(self) -> timedelta:
        """How far the demo clock stands from the real time; zero (unread) outside demo and test."""
        return democlock.offset(self.engine) if self.is_adjustable else timedelta(0)

    def __call__(self) -> datetime:
        return self.real() + self.offset()


def clock() -> Clock:
    """The current application's clock."""
    return current_app.extensions["zyz"]["clock"]


def demo_offset() -> timedelta:
    """How far the demo clock stands from the real time, read once per request (or command); zero, unread,
    outside demo and test."""
    found = clock()
    if not found.is_adjustable:
        return timedelta(0)
    if "clock_offset" not in g:
        g.clock_offset = found.offset()
    return g.clock_offset


def utcnow() -> datetime:
    """Now, by the application's clock (the demo clock's setting read once per request or command)."""
    return Clock.real() + demo_offset()


def forget_clock() -> None:
    """Read the demo clock's setting again at the next `utcnow()` (after it was changed in this command)."""
    g.pop("clock_offset", None)
