"""The request's database session, and the one place under webapp/ that commits."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

from flask import current_app, g
from sqlmodel import Session

from workflow.core.errors import WorkflowError


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
    """Run one action: commit when it succeeds, roll back when it fails (except refusals that keep writes)."""
    session = db()
    try:
        yield session
    except WorkflowError as exc:
        if exc.keep_writes:
            session.commit()
        else:
            session.rollback()
        raise
    except BaseException:
        session.rollback()
        raise
    session.commit()


def utcnow() -> datetime:
    """The request's clock (tests move it with time-machine)."""
    return datetime.now(UTC)
