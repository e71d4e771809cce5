"""The sweep of stored files no row names: left by a transaction that rolled back, or by a process killed before
its commit.

A file is written, made durable and renamed into place before the transaction that records it commits
(workflow.core.attachments), so a rollback or a crash can leave a file behind, never a row without its file. The
sweep removes such a file once it is older than the grace period (`settings.file_grace_hours`, default 24) and no
row names it, and the temporary files of writes that never finished, as old. Each run that removes something writes
one `files_swept` audit event with the count and the sha256 of each file removed.

Why this cannot race with an upload of the same content: content is stored once, so an upload finding its file
already there re-uses it, and refreshes the file's mtime before it inserts its row. For each old file the sweep
first renames it aside (an atomic step: from then on an upload no longer finds it and writes its own copy), then
looks at the mtime of what it took aside and, right before unlinking, asks the database whether a row names the
sha256. An upload that re-used the file before it was taken aside made it young again, so the file is put back;
one that committed its row before the question is seen by it, and the file is put back. What is left is an upload
that re-used the file more than the grace period ago and has still not committed: the grace period (a day) is far
longer than any transaction. Files younger than the grace period are not even looked at.
"""

from __future__ import annotations

import fcntl
import logging
import os
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.orm import sessionmaker
from sqlmodel import Session

from workflow.core import audit
from workflow.core.actors import Actor
from workflow.core.attachments import fsync_path, stored_path, temp_dir, upload_root
from workflow.core.db import table_of, transaction
from workflow.core.models import Attachment, DocumentTemplate
from workflow.core.settings import settings

log = logging.getLogger(__name__)

# Every column that names a stored file by its sha256: a table whose rows keep files is added here.
REFERENCES: tuple[tuple[type[Any], str], ...] = (
    (Attachment, "sha256"),
    (DocumentTemplate, "sha256"),
)

LOCK_FILE = ".sweep.lock"  # in the upload root: one sweep at a time, whichever process or host runs it
ASIDE = "sweep-"  # a file being removed is first renamed to <root>/tmp/sweep-<sha256>
_PREFIX = re.compile(r"[0-9a-f]{2}")
_SHA = re.compile(r"[0-9a-f]{64}")


@dataclass
class FileSweepResult:
    removed: list[str] = field(default_factory=list)  # sha256 of the stored files removed
    temp_removed: list[str] = field(default_factory=list)  # names of the stale temporary files removed
    busy: bool = False  # another sweep held the lock: this one did nothing


def grace_period() -> timedelta:
    """How old an unreferenced file must be before the sweep removes it."""
    return timedelta(hours=settings.file_grace_hours)


def sweep_files(sessions: sessionmaker[Session], *, now: datetime, grace: timedelta | None = None,
                upload_dir: Path | str | None = None, actor: Actor | None = None) -> FileSweepResult:
    """Remove the stored files no row names and the temporary files, both older than the grace period.

    Ages are file mtimes, which the operating system stamps by the real clock, so they are measured by it too (a
    demo clock set days ahead must not make a fresh file look old); `now` dates the audit event.
    """
    root = Path(upload_dir) if upload_dir is not None else upload_root()
    grace = grace if grace is not None else grace_period()
    cutoff = time.time() - grace.total_seconds()
    result = FileSweepResult()
    if not root.is_dir():
        return result
    with _lock(root) as locked:
        if not locked:
            result.busy = True
            return result
        _put_back_leftovers(root)
        references = _References(sessions.kw["bind"])
        named = references.all()
        for sha256, path in _stored(root, cutoff):
            if sha256 not in named and _remove(root, path, sha256, cutoff, references):
                result.removed.append(sha256)
        result.temp_removed = _remove_stale_temp(root, cutoff)
    if result.removed or result.temp_removed:
        log.info("file sweep: %d unreferenced files, %d temporary files removed", len(result.removed),
                 len(result.temp_removed))
        with transaction(sessions) as session:
            audit.record(session, kind="files_swept", now=now, actor=actor or Actor.system(),
                         data={"count": len(result.removed), "sha256": sorted(result.removed),
                               "temp_files": len(result.temp_removed),
                               "grace_hours": grace.total_seconds() / 3600})
    return result


