"""The request's database session, the one place under webapp/ that commits, and the application's clock."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from flask import current_app, g
from sqlalchemy.engine import Engine
from sqlmodel import Session

from webapp.config import CLOCK_ENVS
from workflow.core import democlock
from workflow.core.db import one_action


def db() -> Session:
    """This request's session (opened on first use, closed at teardown)."""
    if "db" not in g:
        g.db = current_app.extensions["zyz"]["sessions"]()
    return g.db


def close_db(_exc: BaseException | None = None) -> None:
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