@contextmanager
def _lock(root: Path) -> Iterator[bool]:
    with open(root / LOCK_FILE, "a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _stored(root: Path, cutoff: float) -> Iterator[tuple[str, Path]]:
    """Every stored file (sha256, path) last touched before `cutoff`."""
    for prefix in sorted(root.iterdir()):
        if not (_PREFIX.fullmatch(prefix.name) and prefix.is_dir() and not prefix.is_symlink()):
            continue
        for path in sorted(prefix.iterdir()):
            name = path.name
            if not (_SHA.fullmatch(name) and name.startswith(prefix.name)):
                continue
            try:
                info = path.lstat()
            except FileNotFoundError:
                continue
            if info.st_mtime < cutoff and path.is_file() and not path.is_symlink():
                yield name, path


def _remove(root: Path, path: Path, sha256: str, cutoff: float, references: _References) -> bool:
    """Remove one stored file unless an upload is re-using it or a row names it (see the module's docstring)."""
    aside = temp_dir(root) / f"{ASIDE}{sha256}"
    aside.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.rename(path, aside)
    except FileNotFoundError:
        return False
    try:
        if os.stat(aside).st_mtime >= cutoff or references.names(sha256):
            _put_back(aside, path)
            return False
        os.unlink(aside)
        return True
    except BaseException:
        _put_back(aside, path)
        raise


def _put_back(aside: Path, path: Path) -> None:
    """Return a file taken aside to its place (an upload may have written the same content there meanwhile)."""
    try:
        os.replace(aside, path)
    except FileNotFoundError:
        return
    fsync_path(path.parent)


def _put_back_leftovers(root: Path) -> None:
    """Files a sweep took aside and never finished with (it was killed): back to their place before anything."""
    work = temp_dir(root)
    if not work.is_dir():
        return
    for aside in work.glob(f"{ASIDE}*"):
        sha256 = aside.name[len(ASIDE):]
        if _SHA.fullmatch(sha256):
            path = stored_path(root, sha256)
            path.parent.mkdir(parents=True, exist_ok=True)
            _put_back(aside, path)


def _remove_stale_temp(root: Path, cutoff: float) -> list[str]:
    """Temporary files of writes that never finished (their process died), older than `cutoff`."""
    work = temp_dir(root)
    removed: list[str] = []
    if not work.is_dir():
        return removed
    for path in sorted(work.iterdir()):
        try:
            info = path.lstat()
        except FileNotFoundError:
            continue
        if info.st_mtime < cutoff and path.is_file() and not path.name.startswith(ASIDE):
            path.unlink(missing_ok=True)
            removed.append(path.name)
    return removed


class _References:
    """Whether rows name a sha256, read as committed at the moment of asking.

    Plain reads on the driver's connection: the engine's transactions on SQLite begin IMMEDIATE, and a sweep that
    only asks must neither take the write lock nor wait behind an upload that holds it.
    """

    def __init__(self, engine: Engine):
        self.engine = engine
        columns = [table_of(model).c[column] for model, column in REFERENCES]
        self.every = sa.union(*(sa.select(column) for column in columns)).compile(dialect=engine.dialect)
        sha256 = sa.bindparam("sha256", type_=sa.String)
        self.one = (sa.select(sa.or_(*(sa.exists().where(column == sha256) for column in columns)))
                    .compile(dialect=engine.dialect))

    def _rows(self, compiled: sa.Compiled, values: dict[str, Any]) -> list[tuple[Any, ...]]:
        params = compiled.construct_params(values) or {}
        positions = getattr(compiled, "positiontup", None)
        raw = self.engine.raw_connection()
        try:
            cursor = raw.cursor()
            try:
                cursor.execute(str(compiled), tuple(params[k] for k in positions) if positions else params)
                return list(cursor.fetchall())
            finally:
                cursor.close()
                if self.engine.dialect.name != "sqlite":
                    raw.rollback()  # end the read's transaction (SQLite's connections are in autocommit)
        finally:
            raw.close()

    def all(self) -> set[str]:
        """Every sha256 some row names now."""
        return {row[0] for row in self._rows(self.every, {})}

    def names(self, sha256: str) -> bool:
        """Whether a committed row names `sha256` now."""
        return bool(self._rows(self.one, {"sha256": sha256})[0][0])

